import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitProgressLine } from '../src/launchers/reporting.js';
import { readMetadata } from '../src/results/metadata.js';
import { packageRoot } from '../src/util/package-info.js';
import { cliPath, tempDir } from './helpers.js';
import { blackboxCommand } from '../src/commands/blackbox.js';
import { cleanCommand } from '../src/commands/clean.js';
import { dashboardCommand } from '../src/commands/dashboard.js';
import { hpoMainCommand } from '../src/commands/hpo-main.js';
import { jobsCommand } from '../src/commands/jobs.js';
import { launchRemoteCommand } from '../src/commands/launch-remote.js';
import { benchmarksCommand, methodsCommand } from '../src/commands/list.js';
import { bestCommand, logsCommand, statusCommand, stopCommand, trialsCommand } from '../src/commands/operate.js';
import { plotCommand } from '../src/commands/plot.js';
import { runCommand } from '../src/commands/run.js';
import { sagemakerTrialCommand } from '../src/commands/sagemaker-trial.js';
import { serverCommand } from '../src/commands/server.js';
import { studyCommand } from '../src/commands/study.js';
import { syncCommand } from '../src/commands/sync.js';

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TUNELAB_DATA: tempDir(), ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: exit 2, one `tunelab:` line, no stack trace. */
function expectUserError(r: ReturnType<typeof cli>, message: RegExp) {
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(2);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const hpoMain = (root: string, ...args: string[]) => ['hpo-main', '--results_root', root, '--random_seed', '7', '--max_wallclock_time', '200', ...args];

describe('the command line surface', () => {
  it("--version prints tunelab's own version", () => {
    const r = cli(['--version']);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version);
  });

  it('without a command: names every command, those of the command modules (the CLI loads each only when it runs)', () => {
    const r = cli([]);
    const commands = [runCommand, hpoMainCommand, launchRemoteCommand, plotCommand, methodsCommand, benchmarksCommand, blackboxCommand, statusCommand, logsCommand, stopCommand, bestCommand, trialsCommand, studyCommand, serverCommand, dashboardCommand, jobsCommand, cleanCommand, syncCommand, sagemakerTrialCommand];
    expect(r.code).toBe(2);
    expect(/name a command: (.+)/.exec(r.stderr)![1].split(', ')).toEqual(commands.map((c) => String(c.command).split(' ')[0]));
  });

  it('a mistyped command: did you mean', () => {
    expectUserError(cli(['hpo-mian', '--experiment_tag', 't']), /^tunelab: unknown command 'hpo-mian'; did you mean hpo-main\?\n$/);
    expectUserError(cli(['stauts', 'x']), /did you mean status\?/);
  });

  it('a flag given without its value is an error, and nothing is written', () => {
    const root = tempDir();
    for (const [args, flag] of [
      [['--method', 'RS', '--num_seeds'], 'num_seeds'],
      [['--num_seeds', '2', '--method'], 'method'],
      [['--method', '--num_seeds', '2'], 'method'],
      [['--benchmark'], 'benchmark'],
      [['--max_failures'], 'max_failures'],
    ] as const) {
      expectUserError(cli(hpoMain(root, '--experiment_tag', 't', ...args)), new RegExp(`^tunelab: --${flag} needs a value\\n$`));
    }
    expect(readdirSync(root)).toEqual([]);
  });

  it('--max_failures -1 is an error', () => {
    const root = tempDir();
    expectUserError(cli(hpoMain(root, '--experiment_tag', 't', '--method', 'RS', '--benchmark', 'synthetic-branin', '--max_failures', '-1')), /--max_failures must be a non-negative integer, got -1/);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a tag that is not one folder name (or holds a control character) is refused by every command taking one, naming the accepted characters; nothing is written inside or outside the results root', () => {
    const parent = tempDir();
    const root = join(parent, 'root');
    mkdirSync(root);
    const refused = (r: ReturnType<typeof cli>, tag: string) => {
      expectUserError(r, /^tunelab: /);
      // (sync loads the AWS SDK first, which may warn about the Node version on a line of its own)
      expect(r.stderr.split('\n')[0]).toBe(`tunelab: --experiment_tag must be a name usable as one folder name, of letters, digits, spaces and punctuation except '/' and '\\' (no control characters; not '.' or '..'); got ${JSON.stringify(tag)}`);
    };
    for (const tag of ['..', '.', 'a/b', 'a\\b', '../x', '', 'a\nb', 'a\x01b', 'a\u202eb']) {
      refused(cli(hpoMain(root, '--experiment_tag', tag, '--method', 'RS', '--benchmark', 'synthetic-branin')), tag);
    }
    for (const tag of ['..', 'line\nbreak', 'bell\x07']) {
      refused(cli(['run', '-f', join(packageRoot, 'examples', 'own-model', 'experiment.yml'), '--experiment_tag', tag, '--results_root', root]), tag);
      refused(cli(['launch-remote', '--experiment_tag', tag, '--results_root', root, '--method', 'RS', '--max_parallel_jobs', '1']), tag);
      refused(cli(['plot', '--experiment_tag', tag, '--results_root', root, '--out', join(root, 'plots')]), tag);
      refused(cli(['clean', '--experiment_tag', tag, '--results_root', root, '--yes']), tag);
      refused(cli(['jobs', '--experiment_tag', tag, '--results_root', root]), tag);
      refused(cli(['sync', '--experiment_tag', tag, '--results_root', root, '--s3_bucket', 'b'], { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' }), tag);
    }
    expect(readdirSync(root)).toEqual([]);
    expect(readdirSync(parent)).toEqual(['root']);
  });

  it('a study whose second benchmark has no data stops before its first run starts', () => {
    const root = tempDir();
    const r = cli(hpoMain(root, '--experiment_tag', 't', '--method', 'RS', '--benchmark', 'synthetic-branin', 'fcnet-protein'));
    expectUserError(r, /no data for blackbox 'fcnet\/protein_structure'.*tunelab blackbox import fcnet/);
    expect(r.stdout).not.toMatch(/started/);
    expect(existsSync(join(root, 't')) ? readdirSync(join(root, 't')) : []).toEqual([]);
  });

  it('a method that does not fit a benchmark is refused before "[1/n] … started"', () => {
    const r = cli(hpoMain(tempDir(), '--experiment_tag', 't', '--method', 'RS', '--benchmark', 'synthetic-branin', '--restrict_configurations'));
    expectUserError(r, /--restrict_configurations needs a tabulated benchmark; synthetic-branin/);
    expect(r.stdout).toBe('');
  });

  it('numeric flags are numbers in the help; launch-remote lists each --backend choice once and refuses the trial backends', () => {
    const help = cli(['hpo-main', '--help']).stdout;
    const entry = (flag: string) => help.slice(help.indexOf(`\n  --${flag} `) + 3).split(/\n {2}--/)[0].replace(/\s+/g, ' ');
    for (const flag of ['num_seeds', 'start_seed', 'n_workers', 'verbose', 'max_failures', 'random_seed', 'max_num_trials_started']) {
      expect(entry(flag), flag).not.toMatch(/\[string\]|default: "/);
      expect(entry(flag), flag).toMatch(/\[integer\]/);
    }
    expect(entry('max_wallclock_time')).toMatch(/\[number\]/);
    expect(entry('num_seeds')).toMatch(/\[integer\] \[default: 1\]/);
    // descriptions wrap between words, never inside one (yargs' ES module build cut 'train|ing')
    expect(entry('backend')).toContain('or local (run its training command)');
    expect(entry('max_num_trials_started')).toContain('(and then ended), whatever the clock says [integer]');
    const remote = cli(['launch-remote', '--help']).stdout;
    expect(remote).toMatch(/\[choices: "local", "sagemaker", "slurm"\] \[default: "local"\]/);
    expectUserError(cli(['launch-remote', '--experiment_tag', 't', '--backend', 'simulator', '--dry_run']), /Invalid values:\s+Argument: backend, Given: "simulator", Choices: "local", "sagemaker", "slurm"/);
  });

  it('blackbox build describes every flag', () => {
    const help = cli(['blackbox', 'build', '--help']).stdout;
    for (const flag of ['out', 'num_configs', 'grid', 'sampling_seed', 'num_seeds', 'epochs', 'workers']) expect(help, flag).toMatch(new RegExp(`--${flag} +[a-z]`));
    expect(help).toMatch(/trainer +a built-in trainer \(fcnet-cars/);
  });

  it('benchmarks: lines fit 100 columns, the data column says which run without a download, defaults starred', () => {
    const out = cli(['benchmarks']).stdout;
    const lines = out.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(out).toMatch(/\nsynthetic-fcnet +closed form +valid_loss \(min\)/);
    expect(out).toMatch(/\nfcnet-cars \* +shipped +valid_loss \(min\)/);
    expect(out).toMatch(/\nyahpo-lcbench-3945 +download /);
    expect(out).toMatch(/\nfcnet-protein +import /);
    expect(out).toMatch(/\* default: run when no --benchmark is given/);
  });

  it('benchmarks --info: labelled lines, with the command that installs the data', () => {
    const r = cli(['benchmarks', '--info', 'yahpo-lcbench-3945']);
    expect(r.stdout).not.toMatch(/[{}"]|maxWallclockTime/);
    expect(r.stdout).toMatch(/^yahpo-lcbench-3945\n {2}description +LCBench task 3945/);
    expect(r.stdout).toMatch(/\n {2}metric +val_accuracy \(maximised\)\n/);
    expect(r.stdout).toMatch(/\n {2}data +install once with: tunelab blackbox download yahpo-lcbench\n/);
    expect(cli(['benchmarks', '--info', 'fcnet-cars']).stdout).toMatch(/^fcnet-cars \(a default benchmark\)\n[\s\S]*\n {2}data +tables shipped with tunelab \(runs without a download\)\n/);
  });

  it('"completed" lines print the best value with the tables\' 6 significant digits', () => {
    const r = cli(hpoMain(tempDir(), '--experiment_tag', 't', '--method', 'RS', '--benchmark', 'synthetic-branin'));
    expect(r.code).toBe(0);
    const best = /completed in [\d.]+s wall: \d+ trials, \d+ results, best value (\S+) →/.exec(r.stdout)?.[1];
    expect(best).toBeDefined();
    expect(best!.replace(/^-?0?\.?0*|\./g, '').length).toBeLessThanOrEqual(6);
    expect(Number(best)).toBe(Number(Number(best).toPrecision(6)));
  });

  it('--resume without --random_seed continues with the master seed of the runs it resumes', () => {
    const root = tempDir();
    const args = ['hpo-main', '--results_root', root, '--experiment_tag', 'r', '--method', 'RS', '--benchmark', 'synthetic-branin', '--max_wallclock_time', '200'];
    expect(cli([...args, '--random_seed', '5']).code).toBe(0);
    const resumed = cli([...args, '--num_seeds', '2', '--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^random_seed 5 \(that of the runs resumed\)\n/);
    const seeds = readdirSync(join(root, 'r')).map((f) => readMetadata(join(root, 'r', f)));
    expect(seeds.map((m) => [m.seed, m.random_seed]).sort()).toEqual([
      [0, 5],
      [1, 5],
    ]);
    // runs of two master seeds under one tag: which one to continue is the user's to say
    expect(cli([...args, '--random_seed', '6', '--start_seed', '2', '--num_seeds', '3']).code).toBe(0);
    expectUserError(cli([...args, '--num_seeds', '3', '--resume']), /--resume: the runs of 'r' have different random seeds \((5|6) in .*, (5|6) in .*\); pass the one to continue with --random_seed/);
  });

  it("the README's launch-remote example plans the jobs its text and comment say", () => {
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    const command = /\ntunelab (launch-remote [^\n]*--dry_run(?: \\\n[^\n]*)*)/.exec(readme)![1].replace(/ \\\n\s*/g, ' ');
    const [args, comment] = command.split(/\s+#\s*/);
    expect(comment).toBe('84 jobs');
    expect(readme).toMatch(/the reference study's 8 methods × 20 seeds make 4 \+ 4 × 20 = 84 jobs/);
    const r = cli([...args.trim().split(/\s+/), '--results_root', tempDir()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^random_seed 2465497701; 84 job\(s\)/);
  });

  it('status of a tag tells the methods of its folders apart', () => {
    const root = tempDir();
    for (const m of ['RS', 'ASHA']) expect(cli(hpoMain(root, '--experiment_tag', 's', '--method', m, '--benchmark', 'synthetic-branin')).code).toBe(0);
    const out = cli(['status', 's', '--results_root', root]).stdout;
    expect(out).toMatch(/\ns-synthetic-branin-0-\S+ +completed +RS /);
    expect(out).toMatch(/\ns-synthetic-branin-0-\S+ +completed +ASHA /);
  });
});

describe('the progress line', () => {
  const line = (label: string) => ({ label, fraction: 0.19, best: 'best valid_loss 0.0988128', details: ['684/3600s simulated', '214 trials'] });

  it('fits the width and keeps the best value', () => {
    for (const width of [40, 60, 80, 120, 200]) {
      const s = fitProgressLine(width, line('[12/84] ASHA-PROMOTION fcnet-weather seed 3'));
      expect(s.length, String(width)).toBeLessThan(width);
      expect(s, String(width)).toMatch(/ 19% \| best valid_loss 0\.0988128/);
    }
    expect(fitProgressLine(200, line('[1/1] RS fcnet-cars seed 0'))).toMatch(/^\[1\/1\] RS fcnet-cars seed 0 \[█{6}░{24}\] 19% \| best valid_loss 0\.0988128 \| 684\/3600s simulated \| 214 trials$/);
    // too narrow for everything: details and bar give way, then the label is shortened
    expect(fitProgressLine(40, line('[12/84] ASHA-PROMOTION fcnet-weather seed 3'))).toMatch(/^\[12\/84… 19% \| best valid_loss 0\.0988128$/);
    // a bar of 10 before the details
    expect(fitProgressLine(80, line('[1/1] ASHA synthetic-fcnet seed 0'))).toMatch(/^\[1\/1\] ASHA synthetic-fcnet seed 0 \[█{2}░{8,9}\] 19% \| best valid_loss 0\.0988128$/);
  });
});

/** The screen a terminal shows for `out` (what matters here: \r, \n, cursor column, erase, save/restore). */
function screen(out: string): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = [0, 0];
  for (let i = 0; i < out.length; i++) {
    const c = out[i];
    if (c === '\x1b') {
      const m = /^\x1b(?:\[([?\d;]*)([A-Za-z])|([78]))/.exec(out.slice(i));
      if (!m) continue;
      i += m[0].length - 1;
      if (m[3] === '7') saved = [row, col];
      else if (m[3] === '8') [row, col] = saved;
      else if (m[2] === 'G') col = Number(m[1] || 1) - 1;
      else if (m[2] === 'K') rows[row].length = m[1] === '2' ? 0 : Math.min(rows[row].length, col);
      continue;
    }
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      rows[row] ??= [];
    } else {
      rows[row] ??= [];
      while (rows[row].length < col) rows[row].push(' ');
      rows[row][col++] = c;
    }
  }
  return rows.map((r) => r.join(''));
}

/** Runs `cmd` on a real pseudo-terminal of 80 columns and types ^C into it, as a user does, once `ready` shows. */
async function ctrlC(cmd: string[], ready: RegExp): Promise<{ code: number | null; lines: string[]; out: string }> {
  const quoted = cmd.map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qfec', `stty cols 80 rows 24; exec ${quoted}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let out = '';
  let typed = false;
  child.stdout.on('data', (d) => {
    out += d;
    if (!typed && ready.test(out)) {
      typed = true;
      setTimeout(() => child.stdin.write('\x03'), 500);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, lines: screen(out), out };
}

describe('Ctrl-C on a terminal', () => {
  it('hpo-main: ends the progress bar, prints the signal on a line of its own and marks the run stopped', async () => {
    const root = tempDir();
    const { code, lines, out } = await ctrlC(
      [process.execPath, cliPath, 'hpo-main', '--experiment_tag', 'c', '--method', 'ASHA', '--benchmark', 'synthetic-fcnet', '--random_seed', '1', '--results_root', root, '--max_wallclock_time', '100000000'],
      /best valid_loss \d/,
    );
    const signal = lines.find((l) => l.includes('SIGINT: stopping'));
    expect(signal, out).toMatch(/^SIGINT: stopping after the current step/);
    const bars = lines.filter((l) => l.startsWith('[1/1] ASHA synthetic-fcnet seed 0 ['));
    expect(bars.length).toBeGreaterThan(0);
    for (const b of bars) {
      expect(b.length).toBeLessThan(80);
      expect(b).toMatch(/ \d+% \| best valid_loss \d/);
    }
    expect(lines.some((l) => /^\[1\/1\] ASHA synthetic-fcnet seed 0: stopped/.test(l))).toBe(true);
    expect(code).toBe(130);
    const [folder] = readdirSync(join(root, 'c'));
    expect(readMetadata(join(root, 'c', folder)).status).toBe('stopped');
  });

  it('run: the same for its budget bar', async () => {
    const root = tempDir();
    const { code, lines, out } = await ctrlC([process.execPath, cliPath, 'run', '-f', join(packageRoot, 'examples', 'own-model', 'experiment.yml'), '--results_root', root], /best valid_loss \d/);
    expect(lines.find((l) => l.includes('SIGINT: stopping')), out).toMatch(/^SIGINT: stopping the trials/);
    const bars = lines.filter((l) => l.includes(' | best valid_loss'));
    expect(bars.length).toBeGreaterThan(0);
    for (const b of bars) expect(b.length).toBeLessThan(80);
    // the summary at the table's precision, not 17 digits
    const best = lines.find((l) => l.startsWith('best valid_loss '))!;
    expect(best).toMatch(/^best valid_loss [\d.]+ \(trial \d+: lr=/);
    for (const n of best.match(/\d+\.\d+/g)!) expect(n.replace('.', '').replace(/^0+/, '').length, n).toBeLessThanOrEqual(6);
    expect(code).toBe(130);
    const [folder] = readdirSync(join(root, 'penguins-mlp'));
    expect(readMetadata(join(root, 'penguins-mlp', folder)).status).toBe('stopped');
  });
});
