/**
 * Operation limits, checked after parsing and validation and before execution (so a rejected operation costs
 * no upstream call): depth, aliases, directives and a cost that grows with list sizes. Token count is limited by
 * the parser itself (Apollo's `parseOptions.maxTokens`), body size by the HTTP layer.
 *
 * Cost: 1 per field; a list field's selection counts once per item it can return — its `first`/`last` argument
 * (Relay connections; the default page size when neither is given), the number of `representations` for
 * `_entities`, and LIST_FACTOR for other lists (addresses, contacts, attachments…). A connection's size counts
 * its items once: its `edges`/`nodes` lists do not multiply again. So
 * `customers(first: 500) { edges { node { contacts { phone { number } } } } }` costs about 500 × 5 × 5.
 *
 * Introspection (`__schema`, `__type`) is exempt from the operation's depth, alias and cost limits below it
 * (its depth has a bound of its own, MAX_INTROSPECTION_DEPTH), the way
 * graphql-armor's `ignoreIntrospection` does: graphql-js's own `getIntrospectionQuery()` is nested 15 deep (its
 * `ofType` chain), and Sandbox, codegen and IDEs must load the schema under the defaults. It is no bypass: only the
 * introspection subtree is exempt (the rest of an operation that also selects `__schema` is measured as usual),
 * an alias on an introspection field still counts, the subtree can only reach the schema (never Codat), and
 * graphql-js's `MaxIntrospectionDepthRule` (in the specified validation rules Apollo runs) already refuses the
 * recursive `fields { type { fields … } }` shapes that make introspection expensive.
 *
 * Fragments are measured once each and reused at every spread (cost is linear in the multiplier), so a
 * "fragment bomb" — fragments spreading each other twice, 2^n expansions from a tiny document — is measured in
 * linear time and rejected for what it would expand to.
 */
import type { ApolloServerPlugin } from "@apollo/server";
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  isUnionType,
  valueFromASTUntyped,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { ErrorCode } from "../errors.js";
import { DEFAULT_PAGE_SIZE } from "../pagination/connection.js";

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
}

/** Root fields whose subtrees read only the schema (see the module comment). */
const INTROSPECTION_FIELDS = new Set(["__schema", "__type"]);

/**
 * Depth bound of an introspection subtree: graphql-js's `getIntrospectionQuery()` needs 14 below `__schema`, the
 * clients that unroll `ofType` further (Apollo's, GraphiQL's) stay within 20. Deeper is never a real client.
 */
export const MAX_INTROSPECTION_DEPTH = 20;

/** Assumed length of a list field that has no size argument. */
export const LIST_FACTOR = 5;

interface Shape {
  /** Levels of fields below (and including) this selection set. */
  depth: number;
  aliases: number;
  directives: number;
}

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BadUserInput, http: { status: 400 } } });
}

class Measurer {
  /** The deepest introspection subtree seen by shape(), counted from its `__schema`/`__type` field. */
  introspectionDepth = 0;
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #shapes = new Map<string, Shape>();
  readonly #costs = new Map<string, number>();

