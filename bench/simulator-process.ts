/**
 * The Codat simulator in its own process, for the benchmark (bench/run.ts starts it).
 *
 *   node --import tsx bench/simulator-process.ts [--latency MS]
 *
 * Prints `{"ready":true,"pid":…,"url":…}` and answers IPC requests:
 *   - `stats`  → `{ requests, downloads }`: requests received since start (a running count: the simulator's
 *                 `requests` array is drained every 200 ms so it never grows without bound), and the download
 *                 records (`DownloadRecord` from codat-simulator) since the last `resetDownloads`;
 *   - `resetDownloads`;
 *   - `maxInFlight` (payload: company ids) → `{ [companyId]: n }`: the most requests in flight at once per
 *                 company since start or the last `resetMaxInFlight` (counted even though the 429 limit is lifted);
 *   - `resetMaxInFlight`;
 *   - `stop`   → closes the simulator and exits 0.
 *
 * Besides the demo data it serves `SCALE_COMPANY_ID` (1,000 generated customers) for the scaling scenario.
 *
 * The per-company concurrency limit (429 beyond 10 in flight) is lifted: both sides are measured against an
 * upstream that never throttles, so a direct client that fans out is not penalised. The gateway still applies
 * its own per-company limiter (CODAT_MAX_CONCURRENCY_PER_COMPANY, default 10) as it would against Codat.
 */
import { parseArgs } from "node:util";
import { createScaleCompany, startSimulator } from "codat-simulator";
import { announceReady, serveIpc } from "./lib/ipc.js";

const { values } = parseArgs({ options: { latency: { type: "string", default: "0" } } });
const latencyMs = Number(values.latency);
if (!Number.isInteger(latencyMs) || latencyMs < 0) throw new Error(`--latency must be a whole number of ms, got ${values.latency}`);

const sim = await startSimulator({ host: "127.0.0.1", port: 0, latencyMs, maxConcurrentPerCompany: 1_000_000 });
// The scaling scenario pages up to 500 customers and looks up 200 by id: more than the demo company has.
sim.store.addCompany(createScaleCompany(1_000));

let drained = 0;
const drain = (): void => {
  drained += sim.requests.length;
  sim.resetRequests();
};
const timer = setInterval(drain, 200);

serveIpc(async (type, payload) => {
  switch (type) {
    case "stats":
      drain();
      return {
        requests: drained,
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
