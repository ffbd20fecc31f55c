/**
 * Opaque, signed connection cursors. A cursor holds the absolute 0-based offset of an item in a Codat list and
 * a fingerprint of the list's identity (which connection, company, `query` and `orderBy`). It is HMAC-signed so
 * an altered cursor is refused instead of silently paging somewhere else, and the fingerprint refuses a cursor
 * reused with different arguments (its offset would mean nothing there).
 *
 * One signature per page: the HMAC covers the page's range of offsets [start, end) and the fingerprint, and
 * every cursor of the page carries that range and its own offset within it. Changing the offset inside the
 * range only names another item of the page its holder was given anyway; anything else breaks the signature.
 * A 20-edge page then costs one HMAC instead of twenty (`c1` cursors, signed one by one, still decode).
 */
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";
import { badUserInput } from "../errors.js";

/** Page-signed cursors; `c1` (one signature per cursor) is still accepted. */
const VERSION = "c2";
const LEGACY_VERSION = "c1";
const SIGNATURE_BYTES = 12;

/** What a cursor is bound to. */
export interface ListIdentity {
  kind: string;
  companyId: string;
  query?: string | null | undefined;
  orderBy?: string | null | undefined;
}

/**
 * Most list fingerprints and page signatures remembered (each a few dozen bytes). Both are pure functions of
 * their input (the signature of the secret too), so a remembered one is exactly what would be computed again:
 * the same page served twice (a list read by many clients, a page reloaded) hashes and signs once.
 */
const MEMO_ENTRIES = 1024;

export class CursorCodec {
  // A KeyObject made once: Node re-validates a raw Buffer key on every createHmac call, a measurable cost when a
  // page signs 20+ cursors.
  readonly #key: KeyObject;
  readonly #fingerprints = new Memo<string>(MEMO_ENTRIES);
  readonly #signatures = new Memo<string>(MEMO_ENTRIES);

  constructor(secret: string | Buffer) {
    this.#key = createSecretKey(typeof secret === "string" ? Buffer.from(secret, "utf8") : secret);
  }

  encode(list: ListIdentity, offset: number): string {
    return this.pageEncoder(list, offset, offset + 1)(offset);
  }

  /**
   * Encodes the cursors of one page, the items at offsets [start, end): the list's identity is hashed and the
   * range signed once, on the first cursor asked for (a page whose cursors are not selected signs nothing).
   */
  pageEncoder(list: ListIdentity, start: number, end: number): (offset: number) => string {
    let signed: { prefix: string; signature: string } | undefined;
    return (offset) => {
      if (offset < start || offset >= end) throw new RangeError(`offset ${offset} is outside the page [${start}, ${end})`);
      if (signed === undefined) {
        const range = `${VERSION}:${start}:${end}:${this.#fingerprint(list)}`;
        signed = { prefix: range, signature: this.#signatures.get(range, () => this.#sign(range).toString("base64url")) };
      }
      return `${Buffer.from(`${signed.prefix}:${offset}`, "utf8").toString("base64url")}.${signed.signature}`;
    };
  }

  /** Returns the offset, or throws BAD_USER_INPUT naming `argumentName`. */
  decode(list: ListIdentity, cursor: string, argumentName: string): number {
    const invalid = () =>
      badUserInput(`Invalid cursor in "${argumentName}": pass a cursor from this connection's edges or pageInfo.`, argumentName);
    const dot = cursor.indexOf(".");
    if (dot <= 0 || cursor.length > 200) throw invalid();
    const payload = Buffer.from(cursor.slice(0, dot), "base64url").toString("utf8");
    const signature = Buffer.from(cursor.slice(dot + 1), "base64url");
    const parts = payload.split(":");
    let offsetText: string | undefined;
    let boundTo: string | undefined;
    let signedText: string;
    if (parts[0] === VERSION && parts.length === 5) {
      const [, startText, endText, fingerprintText, offsetPart] = parts;
      if (![startText, endText, offsetPart].every((part) => part !== undefined && /^\d{1,9}$/.test(part))) throw invalid();
      const offset = Number(offsetPart);
      if (offset < Number(startText) || offset >= Number(endText)) throw invalid();
      signedText = `${VERSION}:${startText}:${endText}:${fingerprintText}`;
      offsetText = offsetPart;
      boundTo = fingerprintText;
    } else if (parts[0] === LEGACY_VERSION && parts.length === 3) {
      signedText = payload;
      [, offsetText, boundTo] = parts;
    } else {
      throw invalid();
    }
    const expected = this.#sign(signedText);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw invalid();
    if (offsetText === undefined || !/^\d{1,9}$/.test(offsetText)) throw invalid();
    if (boundTo !== this.#fingerprint(list)) {
      throw badUserInput(
        `The cursor in "${argumentName}" belongs to a different list: keep companyId, query and orderBy unchanged while paging.`,
        argumentName,
      );
    }
    return Number(offsetText);
  }

  #sign(payload: string): Buffer {
    return createHmac("sha256", this.#key).update(payload).digest().subarray(0, SIGNATURE_BYTES);
  }

  #fingerprint(list: ListIdentity): string {
    const identity = JSON.stringify([list.kind, list.companyId.toLowerCase(), list.query ?? "", list.orderBy ?? ""]);
    return this.#fingerprints.get(identity, () => createHash("sha256").update(identity).digest().subarray(0, 9).toString("base64url"));
  }
}

/** A bounded map of computed values: when full, the oldest entry makes room (insertion order). */
class Memo<V> {
  readonly #entries = new Map<string, V>();
  constructor(readonly limit: number) {}

  get(key: string, compute: () => V): V {
    const known = this.#entries.get(key);
    if (known !== undefined) return known;
    const value = compute();
    if (this.#entries.size >= this.limit) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
    return value;
  }
}
