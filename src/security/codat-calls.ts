/**
 * The Codat calls an operation will make, predicted before it runs, the way the loaders batch them
 * (src/loaders/): an operation predicted to need more than MAX_CODAT_CALLS_PER_OPERATION calls is refused
 * BAD_USER_INPUT, naming the estimate, before any call.
 *
 *   - `customers`, `pushOperations` (a list page): 1 call from the start (`first` alone), 2 for a window that may
 *     straddle two Codat pages (`after`/`before`), 3 for `last` without `before` (a probe learns the total first);
 *   - customers by id (`customer`, `node`/`nodes` of Customer ids, `_entities` Customer representations): batched
 *     as the customer loader does — one DataLoader batch per CUSTOMER_BATCH_SIZE keys, within it one list call
 *     per company per `id=a||id=b` query under Codat's length limit (49 UUIDs), one call per id that cannot be
 *     embedded in a query; repeated keys count once;
 *   - every other `node`/`nodes` id and `_entities` representation: 1 call each (attachments, push operations,
 *     connections are read one by one); ids and representations that cannot be decoded fail alone with no call;
 *   - `Customer.attachments`: 1 call per parent customer (× the parent list's size);
 *   - aliases of a loader-backed field with the same arguments on the same parent count once (the loaders
 *     deduplicate them);
 *   - `customerAttachment`, `pushOperation`, `connections`, `customerCreateUpdateModel`, each mutation field and
 *     the subscription: 1 call each (× the parent list's size where nested).
 *
 * Sizes and values come from the variables sent, and from the document's defaults for those not sent
 * (`effectiveVariables`), so `$f: Int = 500` is priced like a literal 500. An estimate is an upper bound in
 * shape but not in retries: a retried call is the client's own business (its budget counts it).
 */
