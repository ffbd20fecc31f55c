/**
 * (c) The ~1 GiB attachment: through the gateway's download route vs straight from the simulator.
 *
 *   gateway: `customerAttachment(companyId, connectionId, customerId: LARGE_ATTACHMENT_CUSTOMER_ID,
 *            attachmentId: LARGE_ATTACHMENT_ID) { downloadUrl }`, then GET that URL to the end, discarding bytes
 *   direct:  GET {simulator}/companies/{id}/connections/{connectionId}/data/customers/{customerId}/attachments/
 *            {attachmentId}/download
 *
 * Direct first, then the gateway (fresh process per scenario, VmHWM reset at the start of its download and RSS
 * sampled every 50 ms). Both are read with the same node:http client that only counts bytes. Throughput is
 * bytes / time from request to last byte (the GraphQL query that mints the link is timed separately).
 * When the gateway has no download route (the query errors), the scenario reports itself as skipped.
 */
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import {
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  LARGE_ATTACHMENT_SIZE,
} from "codat-simulator";
import { HttpClient, postJson } from "../lib/http.js";
import { BACKGROUND_WARNING_CORES, describeError } from "../lib/pair.js";
import { BackgroundCpu, readCpuMs, readMemory, resetPeakRss, sampleRss } from "../lib/proc.js";
import { target, type Scenario, type Target } from "./types.js";

export const MAX_DOWNLOAD_PEAK_RSS_MB = 120;
export const MIN_DOWNLOAD_THROUGHPUT_RATIO = 0.7;
/** A download slower than this is abandoned (≈ 4 MB/s for the 1 GiB file). */
const DOWNLOAD_TIMEOUT_MS = 240_000;

const LINK_QUERY = `query DownloadLink($companyId: ID!, $connectionId: ID!, $customerId: ID!, $attachmentId: ID!) {
  customerAttachment(companyId: $companyId, connectionId: $connectionId, customerId: $customerId, attachmentId: $attachmentId) {
    downloadUrl
  }
}`;

interface StreamResult {
  status: number;
  bytes: number;
  ms: number;
  /** Time to the response headers. */
  firstByteMs: number;
}

