/**
 * The simulator's webhooks out, as Codat sends them: when a customer push completes (every outcome) it POSTs a
 * `customers.write.successful` (Success) or `customers.write.unsuccessful` (Failed, TimedOut) event to
 * `SimulatorOptions.webhooks.url`, signed per Standard Webhooks (Codat's webhooks are Svix's): headers
 * `webhook-id` (one per event, the same on every retry), `webhook-timestamp` (the simulator clock, per attempt)
 * and `webhook-signature` (`v1,<base64 HMAC-SHA256>` by the reference library, `standardwebhooks`).
 *
 * After each sync (syncs.ts: a push with `allowSyncOnPushComplete`, `Simulator.editCustomer()`, `Simulator.sync()`)
 * it POSTs a `read.completed` the same way: Codat's `ReadCompletedWebhook` (codatio/oas, yaml/Codat-Platform.yaml
 * `webhooks:`, vendored in openapi/codat/platform-webhooks.yaml), `{ id (the sync's), eventType, generatedDate,
 * payload: { referenceCompany, modifiedFromDate, dataTypes: [{ connectionId, dataType, recordsModified, status,
 * issues }] } }`.
 *
 * The body of a write event is Codat's `DataTypeWriteWebhook` (codatio/oas, yaml/Webhooks.yaml; examples in codatio/codat-docs,
 * docs/using-the-api/webhooks/migrating-to-new-event-types.md): `{ id, eventType, generatedDate, payload: { id
 * (the push operation key), type, referenceCompany: { id, name, description, links }, connectionId,
 * requestedOnDate, completedOnDate, status, record, attachmentId } }`.
 *
 * Retries like Codat's (fewer of them): after a non-2xx answer, a network error or no answer within 15 s, the
 * next attempt waits the next of `retryDelaysMs` on the simulator's clock (so a ManualClock test drives them).
 * Every attempt is recorded (`Simulator.webhookDeliveries`). A failed delivery never throws into the simulator;
 * closing the simulator aborts the attempt in flight and cancels the retries.
 */
import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { SimulatorState } from "./server.js";
import type { CompanyData, PushOperationRecord } from "./store.js";
import type { SyncRecord } from "./syncs.js";

export interface SimulatorWebhookOptions {
  /** Where to POST; a function is read at each attempt (a receiver that listens after the simulator starts). */
  url: string | (() => string | undefined);
  /** The endpoint's signing secret, `whsec_<base64>` (or the base64 alone). */
  secret: string;
  /** Waits before each attempt, the first included; default DEFAULT_WEBHOOK_RETRY_DELAYS_MS. */
  retryDelaysMs?: number[];
  /** An attempt without an answer for this long fails (and is retried); default 15 000 ms, as Codat's. */
  answerTimeoutMs?: number;
}

/** First attempt at once, then after 1 s, 5 s and 30 s (Codat's own schedule goes on for about 28 hours). */
export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [0, 1_000, 5_000, 30_000];
export const WEBHOOK_ANSWER_TIMEOUT_MS = 15_000;

/** One delivery attempt. */
export interface WebhookDelivery {
  eventType: string;
  webhookId: string;
  /** The event's own `id` (the body's; a read.completed's is its sync's id). */
  eventId: string;
  /** The push operation a write event announces (none for read.completed). */
  pushOperationKey?: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Simulator clock time the attempt was sent. */
  sentAt: number;
  /** The receiver's answer, when there was one. */
  status?: number;
  /** Why there was no answer (network error, timeout, closed). */
  error?: string;
  /** A 2xx answer: no more attempts. */
  ok: boolean;
}

interface Pending {
  eventType: string;
  webhookId: string;
  eventId: string;
  pushOperationKey?: string;
  body: string;
}

export class WebhookSender {
  readonly deliveries: WebhookDelivery[] = [];
  readonly #options: SimulatorWebhookOptions;
  readonly #state: SimulatorState;
  readonly #webhook: Webhook;
  readonly #delays: readonly number[];

  constructor(options: SimulatorWebhookOptions, state: SimulatorState) {
    this.#options = options;
    this.#state = state;
    this.#webhook = new Webhook(options.secret);
    this.#delays = options.retryDelaysMs && options.retryDelaysMs.length > 0 ? options.retryDelaysMs : DEFAULT_WEBHOOK_RETRY_DELAYS_MS;
  }

