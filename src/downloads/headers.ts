/**
 * Response headers of the download route. Everything that comes from Codat or the accounting platform (file
 * name, content type) is untrusted text headed for a header line, so it is encoded or replaced, never copied.
 */

/** RFC 7230 token characters. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** `type/subtype` with optional `; name=value` parameters (token or quoted-string without escapes or controls). */
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"))*$`);
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** The upstream Content-Type when it is a well-formed media type, else `application/octet-stream`. */
export function safeContentType(value: string | null | undefined): string {
  const trimmed = value?.trim();
  return trimmed && trimmed.length <= 255 && MEDIA_TYPE.test(trimmed) ? trimmed : DEFAULT_CONTENT_TYPE;
}

/**
 * `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 with RFC 5987/8187
 * encoding). The fallback is for old clients: non-ASCII, controls (CR/LF), `"`, `\` and `%` (which some
 * browsers percent-decode in `filename`) become `_`. `filename*` carries the exact name; browsers prefer it.
 * Without a name, plain `attachment`.
 */
export function contentDisposition(name: string | null | undefined): string {
  const exact = name
    ? wellFormed(name)
        .replace(/[\u0000-\u001f\u007f]/g, "")
        .trim()
    : "";
  if (!exact) return "attachment";
  const fallback = exact.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(exact)}`;
}

/** Percent-encodes everything outside RFC 5987's attr-char (encodeURIComponent leaves `'()*` alone). */
export function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Headers every download answer carries: the browser saves the file rather than rendering it (and would
 * render nothing active even if it did), and neither the bytes nor the link-bearing URL are kept or passed on.
 */
export const DOWNLOAD_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "private, no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; sandbox",
  "referrer-policy": "no-referrer",
  "accept-ranges": "none",
};

/** Replaces lone UTF-16 surrogates with U+FFFD (String#toWellFormed, which the project's ES lib level lacks). */
export function wellFormed(value: string): string {
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
