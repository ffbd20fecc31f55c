/**
 * Customer writes: validate the input, send Codat's push request, and turn the answer into a payload. Kept out
 * of the resolvers because it decides between data and errors (a Codat 400 with validation details is data
 * the frontend shows next to its form fields; any other failure is a coded error).
 */
import { randomUUID } from "node:crypto";
import { codatValidationOf, malformedResponse } from "../codat/errors.js";
import { firstProblem, validCustomer } from "../codat/validate.js";
import type { CodatCreateCustomerResponse, CodatCustomer, CodatUpdateCustomerResponse } from "../codat/types.js";
import type { GatewayContext } from "../context.js";
import type { CreateCustomerInput, PatchCustomerInput, UpdateCustomerInput } from "../__generated__/resolvers-types.js";
import { GraphQLError } from "graphql";
import { ErrorCode, badUserInput, gatewayError } from "../errors.js";
import { rejectGlobalIds } from "../ids/global-id.js";
import { callOptionsOf } from "../loaders/index.js";
import { toCodatCustomer, toCodatCustomerPatch } from "../mappers/customer-input.js";
import { toCustomer, type CustomerPushPayload } from "../models/index.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Codat sets no upper bound on a push's timeout; any positive Int is passed on for Codat to judge. */
function timeout(value: number | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1) {
    throw badUserInput("input.timeoutInMinutes must be a positive whole number of minutes.", "input.timeoutInMinutes");
  }
  return value;
}

/** Codes after which a create may or may not have reached Codat: the caller retries safely only with the same key. */
const AMBIGUOUS = new Set<unknown>([
  ErrorCode.UpstreamTimeout,
  ErrorCode.UpstreamUnavailable,
  ErrorCode.UpstreamError,
  ErrorCode.RateLimited,
]);

/**
 * Cancellation and writes: the operation's signal (ctx.signal: its client went away, or OPERATION_TIMEOUT_MS
 * passed) is checked before a write is sent and never given to the write itself. A write not yet sent when the
 * operation was cancelled is not sent (it fails with the cancellation's reason: nothing reached Codat). A write
 * already sent is never aborted half-way: it runs to completion (bounded by CODAT_DEADLINE_MS), and Codat keeps
 * it even though the client gets no answer. A retry of createCustomer with the same idempotencyKey replays
 * Codat's first answer (the same push operation); for updateCustomer the push operation is listed by
 * `pushOperations` for the company.
 */
function notCancelled(ctx: GatewayContext): void {
  ctx.signal?.throwIfAborted();
}

/** An ambiguous create failure carries the Idempotency-Key it was sent with, so a retry cannot create a second customer. */
function withIdempotencyKey(error: unknown, idempotencyKey: string): unknown {
  if (error instanceof GraphQLError && AMBIGUOUS.has(error.extensions["code"])) {
    return new GraphQLError(error.message, { extensions: { ...error.extensions, idempotencyKey } });
  }
  return error;
}

export async function createCustomer(ctx: GatewayContext, input: CreateCustomerInput): Promise<CustomerPushPayload> {
  rejectGlobalIds(input, ["companyId", "connectionId"], "input.");
  const idempotencyKey = input.idempotencyKey ?? randomUUID();
  if (!UUID.test(idempotencyKey)) {
    throw badUserInput("input.idempotencyKey must be a UUID (Codat's Idempotency-Key is a GUID).", "input.idempotencyKey");
  }
  // Ids are checked by the client (codat/paths.ts) before anything is sent; the body and options here.
  const body = toCodatCustomer(input.customer, "input.customer", input.customer.id ?? undefined);
  const timeoutInMinutes = timeout(input.timeoutInMinutes);

  notCancelled(ctx);
  // No signal: once sent, the write runs to completion even if the client goes away or the operation's deadline
  // passes (see notCancelled); a retry with the same idempotencyKey gets the same push operation.
  const response = await ctx.client
    .createCustomer(input.companyId, input.connectionId, body, {
      idempotencyKey,
      ...(timeoutInMinutes !== undefined ? { timeoutInMinutes } : {}),
      ...(input.allowSyncOnPushComplete != null ? { allowSyncOnPushComplete: input.allowSyncOnPushComplete } : {}),
    })
    .catch((error: unknown) =>
      refusal(withIdempotencyKey(error, idempotencyKey), input.companyId, input.connectionId, idempotencyKey, timeoutInMinutes),
    );
  if (isPayload(response)) return { ...response, idempotencyKey };

  const created = response.changes?.find((change) => change.type === "Created")?.recordRef?.id ?? response.data?.id;
  return payload(ctx, response, created, idempotencyKey);
}

export async function updateCustomer(ctx: GatewayContext, input: UpdateCustomerInput): Promise<CustomerPushPayload> {
  rejectGlobalIds(input, ["companyId", "connectionId", "customerId"], "input.");
  // The body's id as given (Codat's examples send one; Codat goes by the path), else the path's.
  const body = toCodatCustomer(input.customer, "input.customer", input.customer.id ?? input.customerId);
  return sendUpdate(ctx, input, body);
}

/**
 * A partial update: reads the current record (fresh from Codat, one call), refuses CONFLICT when the caller's
 * `modifiedDate` is not the current one, overlays the given fields and sends the whole record (sendUpdate).
 */
