/**
 * Signed, expiring download links (`Attachment.downloadUrl`). A link must work as a plain `<a href>`, so it
 * cannot rely on headers: the URL itself is the credential, `<base>/downloads/<token>`.
 *
 * Token (version 1): `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`, where payload is binary:
 *
 *   u8 version (1) | u32 BE expiry (Unix seconds) | company | connection | customer | attachment | caller | name
 *
 * and each field is a tag byte — 0 absent, 1 a lower-case UUID as 16 bytes, 2 UTF-8 text as u16 BE length and
 * bytes. Ids that are lower-case UUIDs (most Codat ids) take 17 bytes instead of 38, which keeps links around
 * 200 characters; any other id is carried exactly as given. The path carries nothing but base64url, so no id ever
 * needs escaping in the URL.
 *
 * The key is derived from the gateway's signing secret with a fixed label, so a download token and a connection
 * cursor signed with the same secret can never stand in for each other. The MAC is checked (timingSafeEqual)
 * before the payload is parsed, and everything is checked before any upstream call.
 *
 * `caller` binds a link to the authenticated caller (JWT `sub`) it was minted for: a download request that
 * authenticates as someone else is refused. A request with no credentials (a browser following the link) is
 * served, since a plain link cannot carry headers: links are short-lived bearer credentials, minted only for a
 * caller allowed to use the attachment's company.
 * `name` (the file name, shortened to NAME_MAX_BYTES) is signed too, so Content-Disposition needs no extra call.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";
import { wellFormed } from "./headers.js";

export const TOKEN_VERSION = 1;
/** The download route's path prefix (the token follows it). */
export const DOWNLOAD_PATH_PREFIX = "/downloads/";
/** Longest file name carried in a token, in UTF-8 bytes; longer names are shortened, keeping the extension. */
export const NAME_MAX_BYTES = 200;
/** Longest token accepted; a real one is far shorter (ids are capped at 512 characters). */
const MAX_TOKEN_LENGTH = 4096;
const KEY_LABEL = "codat-gateway/download-links/v1";
const MAC_BYTES = 32;
const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** What a link grants: one attachment of one customer, on one connection of one company. */
export interface DownloadTarget {
  companyId: string;
  connectionId: string;
  customerId: string;
  attachmentId: string;
  /** The attachment's file name, for Content-Disposition. */
  name?: string | null | undefined;
  /** The authenticated caller (JWT `sub`) the link was minted for; absent with AUTH_MODE=none. */
  caller?: string | undefined;
}

export interface DownloadGrant extends DownloadTarget {
  /** Unix seconds. */
  expiresAt: number;
}

export type RefusalReason = "invalid" | "expired" | "wrong_caller";

export type Verdict = { ok: true; grant: DownloadGrant } | { ok: false; reason: RefusalReason };

export interface DownloadLinksOptions {
  /** The gateway's signing secret (SIGNING_SECRET, or the per-process random one). */
  secret: string | Uint8Array;
  ttlSeconds: number;
  /** The public base URL (no trailing slash); read when a link is built, since it may be known only after listen(). */
  baseUrl: () => string;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

export class DownloadLinks {
  readonly ttlSeconds: number;
  readonly #key: KeyObject;
  readonly #baseUrl: () => string;
  readonly #now: () => number;

  constructor(options: DownloadLinksOptions) {
    if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1) throw new RangeError("ttlSeconds must be a positive integer");
    this.ttlSeconds = options.ttlSeconds;
    this.#key = createSecretKey(createHmac("sha256", options.secret).update(KEY_LABEL).digest());
    this.#baseUrl = options.baseUrl;
    this.#now = options.now ?? Date.now;
  }

  /** An absolute URL of the download route for this target, valid for `ttlSeconds`. */
  url(target: DownloadTarget): string {
    return `${this.#baseUrl()}${DOWNLOAD_PATH_PREFIX}${this.sign(target)}`;
  }

