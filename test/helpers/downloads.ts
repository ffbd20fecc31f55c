/** Download fixtures shared by the download tests (test/http/) and the slow tier (test/slow/). */
import { request, type IncomingMessage } from "node:http";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, type AttachmentRecord } from "codat-simulator";
import type { Stack } from "./stack.js";

/** Every attachment of the demo company, as the simulator stores them. */
export function demoAttachmentsOf(stack: Stack): AttachmentRecord[] {
  return [...(stack.simulator.store.company(DEMO_COMPANY_ID)?.attachments.values() ?? [])].flat();
}

/** The demo attachment of a customer (its first, or the one with `attachmentId`). */
export function attachmentRecord(stack: Stack, customerId: string, attachmentId?: string): AttachmentRecord {
  const found = demoAttachmentsOf(stack).find(
    (r) => r.customerId === customerId && (attachmentId === undefined || r.attachment.id === attachmentId),
  );
  if (!found) throw new Error(`no demo attachment for ${customerId}`);
  return found;
}

/** Asks the gateway for the attachment's downloadUrl, then forgets the upstream calls that cost. */
export async function downloadUrlOf(stack: Stack, r: AttachmentRecord): Promise<string> {
  const result = await stack.graphql<{ customerAttachment: { downloadUrl: string } }>(
    `query($c: ID!, $a: ID!) { customerAttachment(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customerId: $c, attachmentId: $a) { downloadUrl } }`,
    { c: r.customerId, a: r.attachment.id },
  );
  const url = result.data?.customerAttachment.downloadUrl;
  if (!url) throw new Error(`no downloadUrl: ${result.text}`);
  stack.resetUpstream();
  return url;
}

/** GET with node:http, so the test controls the socket: stops (destroys the request) after `stopAfter` bytes. */
export function partialGet(
  url: string,
  stopAfter: number,
  onBytes?: (chunk: Buffer) => void,
): Promise<{ response: IncomingMessage; received: number }> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const req = request(url, (response) => {
      response.on("data", (chunk: Buffer) => {
        if (received >= stopAfter) return;
        const wanted = chunk.subarray(0, stopAfter - received);
        received += wanted.length;
        onBytes?.(wanted);
        if (received >= stopAfter) {
          req.destroy();
          resolve({ response, received });
        }
      });
      response.on("end", () => resolve({ response, received }));
    });
    req.on("error", (error) => {
      if (received < stopAfter) reject(error);
    });
    req.end();
  });
}

/**
 * GETs a download and closes the simulator (Codat going away) as the first bytes arrive: how the transfer ended
 * for the client — "complete" would mean a truncated file passed for a whole one.
 */
export function downloadWhileCodatGoesAway(url: string, stack: Stack): Promise<"complete" | "incomplete" | "aborted" | "error"> {
  return new Promise((resolve) => {
    let closing = false;
    const req = request(url, (response) => {
      response.on("data", () => {
        if (!closing) {
          closing = true;
          void stack.simulator.close();
        }
      });
      response.on("end", () => resolve(response.complete ? "complete" : "incomplete"));
      response.on("aborted", () => resolve("aborted"));
      response.on("error", () => resolve("error"));
    });
    req.on("error", () => resolve("error"));
    req.end();
  });
}
