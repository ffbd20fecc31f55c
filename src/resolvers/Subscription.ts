import type { SubscriptionResolvers } from "../__generated__/resolvers-types.js";
import { mayUseCompany } from "../auth/caller.js";
import { forbidden } from "../auth/scoped-client.js";
import { uuidSegment } from "../codat/paths.js";
import { ErrorCode, gatewayError } from "../errors.js";
import type { PushStatusEvent } from "../push-status/watcher.js";

export const Subscription: SubscriptionResolvers = {
  pushOperationUpdated: {
    // The same checks, in the same order and with the same errors, as the scoped client and Codat client make
    // for `pushOperation` (FORBIDDEN for a company not granted, then BAD_USER_INPUT for a malformed id), here
    // before joining the watch, whose reads run as a system caller.
    subscribe: (_parent, { companyId, pushOperationKey }, ctx) => {
      if (!mayUseCompany(ctx.caller, companyId)) throw forbidden(companyId);
      uuidSegment(companyId, "companyId");
      uuidSegment(pushOperationKey, "pushOperationKey");
      if (!ctx.pushWatcher) throw gatewayError(ErrorCode.InternalServerError, "Subscriptions are not served here.");
      return ctx.pushWatcher.watch({ companyId, pushOperationKey });
    },
    resolve: (event: PushStatusEvent) => {
      if (event.error) throw event.error;
      return event.operation;
    },
  },
};
