import { createRequire } from 'node:module';
import type yargsFactory from 'yargs';

/**
 * yargs' CommonJS build. Its help wraps descriptions at word boundaries (wrap-ansi); the ES module
 * build breaks words at the column's edge ("train\ning command").
 */
export const yargs = createRequire(import.meta.url)('yargs') as typeof yargsFactory;
