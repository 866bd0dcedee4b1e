/**
 * The dashboard's front end: plain DOM and vega/vega-lite (loaded by the page from this server, as
 * globals). It is compiled with the package (no build step at install, no CDN) and runs in the
 * browser as a module. Every name and value from a store or a results folder goes into text nodes
 * (textContent) or into chart data, never into HTML: a study named like a script shows as text.
 */
export {};

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const vega: any;
declare const vegaLite: any;

type Value = string | number | boolean;

import { readEvents, StreamRefused } from './sse.js';
import { TrialRows } from './trial-rows.js';
// the server's shapes of what it sends (type-only: erased from the compiled module)
import type { Fleet, StudyHead as Head, StudyUpdate as Update, TrialRow as Trial } from '../feed.js';
import type { WireUpdate } from '../live.js';
import type { RungCall } from '../rungs.js';
import type { ReportRecord as Report } from '../../study/storage/store.js';
import type { RunDecision, RunPage } from '../runs.js';

const API = '/dashboard/api';
const app = document.getElementById('app') as HTMLElement;
const live = document.getElementById('live') as HTMLElement;
/** Past this many points a chart draws on a canvas (an SVG node per point would be slow). */
const SVG_LIMIT = 1000;
/**
 * The same for each slice plot: there is one per parameter, so their SVG nodes add up (eight slices
 * of 1,000 points as SVG cost a 10,000-observation page's layout and paint ~0.5 s more).
 */
const SLICE_SVG_LIMIT = 250;
const svgLimitOf = (chart: string) => (chart.startsWith('slice-') ? SLICE_SVG_LIMIT : SVG_LIMIT);
const PC_LIMIT = 500;

// ---------------------------------------------------------------- DOM helpers (text only)

type Child = Node | string | number | null | undefined | false;

function h(tag: string, attrs: Record<string, string | number | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') e.addEventListener(k, v);
    else if (v === true) e.setAttribute(k, '');
    else if (v !== false) e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(typeof c === 'number' ? String(c) : c);
  return e;
}

const fmt = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(4) : v.toPrecision(6).replace(/\.?0+$/, '');
  return String(v);
};
const when = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '');

function section(id: string, title: string, ...children: Child[]): HTMLElement {
  const s = document.getElementById(id);
  const fresh = h('section', { id }, h('h2', {}, title), ...children);
  if (s) s.replaceWith(fresh);
  // the fleet stays last: what changes every second while workers run sits below what does not
  else app.insertBefore(fresh, id === 'fleet' ? null : document.getElementById('fleet'));
  return fresh;
}

/** Draws a section again only when what it shows changed (`key`): a live page leaves the rest of its DOM alone. */
function keyed(id: string, key: string, draw: () => void) {
  if (document.getElementById(id)?.dataset.key === key) return;
  draw();
  (document.getElementById(id) as HTMLElement).dataset.key = key;
}

/** Sets an element's text when it changed. */
function setText(id: string, text: string) {
  const e = document.getElementById(id);
  if (e && e.textContent !== text) e.textContent = text;
}

function table(head: string[], rows: Child[][], rowAttrs: (i: number) => Record<string, string> = () => ({})): HTMLElement {
  return h('table', {}, h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))), h('tbody', {}, ...rows.map((r, i) => h('tr', rowAttrs(i), ...r.map((c) => h('td', typeof c === 'number' ? { class: 'num' } : {}, c))))));
}

function setLive(text: string) {
  live.textContent = text;
}

/** A stream silent this long is dead (the server sends a comment every 15 s); a lost one is opened again after RETRY_MS. */
const SILENT_MS = 40_000;
const RETRY_MS = 3000;

/**
 * Listens to a server-sent events stream (read with fetch: client/sse.ts says why) and says how it
 * is. Reconnects by itself, as EventSource would, unless the server refused the stream (a 4xx).
 */
function listen(url: string, handlers: Record<string, (data: any) => void>) {
  const onEvent = (event: string, data: string) => {
    if (event === 'failure') setLive(`error: ${JSON.parse(data).message}`);
    else handlers[event]?.(JSON.parse(data));
  };
  const connect = async () => {
    try {
      await readEvents(url, () => setLive('live'), onEvent, SILENT_MS);
    } catch (e) {
      if (e instanceof StreamRefused && e.status >= 400 && e.status < 500) {
        setLive(`disconnected: ${e.message}`);
        return;
      }
    }
    if (!live.textContent?.startsWith('error:')) setLive('disconnected: reconnecting…');
    setTimeout(() => void connect(), RETRY_MS);
  };
  void connect();
}

// ---------------------------------------------------------------- charts (vega-lite, compiled in the page)

const views = new Map<string, any>();

let vegaLoaded: Promise<void> | undefined;

/** vega, then vega-lite (which needs it), from this server: loaded once, when a page first draws a chart. */
function loadVega(): Promise<void> {
  const script = (name: string) =>
    new Promise<void>((resolve, reject) => {
      const e = document.createElement('script');
      e.src = `/dashboard/assets/${name}`;
      e.onload = () => resolve();
      e.onerror = () => reject(new Error(`could not load ${name}`));
      document.head.append(e);
    });
  vegaLoaded ??= script('vega.min.js').then(() => script('vega-lite.min.js'));
  return vegaLoaded;
}

/** Gives the browser a turn (to paint, to take input) between two charts. */
const yieldToBrowser = () => new Promise((r) => setTimeout(r, 0));

/** The name of the dataset a live chart's rows are inserted into (view.insert: no redraw of the whole chart). */
const LIVE = 'rows';

/**
 * Draws a vega-lite spec in the element of that id (the previous view there finalised). With
 * `values`, the spec's data is the named dataset LIVE, filled with them, which insertRows extends;
 * `named` fills other named datasets of the spec (replaceRows changes them).
 */
async function draw(id: string, spec: any, points = 0, values?: readonly object[], named: Record<string, readonly object[]> = {}): Promise<void> {
  const container = document.getElementById(id);
  if (!container) return;
  const drawn = views.get(id);
  if (drawn && !inView.has(id)) {
    // a chart drawn before and out of view: it keeps what it shows (moved into its new box, so that
    // nothing below it moves) and is drawn again when it comes into view (flushChart)
    const old = drawn.container() as HTMLElement | null;
    if (old && old !== container) {
      container.replaceChildren(...old.childNodes);
      if (old.dataset.drawn) container.dataset.drawn = old.dataset.drawn;
    }
    deferred.set(id, () => draw(id, spec, points, values, named));
    watchVisible(id, container);
    return;
  }
  deferred.delete(id);
  try {
    await loadVega();
    views.get(id)?.finalize();
    views.delete(id);
    container.textContent = '';
    const compiled = vegaLite.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec, ...(values && { data: { name: LIVE } }) }).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: points > svgLimitOf(id) ? 'canvas' : 'svg', container, hover: true });
    if (values) view.insert(LIVE, values);
    for (const [name, rows] of Object.entries(named)) view.insert(name, rows);
    views.set(id, view);
    watchVisible(id, container);
    await view.runAsync();
    container.dataset.drawn = String(points);
  } catch (e) {
    container.append(h('p', { class: 'err' }, `chart failed: ${(e as Error).message}`));
  }
}

/** Charts in (or near) the viewport: only they take live rows; one out of view gets them when it comes into view. */
const inView = new Set<string>();
const watched = new Map<string, Element>();
let visibility: IntersectionObserver | undefined;

function watchVisible(id: string, container: HTMLElement) {
  visibility ??= new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const chart = (e.target as HTMLElement).id;
        if (!e.isIntersecting) inView.delete(chart);
        else {
          inView.add(chart);
          if (liveCharts.owed) liveCharts.redrawOwed?.();
          else void flushChart(chart);
        }
      }
    },
    { rootMargin: '200px' },
  );
  const old = watched.get(id);
  if (old === container) return;
  if (old) visibility.unobserve(old);
  inView.delete(id);
  watched.set(id, container);
  visibility.observe(container);
}

/** Rows for a live chart: inserted now when it is in view, else kept until it is. */
function queueRows(id: string, rows: readonly object[]) {
  if (rows.length === 0 || !views.has(id)) return;
  const q = liveCharts.pending.get(id);
  if (q) for (const r of rows) q.push(r);
  else liveCharts.pending.set(id, [...rows]);
}

