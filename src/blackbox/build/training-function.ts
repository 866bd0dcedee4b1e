import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config, ConfigSpace } from '../../config-space/index.js';
import { UserError } from '../../util/errors.js';
import { fcnetTrainerNames, fcnetTrainingFunction } from './fcnet-trainer.js';

/**
 * What `tunelab blackbox build` tabulates: a config space and a function that trains one config
 * with one seed, yielding the objectives after every epoch. The builder times each step of the
 * iteration itself, so the function does not report its runtime.
 */
export interface TrainingFunction {
  /** e.g. 'fcnet-cars' */
  readonly name: string;
  readonly configSpace: ConfigSpace;
  /** The objectives each epoch yields, in order (the builder adds the elapsed time). */
  readonly objectiveNames: readonly string[];
  /** Source, licence, what is trained on what: copied into the table's metadata. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Train `config` for `epochs` epochs; every random choice derives from `seed`. */
  run(config: Config, seed: number, epochs: number): Iterable<number[]>;
}

/** Refuses a name that is neither a built-in trainer nor `<module path>#<export>` (before anything runs). */
export function checkTrainingFunctionName(spec: string): void {
  if (!fcnetTrainerNames.includes(spec) && spec.lastIndexOf('#') < 0) {
    throw new UserError(`unknown training function '${spec}'; built-in ones: ${fcnetTrainerNames.join(', ')}, or give <module.js>#<export>`);
  }
}

/**
 * A training function by name: a built-in one (`fcnet-<dataset>`), or `<module path>#<export>` for
 * any module whose export is a TrainingFunction (or a function returning one). The builder's worker
 * processes resolve the same string, so it must name something they can import.
 */
export async function resolveTrainingFunction(spec: string): Promise<TrainingFunction> {
  if (fcnetTrainerNames.includes(spec)) return fcnetTrainingFunction(spec);
  checkTrainingFunctionName(spec);
  const hash = spec.lastIndexOf('#');
  const file = spec.slice(0, hash);
  const exportName = spec.slice(hash + 1);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(isAbsolute(file) ? file : resolve(file)).href);
  } catch (e) {
    throw new UserError(`cannot import training function module ${file}: ${(e as Error).message}`);
  }
  let fn = mod[exportName];
  if (typeof fn === 'function') fn = await (fn as () => unknown)();
  const t = fn as Partial<TrainingFunction> | undefined;
  if (!t || typeof t.run !== 'function' || !t.configSpace || !Array.isArray(t.objectiveNames)) {
    throw new UserError(`${file} export '${exportName}' is not a training function (needs name, configSpace, objectiveNames, metadata, run); exports: ${Object.keys(mod).join(', ')}`);
  }
  return t as TrainingFunction;
}
