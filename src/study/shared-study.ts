import type { ExperimentDefinition } from '../experiment/load.js';
import { type StudyOverview, isServerUrl } from './handle.js';
import { TOKEN_ENV, serverStudyUrl, takeToken } from './remote.js';
import { STORAGE_ENV } from './storage/open.js';
import { type CreateStudyOptions, createStudy } from './study.js';

/**
 * How worker processes reach a study: the `study worker` argument (an id, or the study's URL on a
 * server: neither holds a secret) and the environment that carries the secret (the store's URL with
 * its password, or the server's API token), never argv, which every user of the machine can read.
 */
export interface StudyWorkers {
  study: string;
  secretEnv: Record<string, string>;
}

/** The workers' way to a study in `storage` (a store's URL, or a study server's). */
export function workerTarget(study: { id: number }, storage: string, token: string | undefined): StudyWorkers {
  if (isServerUrl(storage)) return { study: serverStudyUrl(study.id, storage), secretEnv: token ? { [TOKEN_ENV]: token } : {} };
  return { study: String(study.id), secretEnv: { [STORAGE_ENV]: storage } };
}

/** The environment without the secrets a worker may inherit, so that only those given to it reach it. */
export function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { [STORAGE_ENV]: _s, [TOKEN_ENV]: _t, ...rest } = env;
  return rest;
}

/**
 * The study of `run -f --storage` / `--executor`: created in the store or on the server (or the one
 * of that name continued, if it tunes the same problem), and how its workers reach it.
 */
export async function createSharedStudy(definition: ExperimentDefinition, options: CreateStudyOptions): Promise<{ study: StudyOverview; workers: StudyWorkers }> {
  const server = options.storage !== undefined && isServerUrl(options.storage);
  // taken once: this process uses it, and its workers get it in their environment
  const token = server ? takeToken(options.token) : undefined;
  const study = await createStudy(definition, { ...options, token, loadIfExists: true });
  // no --storage: the default store, whose URL the study's location is
  return { study, workers: workerTarget(study, options.storage ?? study.location, token) };
}
