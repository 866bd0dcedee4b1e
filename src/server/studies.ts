import type { Config } from '../config-space/index.js';
import { parseExperiment } from '../experiment/load.js';
import { experimentFileOptions } from '../methods/registry.js';
import { StudyBestTracker } from '../study/status.js';
import type { Cursor, ObservationRecord, StudyStore } from '../study/storage/store.js';
import { type Study, createStudy, loadStudy } from '../study/study.js';
import { UserError } from '../util/errors.js';
import { HttpError } from './errors.js';
import { type ExperimentBody, type Progress, apiObservation, experimentFile } from './sigopt.js';

/**
 * A study as the server serves it: the Study (its searcher, in this process; the leases are its
 * clients') and what the SigOpt objects need of its rows, read incrementally from the store (each
 * refresh reads only the rows added since the last), so that a GET costs the new work, not the
 * whole history. The store stays the system of record: a restarted server reads it all again.
 */
export class ServedStudy {
  /** Observations in id order (the pages of GET …/observations). */
  readonly observations: ObservationRecord[] = [];
  readonly configs = new Map<number, Config>();
  /** The best observation, or with several objectives the front (the one definition of each: src/results/best.ts). */
  private readonly best: StudyBestTracker;
  private cursor: Cursor = { observation: 0, suggestion: 0 };
  private refreshing: Promise<void> | undefined;

  constructor(readonly study: Study) {
    this.best = new StudyBestTracker(study.definition);
  }

  get store(): StudyStore {
    return this.study.store;
  }

  /** Reads the rows added since the last refresh (one refresh at a time; callers that come meanwhile wait for it and read again). */
  async refresh(): Promise<void> {
    while (this.refreshing) await this.refreshing;
    this.refreshing = (async () => {
      const view = await this.store.readNew(this.study.id, this.cursor);
      for (const s of view.newSuggestions) this.configs.set(s.id, s.config);
      for (const o of view.newObservations) {
        if (o.id <= this.cursor.observation) continue;
        this.observations.push(o);
        this.best.add(o);
      }
      this.cursor = {
        observation: Math.max(this.cursor.observation, ...view.newObservations.map((o) => o.id)),
        suggestion: Math.max(this.cursor.suggestion, ...view.newSuggestions.map((s) => s.id)),
      };
    })().finally(() => {
      this.refreshing = undefined;
    });
    await this.refreshing;
  }

  observation(o: ObservationRecord) {
    return apiObservation(this.study.id, this.study.definition, o, this.configs.get(o.suggestionId) ?? {});
  }

  async progress(): Promise<Progress> {
    await this.refresh();
    const n = this.observations.length;
    return {
      count: n,
      first: n ? this.observation(this.observations[0]) : undefined,
      last: n ? this.observation(this.observations[n - 1]) : undefined,
      // SigOpt's best_observation is null for a multimetric experiment: its best is the front (best_assignments)
      best: this.study.definition.objectives.length > 1 ? undefined : this.bestObservations().map((o) => this.observation(o))[0],
    };
  }

  /** The observation of a suggestion, looked for from the newest (where a tell just put it). */
  observationOf(suggestionId: number): ObservationRecord | undefined {
    for (let i = this.observations.length - 1; i >= 0; i--) if (this.observations[i].suggestionId === suggestionId) return this.observations[i];
    return undefined;
  }

  /** The best observation (one or none), or with several objectives the Pareto front's, in time order. */
  bestObservations(): ObservationRecord[] {
    return this.best.reports().map((r) => r.item);
  }
}

/** The studies of one store that the server has opened (each Study once, as one worker process holds one). */
export class StudyRegistry {
  private readonly open = new Map<number, Promise<ServedStudy>>();

  constructor(readonly store: StudyStore) {}

  /** By id; 404 when the store has none of that id. */
  async get(id: string | number): Promise<ServedStudy> {
    const key = Number(id);
    let p = this.open.get(key);
    if (!p) {
      p = loadStudy(key, { store: this.store, remoteWorkers: true }).then((s) => new ServedStudy(s));
      this.open.set(key, p);
      // a failed load is not kept: the next request tries again
      p.catch(() => this.open.delete(key));
    }
    try {
      return await p;
    } catch (e) {
      if (e instanceof UserError) throw new HttpError(404, `experiment ${id} does not exist`);
      throw e;
    }
  }

  /** POST /v1/experiments: the body as an experiment file, validated as one; names are unique in a store. */
  async create(body: ExperimentBody): Promise<ServedStudy> {
    if (/^\d+$/.test(body.name)) throw new HttpError(400, `name: '${body.name}' has digits only and would read as an id; add a letter`, { field: 'name' });
    const existing = await this.store.findStudy(body.name);
    if (existing) throw new HttpError(409, `an experiment named '${body.name}' exists (id ${existing.id}); fetch it (GET /v1/experiments/${existing.id}) or give another name`, { reason: 'exists', field: 'name', experiment: String(existing.id) });
    let definition;
    try {
      definition = parseExperiment(experimentFile(body), experimentFileOptions());
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new HttpError(400, e.message.replace(/^experiment: /, 'invalid experiment: '), { field: /^\s+- ([A-Za-z_.[\]0-9]+)/m.exec(e.message)?.[1] });
    }
    let study: Study;
    try {
      study = await createStudy(definition, { store: this.store, name: body.name, remoteWorkers: true, metadata: body.metadata });
    } catch (e) {
      if (e instanceof UserError) throw new HttpError(400, e.message);
      throw e;
    }
    const served = new ServedStudy(study);
    this.open.set(study.id, Promise.resolve(served));
    return served;
  }

  async close(): Promise<void> {
    for (const p of this.open.values()) await (await p.catch(() => undefined))?.study.close();
  }
}
