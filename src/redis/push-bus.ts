/**
 * The push status bus across replicas (REDIS_URL): Redis pub/sub, one channel per operation,
 * `<prefix>push:<company>:<key>`, on the hub's two connections (hub.ts): the command connection publishes
 * (and holds the poll leases), the subscriber connection SUBSCRIBEs to an operation's channel only while this
 * replica has listeners for it, and UNSUBSCRIBEs when the last leaves.
 *
 * A signal is delivered to this replica's listeners at once, then published; a message carries its publisher's
 * id, so a replica does not hear its own signals twice. Redis never breaks the bus: a failed publish is logged
 * (other replicas then learn of the change by their own poll), the connections reconnect by themselves, and
 * every channel with listeners is subscribed again when the subscriber connection is ready.
 *
 * The poll lease (`SET NX PX`, renewed by its holder) lets one replica poll an operation while the others wait
 * for its signals; without Redis, or while Redis is away, every replica polls for itself.
 *
 * The hub connects by start(); before, signals stay local.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { RedisHub } from "./hub.js";
import {
  LocalPushStatusBus,
  pushOperationTopic,
  type PushOperationListener,
  type PushOperationRef,
  type PushOperationSignal,
  type PushStatusBus,
} from "../push-status/bus.js";
import type { PollLease } from "../push-status/watcher.js";

/** KEYS: lease. ARGV: holder id, ttl ms → 1 when the caller holds the lease (taken or renewed). */
const LEASE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** KEYS: lease. ARGV: holder id → deletes the lease if the caller holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface Message {
  origin: string;
  signal: PushOperationSignal;
}

interface LeaseScripts {
  pushPollLease(key: string, id: string, ttl: number): Promise<number>;
  pushPollRelease(key: string, id: string): Promise<number>;
}

const STATUS = /^[A-Za-z]{1,32}$/;

function parseMessage(text: string): Message | undefined {
  try {
    const value = JSON.parse(text) as { origin?: unknown; signal?: Record<string, unknown> } | null;
    const signal = value?.signal;
    if (typeof value?.origin !== "string" || typeof signal !== "object") return undefined;
    if (typeof signal.companyId !== "string" || typeof signal.pushOperationKey !== "string") return undefined;
    if (signal.source !== "webhook" && signal.source !== "poll") return undefined;
    if (signal.status !== undefined && (typeof signal.status !== "string" || !STATUS.test(signal.status))) return undefined;
    return {
      origin: value.origin,
      signal: {
        companyId: signal.companyId,
        pushOperationKey: signal.pushOperationKey,
        source: signal.source,
        ...(signal.status !== undefined ? { status: signal.status } : {}),
      },
    };
  } catch {
    return undefined;
  }
}

export class RedisPushStatusBus implements PushStatusBus {
  readonly #local = new LocalPushStatusBus();
  readonly #id = randomUUID();
  readonly #hub: RedisHub;
  #publisher: Redis | undefined;
  #subscriber: Redis | undefined;
  #closed = false;
  #lastWarning = "";

  constructor(hub: RedisHub) {
    this.#hub = hub;
  }

  /** The channel of one operation's signals. */
  channelOf(ref: PushOperationRef): string {
    return this.#hub.key(`push:${pushOperationTopic(ref)}`);
  }

  readonly #onMessage = (_channel: string, text: string): void => {
    const message = parseMessage(text);
    if (message && message.origin !== this.#id) this.#local.deliver(message.signal);
  };

