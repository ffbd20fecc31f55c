/**
 * The read cache: Codat's answers to the gateway's reads, kept per company until Codat says they changed, and
 * never longer than the time bound (docs/caching.md says what it means for a frontend).
 *
 * It sits at the Codat-call level, beneath the loaders (so their batching works as before and a hit costs no
 * Codat call) and beneath the caller's authorization: `view()` is wrapped by `scopeClient` (auth/scoped-client.ts),
 * which refuses another company before any lookup — another company's entries are unreachable by construction.
 *
 * - Keys: `<company>:<scope>:<generation>:<read>:<arguments>`. The scope is `customers` (pages, the loader's
 *   id-list reads), `records` (customers by id; their key also carries the customer's own generation, `r:<id>`),
 *   `attachments` (attachment lists and metadata) or `connections` (connections, the create/update model).
 *   Download bytes and push operations are never cached. Attachments have their own scope because Codat reads
 *   them live from the accounting platform ("without requiring a fresh sync of data"; they have no sync settings
 *   and no `modifiedDate`): a sync of the customers says nothing about them, so it does not drop them; an
 *   attachment uploaded through Codat (`write.successful` of type `UploadAttachment`), a connection or company
 *   event, and the time bound do.
 * - A page read from Codat also fills the entry of each customer it returned (`customer:[id]`: the same data, the
 *   same generation, the same time of reading; one more store operation, a pipeline with Redis). Customers by id —
 *   getCustomer, and the customer loader's id-list reads (`id=a||id=b`) — are answered from those entries when all
 *   of them are there and fresh, so a frontend's list → detail costs one Codat call, not two.
 * - Invalidation (`dataChanged`, and the gateway's own successful writes): the company's generation of the scope
 *   is incremented, one store operation whatever the number of entries (store.ts). A sync of the customers
 *   (`read.completed`) drops the company's pages at once and holds its customers by id while one Codat call asks
 *   which customers changed (`modifiedDate>=` the oldest entry the store may still hold, less a margin for the
 *   clocks: Codat's documented way to fetch what changed); then just those customers' entries go, and the hold
 *   ends. When that call fails, names too many, or never ends (the hold runs out), every customer entry of the
 *   company goes. One push is one invalidation:
 *   the gateway seeing its own push succeed and Codat's `write.successful` for that push are the same news, and
 *   only the first drops the entries (the read.completed of the sync that follows is news of its own).
 * - Time bound: an entry older than CACHE_REVALIDATE_AFTER_SECONDS is checked by one `dataStatus` call per company
 *   (an unchanged `latestSuccessfulSyncId` confirms every customer entry of the company read since that sync was
 *   first seen; a new one invalidates them); past CACHE_MAX_AGE_SECONDS unconfirmed, an entry is expired.
 * - Stale on error: an expired entry (of the current generation: never one an invalidation dropped) is served
 *   when Codat or the gateway's limits refuse the read (429, 5xx, timeout, budget, company slots), marked stale.
 * - One call per miss: concurrent misses of a key in this process share one Codat call; across replicas (Redis)
 *   one replica takes the key's fill lease and the others wait for its wake-up (store.ts).
 * - Read-your-writes: a customer written through the gateway is kept per company (`overlay`) and shown on reads
 *   of it, flagged pendingSync, until Codat reports a sync of the company's customers or the time bound passes.
 */
import { GraphQLError } from "graphql";
import { LRUCache } from "lru-cache";
import type { CodatApi } from "../auth/scoped-client.js";
import type { CallOptions, CodatClient, CreateCustomerParams, PageParams, UpdateCustomerParams } from "../codat/client.js";
import { uuidSegment } from "../codat/paths.js";
import type { CodatCustomer, CodatCustomerRecord, CodatCustomersPage, CodatPushOperation } from "../codat/types.js";
import { validCustomer } from "../codat/validate.js";
import { ErrorCode } from "../errors.js";
import type { CacheConfig } from "../config.js";
import type { DataChange, DataChangeSink } from "../webhooks/data-changes.js";
import { CacheNotes, freshnessOf, setFreshness, setPendingSync, type Freshness, type StaleReason } from "./freshness.js";
import type { CacheStore, Generations } from "./store.js";

export interface CacheMetricsSink {
  /**
   * A read answered from the cache (`read`: page, ids — an id-list read of the customer loader —, customer,
   * attachments, attachment, connections, model).
   */
  hit(read: string): void;
  miss(read: string): void;
  /** An expired entry served because Codat (or the gateway's limits) refused the read. */
  stale(read: string, reason: StaleReason, ageSeconds: number): void;
  /** A Codat call not made: a hit, or a miss that waited for another's call (in this process or another replica). */
  saved(read: string): void;
  /** An invalidation (`signal`: read.completed, write.successful, connection, company.deleted, gateway.write, data_status, hold_expired). */
  invalidated(signal: string, lagSeconds: number | undefined): void;
  /**
   * A sync's delta: named (the customers Codat changed were read: just theirs dropped), too_many (more than one
   * page) or failed (every customer entry of the company dropped).
   */
  delta(outcome: "named" | "too_many" | "failed"): void;
  /** A `dataStatus` check: confirmed (no new sync), changed (invalidated), failed. */
  revalidated(outcome: "confirmed" | "changed" | "failed"): void;
  /** A shadow check of a hit (CACHE_SHADOW_RATE): whether Codat's answer matched the entry. */
  shadow(match: boolean): void;
}

