import type { Config } from '../../config-space/index.js';
import { type TrainingFunction, resolveTrainingFunction } from './training-function.js';

/**
 * A build worker: a child process that trains (config, seed) tasks sent by the builder and sends
 * back each curve. It writes nothing itself — the builder is the only writer of the journal — and it
 * exits when the builder goes away (IPC disconnect), so a killed build leaves no orphans behind.
 */
export type WorkerRequest = { type: 'init'; trainer: string; epochs: number } | { type: 'task'; id: number; config: Config; seed: number };
export type WorkerReply =
  | { type: 'ready'; objectiveNames: string[] }
  | { type: 'result'; id: number; values: Float32Array }
  | { type: 'error'; id?: number; message: string };

/** CPU seconds of this process: unlike the wall clock, unaffected by other load on the machine. */
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Trains one task; returns [epoch × (objectives…, elapsed_time)] with the cumulative training time. */
export function trainCurve(fn: TrainingFunction, config: Config, seed: number, epochs: number, clock: () => number = cpuSeconds): Float32Array {
  const m = fn.objectiveNames.length;
  const out = new Float32Array(epochs * (m + 1));
  const start = clock();
  let e = 0;
  for (const values of fn.run(config, seed, epochs)) {
    if (e >= epochs) throw new Error(`training function ${fn.name} yielded more than the ${epochs} epochs asked for`);
    if (values.length !== m) throw new Error(`training function ${fn.name} yielded ${values.length} values at epoch ${e + 1}, expected ${m} (${fn.objectiveNames.join(', ')})`);
    for (let j = 0; j < m; j++) out[e * (m + 1) + j] = values[j];
    out[e * (m + 1) + m] = clock() - start;
    e++;
  }
  if (e !== epochs) throw new Error(`training function ${fn.name} yielded ${e} epochs, expected ${epochs}`);
  return out;
}

function send(msg: WorkerReply): void {
  process.send!(msg);
}

if (process.send) {
  let fn: TrainingFunction | undefined;
  let epochs = 0;
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (msg: WorkerRequest) => {
    try {
      if (msg.type === 'init') {
        fn = await resolveTrainingFunction(msg.trainer);
        epochs = msg.epochs;
        send({ type: 'ready', objectiveNames: [...fn.objectiveNames] });
      } else if (fn) {
        send({ type: 'result', id: msg.id, values: trainCurve(fn, msg.config, msg.seed, epochs) });
      }
    } catch (e) {
      send({ type: 'error', id: msg.type === 'task' ? msg.id : undefined, message: (e as Error).message });
    }
  });
}
