import { existsSync, statSync, writeFileSync } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import { mkdirp } from '../util/fs.js';
import { resolveInside } from '../util/path-part.js';
import { UserError } from '../util/errors.js';
import { type AcrossBenchmarks, type Aggregation, type Table, acrossBenchmarks, aggregateCurves, finalTable, finalTableCsv, finalTableMarkdown, finalValues } from './aggregate.js';
import { bestTrials } from './frame.js';
import { type LoadOptions, type Run, loadResults } from './load.js';
import { htmlReport, svgToPNG, toSVG } from './render.js';
import { benchmarkSpec, historySpec, learningCurvesSpec, paretoSpec, rankSpec, regretSpec, timeTitle } from './specs.js';
import { frontOf, multiObjectives } from '../operate/best.js';
import { loadFolder } from '../operate/folder.js';
import { bestRuleOf } from '../results/best.js';
import { readExperiment } from '../results/read.js';
import { resultsRoot } from '../results/layout.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { type S3Location, s3Client } from '../results/s3.js';
import { downloadStudy } from '../cloud/sync.js';

export type Format = 'svg' | 'png' | 'html';

export interface PlotStudyOptions extends LoadOptions {
  out: string;
  formats?: Format[];
  agg?: Aggregation;
  /** seeds the bootstrap bands */
  seed?: number;
  /** The metric's axis on a log scale (default linear). */
  logY?: boolean;
  /** Load from S3 instead: the files plotting needs are downloaded into `root` first. */
  s3?: { location: S3Location; client?: S3Client };
}

export interface PlotStudyResult {
  files: string[];
  specs: { name: string; spec: TopLevelSpec }[];
  tableMarkdown: string;
  warnings: string[];
}

const BAND: Record<Aggregation, string> = { iqm: 'IQM, bootstrap 95 %', mean: 'mean, ± s.e.', median: 'median, IQR' };
const CENTER: Record<Aggregation, string> = { iqm: 'IQM', mean: 'mean', median: 'median' };
const AGG: Record<Aggregation, string> = { iqm: 'interquartile mean (IQM) with a seeded bootstrap 95 % band', mean: 'mean ± standard error', median: 'median with the interquartile range' };

const unique = <T>(xs: T[]) => [...new Set(xs)];
const list = (xs: unknown[]) => xs.map(String).join(', ');

/** The study at a glance, from the loaded runs' metadata. */
function describeStudy(tags: string[], runs: Run[], agg: Aggregation): [string, string][] {
  const benchmarks = unique(runs.map((r) => r.benchmark));
  const setups = unique(runs.map((r) => r.setup));
  const m = runs.map((r) => r.metadata);
  const seedLines: string[] = [];
  for (const b of benchmarks) {
    const expected = unique(runs.filter((r) => r.benchmark === b).map((r) => r.seed)).sort((x, y) => x - y);
    for (const s of setups) {
      const found = new Set(runs.filter((r) => r.benchmark === b && r.setup === s).map((r) => r.seed));
      if (found.size === 0) continue;
      const missing = expected.filter((x) => !found.has(x));
      seedLines.push(`${s} on ${b}: ${found.size} of ${expected.length}${missing.length ? ` (missing ${list(missing)})` : ''}`);
    }
  }
  const starts = m.map((x) => x.start_time).sort();
  const ends = m.map((x) => x.end_time).filter((x): x is string => !!x).sort();
  const perBenchmark = (f: (r: Run) => unknown) => list(benchmarks.map((b) => `${b}: ${list(unique(runs.filter((r) => r.benchmark === b).map(f)))}`));
  const suggestions = suggestionLines(setups, runs);
  return [
    ['study (tags)', list(tags)],
    ['benchmarks', list(benchmarks.map((b) => { const r = runs.find((x) => x.benchmark === b)!; return `${b} (${r.metric}, ${r.mode})`; }))],
    [`setups (${setups.length})`, list(setups)],
    ['runs plotted', `${runs.length} (one per setup, benchmark and seed; runs left out are named in the warnings)`],
    ['seeds found', seedLines.join('; ')],
    ['budget (max wallclock time, s)', perBenchmark((r) => r.metadata.max_wallclock_time ?? 'none')],
    ['workers', perBenchmark((r) => r.metadata.n_workers)],
    ['master seed', list(unique(m.map((x) => x.random_seed)))],
    ['tunelab version', list(unique(m.map((x) => `${x.tunelab_version}${x.git_commit ? ` (${String(x.git_commit).slice(0, 10)})` : ''}`)))],
    ['dates (UTC)', `${starts[0]} – ${ends[ends.length - 1] ?? 'not ended'}`],
    ['aggregation over seeds', AGG[agg]],
    ['normalised regret', '0 = the best value any run reached on the benchmark, 1 = the median over its runs of their first result'],
    ...(suggestions.length > 0 ? [['configs from the model / random', suggestions.join('; ')] as [string, string]] : []),
  ];
}

/**
 * Per model-based setup, where its configs came from (metadata.json's `suggestions`), and how many of
 * its runs never consulted the model: such a run is its method's random-search twin (MOBSTER: ASHA).
 */
