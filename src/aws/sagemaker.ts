import { setTimeout as sleep } from 'node:timers/promises';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { awsClientConfig } from './client.js';

/** Tag keys that identify a study's jobs in SageMaker (`tunelab jobs` finds them by these). */
export const TAG = { experimentTag: 'tunelab:experiment_tag', job: 'tunelab:job', method: 'tunelab:method', seeds: 'tunelab:seeds', s3Path: 'tunelab:s3_path' } as const;

/** `text` with every run of characters a training job name cannot hold turned into one '-'. */
export const nameStem = (text: string) => text.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');

/** "0-19" for seeds 0..19, "13" for seed 13 (a comma is not allowed in a tag value). */
export const seedsTag = (seeds: number[]) => (seeds.length === 1 ? String(seeds[0]) : `${seeds[0]}-${seeds[seeds.length - 1]}`);

/** A SageMaker client with tunelab's timeouts and retries; the SDK (~1 s to load) only when one is needed. */
export async function sageMakerClient(options: { client?: SageMakerClient }): Promise<SageMakerClient> {
  if (options.client) return options.client;
  const { SageMakerClient } = await import('@aws-sdk/client-sagemaker');
  return new SageMakerClient(awsClientConfig());
}

/** SageMaker errors worth waiting out: the SDK retries throttling itself, but not a full account quota. */
const RETRIED = new Set(['ThrottlingException', 'ResourceLimitExceeded']);

/**
 * `call()`, retried on ThrottlingException / ResourceLimitExceeded up to `attempts` times in all with
 * exponential backoff (from `delay` seconds, doubling, at most a minute) and full jitter; any other
 * error, or the last one, is thrown with `attempts` (how many were made) on it.
 */
export async function retryThrottled<T>(call: () => Promise<T>, attempts = 8, delay = 2): Promise<T> {
  for (let k = 1; ; k++) {
    try {
      return await call();
    } catch (e) {
      if (!RETRIED.has((e as Error).name) || k >= attempts) throw Object.assign(e as Error, { attemptsMade: k });
      await sleep(Math.min(60, delay * 2 ** (k - 1)) * 1000 * Math.random());
    }
  }
}
