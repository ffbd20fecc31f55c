/**
 * Small guards of the admission and of input values, each refusing with a code before any Codat call:
 *
 * - `boundedMessage`: an error message never carries "Did you mean …?" hints about the schema in production
 *   (validation and variable errors alike), and never echoes a long client value: a quoted value longer than
 *   MAX_ECHOED_CHARS is cut to that many characters, and a whole message to MAX_MESSAGE_CHARS.
 * - `serviceSdlRefusal`: `_service { sdl }` (the subgraph's whole SDL, introspection or not) is the router's:
 *   refused FORBIDDEN to other callers unless authentication is off on a loopback HOST.
 * - `jsonValueProblem`: a JSON scalar value's depth and size, measured without recursion (a deeply nested value
 *   must not overflow the stack of whatever walks it later: JSON.stringify, a logger, Codat's client).
 */
import { GraphQLError, Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import { ErrorCode } from "../errors.js";

/** Longest client value an error message repeats. */
export const MAX_ECHOED_CHARS = 200;
/** Longest error message. */
export const MAX_MESSAGE_CHARS = 1_000;
/** Deepest JSON scalar value (objects and arrays nested in one another). */
export const MAX_JSON_DEPTH = 32;
/** Largest JSON scalar value: its size as JSON text, approximately (strings and keys by length). */
export const MAX_JSON_BYTES = 64 * 1024;

const SUGGESTION = / ?Did you mean [^?]*\?/g;
const LONG_QUOTED = new RegExp(`"((?:[^"\\\\]|\\\\.){${MAX_ECHOED_CHARS + 1},})"`, "g");

/** A client-facing message without schema hints (when `hideSuggestions`) and without a long echoed value. */
export function boundedMessage(message: string, hideSuggestions: boolean): string {
  let bounded = hideSuggestions ? message.replace(SUGGESTION, "") : message;
  if (bounded.length > MAX_ECHOED_CHARS) {
    bounded = bounded.replace(
      LONG_QUOTED,
      (_whole, value: string) => `"${value.slice(0, MAX_ECHOED_CHARS)}…" (${value.length} characters)`,
    );
  }
  if (bounded.length > MAX_MESSAGE_CHARS) bounded = `${bounded.slice(0, MAX_MESSAGE_CHARS)}…`;
  return bounded;
}

export const SERVICE_SDL_MESSAGE =
  "`_service` is served to the federation router only: set ROUTER_SECRET on the gateway and have the router send it.";

/** FORBIDDEN when the operation selects `_service` at its root (through fragments too); else undefined. */
export function serviceSdlRefusal(document: DocumentNode, operation: OperationDefinitionNode): GraphQLError | undefined {
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  }
  const seen = new Set<string>();
  const pending: SelectionSetNode[] = [operation.selectionSet];
  for (let set = pending.pop(); set !== undefined; set = pending.pop()) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === "_service") {
          return new GraphQLError(SERVICE_SDL_MESSAGE, { extensions: { code: ErrorCode.Forbidden, http: { status: 403 } } });
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        pending.push(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) pending.push(fragment);
      }
    }
  }
  return undefined;
}

/**
 * Why a JSON value is refused (too deep, too large), or undefined. Iterative: a value nested a million deep is
 * measured in a loop, not on the stack.
 */
export function jsonValueProblem(value: unknown): string | undefined {
  let bytes = 0;
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value: current, depth } = item;
    if (typeof current === "string") bytes += current.length + 2;
    else if (current === null || typeof current !== "object") bytes += 8;
    else {
      if (depth >= MAX_JSON_DEPTH) return `must be nested at most ${MAX_JSON_DEPTH} levels deep`;
      bytes += 2;
      if (Array.isArray(current)) {
        for (const entry of current as unknown[]) {
          bytes += 1;
          if (bytes > MAX_JSON_BYTES) return `must be at most ${MAX_JSON_BYTES} bytes of JSON`;
          pending.push({ value: entry, depth: depth + 1 });
        }
      } else {
        for (const [key, entry] of Object.entries(current)) {
          bytes += key.length + 4;
          if (bytes > MAX_JSON_BYTES) return `must be at most ${MAX_JSON_BYTES} bytes of JSON`;
          pending.push({ value: entry, depth: depth + 1 });
        }
      }
    }
    if (bytes > MAX_JSON_BYTES) return `must be at most ${MAX_JSON_BYTES} bytes of JSON`;
  }
  return undefined;
}
