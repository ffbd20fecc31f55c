/**
 * What validating Codat's answers costs, next to parsing them: one 20-customer page from the simulator, parsed
 * and validated 20 000 times each (`src/codat/validate.ts`, compiled from the vendored OpenAPI schemas).
 *
 *   npm run build && node bench/validation-cost.mjs
 */
const { validCustomersPage } = await import("../dist/codat/validate.js");
const simulator = await import("../simulator/dist/index.js");

const sim = await simulator.startSimulator();
const response = await fetch(`${sim.url}/companies/${simulator.DEMO_COMPANY_ID}/data/customers?page=1&pageSize=20`);
const text = await response.text();
await sim.close();
const page = JSON.parse(text);
if (!validCustomersPage(page) || page.results.length !== 20) throw new Error("expected a valid 20-customer page");

const ROUNDS = 20_000;
const perRound = (work) => {
  const started = performance.now();
  for (let i = 0; i < ROUNDS; i++) work();
  return ((performance.now() - started) / ROUNDS) * 1000;
};
const parse = perRound(() => JSON.parse(text));
const validate = perRound(() => validCustomersPage(page));
console.log(
  `20-customer page: JSON.parse ${parse.toFixed(1)} µs, validation ${validate.toFixed(1)} µs (${((validate / parse) * 100).toFixed(0)}% of the parse)`,
);
