/**
 * The Redis hub (src/redis/hub.ts) on a real redis-server: a replica with every Redis feature on — company slots
 * (limiter), request budget, APQ cache, push status bus and poll lease, webhook dedupe — holds two connections to
 * Redis, one for commands and one for subscriptions, counted by Redis itself (CLIENT LIST, INFO clients).
 */
import { createHash, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, startSimulator, type Simulator } from "codat-simulator";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { waitFor } from "../helpers/wait.js";
import { newWebhookSecret, sendWebhook, writeEvent } from "../webhooks/helpers.js";

const SECRET = newWebhookSecret();
let redis: TestRedis;
let simulator: Simulator;
let gateway: Gateway | undefined;
let probe: Redis;

beforeAll(async () => {
  redis = await startRedis();
  simulator = await startSimulator();
  probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await probe.connect();
});

afterAll(async () => {
  await gateway?.stop();
  probe?.disconnect();
  await simulator?.close();
  await redis?.stop();
});

/** The connections Redis sees, the probe's own left out. */
async function gatewayConnections(): Promise<string[]> {
  const own = await probe.client("ID");
  const list = (await probe.client("LIST")) as string;
  return list
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith(`id=${own} `))
    .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? "");
}

describe("one Redis hub per replica", () => {
  it("with every Redis feature on and used, the replica holds one command and one subscriber connection", async () => {
    const config = parseConfig({
      CODAT_BASE_URL: simulator.url,
      PORT: "0",
      HOST: "127.0.0.1",
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: "hub:",
      REDIS_CONNECT_TIMEOUT_MS: "2000",
      SIGNING_SECRET: "s".repeat(40),
      CODAT_WEBHOOK_SECRET: SECRET,
      CODAT_REQUESTS_PER_MINUTE: "1000",
    });
    expect(config.codatRequestsPerMinute).toBeGreaterThan(0);
    gateway = createGateway(config, { stopGracePeriodMs: 1_000, logger: createLogger({ level: "silent", pretty: false, secrets: [] }) });
    const url = await gateway.listen();

    // APQ: registered by hash (a Codat call through the slots and the budget), then found by hash.
    const query = `query Hub($companyId: ID!) { customers(companyId: $companyId, first: 1) { totalCount } }`;
    const hash = createHash("sha256").update(query).digest("hex");
    const post = async (body: object): Promise<{ errors?: unknown }> =>
      (await (
        await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      ).json()) as {
        errors?: unknown;
      };
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    expect((await post({ query, variables: { companyId: DEMO_COMPANY_ID }, extensions })).errors).toBeUndefined();
    await waitFor(async () => (await probe.exists(`hub:cache::apq:${hash}`)) === 1);
    expect((await post({ variables: { companyId: DEMO_COMPANY_ID }, extensions })).errors).toBeUndefined();
    // Webhook dedupe, then the bus: a subscriber here and a signal published through Redis.
    const webhookUrl = `${new URL(url).origin}/webhooks/codat`;
    const ref = { companyId: DEMO_COMPANY_ID, pushOperationKey: randomUUID() };
    const heard: unknown[] = [];
    const leave = gateway.pushStatus.subscribe(ref, (signal) => heard.push(signal));
    expect((await sendWebhook(webhookUrl, SECRET, writeEvent(ref))).status).toBe(200);
    await waitFor(() => heard.length > 0);
    expect(await probe.keys("hub:webhook:*")).toHaveLength(1);
    expect(await probe.keys("hub:{budget}:*")).not.toHaveLength(0);
    leave();

    const names = await gatewayConnections();
    const info = await probe.info("clients");
    const connected = Number(/connected_clients:(\d+)/.exec(info)?.[1]);
    expect({ connections: names.length, connectedClients: connected - 1 }).toEqual({ connections: 2, connectedClients: 2 });
    expect(names.sort()).toEqual(["codat-gateway", "codat-gateway-subscriber"]);

    await gateway.stop();
    gateway = undefined;
    await waitFor(async () => (await gatewayConnections()).length === 0);
  });
});
