/** Who may call: caller authentication (JWT), browser origins, the router's secret, trusted documents. */
import { z } from "zod";
import type { JwtAuthConfig } from "../auth/caller.js";
import { TrustedDocuments } from "../security/trusted-documents.js";
import { describe, flag, httpUrl, isLoopbackHost, oneOf, parseSection, read, type Env, type Section } from "./fields.js";

/** Comma-separated browser origins, each exactly an origin (scheme, host, port). */
const origins = z
  .string()
  .transform((raw) =>
    raw
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean),
  )
  .check((ctx) => {
    const bad = ctx.value.find((origin) => URL.parse(origin)?.origin !== origin);
    if (bad !== undefined)
      ctx.issues.push({ code: "custom", input: ctx.value, message: `entries must be origins like https://app.example.com (got "${bad}")` });
  });

/** The trusted-documents manifest, read once at startup: a missing or malformed one stops startup here. */
const manifest = z.string().transform((file, ctx) => {
  try {
    return TrustedDocuments.fromFile(file);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : error instanceof Error ? error.message : String(error);
    ctx.issues.push({ code: "custom", input: file, message: `must name a JSON manifest of hash → document (${file}: ${reason})` });
    return z.NEVER;
  }
});

const mode = z.object({
  AUTH_MODE: describe(oneOf(["none", "jwt"], { phrase: "none or jwt", lowercase: true }).default("none"), {
    description:
      "`jwt`: every GraphQL request needs a bearer JWT; `none`: no caller authentication (refused at startup with a real `CODAT_API_KEY` on a non-loopback `HOST` unless `ALLOW_UNAUTHENTICATED=true`). With `NODE_ENV=production` it must be set explicitly (or `ALLOW_UNAUTHENTICATED=true`; not needed on the embedded simulator).",
  }),
});

/** Read with AUTH_MODE=jwt only. */
const jwt = z.object({
  AUTH_JWKS_URL: describe(httpUrl().optional(), {
    description: "JWKS endpoint of your identity provider (keys cached 10 min, refetched on an unknown `kid`); RS/PS/ES/EdDSA tokens.",
  }),
  AUTH_JWT_SECRET: describe(z.string().min(32, { error: "must be at least 32 characters" }).optional(), {
    description: "Shared secret (32+ characters) for HS256/384/512 tokens, instead of `AUTH_JWKS_URL`.",
  }),
  AUTH_ISSUER: describe(z.string().optional(), { description: "Required `iss` of accepted tokens (required with `AUTH_MODE=jwt`)." }),
  AUTH_AUDIENCE: describe(z.string().optional(), { description: "Required `aud` of accepted tokens (required with `AUTH_MODE=jwt`)." }),
  AUTH_COMPANIES_CLAIM: describe(z.string().default("codat_company_ids"), {
    description: 'Claim listing the Codat company ids the caller may use (array, or a space/comma-separated string); `"*"` means all.',
  }),
});

const access = z.object({
  ALLOW_UNAUTHENTICATED: describe(flag().default(false), {
    description: "`true` permits `AUTH_MODE=none` with a real key off loopback (only behind a proxy that authenticates).",
  }),
  CORS_ORIGINS: describe(origins.optional(), {
    default: "none (no cross-origin access)",
    description:
      "Comma-separated browser origins allowed to call `/graphql` and to fetch download links (exact match, e.g. `https://app.example.com`).",
  }),
  ROUTER_SECRET: describe(z.string().min(16, { error: "must be at least 16 characters" }).optional(), {
    default: "unset (open)",
    description:
      "16+ characters. When set, every GraphQL request must carry it in `ROUTER_SECRET_HEADER` (401 otherwise): only your router reaches the subgraph, `_service` and `_entities` included.",
  }),
  ROUTER_SECRET_HEADER: describe(
    z
      .string()
      .transform((name) => name.toLowerCase())
      .pipe(z.string().regex(/^[a-z0-9-]+$/, { error: "must be an HTTP header name" }))
      .default("x-router-secret"),
    { description: "Header name for `ROUTER_SECRET`." },
  ),
  PERSISTED_OPERATIONS: describe(manifest.optional(), {
    description:
      "Path of a trusted-documents manifest (graphql-codegen client preset's `persisted-documents.json`); when set, only listed operations run.",
  }),
});

