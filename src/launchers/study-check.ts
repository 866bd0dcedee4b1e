import type { Blackbox } from '../blackbox/types.js';
import type { MethodDefinition } from '../methods/registry.js';
import { UserError } from '../util/errors.js';
import type { BenchmarkDefinition } from './benchmarks/index.js';
import { benchmarkBlackbox, pairProblems } from './experiment.js';

export interface StudyCheckOptions {
  restrictConfigurations?: boolean;
  backend?: 'simulator' | 'local';
  /**
   * Benchmarks whose data is not on this machine are left for the jobs to check (SageMaker jobs bring
   * their data in the image); by default missing data is a problem like any other.
   */
  dataElsewhere?: boolean;
}

export interface StudyCheck {
  /** Benchmarks not checked here (their data is elsewhere), with the reason. */
  unchecked: string[];
}

/**
 * Checks every (method, benchmark) pair of a study before anything runs or is written: the
 * benchmark's data, its metric, a resource attribute for multi-fidelity methods, the method's own
 * conditions on the space (e.g. the hyperparameters it fixes), the backend. One UserError lists
 * every pair that cannot run, so that a study never dies at its 259th experiment.
 */
export async function checkStudy(methods: readonly MethodDefinition[], benchmarks: readonly BenchmarkDefinition[], options: StudyCheckOptions = {}): Promise<StudyCheck> {
  const failures: string[] = [];
  const unchecked: string[] = [];
  let pairs = 0;
  for (const benchmark of benchmarks) {
    let blackbox: Blackbox;
    try {
      blackbox = await benchmarkBlackbox(benchmark);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      if (options.dataElsewhere) {
        unchecked.push(`${benchmark.name} (${e.message})`);
        continue;
      }
      for (const method of methods) failures.push(`${method.name} on ${benchmark.name}: ${e.message}`);
      pairs += methods.length;
      continue;
    }
    for (const method of methods) {
      pairs++;
      const problems = pairProblems({ benchmark, method, restrictConfigurations: options.restrictConfigurations, backend: options.backend }, blackbox);
      if (problems.length > 0) failures.push(`${method.name} on ${benchmark.name}: ${problems.join('; ')}`);
    }
  }
  if (failures.length > 0) {
    throw new UserError(`${failures.length} of ${pairs} (method, benchmark) pair(s) cannot run; nothing was started:\n${failures.map((f) => `  ${f}`).join('\n')}`);
  }
  return { unchecked };
}
