/**
 * Verifying a Codat webhook: Codat signs its webhooks with Svix, i.e. Standard Webhooks
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md): headers
 * `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature` (a space-separated list of
 * `v1,<base64 HMAC-SHA256>` over `${id}.${timestamp}.${body}`), the secret `whsec_<base64>`. The signature check
 * itself is the reference implementation's (`standardwebhooks`), over the exact bytes received. The timestamp is
 * checked here first (the same ±5 minutes the library applies) so a refusal can say which check failed.
 */
import type { IncomingHttpHeaders } from "node:http";
import { Webhook } from "standardwebhooks";

/** Standard Webhooks' tolerance for the timestamp, either way. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type VerifyRefusal =
  | { reason: "missing_headers"; code: "MISSING_SIGNATURE"; message: string }
  | { reason: "stale"; code: "STALE_TIMESTAMP"; message: string }
  | { reason: "bad_signature"; code: "INVALID_SIGNATURE"; message: string };

export type VerifyResult = { ok: true; webhookId: string } | ({ ok: false } & VerifyRefusal);

/** A `webhook-id` the gateway will use as a dedupe key (Svix's are `msg_<base62>`). */
const WEBHOOK_ID = /^[\x21-\x7e]{1,256}$/;

export class WebhookVerifier {
  readonly #webhook: Webhook;

  /** `secret`: `whsec_<base64>` or the base64 alone (standardwebhooks strips the prefix). */
  constructor(secret: string) {
    this.#webhook = new Webhook(secret);
  }

  verify(body: Buffer, headers: IncomingHttpHeaders): VerifyResult {
    const id = single(headers["webhook-id"]);
    const timestamp = single(headers["webhook-timestamp"]);
    const signature = single(headers["webhook-signature"]);
    if (id === undefined || timestamp === undefined || signature === undefined || !WEBHOOK_ID.test(id)) {
      return {
        ok: false,
        reason: "missing_headers",
        code: "MISSING_SIGNATURE",
        message: "A Standard Webhooks signature is required: webhook-id, webhook-timestamp and webhook-signature headers.",
      };
    }
    const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
    if (!(Math.abs(Math.floor(Date.now() / 1000) - seconds) <= WEBHOOK_TOLERANCE_SECONDS)) {
      return {
        ok: false,
        reason: "stale",
        code: "STALE_TIMESTAMP",
        message: "webhook-timestamp is missing or more than 5 minutes from the gateway's clock (a replay, or a clock out of sync).",
      };
    }
    try {
      this.#webhook.verify(
        body,
        { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature },
        { jsonParse: false },
      );
    } catch {
      return { ok: false, reason: "bad_signature", code: "INVALID_SIGNATURE", message: "No webhook-signature matches this body." };
    }
    return { ok: true, webhookId: id };
  }
}

function single(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.join(" ") : value;
  return text === undefined || text.trim() === "" ? undefined : text.trim();
}