export interface ReadCacheOptions {
  client: CodatClient;
  store: CacheStore;
  config: CacheConfig;
  /** The clock (ms since the epoch); default Date.now. */
  now?: () => number;
  /** For CACHE_SHADOW_RATE; default Math.random. */
  random?: () => number;
  metrics?: CacheMetricsSink | undefined;
  log?: { warn(message: string): void } | undefined;
}

type Scope = "customers" | "records" | "attachments" | "connections";
/** The generation of the overlay of written customers: bumped only when Codat reports a sync of the customers. */
const SYNC_SCOPE = "customers-sync";
/** The generations every read asks the store for (a customer's own, `r:<id>`, added by the reads of customers). */
const BASE_FIELDS = ["*", "customers", "records", "attachments", "connections", SYNC_SCOPE, "hold", "holdSeq"];
/** Customers one sync's delta may name; more, and every customer entry of the company goes. */
const DELTA_PAGE_SIZE = 1_000;
/** How long the delta call may take; the hold lasts this and HOLD_MARGIN_MS. */
const DELTA_TIMEOUT_MS = 10_000;
const HOLD_MARGIN_MS = 5_000;
/** How often a read waiting for another replica's delta looks again (its wake-up may have come just before it listened). */
const HOLD_POLL_MS = 250;
/** How far Codat's clock (its `modifiedDate`) and this one may disagree. */
const CLOCK_MARGIN_MS = 5 * 60_000;
/** Pushes whose success one process remembers having heard of. */
const MAX_NEWS = 10_000;
/** Customers written through the gateway one company's overlay keeps (the most recent). */
const MAX_OVERLAY = 200;
/** An id-list query, as the customer loader builds them (`id=a||id=b`). */
const ID_LIST = /^id=[^|&{}=!~<>]+(?:\|\|id=[^|&{}=!~<>]+)*$/;
/** Most ids of an id-list read answered from the customers' own entries (the loader's chunks hold at most 49 UUIDs). */
const MAX_COMPOSED_IDS = 100;

interface Entry<T> {
  /** Codat's answer. */
  v: T;
  /** When it was read from Codat (ms). */
  at: number;
}

/** The company's last `dataStatus` check: when, the customers' latest successful sync, and when it was first seen. */
interface Check {
  at: number;
  sync: string | null;
  since: number;
}

interface Overlay {
  /** Customer id → the record as written, and when. */
  records: Record<string, { r: CodatCustomerRecord; at: number }>;
}

/** A write the gateway sent that Codat answered Pending: shown once its operation succeeds. */
interface PendingWrite {
  id?: string | undefined;
  data: object;
}

interface Fill {
  promise: Promise<string>;
  signal: AbortSignal | undefined;
}

/** The entries a fill also writes (their keys and texts), from the answer and its time of reading. */
type Primer<T> = (value: T, at: number) => Promise<readonly (readonly [key: string, text: string])[]>;

interface Served<T> {
  value: T;
  freshness: Freshness;
}

const NO_NOTES = new CacheNotes();

export class ReadCache implements DataChangeSink {
  readonly #client: CodatClient;
  readonly #store: CacheStore;
  readonly #config: CacheConfig;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #metrics: CacheMetricsSink | undefined;
  readonly #log: { warn(message: string): void } | undefined;
  readonly #fills = new Map<string, Fill>();
  readonly #checks = new Map<string, Promise<{ check: Check | undefined; changed: boolean }>>();
  readonly #shadows = new Set<Promise<void>>();
  /** Syncs' deltas this process is reading, by company: the reads their holds stop wait for them. */
  readonly #deltas = new Map<string, Promise<void>>();
  /** Pushes whose success this process has heard of (the latest MAX_NEWS). */
  readonly #news = new LRUCache<string, true>({ max: MAX_NEWS });

  constructor(options: ReadCacheOptions) {
    this.#client = options.client;
    this.#store = options.store;
    this.#config = options.config;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#metrics = options.metrics;
    this.#log = options.log;
  }

  get store(): CacheStore {
    return this.#store;
  }

