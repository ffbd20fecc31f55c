/**
 * The pieces every concern's model is made of: the zod schema of one variable's value (whole numbers, true/false,
 * http(s) URLs, a word from a list), the documentation each variable carries (`describe`, read by
 * scripts/docs-render.ts for docs/configuration.md and `.env.example`), and `parseSection`, which reads a model's
 * variables from the environment.
 *
 * A problem is one line naming its variable. A schema's own messages leave the name out ("must be a whole number
 * …"); `parseSection` puts it in front. Rules across variables (in each concern) write whole lines.
 */
import { z } from "zod";

export type Env = Record<string, string | undefined>;

/** What the documentation says of a variable (Markdown, one line each). */
export interface VariableDoc {
  description: string;
  /** The value in force when the variable is unset or empty; by default the schema's own default, else "unset". */
  default?: string;
  /** Read by OpenTelemetry's own components from the process environment: listed for the docs, its value unused here. */
  external?: boolean;
}

/** The documentation of every variable, keyed by its schema (zod's metadata registry, typed). */
export const variableDocs = z.registry<VariableDoc>();

/** A variable's schema with its documentation. */
export function describe<T extends z.ZodType>(schema: T, doc: VariableDoc): T {
  variableDocs.add(schema, doc);
  return schema;
}

/**
 * A part of a concern's configuration as the docs show it: a title, a line of introduction, and the model of its
 * variables. `requires` names the variable without which these are refused (they would have no effect).
 */
export interface Section {
  title: string;
  intro: string;
  model: z.ZodObject;
  requires?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** A variable's value as the configuration sees it: trimmed, and empty counts as unset. */
export function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === "" ? undefined : value;
}

/**
 * Reads a model's variables from `env`. Each one is parsed on its own, so that a bad one is reported and its
 * default stands in for it: the rules across variables still run, and every problem is reported at once.
 */
export function parseSection<S extends z.ZodRawShape>(model: z.ZodObject<S>, env: Env, problems: string[]): z.output<z.ZodObject<S>> {
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(model.shape) as [string, z.ZodType][]) {
    const result = schema.safeParse(read(env, name));
    if (result.success) {
      values[name] = result.data;
      continue;
    }
    // One line per variable: a value breaks its first rule only.
    const message = result.error.issues[0]?.message ?? "is not valid";
    problems.push(message.startsWith(name) ? message : `${name} ${message}`);
    values[name] = schema.safeParse(undefined).data;
  }
  return values as z.output<z.ZodObject<S>>;
}

/** The static defaults of a model's variables, by name (undefined where the default depends on other settings). */
export const defaultsOf = <S extends z.ZodRawShape>(model: z.ZodObject<S>): z.output<z.ZodObject<S>> => parseSection(model, {}, []);

/** `must be …` with the value given (for values that are not secrets). */
const got = (phrase: string) => (issue: { input?: unknown }) => `must be ${phrase} (got "${String(issue.input)}")`;

/** A whole number from `min` to `max` (any, without bounds). */
export function integer(min?: number, max?: number) {
  const inRange = (n: number) => (min === undefined || n >= min) && (max === undefined || n <= max);
  return z
    .string()
    .refine((raw) => /^\d+$/.test(raw) && inRange(Number(raw)), {
      error: got(min === undefined ? "a whole number" : `a whole number from ${min} to ${max}`),
    })
    .transform(Number);
}

/** A number from 0 to 1. */
export function ratio() {
  return z
    .string()
    .refine((raw) => Number(raw) >= 0 && Number(raw) <= 1, { error: got("a ratio from 0 to 1") })
    .transform(Number);
}

/** true/false (also 1/0, yes/no), in any case. */
export function flag() {
  return z.stringbool({
    truthy: ["true", "1", "yes"],
    falsy: ["false", "0", "no"],
    case: "insensitive",
    error: (issue) => `must be true or false (got "${String(issue.input).toLowerCase()}")`,
  });
}

/** One of `values`; `lowercase` first when the case does not matter. `phrase` lists them in the message. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, options: { phrase: string; lowercase?: boolean }) {
  const choice = z.enum(values, { error: got(options.phrase) });
  return options.lowercase
    ? z
        .string()
        .transform((value) => value.toLowerCase())
        .pipe(choice)
    : z.string().pipe(choice);
}

/** An absolute http(s) URL without credentials, query or fragment; trailing slashes removed. The value is never echoed. */
export function httpUrl() {
  return z
    .string()
    .refine(
      (raw) => {
        const url = URL.parse(raw);
        return (
          url !== null &&
          (url.protocol === "http:" || url.protocol === "https:") &&
          !url.username &&
          !url.password &&
          !url.search &&
          !url.hash
        );
      },
      // A mistyped URL can carry credentials.
      { error: "must be an absolute http(s) URL without credentials, query or fragment" },
    )
    .transform((raw) => new URL(raw).href.replace(/\/+$/, ""));
}

/** An absolute http: or https: URL with a host. */
export function isHttpUrl(raw: string): boolean {
  const url = URL.parse(raw);
  return url !== null && (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
}

/** Loopback names and addresses: only the local machine can reach a gateway listening there. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
