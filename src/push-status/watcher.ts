/**
 * Push status for subscriptions: one watch per push operation however many subscribers it has (ref-counted by
 * its bus topic), which reads the operation from Codat, hands each state to its subscribers, and keeps reading
 * until a final status:
 *
 *  - on every bus signal (a webhook, or another replica's poll that saw a status this one has not): at once;
 *  - on its own poll loop, with backoff (PUSH_STATUS_POLL_INTERVAL_MS doubling up to
 *    PUSH_STATUS_POLL_MAX_INTERVAL_MS, back to the start after a change). With webhooks configured the loop is a
 *    slow safety net; without, it is how the gateway learns of the change. A poll that sees a change publishes a
 *    `source: "poll"` signal, so other replicas (Redis bus) re-read instead of polling too: with a poll lease
 *    only one replica polls an operation at a time.
 *
 * Reads go through the gateway's Codat client (its limits, retries and observers) as a system caller scoped to
 * the one company watched — every subscriber proved access before joining — one `getPushOperation` per read,
 * never answered from a cache. They carry the watcher's signal only (aborted on close), never a subscriber's: one subscriber leaving does not cancel a read the others wait for.
 * The watch stops (timer cleared, bus topic left) when its last subscriber leaves or a final status is seen.
 *
 * Each subscriber gets the current state first, then each change of status, statusCode or completedOnUtc (never
 * the same state twice), and completes after the final one; it waits at most PUSH_STATUS_MAX_WAIT_MS (less when
 * the operation's `timeoutInMinutes` and a margin end sooner), then ends with UPSTREAM_TIMEOUT.
 */
import type { GraphQLError } from "graphql";
import { scopeClient } from "../auth/scoped-client.js";
import type { CodatClient } from "../codat/client.js";
import type { CodatPushOperation } from "../codat/types.js";
import { ErrorCode, gatewayError } from "../errors.js";
import { PushOperationStatus, toPushOperationStatus } from "../mappers/enums.js";
import { pushOperationTopic, type PushOperationRef, type PushOperationSignal, type PushStatusBus } from "./bus.js";

/** The watcher's sense of time (a test passes a manual one; the simulator's `ManualClock` fits). */
export interface WatcherClock {
  now(): number;
  /** Runs `task` once `ms` have passed; returns a function that cancels it. */
  setTimer(ms: number, task: () => void): () => void;
}

