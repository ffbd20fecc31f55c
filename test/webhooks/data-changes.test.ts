/**
 * The webhook route's data changes: which of Codat's verified, deduplicated webhooks reach the DataChangeSink (the
 * read cache's), with what, and which are counted and ignored. The route on a bare fastify app with the gateway's
 * one error handler (requests by `inject`, no socket), a recording sink and recording metrics.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpErrorHandler } from "../../src/http/errors.js";
import { silentLogger } from "../../src/observability/logger.js";
import { LocalPushStatusBus, type PushOperationSignal } from "../../src/push-status/bus.js";
import type { DataChange, DataChangeSink } from "../../src/webhooks/data-changes.js";
import type { WebhookOutcome } from "../../src/webhooks/outcomes.js";
import { createWebhookReceiver, type WebhookReceiver } from "../../src/webhooks/route.js";
import { SPEC_DIR } from "../helpers/openapi.js";
import { waitFor } from "../helpers/wait.js";
import { companyDeletedEvent, connectionEvent, newWebhookSecret, readCompletedEvent, signedHeaders, writeEvent } from "./helpers.js";

const SECRET = newWebhookSecret();
const URL_PATH = "/webhooks/codat";

class RecordingSink implements DataChangeSink {
  readonly changes: DataChange[] = [];
  /** Make the next calls fail this way (then record as usual). */
  fail: "throw" | "reject" | undefined;
  dataChanged(change: DataChange): void | Promise<void> {
    this.changes.push(change);
    if (this.fail === "throw") throw new Error("sink down");
    if (this.fail === "reject") return Promise.reject(new Error("sink down"));
  }
}

const sink = new RecordingSink();
const bus = new LocalPushStatusBus();
const counts = new Map<WebhookOutcome, number>();
const count = (outcome: WebhookOutcome): number => counts.get(outcome) ?? 0;
let app: FastifyInstance;
let receiver: WebhookReceiver;

beforeAll(async () => {
  app = Fastify();
  app.setErrorHandler(httpErrorHandler);
  receiver = createWebhookReceiver({
    config: { secret: SECRET, path: URL_PATH, maxBodyBytes: 262_144 },
    bus,
    logger: silentLogger(),
    metrics: { counted: (outcome) => counts.set(outcome, count(outcome) + 1) },
    dataChanges: sink,
  });
  receiver.register(app);
  await app.ready();
});

afterAll(async () => {
  await receiver.close();
  await app.close();
  await bus.close();
});

/** POSTs a signed event; resolves with the status once answered. */
async function send(event: unknown, id?: string): Promise<number> {
  const body = JSON.stringify(event);
  const response = await app.inject({ method: "POST", url: URL_PATH, headers: signedHeaders(SECRET, body, { id }), payload: body });
  return response.statusCode;
}

/**
 * Sends `event`, then a fence (a change of its own company) and waits for the fence to reach the sink: whatever
 * `event` handed on was handed on before it (the route hands on in arrival order). Returns what `event` handed on.
 */
async function changesOf(event: unknown, id?: string): Promise<DataChange[]> {
  const from = sink.changes.length;
  expect(await send(event, id)).toBe(200);
  const fence = randomUUID();
  expect(await send(companyDeletedEvent(fence))).toBe(200);
  await waitFor(() => sink.changes.some((change) => change.companyId === fence));
  return sink.changes.slice(from).filter((change) => change.companyId !== fence);
}

