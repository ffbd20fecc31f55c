/**
 * Relay cursor connections (https://relay.dev/graphql/connections.htm) over Codat's 1-based page/pageSize lists.
 *
 * The arguments select a window [start, end) of absolute offsets. `planPages` then picks a Codat pageSize and
 * at most two consecutive pages covering the window, fetching no more than twice the items asked for: one call
 * when some pageSize in [n, 2n] holds the whole window in one page, two pages of size n otherwise. `last`
 * without `before` does not know where the list ends, so it costs one more call to learn the total first.
 */
import { badUserInput } from "../errors.js";
import type { Connection } from "../models/index.js";
import type { CursorCodec, ListIdentity } from "./cursor.js";

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 20;
/** Codat's largest page: the most `pageSize` takes (page-number mode is one Codat call per page). */
export const MAX_NUMBERED_PAGE_SIZE = 5000;
/** Cursors carry offsets of at most 9 digits: a numbered page must start below this. */
const MAX_OFFSET = 999_999_999;

export interface ConnectionArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
  /** Page-number mode (1-based), beside the cursor arguments; see resolveConnection. */
  page?: number | null | undefined;
  pageSize?: number | null | undefined;
}

export interface ListPage<T> {
  results: T[];
  totalResults: number;
}

/** Fetches one Codat page (1-based `page`). */
export type FetchPage<T> = (page: number, pageSize: number) => Promise<ListPage<T>>;

export interface PagePlan {
  pageSize: number;
  /** 1-based page numbers, one or two consecutive. */
  pages: number[];
}

/** Pages covering offsets [start, start + count) with count ≥ 1. */
export function planPages(start: number, count: number): PagePlan {
  for (let size = count; size <= 2 * count && size <= 5000; size++) {
    if ((start % size) + count <= size) return { pageSize: size, pages: [Math.floor(start / size) + 1] };
  }
  const first = Math.floor(start / count) + 1;
  return { pageSize: count, pages: [first, first + 1] };
}

function checkCount(value: number | null | undefined, name: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE) {
    throw badUserInput(`"${name}" must be between 1 and ${MAX_PAGE_SIZE} (got ${value}).`, name);
  }
  return value;
}

/**
 * Page-number mode: `page` (1-based, default 1) and `pageSize` (1 to 5,000, default 20) name one Codat page,
 * fetched with exactly one call. The cursor arguments cannot be combined with it (BAD_USER_INPUT, before any
 * call); its edges carry the same cursors as any page, so `after: endCursor` continues from it.
 */
function numberedPage(args: ConnectionArgs): { page: number; pageSize: number } | undefined {
  if (args.page == null && args.pageSize == null) return undefined;
  const conflicting = (["first", "last", "after", "before"] as const).filter((name) => args[name] != null);
  if (conflicting.length > 0) {
    const name = args.page != null ? "page" : "pageSize";
    throw badUserInput(
      `"${name}" cannot be combined with ${conflicting.map((c) => `"${c}"`).join(", ")}: page with page/pageSize, or with the cursor arguments, not both.`,
      name,
    );
  }
  const pageSize = args.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_NUMBERED_PAGE_SIZE) {
    throw badUserInput(`"pageSize" must be between 1 and ${MAX_NUMBERED_PAGE_SIZE} (got ${pageSize}).`, "pageSize");
  }
  const page = args.page ?? 1;
  const lastPage = Math.floor(MAX_OFFSET / pageSize) + 1;
  if (!Number.isInteger(page) || page < 1 || page > lastPage) {
    throw badUserInput(`"page" must be between 1 and ${lastPage} for pageSize ${pageSize} (got ${page}).`, "page");
  }
  return { page, pageSize };
}

/** Whole pages of `size` in a list of `total` items (at least 1: an empty list is one empty page). */
function pagesOf(total: number, size: number): number {
  return Math.max(1, Math.ceil(total / size));
}

/**
 * Validates the arguments (before any upstream call), fetches the window and builds the connection.
 * `map` turns a DTO into the node the schema resolves.
 */
