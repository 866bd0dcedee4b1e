import type { ApiPagination } from '../study/wire.js';
import { partitionPoint } from '../util/sorted.js';

export interface PageQuery {
  /** digits (a query string's text) */
  limit: string;
  before?: string;
  after?: string;
}

/** The first index in `items` (ascending ids) whose id is above `id`. */
function firstAbove<T>(items: readonly T[], idOf: (t: T) => number, id: number): number {
  return partitionPoint(items.length, (i) => idOf(items[i]) <= id);
}

/**
 * SigOpt's paging over items held in ascending id order: newest first; `before` pages towards older
 * items (ids below it), `after` towards newer ones (ids above it); `paging` holds the cursors of the
 * neighbouring pages, null where there is none. Binary search: a page costs its own size.
 */
export function paginate<T, U>(items: readonly T[], idOf: (t: T) => number, query: PageQuery, toApi: (t: T) => U): ApiPagination<U> {
  const limit = Number(query.limit);
  let lo = 0;
  let hi = items.length;
  if (query.before !== undefined) hi = firstAbove(items, idOf, Number(query.before) - 1);
  if (query.after !== undefined) lo = firstAbove(items, idOf, Number(query.after));
  // towards newer items (after only): the oldest `limit` above the cursor; else the newest `limit` below it
  if (query.after !== undefined && query.before === undefined) hi = Math.min(hi, lo + limit);
  else lo = Math.max(lo, hi - limit);
  const slice = items.slice(Math.max(0, lo), Math.max(0, hi));
  return {
    object: 'pagination',
    count: items.length,
    data: slice.reverse().map(toApi),
    paging: {
      before: lo > 0 && hi > lo ? String(idOf(items[lo])) : null,
      after: hi < items.length && hi > lo ? String(idOf(items[hi - 1])) : null,
    },
  };
}
