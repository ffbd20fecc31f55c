/** Signing and sending Codat-shaped webhooks in tests (Standard Webhooks, signed by the reference library). */
import { randomBytes, randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** A secret as Codat's portal shows one: `whsec_` and base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

export interface SignOptions {
  id?: string;
  /** The signing time; default now. */
  at?: Date;
}

export function signedHeaders(secret: string, body: string, options: SignOptions = {}): Record<string, string> {
  const id = options.id ?? `msg_${randomUUID()}`;
  const at = options.at ?? new Date();
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, at, body),
  };
}

/** A `{dataType}.write.*` event in Codat's DataTypeWriteWebhook shape (codatio/oas, yaml/Webhooks.yaml). */
export function writeEvent(fields: {
  companyId: string;
  pushOperationKey: string;
  eventType?: string;
  status?: string;
  companyName?: string;
}): Record<string, unknown> {
  return {
    id: randomUUID(),
    eventType: fields.eventType ?? "customers.write.successful",
    generatedDate: new Date().toISOString(),
    payload: {
      id: fields.pushOperationKey,
      type: "Create",
      referenceCompany: { id: fields.companyId, name: fields.companyName ?? "Toft stores", description: "" },
      connectionId: randomUUID(),
      requestedOnDate: new Date().toISOString(),
      completedOnDate: new Date().toISOString(),
      status: fields.status ?? "Success",
      record: { id: randomUUID() },
      attachmentId: null,
    },
  };
}

/** POSTs `body` (an event, or exact text) signed with `secret`, or with the given headers. */
export async function sendWebhook(
  url: string,
  secret: string,
  body: unknown,
  options: SignOptions & { headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown; text: string }> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(url, { method: "POST", headers: options.headers ?? signedHeaders(secret, text, options), body: text });
  const answer = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text: answer };
}

/** codat_gateway_webhooks_total{outcome} as scraped from a gateway's /metrics. */
export async function webhookCount(metricsUrl: string | undefined, outcome: string): Promise<number> {
  if (metricsUrl === undefined) throw new Error("metrics are off");
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split("\n").find((l) => l.startsWith(`codat_gateway_webhooks_total{outcome="${outcome}"}`));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** A `read.completed` (or `read.completed.initial`) event in Codat's ReadCompletedWebhook shape (codatio/oas, yaml/Codat-Platform.yaml). */
export function readCompletedEvent(fields: {
  companyId: string;
  /** Data type → recordsModified. */
  dataTypes: Record<string, boolean>;
  eventType?: string;
  generatedDate?: string;
}): Record<string, unknown> {
  return {
    id: randomUUID(),
    eventType: fields.eventType ?? "read.completed",
    generatedDate: fields.generatedDate ?? new Date().toISOString(),
    payload: {
      referenceCompany: { id: fields.companyId, name: "Toft stores", description: "", links: { portal: "https://app.codat.io/" } },
      modifiedFromDate: "2022-10-23T00:00:00.000Z",
      dataTypes: Object.entries(fields.dataTypes).map(([dataType, recordsModified]) => ({
        connectionId: randomUUID(),
        dataType,
        recordsModified,
        status: "Complete",
        issues: [],
      })),
    },
  };
}

/** A `connection.*` event in Codat's ConnectionWebhook shape. */
export function connectionEvent(companyId: string, eventType: string): Record<string, unknown> {
  return {
    id: randomUUID(),
    eventType,
    generatedDate: new Date().toISOString(),
    payload: {
      referenceCompany: { id: companyId, name: "Toft stores", description: "" },
      connection: { id: randomUUID(), integrationKey: "gbol", platformName: "Xero", status: "Linked", sourceType: "Accounting" },
    },
  };
}

/** A `company.deleted` event in Codat's CompanyWebhook shape (the payload is the company itself). */
export function companyDeletedEvent(companyId: string): Record<string, unknown> {
  return {
    id: randomUUID(),
    eventType: "company.deleted",
    generatedDate: new Date().toISOString(),
    payload: { id: companyId, name: "Toft stores", description: "", redirect: "https://link.codat.io/company/x" },
  };
}
