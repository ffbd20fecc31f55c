/**
 * Where news about push operations meets the subscriptions waiting for it. A signal says only "look again at
 * this operation": the webhook receiver publishes one when Codat announces a write's end (the webhook carries
 * no validation detail, so subscribers re-read the operation from Codat), and a poll loop publishes one when it
 * sees a new state. In-process by default; with REDIS_URL a Redis pub/sub implementation carries signals to every
 * replica.
 */

/** One push operation, by company and Codat's key (compared case-insensitively: both are UUIDs). */
export interface PushOperationRef {
  companyId: string;
  pushOperationKey: string;
}

export interface PushOperationSignal extends PushOperationRef {
  /** Who noticed: a verified Codat webhook, or a poll of Codat by some replica. */
  source: "webhook" | "poll";
  /** Codat's status when the publisher knows it (`Success`, `Failed`, `TimedOut`, `Pending`). */
  status?: string | undefined;
}

export type PushOperationListener = (signal: PushOperationSignal) => void;

export interface PushStatusBus {
  /** Tells every subscriber of the operation, on every replica. Never throws (a lost signal is logged). */
  publish(signal: PushOperationSignal): Promise<void>;
  /** Calls the listener for each signal about the operation until the returned function is called. */
  subscribe(ref: PushOperationRef, listener: PushOperationListener): () => void;
  close(): Promise<void>;
}

/** The key one operation's signals travel under (lower case: ids arrive in any case). */
export function pushOperationTopic(ref: PushOperationRef): string {
  return `${ref.companyId.toLowerCase()}:${ref.pushOperationKey.toLowerCase()}`;
}

/** The in-process bus: signals reach the subscribers of this process only. */
export class LocalPushStatusBus implements PushStatusBus {
  readonly #listeners = new Map<string, Set<PushOperationListener>>();

  publish(signal: PushOperationSignal): Promise<void> {
    this.deliver(signal);
    return Promise.resolve();
  }

  /** Hands a signal to this process's listeners (also what a Redis bus calls for each message it receives). */
  deliver(signal: PushOperationSignal): void {
    const listeners = this.#listeners.get(pushOperationTopic(signal));
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(signal);
      } catch {
        // A listener's failure is its own; the others still hear.
      }
    }
  }

  subscribe(ref: PushOperationRef, listener: PushOperationListener): () => void {
    const topic = pushOperationTopic(ref);
    let listeners = this.#listeners.get(topic);
    if (!listeners) this.#listeners.set(topic, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(topic) === listeners) this.#listeners.delete(topic);
    };
  }

  /** Topics with at least one listener here. */
  topics(): string[] {
    return [...this.#listeners.keys()];
  }

  close(): Promise<void> {
    this.#listeners.clear();
    return Promise.resolve();
  }
}
