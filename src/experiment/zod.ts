import type { z as zod } from 'zod';
import { requireVendored } from '../util/vendored.js';

/** The zod schema builders the experiment file's schema (schema.ts) is written with. */
export const ZOD_BUILDERS = ['array', 'boolean', 'enum', 'number', 'object', 'record', 'string', 'union'] as const;
export type ZodBuilders = Pick<typeof zod, (typeof ZOD_BUILDERS)[number]>;

/**
 * zod 4 loads 70 modules on start-up (all 48 of its locales among them): 60 ms of CPU that every
 * `run -f` and `study create -f` paid. The build bundles these builders tree-shaken into one module
 * (scripts/bundle-vendor.mjs), which loads in about 15 ms. Both give the same schemas and messages
 * (test/vendor-build.test.ts). Required, not imported: the package has no top-level await.
 */
export const z: ZodBuilders = requireVendored(import.meta.url, 'zod.cjs', (require) => require('zod') as ZodBuilders);
