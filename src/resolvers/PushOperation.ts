import { fromGlobalIdOf, toGlobalId } from "../ids/global-id.js";
import type { PushChangeResolvers, PushOperationResolvers, PushValidationResolvers } from "../__generated__/resolvers-types.js";
import { toPushChangeType, toPushOperationStatus } from "../mappers/enums.js";

export const PushOperation: PushOperationResolvers = {
  __resolveReference: (reference, { loaders }) => {
    if ("pushOperationKey" in reference) {
      return loaders.pushOperation.load({ companyId: reference.companyId, pushOperationKey: reference.pushOperationKey });
    }
    const ref = fromGlobalIdOf(reference.id, "PushOperation");
    return loaders.pushOperation.load({ companyId: ref.companyId, pushOperationKey: ref.pushOperationKey });
  },
  id: (operation) => toGlobalId({ type: "PushOperation", companyId: operation.companyId, pushOperationKey: operation.pushOperationKey }),
  connectionId: (operation) => operation.dataConnectionKey,
  dataType: (operation) => operation.dataType ?? null,
  status: (operation) => toPushOperationStatus(operation.status, operation.completedOnUtc),
  changes: (operation) => operation.changes ?? [],
  validation: (operation) => operation.validation ?? null,
};

export const PushValidation: PushValidationResolvers = {
  errors: (validation) => validation.errors ?? [],
  warnings: (validation) => validation.warnings ?? [],
};

export const PushChange: PushChangeResolvers = {
  type: (change) => toPushChangeType(change.type),
  recordRef: (change) => change.recordRef ?? null,
};
