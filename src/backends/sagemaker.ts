import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { describeAwsError } from '../aws/client.js';
import type { Config } from '../config-space/index.js';
import { getObjectBytes, s3Client } from '../results/s3.js';
import type { TrialResult } from '../trial/result.js';
import { nameStem, retryThrottled, sageMakerClient } from '../aws/sagemaker.js';
import { UserError } from '../util/errors.js';
import { ENV_CHECKPOINT_DIR, ENV_CONFIG, ENV_TRIAL_ID, REPORT_PREFIX } from '../trial/protocol.js';
import type { BackendResult, PollResult, TrialBackend } from './types.js';

export interface SageMakerBackendOptions {
  /** The user's image, with tunelab installed (its `tunelab sagemaker-trial` streams the reports). */
  image: string;
  role: string;
  /** The training command inside the container; the config follows as `--name value` arguments. */
  command: string[];
  /** Stem of the training job names (e.g. the experiment tag). */
  name: string;
  bucket: string;
  /** Key prefix of this experiment's trials: `<prefix>/trial-<id>/{reports-<n>.txt, checkpoints/}`. */
  prefix: string;
  resourceAttr: string;
  metricNames: readonly string[];
  /** The resource is the count of the trial's reports (a single-fidelity script reports none). */
  countReports?: boolean;
  instanceType?: string;
  maxRuntimeSeconds?: number;
  /** Seconds between checks of the running jobs (default 30). */
  pollInterval?: number;
  /** Seconds between the container's report uploads (default 10). */
  reportInterval?: number;
  /** CreateTrainingJob attempts on ThrottlingException / ResourceLimitExceeded (default 8), backoff from `retryDelay` s (default 2) doubling, with jitter. */
  createAttempts?: number;
  retryDelay?: number;
  client?: SageMakerClient;
  s3?: S3Client;
}

/** Where SageMaker syncs a job's checkpoints from and to (its CheckpointConfig.LocalPath). */
export const CONTAINER_CHECKPOINT_DIR = '/opt/ml/checkpoints';

interface SageMakerTrial {
  config: Config;
  /** `resuming`: resumed while its paused job was still stopping; the new job waits for that end. */
  status: 'running' | 'paused' | 'resuming' | 'stopped' | 'done';
  /** Jobs started for this trial: a resume is a new job on the same checkpoint URI. */
  attempt: number;
  jobName?: string;
  /** The paused job, until it is seen ended: its container may still be saving the checkpoint. */
  stoppingJob?: string;
  /** Report lines of the current job already delivered. */
  consumed: number;
  lastResource: number | null;
  iter: number;
  startedAt: number;
  /** Checks in a row whose read of the reports failed. */
  readFailures: number;
}

/** Reads of a trial's reports that may fail in a row before the run fails. */
const READ_FAILURES = 5;

/**
 * Each trial a SageMaker training job running the user's command in the user's image (DESIGN §1's
 * third backend). The job's `tunelab sagemaker-trial` wrapper uploads the `[tunelab]` report lines
 * to S3 as they come; this backend reads them back while the job runs and follows its state with
 * DescribeTrainingJob. Pause and stop are StopTrainingJob; resume is a new job with the same
 * CheckpointConfig S3 URI, so the script finds its checkpoint in $TUNELAB_CHECKPOINT_DIR. A job
 * that cannot start or dies is a failed trial with SageMaker's reason; a role or image SageMaker
 * refuses is a UserError naming them.
 */
export class SageMakerBackend implements TrialBackend {
  readonly resourceAttr: string;
  readonly metricNames: readonly string[];
  private readonly trials = new Map<number, SageMakerTrial>();
  private readonly events: PollResult = { results: [], completed: [], failed: [] };
  private clockStart = performance.now();
  private clockBase = 0;
  private wake = new AbortController();

  constructor(private readonly options: SageMakerBackendOptions) {
    this.resourceAttr = options.resourceAttr;
    this.metricNames = options.metricNames;
  }

  now(): number {
    return this.clockBase + (performance.now() - this.clockStart) / 1000;
  }

  private get s3(): S3Client {
    return (this.options.s3 ??= s3Client());
  }

  private trialKey(id: number) {
    return `${this.options.prefix}/trial-${id}`;
  }

  /** `<stem>-t<id>-<attempt>-<base36 time>`: [a-zA-Z0-9-], at most 63 characters, unique per job. */
  jobName(id: number, attempt: number): string {
    const suffix = `-t${id}-${attempt}-${Date.now().toString(36)}`;
    return `${nameStem(this.options.name).slice(0, 63 - suffix.length)}${suffix}`;
  }

  async start(trialId: number, config: Config): Promise<void> {
    const t: SageMakerTrial = { config, status: 'running', attempt: 0, consumed: 0, lastResource: null, iter: 0, startedAt: this.now(), readFailures: 0 };
    this.trials.set(trialId, t);
    await this.launch(trialId, t);
  }