/** Full draws of charts that were out of view: the latest of each, run when it comes into view. */
const deferred = new Map<string, () => Promise<void>>();
const redrawing = new Map<string, Promise<void>>();

/**
 * A chart in view gets what it missed: its deferred full draw first, then the rows that came after
 * it. Rows wait for a full draw under way, which would otherwise replace the view they went into.
 */
async function flushChart(id: string): Promise<void> {
  if (document.hidden) return;
  const redraw = deferred.get(id);
  if (redraw) {
    deferred.delete(id);
    const running = redraw();
    redrawing.set(id, running);
    try {
      await running;
    } finally {
      redrawing.delete(id);
    }
  } else await redrawing.get(id);
  const rows = liveCharts.pending.get(id);
  if (!rows) return;
  liveCharts.pending.delete(id);
  await insertRows(id, rows);
}

/** Replaces a named dataset's rows in a drawn chart (the front, when it changed). */
async function replaceRows(id: string, name: string, rows: readonly object[]): Promise<void> {
  const view = views.get(id);
  if (view) await view.change(name, vega.changeset().remove(() => true).insert(rows)).runAsync();
}

/** Adds rows to a live chart's dataset: vega updates its marks from the changeset, the chart is not built again. */
async function insertRows(id: string, rows: readonly object[]): Promise<void> {
  const view = views.get(id);
  const container = document.getElementById(id);
  if (!view || !container || rows.length === 0) return;
  await view.insert(LIVE, rows).runAsync();
  container.dataset.drawn = String(Number(container.dataset.drawn ?? 0) + rows.length);
}

/**
 * At most `limit` of `items` for a chart that cannot show more distinctly: every one `keep` says
 * must stay (the best ones, a new best), and an even stride through the others (the stride is
 * returned: live inserts go on with it).
 */
function thin<T>(items: readonly T[], limit: number, keep: (t: T, i: number) => boolean): { items: T[]; stride: number } {
  if (items.length <= limit) return { items: [...items], stride: 1 };
  const kept = items.filter(keep);
  const stride = Math.max(1, Math.ceil(items.length / Math.max(1, limit - kept.length)));
  return { items: items.filter((t, i) => keep(t, i) || i % stride === 0), stride };
}

/** The k smallest numbers, their last (a typed array's sort: native, no comparator called per pair). */
const kthLeast = (keys: Float64Array, k: number) => keys.sort()[k - 1];

/**
 * The k items of least key in key order, ties in their order: what a stable sort of them all and a
 * slice give, for a fraction of its cost (a live study's full draw picked 500 of 100,000 so).
 */
function leastK<T>(items: readonly T[], k: number, key: (t: T) => number): T[] {
  const kth = kthLeast(Float64Array.from(items, key), k);
  // NaN sorts last: when the k-th is NaN, every number is below it
  const below = (x: number) => x < kth || (Number.isNaN(kth) && !Number.isNaN(x));
  const tied = (x: number) => x === kth || (Number.isNaN(kth) && Number.isNaN(x));
  const picked = items.filter((t) => below(key(t)));
  for (const t of items) if (picked.length < k && tied(key(t))) picked.push(t);
  return picked.sort((a, b) => key(a) - key(b));
}

// ---------------------------------------------------------------- home

function home() {
  listen(`${API}/home/events`, {
    home: (d: { studies: any[]; tags: any[] }) => {
      section(
        'studies',
        'Studies',
        d.studies.length === 0
          ? h('p', {}, 'No study in the stores given (--storage).')
          : table(
              ['study', 'store', 'status', 'method', 'progress', 'best', 'failed', 'open', 'workers alive', 'last update'],
              d.studies.map((s) => [
                h('a', { href: `/study/${s.store}/${s.id}` }, s.name),
                s.storage,
                s.error ? h('span', { class: 'err' }, `${s.status}: ${s.error}`) : s.status,
                s.method,
                `${s.observations} / ${s.budget ?? '∞'}`,
                s.front !== null ? h('span', { class: 'front-size', 'data-front': s.front }, `Pareto front of ${s.front} point${s.front === 1 ? '' : 's'}`) : s.best === null ? '' : `${s.metric} ${fmt(s.best)}`,
                s.failed,
                s.open,
                s.workersAlive,
                when(s.updatedAt),
              ]),
            ),
      );
      section(
        'tags',
        'Experiment tags (results root)',
        d.tags.length === 0 ? h('p', {}, 'No experiment tag under the results root.') : table(['tag', 'runs', 'last update'], d.tags.map((t) => [h('a', { href: `/tag/${encodeURIComponent(t.tag)}` }, t.tag), t.runs, when(t.updatedAt)])),
      );
      document.body.dataset.ready = '1';
    },
  });
}

// ---------------------------------------------------------------- study

interface StudyState {
  head: Head;
  /** Every trial, in columns (client/trial-rows.ts says why): built as an object when asked for. */
  trials: TrialRows;
  reports: Report[];
  calls: RungCall[];
  fleet: Fleet;
  lastReport: number;
  /** Every metric a trial was told with (the table's columns), kept as trials come. */
  metricNames: Set<string>;
}

const ui = { sort: 'id', desc: false, filter: '', logY: false };
/** Past this many points a scatter chart is thinned (POINT_LIMIT / 2 for the small slice plots); the best SLICE_BEST stay in every slice. */
const POINT_LIMIT = 2000;
const SLICE_BEST = 300;
/** A live page applies what came at most once per LIVE_MS (the server reads the stores once a second). */
const LIVE_MS = 1000;
/**
 * The charts are drawn in full again when the observations have grown by half (and by FULL_MIN)
 * since the last full draw, or FULL_SECONDS passed on a study of fewer than FULL_SMALL: between
 * them new rows are inserted (thinned with the stride of the last full draw). Full draws come each
 * time the study grows by half: every observation costs the charts O(1) amortised.
 */
const FULL_GROWTH = 1.5;
const FULL_MIN = 50;
const FULL_SECONDS = 30;
const FULL_SMALL = 5000;
/** What the live inserts continue from: the count, best and strides of the last full draw, and the rows waiting for a chart out of view. */
const liveCharts = {
  drawnN: 0,
  drawnAt: 0,
  /**
   * A full draw came due while no chart was in view: it was not made (nor were rows kept for the
   * charts), and the first chart to come into view has them all drawn in full (`redrawOwed`). A
   * live page whose charts nobody looks at computes nothing for them.
   */
  owed: false,
  redrawOwed: undefined as (() => void) | undefined,
  history: { n: 0, best: null as number | null, stride: 1 },
  slice: { n: 0, stride: 1, cut: Infinity },
  pending: new Map<string, object[]>(),
};
const curveRow = (r: Report, stopped: boolean) => ({ trial: r.suggestionId, resource: r.resource, value: r.value, decision: stopped ? 'stopped by the scheduler' : 'not stopped' });
const sliceRow = (t: Trial, name: string) => ({ x: t.config[name], value: t.value, trial: t.id, feasible: t.feasible ? 'feasible' : 'infeasible' });
let importanceAt = 0;

/**
 * An update into a study page's state (none yet: a new one), its trials set from their columns
 * without building them; returns the trials it added and those it saw observed.
 */
function applyUpdate(s: StudyState | undefined, u: WireUpdate): { state: StudyState; added: number[]; observed: number[] } {
  const state: StudyState = s ?? { head: u.head, trials: new TrialRows(), reports: [], calls: [], fleet: u.fleet, lastReport: 0, metricNames: new Set() };
  state.head = u.head;
  state.fleet = u.fleet;
  const { added, observed } = state.trials.setColumns(u.trials);
  for (const [m, values] of Object.entries(u.trials.metrics)) if (!state.metricNames.has(m) && values.some((v) => v !== null)) state.metricNames.add(m);
  // a delta may repeat rows a snapshot held: reports and rung calls are kept once by id
  const known = state.lastReport;
  for (const r of u.reports) if (r.id > known) state.reports.push(r);
  for (const c of u.calls) if (c.reportId > known) state.calls.push(c);
  if (state.reports.length) state.lastReport = state.reports[state.reports.length - 1].id;
  return { state, added, observed };
}

function whyText(t: Trial): string {
  const w = t.why;
  if (!w) return t.decision ?? '';
  const verb = w.decision === 'stop' ? 'stopped' : 'went on';
  return `${verb} at rung ${w.level}: rank ${w.rank} of ${w.size} (top ${w.keep} go on), threshold ${fmt(w.threshold)}, value ${fmt(w.value)}`;
}

