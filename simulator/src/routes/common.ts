/**
 * Building blocks shared by the simulator's routes: company/connection lookup, query parameters, Codat paging
 * (`page`, `pageSize`, `query`, `orderBy`) and the `{ results, pageNumber, pageSize, totalResults, _links }`
 * envelope.
 */
import { SimHttpError } from "../errors.js";
import { QueryError, compileQuery } from "../query.js";
import type { RequestContext, SimResponse } from "../server.js";
import { jsonText } from "../server.js";
import { recordJson, type CodatConnection, type CompanyData, type Dataset } from "../store.js";

/** The company named by the `companyId` path parameter, or Codat's 404 for an unknown company. */
export function requireCompany(ctx: RequestContext): CompanyData {
  const id = ctx.params["companyId"] ?? "";
  const company = ctx.store.company(id);
  if (!company) throw new SimHttpError(404, `No company was found with ID ${id}`, "ClientsApi");
  return company;
}

export interface PagingLimits {
  /** Largest accepted `pageSize` (5000 for data endpoints; the Platform API documents 2000). */
  maxPageSize: number;
}

const INTEGER = /^[+-]?\d+$/;

function intParam(ctx: RequestContext, name: string, fallback: number, min: number, max: number): number {
  const raw = ctx.query.get(name);
  // An empty value is treated like an absent one (ASP.NET model binding leaves the default in place).
  if (raw === null || raw === "") return fallback;
  const value = INTEGER.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
    throw new SimHttpError(400, `Error processing request - ${name} must be ${range}.`, "PublicApi");
  }
  return value;
}

/** Codat's two flavours of query error differ in service name, as in the spec's Malformed-Query examples. */
function queryError(error: QueryError): SimHttpError {
  return new SimHttpError(400, error.message, error.message.includes("Could not resolve") ? "PullApi" : "ClientsApi");
}

/**
 * Serves one page of a dataset: filter (`query`), order (`orderBy`, stable; store order by default), page.
 * `basePath` is the undecorated collection path used in `_links` (e.g. `/companies/{id}/data/customers`).
 */
export function listPage<T extends object>(
  ctx: RequestContext,
  dataset: Dataset<T>,
  basePath: string,
  limits: PagingLimits = { maxPageSize: 5000 },
): SimResponse {
  const page = intParam(ctx, "page", 1, 1, Number.MAX_SAFE_INTEGER);
  const pageSize = intParam(ctx, "pageSize", 100, 1, limits.maxPageSize);
  const query = ctx.query.get("query") ?? "";
  const orderBy = ctx.query.get("orderBy") ?? "";

  let rows: readonly T[];
  try {
    const ordered = dataset.ordered(orderBy || undefined);
    rows = query ? ordered.filter(compileQuery(dataset.schema, query)) : ordered;
  } catch (err) {
    if (err instanceof QueryError) throw queryError(err);
    throw err;
  }

  const total = rows.length;
  const start = (page - 1) * pageSize;
  const slice = start < total ? rows.slice(start, start + pageSize) : [];

  const href = (p: number) => {
    let h = `${basePath}?page=${p}&pageSize=${pageSize}`;
    if (query) h += `&query=${encodeURIComponent(query)}`;
    if (orderBy) h += `&orderBy=${encodeURIComponent(orderBy)}`;
    return JSON.stringify({ href: h });
  };
  let links = `{"self":${JSON.stringify({ href: basePath })},"current":${href(page)}`;
  if (start + pageSize < total) links += `,"next":${href(page + 1)}`;
  if (page > 1) links += `,"previous":${href(page - 1)}`;
  links += "}";

  // Built from per-record cached JSON: a 100-record page costs string joins, not a fresh JSON.stringify.
  const results = slice.map(recordJson).join(",");
  return jsonText(200, `{"results":[${results}],"pageNumber":${page},"pageSize":${pageSize},"totalResults":${total},"_links":${links}}`);
}

/**
 * The company's data connection named by the `connectionId` path parameter (GUIDs, matched case-insensitively),
 * or Codat's 404 "Data connection … not found" — also for a connection of another company.
 */
export function requireConnection(ctx: RequestContext, company: CompanyData): CodatConnection {
  const id = ctx.params["connectionId"] ?? "";
  const connection = company.connections.get(id) ?? company.connections.all().find((c) => c.id.toLowerCase() === id.toLowerCase());
  if (!connection) throw new SimHttpError(404, `Data connection ${id} not found`, "PublicApi");
  return connection;
}

/** A boolean query parameter (`true`/`false`, any case; empty or absent → `fallback`), else 400. */
export function boolParam(ctx: RequestContext, name: string, fallback: boolean): boolean {
  const raw = ctx.query.get(name);
  if (raw === null || raw === "") return fallback;
  const lower = raw.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  throw new SimHttpError(400, `Error processing request - ${name} must be true or false.`, "PublicApi");
}

/** An optional non-negative int32 query parameter (absent or empty → null), else 400. */
export function optionalIntParam(ctx: RequestContext, name: string): number | null {
  const raw = ctx.query.get(name);
  if (raw === null || raw === "") return null;
  return intParam(ctx, name, 0, 0, 2_147_483_647);
}
