import { z } from 'zod';
import { experimentSchema } from '../experiment/schema.js';
import { STUDY_METHODS } from '../study/planner.js';
import { REQUEST_ID_HEADER, WORKER_HEADERS } from '../study/wire.js';

/**
 * The JSON schemas of the server's routes: fastify validates every request with them (a bad field
 * is a 400 naming it, see errors.ts), serialises the answers with them, and /openapi.json is built
 * from them (openapi.ts). SigOpt's v1 field names; where SigOpt is silent, the experiment file's.
 */

type Schema = Record<string, unknown>;

/** A field of the experiment file, as JSON schema (generated from its zod schema: one source for both). */
function fileField(key: keyof typeof experimentSchema.shape): Schema {
  const { $schema: _, ...schema } = z.toJSONSchema(experimentSchema.shape[key], { target: 'draft-7', io: 'input' }) as Schema;
  return schema;
}

const NAME = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$', maxLength: 100, description: 'letters, digits, _ . - (starting with a letter or _)' };
const ID = { type: 'string', pattern: '^[0-9]{1,15}$' };
const NUMBER = { type: 'number' };
const ANY_OBJECT = { type: 'object', additionalProperties: true };

/** SigOpt's metadata: a flat object of strings and numbers (booleans and null allowed too). Type lists, not anyOf: the validator coerces only a value that matches none of them. */
const METADATA = {
  type: 'object',
  maxProperties: 100,
  propertyNames: { maxLength: 100 },
  additionalProperties: { type: ['string', 'number', 'boolean', 'null'], maxLength: 1000 },
};

const BOUNDS = { type: 'object', additionalProperties: false, required: ['min', 'max'], properties: { object: { const: 'bounds' }, min: NUMBER, max: NUMBER } };

const PARAMETER = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    object: { const: 'parameter' },
    name: NAME,
    // ordinal, values and value: the experiment file's (SigOpt has none of them)
    type: { enum: ['int', 'double', 'categorical', 'ordinal'] },
    bounds: BOUNDS,
    categorical_values: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: {
        anyOf: [
          { type: 'string', minLength: 1, maxLength: 200 },
          { type: 'object', additionalProperties: false, required: ['name'], properties: { object: { const: 'categorical_value' }, name: { type: 'string', minLength: 1, maxLength: 200 }, enum_index: { type: 'integer' } } },
        ],
      },
    },
    grid: { type: 'array', minItems: 1, maxItems: 10000, items: NUMBER },
    transformation: { enum: ['none', 'log'] },
    values: { type: 'array', minItems: 1, maxItems: 10000, items: { type: ['number', 'string'] } },
    value: { type: ['number', 'string', 'boolean'] },
    /** SigOpt's: conditional name → the values under which the parameter is active */
    conditions: {
      type: 'object',
      maxProperties: 100,
      propertyNames: NAME,
      additionalProperties: { anyOf: [{ type: 'string', minLength: 1, maxLength: 200 }, { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 200 } }] },
    },
  },
};

/** SigOpt's conditional: a name and its values (strings), suggested like a categorical parameter. */
const CONDITIONAL = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'values'],
  properties: {
    object: { const: 'conditional' },
    name: NAME,
    values: { type: 'array', minItems: 1, maxItems: 1000, items: { anyOf: [{ type: 'string', minLength: 1, maxLength: 200 }, { type: 'object', additionalProperties: false, required: ['name'], properties: { object: { const: 'conditional_value' }, name: { type: 'string', minLength: 1, maxLength: 200 }, enum_index: { type: 'integer' } } }] } },
  },
};

const METRIC = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    object: { const: 'metric' },
    name: NAME,
    objective: { enum: ['maximize', 'minimize'], default: 'maximize' },
    strategy: { enum: ['optimize', 'constraint', 'store'], default: 'optimize' },
    threshold: { type: ['number', 'null'] },
  },
};