import {
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
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { fromGlobalId } from "../ids/global-id.js";
import { CUSTOMER_BATCH_SIZE, idQueries, isEmbeddableId } from "../loaders/customers.js";
import { effectiveVariables, listSize, narrowedType } from "./limits.js";

/** A customer looked up by id: its company (lower-cased; a unique placeholder when unknown) and its id. */
interface CustomerLookup {
  company: string;
  id: string;
}

/** Calls made per item of the parent list, and the customer lookups (batched across the whole operation). */
interface Prediction {
  calls: number;
  lookups: CustomerLookup[];
}

/** Fields that make one Codat call each time they resolve. */
const ONE_CALL_FIELDS = new Set([
  "Query.customerAttachment",
  "Query.pushOperation",
  "Query.connections",
  "Query.customerCreateUpdateModel",
  "Customer.attachments",
  "Mutation.createCustomer",
  "Mutation.updateCustomer",
  "Subscription.pushOperationUpdated",
]);

/** Fields whose calls go through a deduplicating loader (the same arguments on the same parent: one call). */
const DEDUPLICATED_FIELDS = new Set([
  "Query.customerAttachment",
  "Query.pushOperation",
  "Query.customers",
  "Query.pushOperations",
  "Customer.attachments",
]);

/** List pages (Relay connections over a Codat list). */
const LIST_FIELDS = new Set(["Query.customers", "Query.pushOperations"]);

class CallPredictor {
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #memo = new Map<string, Prediction>();
  #unknown = 0;

  constructor(
    readonly schema: GraphQLSchema,
    document: DocumentNode,
    readonly variables: Record<string, unknown>,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(definition.name.value, definition);
    }
  }

  /** The calls of a selection set at multiplier 1 (multiply by the parent's list sizes). */
  predict(selectionSet: SelectionSetNode, parent: GraphQLCompositeType): Prediction {
    const out: Prediction = { calls: 0, lookups: [] };
    const add = (inner: Prediction, times: number) => {
      out.calls += inner.calls * times;
      // Lookups happen at the root (customer, node, nodes, _entities), where the multiplier is 1; a repeated
      // key is one loader key, so they are not multiplied.
      for (const lookup of inner.lookups) out.lookups.push(lookup);
    };
    // The loaders deduplicate: the same field with the same arguments on the same parent (aliases) is one call.
    const seen = new Set<string>();
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const fields: Record<string, GraphQLField<unknown, unknown> | undefined> =
          isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {};
        const field = fields[selection.name.value];
        if (!field) continue;
        const args: Record<string, unknown> = {};
        for (const arg of selection.arguments ?? []) args[arg.name.value] = valueFromASTUntyped(arg.value, this.variables);
        const coordinate = `${parent.name}.${field.name}`;
        const key = DEDUPLICATED_FIELDS.has(coordinate) ? `${coordinate}${JSON.stringify(args)}` : undefined;
        if (key === undefined || !seen.has(key)) add(this.#ownCalls(coordinate, args), 1);
        if (key !== undefined) seen.add(key);
        if (!selection.selectionSet) continue;
        const type = getNamedType(field.type);
        if (!isCompositeType(type)) continue;
        const isList = isListType(getNullableType(field.type));
        const itemsOfConnection = isList && parent.name.endsWith("Connection");
        const isConnection = field.args.some((a) => a.name === "first") && field.args.some((a) => a.name === "last");
        const multiplier = isConnection || (isList && !itemsOfConnection) ? listSize(field, args) : 1;
        add(this.predict(selection.selectionSet, type), multiplier);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        add(this.predict(selection.selectionSet, this.#narrow(selection.typeCondition?.name.value, parent)), 1);
      } else {
        add(this.#fragment(selection.name.value, parent), 1);
      }
    }
    return out;
  }

  /** The calls a field makes itself (not its selection's). */
  #ownCalls(coordinate: string, args: Record<string, unknown>): Prediction {
    if (ONE_CALL_FIELDS.has(coordinate)) return { calls: 1, lookups: [] };
    if (LIST_FIELDS.has(coordinate)) return { calls: listPageCalls(args), lookups: [] };
    switch (coordinate) {
      case "Query.customer":
        return { calls: 0, lookups: [this.#lookup(args["companyId"], args["customerId"])] };
      case "Query.node":
        return this.#ids([args["id"]]);
      case "Query.nodes":
        return this.#ids(Array.isArray(args["ids"]) ? args["ids"] : []);
      case "Query._entities":
        return this.#representations(Array.isArray(args["representations"]) ? args["representations"] : []);
      default:
        return { calls: 0, lookups: [] };
    }
  }

  #lookup(companyId: unknown, id: unknown): CustomerLookup {
    return {
      company: typeof companyId === "string" ? companyId.toLowerCase() : `\u0000${String(this.#unknown++)}`,
      id: typeof id === "string" ? id : `\u0000${String(this.#unknown++)}`,
    };
  }

  /** Global ids: customers batch; any other object is one call; an id that does not decode fails alone. */
  #ids(ids: readonly unknown[]): Prediction {
    const out: Prediction = { calls: 0, lookups: [] };
    for (const id of ids) {
      if (typeof id !== "string") continue;
      let ref;
      try {
        ref = fromGlobalId(id);
      } catch {
        continue;
      }
      if (ref.type === "Customer") out.lookups.push(this.#lookup(ref.companyId, ref.customerId));
      else out.calls += 1;
    }
    return out;
  }

  /** Federation representations, as the entity resolvers (Customer.ts, PushOperation.ts) read them. */
  #representations(representations: readonly unknown[]): Prediction {
    const out: Prediction = { calls: 0, lookups: [] };
    for (const representation of representations) {
      if (representation === null || typeof representation !== "object" || Array.isArray(representation)) continue;
      const fields = representation as Record<string, unknown>;
      const typename = fields["__typename"];
      if (typename === "Customer") {
        if ("customerId" in fields) out.lookups.push(this.#lookup(fields["companyId"], fields["customerId"]));
        else if (typeof fields["id"] === "string") {
          const ids = this.#ids([fields["id"]]);
          out.lookups.push(...ids.lookups);
        }
      } else if (typename === "PushOperation") {
        out.calls += 1;
      }
    }
    return out;
  }

  #fragment(name: string, parent: GraphQLCompositeType): Prediction {
    const fragment = this.#fragments.get(name);
    if (!fragment) return { calls: 0, lookups: [] };
    const type = this.#narrow(fragment.typeCondition.name.value, parent);
    const key = `${name}\u0000${type.name}`;
    const known = this.#memo.get(key);
    // A fragment spread again adds its calls again but not its lookups (the same loader keys).
    if (known !== undefined) return { calls: known.calls, lookups: [] };
    this.#memo.set(key, { calls: 0, lookups: [] });
    const value = this.predict(fragment.selectionSet, type);
    this.#memo.set(key, value);
    return value;
  }

  #narrow(typeName: string | undefined, parent: GraphQLCompositeType): GraphQLCompositeType {
    return narrowedType(this.schema, typeName, parent);
  }
}

/** The calls of one list page: see the module comment. */
function listPageCalls(args: Record<string, unknown>): number {
  const has = (name: string) => args[name] !== undefined && args[name] !== null;
  if (has("last") && !has("before")) return 3;
  if (has("after") || has("before")) return 2;
  return 1;
}

/** The list calls the customer loader makes for these lookups (see src/loaders/customers.ts). */
export function customerLookupCalls(lookups: readonly CustomerLookup[]): number {
  const unique = new Map<string, CustomerLookup>();
  for (const lookup of lookups) unique.set(`${lookup.company}\u0000${lookup.id}`, lookup);
  const keys = [...unique.values()];
  let calls = 0;
  for (let start = 0; start < keys.length; start += CUSTOMER_BATCH_SIZE) {
    const byCompany = new Map<string, string[]>();
    for (const { company, id } of keys.slice(start, start + CUSTOMER_BATCH_SIZE)) {
      if (!isEmbeddableId(id)) {
        calls += 1;
        continue;
      }
      const ids = byCompany.get(company) ?? [];
      ids.push(id);
      byCompany.set(company, ids);
    }
    for (const ids of byCompany.values()) calls += idQueries(ids).length;
  }
  return calls;
}

/** The Codat calls an operation is predicted to make (see the module comment); `variables` as sent. */
export function predictCodatCalls(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): number {
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const prediction = new CallPredictor(schema, document, effectiveVariables(operation, variables)).predict(operation.selectionSet, root);
  return prediction.calls + customerLookupCalls(prediction.lookups);
}
