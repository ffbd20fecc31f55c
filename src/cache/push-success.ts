/**
 * The push status bus as the read cache hears it: a push operation that ended in success (a poll's answer or a
 * webhook's news) wrote the company's customers, so its cached customer reads go. Every push the gateway makes is
 * of customers.
 */
import type { PushOperationListener, PushOperationRef, PushOperationSignal, PushStatusBus } from "../push-status/bus.js";
import type { ReadCache } from "./read-cache.js";

export class CacheInvalidatingBus implements PushStatusBus {
  readonly #bus: PushStatusBus;
  readonly #cache: ReadCache;

  constructor(bus: PushStatusBus, cache: ReadCache) {
    this.#bus = bus;
    this.#cache = cache;
  }

  async publish(signal: PushOperationSignal): Promise<void> {
    if (signal.status === "Success") await this.#cache.pushSucceeded(signal.companyId, signal.pushOperationKey).catch(() => undefined);
    await this.#bus.publish(signal);
  }

  subscribe(ref: PushOperationRef, listener: PushOperationListener): () => void {
    return this.#bus.subscribe(ref, listener);
  }

  close(): Promise<void> {
    return this.#bus.close();
  }
}
