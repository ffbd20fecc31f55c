import type { Simulator } from "../src/index.js";

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** GET a simulator path and parse the JSON body (every simulator answer except downloads is JSON). */
export async function getJson<T = unknown>(sim: Simulator, path: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const res = await fetch(`${sim.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as T };
}

export function customersPath(companyId: string, params: Record<string, string | number> = {}): string {
  const search = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return `/companies/${companyId}/data/customers${search ? `?${search}` : ""}`;
}

export interface SendOptions {
  method?: string;
  /** A value is sent as JSON; a string is sent verbatim. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Sends a request with a JSON (or raw string) body and parses the JSON answer; `text` keeps the exact bytes. */
export async function sendJson<T = unknown>(
  sim: Simulator,
  path: string,
  options: SendOptions = {},
): Promise<JsonResponse<T> & { text: string }> {
  const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  const res = await fetch(`${sim.url}${path}`, {
    method: options.method ?? "POST",
    headers: { "content-type": "application/json", ...options.headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as T, text };
}

export function pushCustomersPath(
  companyId: string,
  connectionId: string,
  customerId?: string,
  params: Record<string, string | number> = {},
): string {
  const search = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const tail = customerId === undefined ? "" : `/${encodeURIComponent(customerId)}`;
  return `/companies/${companyId}/connections/${connectionId}/push/customers${tail}${search ? `?${search}` : ""}`;
}

export function attachmentsPath(
  companyId: string,
  connectionId: string,
  customerId: string,
  attachmentId?: string,
  download = false,
): string {
  let path = `/companies/${companyId}/connections/${connectionId}/data/customers/${encodeURIComponent(customerId)}/attachments`;
  if (attachmentId !== undefined) path += `/${encodeURIComponent(attachmentId)}`;
  if (download) path += "/download";
  return path;
}

/** Polls `check` every 20 ms until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
