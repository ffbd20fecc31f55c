// ESLint: typescript-eslint's strict type-checked rules over every TypeScript file of both packages (the
// gateway and simulator/), formatting left to Prettier (`npm run lint` runs both).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  { ignores: ["**/dist/", "**/__generated__/", "**/node_modules/", "coverage/", "bench/results/"] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Numbers and booleans read naturally in messages; objects, nullish values and unknowns still may not.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      // `() => resolve()` and `(r) => res.end()` callbacks: returning a void call from a shorthand arrow is idiomatic.
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      // `async` marks functions whose contract is a promise (Apollo plugin hooks, route handlers, test callbacks):
      // a throw in one rejects, as its caller expects, whether or not it awaits anything yet.
      "@typescript-eslint/require-await": "off",
      // Several checks match control characters on purpose (header, path and text sanitising).
      "no-control-regex": "off",
      // `_`-prefixed names are deliberate (an ignored parameter, a destructured-away field).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
    },
  },
  {
    // In a test, `!` on a value the test just produced fails the test with a clear TypeError if it is wrong,
    // which is the point; guarding each one would only hide the assertion in noise.
    // Vitest's asymmetric matchers (`expect.any(String)`) and `JSON.parse` of a response are typed `any`, and
    // assertions are exactly where such values are checked; the no-unsafe-* family stays on for src/.
    files: ["test/**", "simulator/test/**", "bench/**"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      // `graphql<T>(…)` helpers name the shape a test expects back; cleanup in afterAll guards with `?.` against
      // a beforeAll that failed halfway, which the types cannot see.
      "@typescript-eslint/no-unnecessary-type-parameters": "off",
      "@typescript-eslint/no-unnecessary-condition": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  prettier,
);
