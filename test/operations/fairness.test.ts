/**
 * Fair under hostile load: downloads hold only their share of a company's Codat slots, so queries and writes
 * keep the rest; a full queue or a wait that runs out is refused at once with RATE_LIMITED, never piled up.
 * Every scenario waits on the gateway's own slot counts, never on time.
 */
import { request, type ClientRequest, type IncomingMessage } from "node:http";
import { afterEach, describe, expect, it } from "vitest";

import {
  DEMO_COMPANY_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  SECOND_COMPANY_ID,
  SECOND_CONNECTION_ID,
} from "codat-simulator";
import { attachmentRecord, downloadUrlOf } from "../helpers/downloads.js";
import { useStack, type Stack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

const PAGE = `query($companyId: ID!) { customers(companyId: $companyId, first: 3) { edges { node { id customerName } } } }`;

interface Held {
  request: ClientRequest;
  response: Promise<IncomingMessage>;
}

/** A download whose reader never reads: the response is paused, so socket buffers fill and the slot stays held. */
function slowReader(url: string): Held {
  let resolve!: (response: IncomingMessage) => void;
  const response = new Promise<IncomingMessage>((done) => (resolve = done));
  const req = request(url, (res) => {
    res.pause();
    resolve(res);
  });
  req.on("error", () => undefined);
  req.end();
  return { request: req, response };
}

/** The second company's copy of the demo's large attachment, so both companies have something to download. */
function secondCompanyDownload(stack: Stack): { customerId: string; attachmentId: string } {
  const second = stack.simulator.store.company(SECOND_COMPANY_ID);
  const customerId = second?.customers.all()[0]?.id;
  if (second === undefined || customerId === undefined) throw new Error("no second company in the simulator");
  const large = attachmentRecord(stack, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID);
  second.attachments.set(customerId, [{ ...large, customerId, connectionId: SECOND_CONNECTION_ID }]);
  return { customerId, attachmentId: large.attachment.id };
}

async function secondCompanyUrl(stack: Stack): Promise<string> {
  const { customerId, attachmentId } = secondCompanyDownload(stack);
  const result = await stack.graphql<{ customerAttachment: { downloadUrl: string } | null }>(
    `query($c: ID!, $a: ID!) { customerAttachment(companyId: "${SECOND_COMPANY_ID}", connectionId: "${SECOND_CONNECTION_ID}", customerId: $c, attachmentId: $a) { downloadUrl } }`,
    { c: customerId, a: attachmentId },
  );
  const url = result.data?.customerAttachment?.downloadUrl;
  if (url === undefined) throw new Error(`no downloadUrl: ${result.text}`);
  return url;
}

describe("downloads never starve queries", () => {
  // A generous queue wait, so the waiting downloads are still waiting when the queries run on a busy machine.
  const stack = useStack({ env: { CODAT_QUEUE_TIMEOUT_MS: "120000" } });
  const held: Held[] = [];
  afterEach(() => {
    for (const { request: req } of held.splice(0)) req.destroy();
  });

  it("answers both companies' queries while 10 slow readers and 10 stalled downloads hold their share", async () => {
    const demoUrl = await downloadUrlOf(stack, attachmentRecord(stack, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID));
    const secondUrl = await secondCompanyUrl(stack);
    // Company A's downloads are answered, and read by no one.
    for (let i = 0; i < 10; i += 1) held.push(slowReader(demoUrl));
    const client = stack.gateway.client;
    await waitFor(() => client.downloadsInFlight(DEMO_COMPANY_ID) === 4 && client.queued(DEMO_COMPANY_ID) === 6, { timeoutMs: 15_000 });
    // Company B's stall: Codat never answers them.
    stack.simulator.injectFault({ kind: "hang", path: new RegExp(`${SECOND_COMPANY_ID}/.*/download$`), method: "GET", times: Infinity });
    for (let i = 0; i < 10; i += 1) held.push(slowReader(secondUrl));
    await waitFor(() => client.downloadsInFlight(SECOND_COMPANY_ID) === 4 && client.queued(SECOND_COMPANY_ID) === 6, { timeoutMs: 15_000 });

    for (const companyId of [DEMO_COMPANY_ID, SECOND_COMPANY_ID]) {
      const result = await stack.graphql<{ customers: { edges: unknown[] } }>(PAGE, { companyId });
      expect(result.errors).toBeUndefined();
      expect(result.data?.customers.edges).toHaveLength(3);
    }
    // Still held: the queries used the slots downloads may not take.
    expect(client.downloadsInFlight(DEMO_COMPANY_ID)).toBe(4);
    expect(client.downloadsInFlight(SECOND_COMPANY_ID)).toBe(4);
  });
});

describe("bounded queues", () => {
  const stack = useStack({
    env: {
      CODAT_MAX_CONCURRENCY_PER_COMPANY: "2",
      CODAT_MAX_QUEUE_PER_COMPANY: "2",
      // Each read must reach the queue: no read cache.
      CACHE_ENABLED: "false",
    },
  });

  it("refuses calls beyond a full queue at once with RATE_LIMITED, sending nothing", async () => {
    stack.simulator.injectFault({ kind: "hang", path: /\/data\/customers$/, times: Infinity });
    const client = stack.gateway.client;
    const controller = new AbortController();
    const post = (): Promise<Response> =>
      fetch(stack.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: PAGE, variables: { companyId: DEMO_COMPANY_ID } }),
        signal: controller.signal,
      });
    const pending = [post(), post(), post(), post()].map((response) => response.catch(() => undefined));
    await waitFor(() => client.inFlight(DEMO_COMPANY_ID) === 2 && client.queued(DEMO_COMPANY_ID) === 2);

    const refused = await Promise.all([post(), post(), post()]);
    for (const response of refused) {
      const body = (await response.json()) as { errors: { extensions: { code: string; retryAfterSeconds?: number } }[] };
      expect(body.errors[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: 1 });
    }
    // Only the two in flight reached Codat; the queued ones are still waiting.
    expect(stack.upstream().filter((r) => r.path.endsWith("/data/customers"))).toHaveLength(2);
    expect(client.queued(DEMO_COMPANY_ID)).toBe(2);
    controller.abort();
    await Promise.all(pending);
  });
});

