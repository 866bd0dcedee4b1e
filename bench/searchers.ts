/**
 * Searcher speed: the time of one suggestion of TPE (univariate and multivariate), REA, DEHB and BOHB's KDE on the
 * fcnet space (9 hyperparameters) with n = 100, 1,000 and 10,000 observations and 4 running trials,
 * and of one observation's arrival (a result, then the trial going idle): the step that must not
 * redo the history. Random search's suggestion is the baseline, measured in the same process.
 * The observations are loaded as a checkpoint (the searcher's own state format), as bench/gp.ts does.
 * Times are CPU time of this process (process.cpuUsage), so that other load on a shared machine
 * inflates them less than wall time would.
 * Usage: node dist/bench/searchers.js
 */
import { type Config, configKey, createRng, fcnetConfigSpace, formatTable, sampleConfig } from '../src/index.js';
import type { SearchProblem, Searcher } from '../src/schedulers/types.js';
import { RandomSearcher } from '../src/schedulers/searchers/random.js';
import { TPESearcher } from '../src/schedulers/searchers/tpe.js';
import { REASearcher } from '../src/schedulers/searchers/rea.js';
import { DEHBSearcher } from '../src/schedulers/searchers/dehb.js';
import { KDESearcher } from '../src/schedulers/searchers/kde.js';

const space = fcnetConfigSpace();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** A loss with some structure, so that the good group is not a random sample. */
const loss = (c: Config) => Object.values(c).reduce<number>((s, v, i) => s + ((typeof v === 'number' ? Math.log1p(Math.abs(v)) : String(v).length) * (i + 1)) % 7, 0);

interface Case {
  name: string;
  make(problem: SearchProblem): Searcher;
  /** the searcher's checkpoint holding n observed trials and `running` running ones */
  checkpoint(trials: { id: number; config: Config; value: number; running: boolean }[]): unknown;
}

// every trial's config proposed before, as in a run: a model's favourite that repeats one costs the search for a new combination
const tpeCheckpoint: Case['checkpoint'] = (trials) => ({
  random: { seen: trials.map((t) => configKey(space, t.config)), nextPoint: 0 },
  trials: trials.map((t) => [t.id, t.config, t.running ? null : 1, t.running ? null : t.value, t.running ? 'running' : 'observed']),
});

const cases: Case[] = [
  { name: 'RS (baseline)', make: (p) => new RandomSearcher(p), checkpoint: () => ({ seen: [], nextPoint: 0 }) },
  { name: 'TPE', make: (p) => new TPESearcher(p), checkpoint: tpeCheckpoint },
  { name: 'TPE multivariate', make: (p) => new TPESearcher(p, { multivariate: true }), checkpoint: tpeCheckpoint },
  {
    name: 'REA',
    make: (p) => new REASearcher(p),
    // the population holds the newest 100 observations whatever n is: the cost cannot grow with n
    checkpoint: (trials) => ({
      random: { seen: [], nextPoint: 0 },
      population: trials.filter((t) => !t.running).slice(-100).map((t) => ({ config: t.config, value: t.value })),
      running: trials.filter((t) => t.running).map((t) => [t.id, { config: t.config, value: null }]),
    }),
  },
  {
    // BOHB's worst case: every observation at one rung level, so its densities hold all of them
    name: 'BOHB (KDE)',
    make: (p) => new KDESearcher(p, [1, 3, 9, 27]),
    checkpoint: (trials) => ({
      random: { seen: [], nextPoint: 0 },
      configs: trials.map((t) => [t.id, t.config]),
      levels: [[1, trials.filter((t) => !t.running).map((t) => [t.id, t.value])]],
    }),
  },
];

const rows: (string | number)[][] = [];
for (const c of cases) {
  for (const n of [100, 1000, 10_000]) {
    const dataRng = createRng(2);
    const trials = Array.from({ length: n + 4 }, (_, id) => {
      const config = sampleConfig(space, dataRng);
      return { id, config, value: loss(config), running: id >= n };
    });
    const s = c.make({ configSpace: space, metric: 'loss', mode: 'min', rng: createRng(1) });
    s.restore(JSON.parse(JSON.stringify(c.checkpoint(trials))));
    const suggest: number[] = [];
    const observe: number[] = [];
    let id = n + 4;
    for (let rep = 0; rep < 23; rep++, id++) {
      let t = cpuMs();
      const config = s.suggest(id)!;
      suggest.push(cpuMs() - t);
      t = cpuMs();
      s.onTrialResult(id, 1, loss(config), {});
      s.onTrialIdle(id, 'completed');
      observe.push(cpuMs() - t);
    }
    // the first 3 let V8 compile and optimise
    rows.push([c.name, n, median(suggest.slice(3)).toFixed(3), median(observe.slice(3)).toFixed(4)]);
  }
}
// DEHB: populations per rung level are bounded by the bracket sizes; measured with full populations
// at the levels of a 27-epoch benchmark, its suggestion at each level
{
  const levels = [1, 3, 9, 27];
  const s = new DEHBSearcher({ configSpace: space, metric: 'loss', mode: 'min', rng: createRng(1) }, levels, 3);
  let id = 0;
  for (const level of levels) for (let i = 0; i < s.sizes[levels.indexOf(level)] * 2; i++, id++) s.onTrialResult(id, level, loss(s.suggest(id, { level })!));
  for (const level of levels) {
    const times: number[] = [];
    for (let rep = 0; rep < 23; rep++, id++) {
      const t = cpuMs();
      const config = s.suggest(id, { level })!;
      times.push(cpuMs() - t);
      s.onTrialResult(id, level, loss(config));
    }
    rows.push([`DEHB (level ${level})`, s.populations.map((p) => p.length).join('/'), median(times.slice(3)).toFixed(3), '–']);
  }
}
console.log('CPU time on the fcnet space (9 hyperparameters), 4 running trials; median of 20 after 3 warm-up steps');
console.log(formatTable(['searcher', 'observations', 'suggest ms', 'observe ms'], rows));
