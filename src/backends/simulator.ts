import type { Config } from '../config-space/index.js';
import type { Blackbox } from '../blackbox/types.js';
import { MinHeap } from '../util/heap.js';
import { type Rng, type RngState, createRng } from '../util/rng.js';
import type { BackendResult, PollResult, TrialBackend } from './types.js';

interface SimTrial {
  config: Config;
  blackboxSeed: number;
  /** index of the next fidelity to report */
  next: number;
  /** simulated time at which the current run segment started, and the fidelity index it started at */
  segmentStart: number;
  segmentFrom: number;
  /** bumped on pause/stop so that events scheduled before become stale */
  generation: number;
  status: 'running' | 'paused' | 'stopped';
}

interface SimEvent {
  time: number;
  seq: number;
  trialId: number;
  generation: number;
  index: number;
}

/** A trial's curve: the blackbox's rows, and the cumulative elapsed time per row that the clock follows. */
interface SimCurve {
  values: Float64Array;
  /** the elapsed-time objective made non-decreasing from 0: an epoch the blackbox times at or below the one before takes no time */
  elapsed: Float64Array;
  /** the first row whose elapsed time is not a finite number (the rows' length if none): the trial cannot run to it */
  firstBad: number;
}

const eventLess = (a: SimEvent, b: SimEvent) => a.time < b.time || (a.time === b.time && a.seq < b.seq);

export interface SimulatorOptions {
  /** Seeds the choice of the blackbox seed per trial. */
  seed: number;
  /** Fixed blackbox seed for every trial instead of a random one. */
  blackboxSeed?: number;
  /**
   * Add the wall time the tuner spends between calls to the backend (its decisions, bookkeeping
   * and writes) to the simulated clock, as Syne Tune's simulator does, so that a slow searcher pays
   * for its slowness. Off by default: results then depend on the seed alone, bit for bit.
   */
  chargeDecisionTime?: boolean;
}

/**
 * Discrete-event simulation of trials on a blackbox. Each trial's results arrive at the simulated
 * times its per-epoch elapsed times dictate; a paused trial, when resumed, continues after its last
 * reported epoch. No wall-clock time enters the simulation (unless `chargeDecisionTime`), so a seed
 * fixes every outcome.
 */
export class SimulatorBackend implements TrialBackend {
  readonly resourceAttr: string;
  readonly metricNames: readonly string[];
  private clock = 0;
  private seq = 0;
  private nextNewTrial = 0;
  private events = new MinHeap<SimEvent>(eventLess);
  private trials = new Map<number, SimTrial>();
  private curves = new Map<number, SimCurve>();
  private readonly rng: Rng;
  private readonly elapsedIndex: number;
  private readonly M: number;
  /** with chargeDecisionTime: performance.now() when control last went back to the tuner */
  private handedBack = performance.now();

  constructor(
    readonly blackbox: Blackbox,
    private readonly options: SimulatorOptions,
  ) {
    this.resourceAttr = blackbox.fidelityName;
    this.metricNames = blackbox.objectiveNames;
    this.rng = createRng(`simulator:${options.seed}`);
    this.elapsedIndex = blackbox.objectiveNames.indexOf(blackbox.elapsedTimeAttr);
    if (this.elapsedIndex < 0) throw new Error(`blackbox lacks its elapsed-time objective '${blackbox.elapsedTimeAttr}'`);
    this.M = blackbox.objectiveNames.length;
  }

  now(): number {
    this.charge();
    return this.clock;
  }

  /**
   * With chargeDecisionTime, called on entering every method: the wall time since the last one
   * returned was the tuner's, and moves the clock on. Results whose time has passed meanwhile are
   * delivered at the clock's time, when the tuner sees them.
   */
  private charge(): void {
    if (!this.options.chargeDecisionTime) return;
    const t = performance.now();
    this.clock += (t - this.handedBack) / 1000;
    this.handedBack = t;
  }

