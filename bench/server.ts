/**
 * Study server throughput (`node dist/bench/server.js [--quick] [--store SQLite|PostgreSQL] [--clients N,…] [--api A] [--profile DIR]
 * [--baseline OLD/dist/src/cli.js]`; --clients measures only those numbers of clients (default 1,16,256);
 * --api sigopt|tell_and_ask measures only that API (default both);
 * --profile writes the server's CPU profile into DIR; --baseline
 * measures an older build's server too, in the same run, for before → after figures):
 * suggest → observe cycles per second of a zero-cost objective with RS through `tunelab server`
 * (a child process) for 1, 16 and 256 concurrent keep-alive HTTP clients (async, in this process),
 * (SigOpt's two calls a cycle, and tunelab's one: tell_and_ask), beside the direct-store figure of the same number of in-process workers (Study.optimize) on the
 * same kind of store, measured in this run; the p50/p99 latency of an ask (POST …/suggestions)
 * and the ratios HTTP / direct; and the CPU time per cycle of the server process (of this process
 * for the direct figure), which other load on a shared machine changes far less than the rates.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/util/table.js';
import { type LocalPostgres, startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { benchCli, cpuMs, postgresCpuMs, startServer } from './server-process.js';
import { parseExperiment } from '../src/experiment/load.js';
import { experimentFileOptions } from '../src/methods/registry.js';
import { createStudy } from '../src/study/study.js';

const parameters = [
  { name: 'x', type: 'double', bounds: { min: 0, max: 1 } },
  { name: 'y', type: 'double', bounds: { min: 0, max: 1 } },
  { name: 'k', type: 'int', bounds: { min: 1, max: 50 } },
];
const objective = (c: Record<string, unknown>) => (Number(c.x) - 0.3) ** 2 + (Number(c.y) - 0.6) ** 2 + Number(c.k) / 1000;

const show = (r: Result | Error) => (r instanceof Error ? `failed (${r.message})` : `${(r.cycles / r.seconds).toFixed(0)} cycles/s`);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) }).catch((e: Error & { cause?: { code?: string; message?: string } }) => {
    // undici's "fetch failed" says nothing by itself: its cause (a reset, a closed keep-alive socket) does
    throw new Error(`${e.message}${e.cause ? ` (${[e.cause.code, e.cause.message].filter(Boolean).join(': ')})` : ''}`);
  });
  return { status: r.status, json: await r.json() };
}

interface Result {
  cycles: number;
  seconds: number;
  asks: number[];
  /** CPU ms per cycle of the store's side: the server process (HTTP), or this process (direct). */
  cpu: number;
  /** CPU ms per cycle of the PostgreSQL server (NaN over SQLite). */
  pgCpu: number;
}

/**
 * n async clients on a new experiment of the server, each a worker of its own, until the budget is
 * met: SigOpt's two calls a cycle (POST …/suggestions, POST …/observations), or tunelab's one
 * (POST …/tell_and_ask, as RemoteStudy and the Python client's optimize loop do); `asks` times
 * every request that hands out a suggestion. Each ask carries a request id, as tunelab's clients send.
 */
async function overHttp(server: string, serverPid: number, n: number, budget: number, mode: 'sigopt' | 'one-call', pgCpu: () => number): Promise<Result> {
  const created = await post(`${server}/v1/experiments`, { name: `bench-${n}-${Date.now()}`, parameters, metrics: [{ name: 'loss', objective: 'minimize' }], observation_budget: budget, parallel_bandwidth: n, method: 'RS' }, {});
  const base = `${server}/v1/experiments/${created.json.id}`;
  const asks: number[] = [];
  let cycles = 0;
  const client = async (i: number) => {
    const headers = { 'x-tunelab-worker': `bench-${i}`, 'x-tunelab-host': 'bench', 'x-tunelab-pid': String(process.pid) };
    const ask = async (): Promise<any> => {
      for (;;) {
        const t = performance.now();
        const s = await post(`${base}/suggestions`, {}, { ...headers, 'idempotency-key': randomUUID() });
        asks.push(performance.now() - t);
        if (s.status === 200) return s.json;
        if (s.json.error.reason !== 'wait') return undefined;
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 5));
      }
    };
    let s = await ask();
    while (s) {
      const observation = { suggestion: s.id, values: [{ name: 'loss', value: objective(s.assignments) }] };
      if (mode === 'sigopt') {
        const o = await post(`${base}/observations`, observation, headers);
        if (o.status !== 200) throw new Error(`observation refused: ${JSON.stringify(o.json)}`);
        s = await ask();
      } else {
        const t = performance.now();
        const o = await post(`${base}/tell_and_ask`, observation, { ...headers, 'idempotency-key': randomUUID() });
        asks.push(performance.now() - t);
        if (o.status !== 200 || !o.json.recorded) throw new Error(`observation refused: ${JSON.stringify(o.json)}`);
        s = o.json.suggestion ?? (o.json.reason === 'wait' ? await ask() : undefined);
      }
      cycles++;
    }
  };
  const t0 = performance.now();
  const cpu0 = cpuMs(serverPid);
  const pg0 = pgCpu();
  await Promise.all(Array.from({ length: n }, (_, i) => client(i)));
  return { cycles, seconds: (performance.now() - t0) / 1000, asks, cpu: (cpuMs(serverPid) - cpu0) / cycles, pgCpu: (pgCpu() - pg0) / cycles };
}

