import { createHash } from "node:crypto";
import { waitForValue } from "../../test/helpers/wait.js";
import { afterAll, beforeAll } from "vitest";
import { forwardTo } from "../../test/helpers/forward.js";
import {
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  LARGE_ATTACHMENT_ID,
  startSimulator,
  type AttachmentRecord,
  type Simulator,
  type SimulatorOptions,
} from "../src/index.js";

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

/** Every attachment of the demo company, as the store holds them. */
export function demoAttachments(sim: Simulator): AttachmentRecord[] {
  return [...(sim.store.company(DEMO_COMPANY_ID)?.attachments.values() ?? [])].flat();
}

/** Downloads over HTTP, hashing as the bytes arrive (never buffering the file). */
export async function downloadHash(
  sim: Simulator,
  record: AttachmentRecord,
): Promise<{ status: number; headers: Headers; bytes: number; sha256: string; head: Buffer }> {
  const res = await fetch(
    `${sim.url}${attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, record.customerId, record.attachment.id, true)}`,
  );
  const hash = createHash("sha256");
  let bytes = 0;
  let head = Buffer.alloc(0);
  if (res.body) {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      if (head.length < 64) head = Buffer.concat([head, chunk]).subarray(0, 64);
      hash.update(chunk);
      bytes += chunk.length;
    }
  }
  return { status: res.status, headers: res.headers, bytes, sha256: hash.digest("hex"), head };
}

/** Waits for the simulator to record a download of the large attachment that matches `predicate`. */
export function waitForLargeDownload(sim: Simulator, predicate: (d: Simulator["downloads"][number]) => boolean) {
  return waitForValue(() => sim.downloads.find((d) => d.attachmentId === LARGE_ATTACHMENT_ID && predicate(d)));
}

/**
 * The usual fixture: one simulator for the file (or describe block), started before its first test and closed
 * after its last. The returned object stands for it once started, so use it inside tests and hooks only.
 */
export function useSimulator(options: SimulatorOptions = {}): Simulator {
  let current: Simulator | undefined;
  beforeAll(async () => {
    current = await startSimulator(options);
  });
  afterAll(async () => {
    await current?.close();
    current = undefined;
  });
  return forwardTo(() => current, "the simulator runs only inside the tests of the block that uses it");
}
