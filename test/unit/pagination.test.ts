import { describe, expect, it } from "vitest";
import { planPages, resolveConnection, MAX_PAGE_SIZE, type ListPage } from "../../src/pagination/connection.js";
import { CursorCodec, type ListIdentity } from "../../src/pagination/cursor.js";
import { errorCodeOf } from "../../src/errors.js";
import type { Connection } from "../../src/models/index.js";

const list: ListIdentity = { kind: "customers", companyId: "8a210b68-6988-11ed-a1eb-0242ac120002" };
const codec = new CursorCodec("test-secret-test-secret-test-secret");

/** An in-memory Codat list that counts calls and items fetched. */
function fakeList(total: number) {
  const items = Array.from({ length: total }, (_, i) => `item-${i}`);
  const calls: { page: number; pageSize: number }[] = [];
  const fetchPage = async (page: number, pageSize: number): Promise<ListPage<string>> => {
    calls.push({ page, pageSize });
    return { results: items.slice((page - 1) * pageSize, page * pageSize), totalResults: total };
  };
  return { items, calls, fetchPage };
}

describe("planPages", () => {
  it("covers every window in at most two pages fetching at most twice the items", () => {
    for (let count = 1; count <= 60; count++) {
      for (let start = 0; start <= 400; start++) {
        const plan = planPages(start, count);
        expect(plan.pages.length).toBeLessThanOrEqual(2);
        expect(plan.pageSize * plan.pages.length).toBeLessThanOrEqual(2 * count);
        const from = ((plan.pages[0] ?? 1) - 1) * plan.pageSize;
        const to = (plan.pages.at(-1) ?? 1) * plan.pageSize;
        expect(from).toBeLessThanOrEqual(start);
        expect(to).toBeGreaterThanOrEqual(start + count);
      }
    }
  });

  it("uses one page when the window lines up with a page", () => {
    expect(planPages(40, 20)).toEqual({ pageSize: 20, pages: [3] });
    expect(planPages(0, 7)).toEqual({ pageSize: 7, pages: [1] });
  });
});

