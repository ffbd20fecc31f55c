/**
 * The slow tier (`npm run test:slow`): the simulator's > 1 GiB attachment, generated and streamed whole, and
 * cut off mid-way. Only byte counts, digests and memory are asserted — never time.
 */
import { describe, expect, it } from "vitest";
import {
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  LARGE_ATTACHMENT_SIZE,
  attachmentSha256,
} from "../src/index.js";
import { attachmentsPath, demoAttachments, downloadHash, waitForLargeDownload, useSimulator } from "./helpers.js";

const sim = useSimulator();

describe("the > 1 GiB attachment", () => {
  it("a client aborting the > 1 GiB download mid-way stops generation; memory stays flat", async () => {
    const path = attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID, true);
    const controller = new AbortController();
    const res = await fetch(`${sim.url}${path}`, { signal: controller.signal });
    expect(res.headers.get("content-length")).toBe(String(LARGE_ATTACHMENT_SIZE));
    const reader = res.body?.getReader();
    if (!reader) throw new Error("no body");
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    let received = 0;
    const target = 200 * 1024 * 1024;
    while (received < target) {
      const { done, value } = await reader.read();
      if (done) break;
      received += (value as Uint8Array).length;
      if (received % (16 * 1024 * 1024) < value.length) peak = Math.max(peak, process.memoryUsage().rss);
    }
    controller.abort();
    await reader.cancel().catch(() => undefined);
    const entry = await waitForLargeDownload(sim, (d) => d.aborted);
    const sentAtAbort = entry.bytesSent;
    // A full request round trip later (no timer), not one more byte has been generated.
    expect((await fetch(`${sim.url}/companies/${DEMO_COMPANY_ID}/connections`)).status).toBe(200);
    expect(entry.bytesSent).toBe(sentAtAbort);
    expect(entry.completed).toBe(false);
    expect(received).toBeGreaterThanOrEqual(target);
    // Only what was read plus the buffers in between (stream + socket), nowhere near the file.
    expect(entry.bytesSent).toBeLessThan(received + 32 * 1024 * 1024);
    expect(entry.bytesSent).toBeLessThan(LARGE_ATTACHMENT_SIZE / 2);
    // 200 MB were read: holding them would show; the rest is a cold process warming up.
    expect(peak - rssBefore).toBeLessThan(150 * 1024 * 1024);
  });

  it("streams the whole > 1 GiB attachment with constant memory, matching attachmentSha256", async () => {
    const record = demoAttachments(sim).find((r) => r.attachment.id === LARGE_ATTACHMENT_ID);
    if (!record) throw new Error("no large attachment");
    const rssBefore = process.memoryUsage().rss;
    const [download, expected] = await Promise.all([downloadHash(sim, record), attachmentSha256(record)]);
    expect(download.bytes).toBe(LARGE_ATTACHMENT_SIZE);
    expect(download.sha256).toBe(expected);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(150 * 1024 * 1024);
    const entry = sim.downloads.at(-1);
    expect(entry).toMatchObject({ completed: true, aborted: false, bytesSent: LARGE_ATTACHMENT_SIZE });
  });
});
