/** `.env.example` is what a newcomer copies to `.env`: every value in it must be accepted as it stands. */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { configProblems } from "../helpers/config.js";

it("accepts .env.example as it is", () => {
  const env: Record<string, string> = {};
  for (const line of readFileSync(new URL("../../.env.example", import.meta.url), "utf8").split("\n")) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) env[match[1]] = match[2] ?? "";
  }
  expect(Object.keys(env).length).toBeGreaterThan(40);
  expect(configProblems(env)).toEqual([]);
});