export const experimentCreateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'parameters', 'metrics', 'observation_budget'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    type: { enum: ['offline'] },
    parameters: { type: 'array', minItems: 1, maxItems: 100, items: PARAMETER },
    conditionals: { type: 'array', maxItems: 100, items: CONDITIONAL },
    metrics: { type: 'array', minItems: 1, maxItems: 20, items: METRIC },
    observation_budget: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    parallel_bandwidth: { type: 'integer', minimum: 1, maximum: 100_000 },
    metadata: METADATA,
    // tunelab's own, as in the experiment file (DESIGN.md §8)
    method: { enum: [...STUDY_METHODS] },
    resource: fileField('resource'),
    method_options: fileField('method_options'),
    study: fileField('study'),
    random_seed: fileField('random_seed'),
    max_failures: fileField('max_failures'),
    trial_timeout: fileField('trial_timeout'),
    command: fileField('command'),
    env: fileField('env'),
    description: fileField('description'),
    cwd: fileField('cwd'),
    budget: { ...fileField('budget'), description: "max_wallclock_time and max_results; max_trials, if given, must equal observation_budget" },
    resources: fileField('resources'),
    points_to_evaluate: fileField('points_to_evaluate'),
    best: fileField('best'),
  },
};

const METRIC_EVALUATION_IN = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'value'],
  properties: { object: { const: 'metric_evaluation' }, name: { type: 'string', minLength: 1, maxLength: 200 }, value: NUMBER, value_stddev: { type: ['number', 'null'], minimum: 0 } },
};

export const observationCreateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['suggestion'],
  properties: {
    suggestion: { anyOf: [ID, { type: 'integer', minimum: 1 }] },
    value: NUMBER,
    value_stddev: { type: ['number', 'null'], minimum: 0 },
    values: { type: 'array', minItems: 1, maxItems: 50, items: METRIC_EVALUATION_IN },
    failed: { type: 'boolean', default: false },
    metadata: METADATA,
  },
};

export const suggestionCreateBody = { type: 'object', additionalProperties: false, properties: { metadata: METADATA } };

export const reportBody = {
  type: 'object',
  additionalProperties: false,
  required: ['resource', 'values'],
  properties: { resource: { type: 'number', exclusiveMinimum: 0 }, values: { type: 'array', minItems: 1, maxItems: 50, items: METRIC_EVALUATION_IN } },
};

export const heartbeatBody = { type: 'object', additionalProperties: false, required: ['suggestions'], properties: { suggestions: { type: 'array', maxItems: 1000, items: ID } } };

export const logsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['lines'],
  properties: {
    lines: {
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['suggestion', 'stream', 'line', 'time'],
        properties: { suggestion: ID, stream: { enum: ['stdout', 'stderr'] }, line: { type: 'string', maxLength: 100_000 }, time: { type: 'integer', minimum: 0 } },
      },
    },
  },
};

export const stopBody = { type: 'object', additionalProperties: false, properties: { abandon: { type: 'boolean', default: false } } };

export const experimentParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: ID } };
export const suggestionParams = { type: 'object', additionalProperties: false, required: ['id', 'sid'], properties: { id: ID, sid: ID } };
export const workerParams = { type: 'object', additionalProperties: false, required: ['id', 'worker'], properties: { id: ID, worker: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,200}$' } } };

/** Query strings are text (the validator coerces nothing, so that a body's null is never read as 0): a page's size as digits. */
const PAGING_QUERY = { limit: { type: 'string', pattern: '^(1000|[1-9][0-9]{0,2})$', default: '100', description: 'items per page, 1 to 1000' }, before: ID, after: ID };
export const observationsQuery = { type: 'object', additionalProperties: false, properties: PAGING_QUERY };
export const suggestionsQuery = { type: 'object', additionalProperties: false, properties: { ...PAGING_QUERY, state: { enum: ['open', 'closed', 'all'], default: 'all' } } };
export const suggestionsDeleteQuery = { type: 'object', additionalProperties: false, properties: { state: { enum: ['open'] } } };

/** The headers by which tunelab's clients name their worker (SigOpt's clients send none). */
export const workerHeaders = {
  type: 'object',
  properties: {
    [WORKER_HEADERS.id]: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,200}$' },
    [WORKER_HEADERS.host]: { type: 'string', minLength: 1, maxLength: 255 },
    [WORKER_HEADERS.pid]: { type: 'string', pattern: '^[0-9]{1,10}$' },
    [REQUEST_ID_HEADER]: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
  },
};

// --- answers -------------------------------------------------------------------------------

export const errorResponse = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { message: { type: 'string' }, status: { type: 'integer' }, reason: { type: 'string' }, field: { type: 'string' }, experiment: { type: 'string' } },
    },
  },
};

const METRIC_EVALUATION_OUT = { type: 'object', properties: { object: { type: 'string' }, name: { type: 'string' }, value: NUMBER, value_stddev: { type: ['number', 'null'] } } };

