import type { TopLevelSpec } from 'vega-lite';
import type { AcrossBenchmarks, CurvePoint } from './aggregate.js';

const WIDTH = 380;
const HEIGHT = 230;

/** Log-scaled y when the values are positive and span more than a decade. */
function yScale(values: number[]): { type: 'log' | 'linear'; zero?: boolean } {
  const pos = values.filter((v) => v > 0);
  return pos.length === values.length && Math.max(...pos) / Math.min(...pos) > 10 ? { type: 'log' } : { type: 'linear', zero: false };
}

/** One panel: the aggregated best-so-far of every setup on one benchmark, with its band. */
export function benchmarkSpec(benchmark: string, metric: string, points: CurvePoint[], bandLabel: string): TopLevelSpec {
  const data = points.filter((p) => p.benchmark === benchmark);
  const scale = yScale(data.flatMap((p) => [p.lower, p.upper, p.center]));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: benchmark,
    width: WIDTH,
    height: HEIGHT,
    data: { values: data },
    encoding: {
      x: { field: 'time', type: 'quantitative', title: 'tuner time (s)' },
      color: { field: 'setup', type: 'nominal', title: 'method' },
    },
    layer: [
      { mark: { type: 'area', opacity: 0.18 }, encoding: { y: { field: 'lower', type: 'quantitative', scale, title: `best ${metric} (${bandLabel})` }, y2: { field: 'upper' } } },
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { y: { field: 'center', type: 'quantitative', scale } } },
    ],
  };
}

/** A per-setup line over the fraction of the time budget, for a measure aggregated over benchmarks. */
function acrossSpec(across: AcrossBenchmarks, title: string, field: 'regret' | 'rank', yTitle: string, scale: object, interpolate?: 'step-after'): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: across.curves },
    mark: { type: 'line', strokeWidth: 2, ...(interpolate ? { interpolate } : {}) },
    encoding: {
      x: { field: 'fraction', type: 'quantitative', title: 'fraction of the time budget' },
      y: { field, type: 'quantitative', scale, title: yTitle },
      color: { field: 'setup', type: 'nominal', title: 'method' },
    },
  };
}

export const regretSpec = (across: AcrossBenchmarks) =>
  acrossSpec(across, 'normalised regret, averaged over benchmarks', 'regret', 'normalised regret', { type: 'symlog', constant: 0.01 });

export const rankSpec = (across: AcrossBenchmarks) => acrossSpec(across, 'average rank over benchmarks (1 = best)', 'rank', 'average rank', { zero: false }, 'step-after');

/** Learning curves of every trial of one experiment, coloured by how the trial ended. */
export function learningCurvesSpec(title: string, resourceAttr: string, metric: string, rows: Record<string, unknown>[]): TopLevelSpec {
  const ended = new Map<unknown, string>();
  for (const r of rows) ended.set(r.trial_id, String(r.st_decision === 'stop' ? 'stopped' : r.st_status));
  const values = rows.map((r) => ({ trial_id: r.trial_id, resource: r[resourceAttr], value: r[metric], ended: ended.get(r.trial_id) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', strokeWidth: 1, opacity: 0.6, point: { size: 8 } },
    encoding: {
      x: { field: 'resource', type: 'quantitative', title: resourceAttr },
      y: { field: 'value', type: 'quantitative', scale: yScale(values.map((v) => v.value as number)), title: metric },
      detail: { field: 'trial_id', type: 'nominal' },
      color: { field: 'ended', type: 'nominal', title: 'trial ended' },
    },
  };
}
