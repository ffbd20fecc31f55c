/**
 * `Idempotency-Key` handling, as Codat documents it for POST and PATCH (PUT is not covered, so the key is ignored
 * there): the first response for a key is replayed for 90 minutes; the same key with a different request answers
 * 422; the same key while its first request is still being processed answers 409.
 *
 * Semantics chosen where Codat's docs are silent (see README "Idempotency"):
 * - Keys are scoped per company (`/companies/{id}/…`; other paths share one global scope): Codat's API keys
 *   reach every company, and a client retrying a push for company A must never collide with company B.
 * - Keys must be GUIDs (any case; compared case-insensitively), else 400.
 * - "The same request" means the same method, the same decoded path and the same body compared as canonical
 *   JSON (object keys sorted, whitespace irrelevant); a body that is not JSON is compared byte for byte. Query
 *   parameters are not part of it.
 * - What is replayed: any response the request produced after it was admitted (handler answers, 4xx included),
 *   except 5xx and streamed bodies — those release the key so a retry runs again. Requests rejected before the
 *   key was looked at (faults, 401, 429) never touch it. Replays carry `Idempotent-Replayed: true`.
 * - The 90 minutes run from when the first response was stored, measured on the simulator's clock
 *   (`SimulatorOptions.now`), so tests can expire keys without waiting.
 */
import { createHash } from "node:crypto";

export const IDEMPOTENCY_TTL_MS = 90 * 60 * 1000;
export const IDEMPOTENCY_HEADER = "idempotency-key";
export const IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isGuid(text: string): boolean {
  return GUID.test(text);
}

export interface StoredResponse {
  status: number;
  headers: Record<string, string | number>;
  body: string | Buffer;
}

interface Entry {
  fingerprint: string;
  /** Undefined while the first request is still being processed. */
  response?: StoredResponse;
  storedAt: number;
}

export type IdempotencyDecision =
  { kind: "new"; ticket: IdempotencyTicket } | { kind: "replay"; response: StoredResponse } | { kind: "inFlight" } | { kind: "mismatch" };

/** Handed to the request that owns a key; exactly one of `complete`/`release` must follow. */
export interface IdempotencyTicket {
  readonly id: string;
  readonly entry: Entry;
}

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private sweepCountdown = 1000;

  constructor(private readonly now: () => number) {}

  get size(): number {
    return this.entries.size;
  }

  begin(scope: string, key: string, fingerprint: string): IdempotencyDecision {
    const id = `${scope}\n${key.toLowerCase()}`;
    const now = this.now();
    const existing = this.entries.get(id);
    if (existing && existing.response && now - existing.storedAt >= IDEMPOTENCY_TTL_MS) this.entries.delete(id);
    else if (existing) {
      // A different request under a used key is a client bug whatever state the first one is in, so it is
      // reported as such (422) even while the first is still running.
      if (existing.fingerprint !== fingerprint) return { kind: "mismatch" };
      return existing.response ? { kind: "replay", response: existing.response } : { kind: "inFlight" };
    }
    if (--this.sweepCountdown <= 0) this.sweep(now);
    const entry: Entry = { fingerprint, storedAt: now };
    this.entries.set(id, entry);
    return { kind: "new", ticket: { id, entry } };
  }

  complete(ticket: IdempotencyTicket, response: StoredResponse): void {
    if (this.entries.get(ticket.id) !== ticket.entry) return;
    ticket.entry.response = response;
    ticket.entry.storedAt = this.now();
  }

  release(ticket: IdempotencyTicket): void {
    if (this.entries.get(ticket.id) === ticket.entry && !ticket.entry.response) this.entries.delete(ticket.id);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Drops expired entries now and then, so a long benchmark run does not accumulate keys forever. */
  private sweep(now: number): void {
    this.sweepCountdown = 1000;
    for (const [id, entry] of this.entries) {
      if (entry.response && now - entry.storedAt >= IDEMPOTENCY_TTL_MS) this.entries.delete(id);
    }
  }
}

/** JSON text with object keys sorted at every level, so `{"a":1,"b":2}` and `{ "b": 2, "a": 1 }` compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  // JSON.stringify answers undefined (not a string, whatever its type says) for undefined and functions.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  return JSON.stringify(value) ?? "null";
}

/** The identity of a request for idempotency purposes: method, path and canonical body, hashed. */
export function requestFingerprint(method: string, path: string, body: Buffer): string {
  let canonical: string;
  try {
    canonical = `json:${canonicalJson(JSON.parse(body.toString("utf8")))}`;
  } catch {
    canonical = `raw:${body.toString("base64")}`;
  }
  return createHash("sha256").update(`${method} ${path}\n${canonical}`).digest("hex");
}
