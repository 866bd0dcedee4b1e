import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resultsRoot } from '../results/layout.js';
import { parseExperimentFolderName } from '../results/layout.js';
import { openStore } from '../study/storage/open.js';
import type { StudyStore, StudySummary } from '../study/storage/store.js';
import { isPathPart, resolveInside } from '../util/path-part.js';
import { StudyFeed } from './feed.js';

/** A study on the home page. */
export interface StudyCard {
  store: number;
  storage: string;
  id: number;
  name: string;
  status: string;
  method: string;
  observations: number;
  budget: number | null;
  failed: number;
  open: number;
  best: number | null;
  /** With several objectives: the size of the Pareto front (the best), else null. */
  front: number | null;
  metric: string;
  workersAlive: number;
  updatedAt: number;
  /** Why the study cannot be shown (a definition this tunelab cannot read). */
  error?: string;
}

export interface TagCard {
  tag: string;
  runs: number;
  /** ms since the epoch: the newest run folder's change. */
  updatedAt: number;
}

/**
 * What the dashboard reads: study stores (opened read-only) and a results root. A study's rows are
 * held by its StudyFeed, made when a page first asks for the study and kept up to date by the hub.
 */
export class DashboardData {
  private readonly feeds = new Map<string, Promise<StudyFeed>>();

  constructor(
    readonly stores: readonly StudyStore[],
    readonly root: string | undefined,
    private readonly owned: readonly StudyStore[],
  ) {}

  /** `--storage` values opened read-only (PostgreSQL with a pool of 2 of its own); `root` undefined: no results root. */
  static async open(storages: readonly string[], root: string | undefined, options: { storageTimeout?: number; onRetry?: (line: string) => void } = {}): Promise<DashboardData> {
    const stores: StudyStore[] = [];
    try {
      for (const s of storages) stores.push(await openStore(s, { ...options, readOnly: true, maxConnections: 2 }));
    } catch (e) {
      for (const s of stores) await s.close();
      throw e;
    }
    return new DashboardData(stores, root && resultsRoot(root), stores);
  }

  store(index: number): StudyStore | undefined {
    return Number.isInteger(index) ? this.stores[index] : undefined;
  }

  /** The study's feed; undefined when the store or the study is not there. */
  async feed(storeIndex: number, studyId: number): Promise<StudyFeed | undefined> {
    const store = this.store(storeIndex);
    if (!store || !Number.isSafeInteger(studyId)) return undefined;
    const key = `${storeIndex}/${studyId}`;
    let p = this.feeds.get(key);
    if (!p) {
      p = store.findStudy(String(studyId)).then((record) => {
        if (!record) throw new NotThere();
        return new StudyFeed(storeIndex, store, record);
      });
      this.feeds.set(key, p);
      p.catch(() => this.feeds.delete(key));
    }
    try {
      return await p;
    } catch (e) {
      if (e instanceof NotThere) return undefined;
      throw e;
    }
  }

  /** A feed for every study of every store (a study this tunelab cannot read is left out: its card says why). */
  async allFeeds(): Promise<StudyFeed[]> {
    const feeds: StudyFeed[] = [];
    for (const [i, store] of this.stores.entries()) {
      for (const s of await store.listStudies()) {
        const feed = await this.feed(i, s.id).catch(() => undefined);
        if (feed) feeds.push(feed);
      }
    }
    return feeds;
  }

  /** Every study's card, from what its feed holds (the hub keeps the feeds read). */
  async studyCards(): Promise<StudyCard[]> {
    const cards: StudyCard[] = [];
    for (const [i, store] of this.stores.entries()) {
      for (const s of await store.listStudies()) cards.push(await this.card(i, store, s));
    }
    return cards;
  }

  private async card(i: number, store: StudyStore, s: StudySummary): Promise<StudyCard> {
    const base = { store: i, storage: store.url, id: s.id, name: s.name, status: s.status, method: s.method, observations: s.observations, budget: s.budget, open: s.open };
    try {
      const feed = (await this.feed(i, s.id))!;
      const { head, fleet } = await feed.summary();
      return { ...base, failed: fleet.budget.failed, best: head.best?.value ?? null, front: head.front?.points.length ?? null, metric: head.metric, workersAlive: fleet.workers.filter((w) => w.state === 'running' || w.state === 'idle').length, updatedAt: head.updatedAt };
    } catch (e) {
      return { ...base, failed: 0, best: null, front: null, metric: '', workersAlive: 0, updatedAt: s.createdAt, error: (e as Error).message };
    }
  }

  /** Tags under the results root: folders holding at least one run folder. */
  tags(): TagCard[] {
    if (!this.root || !existsSync(this.root)) return [];
    const cards: TagCard[] = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const dir = join(this.root, entry.name);
      const runs = readdirSync(dir).filter((n) => parseExperimentFolderName(entry.name, n));
      if (runs.length === 0) continue;
      cards.push({ tag: entry.name, runs: runs.length, updatedAt: Math.max(...runs.map((r) => statSync(join(dir, r)).mtimeMs)) });
    }
    return cards.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  /** A tag's folder, when the name is one folder inside the root that exists (a name from a URL never leads outside it). */
  tagFolder(tag: string): string | undefined {
    if (!this.root || !isPathPart(tag)) return undefined;
    try {
      const dir = resolveInside(this.root, tag, 'tag');
      return existsSync(dir) && statSync(dir).isDirectory() ? dir : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A run folder of a tag: one of its `<tag>-<benchmark>-<seed>-<datetime>` folders that exists, and
   * stays inside the root once symbolic links are followed (undefined otherwise: a 404).
   */
  runFolder(tag: string, folder: string): string | undefined {
    const tagDir = this.tagFolder(tag);
    if (!tagDir || !isPathPart(folder) || !parseExperimentFolderName(tag, folder)) return undefined;
    try {
      const dir = resolveInside(this.root!, [tag, folder], 'run folder');
      return statSync(dir).isDirectory() ? dir : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    for (const s of this.owned) await s.close();
  }
}

class NotThere extends Error {}
