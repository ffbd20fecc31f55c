/**
 * The download route end to end: gateway + simulator on loopback, links minted through GraphQL (or, for
 * expired/forged cases, by a signer holding the same SIGNING_SECRET), bytes compared with the simulator's.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { DownloadLinks } from "../../src/downloads/links.js";
import {
  ATTACHMENT_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  LARGE_ATTACHMENT_SIZE,
  attachmentSha256,
  type AttachmentRecord,
} from "codat-simulator";
import { attachmentRecord, demoAttachmentsOf, downloadUrlOf, downloadWhileCodatGoesAway, partialGet } from "../helpers/downloads.js";
import { startStack, useStack, type Stack } from "../helpers/stack.js";

const SECRET = "test-signing-secret-0123456789abcdef";

const stack = useStack({ env: { SIGNING_SECRET: SECRET } });
/** A signer equivalent to the gateway's (same secret), for links GraphQL would never hand out. */
let signer: DownloadLinks;

const demoAttachments = (): AttachmentRecord[] => demoAttachmentsOf(stack);
const record = (customerId: string, attachmentId?: string): AttachmentRecord => attachmentRecord(stack, customerId, attachmentId);
const downloadUrl = (r: AttachmentRecord, on: Stack = stack): Promise<string> => downloadUrlOf(on, r);

const target = (r: AttachmentRecord) => ({
  companyId: DEMO_COMPANY_ID,
  connectionId: DEMO_CONNECTION_ID,
  customerId: r.customerId,
  attachmentId: r.attachment.id,
  name: r.attachment.name,
});

const downloadCalls = (on: Stack = stack) => on.upstream().filter((r) => r.path.endsWith("/download"));

