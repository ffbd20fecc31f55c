/**
 * The embedded Codat simulator: a local, deterministic stand-in for Codat's customer REST APIs. `npm start`
 * runs it in-process when no credentials are configured; tests and benchmarks use it as the upstream.
 *
 * Extending it: write `registerXRoutes(router: Router)` in `routes/` (handlers get a `RequestContext` with the
 * store, params, query and `readBody()`, and return a `SimResponse` or throw `SimHttpError`), then add it to
 * `createRouter()`. Auth, faults, rate limiting, latency and recording apply to every route automatically.
 */
import { createDemoStore } from "./data.js";
import type { Fault } from "./faults.js";
import { registerConnectionRoutes } from "./routes/connections.js";
import { registerCustomerRoutes } from "./routes/customers.js";
import { Router, SimulatorState, createRequestListener, listen, type RecordedRequest } from "./server.js";
import type { SimulatorStore } from "./store.js";

export {
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  DEMO_CUSTOMER_COUNT,
  SECOND_COMPANY_ID,
  SECOND_CONNECTION_ID,
  SECOND_CUSTOMER_COUNT,
  EMPTY_COMPANY_ID,
  EMPTY_CONNECTION_ID,
  AWKWARD_CUSTOMER_ID,
  ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  LARGE_ATTACHMENT_SIZE,
  createDemoStore,
} from "./data.js";
export type { Fault } from "./faults.js";
export type { RecordedRequest, RequestContext, RouteHandler, SimResponse } from "./server.js";
export { Router, SimulatorState, createRequestListener, json, jsonText } from "./server.js";
export { SimHttpError, errorMessage, newCorrelationId } from "./errors.js";
export { SimulatorStore, Dataset, type CompanyData, type AttachmentRecord, type CodatConnection } from "./store.js";
export { compileQuery, compileOrderBy, QueryError, MAX_QUERY_LENGTH, type DatasetSchema, type FieldSchema } from "./query.js";

export interface SimulatorOptions {
  /** Interface to listen on; default "127.0.0.1". */
  host?: string;
  /** Port; default 0 (any free port). */
  port?: number;
  /** Artificial latency added to every response (benchmarks); default 0. */
  latencyMs?: number;
  /** In-flight requests allowed per company (Codat's limit is 10); beyond it: 429 + Retry-After. */
  maxConcurrentPerCompany?: number;
  /** When set, requests must carry `Authorization: Basic base64(apiKey)`, else 401 ErrorMessage. */
  apiKey?: string;
}

export interface Simulator {
  /** Base URL, e.g. "http://127.0.0.1:40123". */
  url: string;
  /** Every request received, in order (faulted ones included). */
  requests: RecordedRequest[];
  resetRequests(): void;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** The in-memory data, so tests can read the expected full lists. */
  store: SimulatorStore;
  /** Closes the server and destroys all sockets (hung requests and streams included). */
  close(): Promise<void>;
}

/** The router with every simulated Codat endpoint. */
export function createRouter(): Router {
  const router = new Router();
  registerCustomerRoutes(router);
  registerConnectionRoutes(router);
  return router;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const store = createDemoStore();
  const state = new SimulatorState();
  const listener = createRequestListener(
    {
      store,
      router: createRouter(),
      latencyMs: options.latencyMs ?? 0,
      maxConcurrentPerCompany: options.maxConcurrentPerCompany ?? 10,
      apiKey: options.apiKey,
    },
    state,
  );
  const running = await listen(listener, state, options.host ?? "127.0.0.1", options.port ?? 0);
  return {
    url: running.url,
    // A getter, so resetRequests() (which empties the array in place) and `sim.requests` never diverge.
    get requests() {
      return state.requests;
    },
    resetRequests() {
      state.requests.length = 0;
    },
    injectFault(fault) {
      state.faults.add(fault);
    },
    clearFaults() {
      state.faults.clear();
    },
    store,
    close: () => running.close(),
  };
}