function observedTrials(s: StudyState): Trial[] {
  return [...s.trials.values()].filter((t) => t.observedAt !== null).sort((a, b) => a.observedAt! - b.observedAt! || a.id - b.id);
}

function renderHead(s: StudyState) {
  const hd = s.head;
  setText('title', hd.name);
  const b = s.fleet.budget;
  const best = hd.best;
  keyed('summary', JSON.stringify([hd.method, hd.objectives, hd.constraints]), () =>
    section(
      'summary',
      'Study',
      h(
        'dl',
        { class: 'kv' },
        h('dt', {}, 'status'),
        h('dd', { id: 'status' }),
        h('dt', {}, 'method'),
        h('dd', {}, hd.method),
        h('dt', {}, hd.objectives.length > 1 ? 'objectives' : 'objective'),
        h('dd', {}, hd.objectives.map(direction).join(', ')),
        h('dt', {}, 'progress'),
        h('dd', { id: 'progress' }),
        h('dt', {}, 'constraints'),
        h('dd', {}, hd.constraints.length ? hd.constraints.map((c) => c.text).join(', ') : 'none'),
        h('dt', {}, 'last update'),
        h('dd', { id: 'updated' }),
      ),
    ),
  );
  // what changes while workers run: its text only
  setText('status', hd.status);
  setText('progress', `${b.done} / ${b.maxTrials ?? '∞'} observations`);
  setText('updated', when(hd.updatedAt));
  if (hd.front) {
    const front = hd.front;
    keyed('best', frontKey(front), () => renderFront(hd, front));
  } else
    keyed('best', JSON.stringify([best?.suggestionId, best?.value]), () =>
      section(
        'best',
        'Best feasible trial',
        best
          ? h(
              'div',
              {},
              h('p', {}, `${hd.metric} `, h('strong', { id: 'best-value', 'data-value': String(best.value) }, fmt(best.value)), ' at trial ', h('a', { href: `/study/${hd.store}/${hd.id}/trial/${best.suggestionId}` }, String(best.suggestionId))),
              table(['parameter', 'value'], Object.entries(best.config).map(([k, v]) => [k, fmt(v)])),
            )
          : h('p', { id: 'best-value' }, 'no feasible observation yet'),
      ),
    );
}

interface Column {
  key: string;
  label: string;
  get: (t: Trial) => Value | null;
}

function columnsOf(s: StudyState): Column[] {
  const hd = s.head;
  return [
    { key: 'id', label: 'trial', get: (t) => t.id },
    { key: 'state', label: 'state', get: (t) => t.state },
    { key: 'value', label: hd.metric, get: (t) => t.value },
    { key: 'feasible', label: 'feasible', get: (t) => (t.feasible === null ? null : t.feasible ? 'yes' : 'no') },
    ...hd.parameters.map((p) => ({ key: `p:${p.name}`, label: p.name, get: (t: Trial) => t.config[p.name] ?? null })),
    ...[...s.metricNames].filter((m) => m !== hd.metric).sort().map((m) => ({ key: `m:${m}`, label: m, get: (t: Trial) => t.metrics[m] ?? null })),
    { key: 'worker', label: 'worker', get: (t) => t.worker },
    { key: 'host', label: 'host', get: (t) => t.host },
    { key: 'duration', label: 'duration (s)', get: (t) => t.duration },
    { key: 'attempts', label: 'attempts', get: (t) => t.attempts },
    ...(hd.rung ? [{ key: 'resource', label: hd.resourceAttr ?? 'resource', get: (t: Trial) => t.resource }, { key: 'why', label: 'decision (why)', get: (t: Trial) => whyText(t) }] : []),
  ];
}

/**
 * The trial table is virtual: every trial is in `order` (sorted and filtered, ids), only the rows in
 * view (and OVERSCAN on either side) are in the DOM, spacers stand for the others. A live batch
 * appends new trials (sorted by id, the default) or merges the changed ones into the order (another
 * sort or a filter), and the window is drawn again only when a row in it changed.
 */
const TABLE_PX = 600;
const OVERSCAN = 20;
const table$ = { order: [] as number[], keys: [] as (Value | null)[], rowPx: 22, shown: '', columns: '', cols: [] as Column[] };

/** The table's order: by the sort column's value (numbers by size, others as text, empty last), then by id. */
function compareKeys(x: Value | null, xId: number, y: Value | null, yId: number): number {
  const c = x === y ? 0 : x === null ? 1 : y === null ? -1 : typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
  return c || xId - yId;
}

/** The column the table is sorted by (the first, if the one chosen is gone). */
const sortColumn = () => table$.cols.find((c) => c.key === ui.sort) ?? table$.cols[0];

function matches(t: Trial, needle: string): boolean {
  return !needle || table$.cols.some((c) => fmt(c.get(t)).toLowerCase().includes(needle));
}

/** Trials with their sort key, in table order. */
function keyedSort(trials: Iterable<Trial>, needle: string): { id: number; key: Value | null }[] {
  const col = sortColumn();
  const rows: { id: number; key: Value | null }[] = [];
  for (const t of trials) if (matches(t, needle)) rows.push({ id: t.id, key: col.get(t) });
  return rows.sort((a, b) => compareKeys(a.key, a.id, b.key, b.id));
}

/** The whole order again (a new sort, a filter typed, new columns): what the user asked for, once. */
function resort(s: StudyState) {
  const rows = keyedSort(s.trials.values(), ui.filter.toLowerCase());
  table$.order = rows.map((r) => r.id);
  table$.keys = rows.map((r) => r.key);
  table$.shown = '';
}

/**
 * The order after a live batch: new trials appended (sorted by id, no filter), else the changed ones
 * merged in by the sort keys kept beside the order (O(n + k log k), at most once a second; no
 * trial but the changed ones is built).
 */
function reorder(s: StudyState, changed: ReadonlySet<number>, added: readonly number[]) {
  if (changed.size === 0) return;
  const needle = ui.filter.toLowerCase();
  if (ui.sort === 'id' && !needle) {
    for (const id of added) {
      table$.order.push(id);
      table$.keys.push(id);
    }
    return;
  }
  const fresh = keyedSort([...changed].map((id) => s.trials.get(id)!), needle);
  const order: number[] = [];
  const keys: (Value | null)[] = [];
  const take = (id: number, key: Value | null) => {
    order.push(id);
    keys.push(key);
  };
  let j = 0;
  table$.order.forEach((id, i) => {
    if (changed.has(id)) return;
    const key = table$.keys[i];
    for (; j < fresh.length && compareKeys(fresh[j].key, fresh[j].id, key, id) < 0; j++) take(fresh[j].id, fresh[j].key);
    take(id, key);
  });
  for (; j < fresh.length; j++) take(fresh[j].id, fresh[j].key);
  [table$.order, table$.keys] = [order, keys];
}

const direction = (o: { metric: string; mode: 'min' | 'max' }) => `${o.mode === 'min' ? 'minimize' : 'maximize'} ${o.metric}`;

/** Several objectives: the best is the Pareto front (what `study best` prints), each point's objectives and config. */
function renderFront(hd: Head, front: NonNullable<Head['front']>) {
  const params = hd.parameters.map((p) => p.name);
  section(
    'best',
    'Best feasible trials: the Pareto front',
    front.points.length === 0
      ? h('p', { id: 'front-size' }, 'no feasible observation yet')
      : h(
          'div',
          {},
          h('p', { id: 'front-size', 'data-size': front.points.length }, `Pareto front of ${front.points.length} point${front.points.length === 1 ? '' : 's'} (${front.objectives.map(direction).join(', ')}): no other feasible observation is as good in every objective and better in one.`),
          h(
            'table',
            { id: 'front-table' },
            h('thead', {}, h('tr', {}, ...['trial', ...front.objectives.map((o) => o.metric), ...params].map((c) => h('th', {}, c)))),
            h(
              'tbody',
              {},
              ...front.points.map((p) =>
                h(
                  'tr',
                  { 'data-trial': p.suggestionId, 'data-values': JSON.stringify(front.objectives.map((o) => p.values[o.metric])) },
                  h('td', { class: 'num' }, h('a', { href: `/study/${hd.store}/${hd.id}/trial/${p.suggestionId}` }, String(p.suggestionId))),
                  ...front.objectives.map((o) => h('td', { class: 'num' }, fmt(p.values[o.metric]))),
                  ...params.map((k) => h('td', {}, fmt(p.config[k]))),
                ),
              ),
            ),
          ),
        ),
  );
}

