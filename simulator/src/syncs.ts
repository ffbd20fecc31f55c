/**
 * Syncs (Codat's "reads", or pulls): Codat refreshes its cache of a company's data from the accounting platform
 * and then says what changed with a `read.completed` webhook (codatio/oas, yaml/Codat-Platform.yaml `webhooks:`,
 * `ReadCompletedWebhook`): per data type, `recordsModified` is true when records were created, updated or deleted
 * in Codat's cache since the last read.
 *
 * The simulator's cache is its store, so a change is visible at once; what a sync adds is the announcement. The
 * tracker remembers, per company, the data types changed since that company's last sync:
 *   - a push completing `Success` changes `customers`; with `allowSyncOnPushComplete` (Codat's default, true) a
 *     sync of that data type runs at once, so its read.completed says `recordsModified: true` (a failed push
 *     syncs too, and says false); with `allowSyncOnPushComplete=false` the change waits for the next sync;
 *   - `Simulator.editCustomer()` (a change made in the accounting platform) changes `customers`, synced at once
 *     unless told not to;
 *   - `Simulator.sync()` runs a sync of a company now: `recordsModified` for whatever changed since the last one,
 *     `false` when nothing did.
 * Every sync is recorded (`Simulator.syncs`, the latest `MAX_SYNC_RECORDS`) and, with webhooks configured,
 * announced (webhooks.ts).
 */
import { randomUUID } from "node:crypto";
import type { CompanyData } from "./store.js";

/** The data types the simulator serves (and so syncs). */
export const SYNCED_DATA_TYPES: readonly string[] = ["customers"];
/** Sync records kept (oldest dropped first). */
export const MAX_SYNC_RECORDS = 1_000;

/** One data type's result in a sync (`dataTypeReadSummary` of the ReadCompletedWebhook). */
export interface DataTypeRead {
  connectionId: string;
  dataType: string;
  recordsModified: boolean;
  status: "Complete";
}

export interface SyncRecord {
  /** The sync's id (the read.completed event's `id`). */
  id: string;
  companyId: string;
  /** What started it. */
  reason: "push" | "edit" | "manual";
  /** ISO time the sync completed. */
  completedOn: string;
  /** ISO time of the company's previous sync (Codat's `modifiedFromDate`); null for its first. */
  modifiedFromDate: string | null;
  dataTypes: DataTypeRead[];
}

export class SyncTracker {
  readonly #records: SyncRecord[] = [];
  /** Company (lower-cased id) → data types changed since its last sync. */
  readonly #changed = new Map<string, Set<string>>();
  /** Company (lower-cased id) → ISO time of its last sync. */
  readonly #lastSync = new Map<string, string>();

  get records(): readonly SyncRecord[] {
    return this.#records;
  }

  /** Records that a company's data of `dataType` changed (announced by its next sync). */
  changed(company: CompanyData, dataType: string): void {
    const key = company.id.toLowerCase();
    let changed = this.#changed.get(key);
    if (changed === undefined) {
      changed = new Set();
      this.#changed.set(key, changed);
    }
    changed.add(dataType);
  }

  /** Runs a sync of `dataTypes` for the company now; the data types it covers are no longer pending. */
  sync(company: CompanyData, dataTypes: readonly string[], reason: SyncRecord["reason"], nowMs: number): SyncRecord {
    const key = company.id.toLowerCase();
    const changed = this.#changed.get(key);
    // The company's accounting connection (the simulator's companies have one).
    const connectionId = company.connections.all()[0]?.id ?? "";
    const completedOn = new Date(nowMs).toISOString();
    const record: SyncRecord = {
      id: randomUUID(),
      companyId: company.id,
      reason,
      completedOn,
      modifiedFromDate: this.#lastSync.get(key) ?? null,
      dataTypes: [...new Set(dataTypes)].map((dataType) => ({
        connectionId,
        dataType,
        recordsModified: changed?.delete(dataType) === true,
        status: "Complete",
      })),
    };
    if (changed?.size === 0) this.#changed.delete(key);
    this.#lastSync.set(key, completedOn);
    this.#records.push(record);
    if (this.#records.length > MAX_SYNC_RECORDS) this.#records.splice(0, this.#records.length - MAX_SYNC_RECORDS);
    return record;
  }
}