/** A small RFC 6266 reader: the `filename*` (RFC 5987, UTF-8) value, and the quoted ASCII fallback. */
function parseContentDisposition(header: string): { type: string; filename?: string; filenameStar?: string } {
  const [type = "", ...params] = header.split(";").map((p) => p.trim());
  const result: { type: string; filename?: string; filenameStar?: string } = { type };
  // The fallback may contain `;` inside its quotes, so read it with a regex rather than the split.
  const quoted = /(?:^|;)\s*filename="((?:[^"\\]|\\.)*)"/.exec(header);
  if (quoted?.[1] !== undefined) result.filename = quoted[1].replace(/\\(.)/g, "$1");
  for (const param of params) {
    const star = /^filename\*=UTF-8''([A-Za-z0-9!#$&+.^_`|~%-]*)$/i.exec(param);
    if (star?.[1] !== undefined) {
      // Every byte outside attr-char must be %HH; decodeURIComponent throws on anything else malformed.
      expect(star[1]).toMatch(/^(?:[A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-F]{2})*$/);
      result.filenameStar = decodeURIComponent(star[1]);
    }
  }
  return result;
}

beforeAll(async () => {
  signer = new DownloadLinks({ secret: SECRET, ttlSeconds: 300, baseUrl: () => stack.origin });
});

describe("GET /downloads/<token>", () => {
  it("streams the exact bytes with the attachment's headers", async () => {
    for (const r of demoAttachments().filter((a) => a.customerId === ATTACHMENT_CUSTOMER_ID)) {
      const url = await downloadUrl(r);
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe(r.attachment.contentType);
      expect(response.headers.get("content-length")).toBe(String(r.attachment.fileSize));
      expect(response.headers.get("content-encoding")).toBeNull();
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("cache-control")).toBe("private, no-store");
      expect(response.headers.get("content-security-policy")).toContain("sandbox");
      expect(parseContentDisposition(response.headers.get("content-disposition") ?? "")).toMatchObject({
        type: "attachment",
        filenameStar: r.attachment.name,
      });
      const hash = createHash("sha256");
      for await (const chunk of response.body ?? []) hash.update(chunk);
      expect(hash.digest("hex")).toBe(await attachmentSha256(r));

      expect(downloadCalls().map((c) => c.rawUrl)).toEqual([
        `/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/data/customers/${r.customerId}/attachments/${r.attachment.id}/download`,
      ]);
      expect(stack.simulator.downloads.at(-1)).toMatchObject({ attachmentId: r.attachment.id, completed: true, aborted: false });
      stack.resetUpstream();
    }
  });

  it("answers HEAD with the headers only, from a HEAD upstream", async () => {
    const r = record(ATTACHMENT_CUSTOMER_ID);
    const url = await downloadUrl(r);
    const downloadsBefore = stack.simulator.downloads.length;
    const response = await fetch(url, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe(String(r.attachment.fileSize));
    expect(response.headers.get("content-type")).toBe(r.attachment.contentType);
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="/);
    expect(await response.text()).toBe("");
    expect(downloadCalls().map((c) => c.method)).toEqual(["HEAD"]);
    expect(stack.simulator.downloads.length).toBe(downloadsBefore);
  });

  it("gives every awkward file name a valid Content-Disposition that decodes back to the name", async () => {
    const byName = new Map<string, AttachmentRecord>();
    for (const r of demoAttachments()) if (r.attachment.name && !byName.has(r.attachment.name)) byName.set(r.attachment.name, r);
    expect(byName.size).toBeGreaterThanOrEqual(5);
    expect([...byName.keys()].some((n) => /[^\x20-\x7e]/.test(n))).toBe(true);
    expect([...byName.keys()].some((n) => n.includes('"'))).toBe(true);
    for (const [name, r] of byName) {
      const response = await fetch(await signer.url(target(r)), { method: "HEAD" });
      expect(response.status, name).toBe(200);
      const header = response.headers.get("content-disposition") ?? "";
      expect(header, name).toMatch(/^[\x20-\x7e]+$/);
      const parsed = parseContentDisposition(header);
      expect(parsed.type).toBe("attachment");
      expect(parsed.filenameStar, name).toBe(name);
      expect(parsed.filename, name).toMatch(/^[\x20-\x7e]+$/);
      expect(parsed.filename, name).not.toMatch(/["\\%]/);
    }
  });

  it("answers 404 for an attachment Codat does not have", async () => {
    const token = await signer.sign({
      companyId: DEMO_COMPANY_ID,
      connectionId: DEMO_CONNECTION_ID,
      customerId: ATTACHMENT_CUSTOMER_ID,
      attachmentId: "gone-1",
    });
    const response = await fetch(`${stack.origin}/downloads/${token}`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toContain("application/json");
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "NOT_FOUND", upstream: { status: 404 } } });
    expect(text).not.toContain(new URL(stack.simulator.url).host);
    expect(downloadCalls()).toHaveLength(1);
  });

  it("maps upstream failures before the headers to JSON errors with a status", async () => {
    const url = await downloadUrl(record(ATTACHMENT_CUSTOMER_ID));
    stack.simulator.injectFault({
      kind: "status",
      status: 429,
      headers: { "retry-after": "60" },
      body: { statusCode: 429, error: "Too many requests" },
    });
    const limited = await fetch(url);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(await limited.json()).toMatchObject({ error: { code: "RATE_LIMITED", retryAfterSeconds: 60 } });

    stack.simulator.injectFault({
      kind: "status",
      status: 500,
      times: 10,
      body: { statusCode: 500, error: `boom at ${stack.simulator.url}` },
    });
    const failed = await fetch(url);
    expect(failed.status).toBe(502);
    const text = await failed.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "UPSTREAM_ERROR", upstream: { status: 500 } } });
    expect(text).not.toContain(new URL(stack.simulator.url).host);
  });
});

