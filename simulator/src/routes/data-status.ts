/**
 * `GET /companies/{companyId}/dataStatus` (Platform API): per data type, when the last sync succeeded and its id.
 * The simulator has no sync schedule of its own: a data type's "sync" is its dataset's version (bumped by every
 * change), so the id changes exactly when the records do, and `lastSuccessfulSync` is when this route first saw it.
 */
import { createHash } from "node:crypto";
import type { Router } from "../server.js";
import { json } from "../server.js";
import type { Dataset } from "../store.js";
import { requireCompany } from "./common.js";

interface SeenSync {
  version: number;
  at: string;
}

const seen = new WeakMap<object, SeenSync>();

function syncOf<T extends object>(companyId: string, dataType: string, dataset: Dataset<T>) {
  let sync = seen.get(dataset);
  if (sync === undefined || sync.version !== dataset.version) {
    sync = { version: dataset.version, at: new Date().toISOString() };
    seen.set(dataset, sync);
  }
  const hex = createHash("sha256").update(`${companyId.toLowerCase()}:${dataType}:${sync.version}`).digest("hex");
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return {
    dataType,
    lastSuccessfulSync: sync.at,
    currentStatus: "Complete",
    latestSyncId: id,
    latestSuccessfulSyncId: id,
  };
}

export function registerDataStatusRoutes(router: Router): void {
  router.get("/companies/:companyId/dataStatus", (ctx) => {
    const company = requireCompany(ctx);
    return json(200, { customers: syncOf(company.id, "customers", company.customers) });
  });
}
