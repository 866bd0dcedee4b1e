/**
 * Start-up cost (issue 12 item 3, issue 29 item 4): the median wall time and CPU time (user + system,
 * the process and the children it waited for, from bash's `times`) of fresh processes for bare node,
 * the light CLI commands, `hpo-main` on the simulator, `run -f` of a one-trial experiment file and the
 * package's two entry points; how many modules each loaded and which heavy dependencies (recorded by
 * a module loader hook, in one extra run each).
 * Usage: node dist/bench/startup.js [runs=10] [package_root=this checkout]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The dependencies that cost start-up time (a trailing '/' is a scope). */
export const HEAVY = ['@aws-sdk/', 'vega', 'vega-lite', 'arquero', '@resvg/resvg-js', 'h5wasm', 'onnxruntime-web'];
export const isHeavy = (pkg: string) => HEAVY.some((h) => (h.endsWith('/') ? pkg.startsWith(h) : pkg === h));

export interface Scenario {
  name: string;
  /** node's arguments; run with the package root as working directory, so 'tunelab' resolves to it */
  args: string[];
}

/** A one-trial experiment file for `run -f` (its trial is a shell echo: the cost measured is tunelab's). */
export function oneTrialFile(dir: string): string {
  const file = join(dir, 'one-trial.yml');
  writeFileSync(
    file,
    [
      'name: one-trial',
      'parameters:',
      '  - {name: x, type: double, bounds: {min: 0, max: 1}}',
      'metrics:',
      '  - {name: loss, objective: minimize}',
      `command: ["sh", "-c", "echo '[tunelab] {\\"loss\\": 0.5}'"]`,
      'budget: {max_trials: 1}',
      'method: RS',
      'random_seed: 1',
      '',
    ].join('\n'),
  );
  return file;
}

export function scenarios(resultsRoot: string): Scenario[] {
  const cli = join('dist', 'src', 'cli.js');
  const importing = (specifier: string) => ['--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`];
  return [
    { name: 'node -e 0', args: ['-e', '0'] },
    { name: 'tunelab --help', args: [cli, '--help'] },
    { name: 'tunelab methods', args: [cli, 'methods'] },
    { name: 'tunelab benchmarks', args: [cli, 'benchmarks'] },
    {
      name: 'tunelab hpo-main (simulator, RS, branin)',
      args: [cli, 'hpo-main', '--experiment_tag', 'startup', '--method', 'RS', '--benchmark', 'synthetic-branin', '--max_wallclock_time', '100', '--random_seed', '1', '--results_root', resultsRoot],
    },
    { name: 'tunelab run -f (one trial)', args: [cli, 'run', '-f', oneTrialFile(resultsRoot), '--results_root', resultsRoot] },
    { name: "import('tunelab')", args: importing('tunelab') },
    { name: "import('tunelab/trial')", args: importing('tunelab/trial') },
  ];
}

// The ESM hooks run on their own thread, so they append to a file; CommonJS modules that CommonJS
// packages require (the AWS SDK's) bypass them and are taken from require's cache at exit.
const hooks = `import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function load(url, context, next) { appendFileSync(out, url + '\\n'); return next(url, context); }`;
const preload = `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
const out = process.env.TUNELAB_LOAD_LOG;
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)}, { data: { out } });
process.on('exit', () => appendFileSync(out, Object.keys(createRequire(process.cwd() + '/').cache).map((p) => p + '\\n').join('')));`;

/** The npm packages a node process loaded (each module's innermost node_modules/<package>), and its number of modules. */
export function loadedPackages(args: string[], cwd: string): { status: number | null; stderr: string; packages: string[]; modules: number } {
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-loads-'));
  const log = join(dir, 'loaded.txt');
  try {
    const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(preload)}`, ...args], {
      cwd,
      env: { ...process.env, TUNELAB_LOAD_LOG: log },
      encoding: 'utf8',
    });
    const loaded = r.status === null ? '' : readFileSync(log, 'utf8');
    const packages = new Set<string>();
    const lines = new Set(loaded.split('\n').filter((l) => l !== '' && !l.startsWith('node:')));
    for (const line of lines) {
      const last = [...line.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].pop();
      if (last) packages.add(last[1]);
    }
    return { status: r.status, stderr: r.stderr, packages: [...packages].sort(), modules: lines.size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wall and CPU seconds of one process (and the children it waited for); bash's `times` reports the CPU. */
function measure(args: string[], cwd: string): { wall: number; cpu: number; status: number | null; stderr: string } {
  const t = performance.now();
  const p = spawnSync('bash', ['-c', '"$@" >/dev/null 2>/tmp/.tunelab-startup-stderr; s=$?; times; cat /tmp/.tunelab-startup-stderr >&2; exit $s', 'bash', process.execPath, ...args], { cwd, encoding: 'utf8' });
  const wall = (performance.now() - t) / 1000;
  // second line of `times`: the children's user and system time, e.g. "0m0.410s 0m0.120s"
  const children = p.stdout.trim().split('\n')[1] ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wall, cpu: secs.reduce((a, b) => a + b, 0), status: p.status, stderr: p.stderr };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(process.argv[2] ?? 10);
  const root = resolve(process.argv[3] ?? join(import.meta.dirname, '..', '..'));
  const resultsRoot = mkdtempSync(join(tmpdir(), 'tunelab-startup-'));
  const list = scenarios(resultsRoot);
  const times = list.map(() => [] as number[]);
  const cpus = list.map(() => [] as number[]);
  const failures = new Map<number, string>();
  // round robin, so that a noisy moment of the machine spreads over every scenario
  for (let r = 0; r < runs; r++) {
    list.forEach((s, i) => {
      const p = measure(s.args, root);
      times[i].push(p.wall);
      cpus[i].push(p.cpu);
      if (p.status !== 0 && !failures.has(i)) failures.set(i, `${s.name}: exit code ${p.status}: ${p.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
    });
  }
  const bare = median(times[0]);
  const bareCpu = median(cpus[0]);
  console.log(`package root ${root}, node ${process.version}, median of ${runs} processes each\n`);
  console.log('| command | wall (s) | × bare node | over bare node (s) | CPU (s) | CPU over bare node (s) | modules | heavy packages loaded |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  list.forEach((s, i) => {
    const m = median(times[i]);
    const cpu = median(cpus[i]);
    const loads = loadedPackages(s.args, root);
    const heavy = loads.packages.filter(isHeavy);
    // the AWS SDK is a dozen packages: one entry with their count
    const groups = new Map<string, number>();
    for (const p of heavy) {
      const g = p.startsWith('@aws-sdk/') ? '@aws-sdk/*' : p;
      groups.set(g, (groups.get(g) ?? 0) + 1);
    }
    const named = [...groups].map(([g, n]) => (n > 1 ? `${g} (${n})` : g)).join(', ') || 'none';
    const cells = failures.has(i) ? ['failed', '', '', '', '', '', ''] : [m.toFixed(2), (m / bare).toFixed(1), (m - bare).toFixed(2), cpu.toFixed(2), (cpu - bareCpu).toFixed(2), String(loads.modules), named];
    console.log(`| ${s.name} | ${cells.join(' | ')} |`);
  });
  for (const f of failures.values()) console.log(`\n${f}`);
  rmSync(resultsRoot, { recursive: true, force: true });
}
