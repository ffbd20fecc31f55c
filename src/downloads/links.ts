/**
 * Signed, expiring download links (`Attachment.downloadUrl`). A link must work as a plain `<a href>`, so it
 * cannot rely on headers: the URL itself is the credential, `<base>/downloads/<token>`.
 *
 * The token is a compact JWS (a JWT, RFC 7519, signed with HS256 by jose), so anyone can audit it with standard
 * tools. Claims:
 *
 *   typ (header) "codat-gateway-download+jwt"   aud "codat-gateway/download"   exp  expiry (Unix seconds)
 *   cmp company   con connection   cus customer   att attachment   nam file name (optional)   sub caller (optional)
 *
 * Ids are carried exactly as given. The path carries nothing but base64url and dots, so no id ever needs escaping.
 *
 * The HMAC key is derived from the gateway's signing secret with a fixed label, so a download token and a
 * connection cursor signed with the same secret can never stand in for each other; the pinned algorithm, `typ`
 * and `aud` keep any other JWT signed with the same secret out too. jose checks the signature before it reads
 * a claim, and everything is checked before any upstream call.
 *
 * `sub` binds a link to the authenticated caller (JWT `sub`) it was minted for: a download request that
 * authenticates as someone else is refused. A request with no credentials (a browser following the link) is
 * served, since a plain link cannot carry headers: links are short-lived bearer credentials, minted only for a
 * caller allowed to use the attachment's company.
 * `nam` (the file name, shortened to NAME_MAX_BYTES) is signed too, so Content-Disposition needs no extra call.
 */
import { createHmac } from "node:crypto";
import { errors, jwtVerify, SignJWT, type JWTPayload } from "jose";
import { DOWNLOAD_PATH_PREFIX } from "../paths.js";
import { wellFormed } from "./headers.js";

/** Longest file name carried in a token, in UTF-8 bytes; longer names are shortened, keeping the extension. */
export const NAME_MAX_BYTES = 200;
/** Longest token accepted; a real one is far shorter (ids are capped at 512 characters). */
const MAX_TOKEN_LENGTH = 4096;
const KEY_LABEL = "codat-gateway/download-links/v1";
const ALGORITHM = "HS256";
const TOKEN_TYPE = "codat-gateway-download+jwt";
const AUDIENCE = "codat-gateway/download";
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

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

interface DownloadClaims extends JWTPayload {
  cmp: string;
  con: string;
  cus: string;
  att: string;
  nam?: string;
}

export class DownloadLinks {
  readonly ttlSeconds: number;
  readonly #key: Uint8Array;
  readonly #baseUrl: () => string;
  readonly #now: () => number;

  constructor(options: DownloadLinksOptions) {
    if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1) throw new RangeError("ttlSeconds must be a positive integer");
    this.ttlSeconds = options.ttlSeconds;
    this.#key = createHmac("sha256", options.secret).update(KEY_LABEL).digest();
    this.#baseUrl = options.baseUrl;
    this.#now = options.now ?? Date.now;
  }

  /** An absolute URL of the download route for this target, valid for `ttlSeconds`. */
  async url(target: DownloadTarget): Promise<string> {
    return `${this.#baseUrl()}${DOWNLOAD_PATH_PREFIX}${await this.sign(target)}`;
  }

  /** The token alone; `expiresAt` (Unix seconds) defaults to now + ttl. */
  sign(target: DownloadTarget, expiresAt = Math.floor(this.#now() / 1000) + this.ttlSeconds): Promise<string> {
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new RangeError("expiresAt must be Unix seconds");
    const claims: DownloadClaims = {
      cmp: wellFormed(target.companyId),
      con: wellFormed(target.connectionId),
      cus: wellFormed(target.customerId),
      att: wellFormed(target.attachmentId),
      ...(target.name ? { nam: shortenName(target.name) } : {}),
    };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, typ: TOKEN_TYPE })
      .setAudience(AUDIENCE)
      .setExpirationTime(expiresAt);
    if (target.caller !== undefined) jwt.setSubject(target.caller);
    return jwt.sign(this.#key);
  }

  /** Checks signature, then expiry, then caller. `caller` is the authenticated caller of the download request. */
  async verify(token: string, options: { caller?: string | undefined } = {}): Promise<Verdict> {
    if (token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) return { ok: false, reason: "invalid" };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: [ALGORITHM],
        typ: TOKEN_TYPE,
        audience: AUDIENCE,
        requiredClaims: ["exp"],
        currentDate: new Date(this.#now()),
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
      return { ok: false, reason: "invalid" };
    }
    const grant = grantOf(payload);
    if (!grant) return { ok: false, reason: "invalid" };
    // A browser following a plain link sends no credentials: the short-lived signed link is then the credential.
    // A request that does authenticate must be the caller the link was minted for.
    if (grant.caller !== undefined && options.caller !== undefined && grant.caller !== options.caller) {
      return { ok: false, reason: "wrong_caller" };
    }
    return { ok: true, grant };
  }
}

/** The grant in a payload whose signature, type, audience and expiry already passed; undefined when a claim is missing. */
function grantOf(payload: JWTPayload): DownloadGrant | undefined {
  const { cmp, con, cus, att, nam, sub, exp } = payload;
  const text = (value: unknown): value is string => typeof value === "string" && value !== "";
  if (!text(cmp) || !text(con) || !text(cus) || !text(att) || typeof exp !== "number") return undefined;
  if ((nam !== undefined && !text(nam)) || (sub !== undefined && typeof sub !== "string")) return undefined;
  const grant: DownloadGrant = { companyId: cmp, connectionId: con, customerId: cus, attachmentId: att, expiresAt: exp };
  if (sub !== undefined) grant.caller = sub;
  if (nam !== undefined) grant.name = nam;
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
