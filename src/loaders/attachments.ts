/**
 * Customer attachments: the list per (company, connection, customer) and single attachments by id. Codat has no
 * batch read for either, so these deduplicate within the request rather than batch; how many lists run at once
 * is the client's per-company limiter's business (a page of 50 customers queues behind 10 slots, never a 429).
 *
 * Miss policy: an attachment Codat answers 404 for is `null`; a failed call fails only its own key. A list
 * primes the by-id loader, so a list and a lookup of one of its attachments cost one call.
 */
import DataLoader from "dataloader";
import { asError } from "./miss.js";
import type { CodatApi } from "../auth/scoped-client.js";
import type { CallOptions } from "../codat/client.js";
import { toAttachment, type Attachment } from "../models/index.js";

export interface AttachmentsKey {
  companyId: string;
  connectionId: string;
  customerId: string;
}

export interface AttachmentKey extends AttachmentsKey {
  attachmentId: string;
}

/** Company and connection ids are UUIDs Codat matches case-insensitively; platform ids are kept exact. */
export const attachmentsKeyOf = (key: AttachmentsKey): string =>
  [key.companyId.toLowerCase(), key.connectionId.toLowerCase(), key.customerId].join("\u0000");

export const attachmentKeyOf = (key: AttachmentKey): string => `${attachmentsKeyOf(key)}\u0000${key.attachmentId}`;

/** `call`: the request's Codat call options (its signal), passed to every call. */
export function createAttachmentLoaders(client: CodatApi, call?: CallOptions) {
  const customerAttachment = new DataLoader<AttachmentKey, Attachment | null, string>(
    (keys) =>
      Promise.all(
        keys.map((key) =>
          client
            .getCustomerAttachment(key.companyId, key.connectionId, key.customerId, key.attachmentId, call)
            .then((dto) => (dto ? toAttachment(key, dto) : null), asError),
        ),
      ),
    { batch: false, cacheKeyFn: attachmentKeyOf },
  );

  const customerAttachments = new DataLoader<AttachmentsKey, Attachment[], string>(
    (keys) =>
      Promise.all(
        keys.map((key) =>
          client.listCustomerAttachments(key.companyId, key.connectionId, key.customerId, call).then((list) => {
            const attachments = (list.attachments ?? []).map((dto) => toAttachment(key, dto));
            for (const attachment of attachments) customerAttachment.prime({ ...key, attachmentId: attachment.id }, attachment);
            return attachments;
          }, asError),
        ),
      ),
    { batch: false, cacheKeyFn: attachmentsKeyOf },
  );

  return { customerAttachment, customerAttachments };
}
