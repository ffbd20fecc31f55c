import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { logSecrets, parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import type { PushOperationSignal } from "../../src/push-status/bus.js";
import { configProblems } from "../helpers/config.js";
import { memoryDestination } from "../helpers/logs.js";
import { startStack, useStack, type Stack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";
import { newWebhookSecret, sendWebhook, signedHeaders, webhookCount, writeEvent } from "./helpers.js";

const SECRET = newWebhookSecret();
const logs = memoryDestination();
const MAX_BODY = 4096;

/** Listens on the gateway's bus for one operation; returns the signals seen so far. */
function listen(stack: Stack, companyId: string, pushOperationKey: string): PushOperationSignal[] {
  const seen: PushOperationSignal[] = [];
  stack.gateway.pushStatus.subscribe({ companyId, pushOperationKey }, (signal) => seen.push(signal));
  return seen;
}

describe("POST /webhooks/codat", () => {
  const stack = useStack({
    env: { CODAT_WEBHOOK_SECRET: SECRET, CODAT_WEBHOOK_MAX_BODY_BYTES: String(MAX_BODY) },
    logger: createLogger({ level: "debug", pretty: false, secrets: [], destination: logs }),
  });
  const url = (): string => `${stack.origin}/webhooks/codat`;

  it("accepts a signed customers.write.successful event and publishes its push operation on the bus", async () => {
    const companyId = randomUUID();
    const key = randomUUID();
    const seen = listen(stack, companyId, key);
    const answer = await sendWebhook(url(), SECRET, writeEvent({ companyId, pushOperationKey: key }));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({});
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([{ companyId, pushOperationKey: key, source: "webhook", status: "Success" }]);
  });

  it("publishes an unsuccessful write with Codat's status (Failed, TimedOut)", async () => {
    const companyId = randomUUID();
    const failed = randomUUID();
    const timedOut = randomUUID();
    const seenFailed = listen(stack, companyId, failed);
    const seenTimedOut = listen(stack, companyId, timedOut);
    const eventType = "customers.write.unsuccessful";
    expect(
      (await sendWebhook(url(), SECRET, writeEvent({ companyId, pushOperationKey: failed, eventType, status: "Failed" }))).status,
    ).toBe(200);
    expect(
      (await sendWebhook(url(), SECRET, writeEvent({ companyId, pushOperationKey: timedOut, eventType, status: "TimedOut" }))).status,
    ).toBe(200);
    await waitFor(() => seenFailed.length === 1 && seenTimedOut.length === 1);
    expect(seenFailed[0]?.status).toBe("Failed");
    expect(seenTimedOut[0]?.status).toBe("TimedOut");
  });

  it("reads the migration guide's `Successful` as Success, and publishes a write of any data type", async () => {
    const companyId = randomUUID();
    const key = randomUUID();
    const seen = listen(stack, companyId, key);
    await sendWebhook(
      url(),
      SECRET,
      writeEvent({ companyId, pushOperationKey: key, eventType: "invoices.write.successful", status: "Successful" }),
    );
    await waitFor(() => seen.length === 1);
    expect(seen[0]?.status).toBe("Success");
  });

  it("answers a redelivery (same webhook-id) 200 and does nothing", async () => {
    const companyId = randomUUID();
    const key = randomUUID();
    const seen = listen(stack, companyId, key);
    const event = writeEvent({ companyId, pushOperationKey: key });
    const id = `msg_${randomUUID()}`;
    const duplicatesBefore = await webhookCount(stack.gateway.metricsUrl, "duplicate");
    expect((await sendWebhook(url(), SECRET, event, { id })).status).toBe(200);
    await waitFor(() => seen.length === 1);
    // Codat re-signs each attempt (a new timestamp), same id.
    const again = await sendWebhook(url(), SECRET, event, { id, at: new Date(Date.now() + 1_000) });
    expect(again.status).toBe(200);
    expect(await webhookCount(stack.gateway.metricsUrl, "duplicate")).toBe(duplicatesBefore + 1);
    // A later, different webhook for the same operation is published, so the replay's would have been seen by now.
    await sendWebhook(url(), SECRET, event);
    await waitFor(() => seen.length === 2);
    expect(seen).toHaveLength(2);
  });

  it("accepts and ignores event types it does not handle, and write events without a key or company", async () => {
    const ignoredBefore = await webhookCount(stack.gateway.metricsUrl, "ignored");
    const badShapeBefore = await webhookCount(stack.gateway.metricsUrl, "bad_shape");
    const company = { id: randomUUID(), eventType: "company.created", generatedDate: new Date().toISOString(), payload: {} };
    expect((await sendWebhook(url(), SECRET, company)).status).toBe(200);
    const noCompany = writeEvent({ companyId: "", pushOperationKey: randomUUID() });
    expect((await sendWebhook(url(), SECRET, noCompany)).status).toBe(200);
    expect((await sendWebhook(url(), SECRET, { eventType: 42 })).status).toBe(200);
    expect(await webhookCount(stack.gateway.metricsUrl, "ignored")).toBe(ignoredBefore + 2);
    // A write event the gateway cannot read (no company) is counted as such.
    expect(await webhookCount(stack.gateway.metricsUrl, "bad_shape")).toBe(badShapeBefore + 1);
  });

  it("refuses a bad signature with 401 and publishes nothing", async () => {
    const companyId = randomUUID();
    const key = randomUUID();
    const seen = listen(stack, companyId, key);
    const body = JSON.stringify(writeEvent({ companyId, pushOperationKey: key }));
    const headers = signedHeaders(newWebhookSecret(), body);
    const answer = await sendWebhook(url(), SECRET, body, { headers });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: { code: "INVALID_SIGNATURE", message: "No webhook-signature matches this body." } });
    // Signed right, then changed by one byte.
    const tampered = await sendWebhook(url(), SECRET, body.replace(key, randomUUID()), { headers: signedHeaders(SECRET, body) });
    expect(tampered.status).toBe(401);
    // Several signatures (a rotated secret): one matching is enough.
    const good = signedHeaders(SECRET, body);
    const rotated = { ...good, "webhook-signature": `v1,AAAA ${good["webhook-signature"] ?? ""}` };
    expect((await sendWebhook(url(), SECRET, body, { headers: rotated })).status).toBe(200);
    await waitFor(() => seen.length === 1);
  });

  it("refuses missing signature headers with 401", async () => {
    const body = JSON.stringify(writeEvent({ companyId: randomUUID(), pushOperationKey: randomUUID() }));
    const full = signedHeaders(SECRET, body);
    for (const header of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const headers = Object.fromEntries(Object.entries(full).filter(([name]) => name !== header));
      const answer = await sendWebhook(url(), SECRET, body, { headers });
      expect(answer.status, header).toBe(401);
      expect((answer.body as { error: { code: string } }).error.code).toBe("MISSING_SIGNATURE");
    }
  });

  it("refuses a timestamp more than 5 minutes old or ahead with 401, saying so", async () => {
    const body = JSON.stringify(writeEvent({ companyId: randomUUID(), pushOperationKey: randomUUID() }));
    const staleBefore = await webhookCount(stack.gateway.metricsUrl, "stale");
    for (const offset of [-6 * 60_000, 6 * 60_000]) {
      const answer = await sendWebhook(url(), SECRET, body, { at: new Date(Date.now() + offset) });
      expect(answer.status).toBe(401);
      expect((answer.body as { error: { code: string; message: string } }).error).toEqual({
        code: "STALE_TIMESTAMP",
        message: "webhook-timestamp is missing or more than 5 minutes from the gateway's clock (a replay, or a clock out of sync).",
      });
    }
    expect(await webhookCount(stack.gateway.metricsUrl, "stale")).toBe(staleBefore + 2);
  });

  it("refuses a body over CODAT_WEBHOOK_MAX_BODY_BYTES with 413, unread", async () => {
    const body = JSON.stringify({ ...writeEvent({ companyId: randomUUID(), pushOperationKey: randomUUID() }), pad: "x".repeat(MAX_BODY) });
    const answer = await sendWebhook(url(), SECRET, body);
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({ error: { code: "BAD_USER_INPUT", message: `Request body larger than ${MAX_BODY} bytes.` } });
    expect(await webhookCount(stack.gateway.metricsUrl, "too_large")).toBeGreaterThanOrEqual(1);
  });

  it("answers 413 on the declared length alone, without waiting for the body", async () => {
    const { port, hostname } = new URL(stack.origin);
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect({ port: Number(port), host: hostname }, () => {
        // Headers only: a body of 10 MB is announced and never sent.
        socket.write(
          `POST /webhooks/codat HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\n\r\n`,
        );
      });
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        if (text.includes("BAD_USER_INPUT")) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
    });
    expect(response.startsWith("HTTP/1.1 413")).toBe(true);
  });

  it("refuses a signed body that is not a JSON object with 400", async () => {
    for (const body of ["not json", "[1,2]", "null"]) {
      const answer = await sendWebhook(url(), SECRET, body);
      expect(answer.status, body).toBe(400);
      expect(answer.body).toEqual({ error: { code: "BAD_REQUEST", message: "Request body is not a JSON object." } });
    }
  });

  it("reads any content type (or none) as bytes", async () => {
    const companyId = randomUUID();
    const key = randomUUID();
    const seen = listen(stack, companyId, key);
    const body = JSON.stringify(writeEvent({ companyId, pushOperationKey: key }));
    const headers = Object.fromEntries(Object.entries(signedHeaders(SECRET, body)).filter(([name]) => name !== "content-type"));
    const response = await fetch(url(), { method: "POST", headers, body: new TextEncoder().encode(body) });
    expect(response.status).toBe(200);
    await waitFor(() => seen.length === 1);
  });

  it("answers another method with 405", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await fetch(url(), { method });
      expect(response.status, method).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
      expect(await response.json()).toEqual({ error: { code: "METHOD_NOT_ALLOWED", message: "Method not allowed." } });
    }
  });

  it("logs one info line per accepted webhook (type, id, company), never the body or the secret", async () => {
    const companyId = randomUUID();
    const key = randomUUID();
    const marker = `Marker ${randomUUID()}`;
    const id = `msg_${randomUUID()}`;
    logs.raw.length = 0;
    await sendWebhook(url(), SECRET, writeEvent({ companyId, pushOperationKey: key, companyName: marker }), { id });
    await sendWebhook(url(), SECRET, writeEvent({ companyId, pushOperationKey: key, companyName: marker }), {
      headers: signedHeaders(newWebhookSecret(), "x"),
    });
    await waitFor(() => logs.lines().some((line) => line.msg === "codat webhook refused"));
    const accepted = logs.lines().filter((line) => line.msg === "codat webhook accepted");
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({
      level: "info",
      webhookId: id,
      eventType: "customers.write.successful",
      companyId,
      pushOperationKey: key,
    });
    const all = logs.raw.join("\n");
    expect(all).not.toContain(marker);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(SECRET.slice("whsec_".length));
  });
});