function renderTable(s: StudyState, changed: ReadonlySet<number> = new Set(), added: readonly number[] = []) {
  const cols = columnsOf(s);
  const signature = cols.map((c) => c.key).join('\u0000');
  if (signature !== table$.columns || !document.getElementById('trial-table')) {
    // the first time, or a new metric column: the table is built anew, and the order with it
    table$.columns = signature;
    table$.cols = cols;
    buildTable(s);
    resort(s);
  } else reorder(s, changed, added);
  const n = table$.order.length;
  setText('row-count', `${n} of ${s.trials.size} trials`);
  const t = document.getElementById('trial-table') as HTMLElement;
  if (t.dataset.rows !== String(n)) t.dataset.rows = String(n);
  drawWindow(s, changed);
}

function buildTable(s: StudyState) {
  const hd = s.head;
  const filter = h('input', { type: 'search', id: 'filter', placeholder: 'filter rows', value: ui.filter });
  filter.addEventListener('input', () => {
    ui.filter = (filter as HTMLInputElement).value;
    resort(s);
    renderTable(s);
  });
  const thead = h(
    'tr',
    {},
    ...table$.cols.map((c) =>
      h(
        'th',
        {
          'data-key': c.key,
          click: () => {
            ui.desc = ui.sort === c.key ? !ui.desc : false;
            ui.sort = c.key;
            for (const th of thead.children) {
              const k = (th as HTMLElement).dataset.key!;
              th.textContent = table$.cols.find((x) => x.key === k)!.label + (k === ui.sort ? (ui.desc ? ' ▼' : ' ▲') : '');
            }
            resort(s);
            renderTable(s);
          },
        },
        c.label + (c.key === ui.sort ? (ui.desc ? ' ▼' : ' ▲') : ''),
      ),
    ),
  );
  const scroller = h('div', { id: 'trial-scroll', class: 'scroll', style: `max-height: ${TABLE_PX}px` }, h('div', { id: 'trial-above' }), h('table', { id: 'trial-table' }, h('thead', {}, thead), h('tbody', {})), h('div', { id: 'trial-below' }));
  let queued = false;
  scroller.addEventListener('scroll', () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      drawWindow(s, new Set());
    });
  });
  section(
    'trials',
    'Trials',
    h('div', { class: 'toolbar' }, filter, h('span', { id: 'row-count' }), h('a', { href: `${API}/study/${hd.store}/${hd.id}/trials.csv`, download: `study-${hd.id}-trials.csv` }, 'CSV (every trial)')),
    scroller,
  );
}

/** The rows in view into the DOM (when they or a row among them changed), spacers for the rest. */
function drawWindow(s: StudyState, changed: ReadonlySet<number>) {
  const hd = s.head;
  const scroller = document.getElementById('trial-scroll') as HTMLElement;
  const n = table$.order.length;
  const px = table$.rowPx;
  const first = Math.max(0, Math.floor(scroller.scrollTop / px) - OVERSCAN);
  const last = Math.min(n, Math.ceil((scroller.scrollTop + TABLE_PX) / px) + OVERSCAN);
  const ids: number[] = [];
  for (let i = first; i < last; i++) ids.push(table$.order[ui.desc ? n - 1 - i : i]);
  const key = `${first}:${ids.join(',')}`;
  if (key === table$.shown && !ids.some((id) => changed.has(id))) return;
  table$.shown = key;
  const tbody = document.querySelector('#trial-table tbody') as HTMLElement;
  tbody.replaceChildren(
    ...ids.map((id) => {
      const t = s.trials.get(id)!;
      return h(
        'tr',
        { 'data-trial': t.id, class: t.decision === 'stop' ? 'stop' : t.state === 'failed' ? 'failed' : '', ...(t.why && { 'data-rung': t.why.level, 'data-rank': t.why.rank, 'data-size': t.why.size, 'data-threshold': String(t.why.threshold), 'data-decision': t.why.decision, 'data-source': t.why.source }) },
        ...table$.cols.map((c) => {
          const v = c.get(t);
          if (c.key === 'id') return h('td', { class: 'num' }, h('a', { href: `/study/${hd.store}/${hd.id}/trial/${t.id}` }, String(t.id)));
          return h('td', typeof v === 'number' ? { class: 'num' } : {}, fmt(v));
        }),
      );
    }),
  );
  // rows are one line high (nowrap): the first row drawn gives their height
  const row = tbody.firstElementChild as HTMLElement | null;
  if (row && row.offsetHeight > 0) table$.rowPx = row.offsetHeight;
  (document.getElementById('trial-above') as HTMLElement).style.height = `${first * table$.rowPx}px`;
  (document.getElementById('trial-below') as HTMLElement).style.height = `${(n - last) * table$.rowPx}px`;
}

function chartBox(id: string, caption: string): HTMLElement {
  return h('figure', {}, h('div', { id, class: 'chart' }), h('figcaption', {}, caption));
}

