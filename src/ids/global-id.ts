/**
 * Relay global object ids: opaque, globally unique, and enough to refetch the object through `node(id:)`.
 * A Codat id is unique only within its company (a customer id, an attachment id within its customer), so the id
 * encodes the type, the company and every Codat id the object's own endpoint needs:
 *
 *   base64url(JSON.stringify([type, companyId, ...codatIds]))
 *
 * JSON keeps ids containing any character (colons, slashes) unambiguous; base64url keeps the id opaque (clients
 * must not parse it) and URL-safe. It is not signed: it grants nothing — `node(id:)` authorizes the decoded company
 * exactly as the root fields do, and every decoded id is validated again by the Codat client before any call.
 */
import { badUserInput } from "../errors.js";

export type NodeRef =
  | { type: "Customer"; companyId: string; customerId: string }
  | { type: "Attachment"; companyId: string; connectionId: string; customerId: string; attachmentId: string }
  | { type: "PushOperation"; companyId: string; pushOperationKey: string }
  | { type: "DataConnection"; companyId: string; connectionId: string };

/** The types that implement `Node`. */
export type NodeType = NodeRef["type"];

/** Longest global id accepted (Codat ids are capped well below this by the client). */
const MAX_ID_LENGTH = 4096;

/** The Codat ids each type carries after the company id, in order. */
function codatIds(ref: NodeRef): string[] {
  switch (ref.type) {
    case "Customer":
      return [ref.customerId];
    case "Attachment":
      return [ref.connectionId, ref.customerId, ref.attachmentId];
    case "PushOperation":
      return [ref.pushOperationKey];
    case "DataConnection":
      return [ref.connectionId];
  }
}

/** The reference the decoded parts name; undefined when the type is unknown or the id count is wrong. */
function refOf(type: string, companyId: string, ids: readonly string[]): NodeRef | undefined {
  switch (type) {
    case "Customer": {
      const [customerId, ...extra] = ids;
      return customerId !== undefined && extra.length === 0 ? { type, companyId, customerId } : undefined;
    }
    case "Attachment": {
      const [connectionId, customerId, attachmentId, ...extra] = ids;
      return connectionId !== undefined && customerId !== undefined && attachmentId !== undefined && extra.length === 0
        ? { type, companyId, connectionId, customerId, attachmentId }
        : undefined;
    }
    case "PushOperation": {
      const [pushOperationKey, ...extra] = ids;
      return pushOperationKey !== undefined && extra.length === 0 ? { type, companyId, pushOperationKey } : undefined;
    }
    case "DataConnection": {
      const [connectionId, ...extra] = ids;
      return connectionId !== undefined && extra.length === 0 ? { type, companyId, connectionId } : undefined;
    }
    default:
      return undefined;
  }
}

export function toGlobalId(ref: NodeRef): string {
  return Buffer.from(JSON.stringify([ref.type, ref.companyId, ...codatIds(ref)]), "utf8").toString("base64url");
}

/** Decodes a global id that must be of one type (a federation `@key(fields: "id")` reference). */
export function fromGlobalIdOf<T extends NodeType>(id: string, type: T, argumentName = "id"): Extract<NodeRef, { type: T }> {
  const ref = fromGlobalId(id, argumentName);
  if (!isOfType(ref, type)) throw badUserInput(`${argumentName} is not a ${type} id.`, argumentName);
  return ref;
}

function isOfType<T extends NodeType>(ref: NodeRef, type: T): ref is Extract<NodeRef, { type: T }> {
  return ref.type === type;
}

/** Decodes a global id; a malformed one is BAD_USER_INPUT naming the argument. */
export function fromGlobalId(id: string, argumentName = "id"): NodeRef {
  const invalid = () => badUserInput(`${argumentName} is not an id this gateway issued.`, argumentName);
  // The runtime type check stays: federation references and JSON variables can carry anything.
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH || !/^[A-Za-z0-9_-]+$/.test(id)) throw invalid();
  let parts: unknown;
  try {
    const text = Buffer.from(id, "base64url").toString("utf8");
    // Canonical encoding only: one object, one id.
    if (Buffer.from(text, "utf8").toString("base64url") !== id) throw invalid();
    parts = JSON.parse(text);
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parts) || !parts.every((p): p is string => typeof p === "string" && p.length > 0)) throw invalid();
  const [type, companyId, ...rest] = parts;
  const ref = type === undefined || companyId === undefined ? undefined : refOf(type, companyId, rest);
  if (!ref) throw invalid();
  return ref;
}

/** The Codat id field of each type, for the hint when its global `id` is passed where a Codat id is expected. */
const CODAT_ID_FIELD: Record<NodeType, string> = {
  Customer: "customerId",
  Attachment: "attachmentId",
  PushOperation: "pushOperationKey",
  DataConnection: "connectionId",
};

/**
 * Refuses a global `id` passed where Codat's own id is expected (`customerId`, `companyId`, …): without this it
 * would reach Codat as an id no record has, and read as a silent null. BAD_USER_INPUT naming the argument, with
 * the field to use instead. A Codat id is never mistaken for one: only a canonical base64url JSON array naming a
 * type of this gateway decodes.
 */
export function rejectGlobalId(value: unknown, argumentName: string): void {
  if (typeof value !== "string" || !value.startsWith("WyJ")) return;
  let ref: NodeRef;
  try {
    ref = fromGlobalId(value, argumentName);
  } catch {
    return;
  }
  throw badUserInput(
    `${argumentName} takes Codat's id, but got a global id (the \`id\` of a ${ref.type}). ` +
      `Pass the object's \`${CODAT_ID_FIELD[ref.type]}\` instead, or fetch it with node(id:).`,
    argumentName,
  );
}

/** `rejectGlobalId` for each of several arguments (the ones a field takes as Codat ids). */
export function rejectGlobalIds(args: Record<string, unknown>, names: readonly string[], prefix = ""): void {
  for (const name of names) rejectGlobalId(args[name], `${prefix}${name}`);
}