export const authSections: Section[] = [
  {
    title: "Callers: authentication, browsers, router, trusted documents",
    intro: "See [Security](operations.md#security) for the threat model and a production checklist.",
    model: mode.extend(jwt.shape).extend(access.shape),
  },
];

export function parseAuth(
  env: Env,
  problems: string[],
  context: { codatApiKey: string | undefined; host: string; useSimulator: boolean; production: boolean },
) {
  const { AUTH_MODE } = parseSection(mode, env, problems);
  const a = parseSection(access, env, problems);
  // A mode the gateway does not know is reported above, and nothing more is said of authentication.
  const modeValid = ["none", "jwt"].includes(read(env, "AUTH_MODE")?.toLowerCase() ?? "none");
  let auth: JwtAuthConfig | undefined;
  if (AUTH_MODE === "jwt") {
    auth = jwtAuth(env, parseSection(jwt, env, problems), problems);
  } else if (modeValid && context.production && !context.useSimulator && read(env, "AUTH_MODE") === undefined && !a.ALLOW_UNAUTHENTICATED) {
    // Production must choose: the default (no authentication) is never assumed there, whatever the upstream
    // (ALLOW_UNAUTHENTICATED=true is a choice too).
    problems.push(
      "AUTH_MODE must be set with NODE_ENV=production: AUTH_MODE=jwt to authenticate callers, or AUTH_MODE=none explicitly when a proxy in front authenticates them",
    );
  } else if (modeValid) {
    // A real key reaches every company of the account: never serve it unauthenticated to a network.
    const exposed = context.codatApiKey !== undefined && !context.useSimulator && !isLoopbackHost(context.host);
    if (exposed && !a.ALLOW_UNAUTHENTICATED) {
      problems.push(
        `AUTH_MODE=none would let anyone reaching HOST=${context.host} use every company of the Codat account: set AUTH_MODE=jwt, or ALLOW_UNAUTHENTICATED=true if a proxy in front authenticates callers`,
      );
    }
  }
  return {
    /** Caller authentication: undefined for AUTH_MODE=none. */
    auth,
    /** Origins allowed to call the GraphQL endpoint from a browser (exact match); empty = none cross-origin. */
    corsOrigins: a.CORS_ORIGINS ?? [],
    /**
     * Federation hardening: when set, every GraphQL request must carry this header with this value, so only the
     * router (which adds it) can reach the subgraph, `_service` and `_entities` included.
     */
    routerSecret: a.ROUTER_SECRET !== undefined ? { header: a.ROUTER_SECRET_HEADER, value: a.ROUTER_SECRET } : undefined,
    /** The trusted-documents manifest (PERSISTED_OPERATIONS), read at startup; when set, only listed operations run. */
    trustedDocuments: a.PERSISTED_OPERATIONS,
  };
}

function jwtAuth(env: Env, j: z.output<typeof jwt>, problems: string[]): JwtAuthConfig {
  // What was set counts, valid or not (a malformed value is reported on its own).
  const jwksGiven = read(env, "AUTH_JWKS_URL") !== undefined;
  const secretGiven = read(env, "AUTH_JWT_SECRET") !== undefined;
  if (!jwksGiven && !secretGiven) problems.push("AUTH_MODE=jwt needs AUTH_JWKS_URL or AUTH_JWT_SECRET");
  if (jwksGiven && secretGiven) problems.push("AUTH_MODE=jwt takes only one of AUTH_JWKS_URL and AUTH_JWT_SECRET");
  if (j.AUTH_ISSUER === undefined) problems.push("AUTH_MODE=jwt needs AUTH_ISSUER (the token issuer to accept)");
  if (j.AUTH_AUDIENCE === undefined) problems.push("AUTH_MODE=jwt needs AUTH_AUDIENCE (the token audience to accept)");
  return {
    jwksUrl: j.AUTH_JWKS_URL,
    jwtSecret: j.AUTH_JWKS_URL === undefined ? j.AUTH_JWT_SECRET : undefined,
    issuer: j.AUTH_ISSUER ?? "",
    audience: j.AUTH_AUDIENCE ?? "",
    companiesClaim: j.AUTH_COMPANIES_CLAIM,
  };
}
