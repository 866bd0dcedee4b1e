import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { csvLine } from '../results/csv.js';
import type { StudyFeed, TrialRow } from './feed.js';
import { BASE, CSP, CSS, notFoundHtml, pageHtml } from './html.js';
import { pedAnova } from './importance.js';
import { eventFrame, type Hub, type Send } from './live.js';
import type { DashboardData } from './sources.js';
import { type RunPage, runPage, runStamp } from './runs.js';
import { type TagPage, tagPage, tagStamp } from './tags.js';

const require = createRequire(import.meta.url);

/**
 * The files a page loads, by name: a fixed list (no path is ever built from a URL). vega and
 * vega-lite come from node_modules (their browser builds), the front end from the package's own
 * build: client/app.js and the modules it imports (client/sse.js, client/trial-rows.js), beside
 * this module.
 */
function assets(): Map<string, { type: string; path?: string; text?: string }> {
  const here = dirname(fileURLToPath(import.meta.url));
  return new Map([
    ['vega.min.js', { type: 'text/javascript', path: join(dirname(require.resolve('vega')), 'vega.min.js') }],
    ['vega-lite.min.js', { type: 'text/javascript', path: join(dirname(require.resolve('vega-lite')), 'vega-lite.min.js') }],
    ['app.js', { type: 'text/javascript', path: join(here, 'client', 'app.js') }],
    ['sse.js', { type: 'text/javascript', path: join(here, 'client', 'sse.js') }],
    ['trial-rows.js', { type: 'text/javascript', path: join(here, 'client', 'trial-rows.js') }],
    ['app.css', { type: 'text/css', text: CSS }],
  ]);
}

/** An id from a URL: digits only, else the page is not there (404, never a 400 or a stack trace). */
const idOf = (s: string) => (/^\d{1,15}$/.test(s) ? Number(s) : undefined);

/** The last parameter importance of each study (PED-ANOVA over every observation), and over how many. */
const importanceOf = new WeakMap<StudyFeed, { observed: number; answer: { result: ReturnType<typeof pedAnova> | null; trials: number } }>();
/** How many log lines one request reads from the store at most (a trial's lines are among every trial's). */
const LOG_BATCH = 1000;
const LOG_BATCHES = 20;
/** Run pages held read (each holds its run's rows). */
const RUN_PAGES_KEPT = 16;

function notFound(reply: FastifyReply, what: string, html: boolean) {
  if (html) return reply.code(404).type('text/html; charset=utf-8').header('content-security-policy', CSP).send(notFoundHtml(what));
  return reply.code(404).send({ error: { message: what, status: 404 } });
}

/** Opens a server-sent events stream on the request; `open` subscribes and returns the unsubscribe. */
async function eventStream(req: FastifyRequest, reply: FastifyReply, open: (send: Send) => Promise<() => void>): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let closed = false;
  const send: Send = (frame) =>
    new Promise((resolve) => {
      if (closed) resolve();
      else res.write(frame, () => resolve());
    });
  // a comment now and then keeps proxies and the server's idle timeout from cutting a quiet stream
  const beat = setInterval(() => !closed && res.write(': beat\n\n'), 15_000);
  let close: (() => void) | undefined;
  const end = () => {
    closed = true;
    clearInterval(beat);
    close?.();
  };
  req.raw.on('close', end);
  try {
    close = await open(send);
    if (closed) close();
  } catch (e) {
    void send(eventFrame('failure', JSON.stringify({ message: (e as Error).message })));
    res.end();
    end();
  }
}

/** The trial table as CSV: a row per trial, the columns of the page's table. */
export function trialsCsv(feed: StudyFeed, trials: readonly TrialRow[]): string {
  const params = Object.keys(feed.definition.configSpace);
  const metrics = [...new Set(trials.flatMap((t) => Object.keys(t.metrics)))].sort();
  const rung = feed.head().rung !== null;
  const head = ['trial', 'state', feed.definition.metric, 'feasible', ...params.map((p) => `config:${p}`), ...metrics.filter((m) => m !== feed.definition.metric), 'worker', 'host', 'duration_s', 'attempts', ...(rung ? ['resource', 'decision', 'rung', 'rank', 'rung_size', 'threshold'] : [])];
  let text = csvLine(head);
  for (const t of trials) {
    const cfg = params.map((p) => t.config[p] as string | number | boolean | undefined);
    const others = metrics.filter((m) => m !== feed.definition.metric).map((m) => t.metrics[m]);
    const w = t.why;
    text += csvLine([t.id, t.state, t.value, t.feasible, ...cfg, ...others, t.worker, t.host, t.duration, t.attempts, ...(rung ? [t.resource, t.decision, w?.level, w?.rank, w?.size, w?.threshold] : [])]);
  }
  return text;
}

