import type { Config } from '../../config-space/index.js';
import type { Cursor, ObservationRecord, StudyView } from './store.js';

/**
 * What one process knows of a study's rows, kept up to date from the views of its suggestion
 * transactions: each view carries only the rows added since this cache's cursor, so a worker reads
 * every observation once, not once per suggestion. A layer around the store, not inside a backend.
 */
export class StudyCache {
  readonly observations = new Map<number, ObservationRecord>();
  readonly configs = new Map<number, Config>();
  private readonly listeners: ((id: number, config: Config) => void)[] = [];

  /**
   * The largest ids read: one object, advanced in place, so that a transaction that reads it when it
   * runs (SQLite's later writes of one batch, a PostgreSQL transaction that waited for a connection)
   * starts where the views before it left off, instead of where the cache stood when it was asked.
   */
  readonly cursor: Cursor = { observation: 0, suggestion: 0 };

  /** Called for every suggestion config the cache learns of (searchers mark them as seen). */
  onSuggestion(listener: (id: number, config: Config) => void): void {
    this.listeners.push(listener);
  }

  /** Adds a view's new rows; rows already known (another in-process worker's view) are skipped. */
  apply(view: Pick<StudyView, 'newObservations' | 'newSuggestions'>): void {
    for (const s of view.newSuggestions) {
      if (this.configs.has(s.id)) continue;
      this.configs.set(s.id, s.config);
      this.cursor.suggestion = Math.max(this.cursor.suggestion, s.id);
      for (const l of this.listeners) l(s.id, s.config);
    }
    for (const o of view.newObservations) {
      if (this.observations.has(o.suggestionId)) continue;
      this.observations.set(o.suggestionId, o);
      this.cursor.observation = Math.max(this.cursor.observation, o.id);
    }
  }
}
