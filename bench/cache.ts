/**
 * `npm run bench:cache`: the read cache (issue 28) under a browse workload, cache off vs on side by side in one
 * run: the same simulator, a fresh gateway per side (`CACHE_ENABLED=false`, then `true`), each for the same
 * measured minutes within Codat's request budget.
 *
 *   - Codat: the simulator (bench/simulator-process.ts) at `--latency` (default 150 ms, Codat-like), with
 *     `--companies` (default 20) generated companies of `--customers` (default 200) each, and webhooks on: it
 *     announces pushes and syncs to the gateway under test, signed (`CODAT_WEBHOOK_SECRET`).
 *   - Budget: `CODAT_REQUESTS_PER_MINUTE` = `--budget` (default 1,000: Codat's per-IP limit). The gateway's window
 *     is a fixed minute that starts with its first Codat call, so time is not scaled. Each side runs on a fresh
 *     gateway: whole budget minutes of the same workload that are not counted, then `--minutes` (default 1)
 *     measured budget minutes. The warm-up is `--warmup-minutes` (default 2: the users learn their cursors) with
 *     the cache off, which has nothing else to warm, and `--warmup-minutes-on` (default 17) with it on: the steady
 *     state of a deployment that has been up a while, past the cold fill and into the expiry of the first entries
 *     (CACHE_MAX_AGE_SECONDS, 15 min). A smaller `--budget` scales the load down instead (fewer calls to spend,
 *     same minute).
 *   - Users: `--users` (default 200) simulated users spread evenly over the companies, each in a closed loop of
 *     sessions with a think time before every operation (exponential, mean `--think-ms`, default 1,000):
 *     list a page (page k of `--pages` with Zipf popularity, exponent `--zipf`; a page whose cursor the user
 *     has not learnt yet costs the pages before it too, as a frontend pages forward), open a customer of it (Zipf over the
 *     rows: the first row is the most popular), list its attachments. A RATE_LIMITED answer makes the user wait
 *     its `retryAfterSeconds`.
 *   - Writes: `--writes-per-minute` (default 20: one per company a minute) createCustomer operations at an even
 *     pace, the users (so the companies) in turn (`allowSyncOnPushComplete: true`: the simulator syncs after the
 *     push and says so with read.completed): the same write load on both sides, whatever their throughput.
 *     `--write-rate P` adds a create in a share P of sessions (default 0), which ties writes to throughput: the
 *     faster side then writes more (how the bench measured before; 0.02 gave 8.3×, see bench/README.md).
 *   - Changes: every `--sync-every-ms` (default 60,000: a read.completed every minute, as issue 28 specifies the
 *     workload; `--sync-every-ms 20000` is three times as often) the most popular customer (first row of page 1) of `--edits` companies (default 2, in turn)
 *     is renamed in the "accounting platform" (the simulator's store) and every company is synced, each sync
 *     announced with a signed read.completed (recordsModified true where something changed).
 *
 * Reported per side, over the measured minutes: frontend operations served per minute (started and completed
 * within them, answered without errors), Codat calls per 1,000 served operations (counted at the simulator over
 * the same span, also by kind: page, ids, attachments, write, …), the cache's hits and misses by read (the
 * gateway's /metrics, same span), p50/p99 latency of served operations, failed operations by code. Over the whole
 * run (warm-up included, the stricter check): stale serves (answers whose `extensions.cache.stale` is true) and
 * their `ageSeconds`, and **stale after invalidation**: any customer name in a list row or a detail that is
 * older than a rename whose read.completed the gateway had already acknowledged (200) when the operation started
 * — the cache's correctness check, which holds trivially with the cache off.
 *
 * Flags: --users N --companies N --customers N --pages N --latency MS --budget N --warmup-minutes N
 * --warmup-minutes-on N (the cache-on side's warm-up, default 17) --minutes N --think-ms MS
 * --writes-per-minute N --write-rate P --sync-every-ms MS --edits N --zipf S --seed N --only off|on --gateway-flags="…"
 * --node-env VALUE --out FILE (default bench/results/cache.json). Needs `npm run build` (npm run bench:cache
 * does it). Exit code 0 when the harness ran (checks may FAIL), 1 on a harness error.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BenchChild } from "./lib/child.js";
import { BENCH_CONNECTION_ID, benchCompanyId } from "./lib/companies.js";
import { HttpClient, HttpStatusError, postJson } from "./lib/http.js";
import { BACKGROUND_WARNING_CORES, describeError } from "./lib/pair.js";
import { BackgroundCpu, readCpuMs } from "./lib/proc.js";
import { summarize, type LatencySummary } from "./lib/stats.js";
import { renderTable } from "./lib/table.js";
import { target, type Table, type Target } from "./scenarios/types.js";

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoDir = resolve(benchDir, "..");
const PAGE_SIZE = 20;
/** The issue's target: at least this many times fewer Codat calls per operation with the cache on. */
const TARGET_CALL_RATIO = 20;