export async function resolveConnection<T, N>(
  args: ConnectionArgs,
  list: ListIdentity,
  cursors: CursorCodec,
  fetchPage: FetchPage<T>,
  map: (item: T) => N,
): Promise<Connection<N>> {
  const numbered = numberedPage(args);
  if (numbered !== undefined) {
    const { page, pageSize } = numbered;
    const result = await fetchPage(page, pageSize);
    const start = (page - 1) * pageSize;
    const items = result.results.slice(0, pageSize);
    const totalCount = result.totalResults;
    const cursorAt = cursors.pageEncoder(list, start, start + items.length);
    const edges = items.map((item, i) => new LazyEdge(start + i, map(item), cursorAt));
    return {
      edges,
      nodes: edges.map((edge) => edge.node),
      totalCount,
      pageInfo: new LazyPageInfo(Math.min(start, totalCount) > 0, start + edges.length < totalCount, edges[0], edges.at(-1), {
        pageNumber: page,
        pageSize,
        totalPages: pagesOf(totalCount, pageSize),
      }),
    };
  }

  let first = checkCount(args.first, "first");
  const last = checkCount(args.last, "last");
  const afterOffset = args.after != null ? cursors.decode(list, args.after, "after") : undefined;
  const beforeOffset = args.before != null ? cursors.decode(list, args.before, "before") : undefined;
  if (first === undefined && last === undefined) first = DEFAULT_PAGE_SIZE;

  // The window per the Relay algorithm: after/before bound it, then first keeps its head and last its tail.
  let start = afterOffset !== undefined ? afterOffset + 1 : 0;
  let end: number | undefined = beforeOffset;
  if (end !== undefined && end < start) end = start;
  if (first !== undefined) end = end === undefined ? start + first : Math.min(end, start + first);

  const fetched = new Map<number, T>();
  let total: number | undefined;
  const fetchPlan = async (from: number, count: number) => {
    const plan = planPages(from, count);
    const pages = await Promise.all(plan.pages.map((page) => fetchPage(page, plan.pageSize)));
    pages.forEach((result, i) => {
      const base = ((plan.pages[i] ?? 1) - 1) * plan.pageSize;
      result.results.forEach((item, j) => fetched.set(base + j, item));
      // The last answer wins: totals only move when the list changes between two calls.
      total = result.totalResults;
    });
  };

  if (end === undefined) {
    // `last` with no `before`: the window ends where the list ends, which only Codat knows. A one-item probe
    // learns the total; the window is then fetched like any other.
    const count = last ?? DEFAULT_PAGE_SIZE;
    const probe = await fetchPage(1, 1);
    total = probe.totalResults;
    end = Math.max(start, total);
    start = Math.max(start, end - count);
    if (end > start) await fetchPlan(start, end - start);
  } else {
    if (last !== undefined) start = Math.max(start, end - last);
    if (end > start) await fetchPlan(start, end - start);
    else await fetchPlan(start, 1); // an empty window still needs totalCount
  }

  const totalCount = total ?? 0;
  const stop = Math.min(end, totalCount);
  const items: T[] = [];
  for (let offset = start; offset < stop; offset++) {
    const item = fetched.get(offset);
    if (item === undefined) break; // the list shrank between two calls; return what is consistent
    items.push(item);
  }
  // Cursors are signed lazily and once per page: only a cursor the operation selects (edges[].cursor,
  // pageInfo.startCursor or endCursor) is encoded, and the first one signs the page's range for all the others.
  const cursorAt = cursors.pageEncoder(list, start, start + items.length);
  const edges = items.map((item, i) => new LazyEdge(start + i, map(item), cursorAt));
  // A cursor page of n items is page (start / n + 1) of a list in pages of n when it starts on such a boundary.
  const size = first ?? last ?? Math.max(1, end - start);
  const numbering = {
    pageNumber: start % size === 0 ? start / size + 1 : null,
    pageSize: size,
    totalPages: pagesOf(totalCount, size),
  };
  return {
    edges,
    nodes: edges.map((edge) => edge.node),
    totalCount,
    pageInfo: new LazyPageInfo(Math.min(start, totalCount) > 0, start + edges.length < totalCount, edges[0], edges.at(-1), numbering),
  };
}

/** Where a page sits in the list counted in pages of its own size (`pageNumber` null when it is not on a boundary). */
interface PageNumbering {
  pageNumber: number | null;
  pageSize: number;
  totalPages: number;
}

/*
 * The lazy parts are classes, their getters on the prototype, never object literals with `get` accessors: V8
 * gives every evaluation of such a literal a hidden class of its own (the accessor functions are new closures),
 * allocated in old space, and until the next full GC that hidden class keeps the closures' whole scope alive —
 * here the page and every customer on it. Under load that promoted each operation's data to old space (~1.4
 * MB per scavenge, a full GC every ~300 ms) where a class instance dies young with its operation.
 */

/** A page's PageInfo, whose cursors are signed on first read (see LazyEdge). */
class LazyPageInfo {
  readonly #firstEdge: LazyEdge<unknown> | undefined;
  readonly #lastEdge: LazyEdge<unknown> | undefined;

  readonly pageNumber: number | null;
  readonly pageSize: number;
  readonly totalPages: number;

  constructor(
    readonly hasPreviousPage: boolean,
    readonly hasNextPage: boolean,
    firstEdge: LazyEdge<unknown> | undefined,
    lastEdge: LazyEdge<unknown> | undefined,
    numbering: PageNumbering,
  ) {
    this.#firstEdge = firstEdge;
    this.#lastEdge = lastEdge;
    this.pageNumber = numbering.pageNumber;
    this.pageSize = numbering.pageSize;
    this.totalPages = numbering.totalPages;
  }

  get startCursor(): string | null {
    return this.#firstEdge?.cursor ?? null;
  }

  get endCursor(): string | null {
    return this.#lastEdge?.cursor ?? null;
  }
}

/** An edge whose cursor is signed on first read (GraphQL's default resolver reads `edge.cursor`). */
class LazyEdge<N> {
  #cursor: string | undefined;
  constructor(
    readonly offset: number,
    readonly node: N,
    readonly encode: (offset: number) => string,
  ) {}

  get cursor(): string {
    return (this.#cursor ??= this.encode(this.offset));
  }
}
