/**
 * Federation's `_entities`, each representation on its own: @apollo/subgraph resolves the whole list in one
 * `map`, so one malformed representation (not an object, an unknown `__typename`, a key field missing or not a
 * string, an id that does not decode) threw out of it and nulled every entity of the batch, as
 * INTERNAL_SERVER_ERROR. Here each representation is checked against its type's `@key`s first and resolved
 * alone: a bad one is a BAD_USER_INPUT error at its own index (`_entities.3`), with no Codat call, and the
 * others resolve (and batch in the loaders) as before.
 */
import { GraphQLError, isObjectType, Kind, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLSchema } from "graphql";
import { badUserInput } from "../errors.js";

/** The key fields of each entity type, from its `@key(fields: "…")` directives (flat keys only: this schema's). */
function entityKeys(schema: GraphQLSchema): Map<string, string[][]> {
  const keys = new Map<string, string[][]>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    for (const node of [type.astNode, ...type.extensionASTNodes]) {
      for (const directive of node?.directives ?? []) {
        if (directive.name.value !== "key") continue;
        const fields = directive.arguments?.find((argument) => argument.name.value === "fields")?.value;
        if (fields?.kind !== Kind.STRING) continue;
        const list = keys.get(type.name) ?? [];
        list.push(fields.value.split(/\s+/).filter(Boolean));
        keys.set(type.name, list);
      }
    }
  }
  return keys;
}

/** Why a representation cannot be resolved, or undefined. */
function representationProblem(representation: unknown, keys: Map<string, string[][]>): string | undefined {
  if (representation === null || typeof representation !== "object" || Array.isArray(representation)) return "is not an object";
  const fields = representation as Record<string, unknown>;
  const typename = fields["__typename"];
  if (typeof typename !== "string") return "has no __typename";
  const typeKeys = keys.get(typename);
  if (typeKeys === undefined) return "names no entity type of this subgraph";
  const complete = typeKeys.some((key) => key.every((name) => typeof fields[name] === "string" && fields[name] !== ""));
  if (!complete) return `carries none of ${typename}'s keys (${typeKeys.map((key) => key.join(" ")).join("; ")}) as strings`;
  return undefined;
}

/** Replaces `Query._entities`'s resolver with one that resolves each representation alone. */
export function resolveEntitiesAlone(schema: GraphQLSchema): void {
  const field = (schema.getQueryType() as GraphQLObjectType | null | undefined)?.getFields()["_entities"];
  const resolveAll = field?.resolve;
  if (!field || !resolveAll) return;
  const keys = entityKeys(schema);
  const resolveOne: GraphQLFieldResolver<unknown, unknown> = (source, args, context, info) => {
    const representations = (args as { representations?: unknown }).representations;
    if (!Array.isArray(representations)) return resolveAll(source, args, context, info);
    return representations.map((representation: unknown, i) => {
      const problem = representationProblem(representation, keys);
      if (problem !== undefined) return Promise.reject(badUserInput(`representations[${i}] ${problem}.`, "representations"));
      try {
        const [entity] = resolveAll(source, { representations: [representation] }, context, info) as unknown[];
        return entity;
      } catch (error) {
        return Promise.reject(
          error instanceof GraphQLError ? error : badUserInput(`representations[${i}] cannot be resolved.`, "representations"),
        );
      }
    });
  };
  field.resolve = resolveOne;
}