function suggestionLines(setups: string[], runs: Run[]): string[] {
  return setups.flatMap((s) => {
    const counted = runs.filter((r) => r.setup === s && r.metadata.suggestions);
    if (counted.length === 0) return [];
    let model = 0;
    let random = 0;
    for (const r of counted) {
      model += r.metadata.suggestions!.model;
      random += r.metadata.suggestions!.random;
    }
    const never = counted.filter((r) => r.metadata.suggestions!.model === 0).length;
    return [`${s}: ${model} from the model, ${random} random in ${counted.length} run(s)${never > 0 ? `, ${never} of which never consulted the model` : ''}`];
  });
}

/** Per (benchmark, setup), the best trial of the seed that reached the best value. */
function bestConfigurations(runs: Run[], warn: (message: string) => void): Table {
  const best: Run[] = [];
  for (const b of unique(runs.map((r) => r.benchmark))) {
    for (const s of unique(runs.map((r) => r.setup))) {
      const final = (r: Run) => (r.mode === 'min' ? Math.min(...r.values) : Math.max(...r.values));
      const mine = runs.filter((r) => r.benchmark === b && r.setup === s && r.values.length > 0);
      if (mine.length) best.push(mine.reduce((x, y) => (x.mode === 'min' ? (final(y) < final(x) ? y : x) : final(y) > final(x) ? y : x)));
    }
  }
  const fmt = (v: unknown) => (typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v));
  return {
    header: ['benchmark', 'setup', 'best value', 'seed', 'trial', 'configuration', 'metrics then'],
    rows: bestTrials(best, warn).map((t) => [
      t.benchmark,
      t.setup,
      `${t.metric} (${t.mode}) ${fmt(t.value)}`,
      String(t.seed),
      String(t.trialId),
      Object.entries(t.config).map(([k, v]) => `${k}=${fmt(v)}`).join(', '),
      Object.entries(t.metrics).filter(([k]) => k !== t.metric).map(([k, v]) => `${k}=${fmt(v)}`).join(', '),
    ]),
  };
}

/** Loads a study, aggregates it and writes its figures, final table (Markdown and CSV) and report. */
export interface FigureOptions {
  agg: Aggregation;
  /** seeds the bootstrap bands */
  seed?: number;
  logY?: boolean;
}

export interface Figure {
  name: string;
  caption: string;
  spec: TopLevelSpec;
}

/**
 * The figures of a study of runs (what `tunelab plot` draws and the dashboard shows for a tag): per
 * benchmark the best-so-far with bands over seeds (or one run's history), regret and rank across
 * benchmarks when setups can be compared, and one multi-fidelity run's learning curves.
 */
export function comparativeFigures(runs: Run[], options: FigureOptions, warn: (message: string) => void): { specs: Figure[]; across: AcrossBenchmarks } {
  const agg = options.agg;
  const curves = aggregateCurves(runs, { agg, seed: options.seed });
  const across = acrossBenchmarks(runs, curves);
  across.warnings.forEach(warn);
  const benchmarks = [...new Set(runs.map((r) => r.benchmark))];
  const specs: { name: string; caption: string; spec: TopLevelSpec }[] = [];
  const axis = { logY: options.logY, timeTitle: timeTitle(runs.map((r) => r.metadata.backend)) };
  for (const b of benchmarks) {
    const mine = runs.filter((r) => r.benchmark === b);
    const { metric, mode } = mine[0];
    const n = unique(mine.map((r) => r.seed)).length;
    const better = mode === 'min' ? 'lower' : 'higher';
    // one run per setup: its trials themselves, not a band over one seed
    if (mine.length === unique(mine.map((r) => r.setup)).length) {
      const what = mine.every((r) => bestRuleOf(r.metadata) === 'last') ? "each trial's value (its last report)" : 'every result';
      specs.push({
        name: `history-${b}`,
        caption: `${b}: ${what} and the best ${metric} so far (${better} is better), one run per setup (${mine.map((r) => `${r.setup} seed ${r.seed}`).join(', ')}).`,
        spec: historySpec(b, metric, mode, mine, what, axis),
      });
      continue;
    }
    specs.push({
      name: `benchmark-${b}`,
      caption: `${b}: the best ${metric} found so far (${better} is better) against the tuner's time, per setup over ${n} seed(s): ${AGG[agg]}.`,
      spec: benchmarkSpec(b, metric, curves, BAND[agg], axis),
    });
  }
  // with several objectives: each run's final front, per benchmark (the curves above are their hypervolume)
  for (const b of benchmarks) {
    const mine = runs.filter((r) => r.benchmark === b);
    const objectives = multiObjectives(mine[0].metadata);
    if (!objectives) continue;
    const points = mine.flatMap((r) =>
      (frontOf(r.folder, loadFolder(r.folder, warn))?.points ?? []).map((p) => ({ setup: r.setup, seed: r.seed, trial: p.trialId, x: p.values![objectives[0].metric], y: p.values![objectives[1].metric] })),
    );
    specs.push({
      name: `pareto-${b}`,
      caption: `${b}: the final Pareto front of every run (${objectives[0].metric} against ${objectives[1].metric}${objectives.length > 2 ? `; of ${objectives.length} objectives, the first two` : ''}), one colour per setup.`,
      spec: paretoSpec(`${b}: Pareto fronts`, objectives[0], objectives[1], points),
    });
  }
  // regret compares setups: with one setup it is 0 by construction
  if (across.shared.length > 0 && unique(runs.map((r) => r.setup)).length >= 2) {
    specs.push({
      name: 'regret',
      caption: `Normalised regret of each setup's ${CENTER[agg]} curve, averaged over the ${across.shared.length} benchmark(s) every setup ran on, at the same fraction of each benchmark's time axis: 0 = the best value any run reached, 1 = the median first result.`,
      spec: regretSpec(across),
    });
  }
  // one benchmark's rank is the order of its curves, already in its panel
  if (across.shared.length >= 2 && unique(runs.map((r) => r.setup)).length >= 2) {
    specs.push({ name: 'rank', caption: `Rank of each setup's ${CENTER[agg]} curve (1 = best) averaged over the ${across.shared.length} benchmarks every setup ran on, at the same fraction of each benchmark's time axis; a setup without a result yet on a benchmark ranks last there.`, spec: rankSpec(across) });
  }
  // what early stopping did: the learning curves of the first multi-fidelity run
  const mf = runs.find((r) => (r.metadata.scheduler as { scheduler?: string })?.scheduler === 'hyperband');
  if (mf) {
    const { rows, trialEnds } = readExperiment(mf.folder, warn);
    specs.push({
      name: 'learning-curves',
      caption: `What early stopping did in one run (${mf.setup} on ${mf.benchmark}, seed ${mf.seed}): each trial's ${mf.metric} against ${mf.metadata.resource_attr}, coloured by how the trial ended.`,
      spec: learningCurvesSpec(`${mf.setup} on ${mf.benchmark}, seed ${mf.seed}: learning curves`, mf.metadata.resource_attr, mf.metric, rows, { seed: options.seed, logY: options.logY, trialEnds }),
    });
  }
  return { specs, across };
}

