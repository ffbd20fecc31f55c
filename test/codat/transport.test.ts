/**
 * The undici transport under ky: a successful JSON answer is a real Response with its headers and the whole
 * body (capped), a streamed one a web body read chunk by chunk and told over once, an error answer an ordinary (capped) body; connection
 * reuse; timeouts and failures before the headers as fetch's network error that names its cause; and,
 * through the client, error bodies, decoding, idle bodies and mid-body failures that never surface as raw
 * socket errors.
 */
import { once } from "node:events";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import type { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { CodatClient } from "../../src/codat/client.js";
import { upstreamUnavailable } from "../../src/codat/errors.js";
import { ResponseTooLargeError, send, type AttemptOptions } from "../../src/codat/transport.js";
import { errorCodeOf } from "../../src/errors.js";
import { COMPANY, CONNECTION, customersPage, useFakeCodat, hang, sendJson, sendText } from "./fake-codat.js";

async function text(body: Readable | ReadableStream<Uint8Array> | null | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body ?? []) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString("utf8");
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

const json: AttemptOptions = { body: "json", timeoutMs: 5_000, streamIdleTimeoutMs: 5_000, streamError: upstreamUnavailable };
const stream: AttemptOptions = { ...json, body: "stream" };

describe("send", () => {
  const fake = useFakeCodat();

  it("hands a JSON answer over as a Response with its headers and whole body, and a streamed one as a web body, its end told once", async () => {
    fake.always((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain", "x-answer": "42" });
      response.end("hello");
    });

    const whole = await send(new Request(`${fake.origin}/a`, { headers: { accept: "*/*" } }), json);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("x-answer")).toBe("42");
    expect(await whole.text()).toBe("hello");

    let over = 0;
    const streamed = await send(new Request(`${fake.origin}/b`), { ...stream, onStreamDone: () => (over += 1) });
    expect(streamed.headers.get("x-answer")).toBe("42");
    expect(streamed.headers.get("content-type")).toBe("text/plain");
    expect(streamed.body).toBeInstanceOf(ReadableStream);
    expect(over).toBe(0);
    expect(await streamed.text()).toBe("hello");
    await waitFor(() => over === 1);

    // Only the headers it was given: the transport adds none of its own.
    expect(fake.received.map((r) => r.headers["accept"])).toEqual(["*/*", undefined]);
  });

  it("reuses kept-alive connections for sequential calls", async () => {
    const ports: (number | undefined)[] = [];
    fake.always((_request, response) => {
      ports.push(response.socket?.remotePort);
      response.writeHead(200, { "content-length": "3" });
      response.end("abc");
    });
    for (let i = 0; i < 3; i += 1) expect(await (await send(new Request(`${fake.origin}/${i}`), json)).text()).toBe("abc");
    const streamed = await send(new Request(`${fake.origin}/s`), stream);
    expect(await text(streamed.body)).toBe("abc");
    // The pool takes the socket back once the body's end has been processed.
    await new Promise((resolve) => setImmediate(resolve));
    expect(await (await send(new Request(`${fake.origin}/after`), json)).text()).toBe("abc");
    // Sequential calls: one in flight, at most one more finishing, so the pool never needs a third socket.
    expect(ports).toHaveLength(5);
    expect(new Set(ports).size).toBeLessThanOrEqual(2);
  });

  it("gives an error answer its text as an ordinary body", async () => {
    fake.always((_request, response) => sendJson(response, 503, { statusCode: 503, error: "busy" }));
    const answer = await send(new Request(`${fake.origin}/x`), json);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toEqual({ statusCode: 503, error: "busy" });
  });

  it("answers a HEAD and a 204 without a body, and rejects with the abort reason before the headers", async () => {
    fake.always((request, response) => {
      if (request.path === "/hang") return hang(request, response);
      response.writeHead(request.method === "HEAD" ? 200 : 204, { "content-length": "0" });
      response.end();
    });
    const head = await send(new Request(`${fake.origin}/x`, { method: "HEAD" }), stream);
    expect(head.body).toBeNull();

    const empty = await send(new Request(`${fake.origin}/y`), json);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();

    const controller = new AbortController();
    const pending = send(new Request(`${fake.origin}/hang`, { signal: controller.signal }), json);
    await waitFor(() => fake.received.some((r) => r.path === "/hang"));
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("reports headers that do not come in time, and a JSON body that stalls, as a network error caused by undici's timeout", async () => {
    fake.always((request, response) => {
      if (request.path === "/slow-headers") return hang(request, response);
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"partial":');
      // …and nothing more until the client gives up.
    });
    const headers = await rejection(send(new Request(`${fake.origin}/slow-headers`), { ...json, timeoutMs: 50 }));
    expect(headers).toBeInstanceOf(TypeError);
    expect(headers).toMatchObject({ message: "fetch failed", cause: { code: "UND_ERR_HEADERS_TIMEOUT" } });
    const body = await rejection(send(new Request(`${fake.origin}/stalled-body`), { ...json, timeoutMs: 50 }));
    expect(body).toBeInstanceOf(TypeError);
    expect(body).toMatchObject({ message: "fetch failed", cause: { code: "UND_ERR_BODY_TIMEOUT" } });
  });

  it("caps a JSON answer as it is decoded: a declared length, a chunked body and a gzip bomb all stop at maxBodyBytes", async () => {
    const limit = 64 * 1024;
    // 64 MiB of JSON that gzips to about 64 KiB: stopped after about one window of it decoded, not inflated whole.
    const bomb = gzipSync(Buffer.from(`[${'"x",'.repeat(16 * 1024 * 1024)}"x"]`));
    fake.always((request, response) => {
      if (request.path === "/declared") {
        sendText(response, 200, "x".repeat(limit + 1));
        return;
      }
      if (request.path === "/chunked") {
        response.writeHead(200, { "content-type": "application/json" });
        response.write("x".repeat(limit));
        response.end("y");
        return;
      }
      if (request.path === "/bomb") {
        response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
        response.end(bomb);
        return;
      }
      sendText(response, 200, "x".repeat(limit));
    });
    const capped = { ...json, maxBodyBytes: limit };
    for (const path of ["/declared", "/chunked", "/bomb"]) {
      const error = await rejection(send(new Request(`${fake.origin}${path}`), capped));
      expect(error, path).toBeInstanceOf(ResponseTooLargeError);
    }
    expect((await (await send(new Request(`${fake.origin}/exact`), capped)).text()).length).toBe(limit);
  });

  it("tells a streamed body's reader's cancel as its end, once, and closes the upstream body", async () => {
    fake.always((_request, response) => {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      response.write(Buffer.alloc(1024));
      // …and more that never comes.
    });
    let over = 0;
    const streamed = await send(new Request(`${fake.origin}/file`), { ...stream, onStreamDone: () => (over += 1) });
    const reader = streamed.body!.getReader();
    expect((await reader.read()).value?.byteLength).toBe(1024);
    await reader.cancel();
    await waitFor(() => over === 1);
    await waitFor(() => fake.received.length === 1);
    expect(over).toBe(1);
  });

  it("fails as a network error that names the cause when nothing listens", async () => {
    const server = createNetServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, "close");
    const error = await rejection(send(new Request(`http://127.0.0.1:${port}/`), json));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ message: "fetch failed", cause: { code: "ECONNREFUSED" } });
  });
});

