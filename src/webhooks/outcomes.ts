/** The webhook route's metric labels and hook (a leaf module: observability/metrics.ts reads it without the route). */

/**
 * What became of a webhook (the bounded `outcome` label of codat_gateway_webhooks_total): `unchanged` is a
 * `read.completed` that modified no records, `bad_shape` an event the gateway handles in a shape Codat does not send.
 */
export type WebhookOutcome =
  "accepted" | "duplicate" | "ignored" | "unchanged" | "bad_shape" | "bad_signature" | "stale" | "too_large" | "bad_body";

export const WEBHOOK_OUTCOMES: readonly WebhookOutcome[] = [
  "accepted",
  "duplicate",
  "ignored",
  "unchanged",
  "bad_shape",
  "bad_signature",
  "stale",
  "too_large",
  "bad_body",
];

export interface WebhookMetrics {
  counted(outcome: WebhookOutcome): void;
}