  /** A push operation reached a final status: announce it. */
  pushCompleted(company: CompanyData, operation: PushOperationRecord, type: "Create" | "Update"): void {
    const event = writeEvent(company, operation, type, this.#state.now());
    this.#send({
      eventType: event.eventType,
      webhookId: `msg_${randomUUID().replaceAll("-", "")}`,
      eventId: event.id,
      pushOperationKey: operation.pushOperationKey,
      body: JSON.stringify(event),
    });
  }

  /** A sync completed: announce it (read.completed, `recordsModified` per data type). */
  syncCompleted(company: CompanyData, sync: SyncRecord): void {
    const event = readCompletedEvent(company, sync);
    this.#send({
      eventType: event.eventType,
      webhookId: `msg_${randomUUID().replaceAll("-", "")}`,
      eventId: event.id,
      body: JSON.stringify(event),
    });
  }

  #send(pending: Pending, attempt = 1): void {
    const delay = this.#delays[attempt - 1];
    if (delay === undefined || this.#state.closing.signal.aborted) return;
    const run = (): void => void this.#attempt(pending, attempt);
    // Zero waits run now (a ManualClock runs even a 0 ms timer only when advanced).
    if (delay <= 0) run();
    else this.#state.schedule(delay, run);
  }

  async #attempt(pending: Pending, attempt: number): Promise<void> {
    const closing = this.#state.closing.signal;
    if (closing.aborted) return;
    const sentAt = this.#state.now();
    const record: WebhookDelivery = {
      eventType: pending.eventType,
      webhookId: pending.webhookId,
      eventId: pending.eventId,
      ...(pending.pushOperationKey === undefined ? {} : { pushOperationKey: pending.pushOperationKey }),
      attempt,
      sentAt,
      ok: false,
    };
    this.deliveries.push(record);
    const controller = new AbortController();
    const onClose = (): void => controller.abort(new Error("simulator closed"));
    closing.addEventListener("abort", onClose, { once: true });
    const cancelTimer = this.#state.clock.setTimer(this.#options.answerTimeoutMs ?? WEBHOOK_ANSWER_TIMEOUT_MS, () =>
      controller.abort(new Error("no answer in time")),
    );
    try {
      const url = typeof this.#options.url === "function" ? this.#options.url() : this.#options.url;
      if (url === undefined) throw new Error("no webhook URL yet");
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "webhook-id": pending.webhookId,
          "webhook-timestamp": String(Math.floor(sentAt / 1000)),
          "webhook-signature": this.#webhook.sign(pending.webhookId, new Date(sentAt), pending.body),
        },
        body: pending.body,
        redirect: "manual",
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      record.status = response.status;
      record.ok = response.status >= 200 && response.status < 300;
    } catch (error) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : error;
      record.error = reason instanceof Error ? reason.message : String(reason);
    } finally {
      cancelTimer();
      closing.removeEventListener("abort", onClose);
    }
    if (!record.ok) this.#send(pending, attempt + 1);
  }
}

/** Codat's DataTypeWriteWebhook for a completed customer push. */
export function writeEvent(
  company: CompanyData,
  operation: PushOperationRecord,
  type: "Create" | "Update",
  nowMs: number,
): { id: string; eventType: string; generatedDate: string; payload: Record<string, unknown> } {
  const success = operation.status === "Success";
  const recordId = operation.changes?.[0]?.recordRef?.id ?? null;
  return {
    id: randomUUID(),
    eventType: `${operation.dataType ?? "customers"}.write.${success ? "successful" : "unsuccessful"}`,
    generatedDate: new Date(nowMs).toISOString(),
    payload: {
      id: operation.pushOperationKey,
      type,
      referenceCompany: referenceCompany(company),
      connectionId: operation.dataConnectionKey,
      requestedOnDate: operation.requestedOnUtc,
      completedOnDate: operation.completedOnUtc ?? new Date(nowMs).toISOString(),
      status: operation.status,
      // Codat fills `record` on a successful write of a record only.
      record: success && recordId !== null ? { id: recordId } : null,
      attachmentId: null,
    },
  };
}

/** Codat's ReadCompletedWebhook for a completed sync. */
export function readCompletedEvent(
  company: CompanyData,
  sync: SyncRecord,
): { id: string; eventType: "read.completed"; generatedDate: string; payload: Record<string, unknown> } {
  return {
    id: sync.id,
    eventType: "read.completed",
    generatedDate: sync.completedOn,
    payload: {
      referenceCompany: referenceCompany(company),
      modifiedFromDate: sync.modifiedFromDate,
      dataTypes: sync.dataTypes.map((read) => ({ ...read, issues: [] })),
    },
  };
}

function referenceCompany(company: CompanyData): Record<string, unknown> {
  return {
    id: company.id,
    name: company.name,
    description: "",
    links: { portal: `https://app.codat.io/companies/${company.id}/summary` },
  };
}
