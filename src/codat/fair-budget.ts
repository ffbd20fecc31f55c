/**
 * Codat's per-IP request budget, shared fairly between the companies (tenants) that want it (issue 27, part 2).
 *
 * The budget is a token bucket: it holds at most `burst` requests (CODAT_REQUESTS_PER_MINUTE / 20, at least 1)
 * and refills at (perMinute − burst) a minute, so no 60 s ever sees more than perMinute requests, whatever the
 * alignment of Codat's own window; one tenant can never empty a whole minute in a second.
 *
 * Calls that find the bucket empty wait in one FIFO queue per company, and each token that comes goes to the
 * waiting company that was served least recently (round robin, equal weights), except that a company that starts
 * waiting goes first, once (a sparse flow, as in FQ-CoDel): while tenant B keeps hundreds of calls waiting, tenant
 * A's ordinary query is served by the next token (1/rate: 63 ms at 1,000 a minute), and while both keep calls
 * waiting they alternate. A company that stops waiting keeps its turn until every company still waiting has been
 * served after it, so one sending a call at a time still gets one token per round, not every token.
 * Nothing is reserved for a company that wants nothing: a lone tenant gets the whole rate (idle shares are lent,
 * never hoarded). Per grant the work is O(companies waiting).
 *
 * Admission by deadline (part 3): a call is refused at once (BudgetExhausted, RATE_LIMITED with
 * retryAfterSeconds) only when its estimated start — the tokens the fair order hands out before its turn, at
 * the bucket's rate — is past its wait limit; a waiting call whose limit passes is refused then. The waiting
 * calls are bounded by a generous hard cap (memory). A call takes its token only when it holds its company slot
 * and is about to be sent (call.ts), so a refused or cancelled call spends nothing; a token granted to a call
 * that gave up meanwhile is given back.
 *
 * The bucket itself is a `BudgetStore`: in memory here (`MemoryBudgetStore`), or in Redis for every replica
 * (redis/fair-budget.ts, the same algorithm in one Lua script), where the companies waiting on other replicas
 * count in the round robin too.
 */

/** Ahead of every company served so far: a company that starts waiting is served first (in order of arrival). */
const NEWCOMER = 1e12;

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2_147_483_647;

