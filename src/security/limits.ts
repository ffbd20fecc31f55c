/**
 * Operation limits, checked after parsing and validation and before execution (so a rejected operation costs
 * no upstream call): depth, aliases, directives and a cost that grows with list sizes. Token count is limited by
 * the parser itself (Apollo's `parseOptions.maxTokens`), body size by the HTTP layer.
 *
 * Cost: 1 per field; a list field's selection counts once per item it can return — its `first`/`last` argument
 * (Relay connections; the default page size when neither is given), the number of `representations` for
 * `_entities`, and LIST_FACTOR for other lists (addresses, contacts, attachments…). So
 * `customers(first: 500) { edges { node { contacts { phone { number } } } } }` costs about 500 × 5 × 5.
 */
import type { ApolloServerPlugin } from "@apollo/server";
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isListType,
  valueFromASTUntyped,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  isObjectType,
  isInterfaceType,
  isUnionType,
  type GraphQLCompositeType,
} from "graphql";
import { DEFAULT_PAGE_SIZE } from "../pagination/connection.js";
import { ErrorCode } from "../errors.js";

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
}

/** Assumed length of a list field that has no size argument. */
export const LIST_FACTOR = 5;

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BadUserInput, http: { status: 400 } } });
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

/** Depth, alias and directive counts over the selection (fragments expanded once per spread). */
function measure(selectionSet: SelectionSetNode, walk: Walk, depth: number, seen: Set<string>) {
  let maxDepth = depth;
  let aliases = 0;
  let directives = 0;
  for (const selection of selectionSet.selections) {
    directives += selection.directives?.length ?? 0;
    if (selection.kind === Kind.FIELD) {
      if (selection.alias) aliases++;
      if (selection.selectionSet) {
        const inner = measure(selection.selectionSet, walk, depth + 1, seen);
        maxDepth = Math.max(maxDepth, inner.maxDepth);
        aliases += inner.aliases;
        directives += inner.directives;
      }
    } else {
      const set =
        selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : walk.fragments.get(selection.name.value)?.selectionSet;
      // Validation already rejected fragment cycles; `seen` only guards this walk.
      const key = selection.kind === Kind.FRAGMENT_SPREAD ? selection.name.value : undefined;
      if (!set || (key && seen.has(key))) continue;
      if (key) seen.add(key);
      const inner = measure(set, walk, depth, seen);
      if (key) seen.delete(key);
      maxDepth = Math.max(maxDepth, inner.maxDepth);
      aliases += inner.aliases;
      directives += inner.directives;
    }
  }
  return { maxDepth, aliases, directives };
}

function listSize(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number {
  for (const name of ["first", "last"]) {
    const value = args[name];
    if (typeof value === "number") return Math.max(value, 0);
  }
  if (isConnectionField(field)) return DEFAULT_PAGE_SIZE;
  const representations = args["representations"];
  if (Array.isArray(representations)) return representations.length;
  return LIST_FACTOR;
}

/** Whether a field's arguments make it a connection (its items are counted by the size, not the field). */
function isConnectionField(field: GraphQLField<unknown, unknown>): boolean {
  return field.args.some((arg) => arg.name === "first") && field.args.some((arg) => arg.name === "last");
}

function cost(selectionSet: SelectionSetNode, parent: GraphQLCompositeType, walk: Walk, multiplier: number, seen: Set<string>): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {};
      const field = (fields as Record<string, GraphQLField<unknown, unknown> | undefined>)[selection.name.value];
      total += multiplier;
      if (!field || !selection.selectionSet) continue;
      const args: Record<string, unknown> = {};
      for (const arg of selection.arguments ?? []) args[arg.name.value] = valueFromASTUntyped(arg.value, walk.variables);
      // A connection's size (first/last) counts its items once: its edges/nodes lists do not multiply again.
      const isList = isListType(getNullableType(field.type));
      const itemsOfConnection = isList && parent.name.endsWith("Connection");
      const inner = isConnectionField(field) || (isList && !itemsOfConnection) ? multiplier * listSize(field, args) : multiplier;
      const type = getNamedType(field.type);
      if (isObjectType(type) || isInterfaceType(type) || isUnionType(type)) {
        total += cost(selection.selectionSet, type, walk, inner, seen);
      }
    } else {
      const set =
        selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : walk.fragments.get(selection.name.value)?.selectionSet;
      const condition =
        selection.kind === Kind.INLINE_FRAGMENT
          ? selection.typeCondition?.name.value
          : walk.fragments.get(selection.name.value)?.typeCondition.name.value;
      const key = selection.kind === Kind.FRAGMENT_SPREAD ? selection.name.value : undefined;
      if (!set || (key && seen.has(key))) continue;
      const type = condition ? walk.schema.getType(condition) : parent;
      if (!type || !(isObjectType(type) || isInterfaceType(type) || isUnionType(type))) continue;
      if (key) seen.add(key);
      total += cost(set, type, walk, multiplier, seen);
      if (key) seen.delete(key);
    }
  }
  return total;
}

/** The estimated cost of an operation (see the module comment). */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const root: GraphQLObjectType | null | undefined =
    operation.operation === "mutation" ? schema.getMutationType() : operation.operation === "subscription" ? schema.getSubscriptionType() : schema.getQueryType();
  if (!root) return 0;
  return cost(operation.selectionSet, root, { schema, fragments, variables }, 1, new Set());
}

export function checkOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  limits: OperationLimits,
): GraphQLError | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const walk: Walk = { schema, fragments, variables };
  const { maxDepth, aliases, directives } = measure(operation.selectionSet, walk, 1, new Set());
  const operationDirectives = operation.directives?.length ?? 0;
  if (maxDepth > limits.maxDepth) return limitError(`The operation is nested ${maxDepth} levels deep; the limit is ${limits.maxDepth}.`);
  if (aliases > limits.maxAliases) return limitError(`The operation uses ${aliases} aliases; the limit is ${limits.maxAliases}.`);
  if (directives + operationDirectives > limits.maxDirectives) {
    return limitError(`The operation uses ${directives + operationDirectives} directives; the limit is ${limits.maxDirectives}.`);
  }
  const total = operationCost(schema, document, operation, variables);
  if (total > limits.maxCost) return limitError(`The operation's estimated cost is ${total}; the limit is ${limits.maxCost}. Ask for fewer items per page.`);
  return undefined;
}

export function operationLimitsPlugin(limits: OperationLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const error = checkOperation(schema, document, operation, request.variables ?? {}, limits);
          if (error) throw error;
        },
      };
    },
  };
}
