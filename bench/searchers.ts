/**
 * Searcher speed: the time of one suggestion of TPE (univariate and multivariate), REA and DEHB on the
 * fcnet space (9 hyperparameters) with n = 100, 1,000 and 10,000 observations and 4 running trials,
 * and of one observation's arrival (a result, then the trial going idle): the step that must not
 * redo the history. Random search's suggestion is the baseline, measured in the same process.
 * The observations are loaded as a checkpoint (the searcher's own state format), as bench/gp.ts does.
 * Times are CPU time of this process (process.cpuUsage), so that other load on a shared machine
 * inflates them less than wall time would.
 * Usage: node dist/bench/searchers.js
 */
import { type Config, createRng, fcnetConfigSpace, formatTable, sampleConfig } from '../src/index.js';
import type { SearchProblem, Searcher } from '../src/schedulers/types.js';
import { RandomSearcher } from '../src/schedulers/searchers/random.js';
import { TPESearcher } from '../src/schedulers/searchers/tpe.js';

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

const tpeCheckpoint: Case['checkpoint'] = (trials) => ({
  random: { seen: [], nextPoint: 0 },
  trials: trials.map((t) => [t.id, t.config, t.running ? null : 1, t.running ? null : t.value, t.running ? 'running' : 'observed']),
});

const cases: Case[] = [
  { name: 'RS (baseline)', make: (p) => new RandomSearcher(p), checkpoint: () => ({ seen: [], nextPoint: 0 }) },
  { name: 'TPE', make: (p) => new TPESearcher(p), checkpoint: tpeCheckpoint },
  { name: 'TPE multivariate', make: (p) => new TPESearcher(p, { multivariate: true }), checkpoint: tpeCheckpoint },
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
console.log('CPU time on the fcnet space (9 hyperparameters), 4 running trials; median of 20 after 3 warm-up steps');
console.log(formatTable(['searcher', 'observations', 'suggest ms', 'observe ms'], rows));
