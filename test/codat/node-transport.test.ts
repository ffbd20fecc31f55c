/**
 * The node:http transport behind streamed downloads: a fetch-compatible Response whose web body is only a
 * fallback (ky reads error answers through it) while a successful body is read once, as the raw Node stream;
 * connection reuse without leftover listeners; failures before and after the headers; and, through the
 * client, error bodies, decoding and mid-body failures that never surface as raw socket errors.
 */
import { once } from "node:events";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import type { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { CodatClient } from "../../src/codat/client.js";
import { freeChunk, nodeBodyOf, nodeFetch, takeNodeBody } from "../../src/codat/node-transport.js";
import { errorCodeOf } from "../../src/errors.js";
import { COMPANY, CONNECTION, useFakeCodat, hang, sendJson } from "./fake-codat.js";

async function text(body: Readable | null): Promise<string> {
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

describe("nodeFetch", () => {
  const fake = useFakeCodat();

  it("answers a Response whose body can be read once, either as the Node stream or as the web stream", async () => {
    fake.always((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain", "x-answer": "42" });
      response.end("hello");
    });

    const viaNode = await nodeFetch(`${fake.origin}/a`, { headers: { accept: "*/*" } });
    expect(viaNode.status).toBe(200);
    expect(viaNode.headers.get("x-answer")).toBe("42");
    const message = nodeBodyOf(viaNode);
    expect(message).toBeDefined();
    expect(takeNodeBody(viaNode)).toBe(message);
    expect(await text(message ?? null)).toBe("hello");
    // The web twin refuses: the bytes went to the Node reader.
    await expect(viaNode.text()).rejects.toThrow(/Node stream/);

    const viaWeb = await nodeFetch(`${fake.origin}/b`);
    expect(await viaWeb.text()).toBe("hello");
    expect(() => takeNodeBody(viaWeb)).toThrow(/web stream/);

    expect(fake.received.map((r) => r.headers["accept"])).toEqual(["*/*", undefined]);
  });

  it("reuses the connection and leaves no listeners on it", async () => {
    fake.always((_request, response) => {
      response.writeHead(200, { "content-length": "3" });
      response.end("abc");
    });
    const sockets: Socket[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await nodeFetch(`${fake.origin}/${i}`);
      const body = takeNodeBody(response);
      if (body === undefined) throw new Error("no body");
      sockets.push(body.socket);
      expect(await text(body)).toBe("abc");
      // Let the agent take the socket back before the next request.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(new Set(sockets).size).toBe(1);
    const [socket] = sockets;
    if (socket === undefined) throw new Error("no socket");
    // What an idle pooled socket carries is the agent's business; nothing of ours may pile up per request.
    const idle = { close: socket.listenerCount("close"), data: socket.listenerCount("data") };
    const response = await nodeFetch(`${fake.origin}/again`);
    expect(await text(takeNodeBody(response) ?? null)).toBe("abc");
    await new Promise((resolve) => setImmediate(resolve));
    expect({ close: socket.listenerCount("close"), data: socket.listenerCount("data") }).toEqual(idle);
  });

  it("answers a HEAD and a 204 without a body, and rejects with the abort reason before the headers", async () => {
    fake.always((request, response) => {
      if (request.path === "/hang") return hang(request, response);
      response.writeHead(request.method === "HEAD" ? 200 : 204, { "content-length": "0" });
      response.end();
    });
    const head = await nodeFetch(`${fake.origin}/x`, { method: "HEAD" });
    expect(head.body).toBeNull();
    expect(nodeBodyOf(head)).toBeUndefined();
    const empty = await nodeFetch(`${fake.origin}/y`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();

    const controller = new AbortController();
    const pending = nodeFetch(`${fake.origin}/hang`, { signal: controller.signal });
    await waitFor(() => fake.received.some((r) => r.path === "/hang"));
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("fails as a network error that names the cause when nothing listens", async () => {
    const server = createNetServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, "close");
    const error = await rejection(nodeFetch(`http://127.0.0.1:${port}/`));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ message: "fetch failed", cause: { code: "ECONNREFUSED" } });
  });
});

describe("freeChunk", () => {
  it("frees a chunk that is its whole buffer, and leaves shared buffers alone", () => {
    const own = Buffer.allocUnsafeSlow(1024).fill(1);
    freeChunk(own);
    expect(own.byteLength).toBe(0);
    freeChunk(own); // already freed: nothing to do, no throw

    const backing = Buffer.allocUnsafeSlow(1024).fill(2);
    const part = backing.subarray(0, 512);
    freeChunk(part);
    expect(part.byteLength).toBe(512);
    expect(backing.byteLength).toBe(1024);

    const pooled = Buffer.from("small"); // a slice of Buffer's shared pool
    freeChunk(pooled);
    expect(pooled.toString()).toBe("small");
  });
});

describe("downloads through the node transport", () => {
  const fake = useFakeCodat();

  const client = (baseUrl = fake.origin) =>
    new CodatClient({ baseUrl, apiKey: "k", retryInitialDelayMs: 5, retryMaxDelayMs: 10, retryLimit: 1 });
  const download = (codat: CodatClient) => codat.downloadCustomerAttachment(COMPANY, CONNECTION, "c", "a");

  it("reads a 4xx error body through the web stream (Codat's text reaches the message) and frees the slot", async () => {
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
