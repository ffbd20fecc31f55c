/**
 * The Relay connection of a Codat list (customers, push operations): connection arguments in, one deduplicated
 * page loader per list, the same cursor rules for all.
 */
import type DataLoader from "dataloader";
import { badUserInput } from "../errors.js";
import { MAX_QUERY_LENGTH } from "../loaders/customers.js";
import type { ListPageKey } from "../loaders/index.js";
import { resolveConnection, type ConnectionArgs } from "../pagination/connection.js";
import type { CursorCodec } from "../pagination/cursor.js";
import type { Connection } from "../models/index.js";
import { freshnessOf, leastFresh, setFreshness, type Freshness } from "../cache/freshness.js";

export interface ListArgs extends ConnectionArgs {
  companyId: string;
  query?: string | null | undefined;
  orderBy?: string | null | undefined;
}

/** Longest `orderBy` (one field name, maybe with a `-`): anything longer is no field of Codat's. */
export const MAX_ORDER_BY_LENGTH = 256;

/** `query` under Codat's own limit (2048 characters) and `orderBy` under MAX_ORDER_BY_LENGTH, else BAD_USER_INPUT. */
function checkListText(args: ListArgs): void {
  if (args.query != null && args.query.length > MAX_QUERY_LENGTH) {
    throw badUserInput(`"query" must be at most ${MAX_QUERY_LENGTH} characters (got ${args.query.length}).`, "query");
  }
  if (args.orderBy != null && args.orderBy.length > MAX_ORDER_BY_LENGTH) {
    throw badUserInput(`"orderBy" must be at most ${MAX_ORDER_BY_LENGTH} characters (got ${args.orderBy.length}).`, "orderBy");
  }
}

export function listConnection<T, N>(
  kind: string,
  args: ListArgs,
  cursors: CursorCodec,
  pages: DataLoader<ListPageKey, { results?: T[] | null; totalResults: number }, string>,
  map: (item: T) => N,
): Promise<Connection<N>> {
  checkListText(args);
  const { companyId, first, after, last, before, page, pageSize } = args;
  const query = args.query ?? undefined;
  const orderBy = args.orderBy ?? undefined;
  // The read cache marks each page it serves (cache/freshness.ts); the connection says the least fresh of them.
  const freshness: (Freshness | null)[] = [];
  const connection = resolveConnection(
    { first, after, last, before, page, pageSize },
    { kind, companyId, query, orderBy },
    cursors,
    async (page, pageSize) => {
      const result = await pages.load({ companyId, page, pageSize, query, orderBy });
      freshness.push(freshnessOf(result));
      return { results: result.results ?? [], totalResults: result.totalResults };
    },
    map,
  );
  return connection.then((value) => {
    const least = leastFresh(freshness);
    if (least !== null) setFreshness(value, least);
    return value;
  });
}
