import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * Resolver types for the SDL in schema/, written to src/__generated__/ (not committed; `npm run codegen`
 * runs before start, typecheck and test). Mappers point each GraphQL type at the Codat REST DTO its resolvers
 * receive as parent (the table lives in src/models/index.ts), and enumValues map GraphQL enums to Codat's strings.
 */
const config: CodegenConfig = {
  schema: "schema/*.graphql",
  generates: {
    "src/__generated__/resolvers-types.ts": {
      plugins: ["typescript", "typescript-resolvers"],
      config: {
        federation: true,
        useIndexSignature: true,
        // Value imports: the enum re-exports need them (verbatimModuleSyntax stays off for this reason).
        useTypeImports: false,
        contextType: "../context.js#GatewayContext",
        scalars: {
          ID: { input: "string", output: "string" },
          DateTime: { input: "string", output: "string" },
          JSON: { input: "unknown", output: "unknown" },
        },
        // Point at TS enums whose values are Codat's strings (inline objects hit graphql-code-generator#10204).
        enumValues: {
          CustomerStatus: "../mappers/enums.js#CustomerStatus",
          AddressType: "../mappers/enums.js#AddressType",
          PhoneNumberType: "../mappers/enums.js#PhoneNumberType",
          PushOperationStatus: "../mappers/enums.js#PushOperationStatus",
          PushChangeType: "../mappers/enums.js#PushChangeType",
          PushOptionType: "../mappers/enums.js#PushOptionType",
        },
        mapperTypeSuffix: "Model",
        mappers: {
          Customer: "../models/index.js#Customer",
          Contact: "../models/index.js#Contact",
          Address: "../models/index.js#Address",
          PhoneNumber: "../models/index.js#PhoneNumber",
          Attachment: "../models/index.js#Attachment",
          DataConnection: "../models/index.js#DataConnection",
          CustomerConnection: "../models/index.js#Connection<CustomerModel>",
          CustomerEdge: "../models/index.js#Edge<CustomerModel>",
          CustomerPushPayload: "../models/index.js#CustomerPushPayload",
          PushOperation: "../models/index.js#PushOperation",
          PushOperationConnection: "../models/index.js#Connection<PushOperationModel>",
          PushOperationEdge: "../models/index.js#Edge<PushOperationModel>",
          PushValidation: "../models/index.js#PushValidation",
          PushValidationItem: "../models/index.js#PushValidationItem",
          PushChange: "../models/index.js#PushChange",
          PushOption: "../models/index.js#PushOption",
          PushOptionProperty: "../models/index.js#PushOptionProperty",
          PushOptionChoice: "../models/index.js#PushOptionChoice",
          PushOptionValidation: "../models/index.js#PushOptionValidation",
        },
      },
    },
  },
};

export default config;
