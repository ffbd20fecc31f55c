/**
 * The one error table (errors.ts HTTP_STATUS) and the one handler (http/errors.ts): every non-GraphQL HTTP error
 * — fastify's 404 and 405, a route's own refusals (webhook, download), a body too large, a malformed request
 * on the socket, a refused WebSocket upgrade — is `{ "error": { "code", "message", ...extra } }` as JSON, with a
 * code of the one vocabulary and the table's status for it. A body too large is 413 BAD_USER_INPUT on every
 * route, /graphql included (there as a GraphQL response).
 */
import { connect } from "node:net";
import { request as httpRequest } from "node:http";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ATTACHMENT_CUSTOMER_ID } from "codat-simulator";
import { beforeAll, describe, expect, it } from "vitest";
import { DownloadLinks } from "../../src/downloads/links.js";
import { BODY_TOO_LARGE, HTTP_STATUS, upstreamStatus } from "../../src/errors.js";
import { useStack } from "../helpers/stack.js";
import { jwtEnv } from "../security/support.js";
import { newWebhookSecret } from "../webhooks/helpers.js";

const SIGNING_SECRET = "errors-test-signing-secret-0123456789";
const WEBHOOK_MAX_BODY = 4096;
const stack = useStack({
  env: jwtEnv({
    SIGNING_SECRET,
    CODAT_WEBHOOK_SECRET: newWebhookSecret(),
    CODAT_WEBHOOK_MAX_BODY_BYTES: String(WEBHOOK_MAX_BODY),
    MAX_REQUEST_BYTES: "4096",
  }),
});
let signer: DownloadLinks;
beforeAll(() => {
  signer = new DownloadLinks({ secret: SIGNING_SECRET, ttlSeconds: 60, baseUrl: () => stack.origin });
});

interface Answer {
  status: number;
  contentType: string | null;
  body: unknown;
}

async function answerOf(response: Response): Promise<Answer> {
  return { status: response.status, contentType: response.headers.get("content-type"), body: await response.json() };
}

/** The one shape: a JSON object `{ error: { code, message, ... } }`, with the table's status for its code. */
function expectOneShape(label: string, answer: Answer, code: string, status = HTTP_STATUS[code as keyof typeof HTTP_STATUS]): void {
  expect(answer.contentType, label).toMatch(/^application\/json/);
  expect(answer.status, label).toBe(status);
  expect(Object.keys(answer.body as object), label).toEqual(["error"]);
  const error = (answer.body as { error: Record<string, unknown> }).error;
  expect(Object.keys(error).slice(0, 2), label).toEqual(["code", "message"]);
  expect(error["code"], label).toBe(code);
  expect(error["code"], label).toSatisfy((c: string) => c in HTTP_STATUS);
  expect(typeof error["message"], label).toBe("string");
}

const token = (attachmentId: string) =>
  signer.sign({ companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customerId: ATTACHMENT_CUSTOMER_ID, attachmentId });

describe("every non-GraphQL HTTP error has one shape, from the one table", () => {
  it("fastify's own: no such route (404), another method (405), a body too large (413)", async () => {
    expectOneShape("404", await answerOf(await fetch(`${stack.origin}/nope`)), "NOT_FOUND");
    const post = await fetch(`${stack.origin}/healthz`, { method: "POST" });
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expectOneShape("405", await answerOf(post), "METHOD_NOT_ALLOWED");
  });

  it("the webhook route: another method (405), no signature (401), a body over its cap (413), not JSON (400)", async () => {
    const url = `${stack.origin}/webhooks/codat`;
    const get = await fetch(url);
    expect(get.headers.get("allow")).toBe("POST");
    expectOneShape("webhook 405", await answerOf(get), "METHOD_NOT_ALLOWED");
    expectOneShape("webhook 401", await answerOf(await fetch(url, { method: "POST", body: "{}" })), "MISSING_SIGNATURE");
    const big = await answerOf(await fetch(url, { method: "POST", body: "x".repeat(WEBHOOK_MAX_BODY + 1) }));
    expectOneShape("webhook 413", big, BODY_TOO_LARGE.code, BODY_TOO_LARGE.status);
    expect(big.body).toEqual({ error: { code: "BAD_USER_INPUT", message: `Request body larger than ${WEBHOOK_MAX_BODY} bytes.` } });
  });

  it("the download route: bad credentials (401), a bad link (403), an attachment Codat does not have (404)", async () => {
    const listed = await token("gone-1");
    const bearer = await fetch(`${stack.origin}/downloads/${listed}`, { headers: { authorization: "Bearer not-a-jwt" } });
    expect(bearer.headers.get("www-authenticate")).toContain("Bearer");
    expectOneShape("download 401", await answerOf(bearer), "UNAUTHENTICATED");
    const forged = await answerOf(await fetch(`${stack.origin}/downloads/not-a-token`));
    expectOneShape("download 403", forged, "FORBIDDEN");
    expect(forged.body).toMatchObject({ error: { reason: "invalid" } });
    const gone = await answerOf(await fetch(`${stack.origin}/downloads/${listed}`));
    expectOneShape("download 404", gone, "NOT_FOUND", upstreamStatus("NOT_FOUND"));
    expect(gone.body).toMatchObject({ error: { upstream: { status: 404 } } });
  });

  it("a malformed request, answered on the socket (400)", async () => {
    const { port, hostname } = new URL(stack.origin);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect({ port: Number(port), host: hostname }, () => socket.write("NOT HTTP AT ALL\r\n\r\n"));
      let received = "";
      socket.on("data", (chunk: Buffer) => (received += chunk.toString("utf8")));
      socket.on("close", () => resolve(received));
      socket.on("error", reject);
    });
    const [head = "", body = ""] = text.split("\r\n\r\n");
    const contentType = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? null;
    expectOneShape("socket 400", { status: Number(head.split(" ")[1]), contentType, body: JSON.parse(body) as unknown }, "BAD_REQUEST");
  });

  it("a refused WebSocket upgrade: another path (404), another origin (403)", async () => {
    expectOneShape("upgrade 404", await upgrade(`${stack.origin}/other`), "NOT_FOUND");
    expectOneShape("upgrade 403", await upgrade(stack.url, { origin: "https://evil.example.com" }), "FORBIDDEN");
  });

  it("a body too large on /graphql: the same status, code and message, as a GraphQL response", async () => {
    const response = await fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }", variables: { pad: "x".repeat(5000) } }),
    });
    expect(response.status).toBe(BODY_TOO_LARGE.status);
    expect(await response.json()).toEqual({
      errors: [{ message: "Request body larger than 4096 bytes.", extensions: { code: BODY_TOO_LARGE.code } }],
    });
  });
});

/** A WebSocket upgrade expected to be refused: its status, content type and JSON body. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": Buffer.from("errors-test-key!").toString("base64"),
        "sec-websocket-protocol": "graphql-transport-ws",
        ...headers,
      },
    });
    request.on("upgrade", () => reject(new Error("upgraded")));
    request.on("response", (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          contentType: response.headers["content-type"] ?? null,
          body: JSON.parse(text) as unknown,
        }),
      );
    });
    request.on("error", reject);
    request.end();
  });
}
