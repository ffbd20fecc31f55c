/**
 * Which of Codat's webhooks say a company's data changed, read strictly (the route, route.ts, calls this for a
 * verified, deduplicated event; the read cache consumes the result through a DataChangeSink).
 *
 * The events and their shapes, from Codat's Platform spec (codatio/oas, yaml/Codat-Platform.yaml `webhooks:`;
 * the schemas used are vendored in openapi/codat/platform-webhooks.yaml):
 *
 *   read.completed, read.completed.initial   ReadCompletedWebhook: `payload.referenceCompany.id`,
 *                                             `payload.dataTypes[]: { connectionId, dataType, recordsModified,
 *                                             status, issues }` → the data types with `recordsModified: true`
 *                                             (none → "unchanged": nothing changed in Codat's cache)
 *   connection.* (deleted, disconnected,      ConnectionWebhook: `payload.referenceCompany.id`, `payload.connection`
 *   reconnected, created, connected, failed)  → every data type of the company ("*")
 *   company.deleted                           CompanyWebhook: `payload.id` is the company → "*"
 *   {dataType}.write.successful               DataTypeWriteWebhook (codatio/oas, yaml/Webhooks.yaml):
 *                                             `payload.referenceCompany.id` → that data type; `payload.type`
 *                                             (Create, Update, Delete, UploadAttachment), `payload.id` (the
 *                                             push operation key) and `payload.record.id` when given
 *
 * A shape that does not match (a missing company id, `dataTypes` not an array, an entry without a boolean
 * `recordsModified`, a `generatedDate` that is not a date) is "bad_shape": accepted (Codat must not retry it),
 * counted and ignored. Nothing here throws.
 */
import type { DataChange } from "./data-changes.js";

export type DataChangeReading =
  | { outcome: "changed"; change: DataChange }
  /** A read that modified no records: nothing to invalidate. */
  | { outcome: "unchanged" }
  /** An event type this reader handles, in a shape it does not. */
  | { outcome: "bad_shape" }
  /** Any other event type. */
  | { outcome: "not_a_change" };

/** A data type as Codat spells them (`customers`, `banking-accounts`, `commerce-orders`). */
const DATA_TYPE = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
/** An id used as a cache key: printable ASCII, no spaces (Codat's are UUIDs). */
const ID = /^[\x21-\x7e]{1,256}$/;
const WRITE_SUCCESSFUL = /^([A-Za-z][A-Za-z0-9-]{0,63})\.write\.successful$/;
/** A write's `payload.type` (Codat's: Create, Update, Delete, UploadAttachment). */
const WRITE_TYPE = /^[A-Za-z]{1,64}$/;
const CONNECTION_EVENT = /^connection\.[A-Za-z][A-Za-z0-9]{0,63}$/;
/** More data type summaries than Codat has data types: a shape, not a sync. */
const MAX_DATA_TYPES = 1_000;

/** The data change a verified webhook announces, if any. */
export function readDataChange(event: Record<string, unknown>): DataChangeReading {
  const eventType = event["eventType"];
  if (typeof eventType !== "string") return { outcome: "not_a_change" };
  const payload = event["payload"];
  const generated = event["generatedDate"];
  // Optional, but when given it must be a date (it feeds the invalidation-lag metric).
  const dateOk = generated === undefined || generated === null || (typeof generated === "string" && isDate(generated));
  const generatedDate = typeof generated === "string" && dateOk ? generated : undefined;

  if (eventType === "read.completed" || eventType === "read.completed.initial") {
    const companyId = referenceCompanyId(payload);
    const dataTypes = isRecord(payload) ? modifiedDataTypes(payload["dataTypes"]) : undefined;
    if (companyId === undefined || dataTypes === undefined || !dateOk) return { outcome: "bad_shape" };
    if (dataTypes.length === 0) return { outcome: "unchanged" };
    return { outcome: "changed", change: { kind: "read.completed", companyId, dataTypes, generatedDate } };
  }
  if (CONNECTION_EVENT.test(eventType)) {
    const companyId = referenceCompanyId(payload);
    const connection = isRecord(payload) ? payload["connection"] : undefined;
    if (companyId === undefined || !dateOk || (connection !== undefined && connection !== null && !isRecord(connection))) {
      return { outcome: "bad_shape" };
    }
    return { outcome: "changed", change: { kind: "connection", companyId, dataTypes: ["*"], generatedDate } };
  }
  if (eventType === "company.deleted") {
    const companyId = isRecord(payload) ? id(payload["id"]) : undefined;
    if (companyId === undefined || !dateOk) return { outcome: "bad_shape" };
    return { outcome: "changed", change: { kind: "company.deleted", companyId, dataTypes: ["*"], generatedDate } };
  }
  const write = WRITE_SUCCESSFUL.exec(eventType);
  if (write?.[1] !== undefined) {
    const companyId = referenceCompanyId(payload);
    const type = isRecord(payload) ? payload["type"] : undefined;
    const key = isRecord(payload) ? payload["id"] : undefined;
    if (companyId === undefined || !dateOk) return { outcome: "bad_shape" };
    if (
      (type !== undefined && type !== null && (typeof type !== "string" || !WRITE_TYPE.test(type))) ||
      (key != null && id(key) === undefined)
    ) {
      return { outcome: "bad_shape" };
    }
    const written = isRecord(payload) ? payload["record"] : undefined;
    const recordId = isRecord(written) ? id(written["id"]) : undefined;
    if (written != null && (!isRecord(written) || (written["id"] != null && recordId === undefined))) return { outcome: "bad_shape" };
    const change: DataChange = { kind: "write.successful", companyId, dataTypes: [write[1]], generatedDate };
    if (typeof type === "string") change.writeType = type;
    if (typeof key === "string") change.pushOperationKey = key;
    if (recordId !== undefined) change.recordId = recordId;
    return { outcome: "changed", change };
  }
  return { outcome: "not_a_change" };
}

/** The data types whose records were modified; undefined when the list or any entry is not Codat's shape. */
function modifiedDataTypes(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_DATA_TYPES) return undefined;
  const modified = new Set<string>();
  for (const entry of value) {
    if (!isRecord(entry)) return undefined;
    const dataType = entry["dataType"];
    const recordsModified = entry["recordsModified"];
    if (typeof dataType !== "string" || !DATA_TYPE.test(dataType) || typeof recordsModified !== "boolean") return undefined;
    if (recordsModified) modified.add(dataType);
  }
  return [...modified];
}

function referenceCompanyId(payload: unknown): string | undefined {
  if (!isRecord(payload)) return undefined;
  const company = payload["referenceCompany"];
  return isRecord(company) ? id(company["id"]) : undefined;
}

function id(value: unknown): string | undefined {
  return typeof value === "string" && ID.test(value) ? value : undefined;
}

/** An ISO 8601 date or date-time (Codat's DateTime; a zone-less one included). */
function isDate(text: string): boolean {
  return text.length <= 64 && /^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/i.test(text) && !Number.isNaN(Date.parse(text));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