/** The window was spent and does not turn within the call's wait limit: `retryAfterMs` until it may. */
export class BudgetExhausted extends Error {
  override readonly name = "BudgetExhausted";
  constructor(readonly retryAfterMs: number) {
    super(`Codat's request budget is spent for the next ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

export interface RequestBudget {
  /**
   * Takes one request from the budget for company `key`, waiting up to `maxWaitMs` (and while `signal` is not
   * aborted) for its fair turn. Rejects with BudgetExhausted (at once when it cannot start in time), or with the
   * signal's reason once it aborts.
   */
  take(key: string, signal: AbortSignal | undefined, maxWaitMs: number): Promise<void>;
  /** Calls waiting for a token now (tests and metrics). */
  waiting(key?: string): number;
  /** Builds it now (listen() calls it): with Redis, connects, so the first calls count in the shared bucket. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The bucket's shape for a budget of `perMinute` requests a minute. */
export interface BucketRate {
  burst: number;
  /** Tokens per millisecond. */
  perMs: number;
}

export function bucketRate(perMinute: number): BucketRate {
  const burst = Math.max(1, Math.ceil(perMinute / 20));
  // perMinute 1: half a request a minute after the first (never more than one in a minute).
  return { burst, perMs: Math.max(perMinute - burst, 0.5) / 60_000 };
}

/** What the store answered for one round of asks. */
export interface BudgetGrant {
  /** Tokens given, per company (each at most what was asked). */
  granted: Map<string, number>;
  /** When it is worth asking again for what was not given. */
  waitMs: number;
  /** Whole tokens left in the bucket (reserved for other replicas' companies, or none). */
  tokens: number;
}

export interface BudgetStore {
  /** Takes up to `wants.get(c)` tokens for each company c, in the fair order. */
  take(wants: ReadonlyMap<string, number>): Promise<BudgetGrant>;
  /** Gives back tokens granted to calls that had given up meanwhile. */
  refund(count: number): Promise<void>;
  /** These companies wait for nothing any more (on this replica). */
  leave(companies: readonly string[]): Promise<void>;
}

/** The bucket and the round robin in one process; also the insurance share while Redis is down. */
export class MemoryBudgetStore implements BudgetStore {
  readonly rate: BucketRate;
  #tokens: number;
  #updatedAt = Date.now();
  #seq = 0;
  /** When each waiting company was last served (a sequence number); absent: never, first in line. */
  readonly #last = new Map<string, number>();

  constructor(perMinute: number) {
    this.rate = bucketRate(perMinute);
    this.#tokens = this.rate.burst;
  }

  take(wants: ReadonlyMap<string, number>): Promise<BudgetGrant> {
    const now = Date.now();
    if (now > this.#updatedAt) {
      this.#tokens = Math.min(this.rate.burst, this.#tokens + (now - this.#updatedAt) * this.rate.perMs);
      this.#updatedAt = now;
    }
    // A company that starts waiting goes first, once (a sparse flow, as in FQ-CoDel): an ordinary query is served
    // by the next token; companies that keep waiting take turns.
    for (const company of wants.keys()) if (!this.#last.has(company)) this.#last.set(company, this.#seq - NEWCOMER);
    const order = [...wants.keys()].sort((a, b) => (this.#last.get(a) ?? 0) - (this.#last.get(b) ?? 0));
    const left = new Map(wants);
    const granted = new Map<string, number>();
    let progress = true;
    while (this.#tokens >= 1 && progress) {
      progress = false;
      for (const company of order) {
        if (this.#tokens < 1) break;
        const want = left.get(company) ?? 0;
        if (want <= 0) continue;
        left.set(company, want - 1);
        granted.set(company, (granted.get(company) ?? 0) + 1);
        this.#tokens -= 1;
        this.#last.set(company, (this.#seq += 1));
        progress = true;
      }
    }
    // A company that waits no more keeps its turn until every company still waiting was served after it: only
    // then does it count as a newcomer again (so a tenant sending one call at a time gets every other token, not
    // every one).
    let floor = Infinity;
    for (const company of wants.keys()) floor = Math.min(floor, this.#last.get(company) ?? Infinity);
    for (const [company, last] of this.#last) if (!wants.has(company) && last < floor) this.#last.delete(company);
    const waitMs = this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.rate.perMs);
    return Promise.resolve({ granted, waitMs, tokens: Math.floor(this.#tokens) });
  }

  refund(count: number): Promise<void> {
    this.#tokens = Math.min(this.rate.burst, this.#tokens + count);
    return Promise.resolve();
  }

  leave(_companies: readonly string[]): Promise<void> {
    // Its turn is kept until the companies still waiting have all been served after it (take).
    return Promise.resolve();
  }
}

export interface FairBudgetOptions {
  /** The bucket's rate (the estimate of a waiting call's start). */
  rate: BucketRate;
  /** Calls that may wait for a token, all companies together (CODAT_BUDGET_MAX_WAITING); beyond, refused. */
  maxWaiting: number;
  /** Longest pause between two asks while calls wait (a store on another replica may free a reserve). */
  maxPollMs?: number;
}

interface Waiter {
  settled: boolean;
  grant(): void;
  fail(error: Error): void;
}

/** The queues in front of a store: one per company, served in the store's fair order. */
export class FairBudget implements RequestBudget {
  readonly #store: BudgetStore;
  readonly #options: FairBudgetOptions;
  /** Waiting calls per company, in arrival order (given-up ones are skipped when their turn comes). */
  readonly #queues = new Map<string, Waiter[]>();
  /** Calls still waiting per company (the queues without the given-up ones). */
  readonly #pending = new Map<string, number>();
  #waiting = 0;
  #pumping = false;
  /** Whole tokens the store had left at its last answer: the admission estimate's head start. */
  #tokens: number;
  #closed = false;
  readonly #onClose: () => Promise<void>;

  constructor(store: BudgetStore, options: FairBudgetOptions, onClose: () => Promise<void> = () => Promise.resolve()) {
    this.#store = store;
    this.#options = options;
    this.#tokens = options.rate.burst;
    this.#onClose = onClose;
  }

  waiting(key?: string): number {
    return key === undefined ? this.#waiting : (this.#pending.get(key) ?? 0);
  }

  /** How long before a new call of `key` would get its token (the tokens the fair order hands out first). */
  estimateMs(key: string): number {
    const mine = (this.#pending.get(key) ?? 0) + 1;
    let ahead = mine;
    for (const [company, count] of this.#pending) if (company !== key) ahead += Math.min(count, mine);
    return Math.max(0, Math.ceil((ahead - this.#tokens) / this.#options.rate.perMs));
  }

  take(key: string, signal: AbortSignal | undefined, maxWaitMs: number): Promise<void> {
    signal?.throwIfAborted();
    if (this.#closed) return Promise.reject(new BudgetExhausted(1_000));
    const estimate = this.estimateMs(key);
    if (estimate > maxWaitMs || this.#waiting >= this.#options.maxWaiting) {
      return Promise.reject(new BudgetExhausted(Math.max(estimate, 1_000)));
    }
    return new Promise<void>((resolve, reject) => {
      const settle = (): boolean => {
        if (waiter.settled) return false;
        waiter.settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#waiting -= 1;
        const left = (this.#pending.get(key) ?? 1) - 1;
        if (left > 0) this.#pending.set(key, left);
        else this.#pending.delete(key);
        return true;
      };
      const waiter: Waiter = {
        settled: false,
        grant: () => {
          if (settle()) resolve();
        },
        fail: (error) => {
          if (settle()) reject(error);
        },
      };
      const onAbort = (): void => {
        if (settle()) reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted", { cause: signal?.reason }));
      };
      // (A limit beyond setTimeout's range is no limit but the signal's.)
      const timer =
        maxWaitMs <= MAX_TIMER_MS
          ? setTimeout(() => {
              if (settle()) reject(new BudgetExhausted(Math.max(this.estimateMs(key), 1_000)));
            }, maxWaitMs)
          : undefined;
      signal?.addEventListener("abort", onAbort, { once: true });
      let queue = this.#queues.get(key);
      if (queue === undefined) this.#queues.set(key, (queue = []));
      queue.push(waiter);
      this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
      this.#waiting += 1;
      void this.#pump();
    });
  }

  /** Asks the store for every waiting call's token, in rounds, until none waits. One loop per budget. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    const asked = new Set<string>();
    try {
      while (this.#waiting > 0 && !this.#closed) {
        const wants = new Map(this.#pending);
        for (const company of wants.keys()) asked.add(company);
        let grant: BudgetGrant;
        try {
          grant = await this.#store.take(wants);
        } catch {
          // The store handles its own outages; anything else: ask again shortly (the calls' limits still hold).
          grant = { granted: new Map(), waitMs: 100, tokens: 0 };
        }
        this.#tokens = grant.tokens;
        let unused = 0;
        let given = 0;
        for (const [company, count] of grant.granted) {
          for (let i = 0; i < count; i += 1) {
            const waiter = this.#next(company);
            if (waiter === undefined) unused += 1;
            else {
              waiter.grant();
              given += 1;
            }
          }
        }
        if (unused > 0) await this.#store.refund(unused).catch(() => undefined);
        await this.#leave(asked);
        if (this.#waiting === 0) break;
        // All asked for were given: ask at once for those that came meanwhile.
        if (given + unused >= [...wants.values()].reduce((sum, n) => sum + n, 0)) continue;
        await sleep(Math.max(1, Math.min(grant.waitMs, this.#options.maxPollMs ?? Infinity)));
      }
    } finally {
      this.#pumping = false;
      await this.#leave(asked).catch(() => undefined);
    }
    // A call that came while the last answer was awaited after the loop had decided to stop.
    if (this.#waiting > 0 && !this.#closed) void this.#pump();
  }

  /** The first waiter of `company` still waiting, taken off its queue. */
  #next(company: string): Waiter | undefined {
    const queue = this.#queues.get(company);
    if (queue === undefined) return undefined;
    let waiter = queue.shift();
    while (waiter?.settled) waiter = queue.shift();
    if (queue.length === 0) this.#queues.delete(company);
    return waiter;
  }

  /** Tells the store which of the companies asked for wait for nothing any more. */
  async #leave(asked: Set<string>): Promise<void> {
    const gone: string[] = [];
    for (const company of asked) {
      if (this.#pending.has(company)) continue;
      gone.push(company);
      asked.delete(company);
      // Drops the given-up waiters left behind.
      if (this.#queues.get(company)?.every((waiter) => waiter.settled)) this.#queues.delete(company);
    }
    if (gone.length > 0) await this.#store.leave(gone);
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Refuses every call still waiting (RATE_LIMITED: nothing was sent) and stops asking the store. */
  close(): Promise<void> {
    this.#closed = true;
    for (const queue of this.#queues.values()) for (const waiter of queue) waiter.fail(new BudgetExhausted(1_000));
    this.#queues.clear();
    return this.#onClose();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