  constructor(
    readonly schema: GraphQLSchema,
    document: DocumentNode,
    readonly variables: Record<string, unknown>,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(definition.name.value, definition);
    }
  }

  shape(selectionSet: SelectionSetNode): Shape {
    let depth = 0;
    let aliases = 0;
    let directives = 0;
    for (const selection of selectionSet.selections) {
      directives += selection.directives?.length ?? 0;
      let inner: Shape | undefined;
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases++;
        const below = selection.selectionSet ? this.shape(selection.selectionSet) : undefined;
        if (INTROSPECTION_FIELDS.has(selection.name.value)) {
          // Measured against its own, wider bound; its depth and aliases do not count towards the operation's.
          this.introspectionDepth = Math.max(this.introspectionDepth, 1 + (below?.depth ?? 0));
          inner = { depth: 1, aliases: 0, directives: below?.directives ?? 0 };
        } else {
          inner = { depth: 1 + (below?.depth ?? 0), aliases: below?.aliases ?? 0, directives: below?.directives ?? 0 };
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = this.shape(selection.selectionSet);
      } else {
        inner = this.#fragmentShape(selection.name.value);
      }
      depth = Math.max(depth, inner.depth);
      aliases += inner.aliases;
      directives += inner.directives;
    }
    return { depth, aliases, directives };
  }

  #fragmentShape(name: string): Shape {
    const known = this.#shapes.get(name);
    if (known) return known;
    // Validation rejects fragment cycles before this runs; the placeholder only guards this walk.
    this.#shapes.set(name, { depth: 0, aliases: 0, directives: 0 });
    const fragment = this.#fragments.get(name);
    const shape = fragment ? this.shape(fragment.selectionSet) : { depth: 0, aliases: 0, directives: 0 };
    this.#shapes.set(name, shape);
    return shape;
  }

  /** The cost of a selection set at multiplier 1 (multiply by the parent's list sizes). */
  cost(selectionSet: SelectionSetNode, parent: GraphQLCompositeType): number {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        total += 1;
        if (INTROSPECTION_FIELDS.has(selection.name.value)) continue;
        const fields: Record<string, GraphQLField<unknown, unknown> | undefined> =
          isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {};
        const field = fields[selection.name.value];
        if (!field || !selection.selectionSet) continue;
        const type = getNamedType(field.type);
        if (!(isObjectType(type) || isInterfaceType(type) || isUnionType(type))) continue;
        const args: Record<string, unknown> = {};
        for (const arg of selection.arguments ?? []) args[arg.name.value] = valueFromASTUntyped(arg.value, this.variables);
        const isList = isListType(getNullableType(field.type));
        const itemsOfConnection = isList && parent.name.endsWith("Connection");
        const multiplier = isConnectionField(field) || (isList && !itemsOfConnection) ? listSize(field, args) : 1;
        total += multiplier * this.cost(selection.selectionSet, type);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += this.cost(selection.selectionSet, this.#narrow(selection.typeCondition?.name.value, parent));
      } else {
        total += this.#fragmentCost(selection.name.value, parent);
      }
    }
    return total;
  }

  #fragmentCost(name: string, parent: GraphQLCompositeType): number {
    const fragment = this.#fragments.get(name);
    if (!fragment) return 0;
    const type = this.#narrow(fragment.typeCondition.name.value, parent);
    const key = `${name}\u0000${type.name}`;
    const known = this.#costs.get(key);
    if (known !== undefined) return known;
    this.#costs.set(key, 0);
    const value = this.cost(fragment.selectionSet, type);
    this.#costs.set(key, value);
    return value;
  }

  #narrow(typeName: string | undefined, parent: GraphQLCompositeType): GraphQLCompositeType {
    const type = typeName ? this.schema.getType(typeName) : undefined;
    return type && (isObjectType(type) || isInterfaceType(type) || isUnionType(type)) ? type : parent;
  }
}

/** Whether a field is a Relay connection (its size argument counts its items). */
function isConnectionField(field: GraphQLField<unknown, unknown>): boolean {
  return field.args.some((arg) => arg.name === "first") && field.args.some((arg) => arg.name === "last");
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

/** The estimated cost of an operation (see the module comment). */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): number {
  const root =
    operation.operation === "mutation"
      ? schema.getMutationType()
      : operation.operation === "subscription"
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  return root ? new Measurer(schema, document, variables).cost(operation.selectionSet, root) : 0;
}

export function checkOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  limits: OperationLimits,
): GraphQLError | undefined {
  const measurer = new Measurer(schema, document, variables);
  const { depth, aliases, directives } = measurer.shape(operation.selectionSet);
  const allDirectives = directives + (operation.directives?.length ?? 0);
  if (depth > limits.maxDepth) return limitError(`The operation is nested ${depth} levels deep; the limit is ${limits.maxDepth}.`);
  if (measurer.introspectionDepth > MAX_INTROSPECTION_DEPTH) {
    return limitError(`The introspection is nested ${measurer.introspectionDepth} levels deep; the limit is ${MAX_INTROSPECTION_DEPTH}.`);
  }
  if (aliases > limits.maxAliases) return limitError(`The operation uses ${aliases} aliases; the limit is ${limits.maxAliases}.`);
  if (allDirectives > limits.maxDirectives) {
    return limitError(`The operation uses ${allDirectives} directives; the limit is ${limits.maxDirectives}.`);
  }
  const total = operationCost(schema, document, operation, variables);
  if (total > limits.maxCost) {
    return limitError(`The operation's estimated cost is ${total}; the limit is ${limits.maxCost}. Ask for fewer items per page.`);
  }
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
