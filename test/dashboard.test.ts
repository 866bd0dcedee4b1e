import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pedAnova } from '../src/dashboard/importance.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { bestOfStudy, frontOfStudy } from '../src/study/status.js';
import { openStore } from '../src/study/storage/open.js';
import { type Study, createStudy, loadStudy } from '../src/study/study.js';
import { cliAsync, cliPath, readRows, tempDir } from './helpers.js';
import { startServerProcess } from './server-helpers.js';
import { naiveRungs } from './rung-replay.js';
import { type Started, startProcess, until } from './study-helpers.js';

/** Debian's chromium (`.ci/run` installs it when missing); $CHROMIUM to use another. */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`dashboard browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium, as .ci/run does, or set $CHROMIUM)`);

const EVIL = '<img src=x onerror=alert(1)>';
const QUOTED = `it's "<b>q</b>"`;
const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts', 'dashboard');

const root = tempDir('tunelab-dashboard-');
const storage = join(root, 'studies.db');
const children: ChildProcess[] = [];
let dashboard: Started & { url: string };
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
let asha: { id: number };
let twoObjectives: { id: number };
/** Rows in the table of the study with many observations (the table is virtual past a window). */
const MANY = 400;
let many: { id: number };
let evil: Study;

/** ASHA across two in-process workers: trials stopped at rungs, a constraint, a log parameter and a choice whose value is markup with quotes. */
async function makeStudies() {
  const study = await createStudy(
    {
      name: 'asha-demo',
      parameters: [
        { name: 'x', type: 'double', bounds: { min: 0.001, max: 1 }, transformation: 'log' },
        { name: 'n.layers', type: 'int', bounds: { min: 1, max: 9 } },
        { name: 'opt', type: 'categorical', categorical_values: ['adam', QUOTED] },
      ],
      metrics: [
        { name: 'loss', objective: 'minimize' },
        { name: 'mem', objective: 'minimize', strategy: 'constraint', threshold: 0.5 },
      ],
      method: 'ASHA',
      resource: { name: 'epoch', max: 9 },
      budget: { max_trials: 30 },
      parallel_bandwidth: 2,
      random_seed: 1,
    },
    { storage, name: 'asha-demo' },
  );
  await study.optimize(
    async (c, t) => {
      let v = 0;
      for (let e = 1; e <= 9; e++) {
        v = Number(c.x) + 1 / e;
        if ((await t.report(e, v)) === 'stop') break;
      }
      return { loss: v, mem: Number(c.x) };
    },
    { workers: 2 },
  );
  asha = { id: study.id };
  await study.close();
  evil = await createStudy(
    { name: 'evil', parameters: [{ name: 'a', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'loss', objective: 'minimize' }], method: 'RS', budget: { max_trials: 100 }, random_seed: 2 },
    { storage, name: EVIL },
  );
  for (let i = 0; i < 5; i++) await tellOne(evil);
  // two objectives that pull against each other (a small, b large for loss; the other way for size): a front of several points
  const mo = await createStudy(
    { name: 'two-objectives', parameters: [{ name: 'a', type: 'double', bounds: { min: 0, max: 1 } }, { name: 'b', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'loss', objective: 'minimize' }, { name: 'size', objective: 'minimize' }], method: 'MO-RS', budget: { max_trials: 60 }, random_seed: 4 },
    { storage, name: 'two-objectives' },
  );
  for (let i = 0; i < 40; i++) {
    const s = (await mo.ask())!;
    const [a, b] = [Number(s.config.a), Number(s.config.b)];
    await mo.tell(s.suggestionId, { loss: a + 0.2 * b, size: (1 - a) ** 2 + 0.2 * b });
  }
  twoObjectives = { id: mo.id };
  await mo.close();
  const big = await createStudy({ name: 'many', parameters: [{ name: 'a', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'loss', objective: 'minimize' }], method: 'RS', budget: { max_trials: MANY }, random_seed: 5 }, { storage, name: 'many' });
  for (let i = 0; i < MANY; i++) await tellOne(big);
  many = { id: big.id };
  await big.close();
}

async function tellOne(study: Study) {
  const s = (await study.ask())!;
  await study.tell(s.suggestionId, (Number(s.config.a) - 0.3) ** 2);
}

