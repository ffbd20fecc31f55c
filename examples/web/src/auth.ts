/**
 * Where the app's bearer token comes from: the seam to replace with your sign-in (an OIDC library, a cookie
 * exchange, …). The reference app reads one from sessionStorage, so a test (or a developer against a gateway
 * with AUTH_MODE=jwt) can set it; against the default AUTH_MODE=none it sends no token at all.
 */
export const TOKEN_KEY = "gateway.token";

export function currentToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}