export async function patchCustomer(ctx: GatewayContext, input: PatchCustomerInput): Promise<CustomerPushPayload> {
  rejectGlobalIds(input, ["companyId", "connectionId", "customerId"], "input.");
  // Everything the caller sent is checked before the read: a bad patch costs no call.
  const patch = toCodatCustomerPatch(input.customer, "input.customer");
  timeout(input.timeoutInMinutes);
  notCancelled(ctx);
  const current = await ctx.current.getCustomer(input.companyId, input.customerId, callOptionsOf(ctx.signal));
  if (current === null) {
    throw gatewayError(ErrorCode.NotFound, `No customer ${input.customerId} in this company: nothing was sent.`, {
      extensions: { argumentName: "input.customerId" },
    });
  }
  if (input.modifiedDate != null && !sameInstant(input.modifiedDate, current.modifiedDate)) {
    throw gatewayError(
      ErrorCode.Conflict,
      "The customer changed since you read it (its modifiedDate differs): nothing was sent. Read it again, apply your change and retry.",
      {
        extensions: {
          argumentName: "input.modifiedDate",
          current: { modifiedDate: current.modifiedDate ?? null, sourceModifiedDate: current.sourceModifiedDate ?? null },
        },
      },
    );
  }
  const body: CodatCustomer = { ...current, ...patch, id: input.customerId };
  return sendUpdate(ctx, input, body);
}

/** Two Codat date-times name the same instant (or are the same text). */
function sameInstant(a: string, b: string | null | undefined): boolean {
  if (typeof b !== "string") return false;
  if (a === b) return true;
  const [ta, tb] = [Date.parse(a), Date.parse(b)];
  return !Number.isNaN(ta) && ta === tb;
}

type UpdateTarget = Pick<
  UpdateCustomerInput,
  "companyId" | "connectionId" | "customerId" | "forceUpdate" | "timeoutInMinutes" | "allowSyncOnPushComplete"
>;

async function sendUpdate(ctx: GatewayContext, input: UpdateTarget, body: CodatCustomer): Promise<CustomerPushPayload> {
  const timeoutInMinutes = timeout(input.timeoutInMinutes);

  notCancelled(ctx);
  // No signal: once sent, the write runs to completion even if the client goes away or the operation's deadline
  // passes (see notCancelled); its push operation is listed by pushOperations.
  const response = await ctx.client
    .updateCustomer(input.companyId, input.connectionId, input.customerId, body, {
      ...(input.forceUpdate != null ? { forceUpdate: input.forceUpdate } : {}),
      ...(timeoutInMinutes !== undefined ? { timeoutInMinutes } : {}),
      ...(input.allowSyncOnPushComplete != null ? { allowSyncOnPushComplete: input.allowSyncOnPushComplete } : {}),
    })
    .catch((error: unknown) => refusal(error, input.companyId, input.connectionId, randomUUID(), timeoutInMinutes));
  if (isPayload(response)) return response;
  return payload(ctx, response, input.customerId, null);
}

function isPayload(value: object): value is CustomerPushPayload {
  return "pushOperation" in value;
}

/**
 * The push operation, and the customer as written once the push has succeeded (null while it is pending or when it
 * failed); primes the request's loader.
 */
function payload(
  ctx: GatewayContext,
  response: CodatCreateCustomerResponse | CodatUpdateCustomerResponse,
  customerId: string | undefined,
  idempotencyKey: string | null,
): CustomerPushPayload {
  const { data, ...operation } = response;
  let customer = null;
  // Only a push that succeeded wrote the customer: a Pending or Failed one may never exist in Codat.
  if (customerId !== undefined && data && operation.status === "Success") {
    // The Sync for Expenses spec types `data` a little differently; it must still be an Accounting customer.
    const record = { ...data, id: customerId };
    if (!validCustomer(record)) throw malformedResponse(200, firstProblem(validCustomer));
    customer = toCustomer(response.companyId, record);
    const key = { companyId: response.companyId, id: customerId };
    ctx.loaders.customer.clear(key).prime(key, customer);
  }
  return { pushOperation: operation, customer, idempotencyKey };
}

/**
 * A Codat 400 carrying validation details becomes a payload (the refusal as a FAILED operation) so the
 * frontend can show the problems next to its fields; anything else stays an error.
 */
function refusal(
  error: unknown,
  companyId: string,
  connectionId: string,
  key: string,
  timeoutInMinutes: number | undefined,
): CustomerPushPayload {
  const validation = codatValidationOf(error);
  if (!validation) throw error;
  const now = new Date().toISOString();
  return {
    pushOperation: {
      pushOperationKey: key,
      companyId,
      dataConnectionKey: connectionId,
      dataType: "customers",
      status: "Failed",
      statusCode: 400,
      requestedOnUtc: now,
      completedOnUtc: now,
      timeoutInMinutes: timeoutInMinutes ?? null,
      errorMessage: error instanceof Error ? error.message : "Codat refused the request.",
      validation: { errors: validation.errors ?? [], warnings: validation.warnings ?? [] },
      changes: [],
    },
    customer: null,
    idempotencyKey: null,
  };
}
