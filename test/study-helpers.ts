import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Shared by the SQLite and PostgreSQL study tests. */
const distStudy = join(import.meta.dirname, '..', 'dist', 'src', 'study', 'study.js');

/**
 * A zero-cost API worker: optimize() with the objective recording when it held which suggestion
 * (pid, start, end), so that the test can check that no suggestion was held by two workers at once;
 * with 'asha', a learning curve reported per epoch.
 */
export function apiWorkerScript(dir: string): string {
  const file = join(dir, 'api-worker.mjs');
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadStudy } from ${JSON.stringify(distStudy)};
const [storage, id, log, asha] = process.argv.slice(2);
const study = await loadStudy(id, { storage });
const held = [];
await study.optimize(async (config, trial) => {
  const start = Date.now();
  let value = (config.x - 0.3) ** 2;
  if (asha) {
    for (let epoch = 1; epoch <= 9; epoch++) {
      value = config.x + 1 / epoch;
      if ((await trial.report(epoch, value)) === 'stop') break;
      await sleep(2);
    }
  } else await sleep(Math.random() * 3);
  held.push([trial.suggestionId, process.pid, start, Date.now()].join(' '));
  return value;
});
appendFileSync(log, held.map((l) => l + '\\n').join(''));
await study.close();
`,
  );
  return file;
}

/** (suggestion, pid, start, end) intervals from every worker's log: no suggestion in two of them at once. */
export function overlaps(logFile: string): string[] {
  const bySuggestion = new Map<number, { pid: number; start: number; end: number }[]>();
  for (const line of readFileSync(logFile, 'utf8').trim().split('\n')) {
    const [id, pid, start, end] = line.split(' ').map(Number);
    const list = bySuggestion.get(id) ?? [];
    list.push({ pid, start, end });
    bySuggestion.set(id, list);
  }
  const out: string[] = [];
  for (const [id, list] of bySuggestion) {
    for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) if (list[i].start < list[j].end && list[j].start < list[i].end) out.push(`suggestion ${id}: ${JSON.stringify([list[i], list[j]])}`);
  }
  return out;
}
