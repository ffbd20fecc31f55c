/**
 * An operation's estimate, checked before it runs: its cost (limits.ts: the items and fields it can return) and
 * the Codat calls it will make (codat-calls.ts). Either over its limit refuses the operation with
 * BAD_USER_INPUT naming the estimate, before any Codat call. A client sees the estimate of its operation in
 * the response's `extensions.cost` when it asks (a request extension `"cost": true`, see docs/operations.md).
 */
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from "graphql";
import { predictCodatCalls } from "./codat-calls.js";
import { OperationLimitError, operationCost } from "./limits.js";

export interface OperationEstimate {
  /** The estimated cost (MAX_QUERY_COST). */
  cost: number;
  /** The predicted Codat calls (MAX_CODAT_CALLS_PER_OPERATION). */
  codatCalls: number;
}

export interface EstimateLimits {
  maxCost: number;
  /** Unset: calls are not limited (a gateway built without a configuration). */
  maxCodatCalls?: number | undefined;
}

export function estimateOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): OperationEstimate {
  return {
    cost: operationCost(schema, document, operation, variables),
    codatCalls: predictCodatCalls(schema, document, operation, variables),
  };
}

/** The refusal of an estimate over a limit; undefined when it is within both. */
export function checkEstimate(estimate: OperationEstimate, limits: EstimateLimits): OperationLimitError | undefined {
  if (limits.maxCodatCalls !== undefined && estimate.codatCalls > limits.maxCodatCalls) {
    return new OperationLimitError(
      `The operation would make an estimated ${estimate.codatCalls} Codat calls; the limit is ${limits.maxCodatCalls} per operation. Split it into smaller operations.`,
    );
  }
  if (estimate.cost > limits.maxCost) {
    return new OperationLimitError(
      `The operation's estimated cost is ${estimate.cost}; the limit is ${limits.maxCost}. Ask for fewer items per page.`,
    );
  }
  return undefined;
}

/** What `extensions.cost` reports. */
export function costReport(estimate: OperationEstimate, limits: EstimateLimits): Record<string, number> {
  return {
    estimated: estimate.cost,
    limit: limits.maxCost,
    codatCalls: estimate.codatCalls,
    ...(limits.maxCodatCalls !== undefined ? { codatCallsLimit: limits.maxCodatCalls } : {}),
  };
}