describe("webhook data changes", () => {
  it("hands on a read.completed's modified data types, with its company and generatedDate", async () => {
    const companyId = randomUUID();
    const accepted = count("accepted");
    const event = readCompletedEvent({ companyId, dataTypes: { customers: true, invoices: false, suppliers: true } });
    expect(await changesOf(event)).toEqual([
      { kind: "read.completed", companyId, dataTypes: ["customers", "suppliers"], generatedDate: event["generatedDate"] },
    ]);
    expect(count("accepted")).toBe(accepted + 2);
  });

  it("reads read.completed.initial alike", async () => {
    const companyId = randomUUID();
    const event = readCompletedEvent({ companyId, eventType: "read.completed.initial", dataTypes: { customers: true } });
    expect(await changesOf(event)).toMatchObject([{ kind: "read.completed", companyId, dataTypes: ["customers"] }]);
  });

  it("hands on nothing for a read that modified no records, and counts it unchanged", async () => {
    const unchanged = count("unchanged");
    const event = readCompletedEvent({ companyId: randomUUID(), dataTypes: { customers: false, invoices: false } });
    expect(await changesOf(event)).toEqual([]);
    expect(await changesOf(readCompletedEvent({ companyId: randomUUID(), dataTypes: {} }))).toEqual([]);
    expect(count("unchanged")).toBe(unchanged + 2);
  });

  it("hands on a {dataType}.write.successful for its data type, and still signals the push status bus", async () => {
    const companyId = randomUUID();
    const key = randomUUID();
    const signals: PushOperationSignal[] = [];
    bus.subscribe({ companyId, pushOperationKey: key }, (signal) => signals.push(signal));
    const event = writeEvent({ companyId, pushOperationKey: key });
    expect(await changesOf(event)).toEqual([
      {
        kind: "write.successful",
        companyId,
        dataTypes: ["customers"],
        generatedDate: event["generatedDate"],
        writeType: "Create",
        pushOperationKey: key,
        recordId: (event["payload"] as { record: { id: string } }).record.id,
      },
    ]);
    await waitFor(() => signals.length === 1);
    expect(signals).toEqual([{ companyId, pushOperationKey: key, source: "webhook", status: "Success" }]);
  });

  it("hands on nothing for a write.unsuccessful (nothing was written), which still signals the bus", async () => {
    const companyId = randomUUID();
    const key = randomUUID();
    const signals: PushOperationSignal[] = [];
    bus.subscribe({ companyId, pushOperationKey: key }, (signal) => signals.push(signal));
    const event = writeEvent({ companyId, pushOperationKey: key, eventType: "customers.write.unsuccessful", status: "Failed" });
    expect(await changesOf(event)).toEqual([]);
    await waitFor(() => signals.length === 1);
    expect(signals[0]?.status).toBe("Failed");
  });

  it.each(["connection.deleted", "connection.disconnected", "connection.reconnected", "connection.connected", "connection.created"])(
    "hands on %s as every data type of the company",
    async (eventType) => {
      const companyId = randomUUID();
      expect(await changesOf(connectionEvent(companyId, eventType))).toMatchObject([{ kind: "connection", companyId, dataTypes: ["*"] }]);
    },
  );

  it("hands on company.deleted (the payload is the company) as every data type", async () => {
    const companyId = randomUUID();
    const event = companyDeletedEvent(companyId);
    expect(await changesOf(event)).toEqual([
      { kind: "company.deleted", companyId, dataTypes: ["*"], generatedDate: event["generatedDate"] },
    ]);
  });

  it("hands on a redelivery (the same webhook-id) once", async () => {
    const companyId = randomUUID();
    const event = readCompletedEvent({ companyId, dataTypes: { customers: true } });
    const id = `msg_${randomUUID()}`;
    const duplicates = count("duplicate");
    expect(await changesOf(event, id)).toHaveLength(1);
    expect(await changesOf(event, id)).toEqual([]);
    expect(count("duplicate")).toBe(duplicates + 1);
  });

  const company = (): string => randomUUID();
  const badShapes: [string, () => Record<string, unknown>][] = [
    [
      "read.completed without a company",
      () => ({ ...readCompletedEvent({ companyId: company(), dataTypes: { customers: true } }), payload: { dataTypes: [] } }),
    ],
    [
      "read.completed whose dataTypes is not an array",
      () => ({ eventType: "read.completed", payload: { referenceCompany: { id: company() }, dataTypes: { customers: true } } }),
    ],
    [
      "read.completed whose recordsModified is not a boolean",
      () => ({
        eventType: "read.completed",
        payload: { referenceCompany: { id: company() }, dataTypes: [{ dataType: "customers", recordsModified: "true" }] },
      }),
    ],
    [
      "read.completed with an entry that is not an object, beside a good one",
      () => ({
        eventType: "read.completed",
        payload: { referenceCompany: { id: company() }, dataTypes: [{ dataType: "customers", recordsModified: true }, "invoices"] },
      }),
    ],
    [
      "read.completed with a data type that is not one",
      () => ({
        eventType: "read.completed",
        payload: { referenceCompany: { id: company() }, dataTypes: [{ dataType: "*", recordsModified: true }] },
      }),
    ],
    [
      "read.completed whose company id is not a string",
      () => ({ eventType: "read.completed", payload: { referenceCompany: { id: 42 }, dataTypes: [] } }),
    ],
    [
      "read.completed whose generatedDate is not a date",
      () => ({ ...readCompletedEvent({ companyId: company(), dataTypes: { customers: true } }), generatedDate: "yesterday" }),
    ],
    ["connection.deleted without a company", () => ({ eventType: "connection.deleted", payload: { connection: {} } })],
    [
      "connection.disconnected whose connection is not an object",
      () => ({ eventType: "connection.disconnected", payload: { referenceCompany: { id: company() }, connection: "gone" } }),
    ],
    ["company.deleted without the company's id", () => ({ eventType: "company.deleted", payload: { name: "Toft stores" } })],
    ["company.deleted without a payload", () => ({ eventType: "company.deleted" })],
    ["a write event without a company", () => writeEvent({ companyId: "", pushOperationKey: randomUUID() })],
    [
      "a write event whose company id has a space in it",
      () => writeEvent({ companyId: "a company", pushOperationKey: randomUUID(), eventType: "customers.write.unsuccessful" }),
    ],
  ];

  it.each(badShapes)("accepts and ignores %s, counted bad_shape", async (_name, event) => {
    const badShape = count("bad_shape");
    const accepted = count("accepted");
    expect(await changesOf(event())).toEqual([]);
    expect(count("bad_shape")).toBe(badShape + 1);
    // The fence only.
    expect(count("accepted")).toBe(accepted + 1);
  });

  it("accepts and ignores other event types, counted ignored", async () => {
    const ignored = count("ignored");
    expect(await changesOf({ id: randomUUID(), eventType: "company.created", payload: { id: randomUUID() } })).toEqual([]);
    expect(await changesOf({ eventType: "client.rateLimit.reached", payload: {} })).toEqual([]);
    expect(await changesOf({ eventType: 42 })).toEqual([]);
    expect(count("ignored")).toBe(ignored + 3);
  });

  it("answers 200 when the sink throws or rejects, and goes on handing on", async () => {
    for (const fail of ["throw", "reject"] as const) {
      const companyId = randomUUID();
      sink.fail = fail;
      const from = sink.changes.length;
      expect(await send(readCompletedEvent({ companyId, dataTypes: { customers: true } }))).toBe(200);
      await waitFor(() => sink.changes.length > from);
      sink.fail = undefined;
      expect(sink.changes[from]?.companyId).toBe(companyId);
    }
    const companyId = randomUUID();
    expect(await changesOf(readCompletedEvent({ companyId, dataTypes: { customers: true } }))).toMatchObject([{ companyId }]);
  });

  it("does nothing for a refused webhook (bad signature)", async () => {
    const refused = randomUUID();
    const body = JSON.stringify(companyDeletedEvent(refused));
    const headers = { ...signedHeaders(SECRET, body), "webhook-signature": "v1,AAAA" };
    const response = await app.inject({ method: "POST", url: URL_PATH, headers, payload: body });
    expect(response.statusCode).toBe(401);
    expect(await changesOf(readCompletedEvent({ companyId: randomUUID(), dataTypes: {} }))).toEqual([]);
    expect(sink.changes.filter((change) => change.companyId === refused)).toEqual([]);
  });
});