describe("link verification", () => {
  it("accepts a link from an equivalent signer, so the refusals below are about the token alone", async () => {
    const response = await fetch(await signer.url(target(record(ATTACHMENT_CUSTOMER_ID))), { method: "HEAD" });
    expect(response.status).toBe(200);
  });

  it("refuses tampered, forged, expired, wrong-attachment and wrong-caller links with 403 and no upstream call", async () => {
    const r = record(ATTACHMENT_CUSTOMER_ID);
    const other = demoAttachments().find((a) => a.attachment.id !== r.attachment.id);
    if (!other) throw new Error("need two attachments");
    const good = new URL(await downloadUrl(r)).pathname.slice("/downloads/".length);
    const [header = "", payload = "", mac = ""] = good.split(".");
    const flip = (text: string, at: number) => `${text.slice(0, at)}${text[at] === "A" ? "B" : "A"}${text.slice(at + 1)}`;
    const otherPayload = (await signer.sign(target(other))).split(".")[1] ?? "";

    const cases: [string, string, string][] = [
      ["payload bit flipped", `${header}.${flip(payload, 10)}.${mac}`, "invalid"],
      ["mac bit flipped", `${header}.${payload}.${flip(mac, 5)}`, "invalid"],
      ["another attachment's payload with this link's signature", `${header}.${otherPayload}.${mac}`, "invalid"],
      [
        "signed with another secret",
        await new DownloadLinks({ secret: "another-secret-another-secret-1234", ttlSeconds: 60, baseUrl: () => "" }).sign(target(r)),
        "invalid",
      ],
      ["expired", await signer.sign(target(r), Math.floor(Date.now() / 1000) - 1), "expired"],
      ["truncated", good.slice(0, -3), "invalid"],
      ["no signature", `${header}.${payload}`, "invalid"],
      ["garbage", "not-a-token", "invalid"],
      ["percent-escaped junk", "%2e%2e%2Fcompanies", "invalid"],
    ];
    for (const [label, token, reason] of cases) {
      const response = await fetch(`${stack.origin}/downloads/${token}`);
      expect(response.status, label).toBe(403);
      expect(response.headers.get("content-type"), label).toContain("application/json");
      expect(await response.json(), label).toMatchObject({
        error: { code: "FORBIDDEN", reason, message: expect.stringMatching(/download link/i) },
      });
    }
    const head = await fetch(`${stack.origin}/downloads/${header}.${payload}.${flip(mac, 5)}`, { method: "HEAD" });
    expect(head.status).toBe(403);
    expect(stack.upstream()).toHaveLength(0);
  });

  it("expires a link after DOWNLOAD_LINK_TTL_SECONDS", async () => {
    let now = Date.now();
    const clocked = new DownloadLinks({ secret: SECRET, ttlSeconds: 300, baseUrl: () => stack.origin, now: () => now });
    const token = await clocked.sign(target(record(ATTACHMENT_CUSTOMER_ID)));
    expect((await clocked.verify(token)).ok).toBe(true);
    now += 299_000;
    expect((await clocked.verify(token)).ok).toBe(true);
    now += 1_000;
    expect(await clocked.verify(token)).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses other methods on the route", async () => {
    const response = await fetch(await signer.url(target(record(ATTACHMENT_CUSTOMER_ID))), { method: "POST" });
    expect(response.status).toBe(405);
    expect(stack.upstream()).toHaveLength(0);
  });
});

describe("streaming the > 1 GiB attachment", () => {
  const large = () => record(LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID);

  it("aborts the upstream request when the client disconnects mid-download, and frees the company slot", async () => {
    const url = await downloadUrl(large());
    const { response, received } = await partialGet(url, 4 * 1024 * 1024);
    expect(response.headers["content-length"]).toBe(String(LARGE_ATTACHMENT_SIZE));
    expect(received).toBe(4 * 1024 * 1024);
    const entry = () => stack.simulator.downloads.at(-1);
    await waitFor(() => entry()?.aborted === true);
    expect(entry()).toMatchObject({ attachmentId: LARGE_ATTACHMENT_ID, completed: false, aborted: true });
    expect(entry()?.bytesSent).toBeLessThan(64 * 1024 * 1024);
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
  });

  it("breaks the download (no clean end) when Codat fails after the headers", async () => {
    const own = await startStack();
    try {
      const url = await downloadUrl(large(), own);
      const outcome = await downloadWhileCodatGoesAway(url, own);
      expect(outcome).not.toBe("complete");
    } finally {
      await own.gateway.stop();
    }
  });
});

describe("PUBLIC_URL", () => {
  it("builds links on the configured public base URL (path prefix kept)", async () => {
    const proxied = await startStack({ env: { PUBLIC_URL: "https://files.example.test/gateway/", DOWNLOAD_LINK_TTL_SECONDS: "60" } });
    try {
      const url = await downloadUrl(record(ATTACHMENT_CUSTOMER_ID), proxied);
      expect(url).toMatch(/^https:\/\/files\.example\.test\/gateway\/downloads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      // What the proxy would forward after stripping its prefix.
      const path = new URL(url).pathname.replace(/^\/gateway/, "");
      const response = await fetch(`${proxied.origin}${path}`, { method: "HEAD" });
      expect(response.status).toBe(200);
    } finally {
      await proxied.close();
    }
  });
});