async function renderCharts(s: StudyState) {
  const hd = s.head;
  const observed = observedTrials(s);
  // importance: computed by the server when the observations have grown by a tenth since the last
  // time; asked for first, so that the server computes it while the other charts are drawn, unless
  // the chart is out of view (it is asked for when it comes into view)
  const importanceDue = observed.length >= 20 && observed.length >= importanceAt * 1.1;
  const importance = importanceDue && !(views.has('importance-chart') && !inView.has('importance-chart')) ? askImportance(hd, observed.length) : undefined;
  const better = (a: number, b: number) => (hd.mode === 'min' ? a < b : a > b);
  let best: number | null = null;
  const history = observed.map((t, i) => {
    if (t.feasible && t.value !== null && (best === null || better(t.value, best))) best = t.value;
    return { n: i + 1, trial: t.id, value: t.value, best, feasible: t.feasible ? 'feasible' : 'infeasible', state: t.state };
  });
  const logBox = h('input', { type: 'checkbox', id: 'log-y', checked: ui.logY });
  logBox.addEventListener('change', () => {
    ui.logY = (logBox as HTMLInputElement).checked;
    void renderCharts(s);
  });
  const feasibleCount = observed.filter((t) => t.feasible).length;
  section(
    'history',
    'History',
    h('label', { class: 'toolbar' }, logBox, `log scale for ${hd.metric}`),
    chartBox('history-chart', `Every observation's ${hd.metric} in the order they were told (infeasible and failed ones marked), and the best feasible value so far (the line).`),
    h('p', { id: 'feasibility' }, hd.constraints.length ? `Constraint feasibility: ${feasibleCount} of ${observed.length} observations feasible (${hd.constraints.map((c) => c.text).join(', ')}).` : `No outcome constraint: every successful observation is feasible (${feasibleCount} of ${observed.length}).`),
  );
  const yScale = ui.logY ? { type: 'log' } : { zero: false };
  const all = history.filter((r) => r.value !== null && (!ui.logY || r.value > 0));
  // 700 px cannot show 10,000 points apart: past POINT_LIMIT, every new best and an even stride of the others
  const { items: rows, stride } = thin(all, POINT_LIMIT, (r, i) => i === 0 || r.best !== all[i - 1].best);
  if (rows.length < all.length) document.querySelector('#history figcaption')!.append(` ${rows.length} of ${all.length} observations drawn (every new best, and an even stride of the others).`);
  liveCharts.history = { n: history.length, best, stride };
  liveCharts.drawnN = history.length;
  liveCharts.drawnAt = performance.now();
  liveCharts.pending.clear();
  await draw(
    'history-chart',
    {
      width: 700,
      height: 260,
      layer: [
        { mark: { type: 'point', filled: true, opacity: 0.6 }, encoding: { x: { field: 'n', type: 'quantitative', title: 'observation' }, y: { field: 'value', type: 'quantitative', title: hd.metric, scale: yScale }, color: { field: 'feasible', type: 'nominal', title: null }, tooltip: [{ field: 'trial' }, { field: 'value' }] } },
        { mark: { type: 'line', color: '#d62728', interpolate: 'step-after' }, encoding: { x: { field: 'n', type: 'quantitative' }, y: { field: 'best', type: 'quantitative', scale: yScale } } },
      ],
    },
    rows.length,
    rows,
  );
  await yieldToBrowser();
  await drawFront(s, observed);

  // learning curves, coloured by the scheduler's decision
  if (s.reports.length > 0) {
    const stopped = new Set([...s.trials.values()].filter((t) => t.decision === 'stop').map((t) => t.id));
    const curves = s.reports.map((r) => curveRow(r, stopped.has(r.suggestionId)));
    section('curves', 'Learning curves', chartBox('curves-chart', `Each trial's intermediate ${hd.metric} against ${hd.resourceAttr ?? 'the resource'}, coloured by the scheduler's decision.`));
    await yieldToBrowser();
    await draw(
      'curves-chart',
      { width: 700, height: 260, mark: { type: 'line', point: curves.length < 400, opacity: 0.7 }, encoding: { x: { field: 'resource', type: 'quantitative', title: hd.resourceAttr ?? 'resource' }, y: { field: 'value', type: 'quantitative', title: hd.metric, scale: yScale }, detail: { field: 'trial' }, color: { field: 'decision', type: 'nominal', title: null, scale: { domain: ['stopped by the scheduler', 'not stopped'], range: ['#d62728', '#1f77b4'] } } } },
      curves.length,
      curves,
    );
  }
  if (hd.rung && s.calls.length > 0) {
    // the ladder: how many trials have reached each rung, over time
    const reached = new Map<number, number>();
    const ladder = s.calls.map((c) => {
      reached.set(c.level, (reached.get(c.level) ?? 0) + 1);
      return { time: new Date(c.time).toISOString(), rung: `${hd.resourceAttr ?? 'resource'} ${c.level}`, trials: reached.get(c.level) };
    });
    const stops = s.calls.filter((c) => c.decision === 'stop').length;
    section(
      'ladder',
      'Rung ladder',
      chartBox('ladder-chart', `Trials that reached each rung (levels ${hd.rung.levels.join(', ')}, η = ${hd.rung.reductionFactor}) over time; ${stops} of ${s.calls.length} rung decisions stopped a trial. Each stop was made on the trial's rank among the values at its rung then: it goes on only in the top ⌈n/η⌉.`),
    );
    await yieldToBrowser();
    await draw('ladder-chart', { width: 700, height: 220, data: { values: ladder }, mark: { type: 'line', interpolate: 'step-after' }, encoding: { x: { field: 'time', type: 'temporal' }, y: { field: 'trials', type: 'quantitative', title: 'trials at the rung' }, color: { field: 'rung', type: 'nominal', sort: null, title: null } } }, ladder.length);
  }

  // parallel coordinates: every parameter and the metric on [0, 1] (a choice's values by their order)
  const params = hd.parameters;
  if (params.length > 0 && observed.length > 0) {
    // long form built here (one row per trial and axis, each axis scaled to its range): field names never come from users
    const keys = [...params.map((p) => p.name), hd.metric];
    // past PC_LIMIT trials, the best ones: thousands of lines hide each other and cost seconds to draw
    const sign = hd.mode === 'min' ? 1 : -1;
    const valued = observed.filter((t) => t.value !== null);
    const withValue = valued.length > PC_LIMIT ? leastK(valued, PC_LIMIT, (t) => sign * t.value!) : valued;
    const axes = keys.map((_k, j) => withValue.map((t) => {
      if (j === params.length) return t.value!;
      const p = params[j];
      const v = t.config[p.name];
      return p.values ? p.values.indexOf(v) : p.log ? Math.log10(Number(v)) : Number(v);
    }));
    const pc = axes.flatMap((vals, j) => {
      const lo = Math.min(...vals);
      const hi = Math.max(...vals);
      return vals.map((v, i) => ({ trial: withValue[i].id, axis: keys[j], norm: hi > lo ? (v - lo) / (hi - lo) : 0.5, metric: withValue[i].value }));
    });
    section('parallel', 'Parallel coordinates', chartBox('parallel-chart', `${withValue.length < valued.length ? `The best ${withValue.length} of ${valued.length} trials` : 'Each trial'}: a line through its parameters (log ones as log10, choices by position) and ${hd.metric}, each axis scaled to its range; colour: ${hd.metric}.`));
    await yieldToBrowser();
    await draw(
      'parallel-chart',
      {
        width: Math.max(300, keys.length * 110),
        height: 260,
        data: { values: pc },
        mark: { type: 'line', opacity: 0.4 },
        encoding: { x: { field: 'axis', type: 'nominal', sort: keys, title: null }, y: { field: 'norm', type: 'quantitative', axis: null }, detail: { field: 'trial' }, color: { field: 'metric', type: 'quantitative', title: hd.metric, scale: { reverse: hd.mode === 'min' } } },
      },
      pc.length,
    );
    // one slice plot per parameter: 300 px cannot show 10,000 points apart either (the best SLICE_BEST kept, an even stride of the others)
    const slicing = observed.filter((t) => t.value !== null && (!ui.logY || t.value > 0));
    const cut = kthLeast(Float64Array.from(slicing, (t) => sign * t.value!), Math.min(SLICE_BEST, slicing.length));
    const { items: slices, stride: sliceStride } = thin(slicing, POINT_LIMIT / 2, (t) => sign * t.value! <= cut);
    liveCharts.slice = { n: slicing.length, stride: sliceStride, cut: sliceStride > 1 ? cut : Infinity };
    const note = slices.length < slicing.length ? ` (${slices.length} of ${slicing.length} observations: the best ${SLICE_BEST} and an even stride of the others)` : '';
    section('slices', 'Slices', h('div', { class: 'slices' }, ...params.map((p, i) => chartBox(`slice-${i}`, `${hd.metric} against ${p.name}${p.log ? ' (log axis)' : ''}${note}`))));
    for (const [i, p] of params.entries()) {
      const values = slices.map((t) => sliceRow(t, p.name));
      const x = p.values ? { field: 'x', type: 'nominal', title: p.name, sort: p.values } : { field: 'x', type: 'quantitative', title: p.name, scale: p.log ? { type: 'log' } : { zero: false } };
      await yieldToBrowser();
      await draw(`slice-${i}`, { width: 300, height: 180, mark: { type: 'point', filled: true, opacity: 0.6 }, encoding: { x, y: { field: 'value', type: 'quantitative', title: hd.metric, scale: yScale }, color: { field: 'feasible', type: 'nominal', title: null }, tooltip: [{ field: 'trial' }, { field: 'x', title: p.name }, { field: 'value' }] } }, values.length, values);
    }
  }
  if (importance) await drawImportance(await importance);
  else if (importanceDue) deferred.set('importance-chart', async () => drawImportance(await askImportance(hd, observed.length)));
  else if (observed.length < 20 && !document.getElementById('importance')) {
    section('importance', 'Parameter importance', h('p', {}, 'PED-ANOVA needs at least 20 feasible observations.'));
  }
}

/** The study's parameter importance from the server (which computes it again when the study grew by a tenth). */
function askImportance(hd: Head, observed: number): Promise<any> {
  importanceAt = observed;
  return fetch(`${API}/study/${hd.store}/${hd.id}/importance`)
    .then((r) => r.json())
    .catch((e: Error) => ({ failed: e.message }));
}

async function drawImportance(r: any) {
  if (r.failed) section('importance', 'Parameter importance', h('p', { class: 'err' }, `could not be read: ${r.failed}`));
  else if (r.result) {
    section('importance', 'Parameter importance', chartBox('importance-chart', `${r.result.method}, over ${r.result.trials} trials (top ${r.result.top}).`));
    await draw('importance-chart', { width: 400, height: Math.max(60, 24 * r.result.importances.length), data: { values: r.result.importances }, mark: 'bar', encoding: { y: { field: 'name', type: 'nominal', sort: '-x', title: null }, x: { field: 'importance', type: 'quantitative', scale: { domain: [0, 1] } } } }, r.result.importances.length);
  }
}