  /** Codat announced a change (webhooks/route.ts): the company's entries of the data types named are dropped. */
  async dataChanged(change: DataChange): Promise<void> {
    const company = change.companyId.toLowerCase();
    const all = change.kind === "connection" || change.kind === "company.deleted" || change.dataTypes.includes("*");
    if (all) return this.#bump(company, ["*"], change.kind, change.generatedDate);
    if (!change.dataTypes.includes("customers")) return;
    if (change.kind === "write.successful") {
      // An attachment uploaded to a customer: its attachments changed, not the customers.
      if (change.writeType === "UploadAttachment") return this.#bump(company, ["attachments"], change.kind, change.generatedDate);
      // A push the gateway saw succeed already (its own): its entries went then.
      if (change.pushOperationKey !== undefined && !(await this.#firstNews(company, change.pushOperationKey))) return;
      // The customer it wrote (a create's is new: no entry of it can exist); unnamed, all of them.
      const written = change.writeType === "Create" ? [] : change.recordId !== undefined ? [recordField(change.recordId)] : ["records"];
      return this.#bump(company, ["customers", ...written], change.kind, change.generatedDate);
    }
    await this.#synced(company, change);
  }

  /**
   * A sync of the company's customers: its pages go at once (and the overlay of written customers: Codat now shows
   * what was pushed); its customers by id are held while one Codat call names the customers that changed, then
   * just theirs go (all of them when it cannot say).
   */
  async #synced(company: string, change: DataChange): Promise<void> {
    const seq = await this.#store.hold(company, this.#now() + DELTA_TIMEOUT_MS + HOLD_MARGIN_MS);
    const done = (async () => {
      try {
        await this.#bump(company, ["customers", SYNC_SCOPE], change.kind, change.generatedDate);
        // The latest sync as Codat says it now, read before the delta (which then covers it and every sync before
        // it): the dataStatus checks take it as known, so the sync this webhook announced does not drop the
        // company's entries a second time when a check sees it. A sync after it is new to them.
        const sync = await Promise.resolve()
          .then(() => this.#client.getDataStatus(company))
          .then(
            (status) => status["customers"]?.latestSuccessfulSyncId ?? null,
            () => undefined,
          );
        const changed = await this.#changedCustomers(company);
        await this.#store.release(company, seq, changed === undefined ? ["records"] : changed.map(recordField));
        if (sync !== undefined) {
          // Every entry left is current as of the delta (pages and customers read since this webhook, customers it
          // did not name): all of them are confirmed (`since` 0).
          const check: Check = { at: this.#now(), sync, since: changed === undefined ? this.#now() : 0 };
          await this.#store.set(`${company}:check`, JSON.stringify(check), 2 * this.#config.maxAgeMs);
        }
      } finally {
        // The reads waiting for it (here, and on the other replicas) look again.
        void this.#store.filled(holdKey(company));
      }
    })();
    this.#deltas.set(company, done);
    try {
      await done;
    } finally {
      if (this.#deltas.get(company) === done) this.#deltas.delete(company);
    }
  }

  /**
   * The customers Codat's cache changed since the oldest entry the store may still hold (entries are kept twice the
   * time bound), less a margin for the clocks; undefined when Codat cannot say in one page and in time.
   */
  async #changedCustomers(company: string): Promise<string[] | undefined> {
    const since = new Date(Date.now() - 2 * this.#config.maxAgeMs - CLOCK_MARGIN_MS).toISOString().replace(/\.\d{3}Z$/, "Z");
    try {
      const page = await this.#client.listCustomers(
        company,
        { page: 1, pageSize: DELTA_PAGE_SIZE, query: `modifiedDate>=${since}` },
        { signal: AbortSignal.timeout(DELTA_TIMEOUT_MS) },
      );
      if (page.totalResults > page.results.length) {
        this.#metrics?.delta("too_many");
        return undefined;
      }
      this.#metrics?.delta("named");
      return page.results.map((record) => record.id);
    } catch {
      this.#metrics?.delta("failed");
      return undefined;
    }
  }

  /** Waits for the shadow checks started so far (tests, and stop()). */
  async settled(): Promise<void> {
    while (this.#shadows.size > 0) await Promise.all([...this.#shadows]);
  }

  /**
   * A push operation of the company's customers ended in success (polled or announced): its entries go, and the
   * customer it wrote, if the gateway sent it and it was still pending then, is shown until the next sync.
   */
  async pushSucceeded(companyId: string, pushOperationKey?: string, operation?: CodatPushOperation): Promise<void> {
    const company = companyId.toLowerCase();
    const key = pushOperationKey === undefined ? undefined : pendingKey(company, pushOperationKey);
    const text = key === undefined ? undefined : await this.#store.get(key);
    const pending = text === undefined ? undefined : (JSON.parse(text) as PendingWrite);
    if (pushOperationKey === undefined || (await this.#firstNews(company, pushOperationKey))) {
      // The customer an update wrote, if the gateway sent it (a create's is new); a push it did not send: all of them.
      const written = pending === undefined ? ["records"] : pending.id === undefined ? [] : [recordField(pending.id)];
      await this.#bump(company, ["customers", ...written], "gateway.write", undefined);
    }
    if (pushOperationKey === undefined || key === undefined || pending === undefined) return;
    await this.#store.delete(key);
    let id = pending.id;
    if (id === undefined) {
      // A create's id is known once it succeeded: the operation's changes name it (one Codat call).
      const succeeded = operation ?? (await this.#client.getPushOperation(companyId, pushOperationKey).catch(() => null));
      id = succeeded?.changes?.find((change) => change.type === "Created")?.recordRef?.id ?? undefined;
    }
    if (id !== undefined) await this.#show(company, id, pending.data);
  }

  /**
   * The Codat client as one request sees it through the cache (`notes` collects its stale serves). Reads of the
   * cached kinds go through the cache; push operations, downloads and writes go to Codat (a successful write
   * invalidates, and shows its customer until the next sync).
   */
  view(notes: CacheNotes = NO_NOTES): CodatApi {
    const client = this.#client;
    return {
      listCustomers: async (companyId: string, params: PageParams, options?: CallOptions) => {
        const company = companyOf(companyId);
        const ids = idsOf(params);
        const generations = await this.#generations(company, ids);
        // Customers by id (the loader's `id=a||id=b` reads): answered from each customer's own entry when all are
        // there and fresh (filled by a page that returned them, by getCustomer, or by an earlier id list).
        if (ids !== undefined && generations !== undefined) {
          const composed = await this.#byIds(generations, company, ids, params, options?.signal);
          if (composed !== undefined) return this.#overlaid(generations, company, composed, params.query);
        }
        const args = [params.page, params.pageSize, params.query ?? "", params.orderBy ?? ""];
        const served = await this.#read(
          generations,
          company,
          "customers",
          ids === undefined ? "page" : "ids",
          args,
          notes,
          options,
          (call) => client.listCustomers(companyId, params, call),
          // Every customer a page returned gets its own entry: the same data, generation and time of reading.
          (page) => page.results.map((record) => ["customer", [record.id], record, record.id] as const),
        );
        const page = served.value;
        for (const record of page.results) setFreshness(record, served.freshness);
        setFreshness(page, served.freshness);
        return this.#overlaid(generations, company, page, params.query);
      },
      getCustomer: async (companyId: string, customerId: string, options?: CallOptions) => {
        const company = companyOf(companyId);
        const generations = await this.#generations(company, [customerId]);
        const served = await this.#read(
          generations,
          company,
          "records",
          "customer",
          [customerId],
          notes,
          options,
          (call) => client.getCustomer(companyId, customerId, call),
          undefined,
          customerId,
        );
        if (served.value) setFreshness(served.value, served.freshness);
        const written = await this.#overlay(generations, company);
        const record = written?.records[customerId];
        return record ? this.#pending(record) : served.value;
      },
      listCustomerAttachments: async (companyId: string, connectionId: string, customerId: string, options?: CallOptions) => {
        const company = companyOf(companyId);
        const generations = await this.#generations(company);
        const args = [connectionId.toLowerCase(), customerId];
        const served = await this.#read(generations, company, "attachments", "attachments", args, notes, options, (call) =>
          client.listCustomerAttachments(companyId, connectionId, customerId, call),
        );
        return served.value;
      },
      getCustomerAttachment: async (
        companyId: string,
        connectionId: string,
        customerId: string,
        attachmentId: string,
        options?: CallOptions,
      ) => {
        const company = companyOf(companyId);
        const generations = await this.#generations(company);
        const args = [connectionId.toLowerCase(), customerId, attachmentId];
        const served = await this.#read(generations, company, "attachments", "attachment", args, notes, options, (call) =>
          client.getCustomerAttachment(companyId, connectionId, customerId, attachmentId, call),
        );
        return served.value;
      },
      listConnections: async (companyId: string, params: PageParams, options?: CallOptions) => {
        const company = companyOf(companyId);
        const generations = await this.#generations(company);
        const args = [params.page, params.pageSize, params.query ?? "", params.orderBy ?? ""];
        const served = await this.#read(generations, company, "connections", "connections", args, notes, options, (call) =>
          client.listConnections(companyId, params, call),
        );
        return served.value;
      },
      getCustomerCreateUpdateModel: async (companyId: string, connectionId: string, options?: CallOptions) => {
        const company = companyOf(companyId);
        const generations = await this.#generations(company);
        const served = await this.#read(
          generations,
          company,
          "connections",
          "model",
          [connectionId.toLowerCase()],
          notes,
          options,
          (call) => client.getCustomerCreateUpdateModel(companyId, connectionId, call),
        );
        return served.value;
      },
      listPushOperations: (companyId, params, options) => client.listPushOperations(companyId, params, options),
      getPushOperation: async (companyId, key, options) => {
        const operation = await client.getPushOperation(companyId, key, options);
        // A read of a push the gateway sent and still holds as pending, answered Success: the gateway now knows it
        // succeeded (a frontend polling `pushOperation` rather than subscribing), as a webhook would have said.
        if (operation?.status === "Success" && (await this.#store.get(pendingKey(companyOf(companyId), key))) !== undefined) {
          await this.pushSucceeded(companyId, key, operation).catch(() => undefined);
        }
        return operation;
      },
      downloadCustomerAttachment: (companyId, connectionId, customerId, attachmentId, options) =>
        client.downloadCustomerAttachment(companyId, connectionId, customerId, attachmentId, options),
      createCustomer: async (
        companyId: string,
        connectionId: string,
        customer: CodatCustomer,
        params: CreateCustomerParams,
        options?: CallOptions,
      ) => {
        const response = await client.createCustomer(companyId, connectionId, customer, params, options);
        const id = response.changes?.find((change) => change.type === "Created")?.recordRef?.id ?? response.data?.id;
        await this.#wrote(companyId, response, id);
        return response;
      },
      updateCustomer: async (
        companyId: string,
        connectionId: string,
        customerId: string,
        customer: CodatCustomer,
        params?: UpdateCustomerParams,
        options?: CallOptions,
      ) => {
        const response = await client.updateCustomer(companyId, connectionId, customerId, customer, params, options);
        await this.#wrote(companyId, response, customerId);
        return response;
      },
    };
  }

  /** One cached read: a fresh entry, else one Codat call shared by every concurrent miss, else a stale entry. */
  async #read<T>(
    generations: Generations | undefined,
    company: string,
    scope: Scope,
    read: string,
    args: readonly unknown[],
    notes: CacheNotes,
    given: CallOptions | undefined,
    fetch: (call: CallOptions) => Promise<T>,
    prime?: (value: T) => readonly (readonly [read: string, args: readonly unknown[], value: unknown, record: string])[],
    record?: string,
  ): Promise<Served<T>> {
    const options = given ?? {};
    // A customer's entry while a sync's delta holds the company's: asked of Codat (the store cannot tell yet
    // whether it changed). The store cannot say the generation (Redis away): nothing is served from it or kept in it.
    if (generations !== undefined && scope === "records")
      generations = await this.#unheld(company, generations, record === undefined ? [] : [record], options.signal);
    if (generations === undefined) {
      const value = await fetch(options);
      return { value, freshness: this.#freshness(this.#now(), false) };
    }
    const keyOf = (current: Generations) => entryKey(prefixOf(company, scope, current, record), read, args);
    let key = keyOf(generations);
    // The generations the key was made of: entries filled alongside it (prime) are filed only if the company's
    // customers did not change meanwhile (else an invalidation in between could have named one of them).
    let start = generations;
    let expired: Entry<T> | undefined;
    const text = await this.#store.get(key);
    if (text !== undefined) {
      const entry = JSON.parse(text) as Entry<T>;
      const state = await this.#judge(company, scope, entry);
      if (state === "fresh") {
        this.#metrics?.hit(read);
        this.#metrics?.saved(read);
        this.#shadow(entry, fetch);
        return { value: entry.v, freshness: this.#freshness(entry.at, false) };
      }
      if (state === "expired") expired = entry;
      if (state === "dead") {
        // The check found a newer sync and moved the company to a new generation: the answer is filed there.
        const current = await this.#generations(company, record === undefined ? [] : [record]);
        if (current === undefined) {
          this.#metrics?.miss(read);
          return { value: await fetch(options), freshness: this.#freshness(this.#now(), false) };
        }
        key = keyOf(current);
        start = current;
      }
    }
    this.#metrics?.miss(read);
    const before = start;
    const primer =
      prime === undefined
        ? undefined
        : async (value: T, at: number) => {
            const items = prime(value);
            if (items.length === 0) return [];
            const now = await this.#generations(
              company,
              items.map(([, , , id]) => id),
            );
            const moved = (field: string) => now === undefined || generation(now, field) !== generation(before, field);
            if (now === undefined || now["hold"] !== undefined || moved("*") || moved("customers") || moved("records")) return [];
            return items.map(
              ([other, otherArgs, v, id]) =>
                [
                  entryKey(prefixOf(company, "records", now, id), other, otherArgs),
                  JSON.stringify({ v, at } satisfies Entry<unknown>),
                ] as const,
            );
          };
    try {
      const filled = JSON.parse(await this.#fill(key, read, text, options, fetch, primer)) as Entry<T>;
      return { value: filled.v, freshness: this.#freshness(filled.at, false) };
    } catch (error) {
      const reason = staleReason(error);
      if (expired === undefined || reason === undefined) throw error;
      // An invalidation received while Codat was being asked: the expired entry is known to be outdated.
      const current = await this.#generations(company, record === undefined ? [] : [record]);
      if (current !== undefined && scope === "records" && current["hold"] !== undefined) throw error;
      if (current === undefined || keyOf(current) !== key) throw error;
      const freshness = this.#freshness(expired.at, true);
      notes.staleServed(freshness.ageSeconds, reason);
      this.#metrics?.stale(read, reason, freshness.ageSeconds);
      return { value: expired.v, freshness };
    }
  }

  /** The company's generations a read needs: the scopes', and the customers' own of `ids`. */
  #generations(company: string, ids: readonly string[] = []): Promise<Generations | undefined> {
    return this.#store.generations(company, ids.length === 0 ? BASE_FIELDS : [...BASE_FIELDS, ...ids.map(recordField)]);
  }

  /**
   * The generations to serve a customer's entries by, or undefined while a sync's delta holds them. A read that
   * meets a hold waits for its delta (one Codat call answers them all: this process's own, or another replica's
   * wake-up), at most until the hold's time; a hold past its time (the replica reading the delta stopped, or Codat
   * never answered it) drops every customer entry of the company and ends.
   */
  async #unheld(
    company: string,
    generations: Generations,
    ids: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<Generations | undefined> {
    let current = generations;
    // Bounded in real time too, whatever the clock says (a hold's time is the clock's), and by the read's own end.
    const giveUpAt = performance.now() + DELTA_TIMEOUT_MS + HOLD_MARGIN_MS;
    for (;;) {
      const until = current["hold"];
      if (until === undefined) return current;
      if (this.#now() >= until) break;
      if (performance.now() >= giveUpAt || signal?.aborted === true) return undefined;
      const local = this.#deltas.get(company);
      const waited =
        local !== undefined
          ? local.catch(() => undefined)
          : this.#store.waitFilled(holdKey(company), Math.max(1, Math.min(until - this.#now(), HOLD_POLL_MS)));
      await abortable(waited, signal);
      const next = await this.#generations(company, ids);
      if (next === undefined) return undefined;
      current = next;
    }
    await this.#store.release(company, current["holdSeq"] ?? 0, ["records"]);
    this.#metrics?.invalidated("hold_expired", undefined);
    const after = await this.#generations(company, ids);
    return after?.["hold"] === undefined ? after : undefined;
  }

  /**
   * Whether an entry may be served: fresh (young, or confirmed by a `dataStatus` check since), expired (past the
   * time bound: served only stale on error), or dead (a check found a newer sync: never served).
   */
  async #judge(company: string, scope: Scope, entry: Entry<unknown>): Promise<"fresh" | "expired" | "dead"> {
    const now = this.#now();
    const age = now - entry.at;
    if (age < this.#config.revalidateAfterMs) return "fresh";
    if (scope !== "customers" && scope !== "records") return age < this.#config.maxAgeMs ? "fresh" : "expired";
    const { check, changed } = await this.#revalidate(company);
    if (changed) return "dead";
    if (check !== undefined && check.since <= entry.at && now - check.at < this.#config.revalidateAfterMs) return "fresh";
    // Not confirmed (the check failed, or the entry predates the sync the checks have seen): the time bound decides.
    return age < this.#config.maxAgeMs && check === undefined ? "fresh" : "expired";
  }

  /** The company's recent check, or a new one (one `dataStatus` call for the company at a time in this process). */
  #revalidate(company: string): Promise<{ check: Check | undefined; changed: boolean }> {
    let pending = this.#checks.get(company);
    if (pending === undefined) {
      pending = this.#check(company).finally(() => this.#checks.delete(company));
      this.#checks.set(company, pending);
    }
    return pending;
  }

  async #check(company: string): Promise<{ check: Check | undefined; changed: boolean }> {
    const key = `${company}:check`;
    const text = await this.#store.get(key);
    const previous = text === undefined ? undefined : (JSON.parse(text) as Check);
    const now = this.#now();
    if (previous !== undefined && now - previous.at < this.#config.revalidateAfterMs) return { check: previous, changed: false };
    let sync: string | null;
    try {
      const status = await this.#client.getDataStatus(company);
      sync = status["customers"]?.latestSuccessfulSyncId ?? null;
    } catch {
      this.#metrics?.revalidated("failed");
      return { check: undefined, changed: false };
    }
    const changed = previous !== undefined && previous.sync !== sync;
    const check: Check = { at: now, sync, since: previous !== undefined && !changed ? previous.since : now };
    if (changed) await this.#bump(company, ["customers", "records", SYNC_SCOPE], "data_status", undefined);
    await this.#store.set(key, JSON.stringify(check), 2 * this.#config.maxAgeMs);
    this.#metrics?.revalidated(changed ? "changed" : "confirmed");
    return { check, changed };
  }

  /** The Codat call behind a miss, shared by the concurrent misses of the key (here, and across replicas). */
  async #fill<T>(
    key: string,
    read: string,
    seen: string | undefined,
    options: CallOptions,
    fetch: (call: CallOptions) => Promise<T>,
    primer?: Primer<T>,
  ): Promise<string> {
    const running = this.#fills.get(key);
    if (running !== undefined) {
      try {
        const text = await running.promise;
        this.#metrics?.saved(read);
        return text;
      } catch (error) {
        // The call was cancelled by the request that started it, not by this one: this one reads for itself.
        if (!(running.signal?.aborted === true && options.signal?.aborted !== true)) throw error;
      }
    }
    const fill: Fill = { promise: this.#fetch(key, read, seen, options, fetch, primer), signal: options.signal };
    this.#fills.set(key, fill);
    try {
      return await fill.promise;
    } finally {
      if (this.#fills.get(key) === fill) this.#fills.delete(key);
    }
  }

  /** `seen`: the entry this read found and would not serve (expired), which looking again must not take for a new one. */
  async #fetch<T>(
    key: string,
    read: string,
    seen: string | undefined,
    options: CallOptions,
    fetch: (call: CallOptions) => Promise<T>,
    primer?: Primer<T>,
  ): Promise<string> {
    const leaseMs = this.#config.fillLeaseMs;
    const leased = await this.#store.lease(key, leaseMs);
    // Not leased: another replica is reading it; wait for its wake-up (or the lease's end). Leased: another may
    // have filled it between this one's miss and the lease. Either way, look again before calling Codat.
    if (!leased) await this.#store.waitFilled(key, leaseMs);
    const again = await this.#store.get(key);
    if (again !== undefined && again !== seen) {
      this.#metrics?.saved(read);
      return again;
    }
    try {
      const value = await fetch(options);
      const at = this.#now();
      const text = JSON.stringify({ v: value, at } satisfies Entry<T>);
      // Kept twice the time bound: the second half only for stale serves.
      await this.#store.set(key, text, 2 * this.#config.maxAgeMs);
      // The entries this answer also fills (a page's customers by id): one more store operation, whatever their number.
      if (primer !== undefined) await this.#store.setMany(await primer(value, at), 2 * this.#config.maxAgeMs);
      return text;
    } finally {
      void this.#store.filled(key);
    }
  }

  /**
   * An id-list read answered from the customers' own entries, or undefined when one of them is missing or not fresh
   * (then the read goes its usual way: its own entry, else Codat). An entry holding null (getCustomer found no such
   * customer) leaves the id out, as Codat's list would.
   */
  async #byIds(
    generations: Generations,
    company: string,
    ids: readonly string[],
    params: PageParams,
    signal: AbortSignal | undefined,
  ): Promise<CodatCustomersPage | undefined> {
    // A sync's delta holds them: asked of Codat (the id-list read's own entry, of this generation, is after the sync).
    const unheld = await this.#unheld(company, generations, ids, signal);
    if (unheld === undefined) return undefined;
    generations = unheld;
    const texts = await Promise.all(
      ids.map((id) => this.#store.get(entryKey(prefixOf(company, "records", generations, id), "customer", [id]))),
    );
    const entries: Entry<CodatCustomerRecord | null>[] = [];
    for (const text of texts) {
      if (text === undefined) return undefined;
      entries.push(JSON.parse(text) as Entry<CodatCustomerRecord | null>);
    }
    for (const entry of entries) if ((await this.#judge(company, "records", entry)) !== "fresh") return undefined;
    this.#metrics?.hit("ids");
    this.#metrics?.saved("ids");
    const results: CodatCustomerRecord[] = [];
    for (const entry of entries) {
      if (entry.v === null) continue;
      setFreshness(entry.v, this.#freshness(entry.at, false));
      results.push(entry.v);
    }
    const href = `/companies/${company}/data/customers?page=1&pageSize=${params.pageSize}&query=${encodeURIComponent(params.query ?? "")}`;
    const page: CodatCustomersPage = {
      pageNumber: 1,
      pageSize: params.pageSize,
      totalResults: results.length,
      _links: { self: { href }, current: { href } },
      results,
    };
    setFreshness(page, this.#freshness(Math.min(...entries.map((entry) => entry.at)), false));
    return page;
  }

  /** CACHE_SHADOW_RATE: re-reads a sample of hits from Codat in the background and counts mismatches. */
  #shadow<T>(entry: Entry<T>, fetch: (call: CallOptions) => Promise<T>): void {
    if (this.#config.shadowRate <= 0 || this.#random() >= this.#config.shadowRate) return;
    const expected = JSON.stringify(entry.v);
    const check = fetch({}).then(
      (value) => this.#metrics?.shadow(JSON.stringify(value) === expected),
      () => undefined,
    );
    const tracked = check.finally(() => this.#shadows.delete(tracked));
    this.#shadows.add(tracked);
  }

  #freshness(at: number, stale: boolean): Freshness {
    return { servedAt: new Date(at).toISOString(), ageSeconds: Math.max(0, Math.floor((this.#now() - at) / 1000)), stale };
  }

  async #bump(company: string, scopes: string[], signal: string, generatedDate: string | undefined): Promise<void> {
    try {
      await this.#store.bump(company, scopes);
    } catch (error) {
      this.#log?.warn(`read cache: an invalidation of a company failed (${error instanceof Error ? error.message : String(error)})`);
      throw error;
    }
    const generated = generatedDate === undefined ? Number.NaN : Date.parse(generatedDate);
    this.#metrics?.invalidated(signal, Number.isNaN(generated) ? undefined : Math.max(0, (this.#now() - generated) / 1000));
  }

  /**
   * A write through the gateway: a success invalidates the company's customers and shows the record until the next
   * sync; a pending one is remembered until its operation succeeds (pushSucceeded).
   */
  async #wrote(
    companyId: string,
    response: { status?: string; pushOperationKey: string; data?: object | null | undefined },
    id: string | undefined,
  ): Promise<void> {
    const company = companyId.toLowerCase();
    if (response.status === "Pending" && response.data) {
      const pending: PendingWrite = { id, data: response.data };
      await this.#store.set(pendingKey(company, response.pushOperationKey), JSON.stringify(pending), this.#config.maxAgeMs);
      return;
    }
    if (response.status !== "Success") return;
    if (await this.#firstNews(company, response.pushOperationKey).catch(() => true)) {
      const written = id === undefined ? ["records"] : [recordField(id)];
      await this.#bump(company, ["customers", ...written], "gateway.write", undefined).catch(() => undefined);
    }
    if (id !== undefined && response.data) await this.#show(company, id, response.data);
  }

  /**
   * Whether this is the first the cache hears of a push's success (the gateway's poll or write, or Codat's
   * `write.successful`): true once per push and company, remembered for the time bound. Best effort across
   * replicas (two hearing it at once both invalidate, which is harmless).
   */
  async #firstNews(company: string, pushOperationKey: string): Promise<boolean> {
    const key = `${company}:news:${pushOperationKey.toLowerCase()}`;
    // In this process, taken synchronously (the webhook's two signals of one push arrive together); across replicas,
    // the store's entry.
    if (this.#news.has(key)) return false;
    this.#news.set(key, true);
    if ((await this.#store.get(key)) !== undefined) return false;
    await this.#store.set(key, "1", this.#config.maxAgeMs);
    return true;
  }

  /** Adds a written customer to the company's overlay (the most recent MAX_OVERLAY, the newest last). */
  async #show(company: string, id: string, data: object): Promise<void> {
    // The push's data, as writes/customers.ts checks it: an Accounting customer (else nothing is shown early).
    const written: unknown = { ...data, id };
    if (!validCustomer(written)) return;
    const generations = await this.#generations(company);
    if (generations === undefined) return;
    const key = overlayKey(company, generations);
    const text = await this.#store.get(key);
    const overlay: Overlay = text === undefined ? { records: {} } : (JSON.parse(text) as Overlay);
    const records = Object.entries(overlay.records).filter(([other]) => other !== id);
    records.push([id, { r: written, at: this.#now() }]);
    overlay.records = Object.fromEntries(records.slice(-MAX_OVERLAY));
    await this.#store.set(key, JSON.stringify(overlay), this.#config.maxAgeMs);
  }

  async #overlay(generations: Generations | undefined, company: string): Promise<Overlay | undefined> {
    if (generations === undefined) return undefined;
    const text = await this.#store.get(overlayKey(company, generations));
    if (text === undefined) return undefined;
    const overlay = JSON.parse(text) as Overlay;
    // The time bound, whatever the store's own expiry: a record written that long ago is Codat's business again.
    const since = this.#now() - this.#config.maxAgeMs;
    overlay.records = Object.fromEntries(Object.entries(overlay.records).filter(([, written]) => written.at > since));
    return overlay;
  }

  #pending(written: { r: CodatCustomerRecord; at: number }): CodatCustomerRecord {
    const record = { ...written.r };
    setPendingSync(record);
    setFreshness(record, this.#freshness(written.at, false));
    return record;
  }

  /** A page with the customers written through the gateway in place of Codat's copies (and, for an id list, added). */
  async #overlaid(
    generations: Generations | undefined,
    company: string,
    page: CodatCustomersPage,
    query: string | undefined,
  ): Promise<CodatCustomersPage> {
    const overlay = await this.#overlay(generations, company);
    if (overlay === undefined) return page;
    const shown = new Set<string>();
    const results = page.results.map((record) => {
      const written = overlay.records[record.id];
      if (written === undefined) return record;
      shown.add(record.id);
      return this.#pending(written);
    });
    if (query !== undefined && ID_LIST.test(query)) {
      for (const term of query.split("||")) {
        const id = term.slice(3);
        const written = overlay.records[id];
        if (written !== undefined && !shown.has(id) && !results.some((record) => record.id === id)) {
          results.push(this.#pending(written));
          shown.add(id);
        }
      }
    }
    if (shown.size === 0) return page;
    const added = results.length - page.results.length;
    const overlaid: CodatCustomersPage = { ...page, results, totalResults: page.totalResults + added };
    const freshness = freshnessOf(page);
    if (freshness !== null) setFreshness(overlaid, freshness);
    return overlaid;
  }
}

function companyOf(companyId: string): string {
  return uuidSegment(companyId, "companyId").toLowerCase();
}

function generation(generations: Generations, scope: string): number {
  return generations[scope] ?? 0;
}

/**
 * The part of a key the company's generations decide: `<company>:<scope>:<generation>`, and for a customer's own
 * entries (`records`) the customer's generation too.
 */
function prefixOf(company: string, scope: Scope, generations: Generations, record?: string): string {
  const prefix = `${company}:${scope}:${generation(generations, "*")}.${generation(generations, scope)}`;
  return record === undefined ? prefix : `${prefix}.${generation(generations, recordField(record))}`;
}

/** A customer's own generation. */
function recordField(id: string): string {
  return `r:${id}`;
}

function entryKey(prefix: string, read: string, args: readonly unknown[]): string {
  return `${prefix}:${read}:${JSON.stringify(args)}`;
}

/** The ids of an id-list read (the loader's: page 1, Codat's order, all of them on the page), else undefined. */
function idsOf(params: PageParams): string[] | undefined {
  const query = params.query;
  if (query === undefined || params.page !== 1 || (params.orderBy ?? "") !== "" || !ID_LIST.test(query)) return undefined;
  const ids = [...new Set(query.split("||").map((term) => term.slice(3)))];
  return ids.length <= params.pageSize && ids.length <= MAX_COMPOSED_IDS ? ids : undefined;
}

/** Resolves with `wait`, or as soon as `signal` aborts. */
function abortable(wait: Promise<unknown>, signal: AbortSignal | undefined): Promise<unknown> {
  if (signal === undefined) return wait;
  if (signal.aborted) return Promise.resolve();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([wait, aborted]).finally(() => {
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  });
}

/** What a sync's delta tells the replicas waiting for it (store.filled / waitFilled). */
function holdKey(company: string): string {
  return `${company}:hold`;
}

function pendingKey(company: string, pushOperationKey: string): string {
  return `${company}:pending:${pushOperationKey.toLowerCase()}`;
}

function overlayKey(company: string, generations: Generations): string {
  return `${company}:overlay:${generation(generations, "*")}.${generation(generations, SYNC_SCOPE)}`;
}

/** Whether a failed read may be answered by an expired entry, and why. */
export function staleReason(error: unknown): StaleReason | undefined {
  if (!(error instanceof GraphQLError)) return undefined;
  switch (error.extensions["code"]) {
    case ErrorCode.RateLimited:
      return "rate_limited";
    case ErrorCode.UpstreamUnavailable:
      return "upstream_unavailable";
    case ErrorCode.UpstreamTimeout:
      return "upstream_timeout";
    case ErrorCode.UpstreamError: {
      const status = (error.extensions["upstream"] as { status?: unknown } | undefined)?.status;
      return typeof status === "number" && status >= 500 ? "upstream_error" : undefined;
    }
    default:
      return undefined;
  }
}
