/**
 * Part of `npm run build`: writes dist/src/vendor/zod.cjs, the zod schema builders the experiment
 * file's schema uses (src/experiment/zod.ts), tree-shaken into one module with zod's English
 * messages. zod 4 itself loads 70 modules on start-up, all 48 of its locales among them, which cost
 * every `tunelab run -f` about 60 ms of CPU; this build loads in about 20 ms.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'src', 'vendor', 'zod.cjs');
// the builders src/experiment/zod.ts names (ZOD_BUILDERS); a name missing here fails its test
const entry = join(root, 'dist', '.zod-entry.mjs');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  entry,
  [
    "import { config } from 'zod/v4/core';",
    "import en from 'zod/v4/locales/en.js';",
    "export { array, boolean, enum, number, object, record, string, union } from 'zod';",
    'config(en());',
    '',
  ].join('\n'),
);
try {
  await build({ input: entry, cwd: root, platform: 'node', logLevel: 'warn', output: { file: out, format: 'cjs' } });
} finally {
  rmSync(entry, { force: true });
}
