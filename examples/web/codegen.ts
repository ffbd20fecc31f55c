import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

/**
 * Typed documents for the app's `graphql(…)` calls, from the gateway's own SDL (no running server needed), written
 * to src/__generated__/ (not committed; `npm run build` generates it). `persisted-documents.json` there is the
 * trusted-documents manifest the gateway enforces with PERSISTED_OPERATIONS. `__typename` is added to every
 * selection so that a document the gateway runs from the manifest answers what Apollo's cache normalises by.
 */
const config: CodegenConfig = {
  schema: "../../schema/*.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/__generated__/**"],
  generates: {
    "src/__generated__/": {
      preset: "client",
      // getFragmentData, not useFragment: it is a plain function, and Apollo Client has a hook of that name.
      presetConfig: { persistedDocuments: { hashAlgorithm: "sha256" }, fragmentMasking: { unmaskFunctionName: "getFragmentData" } },
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { ID: "string", DateTime: "string", JSON: "unknown" },
      },
    },
  },
};

export default config;