export async function plotStudy(options: PlotStudyOptions): Promise<PlotStudyResult> {
  const warnings: string[] = [];
  // a damaged results file is read by loading, the best-configurations table and the learning
  // curves: its warning is said once
  const said = new Set<string>();
  const warn = (m: string) => {
    if (said.has(m)) return;
    said.add(m);
    warnings.push(m);
    (options.warn ?? ((x: string) => console.warn(x)))(m);
  };
  if (existsSync(options.out) && !statSync(options.out).isDirectory()) throw new UserError(`--out ${options.out} is a file; give a folder (new or existing) for the figures`);
  const root = resultsRoot(options.root);
  const origin = options.s3 ? await downloadStudy(options.s3.client ?? s3Client(), options.s3.location, options.tags, root, warn) : undefined;
  const { runs } = await loadResults({ ...options, root, warn, origin });
  if (runs.length === 0) throw new UserError(`no results to plot for tag(s) ${options.tags.join(', ')} under ${root}`);
  const agg = options.agg ?? 'iqm';
  const { specs, across } = comparativeFigures(runs, { agg, seed: options.seed, logY: options.logY }, warn);
  mkdirp(options.out);
  const files: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    // figures are named after benchmarks, read from metadata.json (which S3 may have delivered)
    const path = resolveInside(options.out, name, 'a figure file');
    writeFileSync(path, data);
    files.push(path);
  };
  const values = finalValues(runs);
  const tableMarkdown = finalTableMarkdown(across.final, values);
  write('final-table.md', tableMarkdown);
  write('final-table.csv', finalTableCsv(across.final, values));
  const formats = options.formats ?? ['png', 'html'];
  const figures = [];
  for (const { name, caption, spec } of specs) {
    const svg = await toSVG(spec);
    figures.push({ name, caption, spec, svg });
    write(`${name}.vl.json`, JSON.stringify(spec, null, 1));
    if (formats.includes('svg')) write(`${name}.svg`, svg);
    if (formats.includes('png')) write(`${name}.png`, svgToPNG(svg));
  }
  if (formats.includes('html')) {
    const tables = [
      {
        id: 'final-table',
        title: 'Final table',
        caption: `Per setup: mean rank and mean normalised regret at the end, over the benchmarks every setup ran on (compared / run), and per benchmark the final best value over seeds: the interquartile mean (IQM) and, in brackets, the interquartile range.`,
        table: finalTable(across.final, values),
      },
      { id: 'best-configurations', title: 'Best configuration per setup and benchmark', caption: 'The best trial of the seed that reached the best final value, with the configuration and the other metrics it reported then.', table: bestConfigurations(runs, warn) },
    ];
    write('report.html', htmlReport({ title: `tunelab study: ${options.tags.join(', ')}`, description: describeStudy(options.tags, runs, agg), warnings, tables, figures }));
  }
  return { files, specs: specs.map(({ name, spec }) => ({ name, spec })), tableMarkdown, warnings };
}