describe("resolveConnection", () => {
  const walkForward = async (total: number, size: number) => {
    const upstream = fakeList(total);
    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 1000; guard++) {
      const page: Connection<string> = await resolveConnection({ first: size, after }, list, codec, upstream.fetchPage, (x) => x);
      seen.push(...page.nodes);
      expect(page.totalCount).toBe(total);
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null && total > 0);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    return { seen, upstream };
  };

  const walkBackward = async (total: number, size: number) => {
    const upstream = fakeList(total);
    const seen: string[] = [];
    let before: string | null = null;
    for (let guard = 0; guard < 1000; guard++) {
      const page: Connection<string> = await resolveConnection({ last: size, before }, list, codec, upstream.fetchPage, (x) => x);
      seen.unshift(...page.nodes);
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    return { seen, upstream };
  };

  it("walks every page forward and backward, for several sizes, returning the full list in order", async () => {
    for (const total of [0, 1, 19, 20, 21, 137]) {
      for (const size of [1, 7, 20, 50, 500]) {
        const forward = await walkForward(total, size);
        expect(forward.seen).toEqual(forward.upstream.items);
        const backward = await walkBackward(total, size);
        expect(backward.seen).toEqual(backward.upstream.items);
      }
    }
  });

  it("costs one call for an aligned page, two otherwise, three for `last` without a cursor", async () => {
    const aligned = fakeList(137);
    const first = await resolveConnection({ first: 20 }, list, codec, aligned.fetchPage, (x) => x);
    expect(aligned.calls).toEqual([{ page: 1, pageSize: 20 }]);
    await resolveConnection({ first: 20, after: first.pageInfo.endCursor }, list, codec, aligned.fetchPage, (x) => x);
    expect(aligned.calls).toHaveLength(2);

    const unaligned = fakeList(137);
    await resolveConnection({ first: 7, after: codec.encode(list, 9) }, list, codec, unaligned.fetchPage, (x) => x);
    expect(unaligned.calls.length).toBeLessThanOrEqual(2);
    expect(unaligned.calls.reduce((n, c) => n + c.pageSize, 0)).toBeLessThanOrEqual(14);

    const tail = fakeList(137);
    const lastPage = await resolveConnection({ last: 20 }, list, codec, tail.fetchPage, (x) => x);
    expect(lastPage.nodes).toEqual(tail.items.slice(117));
    expect(lastPage.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(tail.calls.length).toBeLessThanOrEqual(3);
  });

  it("answers an empty list per the spec", async () => {
    const empty = fakeList(0);
    const page = await resolveConnection({ first: 10 }, list, codec, empty.fetchPage, (x) => x);
    const { hasNextPage, hasPreviousPage, startCursor, endCursor } = page.pageInfo;
    expect({ ...page, pageInfo: { hasNextPage, hasPreviousPage, startCursor, endCursor } }).toEqual({
      edges: [],
      nodes: [],
      totalCount: 0,
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it("refuses bad counts and tampered or foreign cursors before any call", async () => {
    const upstream = fakeList(50);
    const bad = [
      { first: 0 },
      { first: MAX_PAGE_SIZE + 1 },
      { last: -1 },
      { first: 5, after: "not-a-cursor" },
      { first: 5, after: codec.encode(list, 3).replace(/^./, (c) => (c === "Y" ? "Z" : "Y")) },
      { first: 5, after: new CursorCodec("another-secret-another-secret-another").encode(list, 3) },
      { first: 5, after: codec.encode({ ...list, query: "status=Active" }, 3) },
      { last: 5, before: codec.encode({ ...list, orderBy: "-modifiedDate" }, 3) },
    ];
    for (const args of bad) {
      const error = await resolveConnection(args, list, codec, upstream.fetchPage, (x) => x).catch((e: unknown) => e);
      expect(errorCodeOf(error), JSON.stringify(args)).toBe("BAD_USER_INPUT");
    }
    expect(upstream.calls).toHaveLength(0);
  });

  it("signs a page once: its cursors share one signature over the page's range, and nothing outside it verifies", async () => {
    const upstream = fakeList(50);
    const page = await resolveConnection({ first: 5, after: codec.encode(list, 9) }, list, codec, upstream.fetchPage, (x) => x);
    const cursors = page.edges.map((edge) => edge.cursor);
    expect(new Set(cursors.map((cursor) => cursor.split(".")[1])).size).toBe(1);
    expect(cursors.map((cursor) => codec.decode(list, cursor, "after"))).toEqual([10, 11, 12, 13, 14]);
    expect(page.pageInfo.endCursor).toBe(cursors.at(-1));
    // The lazy cursors are prototype getters: an object literal with `get` accessors per page gets a hidden class
    // of its own that keeps the whole page alive until a full GC (connection.ts).
    expect(Object.getOwnPropertyDescriptor(page.pageInfo, "endCursor")).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(page.edges[0], "cursor")).toBeUndefined();

    // Re-pointing a cursor: inside its signed range it names another item of the same page (harmless);
    // outside it, or with the range itself widened, it is refused.
    const [payload, signature] = (cursors[0] ?? "").split(".");
    const text = Buffer.from(payload ?? "", "base64url").toString("utf8");
    const forge = (changed: string) => `${Buffer.from(changed, "utf8").toString("base64url")}.${signature}`;
    expect(codec.decode(list, forge(text.replace(/:10$/, ":12")), "after")).toBe(12);
    for (const forged of [text.replace(/:10$/, ":15"), text.replace(/:10$/, ":9"), text.replace(":15:", ":40:").replace(/:10$/, ":30")]) {
      expect(errorCodeOf(catching(() => codec.decode(list, forge(forged), "after"))), forged).toBe("BAD_USER_INPUT");
    }
  });

  it("remembers fingerprints and page signatures within a bound, and a remembered one is the one it would compute", () => {
    const fresh = () => new CursorCodec("test-secret-test-secret-test-secret");
    const remembering = fresh();
    const firstCursor = remembering.pageEncoder(list, 0, 20)(3);
    // Far more distinct lists and pages than it remembers: the first has been forgotten, and is computed again.
    for (let i = 0; i < 3000; i += 1) remembering.pageEncoder({ ...list, query: `id=${i}` }, i, i + 20)(i);
    expect(remembering.pageEncoder(list, 0, 20)(3)).toBe(firstCursor);
    expect(fresh().pageEncoder(list, 0, 20)(3)).toBe(firstCursor);
    expect(remembering.decode(list, firstCursor, "after")).toBe(3);
    // Another secret signs (and remembers) its own.
    const other = new CursorCodec("another-secret-another-secret-another");
    expect(other.pageEncoder(list, 0, 20)(3)).not.toBe(firstCursor);
    expect(errorCodeOf(catching(() => other.decode(list, firstCursor, "after")))).toBe("BAD_USER_INPUT");
  });

  it("still reads cursors signed one by one (c1) by an earlier version", async () => {
    const { createHash, createHmac } = await import("node:crypto");
    const secret = "test-secret-test-secret-test-secret";
    const fingerprint = createHash("sha256")
      .update(JSON.stringify([list.kind, list.companyId, "", ""]))
      .digest()
      .subarray(0, 9)
      .toString("base64url");
    const payload = `c1:7:${fingerprint}`;
    const signature = createHmac("sha256", secret).update(payload).digest().subarray(0, 12).toString("base64url");
    expect(codec.decode(list, `${Buffer.from(payload).toString("base64url")}.${signature}`, "after")).toBe(7);
  });
});

/** What `run` throws (or returns, when it does not throw). */
function catching(run: () => unknown): unknown {
  try {
    return run();
  } catch (error: unknown) {
    return error;
  }
}
