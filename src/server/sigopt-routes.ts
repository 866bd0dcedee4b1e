import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { NewObservation, SuggestionState, WorkerIdentity } from '../study/storage/store.js';
import { HttpError } from './errors.js';
import { type PageQuery, paginate } from './paging.js';
import {
  bestAssignmentsResponse,
  errorResponse,
  experimentCreateBody,
  experimentParams,
  experimentResponse,
  observationCreateBody,
  observationResponse,
  observationsQuery,
  pagination,
  suggestionCreateBody,
  suggestionParams,
  suggestionResponse,
  suggestionsDeleteQuery,
  suggestionsQuery,
  workerHeaders,
} from './schemas.js';
import { type ExperimentBody, STDDEV_KEY, apiExperiment, apiSuggestion } from './sigopt.js';
import type { ServedStudy, StudyRegistry } from './studies.js';
import { objectiveValues } from '../study/study.js';
import { actingWorker, anonymousWorker, namedWorker, requestKey } from './workers.js';

/** SigOpt's v1 resources for what the seeds use (DESIGN.md §9), on the study store. */

const errors = { 400: errorResponse, 401: errorResponse, 404: errorResponse, 409: errorResponse };

interface Metric {
  name: string;
  value: number;
  value_stddev?: number | null;
}

export interface ObservationBody {
  suggestion: string | number;
  value?: number;
  value_stddev?: number | null;
  values?: Metric[];
  failed: boolean;
  metadata?: Record<string, unknown>;
}

/**
 * The metrics of an observation or a report: any names (a script reports what it likes; the store
 * keeps them all), each once, finite, every optimized one among them (a multimetric experiment's
 * each); 400 naming the field otherwise.
 */
export function metricValues(served: ServedStudy, values: readonly Metric[], field: string): { metrics: Record<string, number>; stddevs: Record<string, number> } {
  const metrics: Record<string, number> = {};
  const stddevs: Record<string, number> = {};
  values.forEach((v, i) => {
    if (v.name in metrics) throw new HttpError(400, `${field}[${i}].name: metric '${v.name}' given twice`, { field: `${field}[${i}].name` });
    metrics[v.name] = v.value;
    if (v.value_stddev != null) stddevs[v.name] = v.value_stddev;
  });
  const vector = objectiveValues(served.study.definition, metrics);
  if ('missing' in vector) throw new HttpError(400, `${field}: lacks the optimized metric '${vector.missing}' (give {"name": "${vector.missing}", "value": ...}, or failed: true)`, { field });
  return { metrics, stddevs };
}

/**
 * The observation a body gives (SigOpt's fields: value or values, failed, metadata), validated
 * (400 naming the field), with the acting worker's id, host and pid added to its metadata. A
 * multimetric experiment takes `values` only (one `value` names no metric, as SigOpt's).
 */
export async function observationOf(req: FastifyRequest, served: ServedStudy, b: ObservationBody): Promise<{ sid: number; metrics: Record<string, number>; worker: WorkerIdentity; observation: NewObservation }> {
  const sid = Number(b.suggestion);
  const { objectives } = served.study.definition;
  if (b.failed && (b.value !== undefined || b.values !== undefined)) throw new HttpError(400, 'failed: an observation with failed: true takes no value or values', { field: 'failed' });
  if (b.value !== undefined && b.values !== undefined) throw new HttpError(400, 'value: give value or values, not both', { field: 'value' });
  if (b.value !== undefined && objectives.length > 1) {
    throw new HttpError(400, `value: this experiment optimizes ${objectives.length} metrics (${objectives.map((o) => o.metric).join(', ')}); give values: [{name, value}] with each of them`, { field: 'value' });
  }
  if (!b.failed && b.value === undefined && b.values === undefined) throw new HttpError(400, 'values: missing; give values: [{name, value}] (or value), or failed: true', { field: 'values' });
  const given: Metric[] = b.values ?? (b.value !== undefined ? [{ name: served.study.definition.metric, value: b.value, value_stddev: b.value_stddev }] : []);
  const { metrics, stddevs } = b.failed ? { metrics: {}, stddevs: {} } : metricValues(served, given, b.values ? 'values' : 'value');
  const worker = await actingWorker(req, served, sid);
  const metadata: Record<string, unknown> = { ...b.metadata, worker_id: worker.workerId, host: worker.host, pid: worker.pid, ...(Object.keys(stddevs).length && { [STDDEV_KEY]: stddevs }) };
  const vector = b.failed ? null : objectives.map((o) => metrics[o.metric]);
  return { sid, metrics, worker, observation: { values: metrics, value: vector && vector[0], objectiveValues: vector, failed: b.failed, metadata } };
}

