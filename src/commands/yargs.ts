import { createRequire } from 'node:module';
import type yargsFactory from 'yargs';

/**
 * yargs' CommonJS build. Its help wraps descriptions at word boundaries (wrap-ansi); the ES module
 * build breaks words at the column's edge ("train\ning command"). Its factory, not the `yargs` singleton,
 * which builds a second parser over process.argv on load.
 */
export const yargs = createRequire(import.meta.url)('yargs/yargs') as typeof yargsFactory;
