import { UserError } from '../util/errors.js';

/**
 * Timeouts and retries shared by every AWS client tunelab makes (S3, SageMaker). An endpoint that
 * accepts a connection and never answers must not hang a study: each attempt is bounded by
 * `requestTimeout` (connecting by `connectionTimeout`), and the SDK's standard retry strategy
 * retries timeouts, throttling (429, SlowDown, ThrottlingException) and 5xx with exponential
 * backoff and full jitter, at most `maxAttempts` attempts in all; then the call fails.
 */
export interface AwsCallLimits {
  /** Milliseconds to connect (default 10 s). */
  connectionTimeout: number;
  /** Milliseconds for one request and its response (default 120 s; $TUNELAB_AWS_TIMEOUT in seconds). */
  requestTimeout: number;
  /** Attempts per call, the first included (default 5; $TUNELAB_AWS_MAX_ATTEMPTS). */
  maxAttempts: number;
}

function envNumber(name: string, fallback: number, integer: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)))) {
    throw new UserError(`$${name} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return n;
}

export function awsCallLimits(): AwsCallLimits {
  const requestTimeout = envNumber('TUNELAB_AWS_TIMEOUT', 120, false) * 1000;
  return { requestTimeout, connectionTimeout: Math.min(10_000, requestTimeout), maxAttempts: envNumber('TUNELAB_AWS_MAX_ATTEMPTS', 5, true) };
}

/** The client options that apply the limits (the SDK builds its NodeHttpHandler from `requestHandler`). */
export function awsClientConfig(limits: AwsCallLimits = awsCallLimits()) {
  return {
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    maxAttempts: limits.maxAttempts,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: limits.connectionTimeout, requestTimeout: limits.requestTimeout, throwOnRequestTimeout: true },
  } as const;
}

/** "Name: message (after N attempts)" of an SDK error, for messages that also name what was tried. */
export function describeAwsError(e: unknown): string {
  const err = e as Error & { $metadata?: { attempts?: number; httpStatusCode?: number }; code?: string };
  const name = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
  const attempts = err.$metadata?.attempts && err.$metadata.attempts > 1 ? ` (after ${err.$metadata.attempts} attempts)` : '';
  const hint =
    err.name === 'CredentialsProviderError'
      ? ' (set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE)'
      : err.name === 'NoSuchBucket'
        ? ' (the bucket does not exist, or is in another account)'
        : '';
  return `${name}${err.message || err.code || String(e)}${attempts}${hint}`;
}
