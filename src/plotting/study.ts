import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { mkdirp } from '../util/fs.js';
import { UserError } from '../util/errors.js';
import { type Aggregation, acrossBenchmarks, aggregateCurves, finalTableCsv, finalTableMarkdown } from './aggregate.js';
import { type LoadOptions, loadResults } from './load.js';
import { htmlReport, svgToPNG, toSVG } from './render.js';
import { benchmarkSpec, learningCurvesSpec, rankSpec, regretSpec } from './specs.js';
import { readExperiment } from '../results/read.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { type S3Location, downloadStudy, s3Client } from '../results/s3.js';

export type Format = 'svg' | 'png' | 'html';

export interface PlotStudyOptions extends LoadOptions {
  out: string;
  formats?: Format[];
  agg?: Aggregation;
  /** seeds the bootstrap bands */
  seed?: number;
  /** Load from S3 instead: the files plotting needs are downloaded into `root` first. */
  s3?: { location: S3Location; client?: S3Client };
}

export interface PlotStudyResult {
  files: string[];
  specs: { name: string; spec: TopLevelSpec }[];
  tableMarkdown: string;
  warnings: string[];
}

const BAND: Record<Aggregation, string> = { iqm: 'IQM, bootstrap 95 %', mean: 'mean ± s.e.', median: 'median, IQR' };

/** Loads a study, aggregates it and writes its figures, final table (Markdown and CSV) and report. */
export async function plotStudy(options: PlotStudyOptions): Promise<PlotStudyResult> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    (options.warn ?? ((x: string) => console.warn(x)))(m);
  };
  const origin = options.s3 ? await downloadStudy(options.s3.client ?? s3Client(), options.s3.location, options.tags, options.root) : undefined;
  const { runs } = await loadResults({ ...options, warn, origin });
  if (runs.length === 0) throw new UserError(`no results to plot for tag(s) ${options.tags.join(', ')} under ${options.root}`);
  const agg = options.agg ?? 'iqm';
  const curves = aggregateCurves(runs, { agg, seed: options.seed });
  const across = acrossBenchmarks(runs, curves);
  const specs: { name: string; spec: TopLevelSpec }[] = [];
  for (const b of [...new Set(runs.map((r) => r.benchmark))]) {
    specs.push({ name: `benchmark-${b}`, spec: benchmarkSpec(b, runs.find((r) => r.benchmark === b)!.metric, curves, BAND[agg]) });
  }
  specs.push({ name: 'regret', spec: regretSpec(across) }, { name: 'rank', spec: rankSpec(across) });
  // what early stopping did: the learning curves of the first multi-fidelity run
  const mf = runs.find((r) => (r.metadata.scheduler as { scheduler?: string })?.scheduler === 'hyperband');
  if (mf) {
    const { rows } = readExperiment(mf.folder);
    specs.push({ name: 'learning-curves', spec: learningCurvesSpec(`${mf.setup} on ${mf.benchmark}, seed ${mf.seed}: learning curves`, mf.metadata.resource_attr, mf.metric, rows) });
  }
  mkdirp(options.out);
  const files: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    const path = join(options.out, name);
    writeFileSync(path, data);
    files.push(path);
  };
  const tableMarkdown = finalTableMarkdown(across.final);
  write('final-table.md', tableMarkdown);
  write('final-table.csv', finalTableCsv(across.final));
  const formats = options.formats ?? ['png', 'html'];
  const figures = [];
  for (const { name, spec } of specs) {
    const svg = await toSVG(spec);
    figures.push({ name, spec, svg });
    write(`${name}.vl.json`, JSON.stringify(spec, null, 1));
    if (formats.includes('svg')) write(`${name}.svg`, svg);
    if (formats.includes('png')) write(`${name}.png`, svgToPNG(svg));
  }
  if (formats.includes('html')) write('report.html', htmlReport(`tunelab study: ${options.tags.join(', ')}`, figures, tableMarkdown, warnings));
  return { files, specs, tableMarkdown, warnings };
}
