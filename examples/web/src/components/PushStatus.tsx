import { useSubscription } from "@apollo/client/react";
import { graphql } from "../__generated__";
import type { PushStatusSubscription } from "../__generated__/graphql";
import { ErrorList } from "./ErrorList";

const PushStatusSubscriptionDocument = graphql(`
  subscription PushStatus($companyId: ID!, $pushOperationKey: ID!) {
    pushOperationUpdated(companyId: $companyId, pushOperationKey: $pushOperationKey) {
      id
      pushOperationKey
      status
      statusCode
      completedOnUtc
      errorMessage
      validation {
        errors {
          message
          itemId
        }
      }
      changes {
        type
        recordRef {
          id
        }
      }
    }
  }
`);

export type PushState = PushStatusSubscription["pushOperationUpdated"];

/**
 * A write's push operation, live: `pushOperationUpdated` sends the current state, each change, and the final
 * state, then completes (the gateway polls Codat or hears its webhook; the browser never polls).
 */
export function PushStatus(props: { companyId: string; pushOperationKey: string; onFinished: (operation: PushState) => void }) {
  const { data, error } = useSubscription(PushStatusSubscriptionDocument, {
    variables: { companyId: props.companyId, pushOperationKey: props.pushOperationKey },
    onData: ({ data: result }) => {
      const operation = result.data?.pushOperationUpdated;
      if (operation && operation.status !== "PENDING") props.onFinished(operation);
    },
  });
  const status = data?.pushOperationUpdated.status ?? "PENDING";
  return (
    <div className="push">
      Push{" "}
      <output data-testid="push-status" data-status={status}>
        {status}
      </output>
      {error && <ErrorList error={error} />}
    </div>
  );
}
