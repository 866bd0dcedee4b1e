import type yargsFactory from 'yargs';
import { requireVendored } from '../util/vendored.js';

interface Yargs {
  /** yargs' factory, as `yargs/yargs` exports it */
  yargs: typeof yargsFactory;
  /** process.argv without node and the script */
  hideBin: (argv: string[]) => string[];
}

/**
 * yargs' CommonJS build. Its help wraps descriptions at word boundaries (wrap-ansi); the ES module
 * build breaks words at the column's edge ("train\ning command"). Its factory, not the `yargs` singleton,
 * which builds a second parser over process.argv on load. The build bundles it and the 32 modules of
 * its dependencies into one (scripts/bundle-vendor.mjs, whose entry exports the same two names).
 */
const vendored: Yargs = requireVendored(import.meta.url, 'yargs/build/index.cjs', (require) => ({
  yargs: require('yargs/yargs') as Yargs['yargs'],
  hideBin: (require('yargs/helpers') as Pick<Yargs, 'hideBin'>).hideBin,
}));
export const yargs: typeof yargsFactory = vendored.yargs;
export const hideBin: Yargs['hideBin'] = vendored.hideBin;
