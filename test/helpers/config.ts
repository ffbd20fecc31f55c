import { ConfigError, parseConfig } from "../../src/config.js";

/** The problems parseConfig reports for `env`; empty when it is accepted. Any other failure is rethrown. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