/**
 * The dashboard's pages and data on a fastify app: the standalone `tunelab dashboard`, or the
 * study server's (at its `/`). Everything is read-only; user-named things reach a page only as
 * escaped text (the shells) or as JSON that the front end puts in text nodes.
 */
export async function dashboardRoutes(app: FastifyInstance, data: DashboardData, hub: Hub): Promise<void> {
  const files = assets();
  const html = (reply: FastifyReply, body: string) => reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).header('cache-control', 'no-store').send(body);

  app.get('/', async (_req, reply) => html(reply, pageHtml({ title: 'Studies and experiments', data: { page: 'home' } })));

  app.get<{ Params: { store: string; id: string } }>('/study/:store/:id', async (req, reply) => {
    const feed = await data.feed(idOf(req.params.store) ?? NaN, idOf(req.params.id) ?? NaN);
    if (!feed) return notFound(reply, `no study ${req.params.id} in store ${req.params.store}`, true);
    const head = feed.head();
    return html(reply, pageHtml({ title: head.name, data: { page: 'study', store: head.store, study: head.id } }));
  });

  app.get<{ Params: { store: string; id: string; trial: string } }>('/study/:store/:id/trial/:trial', async (req, reply) => {
    const feed = await data.feed(idOf(req.params.store) ?? NaN, idOf(req.params.id) ?? NaN);
    const trial = idOf(req.params.trial);
    if (!feed || trial === undefined) return notFound(reply, `no trial ${req.params.trial} of study ${req.params.id} in store ${req.params.store}`, true);
    return html(reply, pageHtml({ title: `${feed.head().name}: trial ${trial}`, data: { page: 'trial', store: feed.storeIndex, study: feed.head().id, trial } }));
  });

  app.get<{ Params: { tag: string } }>('/tag/:tag', async (req, reply) => {
    if (!data.tagFolder(req.params.tag)) return notFound(reply, `no experiment tag ${req.params.tag} under the results root`, true);
    return html(reply, pageHtml({ title: req.params.tag, data: { page: 'tag', tag: req.params.tag } }));
  });

  app.get<{ Params: { tag: string; folder: string } }>('/run/:tag/:folder', async (req, reply) => {
    const { tag, folder } = req.params;
    if (!data.runFolder(tag, folder)) return notFound(reply, `no run ${folder} of tag ${tag} under the results root`, true);
    return html(reply, pageHtml({ title: folder, data: { page: 'run', tag, folder } }));
  });

  app.get<{ Params: { name: string } }>(`${BASE}/assets/:name`, async (req, reply) => {
    const file = files.get(req.params.name);
    if (!file) return notFound(reply, `no file ${req.params.name}`, false);
    return reply.type(file.type).header('cache-control', 'no-cache').send(file.text ?? readFileSync(file.path!));
  });

  // browsers ask for it on every page: no icon, and no 404 in their console
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get(`${BASE}/api/home`, async () => hub.home());
  app.get(`${BASE}/api/home/events`, async (req, reply) => eventStream(req, reply, (send) => hub.watchHome(send)));

  const feedOf = async (req: FastifyRequest<{ Params: { store: string; id: string } }>) => data.feed(idOf(req.params.store) ?? NaN, idOf(req.params.id) ?? NaN);

  app.get<{ Params: { store: string; id: string } }>(`${BASE}/api/study/:store/:id/events`, async (req, reply) => {
    const feed = await feedOf(req);
    if (!feed) return notFound(reply, `no study ${req.params.id} in store ${req.params.store}`, false);
    return eventStream(req, reply, (send) => hub.watchStudy(feed, send));
  });

  app.get<{ Params: { store: string; id: string } }>(`${BASE}/api/study/:store/:id`, async (req, reply) => {
    const feed = await feedOf(req);
    if (!feed) return notFound(reply, `no study ${req.params.id} in store ${req.params.store}`, false);
    return feed.snapshot();
  });

  app.get<{ Params: { store: string; id: string } }>(`${BASE}/api/study/:store/:id/trials.csv`, async (req, reply) => {
    const feed = await feedOf(req);
    if (!feed) return notFound(reply, `no study ${req.params.id} in store ${req.params.store}`, false);
    const { trials } = await feed.snapshot();
    const name = `study-${feed.head().id}-trials.csv`;
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(trialsCsv(feed, trials));
  });

  app.get<{ Params: { store: string; id: string } }>(`${BASE}/api/study/:store/:id/importance`, async (req, reply) => {
    const feed = await feedOf(req);
    if (!feed) return notFound(reply, `no study ${req.params.id} in store ${req.params.store}`, false);
    // computed again only when the study has grown by a tenth: every open page asks on its full draws
    const held = importanceOf.get(feed);
    if (held && feed.observedCount() < held.observed * 1.1) return held.answer;
    const observed = feed.observed();
    const head = feed.head();
    const trials = observed.filter((t) => t.feasible && t.value !== null).map((t) => ({ config: t.config, value: t.value! }));
    const answer = { result: pedAnova(head.parameters, trials, head.mode) ?? null, trials: trials.length };
    importanceOf.set(feed, { observed: observed.length, answer });
    return answer;
  });

  app.get<{ Params: { store: string; id: string }; Querystring: { trial?: string; after?: string } }>(`${BASE}/api/study/:store/:id/logs`, async (req, reply) => {
    const feed = await feedOf(req);
    const trial = idOf(req.query.trial ?? '');
    const after = idOf(req.query.after ?? '0');
    if (!feed || trial === undefined || after === undefined) return notFound(reply, `no logs for trial ${req.query.trial ?? '(none given)'} of study ${req.params.id}`, false);
    const lines = [];
    let next = after;
    let more = false;
    for (let i = 0; i < LOG_BATCHES; i++) {
      const batch = await feed.store.readLogs(feed.head().id, next, LOG_BATCH);
      for (const l of batch) if (l.suggestionId === trial) lines.push(l);
      if (batch.length > 0) next = batch[batch.length - 1].id;
      more = batch.length === LOG_BATCH;
      if (!more) break;
    }
    return { lines, next, more };
  });

  // a tag's page polls (results folders are files, not a store): 304 until a run's files change, one read per change for every page
  const tagCache = new Map<string, { stamp: string; page: Promise<TagPage> }>();
  app.get<{ Params: { tag: string } }>(`${BASE}/api/tag/:tag`, async (req, reply) => {
    const tag = req.params.tag;
    const dir = data.tagFolder(tag);
    if (!dir) return notFound(reply, `no experiment tag ${tag} under the results root`, false);
    const stamp = tagStamp(dir, tag);
    void reply.header('etag', stamp).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === stamp) return reply.code(304).send();
    let cached = tagCache.get(tag);
    if (cached?.stamp !== stamp) {
      cached = { stamp, page: tagPage(data.root!, tag) };
      tagCache.set(tag, cached);
      cached.page.catch(() => tagCache.delete(tag));
    }
    return cached.page;
  });

  // a run's page polls as a tag's does: 304 until one of its files changed
  const runCache = new Map<string, { stamp: string; page: RunPage }>();
  app.get<{ Params: { tag: string; folder: string } }>(`${BASE}/api/run/:tag/:folder`, async (req, reply) => {
    const { tag, folder } = req.params;
    const dir = data.runFolder(tag, folder);
    if (!dir) return notFound(reply, `no run ${folder} of tag ${tag} under the results root`, false);
    const stamp = runStamp(dir);
    void reply.header('etag', stamp).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === stamp) return reply.code(304).send();
    let cached = runCache.get(dir);
    if (cached?.stamp !== stamp) {
      let page: RunPage;
      try {
        page = runPage(dir, tag, folder);
      } catch (e) {
        // a folder without results or metadata yet (a run starting), or a damaged one: said, not a stack trace
        return reply.code(404).send({ error: { message: (e as Error).message.replace(data.root!, '<results root>'), status: 404 } });
      }
      cached = { stamp, page };
      runCache.delete(dir);
      runCache.set(dir, cached);
      // the pages of the runs looked at last
      if (runCache.size > RUN_PAGES_KEPT) runCache.delete(runCache.keys().next().value!);
    }
    return cached.page;
  });

  app.addHook('onClose', async () => hub.close());
}
