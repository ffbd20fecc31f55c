/**
 * Injected faults, for testing how clients survive a misbehaving upstream. Faults are queued; each request
 * takes the first queued fault whose `method`/`path` match (before any normal handling: auth, rate limiting,
 * latency, routing), and a fault is removed once it has been used `times` times. `delay`, `applyThenReset`
 * and `stall` let the normal handling run (before the answer, instead of it, and for part of it).
 */

interface FaultMatch {
  /** HTTP method to match (case-insensitive); any method when omitted. */
  method?: string;
  /** Tested against the request's decoded path (no query string); any path when omitted. */
  path?: RegExp;
  /** How many matching requests this fault hits; default 1. `Infinity` keeps it until `clearFaults()`. */
  times?: number;
}

export type Fault =
  /** Answer with this status (body: the given JSON value/string, or a default ErrorMessage for the status). */
  | (FaultMatch & { kind: "status"; status: number; headers?: Record<string, string>; body?: unknown })
  /** Destroy the connection (TCP reset) without any response. */
  | (FaultMatch & { kind: "reset" })
  /** Never answer; the connection stays open until the client gives up or the simulator closes. */
  | (FaultMatch & { kind: "hang" })
  /** 200 with `content-type: application/json` and a truncated (invalid) JSON body of consistent length. */
  | (FaultMatch & { kind: "malformed" })
  /** Wait `ms`, then handle the request normally. */
  | (FaultMatch & { kind: "delay"; ms: number })
  /**
   * The "lost response": handle the request completely (a push is accepted, its idempotency record stored),
   * then reset the connection instead of answering. The client sees a network error for a write that did
   * take effect, which is what a retry with the same Idempotency-Key must survive.
   */
  | (FaultMatch & { kind: "applyThenReset" })
  /**
   * A body that stops part-way: the request is handled normally, its status and headers (Content-Length
   * included) are sent with the first `afterBytes` bytes of the body (default 0), then nothing more. The
   * connection stays open, the response unfinished, until the client gives up or the simulator closes: what a
   * wedged storage backend or proxy looks like mid-download.
   */
  | (FaultMatch & { kind: "stall"; afterBytes?: number });

interface QueuedFault {
  fault: Fault;
  remaining: number;
}

export class FaultQueue {
  private queue: QueuedFault[] = [];

  add(fault: Fault): void {
    const times = fault.times ?? 1;
    if (!(times > 0)) throw new RangeError("Fault.times must be > 0");
    if (fault.kind === "delay" && !(fault.ms >= 0)) throw new RangeError("delay fault needs ms >= 0");
    if (fault.kind === "stall" && !(Number.isInteger(fault.afterBytes ?? 0) && (fault.afterBytes ?? 0) >= 0)) {
      throw new RangeError("stall fault needs a whole afterBytes >= 0");
    }
    this.queue.push({ fault, remaining: times });
  }

  clear(): void {
    this.queue = [];
  }

  get size(): number {
    return this.queue.length;
  }

  /** Consumes and returns the first fault matching the request, if any. */
  take(method: string, path: string): Fault | undefined {
    if (this.queue.length === 0) return undefined; // the common case, kept allocation-free
    for (let i = 0; i < this.queue.length; i++) {
      const entry = this.queue[i];
      if (!entry) continue;
      const { fault } = entry;
      if (fault.method !== undefined && fault.method.toUpperCase() !== method) continue;
      if (fault.path !== undefined) {
        // A global/sticky RegExp keeps lastIndex between calls; reset it so matching is repeatable.
        fault.path.lastIndex = 0;
        if (!fault.path.test(path)) continue;
      }
      entry.remaining--;
      if (entry.remaining <= 0) this.queue.splice(i, 1);
      return fault;
    }
    return undefined;
  }
}

/** A response body cut off mid-record: complete HTTP, invalid JSON. */
export const MALFORMED_JSON_BODY = '{"results":[{"id":"b90a0649-27df-445c-810c-bf5e6abbaa8e","customerName":"Arielle Gr';
