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
}

export interface DataChangeSink {
  dataChanged(change: DataChange): void | Promise<void>;
}
