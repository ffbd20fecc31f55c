import type { Simulator } from "../../src/simulator/index.js";

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
