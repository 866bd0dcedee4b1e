import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readEvents, SseFrames, StreamRefused } from '../src/dashboard/client/sse.js';
import { TrialRows } from '../src/dashboard/client/trial-rows.js';
import type { TrialRow } from '../src/dashboard/feed.js';
import { trialColumns } from '../src/dashboard/wire.js';

// the dashboard's front end parts that need no DOM: its stream reader and its trial columns

const STREAM = [
  'event: snapshot\ndata: {"part":{"index":0}}\n\n',
  ': beat\n\n',
  'event: delta\ndata: [1,2,3]\n\n',
  'data: first line\ndata: second line\n\n',
  'event: delta\ndata:{"no":"space"}\n\n',
  'event: failure\ndata: {"message":"gone"}\n\n',
].join('');
const EXPECTED = [
  ['snapshot', '{"part":{"index":0}}'],
  ['delta', '[1,2,3]'],
  ['message', 'first line\nsecond line'],
  ['delta', '{"no":"space"}'],
  ['failure', '{"message":"gone"}'],
];

describe('SseFrames', () => {
  it('gives every event once, whole, wherever the chunks split the stream', () => {
    for (let a = 0; a <= STREAM.length; a++) {
      for (const b of [a, a + 1, a + 2, a + 7, STREAM.length]) {
        const got: string[][] = [];
        const frames = new SseFrames((event, data) => got.push([event, data]));
        for (const chunk of [STREAM.slice(0, a), STREAM.slice(a, Math.max(a, b)), STREAM.slice(Math.max(a, b))]) frames.push(chunk);
        expect(got, `split at ${a} and ${b}`).toEqual(EXPECTED);
      }
    }
  });

  it('one character a chunk, and a megabyte event in 64 kB chunks', () => {
    const got: string[][] = [];
    const frames = new SseFrames((event, data) => got.push([event, data]));
    for (const c of STREAM) frames.push(c);
    expect(got).toEqual(EXPECTED);
    const big = JSON.stringify({ rows: Array.from({ length: 60_000 }, (_, i) => i * 1.5) });
    const text = `event: delta\ndata: ${big}\n\n`;
    got.length = 0;
    for (let i = 0; i < text.length; i += 65_536) frames.push(text.slice(i, i + 65_536));
    expect(got).toEqual([['delta', big]]);
  });
});

describe('readEvents', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));
  const serve = async (handler: Parameters<typeof createServer>[1]) => {
    server = createServer(handler);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  };

  it('reads a real server stream written in pieces, and resolves when the server ends it', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const step = () => (i < STREAM.length ? (res.write(STREAM.slice(i, (i += 13))), setTimeout(step, 2)) : res.end());
      step();
    });
    const got: string[][] = [];
    let opened = 0;
    await readEvents(url, () => opened++, (event, data) => got.push([event, data]), 5000);
    expect(opened).toBe(1);
    expect(got).toEqual(EXPECTED);
  });

  it('refuses an error status, naming it, and gives up on a stream silent past its limit', async () => {
    const url = await serve((req, res) => {
      if (req.headers.accept !== 'text/event-stream') res.writeHead(400).end();
      else if (req.url === '/events') res.writeHead(404).end();
      else {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('event: delta\ndata: 1\n\n');
      }
    });
    const refused = await readEvents(url, () => undefined, () => undefined, 5000).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StreamRefused);
    expect((refused as StreamRefused).status).toBe(404);
    const got: string[] = [];
    const t0 = Date.now();
    const silent = await readEvents(`${url}/quiet`, () => undefined, (_e, data) => got.push(data), 300).catch((e: unknown) => e);
    expect((silent as Error).name).toBe('AbortError');
    expect(got).toEqual(['1']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });
});

describe('TrialRows', () => {
  /** A seeded generator (mulberry32): the same trials every run. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  it("gives back every trial of the server's updates as it was sent (numbers, names, booleans, nulls, late keys, replacements), in the order first added, past several growths; says which were new and which observed", () => {
    const r = random(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
    const orNull = <T>(v: T) => (r() < 0.2 ? null : v);
    const trial = (id: number, late: boolean): TrialRow => {
      const config: TrialRow['config'] = { lr: r() * 1e-3, layers: Math.floor(r() * 8), act: pick(['relu', 'tanh']), bias: r() < 0.5 };
      if (late) config.momentum = r();
      if (r() < 0.1) delete config.act;
      const metrics: Record<string, number> = r() < 0.3 ? {} : { loss: r() - 0.5, ...(late && { accuracy: r() }) };
      return {
        id,
        config,
        state: pick(['ready', 'open', 'completed', 'failed', 'abandoned'] as const),
        value: orNull(pick([r(), -r() * 1e9, 0, -0, Number.NaN, Infinity])),
        metrics,
        feasible: pick([true, false, null]),
        worker: orNull(`w-${Math.floor(r() * 5)}`),
        host: orNull(pick(['a', 'b'])),
        attempts: Math.floor(r() * 3),
        duration: orNull(r() * 100),
        observedAt: orNull(1_796_000_000_000 + Math.floor(r() * 1e6)),
        resource: orNull(Math.floor(r() * 27)),
        decision: pick(['continue', 'stop', null] as const),
        why: r() < 0.1 ? { level: 3, rank: 2, size: 9, keep: 3, threshold: 0.25, value: 0.3, decision: 'stop', source: 'recorded' } as unknown as TrialRow['why'] : null,
        error: r() < 0.05 ? 'Traceback: <b>boom</b>' : null,
      };
    };
    const rows = new TrialRows();
    const reference = new Map<number, TrialRow>();
    let id = 10_000;
    for (let update = 0; update < 60; update++) {
      // an update of up to 200 trials: a fifth a later state of one already held, the rest new
      const batch = new Map<number, TrialRow>();
      for (let i = Math.floor(r() * 200); i >= 0; i--) {
        const t = reference.size > 10 && r() < 0.2 ? trial(pick([...reference.keys()]), update > 30) : trial(id++ * (r() < 0.5 ? 1 : 3), update > 30);
        batch.set(t.id, t);
      }
      const added = [...batch.keys()].filter((k) => !reference.has(k));
      const observed = [...batch.values()].filter((t) => t.observedAt !== null && (reference.get(t.id)?.observedAt ?? null) === null).map((t) => t.id);
      expect(rows.setColumns(trialColumns([...batch.values()]))).toEqual({ added, observed });
      for (const t of batch.values()) reference.set(t.id, t);
    }
    // an update alone of a trial that had keys no trial of the update has: they are gone from it
    const had = [...reference.values()].find((t) => 'momentum' in t.config && 'accuracy' in t.metrics)!;
    const later = { ...had, config: { lr: 0.5 }, metrics: {} };
    expect(rows.setColumns(trialColumns([later]))).toEqual({ added: [], observed: [] });
    reference.set(later.id, later);
    expect(rows.size).toBe(reference.size);
    expect(reference.size).toBeGreaterThan(4096);
    const norm = (t: TrialRow) => ({ ...t, config: { ...t.config }, metrics: { ...t.metrics } });
    expect([...rows.values()].map(norm)).toEqual([...reference.values()].map(norm));
    for (const [k, t] of reference) {
      expect(rows.get(k)).toEqual(t);
      expect(rows.field(k, 'observedAt')).toBe(t.observedAt);
      expect(rows.field(k, 'decision')).toBe(t.decision);
    }
    expect(rows.get(1)).toBeUndefined();
    expect(rows.has(1)).toBe(false);
    expect(rows.field(1, 'decision')).toBeUndefined();
  });
});