function parseSettings() {
  const { values } = parseArgs({
    options: {
      users: { type: "string", default: "200" },
      companies: { type: "string", default: "20" },
      customers: { type: "string", default: "200" },
      pages: { type: "string", default: "10" },
      latency: { type: "string", default: "150" },
      budget: { type: "string", default: "1000" },
      "warmup-minutes": { type: "string", default: "2" },
      "warmup-minutes-on": { type: "string", default: "17" },
      minutes: { type: "string", default: "1" },
      "think-ms": { type: "string", default: "1000" },
      "writes-per-minute": { type: "string", default: "20" },
      "write-rate": { type: "string", default: "0" },
      "sync-every-ms": { type: "string", default: "60000" },
      edits: { type: "string", default: "2" },
      zipf: { type: "string", default: "1.1" },
      seed: { type: "string", default: "28" },
      only: { type: "string" },
      "gateway-flags": { type: "string" },
      "node-env": { type: "string", default: "production" },
      out: { type: "string", default: join(benchDir, "results", "cache.json") },
    },
  });
  const int = (name: keyof typeof values, min: number): number => {
    const raw = String(values[name]);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got "${raw}"`);
    return n;
  };
  const real = (name: keyof typeof values, min: number, max: number): number => {
    const raw = String(values[name]);
    const n = Number(raw);
    if (raw.trim() === "" || !(n >= min && n <= max)) throw new Error(`--${name} must be a number in [${min}, ${max}], got "${raw}"`);
    return n;
  };
  const companies = int("companies", 1);
  const customers = int("customers", PAGE_SIZE);
  const only = values.only;
  if (only !== undefined && only !== "off" && only !== "on") throw new Error(`--only must be off or on, got "${only}"`);
  return {
    users: int("users", 1),
    companies,
    customers,
    pages: Math.min(int("pages", 1), Math.ceil(customers / PAGE_SIZE)),
    latencyMs: int("latency", 0),
    budget: int("budget", 1),
    warmupMinutes: int("warmup-minutes", 0),
    warmupMinutesOn: int("warmup-minutes-on", 0),
    minutes: real("minutes", 0.05, 60),
    thinkMs: int("think-ms", 0),
    writesPerMinute: real("writes-per-minute", 0, 6_000),
    writeRate: real("write-rate", 0, 1),
    syncEveryMs: int("sync-every-ms", 1_000),
    edits: Math.min(int("edits", 0), companies),
    zipf: real("zipf", 0, 10),
    seed: int("seed", 0),
    sides: only === undefined ? (["off", "on"] as const) : ([only] as const),
    gatewayFlags: (values["gateway-flags"] ?? startScriptFlags()).split(/\s+/).filter(Boolean),
    nodeEnv: values["node-env"],
    out: resolve(values.out),
  };
}
type Settings = ReturnType<typeof parseSettings>;
type Side = "off" | "on";

/** The node flags of package.json's `start` script, as run.ts and scale.ts read them. */
function startScriptFlags(): string {
  const pkg = JSON.parse(readFileSync(join(repoDir, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  return /^(?:exec\s+)?node\s+(.*?)\s*dist\/main\.js/.exec(pkg.scripts?.["start"] ?? "")?.[1] ?? "";
}

// ------------------------------------------------------------------------------------------ operations

const LIST = `query BrowsePage($companyId: ID!, $after: String) {
  customers(companyId: $companyId, first: ${PAGE_SIZE}, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id customerId customerName status } }
  }
}`;
const DETAIL = `query BrowseCustomer($companyId: ID!, $customerId: ID!) {
  customer(companyId: $companyId, customerId: $customerId) {
    id customerId customerName contactName emailAddress status defaultCurrency modifiedDate
    addresses { type line1 city country }
  }
}`;
const ATTACHMENTS = `query BrowseAttachments($companyId: ID!, $customerId: ID!, $connectionId: ID!) {
  customer(companyId: $companyId, customerId: $customerId) {
    customerId
    attachments(connectionId: $connectionId) { id name contentType fileSize }
  }
}`;
const CREATE = `mutation BrowseCreate($input: CreateCustomerInput!) {
  createCustomer(input: $input) { pushOperation { pushOperationKey status } }
}`;

type OpKind = "list" | "detail" | "attachments" | "write";
const KINDS: readonly OpKind[] = ["list", "detail", "attachments", "write"];

interface Row {
  customerId: string;
  customerName: string | null;
}

interface GraphQLAnswer {
  data?: {
    customers?: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: Row }[] } | null;
    customer?: (Row & { attachments?: unknown[] | null }) | null;
    createCustomer?: { pushOperation: { pushOperationKey: string } } | null;
  } | null;
  errors?: { message: string; extensions?: { code?: string; retryAfterSeconds?: number } }[];
  extensions?: { cache?: { stale?: boolean; ageSeconds?: number; reason?: string } };
}

/** What became of one operation. */
interface OpRecord {
  kind: OpKind;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  /** The first error's code (RATE_LIMITED, …) or the transport failure. */
  code?: string;
}

// ------------------------------------------------------------------------------------------ helpers

/** mulberry32: a small seeded generator, so runs draw the same sessions. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ranks 0..n-1 with Zipf popularity (P(k) ∝ 1 / (k + 1)^s). */
function zipf(n: number, s: number): (random: () => number) => number {
  const cdf: number[] = [];
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** s;
    cdf.push(sum);
  }
  return (random) => {
    const x = random() * sum;
    const k = cdf.findIndex((c) => x <= c);
    return k === -1 ? n - 1 : k;
  };
}

function exponential(random: () => number, mean: number): number {
  return mean <= 0 ? 0 : -Math.log(1 - random()) * mean;
}

const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

// ------------------------------------------------------------------------------------------ one side

interface Rename {
  name: string;
  /** When the gateway had acknowledged the sync that announced it (parent clock); Infinity until then. */
  ackAt: number;
}

/** The cache's reads by `read` label (page, ids, customer, attachments, …), from the gateway's /metrics. */
interface CacheReads {
  hits: Record<string, number>;
  misses: Record<string, number>;
  saved: Record<string, number>;
  /** Company invalidations by signal (read.completed, write.successful, gateway.write, …). */
  invalidations: Record<string, number>;
  /** Syncs' deltas by outcome (named: just the changed customers dropped; too_many, failed: all of them). */
  deltas: Record<string, number>;
}

interface SideResult {
  side: Side;
  warmupMs: number;
  measuredMs: number;
  served: number;
  servedPerMinute: number;
  codatCalls: number;
  codatCallsPer1000Ops: number;
  /** Codat calls over the measured minutes by what they read (the simulator's classification). */
  codatCallsByKind: Record<string, number>;
  /** The cache's hits, misses and saved calls over the measured minutes (empty with the cache off). */
  cacheReads: CacheReads;
  latencyMs: LatencySummary;
  latencyByKindMs: Record<OpKind, LatencySummary>;
  servedByKind: Record<OpKind, number>;
  failedByCode: Record<string, number>;
  unexpectedErrors: number;
  firstUnexpectedError?: string;
  staleServes: number;
  staleAgeSeconds: LatencySummary;
  staleReasons: Record<string, number>;
  staleAfterInvalidation: number;
  firstStaleAfterInvalidation?: string;
  namesChecked: number;
  writes: number;
  syncs: number;
  syncsModified: number;
  syncsAcknowledged: number;
  renames: number;
  completedAfterEnd: number;
  /** The gateway's CPU over the measured minutes, per served operation. */
  gatewayCpuMsPerOp: number;
  backgroundCores: number;
}

class Phase {
  readonly records: OpRecord[] = [];
  readonly staleAges: number[] = [];
  readonly staleReasons: Record<string, number> = {};
  /** company:customerId → renames in order. */
  readonly renames = new Map<string, Rename[]>();
  staleAfterInvalidation = 0;
  firstStaleAfterInvalidation: string | undefined;
  namesChecked = 0;
  unexpectedErrors = 0;
  firstUnexpectedError: string | undefined;
  writes = 0;
  syncs = 0;
  syncsModified = 0;
  syncsAcknowledged = 0;
  renameCount = 0;

  constructor(
    readonly side: Side,
    /** The end of the warm-up: operations started before it are not counted. */
    readonly measureFrom: number,
    readonly end: number,
  ) {}

  /** A name read at `startedAt` must not be older than a rename the gateway had acknowledged by then. */
  checkName(companyId: string, row: Row, startedAt: number): void {
    const renames = this.renames.get(`${companyId}:${row.customerId}`);
    if (renames === undefined) return;
    let latestAcked = -1;
    for (let i = 0; i < renames.length; i++) if (renames[i]!.ackAt <= startedAt) latestAcked = i;
    if (latestAcked === -1) return;
    this.namesChecked++;
    const fresh = renames.slice(latestAcked).some((r) => r.name === row.customerName);
    if (!fresh) {
      this.staleAfterInvalidation++;
      this.firstStaleAfterInvalidation ??= `${companyId} ${row.customerId}: read "${row.customerName}" after "${renames[latestAcked]!.name}" was announced`;
    }
  }
}

/** Sends one operation, records it; returns the answer when it was served without errors. */
async function operate(
  phase: Phase,
  client: HttpClient,
  url: string,
  kind: OpKind,
  payload: unknown,
): Promise<{ answer?: GraphQLAnswer; retryAfterMs?: number; startedAt: number }> {
  const startedAt = performance.now();
  let answer: GraphQLAnswer | undefined;
  let code: string | undefined;
  let retryAfterMs: number | undefined;
  try {
    let body: Buffer;
    const request = postJson(url, payload);
    try {
      body = await client.send(request).catch((error: unknown) => {
        // A kept-alive socket the server closed just as it was reused: a read is sent again, once (as browsers do).
        if (kind !== "write" && (error as NodeJS.ErrnoException).code === "ECONNRESET") return client.send(request);
        throw error;
      });
    } catch (error) {
      // GraphQL errors may come with a non-200 status; the body still says which.
      if (!(error instanceof HttpStatusError)) throw error;
      body = error.body;
    }
    answer = JSON.parse(body.toString("utf8")) as GraphQLAnswer;
    const first = answer.errors?.[0];
    if (first !== undefined) {
      code = first.extensions?.code ?? "UNKNOWN";
      const seconds = first.extensions?.retryAfterSeconds;
      if (typeof seconds === "number") retryAfterMs = seconds * 1000;
    }
  } catch (error) {
    code = "TRANSPORT";
    phase.firstUnexpectedError ??= `${kind}: ${describeError(error)}`;
  }
  const endedAt = performance.now();
  phase.records.push({ kind, startedAt, endedAt, ok: code === undefined, ...(code === undefined ? {} : { code }) });
  if (code !== undefined && code !== "RATE_LIMITED") {
    phase.unexpectedErrors++;
    phase.firstUnexpectedError ??= `${kind}: ${code}: ${answer?.errors?.[0]?.message ?? ""}`;
  }
  const cache = answer?.extensions?.cache;
  if (cache?.stale === true) {
    phase.staleAges.push(typeof cache.ageSeconds === "number" ? cache.ageSeconds : Number.NaN);
    const reason = cache.reason ?? "unspecified";
    phase.staleReasons[reason] = (phase.staleReasons[reason] ?? 0) + 1;
  }
  return code === undefined && answer !== undefined
    ? { answer, startedAt }
    : { ...(retryAfterMs === undefined ? {} : { retryAfterMs }), startedAt };
}

async function runUser(phase: Phase, settings: Settings, url: string, client: HttpClient, user: number): Promise<void> {
  const random = mulberry32(settings.seed * 100_003 + user);
  const pageOf = zipf(settings.pages, settings.zipf);
  const rowOf = zipf(PAGE_SIZE, settings.zipf);
  const companyId = benchCompanyId(user % settings.companies);
  let writes = 0;
  const open = (): boolean => performance.now() < phase.end;
  /** Think, then send; waits out a RATE_LIMITED's retryAfter. Undefined when not served. */
  const step = async (kind: OpKind, payload: unknown): Promise<{ answer: GraphQLAnswer; startedAt: number } | undefined> => {
    await sleep(Math.min(exponential(random, settings.thinkMs), Math.max(0, phase.end - performance.now())));
    if (!open()) return undefined;
    const result = await operate(phase, client, url, kind, payload);
    if (result.answer !== undefined) return { answer: result.answer, startedAt: result.startedAt };
    const wait = Math.min(result.retryAfterMs ?? 1_000, Math.max(0, phase.end - performance.now()));
    await sleep(wait);
    return undefined;
  };
  // The after-cursor of page k (page 0's is null), as this user's frontend learnt them: it pages forward to reach
  // a page it has no cursor for yet.
  const cursors: (string | null | undefined)[] = [null];

  while (open()) {
    // List page `target`, walking from the deepest page whose cursor is known (as a frontend pages forward).
    const target = pageOf(random);
    let page = target;
    while (cursors[page] === undefined) page--;
    let rows: Row[] | undefined;
    for (; page <= target && open(); page++) {
      const served = await step("list", { operationName: "BrowsePage", query: LIST, variables: { companyId, after: cursors[page] } });
      const connection = served?.answer.data?.customers;
      if (served === undefined || connection == null) {
        rows = undefined;
        break;
      }
      rows = connection.edges.map((edge) => edge.node);
      for (const row of rows) phase.checkName(companyId, row, served.startedAt);
      if (connection.pageInfo.hasNextPage && cursors[page + 1] === undefined) cursors[page + 1] = connection.pageInfo.endCursor;
      if (!connection.pageInfo.hasNextPage) break;
    }
    if (rows === undefined || rows.length === 0) continue;
    const row = rows[Math.min(rowOf(random), rows.length - 1)]!;
    const detail = await step("detail", {
      operationName: "BrowseCustomer",
      query: DETAIL,
      variables: { companyId, customerId: row.customerId },
    });
    const customer = detail?.answer.data?.customer;
    if (detail !== undefined && customer != null) phase.checkName(companyId, customer, detail.startedAt);
    await step("attachments", {
      operationName: "BrowseAttachments",
      query: ATTACHMENTS,
      variables: { companyId, customerId: row.customerId, connectionId: BENCH_CONNECTION_ID },
    });
    if (settings.writeRate > 0 && random() < settings.writeRate) {
      const written = await step("write", createPayload(companyId, `Bench ${phase.side} ${user}-${++writes}`));
      if (written !== undefined) phase.writes++;
    }
  }
}

/** The `createCustomer` a user sends (`allowSyncOnPushComplete`: the simulator syncs after the push, and says so). */
function createPayload(companyId: string, customerName: string): unknown {
  return {
    operationName: "BrowseCreate",
    query: CREATE,
    variables: {
      input: { companyId, connectionId: BENCH_CONNECTION_ID, allowSyncOnPushComplete: true, customer: { customerName, status: "ACTIVE" } },
    },
  };
}

interface SyncAnswer {
  edited: { companyId: string; customerId: string; customerName: string }[];
  syncs: { id: string; companyId: string; modified: boolean }[];
}

/**
 * Every 60 s / --writes-per-minute: a user (in turn, so the companies in turn) creates a customer — the same write
 * load on both sides, whatever their throughput (a session's speed does not make its user write more).
 */
async function runWrites(phase: Phase, settings: Settings, url: string, client: HttpClient, start: number): Promise<void> {
  if (settings.writesPerMinute <= 0) return;
  const every = 60_000 / settings.writesPerMinute;
  const writes: Promise<void>[] = [];
  for (let n = 0; ; n++) {
    const due = start + (n + 0.5) * every;
    if (due >= phase.end) break;
    await sleep(Math.max(0, due - performance.now()));
    const user = (n * 7) % settings.users;
    const companyId = benchCompanyId(user % settings.companies);
    writes.push(
      operate(phase, client, url, "write", createPayload(companyId, `Bench ${phase.side} w${n}`)).then((result) => {
        if (result.answer !== undefined) phase.writes++;
      }),
    );
  }
  await Promise.all(writes);
}

/** Every --sync-every-ms: rename the most popular customer of --edits companies, sync every company, and note when the gateway acknowledged each. */
async function runChanges(phase: Phase, settings: Settings, sim: BenchChild, start: number): Promise<void> {
  const companyIds = Array.from({ length: settings.companies }, (_, i) => benchCompanyId(i));
  let tick = 0;
  let nextEdit = 0;
  for (;;) {
    const due = start + (tick + 1) * settings.syncEveryMs;
    if (due >= phase.end) return;
    await sleep(due - performance.now());
    tick++;
    const edits = Array.from({ length: settings.edits }, () => {
      const companyId = companyIds[nextEdit++ % companyIds.length]!;
      return { companyId, customerName: `Renamed ${phase.side} ${tick} Ltd` };
    });
    const answer = await sim.call<SyncAnswer>("sync", { edits, companyIds });
    const syncOfCompany = new Map(answer.syncs.map((s) => [s.companyId, s.id]));
    const waiting = new Map<string, Rename[]>();
    for (const edit of answer.edited) {
      const rename: Rename = { name: edit.customerName, ackAt: Number.POSITIVE_INFINITY };
      const key = `${edit.companyId}:${edit.customerId}`;
      phase.renames.set(key, [...(phase.renames.get(key) ?? []), rename]);
      const syncId = syncOfCompany.get(edit.companyId);
      if (syncId !== undefined) waiting.set(syncId, [...(waiting.get(syncId) ?? []), rename]);
      phase.renameCount++;
    }
    phase.syncs += answer.syncs.length;
    phase.syncsModified += answer.syncs.filter((s) => s.modified).length;
    // The gateway's acknowledgements (200 to the read.completed), observed by polling: a little late, never early.
    const ids = answer.syncs.map((s) => s.id);
    const acknowledged = new Set<string>();
    const giveUpAt = performance.now() + 10_000;
    while (acknowledged.size < ids.length && performance.now() < giveUpAt) {
      const statuses = await sim.call<Record<string, number | string>>("deliveries", ids);
      const now = performance.now();
      for (const [id, status] of Object.entries(statuses)) {
        if (status !== 200 || acknowledged.has(id)) continue;
        acknowledged.add(id);
        for (const rename of waiting.get(id) ?? []) rename.ackAt = now;
      }
      if (acknowledged.size < ids.length) await sleep(50);
    }
    phase.syncsAcknowledged += acknowledged.size;
  }
}

interface SimStats {
  requests: number;
  byKind: Record<string, number>;
}

/** The read cache's counters by read from the gateway's /metrics (none with the cache off). */
async function cacheReads(url: string): Promise<CacheReads> {
  const reads: CacheReads = { hits: {}, misses: {}, saved: {}, invalidations: {}, deltas: {} };
  const text = await (await fetch(new URL("/metrics", url))).text();
  const pattern =
    /^codat_gateway_cache_(hits|misses|codat_calls_saved|invalidations|sync_deltas)_total\{(?:read|signal|outcome)="([^"]+)"\} (\S+)$/gm;
  const into = {
    hits: reads.hits,
    misses: reads.misses,
    codat_calls_saved: reads.saved,
    invalidations: reads.invalidations,
    sync_deltas: reads.deltas,
  };
  for (const [, counter, label, value] of text.matchAll(pattern)) into[counter as keyof typeof into][label!] = Number(value);
  return reads;
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta !== 0) result[key] = delta;
  }
  return result;
}

/** `page 12, ids 3, …` (largest first), or 0. */
function counts(values: Record<string, number>): string {
  const entries = Object.entries(values).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? "0" : entries.map(([key, n]) => `${key} ${n}`).join(", ");
}

async function runSide(side: Side, settings: Settings, sim: BenchChild, secret: string, log: (m: string) => void): Promise<SideResult> {
  const warmup = side === "on" ? settings.warmupMinutesOn : settings.warmupMinutes;
  const gateway = await BenchChild.start({
    name: `gateway-cache-${side}`,
    script: "bench/gateway-process.mjs",
    args: [
      sim.info.url,
      `CACHE_ENABLED=${side === "on"}`,
      `CODAT_REQUESTS_PER_MINUTE=${settings.budget}`,
      `CODAT_WEBHOOK_SECRET=${secret}`,
      // Waits for the budget's next window are the users' (retryAfterSeconds), not the gateway's queue.
      `LOG_LEVEL=warn`,
    ],
    nodeFlags: settings.gatewayFlags,
    cwd: repoDir,
    env: { NODE_ENV: settings.nodeEnv },
  });
  // Users pause for seconds (think time, retryAfter): idle sockets close before the gateway's 5 s keep-alive does.
  const client = new HttpClient(settings.users, { idleTimeoutMs: 3_000 });
  try {
    const url = gateway.info.url;
    await sim.call("setWebhookUrl", `${new URL(url).origin}/webhooks/codat`);
    log(`cache ${side}: ${settings.users} users, ${warmup} warm-up budget minute(s) (not counted), then ${settings.minutes} measured…`);
    const start = performance.now();
    const measureFrom = start + warmup * 60_000;
    const phase = new Phase(side, measureFrom, measureFrom + settings.minutes * 60_000);
    const users = Array.from({ length: settings.users }, (_, user) => runUser(phase, settings, url, client, user));
    const changes = runChanges(phase, settings, sim, start);
    const writes = runWrites(phase, settings, url, client, start);
    await sleep(Math.max(0, measureFrom - performance.now()));
    const statsBefore = await sim.call<SimStats>("stats");
    const readsBefore = await cacheReads(url);
    const background = new BackgroundCpu([gateway.pid, sim.pid]);
    const cpuBefore = readCpuMs(gateway.pid);
    if (warmup > 0) log(`cache ${side}: warm-up over, measuring…`);
    await sleep(Math.max(0, phase.end - performance.now()));
    const statsAtEnd = await sim.call<SimStats>("stats");
    const gatewayCpuMs = readCpuMs(gateway.pid) - cpuBefore;
    const backgroundCores = background.stop();
    const readsAtEnd = await cacheReads(url);
    // Operations in flight at the end finish (they are not counted as served) before the gateway stops.
    await Promise.all([...users, changes, writes]);
    const measuredMs = phase.end - measureFrom;
    const measured = phase.records.filter((r) => r.startedAt >= measureFrom);
    const served = measured.filter((r) => r.ok && r.endedAt <= phase.end);
    const failedByCode: Record<string, number> = {};
    for (const r of measured) if (!r.ok && r.code !== undefined) failedByCode[r.code] = (failedByCode[r.code] ?? 0) + 1;
    const byKind = (kind: OpKind) => served.filter((r) => r.kind === kind);
    const codatCalls = statsAtEnd.requests - statsBefore.requests;
    return {
      side,
      warmupMs: measureFrom - start,
      measuredMs,
      served: served.length,
      servedPerMinute: served.length / (measuredMs / 60_000),
      codatCalls,
      codatCallsPer1000Ops: served.length === 0 ? Number.NaN : (codatCalls / served.length) * 1000,
      codatCallsByKind: difference(statsAtEnd.byKind, statsBefore.byKind),
      cacheReads: {
        hits: difference(readsAtEnd.hits, readsBefore.hits),
        misses: difference(readsAtEnd.misses, readsBefore.misses),
        saved: difference(readsAtEnd.saved, readsBefore.saved),
        invalidations: difference(readsAtEnd.invalidations, readsBefore.invalidations),
        deltas: difference(readsAtEnd.deltas, readsBefore.deltas),
      },
      latencyMs: summarize(served.map((r) => r.endedAt - r.startedAt)),
      latencyByKindMs: Object.fromEntries(KINDS.map((k) => [k, summarize(byKind(k).map((r) => r.endedAt - r.startedAt))])) as Record<
        OpKind,
        LatencySummary
      >,
      servedByKind: Object.fromEntries(KINDS.map((k) => [k, byKind(k).length])) as Record<OpKind, number>,
      failedByCode,
      unexpectedErrors: phase.unexpectedErrors,
      ...(phase.firstUnexpectedError === undefined ? {} : { firstUnexpectedError: phase.firstUnexpectedError }),
      staleServes: phase.staleAges.length,
      staleAgeSeconds: summarize(phase.staleAges.filter(Number.isFinite)),
      staleReasons: phase.staleReasons,
      staleAfterInvalidation: phase.staleAfterInvalidation,
      ...(phase.firstStaleAfterInvalidation === undefined ? {} : { firstStaleAfterInvalidation: phase.firstStaleAfterInvalidation }),
      namesChecked: phase.namesChecked,
      writes: phase.writes,
      syncs: phase.syncs,
      syncsModified: phase.syncsModified,
      syncsAcknowledged: phase.syncsAcknowledged,
      renames: phase.renameCount,
      completedAfterEnd: measured.filter((r) => r.endedAt > phase.end).length,
      gatewayCpuMsPerOp: served.length === 0 ? Number.NaN : gatewayCpuMs / served.length,
      backgroundCores,
    };
  } finally {
    client.close();
    await sim.call("setWebhookUrl", undefined).catch(() => undefined);
    await gateway.stop();
  }
}

// ------------------------------------------------------------------------------------------ report

function resultTable(results: SideResult[]): Table {
  const off = results.find((r) => r.side === "off");
  const on = results.find((r) => r.side === "on");
  const ratio = (a: number | undefined, b: number | undefined): string =>
    a === undefined || b === undefined || !(b > 0) ? "" : `${fixed(a / b, 2)}×`;
  const row = (name: string, value: (r: SideResult) => string, compare = ""): string[] => [
    name,
    ...results.map(value),
    ...(results.length === 2 ? [compare] : []),
  ];
  return {
    headers: ["browse workload", ...results.map((r) => `cache ${r.side}`), ...(results.length === 2 ? ["on vs off"] : [])],
    rows: [
      row("operations served / minute", (r) => fixed(r.servedPerMinute, 0), ratio(on?.servedPerMinute, off?.servedPerMinute)),
      row(
        "Codat calls / 1,000 operations",
        (r) => fixed(r.codatCallsPer1000Ops, 0),
        off && on ? `${ratio(off.codatCallsPer1000Ops, on.codatCallsPer1000Ops)} fewer` : "",
      ),
      row("Codat calls (at the simulator)", (r) => String(r.codatCalls)),
      row("Codat calls by kind", (r) => counts(r.codatCallsByKind)),
      row("cache misses by read", (r) => counts(r.cacheReads.misses)),
      row("cache hits by read", (r) => counts(r.cacheReads.hits)),
      row("invalidations by signal (all companies)", (r) => counts(r.cacheReads.invalidations)),
      row("syncs' deltas by outcome", (r) => counts(r.cacheReads.deltas)),
      row("served by kind (list / detail / attachments / write)", (r) => KINDS.map((kind) => String(r.servedByKind[kind])).join(" / ")),
      row("p50 / p99 latency, served (ms)", (r) => `${fixed(r.latencyMs.p50)} / ${fixed(r.latencyMs.p99)}`),
      row("p50 list / detail / attachments (ms)", (r) =>
        [r.latencyByKindMs.list, r.latencyByKindMs.detail, r.latencyByKindMs.attachments].map((s) => fixed(s.p50, 0)).join(" / "),
      ),
      row("failed operations (by code)", (r) =>
        Object.keys(r.failedByCode).length === 0
          ? "0"
          : Object.entries(r.failedByCode)
              .map(([code, n]) => `${n} ${code}`)
              .join(", "),
      ),
      row("gateway CPU per served operation (ms)", (r) => fixed(r.gatewayCpuMsPerOp, 2)),
      row("stale serves (flagged), whole run", (r) => String(r.staleServes)),
      row("stale age p50 / max (s), whole run", (r) =>
        r.staleServes === 0 ? "–" : `${fixed(r.staleAgeSeconds.p50)} / ${fixed(r.staleAgeSeconds.max)}`,
      ),
      row("stale after invalidation (names checked), whole run", (r) => `${r.staleAfterInvalidation} (${r.namesChecked})`),
      row(
        "writes / renames / syncs (modified, acked), whole run",
        (r) => `${r.writes} / ${r.renames} / ${r.syncs} (${r.syncsModified}, ${r.syncsAcknowledged})`,
      ),
    ],
  };
}

async function main(): Promise<number> {
  const settings = parseSettings();
  const started = Date.now();
  const log = (message: string): void => {
    process.stderr.write(`[bench:cache ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
  };
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const sim = await BenchChild.start({
    name: "simulator",
    script: "bench/simulator-process.ts",
    args: [
      "--latency",
      String(settings.latencyMs),
      "--companies",
      String(settings.companies),
      "--customers",
      String(settings.customers),
      "--webhook-secret",
      secret,
    ],
    cwd: repoDir,
  });
  const results: SideResult[] = [];
  try {
    for (const side of settings.sides) results.push(await runSide(side, settings, sim, secret, log));
  } finally {
    await sim.stop();
  }

  const cpu = cpus();
  const environment = {
    node: process.version,
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    platform: `${process.platform} ${process.arch}`,
  };
  const off = results.find((r) => r.side === "off");
  const on = results.find((r) => r.side === "on");
  const checks: Target[] = [
    ...results.flatMap((r) => [
      target(
        `cache ${r.side}: stale serves after an invalidation was received`,
        r.staleAfterInvalidation,
        "<=",
        0,
        "names",
        r.firstStaleAfterInvalidation,
      ),
      target(`cache ${r.side}: failed operations other than RATE_LIMITED`, r.unexpectedErrors, "<=", 0, "ops", r.firstUnexpectedError),
      target(`cache ${r.side}: read.completed webhooks acknowledged by the gateway`, r.syncsAcknowledged, ">=", r.syncs, "syncs"),
    ]),
    ...(off && on
      ? [
          target(
            `Codat calls per operation, off ÷ on (issue 28: ≥ ${TARGET_CALL_RATIO}×)`,
            off.codatCallsPer1000Ops / on.codatCallsPer1000Ops,
            ">=",
            TARGET_CALL_RATIO,
            "×",
          ),
        ]
      : []),
  ];
  const table = resultTable(results);
  const background = Math.max(...results.map((r) => r.backgroundCores));
  const lines: string[] = [""];
  lines.push(`Read cache under a browse workload — node ${environment.node}, ${environment.cores} × ${environment.cpu}`);
  lines.push(
    `${settings.users} users over ${settings.companies} companies of ${settings.customers} customers; simulator latency ${settings.latencyMs} ms; ` +
      `budget ${settings.budget} Codat calls/minute (CODAT_REQUESTS_PER_MINUTE); per side, on a fresh gateway: ` +
      `${settings.warmupMinutes} (cache on: ${settings.warmupMinutesOn}) warm-up budget minute(s) of the same workload, NOT counted, then ${settings.minutes} measured ` +
      `budget minute(s) (not scaled: the gateway's budget window is a fixed minute)`,
  );
  lines.push(
    `sessions: page k of ${settings.pages} (Zipf ${settings.zipf}) → a customer of it (Zipf over rows) → its attachments; ` +
      `think time mean ${settings.thinkMs} ms; ${settings.writesPerMinute} createCustomer a minute (the companies in turn)` +
      `${settings.writeRate > 0 ? ` and one in ${(settings.writeRate * 100).toFixed(1)}% of sessions` : ""}; ` +
      `every ${settings.syncEveryMs / 1000} s ${settings.edits} renames in the platform and a read.completed per company`,
  );
  lines.push(`gateway processes: ${[...settings.gatewayFlags, `NODE_ENV=${settings.nodeEnv}`].join(" ")}`);
  lines.push("");
  lines.push(renderTable(table));
  lines.push(
    `note: the table's figures are the measured minute(s) after the warm-up unless "whole run" (warm-up included) says otherwise. ` +
      `"served" = started and completed within the measured minute(s), answered without errors; Codat calls are counted at the ` +
      `simulator (pushes and push status reads included) over the same span; hits and misses are the gateway's /metrics ` +
      `(ids = the customer loader's id-list reads: detail). Stale age comes from the answers' extensions.cache.ageSeconds.`,
  );
  if (background > BACKGROUND_WARNING_CORES)
    lines.push(
      `warning: other processes used up to ${background.toFixed(2)} cores during measurement: numbers are noisy, rerun on a quiet machine`,
    );
  lines.push("");
  lines.push("Checks");
  for (const t of checks) {
    const value = Number.isInteger(t.value) ? String(t.value) : fixed(t.value, 2);
    lines.push(
      `  ${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${value} ${t.unit} (${t.comparison} ${fixed(t.limit, 0)})${t.note ? ` — ${t.note}` : ""}`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);

  mkdirSync(dirname(settings.out), { recursive: true });
  writeFileSync(
    settings.out,
    `${JSON.stringify(
      {
        finishedAt: new Date().toISOString(),
        durationS: (Date.now() - started) / 1000,
        environment,
        settings,
        results,
        tables: [table],
        checks,
        maxBackgroundCores: background,
      },
      null,
      2,
    )}\n`,
  );
  log(`results written to ${relative(process.cwd(), settings.out)}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error("bench:cache: harness error:", error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
