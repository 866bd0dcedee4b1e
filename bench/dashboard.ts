/**
 * The dashboard under load (`node dist/bench/dashboard.js [--quick]`), on a SQLite store:
 * - first render of a study page in headless chromium for studies of 100, 1,000 and 10,000
 *   observations × 8 parameters, ms from navigation to the page's own marks: the data arrived (the
 *   event stream's snapshot), the table and numbers drawn, every chart drawn; a first load (the
 *   dashboard reads the study from the store) and a second; the dashboard process's RSS after;
 * - 8 writer processes' suggest → observe cycles per second on another study of the same store,
 *   with no page open and with three pages open (the writers' study twice and the 10k study), the
 *   two runs alternated five times (`--rounds=N`); the ratio of the medians, and the median of each
 *   round's ratio (a round's two runs are seconds apart: the machine's own drift cancels).
 * Needs Debian's chromium (/usr/bin/chromium, or $CHROMIUM).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'puppeteer-core';
import { createStudy, loadStudy } from '../src/study/study.js';
import { formatTable } from '../src/util/table.js';

const self = fileURLToPath(import.meta.url);
const cli = join(self, '..', '..', 'src', 'cli.js');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const quick = process.argv.includes('--quick');
/** `--sizes=10000`: only these study sizes; `--render`: the first renders only (no writers). */
const sizesArg = process.argv.find((a) => a.startsWith('--sizes='));
const renderOnly = process.argv.includes('--render');
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length);
const rounds = roundsArg === undefined ? (quick ? 1 : 5) : Number(roundsArg);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`bench/dashboard: --rounds=${roundsArg}: a whole number of 1 or more`);
  process.exit(2);
}

const experiment = (name: string, budget: number) => ({
  name,
  parameters: Array.from({ length: 8 }, (_, i) => (i % 4 === 3 ? { name: `c${i}`, type: 'categorical', categorical_values: ['a', 'b', 'c'] } : i % 4 === 2 ? { name: `lr${i}`, type: 'double', bounds: { min: 1e-5, max: 1 }, transformation: 'log' } : { name: `x${i}`, type: i % 4 === 1 ? 'int' : 'double', bounds: { min: 0, max: 100 } })),
  metrics: [{ name: 'loss', objective: 'minimize' }],
  method: 'RS',
  budget: { max_trials: budget },
  parallel_bandwidth: 16,
  random_seed: 7,
});

const lossOf = (c: Record<string, unknown>) => Object.values(c).reduce<number>((s, v) => s + (typeof v === 'number' ? Math.sin(v) : 0), 0);

/** A writer process: suggest → observe cycles for `seconds`, then prints how many. */
async function writer(storage: string, id: string, seconds: number) {
  const study = await loadStudy(id, { storage });
  let next = await study.ask();
  let cycles = 0;
  const end = Date.now() + seconds * 1000;
  while (next && Date.now() < end) {
    next = (await study.tellAndAsk(next.suggestionId, lossOf(next.config))).next;
    cycles++;
  }
  if (next) await study.tell(next.suggestionId, lossOf(next.config));
  await study.close();
  const cpu = process.cpuUsage();
  process.stdout.write(`${cycles} ${(cpu.user + cpu.system) / 1000}\n`);
}

