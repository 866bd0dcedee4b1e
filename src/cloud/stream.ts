import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { METADATA_FILE } from '../results/metadata.js';
import { type S3Location, experimentKey, putObject, s3Client, uploadExperiment } from '../results/s3.js';
import { RESULTS_FILE } from '../results/writer.js';
import { TRIAL_ENDS_FILE } from '../results/trial-ends.js';
import { DECISIONS_FILE } from '../results/decisions.js';
import { CHECKPOINT_FILE } from '../tuner/checkpoint.js';

/**
 * What a running experiment streams: enough to plot it and to resume it (logs and checkpoints go at
 * the end); metadata first, so that results in S3 always come with the metadata that reads them.
 */
export const STREAMED_FILES = [METADATA_FILE, CHECKPOINT_FILE, RESULTS_FILE, TRIAL_ENDS_FILE, DECISIONS_FILE] as const;

export interface ExperimentStreamOptions {
  location: S3Location;
  tag: string;
  /** `<job>` of the S3 layout (s3JobName). */
  job: string;
  /** Seconds of wall time between uploads (default 60). */
  interval?: number;
  client?: S3Client;
  log: (line: string) => void;
}

/**
 * Uploads a running experiment's results, metadata and checkpoint every `interval` seconds of wall
 * time, so that a job that dies leaves its partial results (and status `running`) in S3, and
 * uploads the whole folder at the end. The files are read synchronously: the tuner appends to them
 * synchronously on the same thread, so every snapshot holds whole gzip members and whole JSON files.
 * A failed periodic upload is reported once and tried again at the next interval.
 */
export class ExperimentStream {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private folder: string | undefined;
  private warned = false;
  private client: S3Client | undefined;
  /** one per upload under way, for abort() */
  private readonly transfers = new Set<AbortController>();
  /** Periodic uploads done (for tests and bench). */
  uploads = 0;

  constructor(private readonly options: ExperimentStreamOptions) {
    this.client = options.client;
  }

  private get s3(): S3Client {
    return (this.client ??= s3Client());
  }

  /** Starts streaming `folder` (once its metadata.json exists). */
  start(folder: string): void {
    this.folder = folder;
    // setInterval takes at most 2^31-1 ms (a longer one would fire every millisecond)
    const ms = Math.min((this.options.interval ?? 60) * 1000, 2 ** 31 - 1);
    // unref: a stream never keeps the process alive by itself
    this.timer = setInterval(() => {
      this.inFlight ??= this.snapshot(folder).finally(() => (this.inFlight = undefined));
    }, ms).unref();
  }

  /** Runs one upload with an AbortSignal of its own, which abort() fires. */
  private async transfer<T>(upload: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.transfers.add(controller);
    try {
      return await upload(controller.signal);
    } finally {
      this.transfers.delete(controller);
    }
  }

  private async snapshot(folder: string): Promise<void> {
    const { location, tag, job } = this.options;
    const key = experimentKey(location, tag, job, folder);
    const files = STREAMED_FILES.filter((f) => existsSync(join(folder, f))).map((f) => [f, readFileSync(join(folder, f))] as const);
    await this.transfer(async (signal) => {
      try {
        for (const [name, body] of files) await putObject(this.s3, location.bucket, `${key}/${name}`, body, signal);
        this.uploads++;
      } catch (e) {
        if (!this.warned && !signal.aborted) this.options.log(`${folder}: periodic upload failed, trying again in ${this.options.interval ?? 60}s: ${(e as Error).message}`);
        this.warned = true;
      }
    });
  }

  /**
   * Aborts the uploads under way (a stop signal came: the user will not wait for a server that
   * does not answer); the local files stay, and uploads started later run as usual. Returns
   * whether one was under way.
   */
  abort(reason: string): boolean {
    for (const c of this.transfers) c.abort(reason);
    return this.transfers.size > 0;
  }

  /** Stops the timer, lets an upload under way end, and uploads the whole folder; resolves with its S3 URI. */
  async finish(): Promise<string | undefined> {
    clearInterval(this.timer);
    await this.inFlight;
    if (!this.folder) return undefined;
    const folder = this.folder;
    return this.transfer((signal) => uploadExperiment(this.s3, this.options.location, this.options.tag, this.options.job, folder, signal));
  }
}
