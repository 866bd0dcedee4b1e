import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importOptional } from '../util/package-info.js';

/**
 * What every YAHPO Gym surrogate shares: an ONNX model (inputs x_cat int32 and x_cont float32,
 * one output row per input row) run with onnxruntime-web, and instance ids that the model knows by
 * the integer codes of encoding.json.
 */
/**
 * The part of onnxruntime-web's API used here, written out so that the published .d.ts files do not
 * import an optional peer dependency (onnxruntime-web's own types satisfy it).
 */
export interface OrtTensor {
  readonly data: unknown;
}
export interface OrtSession {
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}
export interface OrtModule {
  Tensor: new (type: 'int32' | 'float32', data: Int32Array | Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array): Promise<OrtSession> };
}

const sessions = new Map<string, Promise<{ ort: OrtModule; session: OrtSession }>>();

/** Loads an ONNX model once per process; onnxruntime (an optional peer dependency) is imported only here, when first needed. */
export function onnxSession(modelPath: string): Promise<{ ort: OrtModule; session: OrtSession }> {
  let s = sessions.get(modelPath);
  if (!s) {
    s = (async () => {
      const ort = await importOptional<OrtModule>('onnxruntime-web', 'the YAHPO benchmarks (their ONNX surrogate)');
      return { ort, session: await ort.InferenceSession.create(readFileSync(modelPath)) };
    })();
    sessions.set(modelPath, s);
  }
  return s;
}

/** The instances of a surrogate (the choices of `param` in config_space.json) and their model codes (encoding.json). */
export function yahpoInstances(dataDir: string, param: string): { tasks: string[]; codes: Record<string, number> } {
  const space = JSON.parse(readFileSync(join(dataDir, 'config_space.json'), 'utf8')) as { hyperparameters: { name: string; choices?: string[] }[] };
  const tasks = space.hyperparameters.find((h) => h.name === param)?.choices ?? [];
  const codes = JSON.parse(readFileSync(join(dataDir, 'encoding.json'), 'utf8'))[param] as Record<string, number>;
  return { tasks, codes };
}
