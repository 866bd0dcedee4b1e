import { createRequire } from 'node:module';
import type { z as zod } from 'zod';

/** The zod schema builders the experiment file's schema (schema.ts) is written with. */
export const ZOD_BUILDERS = ['array', 'boolean', 'enum', 'number', 'object', 'record', 'string', 'union'] as const;
export type ZodBuilders = Pick<typeof zod, (typeof ZOD_BUILDERS)[number]>;

/**
 * zod 4 loads 70 modules on start-up (all 48 of its locales among them): 60 ms of CPU that every
 * `run -f` and `study create -f` paid. `npm run build` writes these builders tree-shaken into one
 * CommonJS module (scripts/bundle-zod.mjs), which loads in about 20 ms; TypeScript run from source
 * (the tests' own imports) has no build and takes zod itself. Both give the same schemas and
 * messages (test/zod-build.test.ts). Required, not imported: the package has no top-level await.
 */
function loadBuilders(): ZodBuilders {
  const require = createRequire(import.meta.url);
  if (import.meta.url.endsWith('/dist/src/experiment/zod.js')) {
    try {
      return require('../vendor/zod.cjs') as ZodBuilders;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  return (require('zod') as { z: typeof zod }).z;
}

export const z: ZodBuilders = loadBuilders();
