import type { StudyFeed, StudyUpdate } from './feed.js';
import { type TrialColumns, trialColumns } from './wire.js';
import type { DashboardData, StudyCard, TagCard } from './sources.js';

/** Sends one server-sent event (a frame made once for every page that gets it) to one open page; resolves when it was handed to the socket (or the page went). */
export type Send = (frame: Buffer) => Promise<void>;

/**
 * One server-sent event, its data JSON text, as the bytes every page gets: encoded once, not once
 * a page (a live study's delta is about a megabyte a second; each page's write of a string measured
 * and encoded it again).
 */
export const eventFrame = (event: string, json: string): Buffer => Buffer.from(`event: ${event}\ndata: ${json}\n\n`);

/** A study update as a page receives it: its trials in columns. */
export type WireUpdate = Omit<StudyUpdate, 'trials'> & { trials: TrialColumns };

const onWire = <T extends StudyUpdate>(u: T): Omit<T, 'trials'> & { trials: TrialColumns } => ({ ...u, trials: trialColumns(u.trials) });

/** Trials in one part of a page's first data. */
const SNAPSHOT_ROWS = 5000;

export interface HomeData {
  studies: StudyCard[];
  tags: TagCard[];
}

/**
 * Live updates for every open page: one timer reads each store at most once per interval (1 s),
 * only while a page is open, and shares what it read with every page that shows it: a study page
 * gets the rows added since, the home page the cards that changed. A tick still running when the
 * next is due is not doubled (a slow store is read less often, never by two ticks at once).
 */
export class Hub {
  private readonly studyPages = new Map<StudyFeed, Set<Send>>();
  private readonly homePages = new Set<Send>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private lastHome = '';

  constructor(
    private readonly data: DashboardData,
    private readonly intervalMs = 1000,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  async home(): Promise<HomeData> {
    return { studies: await this.data.studyCards(), tags: this.data.tags() };
  }

  /** A study page opened: it gets everything, then each change. Returns the function that closes it. */
  async watchStudy(feed: StudyFeed, send: Send): Promise<() => void> {
    await feed.summary();
    // changes made while the first data is sent wait for it, then follow (the page keeps rows once by id)
    let sending = true;
    const queued: Buffer[] = [];
    const page: Send = (frame) => (sending ? (queued.push(frame), Promise.resolve()) : send(frame));
    let pages = this.studyPages.get(feed);
    if (!pages) this.studyPages.set(feed, (pages = new Set()));
    pages.add(page);
    this.start();
    // in parts, each handed to the socket before the next is made: a big study is never one string of every row
    for (const part of feed.snapshotParts(SNAPSHOT_ROWS)) await send(eventFrame('snapshot', JSON.stringify(onWire(part))));
    sending = false;
    for (const frame of queued) await send(frame);
    return () => {
      pages.delete(page);
      if (pages.size === 0) this.studyPages.delete(feed);
      this.stopIfIdle();
    };
  }

  async watchHome(send: Send): Promise<() => void> {
    const home = await this.home();
    void send(eventFrame('home', JSON.stringify(home)));
    this.homePages.add(send);
    this.start();
    return () => {
      this.homePages.delete(send);
      this.stopIfIdle();
    };
  }

  private start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs);
  }

  private stopIfIdle(): void {
    if (this.studyPages.size > 0 || this.homePages.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One read of what open pages show. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      // the home page's cards show every study: each is read once a tick, and what it read goes to its open pages too
      const feeds = new Set(this.studyPages.keys());
      if (this.homePages.size > 0) for (const feed of await this.data.allFeeds()) feeds.add(feed);
      for (const feed of feeds) {
        const update = await feed.tick();
        const pages = this.studyPages.get(feed);
        if (update && pages) {
          const frame = eventFrame('delta', JSON.stringify(onWire(update)));
          for (const send of pages) void send(frame);
        }
      }
      if (this.homePages.size > 0) {
        const home = await this.home();
        const text = JSON.stringify(home);
        if (text !== this.lastHome) {
          this.lastHome = text;
          const frame = eventFrame('home', text);
          for (const send of this.homePages) void send(frame);
        }
      }
    } catch (e) {
      this.log(`dashboard: reading the stores failed: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.studyPages.clear();
    this.homePages.clear();
  }
}
