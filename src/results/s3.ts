import { createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { UserError } from '../util/errors.js';
import { mkdirp } from '../util/fs.js';
import { METADATA_FILE } from './metadata.js';
import { RESULTS_FILE } from './writer.js';

/** Where a study's experiments live in S3 (DESIGN §4): s3://<bucket>/<prefix>/<tag>/<job>/<folder>/. */
export interface S3Location {
  bucket: string;
  /** default 'tunelab' */
  prefix?: string;
}

const require = createRequire(import.meta.url);
/** The SDK (~0.6 s to load) on first use, not at start-up; it is CommonJS, so `s3Client` can stay synchronous. */
const sdk = () => require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

/** An S3 client; an S3-compatible server is used when $AWS_ENDPOINT_URL_S3 or $AWS_ENDPOINT_URL names one. */
export function s3Client(): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const { S3Client } = sdk();
  return new S3Client(endpoint ? { region, endpoint, forcePathStyle: true } : { region });
}

/** `<method>` for a cheap method (its seeds share a job), `<method>-<seed>` for an expensive one. */
export const s3JobName = (method: string, seed: number, expensive: boolean) => (expensive ? `${method}-${seed}` : method);

const s3Error = (what: string, e: unknown) =>
  new UserError(`${what}: ${(e as Error).name === 'Error' ? '' : `${(e as Error).name}: `}${(e as Error).message || String(e)}`, 1);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Uploads an experiment folder (results, metadata, checkpoint, logs) and returns its S3 prefix. */
export async function uploadExperiment(client: S3Client, location: S3Location, tag: string, job: string, folder: string): Promise<string> {
  const { PutObjectCommand } = sdk();
  const key = `${location.prefix ?? 'tunelab'}/${tag}/${job}/${basename(folder)}`;
  for (const file of filesUnder(folder)) {
    try {
      await client.send(new PutObjectCommand({ Bucket: location.bucket, Key: `${key}/${relative(folder, file)}`, Body: await readFile(file) }));
    } catch (e) {
      throw s3Error(`cannot upload ${file} to s3://${location.bucket}/${key}/ (the local results stay in ${folder})`, e);
    }
  }
  return `s3://${location.bucket}/${key}/`;
}

/**
 * Downloads what plotting needs (metadata.json and results.csv.gz of every experiment under the tags)
 * into `<cacheDir>/<tag>/<folder>/`, skipping files already there with the same size. Returns the
 * S3 URI of every local folder, so that warnings can name S3 keys.
 */
export async function downloadStudy(client: S3Client, location: S3Location, tags: string[], cacheDir: string): Promise<Map<string, string>> {
  const { GetObjectCommand, ListObjectsV2Command } = sdk();
  const prefix = location.prefix ?? 'tunelab';
  const origin = new Map<string, string>();
  for (const tag of tags) {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: `${prefix}/${tag}/`, ContinuationToken: token }));
      } catch (e) {
        throw s3Error(`cannot list s3://${location.bucket}/${prefix}/${tag}/`, e);
      }
      for (const obj of page.Contents ?? []) {
        // <prefix>/<tag>/<job>/<folder>/<file>
        const parts = obj.Key!.slice(prefix.length + 1).split('/');
        if (parts.length !== 4 || ![METADATA_FILE, RESULTS_FILE].includes(parts[3])) continue;
        const localFolder = join(cacheDir, tag, parts[2]);
        origin.set(localFolder, `s3://${location.bucket}/${prefix}/${tag}/${parts[1]}/${parts[2]}/`);
        const local = join(localFolder, parts[3]);
        if (existsSync(local) && statSync(local).size === obj.Size) continue;
        mkdirp(localFolder);
        try {
          const got = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: obj.Key! }));
          await pipeline(got.Body as Readable, createWriteStream(local));
        } catch (e) {
          throw s3Error(`cannot download s3://${location.bucket}/${obj.Key}`, e);
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return origin;
}