describe("the examples of Codat's spec (openapi/codat/platform-webhooks.yaml)", () => {
  interface Example {
    value: { eventType: string; payload: Record<string, unknown> };
  }
  const spec = parse(readFileSync(path.join(SPEC_DIR, "platform-webhooks.yaml"), "utf8")) as {
    webhooks: Record<string, { post: { requestBody: { content: { "application/json": { examples: Record<string, Example> } } } } }>;
  };
  const examples = Object.entries(spec.webhooks).flatMap(([event, hook]) =>
    Object.entries(hook.post.requestBody.content["application/json"].examples).map(([name, example]): [string, string, Example] => [
      event,
      name,
      example,
    ]),
  );

  it("has examples of every event the route reads", () => {
    expect(new Set(examples.map(([event]) => event))).toEqual(
      new Set([
        "read.completed",
        "read.completed.initial",
        "connection.created",
        "connection.connected",
        "connection.failed",
        "connection.disconnected",
        "connection.reconnected",
        "connection.deleted",
        "company.deleted",
      ]),
    );
  });

  it.each(examples)("%s (%s) is read as Codat means it", async (event, _name, example) => {
    // The spec's read.completed examples modified no records; everything else concerns the whole company.
    const companyId =
      event === "company.deleted" ? example.value.payload["id"] : (example.value.payload["referenceCompany"] as { id: string }).id;
    const unchanged = count("unchanged");
    const changes = await changesOf(example.value);
    if (event.startsWith("read.completed")) {
      expect(changes).toEqual([]);
      expect(count("unchanged")).toBe(unchanged + 1);
    } else {
      expect(changes).toEqual([
        {
          kind: event === "company.deleted" ? "company.deleted" : "connection",
          companyId,
          dataTypes: ["*"],
          generatedDate: "2024-08-08T17:10:34.015Z",
        },
      ]);
    }
  });
});
