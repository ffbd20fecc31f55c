/**
 * The Codat simulator in its own process, for the benchmark (bench/run.ts starts it).
 *
 *   node --import tsx bench/simulator-process.ts [--latency MS]
 *
 * Prints `{"ready":true,"pid":…,"url":…}` and answers IPC requests:
 *   - `stats`  → `{ requests, byKind, downloads }`: requests received since start, in all and by what they read
 *                 (page, ids, customer, attachments, write, push operations, dataStatus, …; a running count: the simulator's
 *                 `requests` array is drained every 200 ms so it never grows without bound), and the download
 *                 records (`DownloadRecord` from codat-simulator) since the last `resetDownloads`;
 *   - `resetDownloads`;
 *   - `maxInFlight` (payload: company ids) → `{ [companyId]: n }`: the most requests in flight at once per
 *                 company since start or the last `resetMaxInFlight` (counted even though the 429 limit is lifted);
 *   - `resetMaxInFlight`;
 *   - `stop`   → closes the simulator and exits 0.
 *
 * For the cache benchmark (bench/cache.ts):
 *   - `--companies N` adds N more generated companies (`--customers` each, default 200) with the ids `benchCompanyId(i)`;
 *   - `--webhook-secret whsec_…` makes it announce pushes and syncs as Codat's signed webhooks to the URL set by
 *     `setWebhookUrl` (payload: the URL; none until then);
 *   - `sync` (payload `{ edits: [{ companyId, customerId?, customerName }], companyIds }`): the edits are made as in
 *     the accounting platform (`editCustomer`, no sync; no customerId = the company's first customer), then each
 *     company is synced, announced with read.completed → `{ edited: [{ companyId, customerId, customerName }],
 *     syncs: [{ id, companyId, modified }] }` (the sync ids are the events' ids);
 *   - `deliveries` (payload: event ids) → `{ [eventId]: status of the last attempt }` for those attempted so far.
 *
 * Besides the demo data it serves `SCALE_COMPANY_ID` (1,000 generated customers) for the scaling scenario.
 *
 * The per-company concurrency limit (429 beyond 10 in flight) is lifted: both sides are measured against an
 * upstream that never throttles, so a direct client that fans out is not penalised. The gateway still applies
 * its own per-company limiter (CODAT_MAX_CONCURRENCY_PER_COMPANY, default 10) as it would against Codat.
 */
import { parseArgs } from "node:util";
import { createScaleCompany, startSimulator } from "codat-simulator";
import { benchCompanyId } from "./lib/companies.js";
import { announceReady, serveIpc } from "./lib/ipc.js";

const { values } = parseArgs({
  options: {
    latency: { type: "string", default: "0" },
    companies: { type: "string", default: "0" },
    customers: { type: "string", default: "200" },
    "webhook-secret": { type: "string" },
  },
});
const whole = (name: "latency" | "companies" | "customers"): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${values[name]}`);
  return n;
};
const latencyMs = whole("latency");

let webhookUrl: string | undefined;
const webhookSecret = values["webhook-secret"];
const sim = await startSimulator({
  host: "127.0.0.1",
  port: 0,
  latencyMs,
  maxConcurrentPerCompany: 1_000_000,
  ...(webhookSecret === undefined ? {} : { webhooks: { url: () => webhookUrl, secret: webhookSecret } }),
});
// The scaling scenario pages up to 500 customers and looks up 200 by id: more than the demo company has.
sim.store.addCompany(createScaleCompany(1_000));
for (let i = 0; i < whole("companies"); i++) sim.store.addCompany(createScaleCompany(whole("customers"), benchCompanyId(i)));

interface SyncRequest {
  /** Without a customerId, the company's first customer (the first row of its first page). */
  edits?: { companyId: string; customerId?: string; customerName: string }[];
  companyIds?: string[];
}

let drained = 0;
/** Requests by kind (`requestKind`), a running count like `drained`. */
const drainedByKind: Record<string, number> = {};
const drain = (): void => {
  drained += sim.requests.length;
  for (const request of sim.requests) {
    const kind = requestKind(request.method, request.path, request.query);
    drainedByKind[kind] = (drainedByKind[kind] ?? 0) + 1;
  }
  sim.resetRequests();
};

/** What a Codat request read or wrote: a customers page, an id-list read (`query=id=…`), one customer, attachments, … */
function requestKind(method: string, path: string, query: Record<string, string>): string {
  if (method !== "GET") return /\/push\/customers/.test(path) || /\/data\/customers/.test(path) ? "write" : `${method} other`;
  if (/\/data\/customers$/.test(path)) return /^id=/.test(query["query"] ?? "") ? "ids" : "page";
  if (/\/attachments\/[^/]+\/download$/.test(path)) return "download";
  if (/\/attachments\/[^/]+$/.test(path)) return "attachment";
  if (/\/attachments$/.test(path)) return "attachments";
  if (/\/data\/customers\/[^/]+$/.test(path)) return "customer";
  if (/\/push\/[^/]+$/.test(path) || /\/push$/.test(path)) return "push operations";
  if (/\/dataStatus$/.test(path)) return "dataStatus";
  if (/\/connections(?:\/[^/]+)?$/.test(path)) return "connections";
  if (/\/options\//.test(path)) return "model";
  return "GET other";
}
const timer = setInterval(drain, 200);

serveIpc(async (type, payload) => {
  switch (type) {
    case "stats":
      drain();
      return {
        requests: drained,
        byKind: { ...drainedByKind },
        downloads: sim.downloads.map(({ attachmentId, size, bytesSent, completed, aborted }) => ({
          attachmentId,
          size,
          bytesSent,
          completed,
          aborted,
        })),
      };
    case "resetDownloads":
      sim.downloads.length = 0;
      return null;
    case "maxInFlight": {
      const ids = Array.isArray(payload) ? payload.map(String) : [];
      return Object.fromEntries(ids.map((id) => [id, sim.maxInFlight(id)]));
    }
    case "resetMaxInFlight":
      sim.resetMaxInFlight();
      return null;
    case "setWebhookUrl":
      webhookUrl = typeof payload === "string" ? payload : undefined;
      return null;
    case "sync": {
      const request = (payload ?? {}) as SyncRequest;
      const edited: { companyId: string; customerId: string; customerName: string }[] = [];
      for (const edit of request.edits ?? []) {
        const customers = sim.store.company(edit.companyId)?.customers;
        const customer = edit.customerId === undefined ? customers?.all()[0] : customers?.get(edit.customerId);
        if (customer === undefined) throw new Error(`no customer ${edit.customerId ?? "at all"} in ${edit.companyId}`);
        sim.editCustomer(edit.companyId, { ...customer, customerName: edit.customerName }, { sync: false });
        edited.push({ companyId: edit.companyId, customerId: customer.id, customerName: edit.customerName });
      }
      const syncs = (request.companyIds ?? []).map((companyId) => {
        const sync = sim.sync(companyId);
        return { id: sync.id, companyId, modified: sync.dataTypes.some((d) => d.recordsModified) };
      });
      return { edited, syncs };
    }
    case "deliveries": {
      const ids = new Set(Array.isArray(payload) ? payload.map(String) : []);
      const last: Record<string, number | string> = {};
      for (const d of sim.webhookDeliveries) if (ids.has(d.eventId)) last[d.eventId] = d.status ?? d.error ?? "pending";
      return last;
    }
    case "stop":
      clearInterval(timer);
      await sim.close();
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown request ${type}`);
  }
});
announceReady({ url: sim.url, latencyMs });