  private async launch(id: number, t: SageMakerTrial): Promise<void> {
    const { CreateTrainingJobCommand } = await import('@aws-sdk/client-sagemaker');
    const client = await sageMakerClient(this.options);
    const o = this.options;
    t.attempt++;
    t.consumed = 0;
    t.status = 'running';
    const name = this.jobName(id, t.attempt);
    const base = `s3://${o.bucket}/${this.trialKey(id)}`;
    const args = Object.entries(t.config).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const input = {
      TrainingJobName: name,
      RoleArn: o.role,
      AlgorithmSpecification: {
        TrainingImage: o.image,
        TrainingInputMode: 'File' as const,
        ContainerEntrypoint: ['tunelab', 'sagemaker-trial', '--report_uri', `${base}/reports-${t.attempt}.txt`, '--sync_interval', String(o.reportInterval ?? 10), '--', ...o.command],
        ContainerArguments: args,
      },
      HyperParameters: Object.fromEntries(Object.entries(t.config).map(([k, v]) => [k, String(v)])),
      Environment: { [ENV_TRIAL_ID]: String(id), [ENV_CONFIG]: JSON.stringify(t.config), [ENV_CHECKPOINT_DIR]: CONTAINER_CHECKPOINT_DIR },
      CheckpointConfig: { S3Uri: `${base}/checkpoints/`, LocalPath: CONTAINER_CHECKPOINT_DIR },
      OutputDataConfig: { S3OutputPath: `${base}/output/` },
      ResourceConfig: { InstanceType: (o.instanceType ?? 'ml.m5.large') as never, InstanceCount: 1, VolumeSizeInGB: 30 },
      StoppingCondition: { MaxRuntimeInSeconds: o.maxRuntimeSeconds ?? 24 * 3600 },
      Tags: [
        { Key: 'tunelab:trial_prefix', Value: `${base}/` },
        { Key: 'tunelab:trial_id', Value: String(id) },
      ],
    };
    try {
      await retryThrottled(() => client.send(new CreateTrainingJobCommand(input)), o.createAttempts, o.retryDelay);
      t.jobName = name;
    } catch (e) {
      const err = e as Error & { attemptsMade?: number };
      if (err.name === 'ValidationException' && /role|image|ecr|repository/i.test(err.message)) {
        throw new UserError(`SageMaker refused trial ${id}'s training job: ${err.message} (role ${o.role}, image ${o.image})`);
      }
      t.status = 'done';
      const n = err.attemptsMade ?? 1;
      this.events.failed.push({ trialId: id, error: `SageMaker CreateTrainingJob ${name} failed: ${describeAwsError(e)}${n > 1 ? ` (after ${n} attempts)` : ''}` });
    }
  }

  private async stopJob(t: SageMakerTrial): Promise<void> {
    if (!t.jobName) return;
    const { StopTrainingJobCommand } = await import('@aws-sdk/client-sagemaker');
    const client = await sageMakerClient(this.options);
    try {
      await client.send(new StopTrainingJobCommand({ TrainingJobName: t.jobName }));
    } catch (e) {
      // a job that ended meanwhile cannot be stopped: nothing left to do
      if ((e as Error).name !== 'ValidationException') throw new UserError(`SageMaker StopTrainingJob ${t.jobName} failed: ${describeAwsError(e)}`, 1);
    }
    t.jobName = undefined;
  }

  async pause(trialId: number): Promise<void> {
    const t = this.trials.get(trialId)!;
    t.status = 'paused';
    t.stoppingJob = t.jobName;
    await this.stopJob(t);
  }

  /**
   * A new job on the trial's checkpoint URI. SageMaker gives a stopped container time to save its
   * checkpoint and uploads it when the job ends, so while the paused job is still stopping the new
   * one would start from an older checkpoint: it is created once the paused job has ended (check).
   */
  async resume(trialId: number): Promise<void> {
    const t = this.trials.get(trialId)!;
    if (t.stoppingJob && !(await this.jobEnded(t.stoppingJob))) {
      t.status = 'resuming';
      return;
    }
    t.stoppingJob = undefined;
    await this.launch(trialId, t);
  }

  /** Whether a job has left InProgress and Stopping (one SageMaker no longer knows has ended too). */
  private async jobEnded(name: string): Promise<boolean> {
    const d = await this.describeJob(name, true);
    return !d || (d.TrainingJobStatus !== 'InProgress' && d.TrainingJobStatus !== 'Stopping');
  }

  /** DescribeTrainingJob; a failure ends the run, except (with `unknownIsUndefined`) a job SageMaker does not know. */
  private async describeJob(name: string, unknownIsUndefined = false) {
    const { DescribeTrainingJobCommand } = await import('@aws-sdk/client-sagemaker');
    const client = await sageMakerClient(this.options);
    try {
      return await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    } catch (e) {
      if (unknownIsUndefined && (e as Error).name === 'ValidationException') return undefined;
      throw new UserError(`cannot follow SageMaker job ${name}: ${describeAwsError(e)}`, 1);
    }
  }