describe("bounded download queue", () => {
  const stack = useStack({
    env: { CODAT_MAX_CONCURRENCY_PER_COMPANY: "2", CODAT_DOWNLOAD_SLOTS_PER_COMPANY: "1", CODAT_DOWNLOAD_QUEUE_PER_COMPANY: "0" },
  });
  const held: Held[] = [];
  afterEach(() => {
    for (const { request: req } of held.splice(0)) req.destroy();
  });

  it("answers a download beyond the downloads' share and queue with 429 and Retry-After", async () => {
    const url = await downloadUrlOf(stack, attachmentRecord(stack, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID));
    held.push(slowReader(url));
    const client = stack.gateway.client;
    await waitFor(() => client.downloadsInFlight(DEMO_COMPANY_ID) === 1);
    const refused = await fetch(url);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    // The one slot downloads may not take still serves a query.
    const result = await stack.graphql(PAGE, { companyId: DEMO_COMPANY_ID });
    expect(result.errors).toBeUndefined();
  });
});

describe("bounded waits", () => {
  const stack = useStack({ env: { CODAT_MAX_CONCURRENCY_PER_COMPANY: "1", CODAT_QUEUE_TIMEOUT_MS: "200", CACHE_ENABLED: "false" } });

  it("fails a call that waited its queue time out with RATE_LIMITED", async () => {
    stack.simulator.injectFault({ kind: "hang", path: /\/data\/customers$/, times: 1 });
    const controller = new AbortController();
    const holder = fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: PAGE, variables: { companyId: DEMO_COMPANY_ID } }),
      signal: controller.signal,
    }).catch(() => undefined);
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 1);
    const result = await stack.graphql(PAGE, { companyId: DEMO_COMPANY_ID });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: 1 });
    expect(stack.upstream().filter((r) => r.path.endsWith("/data/customers"))).toHaveLength(1);
    controller.abort();
    await holder;
  });
});
