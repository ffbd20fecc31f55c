/**
 * A change Codat announced for a company's data (a leaf module: the webhook route produces them, the read cache
 * consumes them; neither imports the other).
 */
export type DataChangeKind = "read.completed" | "write.successful" | "connection" | "company.deleted";

export interface DataChange {
  kind: DataChangeKind;
  companyId: string;
  /** Codat data types whose records changed (e.g. "customers"); "*" = every data type of the company. */
  dataTypes: readonly string[];
  /** The webhook's `generatedDate` (ISO 8601), for the invalidation-lag metric. */
  generatedDate?: string | undefined;
  /**
   * A write's kind (`{dataType}.write.successful`'s `payload.type`: Create, Update, Delete, UploadAttachment); an
   * `UploadAttachment` changed a record's attachments, not the record.
   */
  writeType?: string | undefined;
  /** A write's push operation key (`payload.id`): the same push the gateway may have seen succeed already. */
  pushOperationKey?: string | undefined;
  /** The record a write wrote (`payload.record.id`), when Codat names it. */
  recordId?: string | undefined;
}

export interface DataChangeSink {
  dataChanged(change: DataChange): void | Promise<void>;
}