/** A trial's objectives as chart fields o0, o1, … (a metric's name from a user is a title, never a field path). */
const objectiveRow = (hd: Head, id: number, values: Readonly<Record<string, number>>) => ({ trial: id, ...Object.fromEntries(hd.objectives.map((o, k) => [`o${k}`, values[o.metric]])) });
const hasObjectives = (hd: Head, t: Trial) => t.feasible === true && hd.objectives.every((o) => typeof t.metrics[o.metric] === 'number');
const frontRows = (hd: Head) => (hd.front?.points ?? []).map((p) => objectiveRow(hd, p.suggestionId, p.values));
/** Which trials form the front: the best section and the front chart change only when it does. */
const frontKey = (front: NonNullable<Head['front']>) => front.points.map((p) => p.suggestionId).join(',');
/** The front the front chart shows (its trials), to replace its points only when it changed. */
let frontShown = '';

/** Several objectives: every feasible observation and the Pareto front highlighted, a scatter per pair of objectives. */
async function drawFront(s: StudyState, observed: readonly Trial[]) {
  const hd = s.head;
  const k = hd.objectives.length;
  if (k < 2 || !hd.front) return;
  const all = observed.filter((t) => hasObjectives(hd, t)).map((t) => objectiveRow(hd, t.id, t.metrics));
  const { items } = thin(all, POINT_LIMIT, () => false);
  const axis = (j: number) => ({ field: `o${j}`, type: 'quantitative', title: `${hd.objectives[j].metric} (${hd.objectives[j].mode === 'min' ? 'min' : 'max'})`, scale: { zero: false } });
  const pair = (a: number, b: number) => {
    const encoding = { x: axis(a), y: axis(b), tooltip: [{ field: 'trial' }, { field: `o${a}`, title: hd.objectives[a].metric }, { field: `o${b}`, title: hd.objectives[b].metric }] };
    return {
      width: k === 2 ? 500 : 280,
      height: k === 2 ? 300 : 220,
      layer: [
        { mark: { type: 'point', filled: true, opacity: 0.35, color: '#7f8c9a' }, encoding },
        { data: { name: 'front' }, mark: { type: 'point', filled: true, size: 70, color: '#d62728' }, encoding },
      ],
    };
  };
  const pairs: [number, number][] = [];
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) pairs.push([a, b]);
  const note = items.length < all.length ? ` ${items.length} of ${all.length} observations drawn (an even stride), the front always.` : '';
  section('front', 'Pareto front', chartBox('front-chart', `Every feasible observation (grey) and the ${hd.front.points.length} on the Pareto front (red)${k > 2 ? ', for each pair of objectives' : ''}.${note}`));
  const spec = pairs.length === 1 ? pair(...pairs[0]) : { concat: pairs.map(([a, b]) => pair(a, b)), columns: 3 };
  frontShown = frontKey(hd.front);
  await draw('front-chart', spec, items.length + hd.front.points.length, items, { front: frontRows(hd) });
}

/** Workers gone (lost or exited) listed at most, the latest; a study that ran for days has had thousands. */
const GONE_SHOWN = 20;

/**
 * The fleet is built once and then kept in step in place: each second the workers' last-seen times,
 * the leases and the budget change, and rebuilding the section each time cost a live page a layout
 * of every row (a study with hundreds of workers: 60–100 ms a second).
 */
function renderFleet(s: StudyState) {
  const f = s.fleet;
  const b = f.budget;
  if (!document.getElementById('fleet')) {
    const dd = (id: string) => h('dd', { id });
    section(
      'fleet',
      'Fleet health',
      h('dl', { class: 'kv', id: 'budget' }, h('dt', {}, 'budget'), dd('fleet-budget'), h('dt', {}, 'observed'), dd('fleet-observed'), h('dt', {}, 'running (open)'), dd('fleet-open'), h('dt', {}, 'ready (buffered)'), dd('fleet-ready'), h('dt', {}, 'abandoned'), dd('fleet-abandoned'), h('dt', {}, 'recovered'), dd('fleet-recovered'), h('dt', {}, 'remaining'), dd('fleet-remaining')),
      h('p', { id: 'fleet-no-workers' }, 'No worker has registered.'),
      h('div', { id: 'fleet-workers' }, table(['worker', 'host', 'pid', 'state', 'running', 'started', 'last seen'], []), h('p', { id: 'fleet-gone' })),
      h('div', { id: 'fleet-leases' }, h('h3', {}, 'Leases'), table(['suggestion', 'worker', 'host', 'lease', 'attempts'], [])),
    );
  }
  const expired = f.leases.filter((l) => l.expired).length;
  setText('fleet-budget', b.maxTrials === null ? 'no trial limit' : `${b.maxTrials} observations`);
  setText('fleet-observed', `${b.done} (${b.failed} failed)`);
  setText('fleet-open', `${b.open} (${expired} with an expired lease)`);
  setText('fleet-ready', String(b.ready));
  setText('fleet-abandoned', String(b.abandoned));
  setText('fleet-recovered', `${f.recovered} suggestion(s) handed out again after a lease ran out`);
  setText('fleet-remaining', b.remaining === null ? '∞' : String(b.remaining));
  const isGone = (w: Fleet['workers'][number]) => w.state === 'lost' || w.state === 'exited';
  const gone = f.workers.filter(isGone).sort((x, y) => y.lastSeen - x.lastSeen);
  const shown = [...f.workers.filter((w) => !isGone(w)), ...gone.slice(0, GONE_SHOWN)];
  showIf('fleet-no-workers', f.workers.length === 0);
  showIf('fleet-workers', f.workers.length > 0);
  setText('fleet-gone', gone.length > GONE_SHOWN ? `and ${gone.length - GONE_SHOWN} more lost or exited workers (tunelab study status lists every one)` : '');
  syncRows('#fleet-workers tbody', shown.map((w) => [w.workerId, [w.workerId, w.host, w.pid, w.state, w.running, when(w.startedAt), when(w.lastSeen)]]));
  showIf('fleet-leases', f.leases.length > 0);
  syncRows('#fleet-leases tbody', f.leases.map((l) => [String(l.id), [l.id, l.worker ?? '', l.host ?? '', l.expired ? 'expired' : `${Math.round(((l.expiresAt ?? 0) - f.now) / 1000)} s left`, l.attempts]]));
}

function showIf(id: string, shown: boolean) {
  const e = document.getElementById(id);
  if (e && e.hidden === shown) e.hidden = !shown;
}

/**
 * A table body made to hold `rows` (a key and its cells' values, in order) with the fewest changes:
 * a row whose key it holds already only gets the texts that changed, rows gone are removed.
 */
function syncRows(selector: string, rows: readonly [string, (string | number)[]][]) {
  const tbody = document.querySelector(selector) as HTMLElement;
  const held = new Map<string, HTMLElement>();
  for (const tr of tbody.children) held.set((tr as HTMLElement).dataset.key!, tr as HTMLElement);
  let at = tbody.firstElementChild;
  for (const [key, cells] of rows) {
    let tr = held.get(key);
    held.delete(key);
    if (!tr) tr = h('tr', { 'data-key': key }, ...cells.map((c) => h('td', typeof c === 'number' ? { class: 'num' } : {}, String(c))));
    else cells.forEach((c, i) => {
      const td = tr!.children[i];
      if (td.textContent !== String(c)) td.textContent = String(c);
    });
    if (tr !== at) tbody.insertBefore(tr, at);
    else at = at.nextElementSibling;
  }
  for (const tr of held.values()) tr.remove();
}

/**
 * New rows into the live charts (history, learning curves, slices) without building them again:
 * thinned with the stride of the last full draw (every new best, and the slices' best kept), and
 * inserted only into the charts in view (the others get theirs when scrolled to).
 */
async function insertLive(s: StudyState, observed: readonly Trial[], reports: readonly Report[]) {
  const hd = s.head;
  const better = (a: number, b: number) => (hd.mode === 'min' ? a < b : a > b);
  const sign = hd.mode === 'min' ? 1 : -1;
  const shown = (v: number | null) => v !== null && (!ui.logY || v > 0);
  const h0 = liveCharts.history;
  const history: object[] = [];
  for (const t of observed) {
    h0.n++;
    const newBest = t.feasible && t.value !== null && (h0.best === null || better(t.value, h0.best));
    if (newBest) h0.best = t.value;
    if (shown(t.value) && (newBest || (h0.n - 1) % h0.stride === 0)) history.push({ n: h0.n, trial: t.id, value: t.value, best: h0.best, feasible: t.feasible ? 'feasible' : 'infeasible', state: t.state });
  }
  queueRows('history-chart', history);
  const stopped = (id: number) => s.trials.field(id, 'decision') === 'stop';
  queueRows('curves-chart', reports.map((r) => curveRow(r, stopped(r.suggestionId))));
  const sl = liveCharts.slice;
  const valued = observed.filter((t) => shown(t.value) && (sl.n++ % sl.stride === 0 || sign * t.value! <= sl.cut));
  for (const [i, p] of hd.parameters.entries()) queueRows(`slice-${i}`, valued.map((t) => sliceRow(t, p.name)));
  if (hd.front && views.has('front-chart')) {
    queueRows('front-chart', observed.filter((t) => hasObjectives(hd, t)).map((t) => objectiveRow(hd, t.id, t.metrics)));
    const key = frontKey(hd.front);
    if (key !== frontShown) {
      frontShown = key;
      await replaceRows('front-chart', 'front', frontRows(hd));
    }
  }
  for (const id of [...liveCharts.pending.keys()]) if (inView.has(id)) await flushChart(id);
}

