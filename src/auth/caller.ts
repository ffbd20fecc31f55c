/**
 * Who is asking, and which companies they may use. A Codat API key reaches every company of the account, so
 * the gateway must never let a caller name a company it was not granted: the caller's companies come from a
 * verified JWT claim, and every Codat call is checked against them (see scoped-client.ts).
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

export interface Caller {
  /** The token's `sub`; null when authentication is off. */
  id: string | null;
  /** Lower-cased company ids the caller may use, or "*" for all. */
  companies: "*" | ReadonlySet<string>;
  /** When the caller's token expires (ms since the epoch, its `exp`); unset when authentication is off. */
  expiresAt?: number | undefined;
}

/** AUTH_MODE=none: the gateway trusts whoever reaches it (only allowed on loopback or the simulator). */
export const UNAUTHENTICATED_CALLER: Caller = Object.freeze({ id: null, companies: "*" });

export function mayUseCompany(caller: Caller, companyId: string): boolean {
  return caller.companies === "*" || caller.companies.has(companyId.toLowerCase());
}

export interface JwtAuthConfig {
  jwksUrl?: string | undefined;
  jwtSecret?: string | undefined;
  issuer: string;
  audience: string;
  companiesClaim: string;
}

/** Why a request was not authenticated; the message is safe to show (it never echoes the token). */
export class AuthenticationError extends Error {
  override readonly name = "AuthenticationError";
}

export type Authenticator = (authorization: string | undefined) => Promise<Caller>;

const SYMMETRIC = ["HS256", "HS384", "HS512"];
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const MAX_TOKEN_LENGTH = 16 * 1024;

export function createJwtAuthenticator(config: JwtAuthConfig): Authenticator {
  // jose caches the key set, refetches it on an unknown `kid` (key rotation) at most once per cooldown.
  const options = (algorithms: string[]) => ({
    issuer: config.issuer,
    audience: config.audience,
    algorithms,
    clockTolerance: 5,
    requiredClaims: ["exp", "sub"],
  });
  let verify: (token: string) => Promise<{ payload: JWTPayload }>;
  if (config.jwksUrl) {
    const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(config.jwksUrl), {
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: 30_000,
      timeoutDuration: 5_000,
    });
    verify = (token) => jwtVerify(token, keys, options(ASYMMETRIC));
  } else {
    const secret = new TextEncoder().encode(config.jwtSecret ?? "");
    verify = (token) => jwtVerify(token, secret, options(SYMMETRIC));
  }

  return async (authorization) => {
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(authorization?.trim() ?? "");
    if (!match?.[1]) throw new AuthenticationError("A bearer token is required.");
    if (match[1].length > MAX_TOKEN_LENGTH) throw new AuthenticationError("The bearer token is invalid.");
    let payload: JWTPayload;
    try {
      ({ payload } = await verify(match[1]));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new AuthenticationError("The bearer token has expired.");
      throw new AuthenticationError("The bearer token is invalid.");
    }
    // `sub` names the caller in logs and download links: a string, never `{}`, `true` or `123` stringified.
    if (typeof payload.sub !== "string" || payload.sub.trim() === "") throw new AuthenticationError("The bearer token is invalid.");
    return {
      id: payload.sub,
      companies: companiesFrom(payload[config.companiesClaim]),
      ...(typeof payload.exp === "number" ? { expiresAt: payload.exp * 1000 } : {}),
    };
  };
}

/** The claim may be an array of ids or one space/comma-separated string; "*" grants every company. */
function companiesFrom(claim: unknown): Caller["companies"] {
  const values = Array.isArray(claim) ? claim : typeof claim === "string" ? claim.split(/[\s,]+/) : [];
  const ids = values.filter((v): v is string => typeof v === "string" && v.length > 0);
  if (ids.includes("*")) return "*";
  return new Set(ids.map((id) => id.toLowerCase()));
}
