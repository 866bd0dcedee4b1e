import type { ApiError } from '../study/wire.js';

/**
 * An answer other than success, with SigOpt's error body (`{error: {message}}`), its HTTP status
 * and, for programs, why (`reason`) or which request field was at fault (`field`).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Omit<ApiError['error'], 'message' | 'status'> = {},
  ) {
    super(message);
  }

  body(): ApiError {
    return { error: { message: this.message, status: this.status, ...this.extra } };
  }
}

/** One error of the JSON schema validator (Ajv, with verbose errors: the schema and data at fault). */
export interface SchemaIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
  schema?: unknown;
  parentSchema?: { properties?: Record<string, unknown>; enum?: unknown[]; type?: unknown };
}

/** "/parameters/0/type" → "parameters[0].type" (the field as a SigOpt user writes it). */
export function fieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.reduce((s, p) => (/^\d+$/.test(p) ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
}

const show = (v: unknown) => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** One issue as "field: what was wrong; what is accepted", and the field it names. */
export function describeIssue(issue: SchemaIssue, part: string): { field: string; text: string } {
  const where = (child?: string) => fieldPath(issue.instancePath, child) || `(the ${part})`;
  const p = issue.params;
  switch (issue.keyword) {
    case 'required': {
      const field = where(String(p.missingProperty));
      return { field, text: `${field}: missing` };
    }
    case 'additionalProperties': {
      const field = where(String(p.additionalProperty));
      const accepted = Object.keys(issue.parentSchema?.properties ?? {});
      return { field, text: `${field}: unknown field; accepted fields${issue.instancePath ? ` here` : ''}: ${accepted.join(', ')}` };
    }
    case 'enum':
    case 'const': {
      const allowed = (p.allowedValues as unknown[] | undefined) ?? [p.allowedValue];
      return { field: where(), text: `${where()}: ${show(issue.data)} is not accepted; expected one of ${allowed.map(String).join(', ')}` };
    }
    case 'type':
      return { field: where(), text: `${where()}: expected ${String(p.type).replace(/,/g, ' or ')}, got ${show(issue.data)}` };
    case 'anyOf':
    case 'oneOf':
      return { field: where(), text: `${where()}: ${show(issue.data)} matches none of the accepted forms` };
    default:
      return { field: where(), text: `${where()}: ${issue.message ?? issue.keyword}, got ${show(issue.data)}` };
  }
}

/**
 * The validator's errors as one 400: every problem on its own line (the first 10), the first
 * problem's field named for programs. anyOf's branch errors are left out when the anyOf itself is
 * reported (they would name fields of forms the client did not mean).
 */
export function validationError(issues: readonly SchemaIssue[], part: string): HttpError {
  const anyOfPaths = issues.filter((i) => i.keyword === 'anyOf' || i.keyword === 'oneOf').map((i) => i.instancePath);
  const kept = issues.filter((i) => i.keyword === 'anyOf' || i.keyword === 'oneOf' || !anyOfPaths.some((p) => i.instancePath === p || i.instancePath.startsWith(`${p}/`)));
  const described = kept.map((i) => describeIssue(i, part));
  const unique = [...new Map(described.map((d) => [d.text, d])).values()];
  const lines = unique.slice(0, 10).map((d) => d.text);
  const more = unique.length > 10 ? `\n(and ${unique.length - 10} more)` : '';
  return new HttpError(400, `invalid ${part}: ${lines.join('; ')}${more}`, { field: unique[0]?.field });
}
