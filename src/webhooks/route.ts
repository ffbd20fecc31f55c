/**
 * `POST /webhooks/codat` (CODAT_WEBHOOK_PATH), registered only when CODAT_WEBHOOK_SECRET is set: Codat's
 * webhooks in. A verified `{dataType}.write.successful|unsuccessful` event becomes a signal on the push status
 * bus (push-status/bus.ts) for its push operation, which the subscriptions waiting for it re-read.
 *
 * The body is read as raw bytes (a content-type parser of this route's own scope, capped at
 * CODAT_WEBHOOK_MAX_BODY_BYTES: larger is 413 BAD_USER_INPUT, the rest unread and the connection closed) so the
 * signature is checked over exactly what arrived (verify.ts). Refusals, answered through the app's one error
 * handler (http/errors.ts), do nothing: no signature headers or a bad one → 401,
 * a timestamp beyond ±5 min → 401, a signed body that is not a JSON object → 400, another method → 405. A
 * `webhook-id` already seen (dedupe.ts) is answered 200 and ignored. Everything else is answered 200 `{}` at
 * once (Codat waits 15 s, then retries) and the signal published after the answer; event types other than the
 * write ones are accepted and ignored, so Codat does not retry them.
 *
 * The event's shape, Codat's `DataTypeWriteWebhook` (codatio/oas, yaml/Webhooks.yaml; the examples in
 * codatio/codat-docs, docs/using-the-api/webhooks/migrating-to-new-event-types.md, "PushOperationStatusChanged"):
 *
 *   { "id": "<event id>", "eventType": "customers.write.successful", "generatedDate": "2023-05-03T10:00:23.000Z",
 *     "payload": { "id": "<push operation key>", "type": "Create" | "Update" | "Delete" | "UploadAttachment",
 *                  "referenceCompany": { "id": "<company id>", "name": "…", "description": "…", "links": {…} },
 *                  "connectionId": "…", "requestedOnDate": "…", "completedOnDate": "…",
 *                  "status": "Success" | "Failed" | "TimedOut" | "Pending", "record": { "id": "…" } | null,
 *                  "attachmentId": null } }
 *
 * The company id is documented in one place only, `payload.referenceCompany.id` (the migration guide maps the
 * old `CompanyId` there). The migration guide's example writes the success status `Successful`; the schema's
 * enum says `Success`: both are read as `Success`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CodatWebhookConfig } from "../config.js";
import type { RedisHub } from "../redis/hub.js";
import { RequestCode } from "../errors.js";
import { HttpError, httpErrorOf, methodNotAllowed } from "../http/errors.js";
import type { Logger } from "../observability/logger.js";
import type { PushOperationSignal, PushStatusBus } from "../push-status/bus.js";
import { RedisWebhookDedupe } from "../redis/webhook-dedupe.js";
import { LocalWebhookDedupe, type WebhookDedupe } from "./dedupe.js";
import type { WebhookMetrics, WebhookOutcome } from "./outcomes.js";
import { WebhookVerifier } from "./verify.js";
import type { DataChangeSink } from "./data-changes.js";

export interface WebhookReceiverOptions {
  config: CodatWebhookConfig;
  /** REDIS_URL: webhook ids deduplicated across replicas. */
  hub?: RedisHub | undefined;
  bus: PushStatusBus;
  logger: Logger;
  metrics?: WebhookMetrics | undefined;
  /** Overrides the dedupe (tests). */
  dedupe?: WebhookDedupe;
  /** The read cache, told of Codat's data changes. */
  dataChanges?: DataChangeSink | undefined;
}

export interface WebhookReceiver {
  /** Adds the route to the gateway's app (before it listens). */
  register(app: FastifyInstance): void;
  close(): Promise<void>;
}

