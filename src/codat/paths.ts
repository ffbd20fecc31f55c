/**
 * Path segments for Codat URLs. Every id that ends up in a request path passes through here first, so a caller
 * can never steer a request to another endpoint (or another company) by smuggling `/`, `..` or an encoded
 * slash into an id. Rejections are BAD_USER_INPUT and happen before any network call.
 */
import { badUserInput } from "../errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Longest opaque id accepted; Codat's ids are far shorter, and the cap keeps URLs under proxy limits. */
export const MAX_OPAQUE_ID_LENGTH = 512;

/**
 * Characters that would change how the URL is parsed (`/ \ ? #`), C0/C1 controls and DEL (which URL parsers
 * strip or reject, so the id sent would differ from the id given), and any existing percent-escape: `%2F`
 * or `%2e` would be decoded by some hop on the way and turn back into a separator or a dot-segment.
 */
const UNSAFE_OPAQUE = /[/\\?#\u0000-\u001f\u007f-\u009f]|%[0-9a-f]{2}/i;

/** A Codat UUID (company, connection, push operation), returned unchanged; BAD_USER_INPUT otherwise. */
export function uuidSegment(value: string, argumentName: string): string {
  if (typeof value !== "string" || !UUID.test(value)) {
    throw badUserInput(`${argumentName} must be a UUID`, argumentName);
  }
  return value;
}

/**
 * An opaque id from the accounting platform (customer, attachment), percent-encoded as one path segment.
 * These come from many platforms and may contain spaces, `+`, `:` and the like, so they are encoded rather
 * than pattern-matched; only what could alter the path is refused.
 */
export function opaqueSegment(value: string, argumentName: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw badUserInput(`${argumentName} must not be empty`, argumentName);
  }
  if (value.length > MAX_OPAQUE_ID_LENGTH) {
    throw badUserInput(`${argumentName} must be at most ${MAX_OPAQUE_ID_LENGTH} characters`, argumentName);
  }
  if (value === "." || value === ".." || UNSAFE_OPAQUE.test(value)) {
    throw badUserInput(`${argumentName} contains characters that are not allowed in an id`, argumentName);
  }
  try {
    return encodeURIComponent(value);
  } catch {
    // encodeURIComponent throws URIError on a lone UTF-16 surrogate: not a real id either.
    throw badUserInput(`${argumentName} is not valid text`, argumentName);
  }
}
