import { spawn } from 'node:child_process';
import type { S3Client } from '@aws-sdk/client-s3';
import { REPORT_PREFIX } from '../trial/protocol.js';
import { putObject, s3Client } from '../results/s3.js';
import { UserError } from '../util/errors.js';
import { signalExitCode } from '../util/signals.js';

/** `s3://bucket/key` → its parts. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new UserError(`not an S3 object URI (s3://bucket/key): '${uri}'`);
  return { bucket: m[1], key: m[2] };
}

export interface ReportingTrialOptions {
  command: string[];
  /** Where the report lines go: one object, rewritten whole as lines come. */
  reportUri: string;
  /** Seconds between uploads (when new lines came). */
  interval: number;
  client?: S3Client;
  log?: (line: string) => void;
}

/**
 * The container side of the SageMaker trial backend (`tunelab sagemaker-trial`): runs the training
 * command, passes its output on, and uploads its `[tunelab]` report lines to `reportUri` every
 * `interval` seconds and at its end, where the backend polls for them. SIGTERM (SageMaker's
 * StopTrainingJob) is passed to the command. Resolves with the command's exit code.
 */
export async function runReportingTrial(options: ReportingTrialOptions): Promise<number> {
  const { bucket, key } = parseS3Uri(options.reportUri);
  const client = options.client ?? s3Client();
  const log = options.log ?? ((l: string) => console.error(l));
  const lines: string[] = [];
  let uploaded = 0;
  let partial = '';
  let uploading: Promise<void> | undefined;
  const upload = async () => {
    if (lines.length === uploaded) return;
    const n = lines.length;
    try {
      await putObject(client, bucket, key, Buffer.from(lines.slice(0, n).join('\n') + '\n'));
      uploaded = n;
    } catch (e) {
      log(`tunelab sagemaker-trial: ${(e as Error).message} (tried again in ${options.interval}s)`);
    }
  };
  const child = spawn(options.command[0], options.command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop()!;
    for (const p of parts) if (p.startsWith(REPORT_PREFIX)) lines.push(p.replace(/\r$/, ''));
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  const timer = setInterval(() => {
    uploading ??= upload().finally(() => (uploading = undefined));
  }, options.interval * 1000);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  }).finally(() => {
    clearInterval(timer);
    process.off('SIGTERM', forward);
    process.off('SIGINT', forward);
  });
  if (partial.startsWith(REPORT_PREFIX)) lines.push(partial);
  await uploading;
  await upload();
  return exit.signal ? signalExitCode(exit.signal) : (exit.code ?? 1);
}