  /** With chargeDecisionTime, called on leaving every method: the backend's own time is not charged. */
  private handBack(): void {
    if (this.options.chargeDecisionTime) this.handedBack = performance.now();
  }

  /**
   * The trial's curve, holding at least row `index`. A blackbox that computes prefixes is asked for
   * twice the rows it gave (and at least up to the row after `index`, which scheduling the next
   * event reads): most trials stop early, and the number of calls per curve stays logarithmic.
   */
  private async curveOf(trialId: number, index: number): Promise<SimCurve> {
    let curve = this.curves.get(trialId);
    if (curve && curve.values.length > index * this.M) return curve;
    const t = this.trials.get(trialId)!;
    let values: Float64Array;
    if (this.blackbox.curvePrefix) {
      const have = (curve?.values.length ?? 0) / this.M;
      const upTo = Math.min(this.blackbox.fidelityValues.length, Math.max(index + 2, 2 * have));
      values = await this.blackbox.curvePrefix(t.config, t.blackboxSeed, upTo);
    } else {
      values = await this.blackbox.curve(t.config, t.blackboxSeed);
    }
    curve = this.withElapsed(values);
    this.curves.set(trialId, curve);
    return curve;
  }

  /**
   * The clock never runs backward: a blackbox's cumulative elapsed time is followed as its running
   * maximum (from 0), so an epoch timed equal to or below the one before takes zero seconds.
   */
  private withElapsed(values: Float64Array): SimCurve {
    const rows = values.length / this.M;
    const elapsed = new Float64Array(rows);
    let firstBad = rows;
    let max = 0;
    for (let i = 0; i < rows; i++) {
      const v = values[i * this.M + this.elapsedIndex];
      if (!Number.isFinite(v)) {
        firstBad = i;
        break;
      }
      max = Math.max(max, v);
      elapsed[i] = max;
    }
    return { values, elapsed, firstBad };
  }

  /** The trial's cumulative elapsed time after row `index`; an error naming the first non-finite one at or before it. */
  private elapsedAt(trialId: number, curve: SimCurve, index: number): number {
    if (index < 0) return 0;
    if (index >= curve.firstBad) {
      const bad = curve.firstBad;
      throw new Error(
        `simulator: trial ${trialId}'s '${this.blackbox.elapsedTimeAttr}' at ${this.resourceAttr} ${this.blackbox.fidelityValues[bad]} is ${curve.values[bad * this.M + this.elapsedIndex]}; elapsed times must be finite numbers`,
      );
    }
    return curve.elapsed[index];
  }

  private async scheduleNext(trialId: number): Promise<void> {
    const t = this.trials.get(trialId)!;
    if (t.next >= this.blackbox.fidelityValues.length) return;
    const curve = await this.curveOf(trialId, t.next);
    const time = t.segmentStart + this.elapsedAt(trialId, curve, t.next) - this.elapsedAt(trialId, curve, t.segmentFrom - 1);
    this.events.push({ time, seq: this.seq++, trialId, generation: t.generation, index: t.next });
  }

  async start(trialId: number, config: Config): Promise<void> {
    this.charge();
    if (trialId < this.nextNewTrial) throw new Error(`simulator: trial ${trialId} was started before`);
    this.nextNewTrial = trialId + 1;
    const blackboxSeed = this.options.blackboxSeed ?? Math.floor(this.rng.next() * this.blackbox.numSeeds);
    this.trials.set(trialId, { config, blackboxSeed, next: 0, segmentStart: this.clock, segmentFrom: 0, generation: 0, status: 'running' });
    await this.scheduleNext(trialId);
    this.handBack();
  }

  private halt(trialId: number, status: 'paused' | 'stopped') {
    const t = this.trials.get(trialId);
    if (!t || t.status !== 'running') return; // already ended
    t.status = status;
    t.generation++;
    // a stopped trial never runs again: forget it (keeps checkpoints small)
    if (status === 'stopped') this.forget(trialId);
    // most paused trials are never promoted: their curves would pile up (memory and GC time growing
    // with the trials); a resumed one computes its curve again, as after a restore
    else this.curves.delete(trialId);
  }

