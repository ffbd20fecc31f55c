/**
 * Codat's asynchronous push (create/update customer): the request answers at once with a `Pending` push
 * operation; after `pushDelayMs` the operation completes — `Success` (the customer is written, visible in list
 * and get), `Failed` (rule errors, forceUpdate conflict; nothing is written) or `TimedOut` — and the new state
 * is what `GET /companies/{id}/push/{key}` returns from then on.
 *
 * Outcome rules, checked at completion time in this order:
 *   1. `timeoutInMinutes * 60 000 <= pushDelayMs` → TimedOut (statusCode 504). With the default delay only
 *      `timeoutInMinutes=0` does this: it is the test hook for the TimedOut path.
 *   2. rule errors (validation.ts) → Failed, statusCode 400, `validation.errors`.
 *   3. update whose body has a `sourceModifiedDate` different from the stored one, without `forceUpdate=true`
 *      → Failed, statusCode 400, one `SourceModifiedDate` validation error (Codat's documented check).
 *   4. otherwise Success (statusCode 200) with one `Created`/`Modified` change.
 * Checking at completion (not at request time) matters for rule 3: another push may change the customer while
 * this one is pending, exactly as in the real platform.
 */
import { randomUUID } from "node:crypto";
import type { CodatCustomer } from "./codat-types.js";
import type { ValidationItem } from "./errors.js";
import type { RequestContext } from "./server.js";
import type { CompanyData, PushOperationRecord } from "./store.js";
import { SOURCE_MODIFIED_VALIDATOR, customerRuleErrors, isWritableCustomer, type CustomerDraft } from "./validation.js";

export interface CustomerPush {
  company: CompanyData;
  connectionId: string;
  /** "create": a new id is assigned; "update": the path's customer id (any id in the body is ignored). */
  kind: "create" | "update";
  customerId: string;
  draft: CustomerDraft;
  timeoutInMinutes: number | null;
  forceUpdate: boolean;
  /** Codat's `allowSyncOnPushComplete` (default true): a sync of the data type follows the push (syncs.ts). */
  allowSyncOnPushComplete: boolean;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Instant of a Codat date-time (a zone-less one read as UTC, as the query language does); NaN when unparseable. */
function instant(text: string): number {
  const zoned = /(?:Z|[+-]\d\d:?\d\d)$/i.test(text) || !text.includes("T") ? text : `${text}Z`;
  return Date.parse(zoned);
}

function sameSourceDate(a: string, b: string | null | undefined): boolean {
  if (typeof b !== "string") return false;
  const ta = instant(a);
  const tb = instant(b);
  return Number.isNaN(ta) || Number.isNaN(tb) ? a === b : ta === tb;
}

/**
 * Records a Pending push operation and schedules its completion; returns the JSON text of the
 * Create/UpdateCustomerResponse (the operation plus `data`, the customer as it will be written).
 */
export function startCustomerPush(ctx: RequestContext, push: CustomerPush): string {
  const customerId = push.kind === "create" ? randomUUID() : push.customerId;
  const operation: PushOperationRecord = {
    changes: null,
    dataType: "customers",
    companyId: push.company.id,
    pushOperationKey: randomUUID(),
    dataConnectionKey: push.connectionId,
    requestedOnUtc: iso(ctx.now()),
    timeoutInMinutes: push.timeoutInMinutes,
    // Codat still returns the deprecated field, so the simulator does too.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    timeoutInSeconds: push.timeoutInMinutes === null ? null : push.timeoutInMinutes * 60,
    status: "Pending",
    errorMessage: null,
    statusCode: 202,
  };
  push.company.pushOperations.upsert(operation);
  const response = JSON.stringify({ ...operation, data: { ...push.draft, id: customerId } });

  const delayMs = ctx.pushDelayMs;
  const complete = () => {
    completeCustomerPush(push, customerId, operation.pushOperationKey, ctx.now(), delayMs);
    // Every outcome is announced (webhooks.ts), as Codat's {dataType}.write.successful|unsuccessful, and followed
    // by a sync when allowed (syncs.ts).
    const done = push.company.pushOperations.get(operation.pushOperationKey);
    if (done && done.status !== "Pending") {
      ctx.pushCompleted?.(push.company, done, push.kind === "create" ? "Create" : "Update", push.allowSyncOnPushComplete);
    }
  };
  // Even with no delay the answer says Pending (as Codat's always does); the operation is done by the time
  // the client can poll it.
  if (delayMs <= 0) complete();
  else ctx.schedule(delayMs, complete);
  return response;
}

function completeCustomerPush(push: CustomerPush, customerId: string, key: string, nowMs: number, delayMs: number): void {
  const operations = push.company.pushOperations;
  const pending = operations.get(key);
  if (!pending || pending.status !== "Pending") return;
  const done = { ...pending, completedOnUtc: iso(nowMs) };
  const fail = (statusCode: number, errorMessage: string, errors: ValidationItem[]): void => {
    operations.upsert({ ...done, status: "Failed", statusCode, errorMessage, validation: { errors, warnings: [] } });
  };

  if (push.timeoutInMinutes !== null && push.timeoutInMinutes * 60_000 <= delayMs) {
    operations.upsert({
      ...done,
      status: "TimedOut",
      statusCode: 504,
      errorMessage: `The push operation did not complete within ${push.timeoutInMinutes} minute(s).`,
    });
    return;
  }

  const ruleErrors = customerRuleErrors(push.draft, customerId);
  if (ruleErrors.length > 0) {
    fail(400, "The customer failed validation; see validation.errors.", ruleErrors);
    return;
  }

  const existing: (CodatCustomer & { id: string }) | undefined = push.company.customers.get(customerId);
  if (push.kind === "update") {
    if (!existing) {
      fail(404, `No data available for customers with ID ${customerId}`, []);
      return;
    }
    const sent = push.draft["sourceModifiedDate"];
    if (!push.forceUpdate && typeof sent === "string" && !sameSourceDate(sent, existing.sourceModifiedDate)) {
      fail(400, "The customer has been modified in the source platform since it was last pulled.", [
        {
          itemId: customerId,
          message:
            `SourceModifiedDate ${sent} does not match the record's ${existing.sourceModifiedDate ?? "(none)"}: the record was ` +
            "modified in the source platform. Pull the latest data and retry, or set forceUpdate=true to overwrite it.",
          validatorName: SOURCE_MODIFIED_VALIDATOR,
        },
      ]);
      return;
    }
  }

  // A new record object (never a mutation): the store caches JSON and sort orders by identity.
  const stamp = iso(nowMs);
  const record: CustomerDraft = {
    ...push.draft,
    id: customerId,
    metadata: { isDeleted: false },
    modifiedDate: stamp,
    // The write changes the record in the platform too, so a later update carrying the old date conflicts.
    sourceModifiedDate: stamp,
  };
  if (!isWritableCustomer(record)) {
    fail(500, "The customer could not be written.", []);
    return;
  }
  push.company.customers.upsert(record);
  operations.upsert({
    ...done,
    status: "Success",
    statusCode: 200,
    changes: [
      { type: push.kind === "create" ? "Created" : "Modified", recordRef: { id: customerId, dataType: "customers" }, attachmentId: null },
    ],
    validation: { errors: [], warnings: [] },
  });
}
