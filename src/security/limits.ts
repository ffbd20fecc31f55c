/**
 * Operation limits, checked before execution (so a rejected operation costs no upstream call).
 *
 * Depth, aliases and directives are graphql-armor's validation rules (`@escape.tech/graphql-armor-max-*`),
 * run by Apollo with the rest of validation, so they are checked once per distinct document (Apollo caches
 * validated documents). Depth ignores introspection (armor's `ignoreIntrospection`: graphql-js's own
 * `getIntrospectionQuery()` is nested 15 deep, and Sandbox, codegen and IDEs must load the schema under the
 * defaults); graphql-js's `MaxIntrospectionDepthRule` (in the specified rules Apollo runs) already refuses the
 * recursive `fields { type { fields … } }` shapes that make introspection expensive, and the token limit bounds
 * the rest. All three rules measure each fragment once, so a "fragment bomb" is measured in linear time.
 *
 * Tokens are limited by graphql-js's parser itself (Apollo's `parseOptions.maxLexicalTokens`): the same limit armor's
 * max-tokens enforces, without its second parse of every new document.
 *
 * Cost is ours, per request (it depends on variables), because armor's cost-limit prices a field by its depth
 * and cannot multiply by a list's size: 1 per field; a list field's selection counts once per item it can
 * return — its `first`/`last` argument (Relay connections; the default page size when neither is given), the
 * number of `representations` for `_entities` and of `ids` for `nodes`, and LIST_FACTOR for other lists (addresses, contacts,
 * attachments…). A connection's size counts its items once: its `edges`/`nodes` lists do not multiply again.
 * So `customers(first: 500) { edges { node { contacts { phone { number } } } } }` costs about 500 × 5 × 5.
 * Introspection costs 1 per root field. Fragments are priced once per type and reused at every spread. Variables
 * count as the operation runs with them: those sent, and the document's defaults for the others
 * (`effectiveVariables`), so `$f: Int = 500` costs what a literal 500 costs. The Codat calls an operation will
 * make are predicted beside the cost (codat-calls.ts).
 *
 * Every rejection is an HTTP 400 with code BAD_USER_INPUT (`limitRejection` gives armor's rejections that code
 * rather than Apollo's generic GRAPHQL_VALIDATION_FAILED).
 */
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  isCompositeType,
  valueFromASTUntyped,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import { ErrorCode } from "../errors.js";
import { DEFAULT_PAGE_SIZE } from "../pagination/connection.js";

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
  /** MAX_CODAT_CALLS_PER_OPERATION: most Codat calls an operation is predicted to make (unset: not limited). */
  maxCodatCalls?: number | undefined;
}

/** Root fields whose subtrees read only the schema: priced 1 each. */
const INTROSPECTION_FIELDS = new Set(["__schema", "__type"]);

/** Assumed length of a list field that has no size argument. */
export const LIST_FACTOR = 5;

/** A request refused by an operation limit (an HTTP 400 with code BAD_USER_INPUT). */
export class OperationLimitError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: ErrorCode.BadUserInput, http: { status: 400 } } });
    this.name = "OperationLimitError";
  }
}

/** Armor's rules report through this (rather than throw), so validation goes on and reports every problem. */
function reportLimit(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(new OperationLimitError(error.message.replace(/^Syntax Error: /, "")));
}

/** graphql-armor's depth, alias and directive rules, for Apollo's `validationRules`. */
export function operationShapeRules(limits: OperationLimits): ValidationRule[] {
  const rejection = { propagateOnRejection: false, onReject: [reportLimit], exposeLimits: true };
  return [
    // Depth counts fields: fragments and inline fragments add no level of their own.
    maxDepthRule({ n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...rejection }),
    // No allow-list: armor lets aliases of `__typename` through by default, and they cost as much as any other.
    maxAliasesRule({ n: limits.maxAliases, allowList: [], ...rejection }),
    maxDirectivesRule({ n: limits.maxDirectives, ...rejection }),
  ];
}

/** For formatError: Apollo reports a validation rule's error as GRAPHQL_VALIDATION_FAILED; a limit is BAD_USER_INPUT. */
export function limitRejection(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  // A limit's error directly (armor's rules), or wrapped by graphql-js (a JSON literal refused in validation).
  let cause: unknown = error instanceof GraphQLError ? error.originalError : undefined;
  for (let hops = 0; hops < 3 && !(cause instanceof OperationLimitError); hops++) {
    cause = cause instanceof GraphQLError ? cause.originalError : undefined;
  }
  if (!(cause instanceof OperationLimitError)) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.BadUserInput } };
}

class CostMeter {
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
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
        if (!isCompositeType(type)) continue;
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
    return narrowedType(this.schema, typeName, parent);
  }
}

/** The type a fragment or inline fragment narrows its parent to (the parent when it names none, or none known). */
export function narrowedType(schema: GraphQLSchema, typeName: string | undefined, parent: GraphQLCompositeType): GraphQLCompositeType {
  const type = typeName ? schema.getType(typeName) : undefined;
  return type && isCompositeType(type) ? type : parent;
}

/** Whether a field is a Relay connection (its size argument counts its items). */
function isConnectionField(field: GraphQLField<unknown, unknown>): boolean {
  return field.args.some((arg) => arg.name === "first") && field.args.some((arg) => arg.name === "last");
}

/** The items a list field returns: its `first`/`last`/`pageSize`, its `representations` or `ids`, else LIST_FACTOR. */
export function listSize(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number {
  for (const name of ["first", "last", "pageSize"]) {
    const value = args[name];
    if (typeof value === "number") return Math.max(value, 0);
  }
  if (isConnectionField(field)) return DEFAULT_PAGE_SIZE;
  for (const name of ["representations", "ids"]) {
    const list = args[name];
    if (Array.isArray(list)) return list.length;
  }
  return LIST_FACTOR;
}

/** The variables an operation runs with: those sent, and the document's defaults for the others. */
export function effectiveVariables(operation: OperationDefinitionNode, variables: Record<string, unknown>): Record<string, unknown> {
  const definitions = operation.variableDefinitions ?? [];
  if (!definitions.some((definition) => definition.defaultValue !== undefined)) return variables;
  const effective: Record<string, unknown> = { ...variables };
  for (const definition of definitions) {
    const name = definition.variable.name.value;
    if (definition.defaultValue !== undefined && effective[name] === undefined) {
      effective[name] = valueFromASTUntyped(definition.defaultValue);
    }
  }
  return effective;
}

/** The estimated cost of an operation (see the module comment). */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): number {
  const root = schema.getRootType(operation.operation);
  return root ? new CostMeter(schema, document, effectiveVariables(operation, variables)).cost(operation.selectionSet, root) : 0;
}

/** The cost check (depth, aliases and directives are validation rules: `operationShapeRules`). */
export function checkOperationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  limits: Pick<OperationLimits, "maxCost">,
): OperationLimitError | undefined {
  const total = operationCost(schema, document, operation, variables);
  if (total <= limits.maxCost) return undefined;
  return new OperationLimitError(
    `The operation's estimated cost is ${total}; the limit is ${limits.maxCost}. Ask for fewer items per page.`,
  );
}