  /** After a reconnect, every channel with listeners here again (ioredis's own resubscribe may have failed). */
  readonly #onReady = (): void => {
    this.#resubscribe();
  };

  /** Takes the hub's connections (started by now, or started here); never fails (Redis away: local until it returns). */
  async start(): Promise<void> {
    if (this.#closed || this.#publisher) return;
    const { command, subscriber } = await this.#hub.start();
    // close() (or another start()) may have come meanwhile.
    if (!this.#idle()) return;
    this.#publisher = command;
    this.#subscriber = subscriber;
    command.defineCommand("pushPollLease", { numberOfKeys: 1, lua: LEASE });
    command.defineCommand("pushPollRelease", { numberOfKeys: 1, lua: RELEASE });
    subscriber.on("message", this.#onMessage);
    subscriber.on("ready", this.#onReady);
    // Redis unreachable at start: the hub's one line says so (signals stay on this replica meanwhile).
    this.#resubscribe();
  }

  async publish(signal: PushOperationSignal): Promise<void> {
    this.#local.deliver(signal);
    const publisher = this.#publisher;
    if (!publisher || this.#closed) return;
    try {
      await publisher.publish(this.channelOf(signal), JSON.stringify({ origin: this.#id, signal } satisfies Message));
    } catch (error) {
      this.#warn(`push status bus: a signal reached this replica only (${reasonOf(error)})`);
    }
  }

  subscribe(ref: PushOperationRef, listener: PushOperationListener): () => void {
    const topic = pushOperationTopic(ref);
    const first = !this.#local.topics().includes(topic);
    const leave = this.#local.subscribe(ref, listener);
    if (first) this.#command((redis) => redis.subscribe(this.channelOf(ref)));
    return () => {
      leave();
      if (!this.#local.topics().includes(topic)) this.#command((redis) => redis.unsubscribe(this.channelOf(ref)));
    };
  }

  /** The poll lease on the command connection; Redis failing or down (the hub's health) means "poll yourself". */
  readonly pollLease: PollLease = {
    acquire: async (topic, ttlMs) => {
      const publisher = this.#publisher;
      if (!publisher || this.#hub.down) return true;
      try {
        return (await (publisher as unknown as LeaseScripts).pushPollLease(this.#leaseKey(topic), this.#id, Math.ceil(ttlMs))) === 1;
      } catch {
        return true;
      }
    },
    release: async (topic) => {
      const publisher = this.#publisher;
      if (!publisher || publisher.status !== "ready") return;
      // A lease not given back expires by itself.
      await (publisher as unknown as LeaseScripts).pushPollRelease(this.#leaseKey(topic), this.#id).catch(() => undefined);
    },
  };

  /** Stops hearing Redis (the hub closes the connections). */
  async close(): Promise<void> {
    this.#closed = true;
    const channels = this.#local.topics().map((topic) => this.#hub.key(`push:${topic}`));
    await this.#local.close();
    const subscriber = this.#subscriber;
    this.#publisher = this.#subscriber = undefined;
    if (subscriber === undefined) return;
    subscriber.off("message", this.#onMessage);
    subscriber.off("ready", this.#onReady);
    if (channels.length > 0 && subscriber.status === "ready") await subscriber.unsubscribe(...channels).catch(() => undefined);
  }

  #idle(): boolean {
    return !this.#closed && this.#publisher === undefined;
  }

  #leaseKey(topic: string): string {
    return this.#hub.key(`push-poll:${topic}`);
  }

  #command(run: (redis: Redis) => Promise<unknown>): void {
    const subscriber = this.#subscriber;
    // Not connected: the 'ready' handler subscribes every channel with listeners.
    if (!subscriber || subscriber.status !== "ready") return;
    run(subscriber).catch((error: unknown) => {
      this.#warn(`push status bus: Redis (un)subscribe failed (${reasonOf(error)})`);
    });
  }

  #resubscribe(): void {
    const channels = this.#local.topics().map((topic) => this.#hub.key(`push:${topic}`));
    if (channels.length === 0) return;
    this.#command((redis) => redis.subscribe(...channels));
  }

  /** One warning per distinct problem in a row (a Redis that is away would otherwise log every signal). */
  #warn(message: string): void {
    // While Redis is down the hub's one line covers it.
    if (this.#hub.down || message === this.#lastWarning) return;
    this.#lastWarning = message;
    this.#hub.log.warn(message);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200);
}
