/** `pushOperationUpdated` subscriptions: how the gateway polls Codat for a push operation (push-status/watcher.ts). */
import { z } from "zod";
import { defaultsOf, describe, integer, parseSection, type Env, type Section } from "./fields.js";

const push = z.object({
  PUSH_STATUS_POLL_INTERVAL_MS: describe(integer(10, 3_600_000).optional(), {
    default: "`500`; `30000` with `CODAT_WEBHOOK_SECRET`",
    description: "`pushOperationUpdated`: the first poll of Codat for an operation, doubling after each unchanged answer.",
  }),
  PUSH_STATUS_POLL_MAX_INTERVAL_MS: describe(integer(10, 3_600_000).optional(), {
    default: "`10000`; `60000` with `CODAT_WEBHOOK_SECRET`",
    description: "The longest wait between two polls of one operation.",
  }),
  PUSH_STATUS_MAX_WAIT_MS: describe(integer(1_000, 86_400_000).default(1_800_000), {
    default: "`1800000` (30 min)",
    description:
      "The longest a subscription waits for a final status (less when the operation's `timeoutInMinutes` plus a minute ends sooner), then `UPSTREAM_TIMEOUT`.",
  }),
  WS_MAX_CONNECTIONS: describe(integer(1, 1_000_000).default(10_000), {
    description:
      "Authenticated WebSocket (subscription) connections one process holds at once, sockets still authenticating included; an upgrade beyond is answered 503.",
  }),
  WS_MAX_UNAUTHENTICATED_CONNECTIONS: describe(integer(1, 1_000_000).default(100), {
    description:
      "WebSocket connections that have not authenticated yet (no `connection_init` accepted), within `WS_MAX_CONNECTIONS`; a new one beyond closes the oldest of them (1013).",
  }),
  WS_CONNECTION_INIT_TIMEOUT_MS: describe(integer(100, 600_000).default(10_000), {
    description: "A new WebSocket must send `connection_init` within this (closed 4408 otherwise).",
  }),
  WS_PING_INTERVAL_MS: describe(integer(100, 3_600_000).default(30_000), {
    description: "Every WebSocket is pinged this often; one that has not answered the previous ping is closed as dead.",
  }),
});

export const pushSections: Section[] = [
  {
    title: "Subscriptions",
    intro: "See [Push status in real time](writes.md#push-status-in-real-time).",
    model: push,
  },
];

/** The defaults the WebSocket endpoint falls back on when built without a configuration (tests). */
export const pushDefaults = defaultsOf(push);

/** `webhooks`: Codat's webhooks are configured, and expected to announce each change: poll slowly. */
export function parsePush(env: Env, problems: string[], shared: { webhooks: boolean }) {
  const p = parseSection(push, env, problems);
  const pollIntervalMs = p.PUSH_STATUS_POLL_INTERVAL_MS ?? (shared.webhooks ? 30_000 : 500);
  const maxPollIntervalMs = p.PUSH_STATUS_POLL_MAX_INTERVAL_MS ?? Math.max(pollIntervalMs, shared.webhooks ? 60_000 : 10_000);
  if (maxPollIntervalMs < pollIntervalMs) {
    problems.push(
      `PUSH_STATUS_POLL_MAX_INTERVAL_MS (${maxPollIntervalMs}) must not be less than PUSH_STATUS_POLL_INTERVAL_MS (${pollIntervalMs})`,
    );
  }
  return {
    /** `pushOperationUpdated` subscriptions: how the gateway polls Codat for a push operation (push-status/watcher.ts). */
    pushStatus: {
      /** PUSH_STATUS_POLL_INTERVAL_MS: the first poll's wait, doubling after each unchanged one. */
      pollIntervalMs,
      /** PUSH_STATUS_POLL_MAX_INTERVAL_MS: the longest wait between polls. */
      maxPollIntervalMs,
      /** PUSH_STATUS_MAX_WAIT_MS: the longest a subscription waits for a final status. */
      maxWaitMs: p.PUSH_STATUS_MAX_WAIT_MS,
      /** WS_MAX_CONNECTIONS: WebSocket connections this process holds at once; beyond, 503. */
      maxConnections: p.WS_MAX_CONNECTIONS,
    },
    /** The WebSocket endpoint's hygiene (http/subscriptions.ts). */
    websocket: {
      /** WS_MAX_UNAUTHENTICATED_CONNECTIONS: sockets not authenticated yet, within WS_MAX_CONNECTIONS. */
      maxUnauthenticatedConnections: p.WS_MAX_UNAUTHENTICATED_CONNECTIONS,
      /** WS_CONNECTION_INIT_TIMEOUT_MS: connection_init must come within this. */
      connectionInitTimeoutMs: p.WS_CONNECTION_INIT_TIMEOUT_MS,
      /** WS_PING_INTERVAL_MS: the heartbeat. */
      pingIntervalMs: p.WS_PING_INTERVAL_MS,
    },
  };
}

export type PushStatusConfig = ReturnType<typeof parsePush>["pushStatus"];
