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

/** The types that implement `Node`, and the Codat ids each carries after the company id. */
const SHAPES = {
  Customer: ["customerId"],
  Attachment: ["connectionId", "customerId", "attachmentId"],
  PushOperation: ["pushOperationKey"],
  DataConnection: ["connectionId"],
} as const;

export type NodeType = keyof typeof SHAPES;

export type NodeRef =
  | { type: "Customer"; companyId: string; customerId: string }
  | { type: "Attachment"; companyId: string; connectionId: string; customerId: string; attachmentId: string }
  | { type: "PushOperation"; companyId: string; pushOperationKey: string }
  | { type: "DataConnection"; companyId: string; connectionId: string };

/** Longest global id accepted (Codat ids are capped well below this by the client). */
const MAX_ID_LENGTH = 4096;

export function toGlobalId(ref: NodeRef): string {
  const parts: string[] = [ref.type, ref.companyId];
  for (const field of SHAPES[ref.type]) parts.push((ref as unknown as Record<string, string>)[field]!);
  return Buffer.from(JSON.stringify(parts), "utf8").toString("base64url");
}

/** Decodes a global id that must be of one type (a federation `@key(fields: "id")` reference). */
export function fromGlobalIdOf<T extends NodeType>(id: string, type: T, argumentName = "id"): Extract<NodeRef, { type: T }> {
  const ref = fromGlobalId(id, argumentName);
  if (ref.type !== type) throw badUserInput(`${argumentName} is not a ${type} id.`, argumentName);
  return ref as Extract<NodeRef, { type: T }>;
}

/** Decodes a global id; a malformed one is BAD_USER_INPUT naming the argument. */
export function fromGlobalId(id: string, argumentName = "id"): NodeRef {
  const invalid = () => badUserInput(`${argumentName} is not an id this gateway issued.`, argumentName);
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
  if (type === undefined || companyId === undefined || !Object.hasOwn(SHAPES, type)) throw invalid();
  const fields = SHAPES[type as NodeType];
  if (rest.length !== fields.length) throw invalid();
  const ref: Record<string, string> = { type, companyId };
  fields.forEach((field, i) => (ref[field] = rest[i]!));
  return ref as unknown as NodeRef;
}
