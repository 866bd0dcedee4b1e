import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { plotStudy } from '../src/plotting/study.js';
import { tempDir } from './helpers.js';

/** Debian's chromium (`.ci/run` installs it when missing); $CHROMIUM to use another. */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = 120_000;

/**
 * Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: NUL-separated JSON
 * on fds 3 and 4), so no port, no WebSocket and no network: the test reaches nothing but the child.
 */
class Browser {
  private next = 1;
  private buffer = '';
  private pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  readonly events: { method: string; params: Record<string, unknown>; sessionId?: string }[] = [];
  private constructor(private child: ChildProcess) {
    (child.stdio[4] as Readable).on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      let end;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 1);
        if (msg.id !== undefined) {
          const p = this.pending.get(msg.id)!;
          this.pending.delete(msg.id);
          if (msg.error) p.reject(new Error(`${msg.error.message} (${JSON.stringify(msg.error.data ?? '')})`));
          else p.resolve(msg.result);
        } else this.events.push(msg);
      }
    });
  }

  static launch(profile: string): Browser {
    // its own process group, ended as a whole in close()
    const child = spawn(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--remote-debugging-pipe', '--window-size=1400,3000', `--user-data-dir=${profile}`, 'about:blank'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return new Browser(child);
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.next++;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chromium did not answer ${method} in ${TIMEOUT / 1000} s`)), TIMEOUT);
      this.pending.set(id, { resolve: (v) => (clearTimeout(timer), resolve(v)), reject: (e) => (clearTimeout(timer), reject(e)) });
    });
    (this.child.stdio[3] as Writable).write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    return reply;
  }

  async until(method: string, sessionId: string): Promise<void> {
    const deadline = Date.now() + TIMEOUT;
    while (!this.events.some((e) => e.method === method && e.sessionId === sessionId)) {
      if (Date.now() > deadline) throw new Error(`no ${method} from chromium in ${TIMEOUT / 1000} s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    if (this.child.exitCode === null) {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

interface PageFacts {
  figures: { id: string; width: number; height: number; top: number; left: number; marks: number; drawnMarks: number; smallestLabel: number; caption: string }[];
  description: Record<string, string>;
  finalTable: string[][];
  bestConfigurations: string[][];
  legendSymbolOpacity: string[];
}

/** Measured in the page, after layout: what a reader would see. */
const FACTS = `JSON.stringify({
  figures: [...document.querySelectorAll('figure')].map((f) => {
    const svg = f.querySelector('svg');
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll('.role-mark path')];
    const labels = [...svg.querySelectorAll('.role-axis-label text, .role-legend-label text')].map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
    return { id: f.id, width: box.width, height: box.height, top: box.top, left: box.left, marks: marks.length,
      drawnMarks: marks.filter((p) => { const b = p.getBBox(); return p.getTotalLength() > 0 && (b.width > 0 || b.height > 0); }).length,
      smallestLabel: Math.min(...labels), caption: f.querySelector('figcaption').textContent };
  }),
  description: Object.fromEntries([...document.querySelectorAll('#description dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
  finalTable: [...document.querySelectorAll('#final-table tr')].map((tr) => [...tr.children].map((c) => c.textContent)),
  bestConfigurations: [...document.querySelectorAll('#best-configurations tr')].map((tr) => [...tr.children].map((c) => c.textContent)),
  legendSymbolOpacity: [...document.querySelectorAll('.role-legend-symbol path')].map((p) => getComputedStyle(p).strokeOpacity),
})`;

describe('the report in a real browser (headless chromium)', () => {
  const root = tempDir();
  let browser: Browser;
  let facts: PageFacts;
  let errors: string[];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does), or set $CHROMIUM`);
    await hpoMain(
      { experimentTag: 'web', method: ['RS', 'ASHA'], benchmark: ['synthetic-branin', 'synthetic-mlp'], numSeeds: 3, randomSeed: 3, resultsRoot: root, maxWallclockTime: 600 },
      { log: () => {}, progress: false },
    );
    const out = join(root, 'plots');
    await plotStudy({ tags: ['web'], root, out, formats: ['html'], warn: () => {} });
    const profile = join(root, 'chromium-profile');
    mkdirSync(profile);
    browser = Browser.launch(profile);
    const { targetId } = await browser.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = (await browser.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    for (const domain of ['Page', 'Runtime', 'Log']) await browser.send(`${domain}.enable`, {}, sessionId);
    await browser.send('Page.navigate', { url: pathToFileURL(join(out, 'report.html')).href }, sessionId);
    await browser.until('Page.loadEventFired', sessionId);
    const { result } = (await browser.send('Runtime.evaluate', { expression: FACTS, returnByValue: true }, sessionId)) as { result: { value: string } };
    facts = JSON.parse(result.value);
    errors = browser.events
      .filter((e) => e.method === 'Runtime.exceptionThrown' || (e.method === 'Runtime.consoleAPICalled' && e.params.type === 'error') || (e.method === 'Log.entryAdded' && (e.params.entry as { level: string }).level === 'error'))
      .map((e) => JSON.stringify(e.params));
  }, 10 * TIMEOUT);

  afterAll(() => browser?.close());

  it('draws every figure at a readable size, with no console error', () => {
    expect(errors).toEqual([]);
    expect(facts.figures.map((f) => f.id)).toEqual(['benchmark-synthetic-branin', 'benchmark-synthetic-mlp', 'regret', 'rank', 'learning-curves']);
    for (const f of facts.figures) {
      // no empty SVG: every figure has line marks with a visible extent
      expect(f.drawnMarks, f.id).toBeGreaterThan(0);
      // (a learning curve of one result is a point, not a line)
      if (f.id !== 'learning-curves') expect(f.drawnMarks, f.id).toBe(f.marks);
      expect(f.width, f.id).toBeGreaterThanOrEqual(560);
      expect(f.smallestLabel, f.id).toBeGreaterThanOrEqual(12);
      // a caption that says what the figure shows, not its file id
      expect(f.caption.length, f.id).toBeGreaterThan(60);
    }
    // the two benchmark panels sit side by side, their tops aligned
    const [a, b] = facts.figures;
    expect(b.left).toBeGreaterThan(a.left + a.width);
    expect(b.top).toBe(a.top);
    // legends show the opaque line colour, not the pale band
    expect(facts.legendSymbolOpacity.length).toBeGreaterThan(0);
    for (const o of facts.legendSymbolOpacity) expect(o).toBe('1');
  });

  it('describes the study and shows the values', () => {
    const d = facts.description;
    expect(d['benchmarks']).toBe('synthetic-branin (value, min), synthetic-mlp (val_accuracy, max)');
    expect(d['setups (2)']).toBe('ASHA, RS');
    expect(d['seeds found']).toBe('ASHA on synthetic-branin: 3 of 3; RS on synthetic-branin: 3 of 3; ASHA on synthetic-mlp: 3 of 3; RS on synthetic-mlp: 3 of 3');
    expect(d['budget (max wallclock time, s)']).toBe('synthetic-branin: 600, synthetic-mlp: 600');
    expect(d['master seed']).toBe('3');
    expect(d['tunelab version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(d['dates (UTC)']).toMatch(/^\d{4}-\d\d-\d\dT.* – \d{4}-\d\d-\d\dT/);
    const [header, ...rows] = facts.finalTable;
    expect(header).toEqual([
      'setup',
      'mean rank',
      'mean normalised regret',
      'benchmarks compared / run',
      'synthetic-branin: best value (min), IQM (IQR) over seeds',
      'synthetic-mlp: best val_accuracy (max), IQM (IQR) over seeds',
    ]);
    expect(rows.map((r) => r[0]).sort()).toEqual(['ASHA', 'RS']);
    for (const r of rows) {
      expect(r[1]).toMatch(/^[12](\.\d+)?/);
      expect(r[3]).toBe('2 / 2');
      for (const cell of r.slice(4)) expect(cell).toMatch(/^-?[\d.e+-]+ \(-?[\d.e+-]+–-?[\d.e+-]+\), 3 seeds$/);
    }
    const [bestHeader, ...best] = facts.bestConfigurations;
    expect(bestHeader).toEqual(['benchmark', 'setup', 'best value', 'seed', 'trial', 'configuration', 'metrics then']);
    expect(best).toHaveLength(4);
    for (const r of best) expect(r[5]).toMatch(/^\w+=\S+(, \w+=\S+)*$/);
  });
});