/** The charts need drawing in full: the study grew by half since the last full draw, or a small one waited FULL_SECONDS. */
function fullDrawDue(): boolean {
  const { drawnN, drawnAt, history } = liveCharts;
  return history.n >= Math.max(drawnN * FULL_GROWTH, drawnN + FULL_MIN) || (drawnN < FULL_SMALL && performance.now() - drawnAt > FULL_SECONDS * 1000);
}

function study(store: string, id: string) {
  let state: StudyState | undefined;
  let chartsBusy = false;
  // what came since the page last applied it: trial ids for the table, observations and reports for the charts
  let changed = new Set<number>();
  let added: number[] = [];
  let fresh: number[] = [];
  let freshReports: Report[] = [];
  let timer: number | undefined;
  let lastLive = 0;

  const drawCharts = async (full: boolean) => {
    chartsBusy = true;
    try {
      const ids = fresh;
      const reports = freshReports;
      fresh = [];
      freshReports = [];
      if (!full && (liveCharts.owed || fullDrawDue()) && inView.size === 0) {
        liveCharts.owed = true;
        liveCharts.pending.clear();
      } else if (full || liveCharts.owed || fullDrawDue()) {
        liveCharts.owed = false;
        await renderCharts(state!);
      } else await insertLive(state!, ids.map((id) => state!.trials.get(id)!), reports);
      if (!document.body.dataset.charts) performance.mark('charts');
      document.body.dataset.charts = '1';
    } finally {
      chartsBusy = false;
    }
  };

  /** One live batch: everything that came since the last, at most once per LIVE_MS, nothing while the page is hidden. */
  const live = async () => {
    timer = undefined;
    if (document.hidden) return;
    lastLive = performance.now();
    const [c, a] = [changed, added];
    changed = new Set();
    added = [];
    renderHead(state!);
    renderTable(state!, c, a);
    renderFleet(state!);
    if (!document.body.dataset.charts) return;
    // a full draw still running takes these rows next time
    if (chartsBusy) schedule();
    else if (fresh.length || freshReports.length || liveCharts.owed || fullDrawDue()) await drawCharts(false);
  };
  const schedule = () => {
    timer ??= window.setTimeout(() => void live(), Math.max(0, lastLive + LIVE_MS - performance.now()));
  };
  liveCharts.redrawOwed = schedule;
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) schedule();
  });

  // vega's 1.5 MB load while the study's data is on its way (the browser compiles scripts added so off
  // its main thread): the charts start as soon as the table is drawn
  void loadVega();
  listen(`${API}/study/${store}/${id}/events`, {
    snapshot: (w: WireUpdate & { part: { index: number; last: boolean } }) => {
      // the first data comes in parts (a big study's rows in several events); a reconnection starts again
      state = applyUpdate(w.part.index === 0 ? undefined : state, w).state;
      if (!w.part.last) return;
      // marks for the bench (bench/dashboard.ts): when the data came, when the table and the charts were drawn
      performance.mark('snapshot');
      [changed, added, fresh, freshReports] = [new Set(), [], [], []];
      table$.columns = '';
      renderHead(state);
      renderTable(state);
      renderFleet(state);
      // the numbers and the table are there: the charts follow
      if (!document.body.dataset.ready) performance.mark('table');
      document.body.dataset.ready = '1';
      // let the browser paint the table before the charts take the thread
      void yieldToBrowser().then(() => drawCharts(true));
    },
    delta: (w: WireUpdate) => {
      const s = state!;
      for (const r of w.reports) if (r.id > s.lastReport) freshReports.push(r);
      const u = applyUpdate(s, w);
      for (const id of w.trials.id) changed.add(id);
      for (const id of u.added) added.push(id);
      for (const id of u.observed) fresh.push(id);
      state = u.state;
      schedule();
    },
  });
}

// ---------------------------------------------------------------- trial

async function trial(store: string, id: string, trialId: number) {
  const u: Update = await (await fetch(`${API}/study/${store}/${id}`)).json();
  const t = u.trials.find((x) => x.id === trialId);
  const hd = u.head;
  (document.getElementById('title') as HTMLElement).textContent = `${hd.name}: trial ${trialId}`;
  app.append(h('p', {}, h('a', { href: `/study/${store}/${id}` }, `← study ${hd.name}`)));
  if (!t) {
    app.append(h('p', { class: 'err' }, `study ${hd.name} has no trial ${trialId}`));
    return;
  }
  section(
    'trial',
    'Trial',
    h('dl', { class: 'kv' }, ...[['state', t.state], [hd.metric, fmt(t.value)], ['feasible', t.feasible === null ? '' : t.feasible ? 'yes' : 'no'], ['worker', t.worker ?? ''], ['host', t.host ?? ''], ['duration (s)', fmt(t.duration)], ['attempts', t.attempts], ['decision', whyText(t)], ['error', t.error ?? '']].flatMap(([k, v]) => [h('dt', {}, String(k)), h('dd', {}, String(v))])),
    table(['parameter', 'value'], Object.entries(t.config).map(([k, v]) => [k, fmt(v)])),
    table(['metric', 'value'], Object.entries(t.metrics).map(([k, v]) => [k, fmt(v)])),
  );
  const reports = u.reports.filter((r) => r.suggestionId === trialId);
  const calls = u.calls.filter((c) => c.suggestionId === trialId);
  if (reports.length) section('trial-reports', 'Reports', table([hd.resourceAttr ?? 'resource', hd.metric, 'decision'], reports.map((r) => [r.resource, r.value, r.decision])));
  if (calls.length) section('trial-rungs', 'Rung decisions', table(['rung', 'value', 'rank', 'rung size', 'go on (top)', 'threshold', 'decision', 'reason'], calls.map((c) => [c.level, c.value, c.rank, c.size, c.keep, c.threshold, c.decision, c.source])));
  const pre = h('pre', { class: 'logs', id: 'logs' });
  section('trial-logs', 'Logs', pre);
  let after = 0;
  for (;;) {
    const r = await (await fetch(`${API}/study/${store}/${id}/logs?trial=${trialId}&after=${after}`)).json();
    for (const l of r.lines) pre.append(h('span', { class: l.stream }, `${l.line}\n`));
    after = r.next;
    document.body.dataset.ready = '1';
    setLive('live');
    if (!r.more) await new Promise((res) => setTimeout(res, 2000));
  }
}

// ---------------------------------------------------------------- tag

