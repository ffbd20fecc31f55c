/**
 * The simulator's in-memory data: companies, their connections, customers and attachment metadata.
 *
 * Records are treated as immutable values: a change (a future push/update) replaces the record object through
 * `Dataset.upsert`, never mutates it. That lets the store cache each record's JSON text (list pages are built
 * by concatenating cached strings) and cache sorted views per `orderBy`, both invalidated by identity/version.
 */
import type { CodatAttachment, CodatConnection, CodatCustomer, CodatPushOperation } from "./codat-types.js";
import { compileOrderBy, type CompiledOrder, type DatasetSchema } from "./query.js";

export type { CodatConnection };
/** A stored push operation (Sync for Expenses `PushOperation`; the POST/PUT responses add `data`). */
export type PushOperationRecord = CodatPushOperation;

/** Query/orderBy schema of the customers dataset (Accounting `Customer`). */
export const CUSTOMER_SCHEMA: DatasetSchema = (() => {
  const s = { kind: "string" } as const;
  const d = { kind: "date" } as const;
  const address = {
    kind: "object",
    fields: { type: s, line1: s, line2: s, city: s, region: s, country: s, postalCode: s },
  } as const;
  const phone = { kind: "object", fields: { number: s, type: s } } as const;
  return {
    fields: {
      id: s,
      customerName: s,
      contactName: s,
      emailAddress: s,
      defaultCurrency: s,
      phone: s,
      addresses: { kind: "array", items: address },
      contacts: {
        kind: "array",
        items: {
          kind: "object",
          fields: {
            name: s,
            email: s,
            phone: { kind: "array", items: phone },
            address,
            status: s,
            modifiedDate: d,
          },
        },
      },
      registrationNumber: s,
      taxNumber: s,
      status: s,
      metadata: { kind: "object", fields: { isDeleted: { kind: "boolean" } } },
      modifiedDate: d,
      sourceModifiedDate: d,
    },
  };
})();

/** Query/orderBy schema of a company's connections (Platform `Connection`). */
export const CONNECTION_SCHEMA: DatasetSchema = {
  fields: {
    id: { kind: "string" },
    integrationId: { kind: "string" },
    integrationKey: { kind: "string" },
    sourceId: { kind: "string" },
    sourceType: { kind: "string" },
    platformName: { kind: "string" },
    linkUrl: { kind: "string" },
    status: { kind: "string" },
    lastSync: { kind: "date" },
    created: { kind: "date" },
  },
};

/** Query/orderBy schema of a company's push operations (`GET /companies/{id}/push`). */
export const PUSH_OPERATION_SCHEMA: DatasetSchema = {
  fields: {
    pushOperationKey: { kind: "string" },
    companyId: { kind: "string" },
    dataConnectionKey: { kind: "string" },
    dataType: { kind: "string" },
    status: { kind: "string" },
    statusCode: { kind: "number" },
    requestedOnUtc: { kind: "date" },
    completedOnUtc: { kind: "date" },
    timeoutInMinutes: { kind: "number" },
    errorMessage: { kind: "string" },
  },
};

const jsonCache = new WeakMap<object, string>();
/** JSON text of a record, computed once per record object (records are never mutated, see the module comment). */
export function recordJson(record: object): string {
  let text = jsonCache.get(record);
  if (text === undefined) {
    text = JSON.stringify(record);
    jsonCache.set(record, text);
  }
  return text;
}

/** An ordered, id-indexed collection that `query`/`orderBy`/paging run over. */
export class Dataset<T extends object> {
  private items: T[] = [];
  private readonly byId = new Map<string, number>();
  private readonly sorted = new Map<string, T[]>();
  /** Bumped on every change, so caches keyed on it can tell they are stale. */
  version = 0;

  constructor(
    readonly schema: DatasetSchema,
    private readonly idOf: (record: T) => string,
    initial: readonly T[] = [],
  ) {
    for (const record of initial) this.upsert(record);
  }

  get size(): number {
    return this.items.length;
  }

  /** Records in the store's order: insertion order (generation order for demo data; new records append). */
  all(): readonly T[] {
    return this.items;
  }

  get(id: string): T | undefined {
    const index = this.byId.get(id);
    return index === undefined ? undefined : this.items[index];
  }

  /** Inserts, or replaces in place (keeping its position) the record with the same id. */
  upsert(record: T): void {
    const id = this.idOf(record);
    const index = this.byId.get(id);
    if (index === undefined) {
      this.byId.set(id, this.items.length);
      this.items.push(record);
    } else {
      this.items[index] = record;
    }
    this.version++;
    this.sorted.clear();
  }

  /** Records in `orderBy` order (or store order), cached until the next change. */
  ordered(orderBy: string | undefined): readonly T[] {
    if (!orderBy) return this.items;
    const order: CompiledOrder = compileOrderBy(this.schema, orderBy);
    let view = this.sorted.get(order.key);
    if (!view) {
      view = order.sort(this.items);
      this.sorted.set(order.key, view);
    }
    return view;
  }
}

export interface AttachmentRecord {
  customerId: string;
  connectionId: string;
  attachment: CodatAttachment & { id: string; fileSize: number };
  /**
   * Seed for the attachment's bytes, generated on demand as a stream (nothing is held in memory), so a
   * >= 1 GiB attachment costs nothing until downloaded.
   */
  contentSeed: number;
}

export interface CompanyData {
  id: string;
  name: string;
  connections: Dataset<CodatConnection>;
  customers: Dataset<CodatCustomer & { id: string }>;
  /** Attachment metadata by customer id (all on the company's accounting connection). */
  attachments: Map<string, AttachmentRecord[]>;
  /**
   * Push operations in request order (the default order of `GET /companies/{id}/push`). A status change
   * replaces the record (`upsert`), like every other record.
   */
  pushOperations: Dataset<PushOperationRecord>;
}

export class SimulatorStore {
  readonly companies = new Map<string, CompanyData>();

  addCompany(company: CompanyData): void {
    this.companies.set(company.id.toLowerCase(), company);
  }

  /** Company ids are GUIDs, which Codat matches case-insensitively. */
  company(id: string): CompanyData | undefined {
    return this.companies.get(id.toLowerCase());
  }
}
