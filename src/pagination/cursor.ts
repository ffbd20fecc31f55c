/**
 * Opaque, signed connection cursors. A cursor holds the absolute 0-based offset of an item in a Codat list and
 * a fingerprint of the list's identity (which connection, company, `query` and `orderBy`). It is HMAC-signed so
 * an altered cursor is refused instead of silently paging somewhere else, and the fingerprint refuses a cursor
 * reused with different arguments (its offset would mean nothing there).
 */
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";
import { badUserInput } from "../errors.js";

const VERSION = "c1";
const SIGNATURE_BYTES = 12;

/** What a cursor is bound to. */
export interface ListIdentity {
  kind: string;
  companyId: string;
  query?: string | null | undefined;
  orderBy?: string | null | undefined;
}

export class CursorCodec {
  // A KeyObject made once: Node re-validates a raw Buffer key on every createHmac call, a measurable cost when a
  // page signs 20+ cursors.
  readonly #key: KeyObject;

  constructor(secret: string | Buffer) {
    this.#key = createSecretKey(typeof secret === "string" ? Buffer.from(secret, "utf8") : secret);
  }

  encode(list: ListIdentity, offset: number): string {
    return this.encoder(list)(offset);
  }

  /** Encodes many cursors of one list, hashing the list's identity once. */
  encoder(list: ListIdentity): (offset: number) => string {
    // Hashed on the first cursor asked for: a page whose cursors are not selected hashes nothing.
    let boundTo: string | undefined;
    return (offset) => {
      boundTo ??= fingerprint(list);
      const payload = `${VERSION}:${offset}:${boundTo}`;
      return `${Buffer.from(payload, "utf8").toString("base64url")}.${this.#sign(payload).toString("base64url")}`;
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
    const expected = this.#sign(payload);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw invalid();
    const [version, offsetText, boundTo] = payload.split(":");
    if (version !== VERSION || offsetText === undefined || !/^\d{1,9}$/.test(offsetText)) throw invalid();
    if (boundTo !== fingerprint(list)) {
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
}

function fingerprint(list: ListIdentity): string {
  return createHash("sha256")
    .update(JSON.stringify([list.kind, list.companyId.toLowerCase(), list.query ?? "", list.orderBy ?? ""]))
    .digest()
    .subarray(0, 9)
    .toString("base64url");
}