/** Opens a page and waits until the front end has drawn it (body[data-ready]); a PNG of it goes to the artifacts. */
async function open(path: string, shot: string, charts = true) {
  await page.goto(`${dashboard.url}${path}`);
  // the table and numbers first, then the charts
  await page.waitForSelector(charts ? 'body[data-charts]' : 'body[data-ready]', { timeout: 60_000 });
  await page.screenshot({ path: join(ARTIFACTS, `${shot}.png`), fullPage: true });
}

describe.skipIf(!hasChromium)('the dashboard in a real browser', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await makeStudies();
    await hpoMain({ experimentTag: 'web', method: ['RS', 'ASHA'], benchmark: ['synthetic-branin'], numSeeds: 2, randomSeed: 3, resultsRoot: join(root, 'results'), maxWallclockTime: 300 }, { log: () => {}, progress: false });
    const p = startProcess(root, children, [cliPath, 'dashboard', '--storage', storage, '--results_root', join(root, 'results'), '--port', '0']);
    await until('the dashboard listening', () => {
      if (p.child.exitCode !== null) throw new Error(`the dashboard exited: ${p.out.stderr}`);
      return /open http:\/\/\S+\//.test(p.out.stdout);
    });
    dashboard = { ...p, url: /open (http:\/\/\S+)\//.exec(p.out.stdout)![1] };
    const { default: puppeteer } = await import('puppeteer-core');
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await evil?.close();
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.on('close', r)))));
  });

  it('the home page lists every study and the tag, the script-shaped name as text', async () => {
    await open('/', 'home', false);
    const names = await page.$$eval('#studies tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    expect(names).toEqual(['asha-demo', EVIL, 'two-objectives', 'many']);
    expect(await page.$$eval('#tags tbody tr td:first-child', (tds) => tds.map((td) => td.textContent))).toEqual(['web']);
    expect(await page.$$eval('main img', (imgs) => imgs.length)).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it("a study page: the best that `best` prints, a row per observation, charts with marks, each stop explained by the rung, rank and threshold the store recorded, which an independent replay gives", async () => {
    await open(`/study/0/${asha.id}`, 'study');
    const store = await openStore(storage);
    try {
      const observations = await store.listObservations(asha.id);
      expect(await page.$$eval('#trial-table tbody tr', (rows) => rows.length)).toBe(observations.length);
      const study = await loadStudy(asha.id, { store });
      const best = (await bestOfStudy(study))!;
      await study.close();
      expect(await page.$eval('#best-value', (e) => (e as HTMLElement).dataset.value)).toBe(String(best.value));
      // one point per observation in the history, a line per trial in the learning curves
      expect(await page.$$eval('#history-chart .mark-symbol.role-mark path', (p) => p.length)).toBe(observations.length);
      const reports = await store.listReports(asha.id);
      expect(await page.$$eval('#curves-chart .mark-line.role-mark path', (p) => p.length)).toBe(new Set(reports.map((r) => r.suggestionId)).size);
      for (const id of ['parallel-chart', 'slice-0', 'slice-1', 'slice-2', 'importance-chart', 'ladder-chart']) {
        expect(await page.$$eval(`#${id} svg .role-mark path, #${id} svg .role-mark rect`, (p) => p.length), id).toBeGreaterThan(0);
      }
      // the x slice is on a log axis (a log parameter)
      expect(await page.$eval('#feasibility', (e) => e.textContent)).toMatch(/Constraint feasibility: \d+ of 30 observations feasible \(mem ≤ 0.5\)/);
      const calls = naiveRungs(reports.map((r) => ({ at: r.id, trial: r.suggestionId, resource: r.resource, value: r.value })), [1, 3], 3, 9);
      const stopped = [...new Set(reports.filter((r) => r.decision === 'stop').map((r) => r.suggestionId))];
      expect(stopped.length).toBeGreaterThan(0);
      for (const trial of stopped) {
        const call = calls.find((c) => c.trial === trial && c.stop)!;
        const row = await page.$eval(`#trial-table tr[data-trial="${trial}"]`, (tr) => ({ ...(tr as HTMLElement).dataset, text: tr.textContent }));
        // the reason the store recorded when it stopped the trial, which the independent replay gives too
        expect(row).toMatchObject({ decision: 'stop', rung: String(call.level), rank: String(call.rank), size: String(call.size), threshold: String(call.threshold), source: 'recorded' });
        expect(reports.find((r) => r.id === call.at)!.reason).toEqual({ level: call.level, rank: call.rank, size: call.size, keep: call.keep, threshold: call.threshold, decision: 'stop' });
        expect(row.text).toContain(`stopped at rung ${call.level}: rank ${call.rank} of ${call.size}`);
      }
      // the replay agrees with every decision the store made
      for (const r of reports) {
        const mine = calls.filter((c) => c.at === r.id);
        expect(mine.some((c) => c.stop) ? 'stop' : 'continue', `report ${r.id}`).toBe(r.decision);
      }
      // a choice whose value is markup shows as text
      expect(await page.$$eval('#trial-table b', (b) => b.length)).toBe(0);
      expect(await page.$$eval('#trial-table td', (tds, quoted) => tds.some((td) => td.textContent === quoted), QUOTED)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('sorts and filters the trial table, and its CSV has a row per trial', async () => {
    await page.$eval('#trial-table th[data-key="value"]', (th) => (th as HTMLElement).click());
    const values = await page.$$eval('#trial-table tbody tr td:nth-child(3)', (tds) => tds.map((td) => Number(td.textContent)));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    await page.focus('#filter');
    await page.keyboard.type('stopped at rung 1');
    const filtered = await page.$$eval('#trial-table tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.rung));
    expect(filtered.length).toBeGreaterThan(0);
    expect(new Set(filtered)).toEqual(new Set(['1']));
    const csv = await (await fetch(`${dashboard.url}/dashboard/api/study/0/${asha.id}/trials.csv`)).text();
    const lines = csv.trim().split('\n');
    expect(lines[0]).toMatch(/^trial,state,loss,feasible,config:x,config:n\.layers,config:opt,mem,/);
    expect(lines.length).toBe(31);
  });

  it('a new observation told by a worker appears without a reload; the script-shaped name is never run', async () => {
    await open(`/study/0/${evil.id}`, 'study-evil');
    expect(await page.$eval('#title', (e) => e.textContent)).toBe(EVIL);
    expect(await page.title()).toBe(`${EVIL} · tunelab`);
    expect(await page.$$eval('img', (imgs) => imgs.length)).toBe(0);
    expect(await page.$$eval('#trial-table tbody tr', (rows) => rows.length)).toBe(5);
    const before = await page.evaluate(() => performance.timeOrigin);
    await tellOne(evil);
    await page.waitForFunction(() => document.querySelectorAll('#trial-table tbody tr').length === 6, { timeout: 30_000 });
    // and into the history chart as one more point, inserted into the drawn chart (not drawn again)
    await page.waitForFunction(() => document.getElementById('history-chart')?.dataset.drawn === '6', { timeout: 30_000 });
    expect(await page.$$eval('#history-chart .mark-symbol.role-mark path', (p) => p.length)).toBe(6);
    // the same document: no reload
    expect(await page.evaluate(() => performance.timeOrigin)).toBe(before);
    expect(dialogs).toEqual([]);
  });

  it('a page whose dashboard went away says so, reconnects when it is back, and shows what was told meanwhile', async () => {
    const first = startProcess(root, children, [cliPath, 'dashboard', '--storage', storage, '--port', '0']);
    await until('a second dashboard listening', () => /open http:\/\/\S+\//.test(first.out.stdout));
    const url = /open (http:\/\/\S+)\//.exec(first.out.stdout)![1];
    const rows = async () => Number(await page.$eval('#trial-table', (t) => (t as HTMLElement).dataset.rows));
    await page.goto(`${url}/study/0/${evil.id}`);
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live', { timeout: 30_000 });
    const before = await rows();
    first.child.kill('SIGTERM');
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'disconnected: reconnecting…', { timeout: 30_000 });
    await tellOne(evil);
    const again = startProcess(root, children, [cliPath, 'dashboard', '--storage', storage, '--port', new URL(url).port]);
    await until('the dashboard back on its port', () => /open http:\/\/\S+\//.test(again.out.stdout));
    await page.waitForFunction((n) => Number((document.getElementById('trial-table') as HTMLElement | null)?.dataset.rows) === n, { timeout: 30_000 }, before + 1);
    expect(await page.$eval('#live', (e) => e.textContent)).toBe('live');
    again.child.kill('SIGTERM');
  });

  it('charts out of view keep what they show, a full draw due meanwhile is made when one is scrolled to; the fleet lists the latest gone workers and counts the rest', async () => {
    const growing = await createStudy({ name: 'growing', parameters: [{ name: 'a', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'loss', objective: 'minimize' }], method: 'RS', budget: { max_trials: 1000 }, random_seed: 6 }, { storage, name: 'growing' });
    try {
      for (let i = 0; i < 100; i++) await tellOne(growing);
      // 30 workers that came and went (one after another), and 5 still there
      const store = await openStore(storage);
      const gone = Array.from({ length: 30 }, (_, i) => `gone-${String(i).padStart(2, '0')}`);
      for (const [i, name] of [...gone, 'idle-0', 'idle-1', 'idle-2', 'idle-3', 'idle-4'].entries()) await store.registerWorker(growing.id, { workerId: name, host: 'h', pid: 1000 + i });
      for (const name of gone) {
        await store.workerExited(growing.id, name);
        await new Promise((r) => setTimeout(r, 3));
      }
      await store.close();
      await open(`/study/0/${growing.id}`, 'study-growing');
      // the page's top: the history chart (100 points) is below the first screen
      const top = await page.$eval('#history-chart', (e) => e.getBoundingClientRect().top);
      expect(top).toBeGreaterThan(1100);
      expect(await page.$eval('#history-chart', (e) => (e as HTMLElement).dataset.drawn)).toBe('100');
      // 60 more: the study grew by half, so the charts are due a full draw (at the next batch: one more);
      // out of view, the history keeps its 100 points
      for (let i = 0; i < 60; i++) await tellOne(growing);
      await page.waitForFunction(() => document.querySelectorAll('#trial-table')[0]?.getAttribute('data-rows') === '160', { timeout: 30_000 });
      await tellOne(growing);
      await page.waitForFunction(() => document.querySelectorAll('#trial-table')[0]?.getAttribute('data-rows') === '161', { timeout: 30_000 });
      await new Promise((r) => setTimeout(r, 2500));
      expect(await page.$eval('#history-chart', (e) => (e as HTMLElement).dataset.drawn)).toBe('100');
      expect(await page.$$eval('#history-chart .mark-symbol.role-mark path', (p) => p.length)).toBe(100);
      // with no chart in view the full draw was not even computed: the history's caption still counts 100
      expect(await page.$eval('#feasibility', (e) => e.textContent)).toContain('(100 of 100)');
      // scrolled to, it is drawn in full: all 161
      await page.$eval('#history-chart', (e) => e.scrollIntoView());
      await page.waitForFunction(() => document.getElementById('history-chart')?.dataset.drawn === '161', { timeout: 30_000 });
      expect(await page.$$eval('#history-chart .mark-symbol.role-mark path', (p) => p.length)).toBe(161);
      expect(await page.$eval('#feasibility', (e) => e.textContent)).toContain('(161 of 161)');
      // the fleet: every worker still there, then the 20 latest gone (newest first), and how many more
      const listed = await page.$$eval('#fleet-workers tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      expect(listed.filter(([name]) => name!.startsWith('idle-')).map(([name, , , state]) => [name, state])).toEqual(['idle-0', 'idle-1', 'idle-2', 'idle-3', 'idle-4'].map((n) => [n, 'idle']));
      expect(listed.filter(([name]) => name!.startsWith('gone-')).map(([name]) => name)).toEqual(gone.slice(10).reverse());
      expect(await page.$eval('#fleet-gone', (e) => e.textContent)).toBe('and 10 more lost or exited workers (tunelab study status lists every one)');
      expect(await page.$eval('#fleet-observed', (e) => e.textContent)).toBe('161 (0 failed)');
    } finally {
      await growing.close();
    }
  });

  it('a study with two objectives: its best is the Pareto front that `study best` prints, drawn over every observation; the home page gives the front\'s size', async () => {
    await open(`/study/0/${twoObjectives.id}`, 'study-two-objectives');
    const study = await loadStudy(twoObjectives.id, { storage });
    const front = (await frontOfStudy(study))!;
    await study.close();
    expect(front.points.length).toBeGreaterThan(2);
    // exactly the suggestions `tunelab study best` prints, with their values
    const printed = await cliAsync(['study', 'best', String(twoObjectives.id), '--storage', storage], process.env);
    expect(printed.code, printed.stderr).toBe(0);
    const suggestions = [...printed.stdout.matchAll(/suggestion (\d+): loss=\S+, size=\S+/g)].map((m) => Number(m[1]));
    expect(suggestions).toEqual(front.points.map((p) => p.suggestionId));
    const rows = await page.$$eval('#front-table tbody tr', (trs) => trs.map((tr) => ({ trial: Number((tr as HTMLElement).dataset.trial), values: JSON.parse((tr as HTMLElement).dataset.values!) })));
    expect(rows).toEqual(front.points.map((p) => ({ trial: p.suggestionId, values: [p.values.loss, p.values.size] })));
    // each point's config, as the front holds it
    const cells = await page.$$eval('#front-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(3).map((td) => Number(td.textContent))));
    cells.forEach((c, i) => {
      expect(c[0]).toBeCloseTo(Number(front.points[i].config.a), 5);
      expect(c[1]).toBeCloseTo(Number(front.points[i].config.b), 5);
    });
    expect(await page.$eval('#front-size', (e) => (e as HTMLElement).dataset.size)).toBe(String(front.points.length));
    // the scatter: a grey mark per observation, a red one per front point
    const marks = await page.$$eval('#front-chart .mark-symbol.role-mark', (gs) => gs.map((g) => g.querySelectorAll('path').length));
    expect(marks).toEqual([40, front.points.length]);
    await open('/', 'home-two-objectives', false);
    const best = await page.$$eval('#studies tbody tr', (trs) => trs.map((tr) => tr.querySelectorAll('td')[5].textContent));
    expect(best[2]).toBe(`Pareto front of ${front.points.length} points`);
    // a study with one objective still shows its best value
    expect(best[0]).toMatch(/^loss \d/);
  });

  it('the trial table holds every trial and draws the rows in view: scrolling brings the others', async () => {
    await open(`/study/0/${many.id}`, 'study-many');
    expect(await page.$eval('#trial-table', (t) => (t as HTMLElement).dataset.rows)).toBe(String(MANY));
    expect(await page.$eval('#row-count', (e) => e.textContent)).toBe(`${MANY} of ${MANY} trials`);
    const shown = await page.$$eval('#trial-table tbody tr', (trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.trial)));
    expect(shown.length).toBeGreaterThan(10);
    expect(shown.length).toBeLessThan(MANY);
    const ids = shown.slice().sort((a, b) => a - b);
    expect(shown).toEqual(ids);
    // the last rows, scrolled to: the table's height stood for every row
    // (scrolled on each poll: a reconnection under load redraws the table, scrolled to its top)
    await page.waitForFunction(
      (n) => {
        const scroller = document.getElementById('trial-scroll')!;
        if (scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight) scroller.scrollTop = scroller.scrollHeight;
        return document.querySelector('#trial-table tbody tr:last-child')?.getAttribute('data-trial') === String(n);
      },
      { timeout: 30_000, polling: 200 },
      ids[0] + MANY - 1,
    );
    // sorted by the value, descending: the worst first
    await page.$eval('#trial-scroll', (e) => (e.scrollTop = 0));
    await page.$eval('#trial-table th[data-key="value"]', (th) => (th as HTMLElement).click());
    await page.$eval('#trial-table th[data-key="value"]', (th) => (th as HTMLElement).click());
    const values = await page.$$eval('#trial-table tbody tr td:nth-child(3)', (tds) => tds.map((td) => Number(td.textContent)));
    expect(values).toEqual([...values].sort((a, b) => b - a));
    const csv = await (await fetch(`${dashboard.url}/dashboard/api/study/0/${many.id}/trials.csv`)).text();
    expect(Math.max(...csv.trim().split('\n').slice(1).map((l) => Number(l.split(',')[2])))).toBeCloseTo(values[0], 5);
  });

  it("a trial's page shows its config, its rung decisions and its logs, a log line's markup as text", async () => {
    const writer = await openStore(storage);
    const line = '<script>window.pwned = 1</script> epoch 1 done';
    try {
      await writer.appendLogs(asha.id, [
        { suggestionId: 3, workerId: 'w', stream: 'stdout', line, time: Date.now() },
        { suggestionId: 4, workerId: 'w', stream: 'stdout', line: 'another trial', time: Date.now() },
      ]);
    } finally {
      await writer.close();
    }
    await open(`/study/0/${asha.id}/trial/3`, 'trial', false);
    expect(await page.$eval('#title', (e) => e.textContent)).toBe('asha-demo: trial 3');
    expect(await page.$$eval('#trial-rungs tbody tr', (rows) => rows.length)).toBeGreaterThan(0);
    await page.waitForFunction(() => (document.getElementById('logs')?.textContent ?? '').length > 0, { timeout: 30_000 });
    expect(await page.$eval('#logs', (e) => e.textContent)).toBe(`${line}\n`);
    expect(await page.$$eval('#logs script', (s) => s.length)).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  });

  it("a tag's page: its runs, the comparative figures of tunelab plot, drawn", async () => {
    await open('/tag/web', 'tag');
    expect(await page.$$eval('#runs tbody tr', (rows) => rows.length)).toBe(4);
    const figures = await page.$$eval('.chart', (c) => c.length);
    expect(figures).toBeGreaterThanOrEqual(2);
    expect(await page.$$eval('.chart svg .role-mark path', (p) => p.length)).toBeGreaterThan(0);
  });

  it("a run's page, linked from its tag's: its trials, each stop with the rung, rank and threshold the scheduler recorded and the replay of its rows gives; curves, best so far and the rung ladder drawn", async () => {
    await open('/tag/web', 'tag-links');
    const links = await page.$$eval('#runs a.run-link', (as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')!));
    expect(links.length).toBe(4);
    const tagDir = join(root, 'results', 'web');
    const ashaRun = readdirSync(tagDir).find((f) => JSON.parse(readFileSync(join(tagDir, f, 'metadata.json'), 'utf8')).method === 'ASHA' && existsSync(join(tagDir, f, 'decisions.jsonl')))!;
    expect(links).toContain(`/run/web/${ashaRun}`);
    await Promise.all([page.waitForNavigation(), page.click(`#runs a[href="/run/web/${ashaRun}"]`)]);
    await page.waitForSelector('body[data-charts]', { timeout: 60_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'run.png'), fullPage: true });
    const meta = JSON.parse(readFileSync(join(tagDir, ashaRun, 'metadata.json'), 'utf8'));
    const rows = readRows(join(tagDir, ashaRun, 'results.csv.gz'));
    expect(await page.$$eval('#run-trials tbody tr', (trs) => trs.length)).toBe(new Set(rows.map((r) => r.trial_id)).size);
    const calls = naiveRungs(rows.map((r, at) => ({ at, trial: Number(r.trial_id), resource: Number(r[meta.resource_attr]), value: Number(r[meta.metric]) })), meta.scheduler.rung_levels, meta.scheduler.reduction_factor, meta.scheduler.max_t, meta.mode);
    const stops = calls.filter((c) => c.stop);
    expect(stops.length).toBeGreaterThan(0);
    const shown = async () => {
      for (const c of stops) {
        const row = await page.$eval(`#run-trials tr[data-trial="${c.trial}"]`, (tr) => ({ ...(tr as HTMLElement).dataset, text: tr.textContent }));
        expect(row).toMatchObject({ decision: 'stop', rung: String(c.level), rank: String(c.rank), size: String(c.size), threshold: String(c.threshold) });
        expect(row.text).toContain(`stopped at rung ${c.level}: rank ${c.rank} of ${c.size}`);
      }
      for (const id of ['run-curves-chart', 'run-best-chart', 'run-ladder-chart']) {
        expect(await page.$$eval(`#${id} svg .role-mark path`, (p) => p.length), id).toBeGreaterThan(0);
      }
      return page.$$eval('#run-trials tr[data-source]', (trs) => [...new Set(trs.map((tr) => (tr as HTMLElement).dataset.source))]);
    };
    expect(await shown()).toEqual(['recorded']);
    // the same run as one written before decisions.jsonl: the page replays the rows and shows the same reasons
    const oldRun = ashaRun.replace(/^web-/, 'old-');
    cpSync(join(tagDir, ashaRun), join(root, 'results', 'old', oldRun), { recursive: true });
    rmSync(join(root, 'results', 'old', oldRun, 'decisions.jsonl'));
    await open(`/run/old/${oldRun}`, 'run-replayed');
    expect(await shown()).toEqual(['replayed']);
  });

  it("serves no run folder outside the results root: not through '..', nor through a symbolic link", async () => {
    const tagDir = join(root, 'results', 'web');
    const aRun = readdirSync(tagDir).find((f) => f.startsWith('web-'))!;
    // a copy of a real run outside the root, linked in under a run folder's name, and a tag linked out
    const outside = tempDir('tunelab-dashboard-outside-');
    cpSync(join(tagDir, aRun), join(outside, 'web-x-0-2026-01-01-00-00-00-000'), { recursive: true });
    const linked = 'web-linked-0-2026-01-01-00-00-00-000';
    symlinkSync(join(outside, 'web-x-0-2026-01-01-00-00-00-000'), join(tagDir, linked));
    mkdirSync(join(outside, 'out'));
    cpSync(join(tagDir, aRun), join(outside, 'out', aRun.replace(/^web-/, 'out-')), { recursive: true });
    symlinkSync(join(outside, 'out'), join(root, 'results', 'out'));
    try {
      for (const path of [`/run/web/${linked}`, `/dashboard/api/run/web/${linked}`, `/run/out/${aRun.replace(/^web-/, 'out-')}`, `/dashboard/api/run/out/${aRun.replace(/^web-/, 'out-')}`, '/run/web/..%2F..%2Fetc', `/run/..%2Fresults%2Fweb/${aRun}`, `/dashboard/api/run/web/..%2F${aRun}`, `/dashboard/api/run/web/${aRun}%2F..%2F..`, '/run/web/web-nope-0-2026-01-01-00-00-00-000', `/run/web/${aRun}x`]) {
        const r = await fetch(`${dashboard.url}${path}`);
        expect(r.status, path).toBe(404);
        expect(await r.text(), path).not.toMatch(/at .*\.js:\d+|tunelab-dashboard-outside/);
      }
      // the real run is served
      expect((await fetch(`${dashboard.url}/dashboard/api/run/web/${aRun}`)).status).toBe(200);
    } finally {
      rmSync(join(tagDir, linked));
      rmSync(join(root, 'results', 'out'));
    }
  });

  it('answers a bad URL with 404 and serves nothing outside its files and the results root', async () => {
    for (const path of ['/study/0/999', '/study/7/1', '/study/0/abc', '/tag/..%2F..%2Fetc', '/tag/nope', '/dashboard/assets/..%2F..%2Fpackage.json', '/dashboard/assets/app.ts', '/dashboard/api/study/0/1/logs?trial=x', '/nothing/here']) {
      const r = await fetch(`${dashboard.url}${path}`);
      expect(r.status, path).toBe(404);
      expect(await r.text(), path).not.toMatch(/at .*\.js:\d+/);
    }
  });
});

describe('the dashboard without a browser', () => {
  const dir = tempDir('tunelab-dashboard-plain-');

  it('opens a SQLite store read-only: a write through it fails, the file is untouched', async () => {
    const file = join(dir, 'ro.db');
    const s = await createStudy({ name: 'ro', parameters: [{ name: 'a', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'loss', objective: 'minimize' }], method: 'RS', budget: { max_trials: 3 } }, { storage: file, name: 'ro' });
    await s.close();
    const ro = await openStore(file, { readOnly: true });
    try {
      expect((await ro.listStudies()).map((x) => x.name)).toEqual(['ro']);
      await expect(ro.setStatus(s.id, 'stopped', 'finish')).rejects.toThrow(/readonly/i);
    } finally {
      await ro.close();
    }
    await expect(openStore(join(dir, 'missing.db'), { readOnly: true, storageTimeout: 0 })).rejects.toThrow(/does not exist/);
  });

  it('opens a PostgreSQL store read-only: its transactions refuse writes, and the dashboard lists its studies', async () => {
    const { startLocalPostgres } = await import('../src/study/storage/local-postgres.js');
    const pg = await startLocalPostgres();
    try {
      const s = await createStudy({ name: 'pg', parameters: [{ name: 'a', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'loss', objective: 'minimize' }], method: 'RS', budget: { max_trials: 3 } }, { storage: pg.url, name: 'pg-study' });
      await tellOne(s);
      await s.close();
      const ro = await openStore(pg.url, { readOnly: true });
      try {
        await expect(ro.setStatus(s.id, 'stopped', 'finish')).rejects.toThrow(/read-only transaction/);
      } finally {
        await ro.close();
      }
      const { DashboardData } = await import('../src/dashboard/sources.js');
      const data = await DashboardData.open([pg.url], undefined);
      try {
        const cards = await data.studyCards();
        expect(cards.map((c) => [c.name, c.observations, c.storage.includes(':***@')])).toEqual([['pg-study', 1, true]]);
      } finally {
        await data.close();
      }
    } finally {
      await pg.stop();
    }
  }, 120_000);

  it('PED-ANOVA ranks the parameter that decides the value first', () => {
    const trials = Array.from({ length: 200 }, (_, i) => {
      const a = ((i * 37) % 200) / 200;
      const b = ((i * 91) % 200) / 200;
      return { config: { a, b, c: i % 2 ? 'u' : 'v' }, value: (a - 0.2) ** 2 + 0.01 * b };
    });
    const r = pedAnova([{ name: 'a', log: false }, { name: 'b', log: false }, { name: 'c', log: false, values: ['u', 'v'] }], trials, 'min')!;
    expect(r.importances[0].name).toBe('a');
    expect(r.importances[0].importance).toBeGreaterThan(0.5);
    expect(r.importances.reduce((s, x) => s + x.importance, 0)).toBeCloseTo(1, 9);
    expect(pedAnova([{ name: 'a', log: false }], trials.slice(0, 10), 'min')).toBeUndefined();
    // a study of 200,000 observations (a spread of that many arguments overflowed the stack)
    const big = Array.from({ length: 200_000 }, (_, i) => ({ config: { a: (i % 1000) / 1000 }, value: ((i % 1000) / 1000 - 0.2) ** 2 }));
    expect(pedAnova([{ name: 'a', log: false }], big, 'min')!.importances[0].name).toBe('a');
  });

  it('refuses another host without a token; with tokens a request without one gets 401 and a basic-auth challenge', async () => {
    const { cliAsync } = await import('./helpers.js');
    const r = await cliAsync(['dashboard', '--host', '0.0.0.0', '--port', '0', '--results_root', dir], { ...process.env, TUNELAB_ROOT: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--host 0\.0\.0\.0 lets other machines in: give --token_file/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const tokens = join(dir, 'tokens');
    writeFileSync(tokens, 'a-dashboard-token-0123456789\n');
    const kids: ChildProcess[] = [];
    const p = startProcess(dir, kids, [cliPath, 'dashboard', '--port', '0', '--results_root', dir, '--token_file', tokens]);
    try {
      await until('the dashboard listening', () => /open http:\/\/\S+\//.test(p.out.stdout));
      const url = /open (http:\/\/\S+)\//.exec(p.out.stdout)![1];
      const no = await fetch(`${url}/`);
      expect(no.status).toBe(401);
      expect(no.headers.get('www-authenticate')).toMatch(/^Basic realm="tunelab"/);
      const yes = await fetch(`${url}/`, { headers: { authorization: 'Bearer a-dashboard-token-0123456789' } });
      expect(yes.status).toBe(200);
      expect(yes.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });

  it('tunelab server serves the same pages at /', async () => {
    const file = join(dir, 'server.db');
    const s = await createStudy({ name: 'served', parameters: [{ name: 'a', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'loss', objective: 'minimize' }], method: 'RS', budget: { max_trials: 3 } }, { storage: file, name: 'served' });
    await s.close();
    const kids: ChildProcess[] = [];
    const server = await startServerProcess(dir, kids, file);
    try {
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/dashboard/assets/app.js');
      const home = await (await fetch(`${server.url}/dashboard/api/home`)).json();
      expect(home.studies.map((x: { name: string }) => x.name)).toEqual(['served']);
      expect((await fetch(`${server.url}/study/0/${s.id}`)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