  /** The token alone; `expiresAt` (Unix seconds) defaults to now + ttl. */
  sign(target: DownloadTarget, expiresAt = Math.floor(this.#now() / 1000) + this.ttlSeconds): string {
    const payload = encodePayload({ ...target, expiresAt });
    return `${payload.toString("base64url")}.${this.#mac(payload).toString("base64url")}`;
  }

  /** Checks signature, then expiry, then caller. `caller` is the authenticated caller of the download request. */
  verify(token: string, options: { caller?: string | undefined } = {}): Verdict {
    if (token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) return { ok: false, reason: "invalid" };
    const [payloadText = "", macText = ""] = token.split(".");
    const payload = Buffer.from(payloadText, "base64url");
    const mac = Buffer.from(macText, "base64url");
    // Re-encoding must give the same text: rejects non-canonical base64url (trailing bits) as tampering.
    if (payload.toString("base64url") !== payloadText || mac.toString("base64url") !== macText) return { ok: false, reason: "invalid" };
    if (mac.length !== MAC_BYTES || !timingSafeEqual(mac, this.#mac(payload))) return { ok: false, reason: "invalid" };
    const grant = decodePayload(payload);
    if (!grant) return { ok: false, reason: "invalid" };
    if (Math.floor(this.#now() / 1000) >= grant.expiresAt) return { ok: false, reason: "expired" };
    // A browser following a plain link sends no credentials: the short-lived signed link is then the credential.
    // A request that does authenticate must be the caller the link was minted for.
    if (grant.caller !== undefined && options.caller !== undefined && grant.caller !== options.caller) {
      return { ok: false, reason: "wrong_caller" };
    }
    return { ok: true, grant };
  }

  #mac(payload: Buffer): Buffer {
    return createHmac("sha256", this.#key).update(payload).digest();
  }
}

// ---------------------------------------------------------------------------------------------------- encoding

const ABSENT = 0;
const UUID_FIELD = 1;
const TEXT_FIELD = 2;

function encodeField(value: string | null | undefined): Buffer {
  if (value === undefined || value === null) return Buffer.of(ABSENT);
  if (LOWER_UUID.test(value)) return Buffer.concat([Buffer.of(UUID_FIELD), Buffer.from(value.replaceAll("-", ""), "hex")]);
  const bytes = Buffer.from(wellFormed(value), "utf8");
  if (bytes.length > 0xffff) throw new RangeError("download link field too long");
  const header = Buffer.alloc(3);
  header[0] = TEXT_FIELD;
  header.writeUInt16BE(bytes.length, 1);
  return Buffer.concat([header, bytes]);
}

function encodePayload(grant: DownloadGrant): Buffer {
  if (!Number.isInteger(grant.expiresAt) || grant.expiresAt < 0 || grant.expiresAt > 0xffffffff) {
    throw new RangeError("expiresAt must be Unix seconds");
  }
  const head = Buffer.alloc(5);
  head[0] = TOKEN_VERSION;
  head.writeUInt32BE(grant.expiresAt, 1);
  return Buffer.concat([
    head,
    encodeField(grant.companyId),
    encodeField(grant.connectionId),
    encodeField(grant.customerId),
    encodeField(grant.attachmentId),
    encodeField(grant.caller),
    encodeField(grant.name ? shortenName(grant.name) : undefined),
  ]);
}

/** Reads a payload whose MAC already matched; undefined when it is not a version-1 payload. */
function decodePayload(payload: Buffer): DownloadGrant | undefined {
  if (payload.length < 5 || payload[0] !== TOKEN_VERSION) return undefined;
  let offset = 5;
  const field = (): string | undefined | null => {
    const tag = payload[offset];
    offset += 1;
    if (tag === ABSENT) return undefined;
    if (tag === UUID_FIELD && offset + 16 <= payload.length) {
      const hex = payload.toString("hex", offset, offset + 16);
      offset += 16;
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    if (tag === TEXT_FIELD && offset + 2 <= payload.length) {
      const length = payload.readUInt16BE(offset);
      offset += 2;
      if (offset + length > payload.length) return null;
      const text = payload.toString("utf8", offset, offset + length);
      offset += length;
      return text;
    }
    return null;
  };
  const [companyId, connectionId, customerId, attachmentId, caller, name] = [field(), field(), field(), field(), field(), field()];
  if (offset !== payload.length) return undefined;
  if (!companyId || !connectionId || !customerId || !attachmentId || caller === null || name === null) return undefined;
  const grant: DownloadGrant = { companyId, connectionId, customerId, attachmentId, expiresAt: payload.readUInt32BE(1) };
  if (caller !== undefined) grant.caller = caller;
  if (name !== undefined) grant.name = name;
  return grant;
}

/** Shortens a file name to NAME_MAX_BYTES of UTF-8, keeping a short extension, never splitting a character. */
export function shortenName(name: string): string {
  const whole = wellFormed(name);
  if (Buffer.byteLength(whole) <= NAME_MAX_BYTES) return whole;
  const dot = whole.lastIndexOf(".");
  const extension = dot > 0 && whole.length - dot <= 16 ? whole.slice(dot) : "";
  let budget = NAME_MAX_BYTES - Buffer.byteLength(extension) - Buffer.byteLength("…");
  let stem = "";
  for (const char of whole.slice(0, whole.length - extension.length)) {
    budget -= Buffer.byteLength(char);
    if (budget < 0) break;
    stem += char;
  }
  return `${stem}…${extension}`;
}