export function noneMessage(served: ServedStudy, reason: 'budget' | 'stopped' | 'exhausted' | 'wait'): string {
  const d = served.study.definition;
  const id = served.study.id;
  switch (reason) {
    case 'budget':
      return `experiment ${id}: its observation budget (${d.budget.maxTrials ?? '∞'}) is met, or its time is up; no more suggestions`;
    case 'stopped':
      return `experiment ${id} is stopped; no more suggestions`;
    case 'exhausted':
      return `experiment ${id}: every configuration of its parameter space has been suggested`;
    case 'wait':
      return `experiment ${id}: every slot is taken (parallel_bandwidth ${d.parallelBandwidth}, or the open suggestions would complete the observation budget ${d.budget.maxTrials ?? '∞'}); observe or delete an open suggestion, or ask again later`;
  }
}

export function sigoptRoutes(app: FastifyInstance, studies: StudyRegistry): void {
  app.post<{ Body: ExperimentBody }>(
    '/v1/experiments',
    { schema: { summary: 'Create an experiment (a study in the store)', body: experimentCreateBody, response: { 200: experimentResponse, ...errors } } },
    async (req) => {
      const served = await studies.create(req.body);
      return apiExperiment(await served.study.refresh(), await served.progress());
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/experiments/:id',
    { schema: { summary: 'Fetch an experiment with its progress', params: experimentParams, response: { 200: experimentResponse, ...errors } } },
    async (req) => {
      const served = await studies.get(req.params.id);
      return apiExperiment(await served.study.refresh(), await served.progress());
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/experiments/:id/suggestions',
    { schema: { summary: 'Create a suggestion: never one that is open already; 409 when the budget or the bandwidth is exhausted', params: experimentParams, headers: workerHeaders, body: suggestionCreateBody, response: { 200: suggestionResponse, ...errors } } },
    async (req) => {
      const served = await studies.get(req.params.id);
      const worker = namedWorker(req) ?? anonymousWorker(req);
      const attempt = await served.study.tryAsk(worker, requestKey(req, worker));
      if ('none' in attempt) throw new HttpError(409, noneMessage(served, attempt.none), { reason: attempt.none });
      const s = attempt.suggestion;
      return apiSuggestion(served.study.id, { id: s.suggestionId, config: s.config, state: 'open', createdAt: Date.now() });
    },
  );

  app.get<{ Params: { id: string }; Querystring: PageQuery & { state: 'open' | 'closed' | 'all' } }>(
    '/v1/experiments/:id/suggestions',
    { schema: { summary: 'List suggestions (state=open: those to recover)', params: experimentParams, querystring: suggestionsQuery, response: { 200: pagination(suggestionResponse), ...errors } } },
    async (req) => {
      const served = await studies.get(req.params.id);
      const states: SuggestionState[] = { open: ['open'], closed: ['completed', 'failed', 'abandoned'], all: ['open', 'completed', 'failed', 'abandoned'] }[req.query.state] as SuggestionState[];
      const list = await served.store.listSuggestions(served.study.id, states);
      return paginate(list, (s) => s.id, req.query, (s) => apiSuggestion(served.study.id, s));
    },
  );

  app.delete<{ Params: { id: string; sid: string } }>(
    '/v1/experiments/:id/suggestions/:sid',
    { schema: { summary: 'Delete an open suggestion (it does not count towards the budget)', params: suggestionParams, response: { 204: { type: 'null' }, ...errors } } },
    async (req, reply) => {
      const served = await studies.get(req.params.id);
      const done = await served.store.abandon(served.study.id, [Number(req.params.sid)]);
      if (done.length === 0) throw new HttpError(404, `suggestion ${req.params.sid} of experiment ${served.study.id} is not open`);
      return reply.code(204).send();
    },
  );

  // tunelab's: a worker stopped by a signal gives its suggestion back for another to continue
  app.post<{ Params: { id: string; sid: string } }>(
    '/v1/experiments/:id/suggestions/:sid/release',
    { schema: { summary: 'Give an open suggestion back: ready again for the next worker, which continues the trial under the same id (not counted towards the budget)', params: suggestionParams, response: { 204: { type: 'null' }, ...errors } } },
    async (req, reply) => {
      const served = await studies.get(req.params.id);
      const done = await served.store.release(served.study.id, [Number(req.params.sid)]);
      if (done.length === 0) throw new HttpError(404, `suggestion ${req.params.sid} of experiment ${served.study.id} is not open`);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/experiments/:id/suggestions',
    { schema: { summary: 'Delete every open suggestion', params: experimentParams, querystring: suggestionsDeleteQuery, response: { 204: { type: 'null' }, ...errors } } },
    async (req, reply) => {
      const served = await studies.get(req.params.id);
      const open = await served.store.listSuggestions(served.study.id, ['open']);
      await served.store.abandon(
        served.study.id,
        open.map((s) => s.id),
      );
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: ObservationBody }>(
    '/v1/experiments/:id/observations',
    { schema: { summary: "Report an observation of a suggestion (values, or failed), with metadata", params: experimentParams, headers: workerHeaders, body: observationCreateBody, response: { 200: observationResponse, ...errors } } },
    async (req) => {
      const served = await studies.get(req.params.id);
      const b = req.body;
      const { sid, metrics, worker, observation } = await observationOf(req, served, b);
      const told = await served.store.tell(served.study.id, sid, worker, observation);
      if (!told.recorded) throw new HttpError(409, told.reason, { reason: 'refused' });
      await served.refresh();
      const o = served.observationOf(sid);
      if (!o) throw new HttpError(409, `the observation of suggestion ${sid} was recorded but is not yet readable; fetch the observations`, { reason: 'refused' });
      // the same worker telling again: a retried request is answered with its observation; other values are a conflict
      const same = o.failed === b.failed && Object.keys(metrics).length === Object.keys(o.values).length && Object.entries(metrics).every(([k, v]) => o.values[k] === v);
      if (!same) throw new HttpError(409, `suggestion ${sid} has an observation already (observation ${o.id}); a suggestion is observed once`, { reason: 'refused' });
      return served.observation(o);
    },
  );

  app.get<{ Params: { id: string }; Querystring: PageQuery }>(
    '/v1/experiments/:id/observations',
    { schema: { summary: 'List observations, newest first (SigOpt paging: before, after, limit)', params: experimentParams, querystring: observationsQuery, response: { 200: pagination(observationResponse), ...errors } } },
    async (req) => {
      const served = await studies.get(req.params.id);
      await served.refresh();
      return paginate(served.observations, (o) => o.id, req.query, (o) => served.observation(o));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/experiments/:id/best_assignments',
    { schema: { summary: 'The best feasible observation so far; of a multimetric experiment, the Pareto-efficient ones (none: empty)', params: experimentParams, response: { 200: pagination(bestAssignmentsResponse), ...errors } } },
    async (req) => {
      const served = await studies.get(req.params.id);
      await served.refresh();
      const multimetric = served.study.definition.objectives.length > 1;
      const data = served.bestObservations().map((best) => {
        const o = served.observation(best);
        // SigOpt orders a multimetric best assignment's evaluations by metric name
        const values = multimetric ? [...o.values].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : o.values;
        return { object: 'best_assignments', id: o.id, assignments: o.assignments, value: o.value, value_stddev: o.value_stddev, values };
      });
      return { object: 'pagination', count: data.length, data, paging: { before: null, after: null } };
    },
  );
}
