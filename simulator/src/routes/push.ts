/**
 * Push (writes) and push operations: create/update customer (asynchronous, see push.ts), the company's push
 * operation history, and the create/update model (`options/customers`).
 */
import { SimHttpError } from "../errors.js";
import { customerPushOption } from "../pushOptions.js";
import { startCustomerPush } from "../push.js";
import { json, jsonText, type RequestContext, type Router } from "../server.js";
import { recordJson } from "../store.js";
import { parseCustomerBody } from "../validation.js";
import { boolParam, listPage, optionalIntParam, requireCompany, requireConnection } from "./common.js";

/** Codat's push bodies are small; 1 MiB is generous and keeps a runaway client from filling memory. */
const PUSH_BODY_LIMIT = 1024 * 1024;

async function pushParams(ctx: RequestContext) {
  const timeoutInMinutes = optionalIntParam(ctx, "timeoutInMinutes");
  // Codat's default: a sync of the data type runs once the push completes (syncs.ts), announced by read.completed.
  const allowSyncOnPushComplete = boolParam(ctx, "allowSyncOnPushComplete", true);
  const forceUpdate = boolParam(ctx, "forceUpdate", false);
  const body = await ctx.readBody(PUSH_BODY_LIMIT);
  // Checked here too: with an Idempotency-Key the body was already read (under the server's general limit).
  if (body.length > PUSH_BODY_LIMIT) throw new SimHttpError(413, "Request body too large.");
  const draft = parseCustomerBody(body);
  return { timeoutInMinutes, forceUpdate, allowSyncOnPushComplete, draft };
}

export function registerPushRoutes(router: Router): void {
  router.post("/companies/:companyId/connections/:connectionId/push/customers", async (ctx) => {
    const company = requireCompany(ctx);
    const connection = requireConnection(ctx, company);
    const { timeoutInMinutes, allowSyncOnPushComplete, draft } = await pushParams(ctx);
    const body = startCustomerPush(ctx, {
      company,
      connectionId: connection.id,
      kind: "create",
      customerId: "",
      draft,
      timeoutInMinutes,
      forceUpdate: false,
      allowSyncOnPushComplete,
    });
    return jsonText(200, body);
  });

  router.put("/companies/:companyId/connections/:connectionId/push/customers/:customerId", async (ctx) => {
    const company = requireCompany(ctx);
    const connection = requireConnection(ctx, company);
    const id = ctx.params["customerId"] ?? "";
    if (!company.customers.get(id)) throw new SimHttpError(404, `No data available for customers with ID ${id}`, "PublicApi");
    const { timeoutInMinutes, forceUpdate, allowSyncOnPushComplete, draft } = await pushParams(ctx);
    const body = startCustomerPush(ctx, {
      company,
      connectionId: connection.id,
      kind: "update",
      customerId: id,
      draft,
      timeoutInMinutes,
      forceUpdate,
      allowSyncOnPushComplete,
    });
    return jsonText(200, body);
  });

  router.get("/companies/:companyId/push", (ctx) => {
    const company = requireCompany(ctx);
    return listPage(ctx, company.pushOperations, `/companies/${company.id}/push`);
  });

  router.get("/companies/:companyId/push/:pushOperationKey", (ctx) => {
    const company = requireCompany(ctx);
    const key = ctx.params["pushOperationKey"] ?? "";
    // Keys are GUIDs the simulator generates in lower case; callers may echo them in any case.
    const operation = company.pushOperations.get(key.toLowerCase());
    if (!operation) throw new SimHttpError(404, `No push operation was found with key ${key}`, "PushApi");
    return jsonText(200, recordJson(operation));
  });

  router.get("/companies/:companyId/connections/:connectionId/options/customers", (ctx) => {
    const company = requireCompany(ctx);
    const connection = requireConnection(ctx, company);
    return json(200, customerPushOption(connection));
  });
}
