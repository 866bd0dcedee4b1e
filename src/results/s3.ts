import { readFileSync } from 'node:fs';
import pLimit from 'p-limit';
import { basename, relative } from 'node:path';
import { createRequire } from 'node:module';
import type { S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig, describeAwsError } from '../aws/client.js';
import { UserError } from '../util/errors.js';
import { filesUnder } from '../util/fs.js';

/** Where a study's experiments live in S3 (DESIGN §4): s3://<bucket>/<prefix>/<tag>/<job>/<folder>/. */
export interface S3Location {
  bucket: string;
  /** default 'tunelab' */
  prefix?: string;
}

/** Files in flight at once per experiment. */
const UPLOAD_CONCURRENCY = 4;

const require = createRequire(import.meta.url);
/** The SDK (~0.6 s to load) on first use, not at start-up; it is CommonJS, so `s3Client` can stay synchronous. */
const sdk = () => require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

/**
 * An S3 client whose every call is bounded in time and retried with backoff (src/cloud/aws.ts); an
 * S3-compatible server is used when $AWS_ENDPOINT_URL_S3 or $AWS_ENDPOINT_URL names one.
 */
export function s3Client(): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const { S3Client } = sdk();
  return new S3Client({ ...awsClientConfig(), ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });
}

/** `<method>` for a cheap method (its seeds share a job), `<method>-<seed>` for an expensive one. */
export const s3JobName = (method: string, seed: number, expensive: boolean) => (expensive ? `${method}-${seed}` : method);

const s3Error = (what: string, e: unknown) => new UserError(`${what}: ${describeAwsError(e)}`, 1);

/** `<prefix>/<tag>/<job>/<folder>` (DESIGN §4), without a trailing slash. */
export const experimentKey = (location: S3Location, tag: string, job: string, folder: string) => `${location.prefix ?? 'tunelab'}/${tag}/${job}/${basename(folder)}`;

/** One PutObject; a failure names the bucket and key. `signal` aborts it (and its retries) at once. */
export async function putObject(client: S3Client, bucket: string, key: string, body: Buffer, signal?: AbortSignal): Promise<void> {
  const { PutObjectCommand } = sdk();
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }), { abortSignal: signal });
  } catch (e) {
    throw s3Error(`cannot upload s3://${bucket}/${key}`, e);
  }
}

/**
 * Uploads an experiment folder (results, metadata, checkpoint, logs), a few files at a time, and
 * returns its S3 URI; `signal` aborts it. Regular files only: a symbolic link a trial left in its
 * checkpoint folder is not followed out of the folder.
 */
export async function uploadExperiment(client: S3Client, location: S3Location, tag: string, job: string, folder: string, signal?: AbortSignal): Promise<string> {
  const key = experimentKey(location, tag, job, folder);
  const limit = pLimit(UPLOAD_CONCURRENCY);
  try {
    // read synchronously: a snapshot that the running tuner (same thread) cannot tear
    await Promise.all(filesUnder(folder).files.map((file) => limit(() => putObject(client, location.bucket, `${key}/${relative(folder, file)}`, readFileSync(file), signal))));
  } catch (e) {
    throw new UserError(`${signal?.aborted ? `upload of ${folder} abandoned (${String(signal.reason)})` : (e as Error).message} (the local results stay in ${folder})`, 1);
  }
  return `s3://${location.bucket}/${key}/`;
}

export interface S3Object {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** Every object under `prefix` (ListObjectsV2, paginated). */
export async function listObjects(client: S3Client, bucket: string, prefix: string): Promise<S3Object[]> {
  const { ListObjectsV2Command } = sdk();
  const out: S3Object[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (e) {
      throw s3Error(`cannot list s3://${bucket}/${prefix}`, e);
    }
    for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, ''), lastModified: o.LastModified ?? new Date(0) });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** One object's bytes. */
export async function getObjectBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const { GetObjectCommand } = sdk();
  try {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  } catch (e) {
    throw s3Error(`cannot download s3://${bucket}/${key}`, e);
  }
}

/** Deletes the keys (DeleteObjects, 1000 a request); a key S3 refuses to delete is an error naming it. */
export async function deleteObjects(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  const { DeleteObjectsCommand } = sdk();
  for (let i = 0; i < keys.length; i += 1000) {
    let r;
    try {
      r = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
    } catch (e) {
      throw s3Error(`cannot delete from s3://${bucket}/`, e);
    }
    const failed = r.Errors ?? [];
    if (failed.length) throw new UserError(`cannot delete s3://${bucket}/${failed[0].Key}: ${failed[0].Code}: ${failed[0].Message}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}`, 1);
  }
}