async function fill(storage: string, name: string, n: number): Promise<number> {
  // a kept store (--keep=DIR) already holds it
  const kept = await loadStudy(name, { storage }).catch(() => undefined);
  if (kept) {
    const id = kept.id;
    await kept.close();
    return id;
  }
  // room for every writer cycle of the alternated runs: a budget met mid-bench reads as writers made slow (0 cycles)
  const study = await createStudy(experiment(name, n + 10_000_000), { storage, name });
  let next = await study.ask();
  for (let i = 0; i < n && next; i++) next = i === n - 1 ? (await study.tell(next.suggestionId, lossOf(next.config)), undefined) : (await study.tellAndAsk(next.suggestionId, lossOf(next.config))).next;
  const id = study.id;
  await study.close();
  return id;
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Marks `chart <id>` when a chart's container says it is drawn (data-drawn), so that the bench can tell which chart takes the time. */
function markChartsDrawn(): void {
  new MutationObserver((changes) => {
    for (const c of changes) if (c.attributeName === 'data-drawn') performance.mark(`chart ${(c.target as Element).id}`);
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-drawn'] });
}

/** ms from navigation start to the page's marks: the data arrived, the table and numbers drawn, every chart drawn, and each chart. */
async function firstRender(page: Page, url: string): Promise<{ snapshot: number; table: number; charts: number; each: [string, number][] }> {
  await page.goto('about:blank');
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 300_000 });
  await page.waitForSelector('body[data-charts]', { timeout: 300_000 });
  const entries = await page.evaluate(() => performance.getEntriesByType('mark').map((m) => [m.name, m.startTime] as [string, number]));
  const marks = Object.fromEntries(entries);
  const each = entries.filter(([name]) => name.startsWith('chart ')).map(([name, t]): [string, number] => [name.slice('chart '.length), t]);
  return { snapshot: marks.snapshot, table: marks.table, charts: marks.charts, each };
}

/** CPU seconds a process has used (user + system, from /proc: 100 ticks a second). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds used by a process and every process under it (chromium's renderers). */
function treeCpuSeconds(root: number): number {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      parent.set(Number(d), Number(readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number): boolean => pid === root || (parent.has(pid) && pid > 1 && under(parent.get(pid)!));
  let total = 0;
  for (const pid of parent.keys()) {
    if (!under(pid)) continue;
    try {
      total += cpuSeconds(pid);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** The writers' cycles per second of wall time, their cycles per CPU second, and the dashboard's and the browser's CPU seconds per second meanwhile. */
async function writers(storage: string, id: number, count: number, seconds: number, dashPid: number, browserPid: number, pages: readonly Page[] = []): Promise<{ rate: number; perCpu: number; dashCpu: number; browserCpu: number; pageTime: Record<string, number> }> {
  const metrics0 = await pageTimes(pages);
  const cpu0 = cpuSeconds(dashPid);
  const browser0 = treeCpuSeconds(browserPid);
  const t0 = performance.now();
  const procs = Array.from({ length: count }, () => spawn(process.execPath, [self, '--writer', storage, String(id), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const counts = await Promise.all(procs.map((p) => new Promise<[number, number]>((res) => {
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('close', () => res(out.trim().split(' ').map(Number) as [number, number]));
  })));
  const wall = (performance.now() - t0) / 1000;
  const cycles = counts.reduce((a, [c]) => a + c, 0);
  const cpuMs = counts.reduce((a, [, ms]) => a + ms, 0);
  const metrics1 = await pageTimes(pages);
  const pageTime = Object.fromEntries(Object.keys(metrics1).map((k) => [k, (metrics1[k] - metrics0[k]) / wall]));
  return { rate: cycles / seconds, perCpu: cycles / (cpuMs / 1000), dashCpu: (cpuSeconds(dashPid) - cpu0) / wall, browserCpu: (treeCpuSeconds(browserPid) - browser0) / wall, pageTime };
}

/** The open pages' main-thread seconds by kind (chromium's Performance domain), summed over the pages. */
async function pageTimes(pages: readonly Page[]): Promise<Record<string, number>> {
  const sum: Record<string, number> = { script: 0, layout: 0, style: 0, task: 0 };
  for (const p of pages) {
    const m = await p.metrics();
    sum.script += m.ScriptDuration ?? 0;
    sum.layout += m.LayoutDuration ?? 0;
    sum.style += m.RecalcStyleDuration ?? 0;
    sum.task += m.TaskDuration ?? 0;
  }
  return sum;
}

async function main() {
  if (!existsSync(CHROMIUM)) {
    console.log(`skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
    return;
  }
  const keep = process.argv.find((a) => a.startsWith('--keep='))?.slice('--keep='.length);
  if (keep) mkdirSync(keep, { recursive: true });
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'tunelab-bench-dashboard-'));
  const storage = join(dir, 'studies.db');
  const sizes = sizesArg ? sizesArg.slice('--sizes='.length).split(',').map(Number) : quick ? [100, 1000] : [100, 1000, 10_000];
  const ids: number[] = [];
  for (const n of sizes) ids.push(await fill(storage, `obs-${n}`, n));
  const busy = await fill(storage, 'writers', 0);
  let dash: ChildProcess | undefined;
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, protocolTimeout: 600_000, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  try {
    dash = spawn(process.execPath, [cli, 'dashboard', '--storage', storage, '--results_root', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    dash.stdout!.on('data', (d) => (out += d));
    while (!/open (http:\/\/\S+)\//.test(out)) await sleep(50);
    const url = /open (http:\/\/\S+)\//.exec(out)![1];
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.evaluateOnNewDocument(markChartsDrawn);
    const rows: (string | number)[][] = [];
    const chartRows: (string | number)[][] = [];
    // --writers: the writers' part only
    for (const [i, n] of (process.argv.includes('--writers') ? [] : sizes.entries())) {
      // the first load reads the study from the store; the second is a page opened on a study the dashboard holds
      const cold = await firstRender(page, `${url}/study/0/${ids[i]}`);
      const warm = await firstRender(page, `${url}/study/0/${ids[i]}`);
      rows.push([n, cold.snapshot.toFixed(0), cold.table.toFixed(0), cold.charts.toFixed(0), warm.snapshot.toFixed(0), warm.table.toFixed(0), warm.charts.toFixed(0), rssMB(dash.pid!).toFixed(0)]);
      chartRows.push([n, ...[cold, warm].map((r) => r.each.map(([id, t]) => `${id} ${t.toFixed(0)}`).join(', '))]);
    }
    await page.goto('about:blank');
    console.log('Study page, 8 parameters, headless chromium (ms from navigation):');
    console.log(formatTable(['observations', 'data (first)', 'table (first)', 'charts (first)', 'data (again)', 'table (again)', 'charts (again)', 'dashboard RSS MB'], rows));
    console.log('\nWhen each chart was drawn (ms from navigation):');
    console.log(formatTable(['observations', 'first', 'again'], chartRows));
    console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    if (renderOnly) return;

    const seconds = quick ? 3 : 6;
    const none: Awaited<ReturnType<typeof writers>>[] = [];
    const three: typeof none = [];
    // each in its own browser context (a window of its own): headless chromium shows only the newest tab
    // of a window, and a hidden page applies nothing live (it catches up when shown)
    const pages = await Promise.all([0, 1, 2].map(async () => (await browser.createBrowserContext()).newPage()));
    for (const p of pages) await p.setViewport({ width: 1280, height: 900 });
    for (let round = 0; round < rounds; round++) {
      none.push(await writers(storage, busy, 8, seconds, dash.pid!, browser.process()!.pid!));
      const targets = [`${url}/study/0/${busy}`, `${url}/study/0/${busy}`, `${url}/study/0/${ids[ids.length - 1]}`];
      await Promise.all(pages.map((p, i) => p.goto(targets[i], { waitUntil: 'domcontentloaded', timeout: 120_000 }).then(() => p.waitForSelector('body[data-charts]', { timeout: 300_000 }))));
      const hidden = await Promise.all(pages.map((p) => p.evaluate(() => document.hidden)));
      if (hidden.some(Boolean)) throw new Error(`bench: pages hidden (${hidden.join(', ')}): they would apply nothing live`);
      three.push(await writers(storage, busy, 8, seconds, dash.pid!, browser.process()!.pid!, pages));
      await Promise.all(pages.map((p) => p.goto('about:blank')));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const col = (runs: typeof none, k: 'rate' | 'perCpu' | 'dashCpu' | 'browserCpu', digits = 0) => [runs.map((x) => x[k].toFixed(digits)).join(', '), median(runs.map((x) => x[k])).toFixed(digits)];
    console.log(`\n8 writers, suggest → observe cycles/s (${seconds} s runs, alternated):`);
    console.log(formatTable(['pages open', 'cycles/s', 'median', 'cycles per writer CPU s', 'median', 'dashboard CPU s/s', 'median', 'browser CPU s/s', 'median'], [['0', ...col(none, 'rate'), ...col(none, 'perCpu'), ...col(none, 'dashCpu', 3), ...col(none, 'browserCpu', 3)], ['3', ...col(three, 'rate'), ...col(three, 'perCpu'), ...col(three, 'dashCpu', 3), ...col(three, 'browserCpu', 3)]]));
    const pt = (k: string) => median(three.map((x) => x.pageTime[k])).toFixed(3);
    console.log(`the three pages' main threads (s/s, medians): tasks ${pt('task')}, of which script ${pt('script')}, layout ${pt('layout')}, style ${pt('style')}`);
    console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    const ratio = (k: 'rate' | 'perCpu') => (median(three.map((x) => x[k])) / median(none.map((x) => x[k]))).toFixed(3);
    const paired = median(three.map((x, i) => x.rate / none[i].rate)).toFixed(3);
    console.log(`each round's ratio (3 pages / none, cycles/s): ${three.map((x, i) => (x.rate / none[i].rate).toFixed(3)).join(', ')}; median ${paired}`);
    console.log(`ratio (3 pages / none): cycles/s ${ratio('rate')} (medians), ${paired} (median of the rounds'); cycles per writer CPU second ${ratio('perCpu')}; dashboard RSS after: ${rssMB(dash.pid!).toFixed(0)} MB`);
  } finally {
    await browser.close();
    dash?.kill('SIGTERM');
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--writer') await writer(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main();
