/**
 * The client's side of observer.ts: tells every observer about a call (its `around` wrapping, its end, each
 * retry and each slot taken), in the order they were given. An observer that throws never fails the call it
 * watches. With no observers the pipeline never builds a call's info, reads no clock and calls nothing here.
 */
import type { RetryEvent } from "./call.js";
import type { CodatCallInfo, CodatCallOutcome, CodatObserver } from "./observer.js";

export class CallObservers {
  readonly #observers: readonly CodatObserver[];
  /** The observers that wrap calls (a tracer's span), in order. */
  readonly #arounds: readonly CodatObserver[];

  constructor(observers: readonly CodatObserver[]) {
    this.#observers = [...observers];
    this.#arounds = this.#observers.filter((observer) => observer.around !== undefined);
  }

  /** Whether anyone observes the calls (if not, the pipeline reads no clock and allocates nothing for them). */
  get any(): boolean {
    return this.#observers.length > 0;
  }

  /** Runs the call inside every observer's `around`; the first observer's is the outermost (a tracer's span then covers every other observer's work). */
  around<T>(info: CodatCallInfo, call: () => Promise<T>): Promise<T> {
    let run = call;
    for (let index = this.#arounds.length - 1; index >= 0; index -= 1) {
      const observer = this.#arounds[index];
      if (observer?.around === undefined) continue;
      const inner = run;
      run = () => observer.around?.(info, inner) ?? inner();
    }
    return run();
  }

  ended(info: CodatCallInfo, outcome: CodatCallOutcome): void {
    this.#each((observer) => observer.ended?.(info, outcome));
  }

  /** The call's slot report: every observer's `slotAcquired`. */
  slotReporter(info: CodatCallInfo): (waitMs: number, queued: number) => void {
    return (waitMs, queued) => {
      this.#each((observer) => observer.slotAcquired?.(info, waitMs, queued));
    };
  }

  /** The call's retry report: the client's own `onRetry`, then every observer's `retried`. */
  retryReporter(onRetry: ((event: RetryEvent) => void) | undefined, info: CodatCallInfo): (event: RetryEvent) => void {
    return (event) => {
      onRetry?.(event);
      this.#each((observer) => observer.retried?.(info, { retryNumber: event.retryNumber, delayMs: event.delayMs, status: event.status }));
    };
  }

  #each(tell: (observer: CodatObserver) => void): void {
    for (const observer of this.#observers) {
      try {
        tell(observer);
      } catch {
        // Observability never takes a request down with it.
      }
    }
  }
}

/** The code and Codat correlation id a failure carries (a GraphQLError from errors.ts, or the caller's abort reason). */
export function failureUpstream(failure: unknown): { code: string; correlationId?: string } {
  const extensions = (failure as { extensions?: { code?: unknown; upstream?: { correlationId?: unknown } } } | null)?.extensions;
  const code = typeof extensions?.code === "string" ? extensions.code : failure instanceof Error ? failure.name : "Error";
  const correlationId = extensions?.upstream?.correlationId;
  return typeof correlationId === "string" ? { code, correlationId } : { code };
}
