import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, parse, buildASTSchema, type GraphQLNamedType } from "graphql";
import { describe, expect, it } from "vitest";
import { loadTypeDefs } from "../../src/schema.js";

/** The SDL is the documentation Sandbox shows: every type, field, argument and enum value has a description. */
describe("schema documentation", () => {
  it("describes everything the gateway defines", () => {
    // Parse the gateway's own SDL without the federation link, so only our definitions are checked.
    const sdl = loadTypeDefs().replace(/extend schema[^{]*?@link\([^)]*\)/s, "");
    const schema = buildASTSchema(
      parse(`directive @key(fields: String!) repeatable on OBJECT\ndirective @shareable on OBJECT | FIELD_DEFINITION\n${sdl}`),
    );
    const missing: string[] = [];
    const own = Object.values(schema.getTypeMap()).filter(
      (t: GraphQLNamedType) => !t.name.startsWith("__") && !["String", "Int", "Float", "Boolean", "ID"].includes(t.name),
    );
    for (const type of own) {
      if (!type.description && !["Query", "Mutation"].includes(type.name)) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of "args" in field ? field.args : [])
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isEnumType(type)) for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
    }
    expect(missing).toEqual([]);
  });
});