/** The same work with the store in this process: optimize with n concurrent workers (each ask and tell a store transaction). */
async function direct(storage: string, n: number, budget: number): Promise<Result> {
  const definition = parseExperiment({ name: `direct-${n}-${Date.now()}`, parameters, metrics: [{ name: 'loss', objective: 'minimize' }], budget: { max_trials: budget }, parallel_bandwidth: n, method: 'RS' }, experimentFileOptions());
  const study = await createStudy(definition, { storage });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const summary = await study.optimize((c) => objective(c), { workers: n }).finally(() => study.close());
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { cycles: summary.observations, seconds, asks: [], cpu: (cpu.user + cpu.system) / 1000 / summary.observations, pgCpu: NaN };
}

async function main() {
  const quick = process.argv.includes('--quick');
  const arg = (flag: string) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const only = arg('--store');
  const profileDir = arg('--profile');
  const baseline = arg('--baseline');
  const stores = ['SQLite', 'PostgreSQL'];
  const apis = arg('--api') ?? 'both';
  if (!['both', 'sigopt', 'tell_and_ask'].includes(apis)) {
    console.error(`bench/server: unknown --api '${apis}'; accepted: sigopt, tell_and_ask`);
    process.exit(2);
  }
  const counts = (arg('--clients') ?? '1,16,256').split(',').map(Number);
  if (!counts.every((n) => Number.isInteger(n) && n > 0)) {
    console.error(`bench/server: --clients '${arg('--clients')}': expected positive integers separated by commas, such as 1,16,256`);
    process.exit(2);
  }
  if (only && !stores.includes(only)) {
    console.error(`bench/server: unknown --store '${only}'; accepted: ${stores.join(', ')}`);
    process.exit(2);
  }
  // the baseline's server first: on PostgreSQL this build may then upgrade the schema it left
  const builds: [string, string][] = [...(baseline ? [['baseline', baseline] as [string, string]] : []), ['this build', benchCli]];
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-bench-server-'));
  let pg: LocalPostgres | undefined;
  const rows: (string | number)[][] = [];
  const budgetOf = (n: number) => (quick ? (n === 1 ? 200 : 1000) : n === 1 ? 1000 : 4000);
  const rate = (r: Result) => r.cycles / r.seconds;
  try {
    for (const kind of only ? [only] : stores) {
      if (kind === 'PostgreSQL') pg = await startLocalPostgres();
      const storageOf = (build: string) => pg?.url ?? join(dir, `${build.replace(/ /g, '-')}.db`);
      const http = new Map<string, { n: number; sigopt: Result | Error; one: Result | Error }[]>();
      for (const [build, path] of builds) {
        const server = await startServer(storageOf(build), { cli: path, profileDir: build === 'this build' ? profileDir : undefined });
        const results: { n: number; sigopt: Result | Error; one: Result | Error }[] = [];
        try {
          for (const n of counts) {
            // a run that fails (a server that gives up under the load) is a row saying so, not the end of the bench
            const run = (mode: 'sigopt' | 'one-call') => overHttp(server.url, server.child.pid!, n, budgetOf(n), mode, () => (pg ? postgresCpuMs(pg.dataDir) : NaN)).catch((e: Error) => e);
            const skipped = new Error('not measured (--api)');
            const sigopt = apis === 'tell_and_ask' ? skipped : await run('sigopt');
            const one = apis === 'sigopt' ? skipped : await run('one-call');
            results.push({ n, sigopt, one });
            console.error(`${kind}, ${build}, ${n} clients: ${show(sigopt)} over HTTP with SigOpt's calls, ${show(one)} with tell_and_ask`);
          }
        } finally {
          server.child.kill('SIGTERM');
          await new Promise((r) => server.child.once('close', r));
        }
        http.set(build, results);
      }
      for (const n of counts) {
        const measured = await direct(storageOf('this build'), n, budgetOf(n)).catch((e: Error) => e);
        console.error(`${kind}, ${n} in-process workers: ${show(measured)} direct`);
        // no direct figure (the in-process workers gave up under the load): the ratios are left out
        const d = measured instanceof Error ? { cycles: NaN, seconds: 1, asks: [], cpu: NaN, pgCpu: NaN } : measured;
        for (const [build] of builds) {
          const { sigopt, one } = http.get(build)!.find((x) => x.n === n)!;
          for (const [api, r] of [['SigOpt: 2 calls', sigopt], ['tell_and_ask', one]] as const) {
            if (r instanceof Error) {
              rows.push([kind, build, n, budgetOf(n), api, `failed: ${r.message.slice(0, 60)}`, rate(d).toFixed(0), '', '', '', '', '', d.cpu.toFixed(2), '']);
              continue;
            }
            rows.push([kind, build, n, budgetOf(n), api, rate(r).toFixed(0), rate(d).toFixed(0), (rate(r) / rate(d)).toFixed(2), quantile(r.asks, 0.5).toFixed(1), quantile(r.asks, 0.99).toFixed(1), r.cpu.toFixed(2), Number.isNaN(r.pgCpu) ? '' : r.pgCpu.toFixed(2), d.cpu.toFixed(2), (1000 / r.cpu).toFixed(0)]);
          }
        }
      }
      await pg?.stop();
      pg = undefined;
      // each store's figures as soon as they are in
      console.log(formatTable(HEADER, rows.splice(0)));
    }
  } finally {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const HEADER = ['store', 'server', 'clients', 'budget', 'API', 'HTTP cycles/s', 'direct cycles/s', 'HTTP / direct', 'ask p50 ms', 'ask p99 ms', 'server CPU ms/cycle', 'PostgreSQL CPU ms/cycle', 'direct CPU ms/cycle', 'cycles/s the server CPU allows'];

await main();
