/**
 * Shared pieces of the security suite: JWT minting (HS and JWKS), a raw HTTP client that never assumes the
 * response is JSON, and assertions on refusals ("this code, and nothing reached Codat").
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from "jose";
import { expect } from "vitest";
import type { Stack } from "../helpers/stack.js";

export const ISSUER = "https://issuer.security-tests.example/";
export const AUDIENCE = "codat-gateway-security-tests";
export const JWT_SECRET = "security-suite-hs-secret-0123456789abcdef-XYZ";
export const OTHER_SECRET = "another-secret-not-the-gateways-0123456789abc";

/** Environment for a gateway in jwt mode with a shared HS secret. */
export function jwtEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { AUTH_MODE: "jwt", AUTH_JWT_SECRET: JWT_SECRET, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, ...extra };
}

export interface MintOptions {
  /** Key material: an HS secret (string) or a private key. Default JWT_SECRET. */
  key?: string | CryptoKey;
  alg?: string;
  kid?: string;
  /** null leaves the claim out. */
  issuer?: string | null;
  audience?: string | string[] | null;
  /** Seconds from now; negative = already expired. null leaves `exp` out. Default 600. */
  expiresIn?: number | null;
  /** Seconds from now for `nbf`. */
  notBefore?: number;
}

const now = () => Math.floor(Date.now() / 1000);

/** Signs `claims` (sub, codat_company_ids, …) as a JWT with the standard claims filled in. */
export async function mint(claims: JWTPayload, options: MintOptions = {}): Promise<string> {
  const key = options.key ?? JWT_SECRET;
  const alg = options.alg ?? (typeof key === "string" ? "HS256" : "RS256");
  const payload: JWTPayload = { ...claims };
  const issuer = options.issuer === undefined ? ISSUER : options.issuer;
  const audience = options.audience === undefined ? AUDIENCE : options.audience;
  if (issuer !== null) payload.iss = issuer;
  if (audience !== null) payload.aud = audience;
  payload.iat = now();
  const expiresIn = options.expiresIn === undefined ? 600 : options.expiresIn;
  if (expiresIn !== null) payload.exp = now() + expiresIn;
  if (options.notBefore !== undefined) payload.nbf = now() + options.notBefore;
  const jwt = new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT", ...(options.kid !== undefined ? { kid: options.kid } : {}) });
  return jwt.sign(typeof key === "string" ? new TextEncoder().encode(key) : key);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An unsigned token (`alg: none`), with valid-looking standard claims. */
export function unsignedToken(claims: JWTPayload): string {
  const payload = { iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600, ...claims };
  return `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`;
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** A tiny JWKS endpoint on loopback; `keys` can be replaced to simulate rotation. */
export interface JwksServer {
  url: string;
  keys: JWK[];
  hits: number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = { keys, hits: 0 };
  const server: Server = createServer((req, res) => {
    state.hits++;
    const body = JSON.stringify({ keys: state.keys });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get keys() {
      return state.keys;
    },
    set keys(value: JWK[]) {
      state.keys = value;
    },
    get hits() {
      return state.hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function rsaKey(kid: string): Promise<{ privateKey: CryptoKey; publicJwk: JWK; kid: string }> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  return { privateKey, publicJwk, kid };
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

async function toRaw(response: Response): Promise<RawResponse> {
  const text = await response.text();
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** POSTs any JSON-serialisable body (or a raw string) to the GraphQL endpoint. */
export async function postRaw(stack: Stack, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const response = await fetch(stack.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return toRaw(response);
}

export async function request(url: string, init: RequestInit = {}): Promise<RawResponse> {
  return toRaw(await fetch(url, init));
}

export function graphqlBody(raw: RawResponse): GraphQLBody {
  expect(raw.json, `not a JSON body: ${raw.status} ${raw.text.slice(0, 300)}`).toBeTypeOf("object");
  return raw.json as GraphQLBody;
}

/** The `extensions.code` of every error, in order. */
export function codes(body: { errors?: GraphQLBody["errors"] }): unknown[] {
  return (body.errors ?? []).map((e) => e.extensions?.["code"]);
}

export function expectNoUpstream(stack: Stack): void {
  expect(
    stack.upstream().map((r) => `${r.method} ${r.rawUrl}`),
    "the simulator (Codat) must not have been called",
  ).toEqual([]);
}

/** A 401 as the spec describes it: JSON errors with UNAUTHENTICATED and a Bearer challenge; nothing upstream. */
export function expectUnauthenticated(stack: Stack, raw: RawResponse): void {
  expect(raw.status, raw.text.slice(0, 300)).toBe(401);
  const body = graphqlBody(raw);
  expect(body.errors?.length).toBeGreaterThan(0);
  expect(body.errors?.[0]?.message).toEqual(expect.any(String));
  expect(body.errors?.[0]?.extensions?.["code"]).toBe("UNAUTHENTICATED");
  expect(body.data ?? null).toBeNull();
  expect(raw.headers.get("www-authenticate") ?? "").toMatch(/^Bearer\b/i);
  expectNoUpstream(stack);
}

/** A field-level FORBIDDEN: HTTP 200 and a FORBIDDEN error at `path`. */
export function expectForbiddenAt(body: GraphQLBody, path: (string | number)[]): void {
  const error = (body.errors ?? []).find((e) => JSON.stringify(e.path) === JSON.stringify(path));
  expect(error, `no error at ${JSON.stringify(path)}: ${JSON.stringify(body.errors)}`).toBeDefined();
  expect(error?.extensions?.["code"]).toBe("FORBIDDEN");
}

export function aliases(count: number, field: (i: number) => string): string {
  return Array.from({ length: count }, (_, i) => field(i)).join("\n");
}
