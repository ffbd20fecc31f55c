/** The per-company limiter on its own, then through the client (JSON calls and streamed downloads). */
import { createHash } from "node:crypto";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { CodatClient, type CodatClientOptions } from "../../src/codat/client.js";
import { KeyedLimiter } from "../../src/codat/limiter.js";
import type { RequestBudget } from "../../src/codat/request-budget.js";
import { errorCodeOf } from "../../src/errors.js";
import { COMPANY, CONNECTION, useFakeCodat, OTHER_COMPANY, after, customersPage, hang, sendJson, type Responder } from "./fake-codat.js";

/** Destroys a download body, as a consumer that gives up does, and waits until it has closed. */
async function destroyBody(body: Readable | null): Promise<void> {
  if (body === null || body.closed) return;
  const closed = once(body, "close");
  body.destroy();
  await closed;
}

/** Reads a download body to the end, discarding the bytes. */
async function drain(body: Readable | null): Promise<void> {
  for await (const _chunk of body ?? []);
}

describe("KeyedLimiter", () => {
  it("admits up to the limit per key and serves waiters first come, first served", async () => {
    const limiter = new KeyedLimiter(2);
    const first = await limiter.acquire("a");
    const second = await limiter.acquire("a");
    const order: string[] = [];
    const third = limiter.acquire("a").then((release) => (order.push("third"), release));
    const fourth = limiter.acquire("a").then((release) => (order.push("fourth"), release));
    const other = await limiter.acquire("b"); // another key is not blocked
    expect(limiter.inFlight("a")).toBe(2);
    expect(limiter.queued("a")).toBe(2);
    expect(limiter.inFlight("b")).toBe(1);

    first();
    first(); // releasing twice must not free a second slot
    const thirdRelease = await third;
    expect(order).toEqual(["third"]);
    expect(limiter.inFlight("a")).toBe(2);
    expect(limiter.queued("a")).toBe(1);

    second();
    (await fourth)();
    thirdRelease();
    other();
    expect(order).toEqual(["third", "fourth"]);
    expect(limiter.inFlight("a")).toBe(0);
    expect(limiter.queued("a")).toBe(0);
  });

  it("lets downloads hold only their share, so calls always get the other slots", async () => {
    const limiter = new KeyedLimiter(3, { maxDownloadsPerKey: 1 });
    const download = await limiter.acquire("a", { kind: "download" });
    const order: string[] = [];
    const secondDownload = limiter.acquire("a", { kind: "download" }).then((release) => (order.push("download"), release));
    // The waiting download does not block calls behind it: two slots are still free for them.
    const callOne = await limiter.acquire("a");
    const callTwo = await limiter.acquire("a");
    expect(limiter.inFlight("a")).toBe(3);
    expect(limiter.downloadsInFlight("a")).toBe(1);
    const callThree = limiter.acquire("a").then((release) => (order.push("call"), release));

    // A call's slot frees up: the download waited longer, but downloads are at their share, so the call gets it.
    callOne();
    (await callThree)();
    expect(order).toEqual(["call"]);
    // The download's own slot frees up: the waiting download gets it.
    download();
    (await secondDownload)();
    expect(order).toEqual(["call", "download"]);
    callTwo();
    expect(limiter.inFlight("a")).toBe(0);
    expect(limiter.queued("a")).toBe(0);
  });

  it("serves the longest-waiting eligible waiter of either kind", async () => {
    const limiter = new KeyedLimiter(1, { maxDownloadsPerKey: 1 });
    const held = await limiter.acquire("a");
    const order: string[] = [];
    const download = limiter.acquire("a", { kind: "download" }).then((release) => (order.push("download"), release));
    const call = limiter.acquire("a").then((release) => (order.push("call"), release));
    held();
    (await download)();
    (await call)();
    expect(order).toEqual(["download", "call"]);
  });

  it("admits by deadline: waits while its estimated start is within its wait limit, refused at once beyond it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    try {
      const cap = 2;
      const serviceMs = 100;
      const limiter = new KeyedLimiter(cap, { maxQueuedPerKey: 1_000 });
      // One observed round: slots held `serviceMs` each.
      const first = await Promise.all([limiter.acquire("a"), limiter.acquire("a")]);
      vi.advanceTimersByTime(serviceMs);
      for (const release of first) release();
      expect(limiter.serviceMs).toBe(serviceMs);
      const holders = await Promise.all([limiter.acquire("a"), limiter.acquire("a")]);
      // With a 250 ms limit: the 1st and 2nd waiters start after one round, the 3rd and 4th after two; the 5th's
      // third round (300 ms) is past it.
      const limitMs = 250;
      const admitted = Array.from({ length: 4 }, () => limiter.acquire("a", { maxWaitMs: limitMs }));
      expect(limiter.queued("a")).toBe(4);
      await expect(limiter.acquire("a", { maxWaitMs: limitMs })).rejects.toMatchObject({
        name: "SlotUnavailable",
        reason: "too_late",
        retryAfterMs: 3 * serviceMs,
      });
      // A longer limit is admitted (no count refuses it), and an idle company is never estimated.
      const patient = limiter.acquire("a", { maxWaitMs: 10 * serviceMs });
      expect(limiter.estimateWaitMs("b")).toBe(0);
      (await limiter.acquire("b", { maxWaitMs: 0 }))();
      for (const release of holders) release();
      for (const waiter of [...admitted, patient]) (await waiter)();
      expect(limiter.inFlight("a")).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses at once when a kind's queue is full", async () => {
    const limiter = new KeyedLimiter(1, { maxDownloadsPerKey: 1, maxQueuedPerKey: 1, maxQueuedDownloadsPerKey: 0 });
    const held = await limiter.acquire("a");
    const waiting = limiter.acquire("a");
    await expect(limiter.acquire("a")).rejects.toMatchObject({ name: "SlotUnavailable", reason: "queue_full" });
    await expect(limiter.acquire("a", { kind: "download" })).rejects.toMatchObject({ reason: "queue_full" });
    expect(limiter.queued("a")).toBe(1);
    held();
    (await waiting)();
    expect(limiter.inFlight("a")).toBe(0);
  });

  it("gives up a wait after maxWaitMs without consuming a slot", async () => {
    vi.useFakeTimers();
    try {
      const limiter = new KeyedLimiter(1);
      const held = await limiter.acquire("a");
      const waiting = limiter.acquire("a", { maxWaitMs: 1_000 });
      const outcome = waiting.then(
        () => "granted",
        (error: unknown) => (error as { reason?: string }).reason,
      );
      await vi.advanceTimersByTimeAsync(999);
      expect(limiter.queued("a")).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(await outcome).toBe("wait_timeout");
      expect(limiter.queued("a")).toBe(0);
      held();
      expect(limiter.inFlight("a")).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("removes an aborted waiter without consuming a slot", async () => {
    const limiter = new KeyedLimiter(1);
    const held = await limiter.acquire("a");
    const controller = new AbortController();
    const waiting = limiter.acquire("a", { signal: controller.signal });
    const next = limiter.acquire("a");
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(limiter.queued("a")).toBe(1);
    held();
    (await next)();
    expect(limiter.inFlight("a")).toBe(0);
  });

  it("rejects a non-positive limit", () => {
    expect(() => new KeyedLimiter(0)).toThrow(RangeError);
  });
});

describe("client concurrency", () => {
  const fake = useFakeCodat();

  const client = (overrides: Partial<CodatClientOptions> = {}) =>
    new CodatClient({ baseUrl: fake.origin, retryInitialDelayMs: 5, retryMaxDelayMs: 10, ...overrides });

  it("spends a budget token only on a request sent: none for calls refused or cancelled in the company queue, one per retry", async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let failFirst = true;
    fake.always(async (request, response) => {
      if (request.path.includes(COMPANY)) await gate;
      if (request.path.includes(OTHER_COMPANY) && failFirst) {
        failFirst = false;
        sendJson(response, 503, {});
        return;
      }
      sendJson(response, 200, customersPage(1));
    });
    const taken: string[] = [];
    const budget: RequestBudget = {
      take: (key) => {
        taken.push(key);
        return Promise.resolve();
      },
      waiting: () => 0,
      start: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const codat = client({ maxConcurrentPerCompany: 1, maxQueuedPerCompany: 1, budget });
    const held = codat.listCustomers(COMPANY, { page: 1, pageSize: 1 });
    await waitFor(() => fake.received.length === 1);
    const controller = new AbortController();
    const cancelled = codat
      .listCustomers(COMPANY, { page: 2, pageSize: 1 }, { signal: controller.signal })
      .catch((error: unknown) => error);
    // The queue (1) is full: refused at once, RATE_LIMITED, and nothing spent.
    const refused = await Promise.all(
      Array.from({ length: 5 }, () => codat.listCustomers(COMPANY, { page: 3, pageSize: 1 }).catch((error: unknown) => error)),
    );
    for (const error of refused) expect(errorCodeOf(error)).toBe("RATE_LIMITED");
    controller.abort(new Error("client went away"));
    expect(await cancelled).toEqual(new Error("client went away"));
    open();
    await held;
    expect(taken).toEqual([COMPANY]);
    // A retried call takes one token per attempt sent.
    await codat.listCustomers(OTHER_COMPANY, { page: 1, pageSize: 1 });
    expect(taken).toEqual([COMPANY, OTHER_COMPANY, OTHER_COMPANY]);
    expect(fake.received).toHaveLength(3);
  });

  it("keeps at most N requests per company in flight without blocking other companies", async () => {
    // Requests for COMPANY are held until the gate opens; OTHER_COMPANY is answered at once.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    fake.always(async (request, response) => {
      if (request.path.includes(COMPANY)) await gate;
      sendJson(response, 200, customersPage(1));
    });
    const codat = client({ maxConcurrentPerCompany: 3 });
    const busy = Promise.allSettled(Array.from({ length: 10 }, (_, i) => codat.listCustomers(COMPANY, { page: i + 1, pageSize: 1 })));
    try {
      await waitFor(() => fake.received.length === 3);
      expect(codat.inFlight(COMPANY)).toBe(3);
      expect(codat.queued(COMPANY)).toBe(7);
      expect(codat.inFlight(COMPANY.toUpperCase())).toBe(3);

      // Another company goes straight through while COMPANY is saturated.
      await expect(codat.listCustomers(OTHER_COMPANY, { page: 1, pageSize: 1 })).resolves.toMatchObject({ totalResults: 1 });
      expect(codat.inFlight(COMPANY)).toBe(3);
      expect(codat.queued(COMPANY)).toBe(7);
      // The first three calls made are the three admitted.
      const admitted = fake.received.filter((r) => r.path.includes(COMPANY)).map((r) => Number(r.query.get("page")));
      expect(admitted.sort((x, y) => x - y)).toEqual([1, 2, 3]);
    } finally {
      open();
    }
    const results = await busy;
    expect(results.every((r) => r.status === "fulfilled")).toBe(true);
    expect(fake.peakConcurrency(COMPANY)).toBe(3);
    expect(fake.received.filter((r) => r.path.includes(COMPANY))).toHaveLength(10);
    expect(codat.inFlight(COMPANY)).toBe(0);
  });

  it("does not hold a slot while sleeping between retries", async () => {
    const fail: Responder = (_request, response) => sendJson(response, 503, {});
    const ok: Responder = (_request, response) => sendJson(response, 200, customersPage(1));
    fake.script(after(30, fail)).always(ok);
    const codat = client({ maxConcurrentPerCompany: 1, retryInitialDelayMs: 50, retryMaxDelayMs: 50 });
    const a = codat.listCustomers(COMPANY, { page: 1, pageSize: 1 });
    const b = codat.listCustomers(COMPANY, { page: 2, pageSize: 1 });
    await Promise.all([a, b]);
    // If A kept its slot while backing off, its retry would reach the server before B.
    expect(fake.received.map((r) => r.query.get("page"))).toEqual(["1", "2", "1"]);
  });

  it("fails a call that got no slot before its deadline with RATE_LIMITED, having sent nothing", async () => {
    // An unread download holds the only slot (its deadline stops counting once headers arrive).
    fake.always((request, response) => {
      if (request.path.endsWith("/download")) {
        response.writeHead(200, { "content-type": "application/pdf" });
        response.write("%PDF");
        return;
      }
      sendJson(response, 200, customersPage(1));
    });
    const codat = client({ maxConcurrentPerCompany: 1, deadlineMs: 200 });
    const holder = await codat.downloadCustomerAttachment(COMPANY, CONNECTION, "c", "a");
    try {
      const error: unknown = await codat.listCustomers(COMPANY, { page: 1, pageSize: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(errorCodeOf(error)).toBe("RATE_LIMITED");
      expect((error as { extensions: Record<string, unknown> }).extensions["retryAfterSeconds"]).toBe(1);
      expect(fake.received).toHaveLength(1);
      expect(codat.queued(COMPANY)).toBe(0);
    } finally {
      await destroyBody(holder.body);
    }
    expect(codat.inFlight(COMPANY)).toBe(0);
  });

  it("releases the slot of an aborted call", async () => {
    fake.always(hang);
    const codat = client({ maxConcurrentPerCompany: 1, attemptTimeoutMs: 5_000 });
    const controller = new AbortController();
    const first = codat.listCustomers(COMPANY, { page: 1, pageSize: 1 }, { signal: controller.signal });
    const queuedController = new AbortController();
    const second = codat.listCustomers(COMPANY, { page: 2, pageSize: 1 }, { signal: queuedController.signal });
    // The first holds the slot and has reached Codat; the second waits for the slot.
    await waitFor(() => codat.queued(COMPANY) === 1 && fake.received.length === 1);
    queuedController.abort();
    controller.abort();
    await Promise.allSettled([first, second]);
    expect(codat.inFlight(COMPANY)).toBe(0);
    expect(codat.queued(COMPANY)).toBe(0);
    expect(fake.received).toHaveLength(1);
  });
});

describe("downloadCustomerAttachment", () => {
  const fake = useFakeCodat();

  const SIZE = 4 * 1024 * 1024;
  const payload = Buffer.alloc(SIZE, 0);
  for (let i = 0; i < SIZE; i += 1) payload[i] = (i * 31 + 7) % 251;

  /** Streams `payload` in 64 KiB chunks, respecting backpressure. */
  const streamPayload: Responder = (_request, response) => {
    response.writeHead(200, { "content-type": "application/pdf", "content-length": String(SIZE) });
    let offset = 0;
    const write = (): void => {
      while (offset < SIZE) {
        const chunk = payload.subarray(offset, offset + 65_536);
        offset += chunk.length;
        if (!response.write(chunk)) {
          response.once("drain", write);
          return;
        }
      }
      response.end();
    };
    write();
  };

  const client = (overrides: Partial<CodatClientOptions> = {}) =>
    new CodatClient({ baseUrl: fake.origin, apiKey: "k", retryInitialDelayMs: 5, retryMaxDelayMs: 10, ...overrides });
  const download = (codat: CodatClient, options: Parameters<CodatClient["downloadCustomerAttachment"]>[4] = {}) =>
    codat.downloadCustomerAttachment(COMPANY, CONNECTION, "cust 1", "att-1", options);

  it("streams the bytes and holds the slot until the body ends", async () => {
    fake.always(streamPayload);
    const codat = client();
    const result = await download(codat);
    expect(result.status).toBe(200);
    expect(result.contentType).toBe("application/pdf");
    expect(result.contentLength).toBe(SIZE);
    expect(codat.inFlight(COMPANY)).toBe(1);

    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of (result.body ?? []) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.byteLength;
    }
    expect(bytes).toBe(SIZE);
    expect(hash.digest("hex")).toBe(createHash("sha256").update(payload).digest("hex"));
    expect(codat.inFlight(COMPANY)).toBe(0);

    const [request] = fake.received;
    expect(request?.path).toBe(`/companies/${COMPANY}/connections/${CONNECTION}/data/customers/cust%201/attachments/att-1/download`);
    expect(request?.headers["accept"]).toBe("*/*");
  });

  it("releases the slot when the consumer destroys the body mid-stream", async () => {
    fake.always(streamPayload);
    const codat = client();
    const result = await download(codat);
    const body = result.body;
    if (body === null) throw new Error("no body");
    await once(body, "readable");
    const first: unknown = body.read();
    expect(first).toBeInstanceOf(Buffer);
    expect(codat.inFlight(COMPANY)).toBe(1);
    await destroyBody(body);
    expect(codat.inFlight(COMPANY)).toBe(0);
  });

  it("releases the slot when the caller aborts while nobody reads", async () => {
    fake.always(streamPayload);
    const codat = client();
    const controller = new AbortController();
    const result = await download(codat, { signal: controller.signal });
    expect(codat.inFlight(COMPANY)).toBe(1);
    controller.abort();
    expect(codat.inFlight(COMPANY)).toBe(0);
    // A chunk read ahead before the abort may still be delivered; the stream then fails with the abort.
    await expect(drain(result.body)).rejects.toMatchObject({ name: "AbortError" });
  });

  it("answers HEAD without a body and without holding the slot", async () => {
    fake.always((_request, response) => {
      response.writeHead(200, { "content-type": "image/png", "content-length": "1234" });
      response.end();
    });
    const codat = client();
    const result = await download(codat, { method: "HEAD" });
    expect(result).toMatchObject({ status: 200, contentType: "image/png", contentLength: 1234, body: null });
    expect(fake.received[0]?.method).toBe("HEAD");
    expect(codat.inFlight(COMPANY)).toBe(0);
  });

  it("retries a 503 before the body starts, and maps a 404", async () => {
    fake.script((_request, response) => sendJson(response, 503, {})).always(streamPayload);
    const codat = client();
    const result = await download(codat);
    await destroyBody(result.body);
    expect(fake.received).toHaveLength(2);

    fake.always((_request, response) => sendJson(response, 404, { statusCode: 404, error: "No attachment" }));
    await expect(download(codat)).rejects.toMatchObject({ extensions: { code: "NOT_FOUND", upstream: { status: 404 } } });
    expect(codat.inFlight(COMPANY)).toBe(0);
  });

  it("errors the stream with a coded error when the connection drops mid-body", async () => {
    fake.always((_request, response) => {
      response.writeHead(200, { "content-type": "application/pdf", "content-length": String(SIZE) });
      response.write(payload.subarray(0, 1024));
      setTimeout(() => response.socket?.destroy(), 20);
    });
    const codat = client();
    const result = await download(codat);
    const error: unknown = await drain(result.body).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorCodeOf(error)).toBe("UPSTREAM_UNAVAILABLE");
    expect(codat.inFlight(COMPANY)).toBe(0);
  });
});