/** GETs `url` and discards the body, counting bytes. */
function streamToEnd(url: string): Promise<StreamResult> {
  const agent = new Agent({ keepAlive: false });
  const t0 = performance.now();
  return new Promise<StreamResult>((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const firstByteMs = performance.now() - t0;
      let bytes = 0;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on("error", reject);
      res.on("aborted", () => reject(new Error(`response aborted after ${bytes} bytes`)));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - t0, firstByteMs }));
    });
    req.setTimeout(DOWNLOAD_TIMEOUT_MS, () => req.destroy(new Error(`no progress within ${DOWNLOAD_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end();
  }).finally(() => agent.destroy());
}

const mbPerS = (r: StreamResult) => r.bytes / 1e6 / (r.ms / 1000);
const mib = (bytes: number) => (bytes / (1024 * 1024)).toFixed(1);

export const download: Scenario = {
  id: "download",
  title: "(c) ~1 GiB attachment download",
  async run(ctx) {
    // The link, and whether the gateway can make one at all.
    const client = new HttpClient(1);
    const variables = {
      companyId: DEMO_COMPANY_ID,
      connectionId: DEMO_CONNECTION_ID,
      customerId: LARGE_ATTACHMENT_CUSTOMER_ID,
      attachmentId: LARGE_ATTACHMENT_ID,
    };
    const linkRequest = postJson(ctx.graphqlUrl, { operationName: "DownloadLink", query: LINK_QUERY, variables });
    const getLink = async (): Promise<{ url: string | undefined; error?: string; ms: number }> => {
      const t0 = performance.now();
      try {
        const body = JSON.parse((await client.send(linkRequest)).toString("utf8")) as {
          data?: { customerAttachment?: { downloadUrl?: string } | null } | null;
          errors?: { message: string }[];
        };
        const url = body.data?.customerAttachment?.downloadUrl;
        const error = body.errors?.[0]?.message ?? (url ? undefined : "customerAttachment answered no downloadUrl");
        return { url, ...(error === undefined ? {} : { error }), ms: performance.now() - t0 };
      } catch (error) {
        return { url: undefined, error: describeError(error), ms: performance.now() - t0 };
      }
    };
    const probe = await getLink();
    if (!probe.url) {
      client.close();
      const reason = `the gateway cannot serve the download yet (${probe.error})`;
      return { id: this.id, title: this.title, status: "skipped", reason, tables: [], targets: [], data: { reason } };
    }

    const directUrl =
      `${ctx.simulatorUrl}/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/data/customers/` +
      `${LARGE_ATTACHMENT_CUSTOMER_ID}/attachments/${LARGE_ATTACHMENT_ID}/download`;

    const simulatorDownloads = async () =>
      (await ctx.simulator.call<{ downloads: { size: number; bytesSent: number; completed: boolean; aborted: boolean }[] }>("stats"))
        .downloads;

    // Direct.
    ctx.log(`${this.id}: direct download`);
    await ctx.simulator.call("resetDownloads");
    let direct: StreamResult | undefined;
    let directError: string | undefined;
    const directBackground = new BackgroundCpu([ctx.gateway.pid, ctx.simulator.pid]);
    try {
      direct = await streamToEnd(directUrl);
    } catch (error) {
      directError = describeError(error);
    }
    const directBackgroundCores = directBackground.stop();
    const directRecord = (await simulatorDownloads())[0];

    // Through the gateway: a fresh link (the probe's may be close to expiry on a slow run), then the bytes.
    ctx.log(`${this.id}: gateway download`);
    await ctx.simulator.call("resetDownloads");
    const rssBefore = readMemory(ctx.gateway.pid).rss;
    const phaseOnly = resetPeakRss(ctx.gateway.pid);
    const sampler = sampleRss(ctx.gateway.pid);
    const cpu0 = readCpuMs(ctx.gateway.pid);
    const gatewayBackground = new BackgroundCpu([ctx.gateway.pid, ctx.simulator.pid]);
    const link = await getLink();
    let gateway: StreamResult | undefined;
    let gatewayError: string | undefined = link.error;
    if (link.url) {
      try {
        gateway = await streamToEnd(link.url);
      } catch (error) {
        gatewayError = describeError(error);
      }
    }
    const cpuMs = readCpuMs(ctx.gateway.pid) - cpu0;
    const gatewayBackgroundCores = gatewayBackground.stop();
    const busiest = Math.max(directBackgroundCores, gatewayBackgroundCores);
    const sampledMax = sampler.stop();
    const peak = readMemory(ctx.gateway.pid).hwm;
    const gatewayRecord = (await simulatorDownloads())[0];
    client.close();

    const complete = (r: StreamResult | undefined) => r !== undefined && r.status === 200 && r.bytes === LARGE_ATTACHMENT_SIZE;
    const ratio = direct && gateway ? mbPerS(gateway) / mbPerS(direct) : Number.NaN;
    const describe = (r: StreamResult | undefined, error: string | undefined) =>
      r ? (r.status === 200 ? `${r.bytes} bytes` : `HTTP ${r.status}`) : `failed: ${error ?? "unknown"}`;
    const targets: Target[] = [
      target(
        "both downloads complete (status 200, every byte)",
        (complete(direct) ? 0 : 1) + (complete(gateway) ? 0 : 1),
        "<=",
        0,
        "failed",
        complete(direct) && complete(gateway)
          ? undefined
          : `direct: ${describe(direct, directError)}; gateway: ${describe(gateway, gatewayError)}`,
      ),
      target(
        "gateway peak RSS during the download",
        peak / (1024 * 1024),
        "<=",
        MAX_DOWNLOAD_PEAK_RSS_MB,
        "MB",
        phaseOnly ? undefined : "lifetime peak (VmHWM reset not permitted)",
      ),
      target("gateway throughput / direct throughput", ratio * 100, ">=", MIN_DOWNLOAD_THROUGHPUT_RATIO * 100, "%"),
    ];
    const fmt = (r: StreamResult | undefined, f: (r: StreamResult) => string) => (r ? f(r) : "failed");
    return {
      id: this.id,
      title: this.title,
      status: "ok",
      tables: [
        {
          headers: ["metric", "gateway", "direct REST"],
          rows: [
            ["bytes received", fmt(gateway, (r) => String(r.bytes)), fmt(direct, (r) => String(r.bytes))],
            ["throughput (MB/s)", fmt(gateway, (r) => mbPerS(r).toFixed(0)), fmt(direct, (r) => mbPerS(r).toFixed(0))],
            ["time to last byte (s)", fmt(gateway, (r) => (r.ms / 1000).toFixed(2)), fmt(direct, (r) => (r.ms / 1000).toFixed(2))],
            ["time to headers (ms)", fmt(gateway, (r) => r.firstByteMs.toFixed(1)), fmt(direct, (r) => r.firstByteMs.toFixed(1))],
            ["downloadUrl query (ms)", link.ms.toFixed(1), "-"],
            ["gateway CPU (ms per GiB)", gateway ? ((cpuMs / gateway.bytes) * 2 ** 30).toFixed(0) : "n/a", "-"],
            ["gateway RSS before / peak (MB)", `${mib(rssBefore)} / ${mib(peak)}${phaseOnly ? "" : " (lifetime)"}`, "-"],
            ["background CPU (cores)", gatewayBackgroundCores.toFixed(2), directBackgroundCores.toFixed(2)],
            [
              "simulator saw (completed / aborted)",
              gatewayRecord ? `${gatewayRecord.completed} / ${gatewayRecord.aborted}` : "no request",
              directRecord ? `${directRecord.completed} / ${directRecord.aborted}` : "no request",
            ],
          ],
        },
      ],
      targets,
      warnings:
        busiest > BACKGROUND_WARNING_CORES
          ? [`other processes used up to ${busiest.toFixed(2)} cores during the downloads: numbers are noisy, rerun on a quiet machine`]
          : [],
      data: {
        size: LARGE_ATTACHMENT_SIZE,
        backgroundCores: { direct: directBackgroundCores, gateway: gatewayBackgroundCores },
        direct: direct ? { ...direct, mbPerS: mbPerS(direct) } : { error: directError },
        gateway: gateway ? { ...gateway, mbPerS: mbPerS(gateway), linkQueryMs: link.ms, cpuMs } : { error: gatewayError },
        throughputRatio: ratio,
        gatewayMemory: { rssBeforeBytes: rssBefore, peakRssBytes: peak, peakRssPhaseOnly: phaseOnly, sampledMaxRssBytes: sampledMax },
        simulatorRecords: { direct: directRecord ?? null, gateway: gatewayRecord ?? null },
      },
    };
  },
};