export const observationResponse = {
  type: 'object',
  properties: {
    object: { type: 'string' },
    id: { type: 'string' },
    experiment: { type: 'string' },
    suggestion: { type: 'string' },
    assignments: ANY_OBJECT,
    value: { type: ['number', 'null'] },
    value_stddev: { type: ['number', 'null'] },
    values: { type: 'array', items: METRIC_EVALUATION_OUT },
    failed: { type: 'boolean' },
    metadata: { type: ['object', 'null'], additionalProperties: true },
    created: { type: 'integer' },
  },
};

const OBSERVATION_OR_NULL = { anyOf: [observationResponse, { type: 'null' }] };

export const experimentResponse = {
  type: 'object',
  properties: {
    object: { type: 'string' },
    id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string' },
    state: { type: 'string' },
    created: { type: 'integer' },
    parameters: { type: 'array', items: ANY_OBJECT },
    conditionals: { type: 'array', items: ANY_OBJECT },
    metrics: { type: 'array', items: ANY_OBJECT },
    observation_budget: { type: ['integer', 'null'] },
    parallel_bandwidth: { type: 'integer' },
    metadata: { type: ['object', 'null'], additionalProperties: true },
    progress: {
      type: 'object',
      properties: {
        object: { type: 'string' },
        observation_count: { type: 'integer' },
        observation_budget_consumed: { type: 'number' },
        first_observation: OBSERVATION_OR_NULL,
        last_observation: OBSERVATION_OR_NULL,
        best_observation: OBSERVATION_OR_NULL,
      },
    },
    tunelab: {
      type: 'object',
      properties: { status: { type: 'string' }, stop_mode: { type: ['string', 'null'] }, method: { type: 'string' }, definition: ANY_OBJECT },
    },
  },
};

export const suggestionResponse = {
  type: 'object',
  properties: {
    object: { type: 'string' },
    id: { type: 'string' },
    experiment: { type: 'string' },
    assignments: ANY_OBJECT,
    state: { type: 'string' },
    created: { type: 'integer' },
    metadata: { type: ['object', 'null'], additionalProperties: true },
    deleted: { type: 'boolean' },
  },
};

export const bestAssignmentsResponse = {
  type: 'object',
  // value: null for a multimetric experiment's (its metrics are in values)
  properties: { object: { type: 'string' }, id: { type: 'string' }, assignments: ANY_OBJECT, value: { type: ['number', 'null'] }, value_stddev: { type: ['number', 'null'] }, values: { type: 'array', items: METRIC_EVALUATION_OUT } },
};

export const pagination = (item: Schema) => ({
  type: 'object',
  properties: {
    object: { type: 'string' },
    count: { type: 'integer' },
    data: { type: 'array', items: item },
    paging: { type: 'object', properties: { before: { type: ['string', 'null'] }, after: { type: ['string', 'null'] } } },
  },
});

export const heartbeatResponse = {
  type: 'object',
  properties: { object: { type: 'string' }, lost: { type: 'array', items: { type: 'string' } }, status: { type: 'string' }, stop_mode: { type: ['string', 'null'] } },
};

export const tellAndAskResponse = {
  type: 'object',
  properties: { object: { type: 'string' }, recorded: { type: 'boolean' }, refused: { type: ['string', 'null'] }, suggestion: { anyOf: [suggestionResponse, { type: 'null' }] }, reason: { type: ['string', 'null'] } },
};

export const decisionResponse = { type: 'object', properties: { object: { type: 'string' }, decision: { enum: ['continue', 'stop'] } } };

/** GET …/logs: the trial output lines after a line id (tunelab study logs over HTTP). */
export const logsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { after: { type: 'string', pattern: '^[0-9]{1,15}$', default: '0' }, limit: PAGING_QUERY.limit },
};

export const logsResponse = {
  type: 'object',
  properties: {
    object: { const: 'logs' },
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'integer' }, suggestion: { type: 'string' }, worker: { type: 'string' }, stream: { enum: ['stdout', 'stderr'] }, line: { type: 'string' }, time: NUMBER },
      },
    },
  },
};

/** GET …/status: tunelab study status's report (StudyStatusReport, src/study/status.ts), as the server's store sees the study. */
export const statusResponse = { type: 'object', additionalProperties: true, properties: { id: { type: 'integer' }, name: { type: 'string' }, status: { type: 'string' }, observations: { type: 'integer' } } };
