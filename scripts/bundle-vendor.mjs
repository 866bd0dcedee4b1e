/**
 * Part of `npm run build`: bundles two dependencies that every command loads into one minified
 * CommonJS module each, under dist/src/vendor/. Loading a few large modules costs node far less
 * than loading many small ones (resolution, package.json reads, compilation of each).
 * - zod.cjs: the zod schema builders the experiment file's schema uses (src/experiment/zod.ts),
 *   tree-shaken, with zod's English messages. zod 4 itself loads 70 modules on start-up, all 48 of
 *   its locales among them, which cost every `tunelab run -f` about 60 ms of CPU.
 * - yargs/build/index.cjs: yargs' CommonJS factory and hideBin (src/commands/yargs.ts) with the 32
 *   modules of its dependencies. Kept at yargs' own depth (build/) with its locales beside it
 *   (locales/), where its message catalogue looks for them.
 */
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vendor = join(root, 'dist', 'src', 'vendor');

/** The packages (name → folder) whose modules went into the bundles: their licences go with them. */
const bundled = new Map();

/** Bundles `source` (a module's text, resolved from the package root) into `out`. */
async function bundle(source, entryName, out) {
  const entry = join(root, 'dist', entryName);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(entry, source);
  try {
    const { output } = await build({ input: entry, cwd: root, platform: 'node', logLevel: 'warn', output: { file: out, format: 'cjs', minify: true } });
    for (const id of output.flatMap((chunk) => chunk.moduleIds ?? [])) {
      const folder = id.match(/^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//);
      if (folder) bundled.set(JSON.parse(readFileSync(join(folder[1], 'package.json'), 'utf8')).name, folder[1]);
    }
  } finally {
    rmSync(entry, { force: true });
  }
}

// the builders src/experiment/zod.ts names (ZOD_BUILDERS); a name missing here fails its test
await bundle(
  [
    "import { config } from 'zod/v4/core';",
    "import en from 'zod/v4/locales/en.js';",
    "export { array, boolean, enum, number, object, record, string, union } from 'zod';",
    'config(en());',
    '',
  ].join('\n'),
  '.zod-entry.mjs',
  join(vendor, 'zod.cjs'),
);

await bundle(
  "module.exports = { yargs: require('yargs/yargs'), hideBin: require('yargs/helpers').hideBin };\n",
  '.yargs-entry.cjs',
  join(vendor, 'yargs', 'build', 'index.cjs'),
);
const yargsRoot = dirname(createRequire(join(root, 'package.json')).resolve('yargs/package.json'));
cpSync(join(yargsRoot, 'locales'), join(vendor, 'yargs', 'locales'), { recursive: true });

const notices = [...bundled].sort(([a], [b]) => a.localeCompare(b)).map(([name, folder]) => {
  const licence = readdirSync(folder).find((f) => /^licen[cs]e/i.test(f));
  if (!licence) throw new Error(`bundle-vendor: ${name} (${folder}) has no LICENSE file to ship with its bundled code`);
  return `${name}\n${'='.repeat(name.length)}\n${readFileSync(join(folder, licence), 'utf8').trim()}\n`;
});
writeFileSync(join(vendor, 'THIRD-PARTY-NOTICES.txt'), `The code of these packages is bundled into the modules of this folder.\n\n${notices.join('\n')}`);