describe("downloads through the transport", () => {
  const fake = useFakeCodat();

  const client = (baseUrl = fake.origin) =>
    new CodatClient({ baseUrl, apiKey: "k", retryInitialDelayMs: 5, retryMaxDelayMs: 10, retryLimit: 1 });
  const download = (codat: CodatClient) => codat.downloadCustomerAttachment(COMPANY, CONNECTION, "c", "a");

  it("fails a JSON answer beyond maxResponseBytes UPSTREAM_ERROR at once, without a retry, and frees the slot", async () => {
    fake.always((_request, response) => sendJson(response, 200, customersPage(200)));
    const codat = new CodatClient({
      baseUrl: fake.origin,
      apiKey: "k",
      retryInitialDelayMs: 5,
      retryMaxDelayMs: 10,
      retryLimit: 3,
      maxResponseBytes: 4096,
    });
    const error = await rejection(codat.listCustomers(COMPANY, { page: 1, pageSize: 200 }));
    expect(errorCodeOf(error)).toBe("UPSTREAM_ERROR");
    expect((error as Error).message).toContain("larger than the gateway accepts");
    expect((error as Error).message).not.toContain(fake.origin);
    expect(fake.received).toHaveLength(1);
    expect(codat.inFlight(COMPANY)).toBe(0);
  });

  it("reads a 4xx error body (Codat's text reaches the message) and frees the slot", async () => {
    fake.always((_request, response) => sendJson(response, 400, { statusCode: 400, error: "Attachment id is malformed" }));
    const codat = client();
    const error = await rejection(download(codat));
    expect(error).toMatchObject({
      message: expect.stringContaining("Attachment id is malformed"),
      extensions: { code: "BAD_USER_INPUT", upstream: { status: 400 } },
    });
    expect(codat.inFlight(COMPANY)).toBe(0);
    expect(fake.received).toHaveLength(1);
  });

  it("sends the credentials and identity encoding, and decodes a body gzip-encoded anyway (dropping its length)", async () => {
    const original = Buffer.from("%PDF-1.7 ".repeat(10_000));
    const encoded = gzipSync(original);
    fake.always((_request, response) => {
      response.writeHead(200, {
        "content-type": "application/pdf",
        "content-encoding": "gzip",
        "content-length": String(encoded.length),
      });
      response.end(encoded);
    });
    const codat = client();
    const result = await download(codat);
    expect(result.contentLength).toBeUndefined();
    expect(await text(result.body)).toBe(original.toString("utf8"));
    expect(codat.inFlight(COMPANY)).toBe(0);
    expect(fake.received[0]?.headers).toMatchObject({
      authorization: `Basic ${Buffer.from("k").toString("base64")}`,
      "accept-encoding": "identity",
    });
  });

  describe("with a raw TCP upstream", () => {
    let server: NetServer;
    let answer: (socket: Socket) => void;
    beforeEach(async () => {
      server = createNetServer((socket) => {
        socket.once("data", () => answer(socket));
        socket.on("error", () => undefined);
      });
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
    });
    afterEach(async () => {
      server.close();
      await once(server, "close");
    });
    const origin = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    it("fails the body with a coded error, never the parser's, when the chunked encoding breaks mid-body", async () => {
      answer = (socket) => {
        socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/pdf\r\ntransfer-encoding: chunked\r\n\r\n4\r\n%PDF\r\n");
        setTimeout(() => socket.write("zz-not-a-chunk-size\r\n"), 20);
      };
      const codat = client(origin());
      const result = await download(codat);
      const error = await rejection(text(result.body));
      expect(errorCodeOf(error)).toBe("UPSTREAM_UNAVAILABLE");
      expect(JSON.stringify(error)).not.toContain("127.0.0.1");
      expect(codat.inFlight(COMPANY)).toBe(0);
    });

    it("fails a streamed body that goes quiet with a coded error within the idle timeout, and frees the slot", async () => {
      answer = (socket) => {
        socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/pdf\r\ncontent-length: 100000\r\n\r\n%PDF");
      };
      const codat = new CodatClient({ baseUrl: origin(), retryLimit: 0, streamIdleTimeoutMs: 100 });
      const result = await download(codat);
      const error = await rejection(text(result.body));
      expect(errorCodeOf(error)).toBe("UPSTREAM_UNAVAILABLE");
      expect(codat.inFlight(COMPANY)).toBe(0);
    });

    it("fails the body with a coded error when the connection is reset mid-body", async () => {
      answer = (socket) => {
        socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/pdf\r\ncontent-length: 100000\r\n\r\n%PDF");
        setTimeout(() => socket.resetAndDestroy(), 20);
      };
      const codat = client(origin());
      const result = await download(codat);
      const error = await rejection(text(result.body));
      expect(errorCodeOf(error)).toBe("UPSTREAM_UNAVAILABLE");
      expect(codat.inFlight(COMPANY)).toBe(0);
    });
  });
});