async function tag(name: string) {
  // results folders are files: the page asks every 5 s, and redraws when the server's ETag changed
  let shown: string | null = null;
  for (;;) {
    const res = await fetch(`${API}/tag/${encodeURIComponent(name)}`, { cache: 'no-cache' }).catch(() => undefined);
    if (!res) setLive('disconnected: retrying…');
    else if (!res.ok) {
      section('runs', 'Runs', h('p', { class: 'err' }, (await res.json()).error?.message ?? `failed (${res.status})`));
      return;
    } else if (res.headers.get('etag') !== shown) {
      shown = res.headers.get('etag');
      const d = await res.json();
      setLive(`updated ${when(Date.now())}`);
      section('warnings', 'Warnings', ...(d.warnings.length ? d.warnings.map((w: string) => h('p', { class: 'warn' }, w)) : [h('p', {}, 'none')]));
      section('runs', 'Runs', table(['setup', 'benchmark', 'seed', 'status', 'results', 'best', 'folder'], d.runs.map((r: any) => [r.setup, r.benchmark, r.seed, r.status, r.results, r.best === null ? '' : `${r.metric} ${fmt(r.best)}`, runLink(name, r.folder)])));
      section('figures', 'Figures', ...d.figures.map((f: any, i: number) => chartBox(`figure-${i}`, f.caption)));
      document.body.dataset.ready = '1';
      for (const [i, f] of d.figures.entries()) await draw(`figure-${i}`, f.spec, 0);
      document.body.dataset.charts = '1';
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
}

/** A link to a run's page from its folder (`<tag>/<run folder>`, as the tag's data gives it). */
function runLink(tagName: string, folder: string): HTMLElement {
  const run = folder.slice(folder.lastIndexOf('/') + 1);
  return h('a', { href: `/run/${encodeURIComponent(tagName)}/${encodeURIComponent(run)}`, class: 'run-link' }, folder);
}

// ---------------------------------------------------------------- run (one results folder)

function decisionText(d: RunDecision | null): string {
  if (!d) return '';
  const verb = { stop: 'stopped', continue: 'went on', pause: 'paused', promote: 'promoted' }[d.decision];
  return `${verb} at rung ${d.level}: rank ${d.rank} of ${d.size} (top ${d.keep} go on), threshold ${fmt(d.threshold)}, value ${fmt(d.value)}`;
}

/** Past this many results, the learning curves show every trial's points at its rung levels and its last only (a line per trial stays). */
const CURVE_POINTS = 20_000;

async function renderRun(d: RunPage) {
  const r = d.resourceAttr;
  (document.getElementById('title') as HTMLElement).textContent = d.folder;
  app.textContent = '';
  app.append(h('p', {}, h('a', { href: `/tag/${encodeURIComponent(d.tag)}` }, `← tag ${d.tag}`)));
  const better = (a: number, b: number) => (d.mode === 'min' ? a < b : a > b);
  const bestTrial = d.trials.reduce<RunPage['trials'][number] | undefined>((b, t) => (t.best !== null && (!b || better(t.best, b.best!)) ? t : b), undefined);
  section(
    'run',
    'Run',
    h('dl', { class: 'kv' }, ...[['method', d.method], ['benchmark', d.benchmark], ['seed', d.seed], ['status', d.status], ['trials', d.trials.length], ['results', d.results.length], [`best ${d.metric}`, bestTrial ? `${fmt(bestTrial.best)} (trial ${bestTrial.id})` : ''], ['decisions', { recorded: 'recorded by the scheduler (decisions.jsonl)', replayed: "replayed from the rows with ASHA's rule (a run from before decisions.jsonl)", none: 'none (not a rung-based scheduler)' }[d.decisionsFrom]]].flatMap(([k, v]) => [h('dt', {}, String(k)), h('dd', { id: `run-meta-${String(k).split(' ')[0]}` }, String(v))])),
  );
  const params = d.trials.length ? Object.keys(d.trials[0].config) : [];
  section(
    'run-trials',
    'Trials',
    table(
      ['trial', 'status', 'results', r, d.metric, `best ${d.metric}`, ...params, 'decision (why)'],
      d.trials.map((t) => [t.id, t.status, t.results, t.resource ?? '', fmt(t.value), fmt(t.best), ...params.map((p) => fmt(t.config[p])), decisionText(t.why)]),
      (i) => {
        const w = d.trials[i].why;
        return { 'data-trial': String(d.trials[i].id), ...(w && { 'data-decision': w.decision, 'data-rung': String(w.level), 'data-rank': String(w.rank), 'data-size': String(w.size), 'data-threshold': String(w.threshold), 'data-source': w.source }) };
      },
    ),
  );
  document.body.dataset.ready = '1';
  // learning curves coloured by the decision that ended or last moved each trial
  const fate = new Map(d.trials.map((t) => [t.id, t.why ? t.why.decision : t.status === 'failed' ? 'failed' : 'no rung decision']));
  const levels = new Set(d.decisions.map((x) => x.level));
  const last = new Map(d.results.map((x, i) => [x.trial, i]));
  const thin = d.results.length > CURVE_POINTS;
  const curves = d.results.filter((x, i) => x.value !== null && (!thin || levels.has(x.resource) || last.get(x.trial) === i)).map((x) => ({ trial: x.trial, resource: x.resource, value: x.value, decision: fate.get(x.trial) }));
  section('run-curves', 'Learning curves', chartBox('run-curves-chart', `Each trial's ${d.metric} against ${r}, coloured by the scheduler's last decision on it${thin ? ` (${d.results.length} results: each trial's points at the rung levels and its last drawn)` : ''}.`));
  await draw('run-curves-chart', { width: 700, height: 260, data: { values: curves }, mark: { type: 'line', opacity: 0.6 }, encoding: { x: { field: 'resource', type: 'quantitative', title: r }, y: { field: 'value', type: 'quantitative', title: d.metric, scale: { zero: false } }, detail: { field: 'trial' }, color: { field: 'decision', type: 'nominal', title: null, scale: { domain: ['stop', 'continue', 'pause', 'promote', 'failed', 'no rung decision'], range: ['#d62728', '#1f77b4', '#ff7f0e', '#2ca02c', '#7f7f7f', '#9467bd'] } } } }, curves.length);
  // best so far against the tuner's clock
  let best: number | null = null;
  const history = d.results.filter((x) => x.value !== null).map((x) => {
    if (best === null || better(x.value!, best)) best = x.value;
    return { time: x.time, best };
  });
  section('run-best', 'Best so far', chartBox('run-best-chart', `The best ${d.metric} reported so far against the tuner's time (s).`));
  await draw('run-best-chart', { width: 700, height: 220, data: { values: history }, mark: { type: 'line', interpolate: 'step-after' }, encoding: { x: { field: 'time', type: 'quantitative', title: 'tuner time (s)' }, y: { field: 'best', type: 'quantitative', title: d.metric, scale: { zero: false } } } }, history.length);
  if (d.decisions.length > 0) {
    // the ladder: trials that reached each rung over the tuner's time, stops and promotions counted
    const reached = new Map<number, number>();
    const ladder = d.decisions.filter((x) => x.decision !== 'promote').map((x) => {
      reached.set(x.level, (reached.get(x.level) ?? 0) + 1);
      return { time: x.time, rung: `${r} ${x.level}`, trials: reached.get(x.level) };
    });
    const count = (k: string) => d.decisions.filter((x) => x.decision === k).length;
    section('run-ladder', 'Rung ladder', chartBox('run-ladder-chart', `Trials that reached each rung over the tuner's time: ${count('stop')} stopped, ${count('pause')} paused, ${count('promote')} promoted, ${count('continue')} went on (decisions ${d.decisionsFrom}).`));
    await draw('run-ladder-chart', { width: 700, height: 220, data: { values: ladder }, mark: { type: 'line', interpolate: 'step-after' }, encoding: { x: { field: 'time', type: 'quantitative', title: 'tuner time (s)' }, y: { field: 'trials', type: 'quantitative', title: 'trials at the rung' }, color: { field: 'rung', type: 'nominal', sort: null, title: null } } }, ladder.length);
  }
  document.body.dataset.charts = '1';
}

async function run(tagName: string, folder: string) {
  // a run's files grow while it runs: the page asks every 5 s and redraws when the ETag changed
  let shown: string | null = null;
  for (;;) {
    const res = await fetch(`${API}/run/${encodeURIComponent(tagName)}/${encodeURIComponent(folder)}`, { cache: 'no-cache' }).catch(() => undefined);
    if (!res) setLive('disconnected: retrying…');
    else if (!res.ok) {
      app.textContent = '';
      section('run', 'Run', h('p', { class: 'err' }, (await res.json()).error?.message ?? `failed (${res.status})`));
      document.body.dataset.ready = '1';
      return;
    } else if (res.headers.get('etag') !== shown) {
      shown = res.headers.get('etag');
      setLive(`updated ${when(Date.now())}`);
      await renderRun(await res.json());
    }
    await new Promise((res) => setTimeout(res, 5000));
  }
}

const data = app.dataset;
if (data.page === 'home') home();
else if (data.page === 'study') study(data.store!, data.study!);
else if (data.page === 'trial') void trial(data.store!, data.study!, Number(data.trial));
else if (data.page === 'tag') void tag(data.tag!);
else if (data.page === 'run') void run(data.tag!, data.folder!);
