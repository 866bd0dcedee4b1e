import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Dependencies as `npm run build` bundled them (scripts/bundle-vendor.mjs: one minified module where
 * the packages load dozens, which is most of a short command's start-up), else from the packages.
 * `caller` is the import.meta.url of a module of dist/src/ or src/; only the built one has the bundle
 * (dist/src/vendor/`bundle`); TypeScript run from source (the tests' own imports) takes
 * `fromPackages`, which must give what the bundle's entry exports.
 */
export function requireVendored<T>(caller: string, bundle: string, fromPackages: (require: NodeJS.Require) => T): T {
  const require = createRequire(caller);
  const built = fileURLToPath(caller).match(/^(.*\/dist\/src\/)/);
  if (built) {
    try {
      return require(`${built[1]}vendor/${bundle}`) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  return fromPackages(require);
}
