/**
 * The one place the simulator takes Codat's REST types from: the gateway's DTOs (src/codat/types.ts, picked from the
 * types `npm run codegen` generates from the vendored openapi/codat/). Type-only, so nothing of the gateway is
 * bundled into the simulator; its sources and tests import these names from here, never from ../../src/.
 */
export type * from "../../src/codat/types.js";