describe("the webhook route's configuration", () => {
  it("is not served without CODAT_WEBHOOK_SECRET", async () => {
    const stack = await startStack();
    try {
      const answer = await sendWebhook(`${stack.origin}/webhooks/codat`, newWebhookSecret(), { eventType: "customers.write.successful" });
      expect(answer.status).toBe(404);
    } finally {
      await stack.close();
    }
  });

  it("serves CODAT_WEBHOOK_PATH, with the secret given without its whsec_ prefix", async () => {
    const secret = newWebhookSecret();
    const stack = await startStack({ env: { CODAT_WEBHOOK_SECRET: secret.slice("whsec_".length), CODAT_WEBHOOK_PATH: "/hooks/codat-1" } });
    try {
      const companyId = randomUUID();
      const key = randomUUID();
      const seen = listen(stack, companyId, key);
      expect((await sendWebhook(`${stack.origin}/hooks/codat-1`, secret, writeEvent({ companyId, pushOperationKey: key }))).status).toBe(
        200,
      );
      await waitFor(() => seen.length === 1);
      expect((await sendWebhook(`${stack.origin}/webhooks/codat`, secret, {})).status).toBe(404);
    } finally {
      await stack.close();
    }
  });

  it("has defaults, and refuses bad values without echoing the secret", () => {
    const base = { CODAT_BASE_URL: "http://127.0.0.1:9" };
    const secret = newWebhookSecret();
    expect(parseConfig(base).codatWebhook).toBeUndefined();
    expect(parseConfig({ ...base, CODAT_WEBHOOK_SECRET: secret }).codatWebhook).toEqual({
      secret,
      path: "/webhooks/codat",
      maxBodyBytes: 262_144,
    });
    expect(configProblems({ ...base, CODAT_WEBHOOK_PATH: "/hooks" })).toEqual([
      "CODAT_WEBHOOK_PATH has no effect without CODAT_WEBHOOK_SECRET",
    ]);
    expect(configProblems({ ...base, CODAT_WEBHOOK_SECRET: secret, CODAT_WEBHOOK_PATH: "/graphql" })).toEqual([
      'CODAT_WEBHOOK_PATH must not be one of the gateway\'s own routes (got "/graphql")',
    ]);
    expect(configProblems({ ...base, CODAT_WEBHOOK_SECRET: secret, CODAT_WEBHOOK_PATH: "webhooks" })).toEqual([
      'CODAT_WEBHOOK_PATH must be a path starting with / (letters, digits, . _ ~ - /), got "webhooks"',
    ]);
    const problems = configProblems({ ...base, CODAT_WEBHOOK_SECRET: "whsec_not base64!", CODAT_WEBHOOK_MAX_BODY_BYTES: "10" });
    expect(problems).toEqual([
      "CODAT_WEBHOOK_SECRET must be the endpoint's signing secret from Codat: whsec_ followed by base64 (16+ bytes)",
      'CODAT_WEBHOOK_MAX_BODY_BYTES must be a whole number from 1024 to 10485760 (got "10")',
    ]);
    expect(problems.join("\n")).not.toContain("not base64");
  });

  it("is among the secrets the logger cuts out of every line, with and without its prefix", () => {
    const secret = newWebhookSecret();
    const config = parseConfig({ CODAT_API_KEY: "k".repeat(20), CODAT_WEBHOOK_SECRET: secret });
    expect(logSecrets(config)).toEqual(["k".repeat(20), secret, secret.slice("whsec_".length)]);
    const lines = memoryDestination();
    createLogger({ level: "info", pretty: false, secrets: logSecrets(config), destination: lines }).info(
      { oops: secret },
      `leak ${secret}`,
    );
    expect(lines.raw.join("")).not.toContain(secret.slice("whsec_".length));
  });
});
