/** Every scenario, in run order. `npm run bench -- --only customers-page,customers-by-id` picks some. */
import { customersById } from "./customers-by-id.js";
import { customersPage } from "./customers-page.js";
import { download } from "./download.js";
import { scaling } from "./scaling.js";
import { upstreamCost } from "./upstream-cost.js";
import type { Scenario } from "./types.js";

export const scenarios: Scenario[] = [customersPage, customersById, download, scaling, upstreamCost];