const WRITE_EVENT = /^[A-Za-z][A-Za-z0-9-]*\.write\.(successful|unsuccessful)$/;
const STATUSES = new Set(["Pending", "Failed", "Success", "TimedOut"]);
const ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const { config, bus } = options;
  const verifier = new WebhookVerifier(config.secret);
  const dedupe: WebhookDedupe =
    options.dedupe ?? (options.hub === undefined ? new LocalWebhookDedupe() : new RedisWebhookDedupe({ hub: options.hub }));
  const count = (outcome: WebhookOutcome): void => options.metrics?.counted(outcome);

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (request.method !== "POST") {
      throw methodNotAllowed(["POST"]);
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const verified = verifier.verify(body, request.headers);
    if (!verified.ok) {
      count(verified.reason === "stale" ? "stale" : "bad_signature");
      request.log.info({ reason: verified.reason }, "codat webhook refused");
      throw new HttpError(verified.code, verified.message);
    }
    const webhookId = verified.webhookId;
    let event: unknown;
    try {
      event = JSON.parse(body.toString("utf8"));
    } catch {
      event = undefined;
    }
    if (!isRecord(event)) {
      count("bad_body");
      request.log.info({ webhookId }, "codat webhook refused: body is not a JSON object");
      throw new HttpError(RequestCode.BadRequest, "Request body is not a JSON object.");
    }
    const eventType = typeof event["eventType"] === "string" ? event["eventType"] : undefined;
    if (!(await dedupe.claim(webhookId))) {
      count("duplicate");
      request.log.info({ webhookId, eventType }, "codat webhook redelivered: already handled");
      return reply.code(200).send({});
    }
    const signal = writeSignal(eventType, event["payload"]);
    if (signal === undefined) {
      count("ignored");
      request.log.debug({ webhookId, eventType }, "codat webhook ignored: not a write event with a push operation and a company");
      return reply.code(200).send({});
    }
    count("accepted");
    request.log.info(
      { webhookId, eventType, companyId: signal.companyId, pushOperationKey: signal.pushOperationKey, status: signal.status },
      "codat webhook accepted",
    );
    // The answer first (Codat waits 15 s at most); the bus's listeners after it.
    const log = request.log;
    setImmediate(() => {
      bus.publish(signal).catch((error: unknown) => log.warn({ err: error, webhookId }, "codat webhook: publishing its signal failed"));
    });
    return reply.code(200).send({});
  };

  return {
    register(app) {
      void app.register((scope, _opts, done) => {
        // This scope reads every body as bytes, whatever its content type (or none), up to the cap (the route's).
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, payload, parsed) => parsed(null, payload));
        // The app's error handler answers; this counts the bodies refused before the handler.
        scope.addHook("onError", (request, _reply, error, done) => {
          if (!(error instanceof HttpError)) {
            const refusal = httpErrorOf(error, request);
            if (refusal.statusCode === 413) {
              count("too_large");
              request.log.info("codat webhook refused: body too large");
            } else if (refusal.statusCode < 500) {
              count("bad_body");
            }
          }
          done();
        });
        scope.route({
          method: [...ALL_METHODS],
          url: config.path,
          exposeHeadRoute: false,
          bodyLimit: config.maxBodyBytes,
          handler: handle,
        });
        done();
      });
    },
    close: () => dedupe.close(),
  };
}

/** The bus signal of a `{dataType}.write.successful|unsuccessful` event; undefined for anything else. */
export function writeSignal(eventType: string | undefined, payload: unknown): PushOperationSignal | undefined {
  const match = eventType === undefined ? null : WRITE_EVENT.exec(eventType);
  if (match === null || !isRecord(payload)) return undefined;
  const pushOperationKey = nonEmpty(payload["id"]);
  const company = payload["referenceCompany"];
  const companyId = isRecord(company) ? nonEmpty(company["id"]) : undefined;
  if (pushOperationKey === undefined || companyId === undefined) return undefined;
  const given = payload["status"] === "Successful" ? "Success" : payload["status"];
  const status = typeof given === "string" && STATUSES.has(given) ? given : match[1] === "successful" ? "Success" : undefined;
  return { companyId, pushOperationKey, source: "webhook", status };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= 256 ? value : undefined;
}