  async stop(trialId: number): Promise<void> {
    const t = this.trials.get(trialId)!;
    t.status = 'stopped';
    await this.stopJob(t);
  }

  interrupt(): void {
    this.wake.abort();
  }

  /** New report lines of the trial's current job, parsed; a malformed one fails the trial. */
  private async readReports(id: number, t: SageMakerTrial): Promise<string | undefined> {
    let text: string;
    try {
      text = (await getObjectBytes(this.s3, this.options.bucket, `${this.trialKey(id)}/reports-${t.attempt}.txt`)).toString('utf8');
    } catch (e) {
      if (/NoSuchKey/.test((e as Error).message)) return undefined; // nothing reported yet
      // a read cut off (the SDK's retries spent) is tried again at the next check, a few times
      if (++t.readFailures >= READ_FAILURES) throw e;
      return undefined;
    }
    t.readFailures = 0;
    const lines = text.split('\n').filter((l) => l.startsWith(REPORT_PREFIX));
    for (const line of lines.slice(t.consumed)) {
      t.consumed++;
      const parsed = this.parse(line.slice(REPORT_PREFIX.length), t);
      if (typeof parsed === 'string') return parsed;
      // a resumed script that starts over repeats what it reported before
      if (t.lastResource !== null && parsed.resource <= t.lastResource) continue;
      t.lastResource = parsed.resource;
      const r: BackendResult = { trialId: id, result: parsed, time: this.now(), workerTime: this.now() - t.startedAt, workerIter: t.iter++ };
      this.events.results.push(r);
    }
    return undefined;
  }

  private parse(text: string, t: SageMakerTrial): TrialResult | string {
    let report: Record<string, unknown>;
    try {
      report = JSON.parse(text);
    } catch (e) {
      return `malformed report line '${REPORT_PREFIX}${text.slice(0, 200)}': ${(e as Error).message}`;
    }
    if (this.options.countReports) report[this.resourceAttr] = (t.lastResource ?? 0) + 1;
    const resource = report[this.resourceAttr];
    if (typeof resource !== 'number') return `report lacks a numeric '${this.resourceAttr}': ${text.slice(0, 200)}`;
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(report)) if (typeof v === 'number') metrics[k] = v;
    for (const m of this.metricNames) if (!(m in metrics)) return `report lacks metric '${m}' (a number): ${text.slice(0, 200)}`;
    return { resource, metrics };
  }

  private async check(): Promise<void> {
    for (const [id, t] of this.trials) {
      if (t.status === 'resuming') await this.resume(id);
      if (t.status !== 'running' || !t.jobName) continue;
      const d = (await this.describeJob(t.jobName))!;
      // reports after the state: a job seen ended has uploaded its last lines
      const bad = await this.readReports(id, t);
      if (bad) {
        this.events.failed.push({ trialId: id, error: bad });
        t.status = 'done';
        await this.stopJob(t);
      } else if (d.TrainingJobStatus === 'Completed') {
        t.status = 'done';
        this.events.completed.push(id);
      } else if (d.TrainingJobStatus === 'Failed' || d.TrainingJobStatus === 'Stopped') {
        t.status = 'done';
        this.events.failed.push({ trialId: id, error: `SageMaker job ${t.jobName} ${d.TrainingJobStatus}: ${d.FailureReason ?? 'stopped outside tunelab'}` });
      }
    }
  }

  async poll(deadline: number): Promise<PollResult> {
    for (;;) {
      await this.check();
      const e = this.events;
      if (e.results.length || e.completed.length || e.failed.length || this.wake.signal.aborted || this.now() >= deadline) break;
      const wait = Math.min(this.options.pollInterval ?? 30, deadline - this.now());
      await sleep(Math.max(0, wait) * 1000, undefined, { signal: this.wake.signal }).catch(() => {});
    }
    if (this.wake.signal.aborted) this.wake = new AbortController();
    const out: PollResult = { results: this.events.results.splice(0), completed: this.events.completed.splice(0), failed: this.events.failed.splice(0) };
    return out;
  }

  state() {
    return { time: this.now(), trials: [...this.trials].map(([id, t]) => [id, { ...t, jobName: undefined }]) };
  }

  /** The clock continues; trials that were running start again as new jobs on their checkpoints. */
  async restore(state: unknown): Promise<void> {
    const s = state as { time: number; trials: [number, SageMakerTrial][] };
    this.clockBase = s.time;
    this.clockStart = performance.now();
    for (const [id, t] of s.trials) {
      this.trials.set(id, t);
      if (t.status === 'running') await this.launch(id, t);
    }
  }

  /** Stops every job still running, so that no trial outlives the tuner. */
  async close(): Promise<void> {
    for (const t of this.trials.values()) if (t.status === 'running') await this.stopJob(t);
  }
}
