import type { AttachmentResolvers } from "../__generated__/resolvers-types.js";
import { toGlobalId } from "../ids/global-id.js";

export const Attachment: AttachmentResolvers = {
  id: (attachment) =>
    toGlobalId({
      type: "Attachment",
      companyId: attachment.companyId,
      connectionId: attachment.connectionId,
      customerId: attachment.customerId,
      attachmentId: attachment.id,
    }),
  attachmentId: (attachment) => attachment.id,
  // Minted per query, so the link's lifetime starts when the client asks for it.
  downloadUrl: (attachment, _args, { downloads, caller }) =>
    downloads.url({
      caller: caller.id ?? undefined,
      companyId: attachment.companyId,
      connectionId: attachment.connectionId,
      customerId: attachment.customerId,
      attachmentId: attachment.id,
      name: attachment.name,
    }),
};