  private forget(trialId: number) {
    this.trials.delete(trialId);
    this.curves.delete(trialId);
  }

  async pause(trialId: number): Promise<void> {
    this.charge();
    this.halt(trialId, 'paused');
    this.handBack();
  }

  async stop(trialId: number): Promise<void> {
    this.charge();
    this.halt(trialId, 'stopped');
    this.handBack();
  }

  async resume(trialId: number): Promise<void> {
    this.charge();
    const t = this.trials.get(trialId);
    if (!t || t.status !== 'paused') throw new Error(`simulator: trial ${trialId} is not paused`);
    t.status = 'running';
    t.segmentStart = this.clock;
    t.segmentFrom = t.next;
    await this.scheduleNext(trialId);
    this.handBack();
  }

  async poll(deadline: number): Promise<PollResult> {
    this.charge();
    const out = await this.nextEvents(deadline);
    this.handBack();
    return out;
  }

  private async nextEvents(deadline: number): Promise<PollResult> {
    const out: PollResult = { results: [], completed: [], failed: [] };
    const delivered = new Set<number>();
    for (;;) {
      const e = this.events.peek();
      if (!e) return out;
      const t = this.trials.get(e.trialId);
      if (!t || e.generation !== t.generation || t.status !== 'running') {
        this.events.pop();
        continue;
      }
      if (e.time > deadline) {
        this.clock = Math.max(this.clock, deadline);
        return out;
      }
      // deliver every event of the earliest time at once, but at most one per trial: a trial's next
      // result (an epoch that takes no time) waits for the tuner's decision on this one, which may
      // pause or stop the trial; delivered together, the tuner would drop it and the trial skip it
      if (out.results.length > 0 && (e.time > this.clock || delivered.has(e.trialId))) return out;
      this.events.pop();
      delivered.add(e.trialId);
      // a charged clock may be past the event already
      this.clock = this.options.chargeDecisionTime ? Math.max(this.clock, e.time) : e.time;
      out.results.push(await this.deliver(e.trialId, t, e.index));
      if (t.next >= this.blackbox.fidelityValues.length) {
        this.forget(e.trialId);
        out.completed.push(e.trialId);
      }
    }
  }

  private async deliver(trialId: number, t: SimTrial, index: number): Promise<BackendResult> {
    const curve = await this.curveOf(trialId, index);
    const metrics: Record<string, number> = {};
    for (let m = 0; m < this.M; m++) metrics[this.metricNames[m]] = curve.values[index * this.M + m];
    const resource = this.blackbox.fidelityValues[index];
    metrics[this.resourceAttr] = resource;
    t.next = index + 1;
    await this.scheduleNext(trialId);
    const final = t.next >= this.blackbox.fidelityValues.length;
    return { trialId, result: { resource, metrics }, time: this.clock, workerTime: this.elapsedAt(trialId, curve, index), workerIter: index, final };
  }

  state() {
    return {
      clock: this.clock,
      seq: this.seq,
      nextNewTrial: this.nextNewTrial,
      rng: this.rng.state(),
      events: this.events.toArray(),
      trials: [...this.trials],
    };
  }

  async restore(state: unknown): Promise<void> {
    const s = state as { clock: number; seq: number; nextNewTrial: number; rng: RngState; events: SimEvent[]; trials: [number, SimTrial][] };
    this.clock = s.clock;
    this.seq = s.seq;
    this.nextNewTrial = s.nextNewTrial;
    this.rng.setState(s.rng);
    this.events = MinHeap.fromArray(s.events, eventLess);
    this.trials = new Map(s.trials.map(([id, t]) => [id, { ...t }]));
    this.curves.clear();
    this.handBack();
  }

  async close(): Promise<void> {}
}