/** Node timers, unref'd (a watch never keeps a process alive on its own). */
export const realWatcherClock: WatcherClock = {
  now: () => Date.now(),
  setTimer(ms, task) {
    const timer = setTimeout(task, ms);
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};

/** One replica polls an operation at a time: the Redis bus's `SET NX PX` lease (absent: every replica polls). */
export interface PollLease {
  /** True when this replica holds (or now took, or renewed) the operation's lease for `ttlMs`. */
  acquire(topic: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (when this replica's watch ends), so another replica's next poll need not wait it out. */
  release(topic: string): Promise<void>;
}

export interface WatcherLog {
  warn(object: Record<string, unknown>, message: string): void;
  debug(object: Record<string, unknown>, message: string): void;
}

export interface PushStatusWatcherOptions {
  client: CodatClient;
  bus: PushStatusBus;
  /** First poll after a read, doubling after each unchanged one. */
  pollIntervalMs: number;
  /** The longest gap between two polls. */
  maxPollIntervalMs: number;
  /** The longest a subscriber waits for a final status. */
  maxWaitMs: number;
  /** Added to the operation's timeoutInMinutes for the subscriber's bound (default 60 000 ms). */
  timeoutMarginMs?: number;
  clock?: WatcherClock;
  lease?: PollLease | undefined;
  log: WatcherLog;
}

/** What a subscription's source stream yields: a state to send, or the error that ends it. */
export type PushStatusEvent = { operation: CodatPushOperation; error?: undefined } | { error: GraphQLError; operation?: undefined };

const SYSTEM_CALLER_ID = "system:push-status";

/** The part of a state a subscriber is told about when it changes. */
function fingerprint(operation: CodatPushOperation): string {
  return JSON.stringify([operation.status, operation.statusCode, operation.completedOnUtc ?? null]);
}

export function isFinalPushStatus(operation: CodatPushOperation): boolean {
  return toPushOperationStatus(operation.status, operation.completedOnUtc) !== PushOperationStatus.PENDING;
}

export class PushStatusWatcher {
  readonly #options: PushStatusWatcherOptions;
  readonly #clock: WatcherClock;
  readonly #watches = new Map<string, Watch>();
  readonly #abort = new AbortController();
  #closed = false;

  constructor(options: PushStatusWatcherOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realWatcherClock;
  }

  /** Operations watched now (one poll loop at most each). */
  get activeWatches(): number {
    return this.#watches.size;
  }

  /** Of those, the ones with a poll scheduled. */
  get activePollLoops(): number {
    let loops = 0;
    for (const watch of this.#watches.values()) if (watch.polling) loops++;
    return loops;
  }

  /**
   * The stream of one subscriber. The caller has already checked that the subscriber may use the company and
   * that both ids are UUIDs; the stream ends after the final state, an error, or `return()`.
   */
  watch(ref: PushOperationRef): AsyncIterableIterator<PushStatusEvent> {
    const subscriber = new Subscriber(this.#clock, this.#options.maxWaitMs, this.#options.timeoutMarginMs ?? 60_000);
    if (this.#closed) {
      subscriber.fail(gatewayError(ErrorCode.UpstreamUnavailable, "The gateway is shutting down."));
      return subscriber;
    }
    const topic = pushOperationTopic(ref);
    let watch = this.#watches.get(topic);
    if (!watch) {
      watch = new Watch(ref, topic, this.#options, this.#clock, this.#abort.signal, () => {
        if (this.#watches.get(topic) === watch) this.#watches.delete(topic);
      });
      this.#watches.set(topic, watch);
    }
    watch.join(subscriber);
    return subscriber;
  }

  /** Ends every watch: subscribers complete, timers stop, reads in flight are aborted. */
  close(): void {
    this.#closed = true;
    this.#abort.abort(gatewayError(ErrorCode.UpstreamUnavailable, "The gateway is shutting down."));
    for (const watch of [...this.#watches.values()])
      watch.end(gatewayError(ErrorCode.UpstreamUnavailable, "The gateway is shutting down."));
    this.#watches.clear();
  }
}

/** One operation's watch: its subscribers, its last state, its reads and its poll loop. */
class Watch {
  readonly #subscribers = new Set<Subscriber>();
  readonly #load: () => Promise<CodatPushOperation | null>;
  readonly #leaveBus: () => void;
  #latest: { operation: CodatPushOperation; fingerprint: string; at: number } | undefined;
  #reading = false;
  #readAgain = false;
  #cancelPoll: (() => void) | undefined;
  #interval: number;
  #ended = false;
  #holdsLease = false;

  constructor(
    readonly ref: PushOperationRef,
    readonly topic: string,
    readonly options: PushStatusWatcherOptions,
    readonly clock: WatcherClock,
    signal: AbortSignal,
    readonly onEnd: () => void,
  ) {
    const client = scopeClient(options.client, { id: SYSTEM_CALLER_ID, companies: new Set([ref.companyId.toLowerCase()]) });
    this.#load = () => client.getPushOperation(ref.companyId, ref.pushOperationKey, { signal });
    this.#interval = options.pollIntervalMs;
    this.#leaveBus = options.bus.subscribe(ref, (signal) => {
      this.#onSignal(signal);
    });
  }

  get polling(): boolean {
    return this.#cancelPoll !== undefined;
  }

  join(subscriber: Subscriber): void {
    this.#subscribers.add(subscriber);
    subscriber.onLeave = () => {
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0) this.end();
    };
    const latest = this.#latest;
    // A state read within the first poll interval is current enough: a crowd joining at once costs one read.
    if (latest && this.clock.now() - latest.at < this.options.pollIntervalMs) subscriber.offer(latest.operation);
    // A read under way answers this subscriber too.
    else if (!this.#reading) this.#read("join");
  }

  /** Stops the watch; remaining subscribers end (with `error` when given). */
  end(error?: GraphQLError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#cancelPoll?.();
    this.#cancelPoll = undefined;
    this.#leaveBus();
    if (this.#holdsLease) void this.options.lease?.release(this.topic);
    this.onEnd();
    for (const subscriber of [...this.#subscribers]) {
      if (error) subscriber.fail(error);
      else subscriber.finish();
    }
    this.#subscribers.clear();
  }

  #onSignal(signal: PushOperationSignal): void {
    if (this.#ended) return;
    // Our own poll's news (or another replica's of a status we already have) needs no read.
    if (signal.source === "poll" && signal.status !== undefined && signal.status === this.#latest?.operation.status) return;
    this.#read("signal");
  }

  /** One read at a time; a reason to read arriving meanwhile reads once more after it. */
  #read(reason: "join" | "signal" | "poll"): void {
    if (this.#ended) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = true;
    this.#cancelPoll?.();
    this.#cancelPoll = undefined;
    void this.#load().then(
      (operation) => {
        this.#reading = false;
        this.#onRead(operation, reason);
      },
      (error: unknown) => {
        this.#reading = false;
        this.#onReadFailed(error);
      },
    );
  }

  #onRead(operation: CodatPushOperation | null, reason: "join" | "signal" | "poll"): void {
    if (this.#ended) return;
    if (operation === null) {
      this.end(gatewayError(ErrorCode.NotFound, `No push operation ${this.ref.pushOperationKey.slice(0, 64)} in this company.`));
      return;
    }
    const previous = this.#latest?.fingerprint;
    const current = fingerprint(operation);
    this.#latest = { operation, fingerprint: current, at: this.clock.now() };
    const changed = previous !== undefined && previous !== current;
    const final = isFinalPushStatus(operation);
    // What this read learnt goes on the bus (other replicas' subscribers, and the read cache, which drops the
    // company's customer reads on a success): a change a poll saw, or a push already over when it was first read
    // (a signal's read was itself caused by a publish). A final state reaches the bus before the subscribers, so
    // a client that re-reads the customer on SUCCESS never gets the cached record from before the write.
    const publish = (changed && reason === "poll") || (previous === undefined && final && reason !== "signal");
    if (final) {
      const deliver = (): void => {
        if (this.#ended) return;
        for (const subscriber of [...this.#subscribers]) subscriber.offer(operation);
        this.end();
      };
      if (!publish) {
        deliver();
        return;
      }
      void this.options.bus
        .publish({ ...this.ref, source: "poll", status: operation.status })
        .catch(() => undefined)
        .then(deliver);
      return;
    }
    for (const subscriber of [...this.#subscribers]) subscriber.offer(operation);
    if (publish) void this.options.bus.publish({ ...this.ref, source: "poll", status: operation.status });
    if (this.#subscribers.size === 0) {
      this.end();
      return;
    }
    this.#interval = changed ? this.options.pollIntervalMs : this.#interval;
    this.#next();
  }

  #onReadFailed(error: unknown): void {
    if (this.#ended) return;
    const coded = error instanceof Error && "extensions" in error ? (error as GraphQLError) : undefined;
    this.options.log.warn(
      { topic: this.topic, code: coded?.extensions["code"] ?? "INTERNAL_SERVER_ERROR" },
      "push status read failed; polling again later",
    );
    // Subscribers still waiting for a first state get the error (masked like any other); the rest keep waiting.
    const failure = coded ?? gatewayError(ErrorCode.InternalServerError, "Internal server error");
    for (const subscriber of [...this.#subscribers]) if (!subscriber.started) subscriber.fail(failure);
    if (this.#subscribers.size === 0) {
      this.end();
      return;
    }
    this.#next();
  }

  /** After a read: a pending reason to read, else the next poll. */
  #next(): void {
    if (this.#readAgain) {
      this.#readAgain = false;
      this.#read("signal");
      return;
    }
    const delay = this.#interval;
    this.#interval = Math.min(this.#interval * 2, this.options.maxPollIntervalMs);
    this.#cancelPoll = this.clock.setTimer(delay, () => {
      this.#cancelPoll = undefined;
      void this.#poll(delay);
    });
  }

  /** Ended, or a read already under way (which schedules the next poll itself). */
  #isStopped(): boolean {
    return this.#ended || this.#reading;
  }

  async #poll(delay: number): Promise<void> {
    if (this.#ended) return;
    const lease = this.options.lease;
    // Held a little longer than the next gap, so the holder renews it before anyone else takes over.
    if (lease) this.#holdsLease = await lease.acquire(this.topic, delay * 2 + 1_000);
    if (lease && !this.#holdsLease) {
      if (this.#isStopped()) return;
      // Another replica polls and publishes what it sees; check again later in case it stops.
      this.options.log.debug({ topic: this.topic }, "another replica polls this push operation");
      this.#next();
      return;
    }
    this.#read("poll");
  }
}

/** One subscriber's stream: a queue of events, ended by the final state, an error, a deadline or return(). */
class Subscriber implements AsyncIterableIterator<PushStatusEvent> {
  readonly #queue: PushStatusEvent[] = [];
  #waiting: ((result: IteratorResult<PushStatusEvent>) => void) | undefined;
  #done = false;
  #fingerprint: string | undefined;
  #cancelDeadline: (() => void) | undefined;
  readonly #joined: number;
  onLeave: (() => void) | undefined;

  constructor(
    readonly clock: WatcherClock,
    readonly maxWaitMs: number,
    readonly marginMs: number,
  ) {
    this.#joined = clock.now();
    this.#arm(maxWaitMs);
  }

  get started(): boolean {
    return this.#fingerprint !== undefined;
  }

  offer(operation: CodatPushOperation): void {
    if (this.#done) return;
    const current = fingerprint(operation);
    if (current === this.#fingerprint) return;
    const first = this.#fingerprint === undefined;
    this.#fingerprint = current;
    this.#push({ operation });
    if (isFinalPushStatus(operation)) {
      this.finish();
      return;
    }
    if (first && typeof operation.timeoutInMinutes === "number") {
      const bound = operation.timeoutInMinutes * 60_000 + this.marginMs;
      if (bound < this.maxWaitMs) this.#arm(Math.max(0, this.#joined + bound - this.clock.now()));
    }
  }

  fail(error: GraphQLError): void {
    if (this.#done) return;
    this.#push({ error });
    this.finish();
  }

  /** No more events: the stream ends once the queued ones are read. */
  finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#cancelDeadline?.();
    this.#cancelDeadline = undefined;
    this.#leave();
    if (this.#waiting && this.#queue.length === 0) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting({ done: true, value: undefined });
    }
  }

  next(): Promise<IteratorResult<PushStatusEvent>> {
    const event = this.#queue.shift();
    if (event) return Promise.resolve({ done: false, value: event });
    if (this.#done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<PushStatusEvent>> {
    this.#queue.length = 0;
    this.finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(error?: unknown): Promise<IteratorResult<PushStatusEvent>> {
    this.#queue.length = 0;
    this.finish();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PushStatusEvent> {
    return this;
  }

  #push(event: PushStatusEvent): void {
    if (this.#waiting) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting({ done: false, value: event });
    } else {
      this.#queue.push(event);
    }
  }

  #leave(): void {
    const leave = this.onLeave;
    this.onLeave = undefined;
    leave?.();
  }

  #arm(ms: number): void {
    this.#cancelDeadline?.();
    this.#cancelDeadline = this.clock.setTimer(ms, () => {
      this.#cancelDeadline = undefined;
      this.fail(
        gatewayError(
          ErrorCode.UpstreamTimeout,
          `The push operation was still pending after ${Math.round((this.clock.now() - this.#joined) / 1000)} s; query pushOperation later.`,
        ),
      );
    });
  }
}
