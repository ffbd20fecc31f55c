/**
 * Codat's query language (`query=`) and ordering (`orderBy=`), compiled to plain predicates/comparators.
 *
 * Grammar (Codat documents no formal grammar; this is the documented surface, made precise):
 *
 *   or         := and ( "||" and )*            -- `&&` binds tighter than `||`
 *   and        := primary ( "&&" primary )*
 *   primary    := "{" or "}" | comparison
 *   comparison := path op value
 *   path       := ident ( "." ident )*         -- ident = [A-Za-z_][A-Za-z0-9_]*, resolved case-insensitively
 *   op         := "!=" | ">=" | "<=" | "=" | "~" | ">" | "<"
 *   value      := one or more characters, up to the next "&&", "||", "}" or the end of the query; it may
 *                 not start with "=" (so `status==Active` is malformed rather than a search for "=Active")
 *
 * No whitespace is skipped anywhere: Codat says "no spaces around operators", so a space before a path is a
 * malformed query and a space inside or at the end of a value is part of the value. There is no escaping, so a
 * value containing `}`, `&&` or `||` cannot be expressed (the gateway must fetch such ids one by one).
 *
 * Typed comparison, by the declared type of the property in the dataset schema (not by the data):
 * - `null` (any case) is the null literal for every type: `x=null` matches null/missing, `x!=null` the rest;
 *   `~`, `>`, `<`, `>=`, `<=` against null are malformed.
 * - boolean: `true`/`false` (any case), else malformed. Ordering treats false < true.
 * - number: a decimal number, else malformed.
 * - date: an ISO 8601 date or date-time, else malformed. Compared as instants; a date-time without a zone (the
 *   Codat quirk in `sourceModifiedDate`) is read as UTC, both in the data and in the query.
 * - string: `=`/`!=` compare case-insensitively (Codat's backing store is case-insensitive); `>`/`<` compare the
 *   lower-cased strings by UTF-16 code units.
 * - `~` is a case-insensitive "contains" on the value's text for every type.
 * - A record whose value has a different JS type than declared never matches (except for `!=`).
 *
 * Arrays: a path may step through arrays (`addresses.city`, `contacts.phone.type`); the comparison then matches
 * when ANY element matches. `!=` is always the exact negation of `=`, so `addresses.city!=London` means "no
 * address is in London" (and is true for a customer without addresses). `orderBy` cannot use such paths.
 */

export type ScalarKind = "string" | "number" | "boolean" | "date";
export type FieldSchema =
  { kind: ScalarKind } | { kind: "object"; fields: Record<string, FieldSchema> } | { kind: "array"; items: FieldSchema };

/** The properties a dataset exposes to `query` and `orderBy`; anything else "could not be resolved". */
export interface DatasetSchema {
  fields: Record<string, FieldSchema>;
}

/** A query/orderBy problem; `message` is the complete `ErrorMessage.error` text Codat would send. */
export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryError";
  }
}

export const MAX_QUERY_LENGTH = 2048;
const MALFORMED = "Error parsing query - Malformed query.";

export type Predicate = (record: unknown) => boolean;
type Op = "=" | "!=" | "~" | ">" | "<" | ">=" | "<=";

type Node = { t: "or"; nodes: Node[] } | { t: "and"; nodes: Node[] } | { t: "cmp"; path: string; op: Op; value: string };

// ---------------------------------------------------------------------------------------------------- parsing

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Node {
    const node = this.parseOr();
    if (this.i !== this.s.length) throw new QueryError(MALFORMED);
    return node;
  }

  private parseOr(): Node {
    const first = this.parseAnd();
    if (!this.s.startsWith("||", this.i)) return first;
    const nodes = [first];
    while (this.s.startsWith("||", this.i)) {
      this.i += 2;
      nodes.push(this.parseAnd());
    }
    return { t: "or", nodes };
  }

  private parseAnd(): Node {
    const first = this.parsePrimary();
    if (!this.s.startsWith("&&", this.i)) return first;
    const nodes = [first];
    while (this.s.startsWith("&&", this.i)) {
      this.i += 2;
      nodes.push(this.parsePrimary());
    }
    return { t: "and", nodes };
  }

  private parsePrimary(): Node {
    if (this.s[this.i] === "{") {
      this.i++;
      const inner = this.parseOr();
      if (this.s[this.i] !== "}") throw new QueryError(MALFORMED);
      this.i++;
      return inner;
    }
    return this.parseComparison();
  }

  private parseComparison(): Node {
    const s = this.s;
    const start = this.i;
    // path: ident ("." ident)*
    for (;;) {
      const c = s[this.i];
      if (c === undefined || !IDENT_START.test(c)) throw new QueryError(MALFORMED);
      this.i++;
      while (this.i < s.length && IDENT_PART.test(s[this.i] ?? "")) this.i++;
      if (s[this.i] !== ".") break;
      this.i++;
    }
    const path = s.slice(start, this.i);
    let op: Op;
    const two = s.slice(this.i, this.i + 2);
    if (two === "!=" || two === ">=" || two === "<=") {
      op = two;
      this.i += 2;
    } else {
      const one = s[this.i];
      if (one !== "=" && one !== "~" && one !== ">" && one !== "<") throw new QueryError(MALFORMED);
      op = one;
      this.i++;
    }
    const valueStart = this.i;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === "}") break;
      if ((c === "&" || c === "|") && s[this.i + 1] === c) break;
      this.i++;
    }
    // An empty value, or one starting with "=" (`status==Active`, `a>==1`), is a typo rather than a value.
    if (this.i === valueStart || s[valueStart] === "=") throw new QueryError(MALFORMED);
    return { t: "cmp", path, op, value: s.slice(valueStart, this.i) };
  }
}

// ---------------------------------------------------------------------------------------------------- resolving

interface ResolvedPath {
  /** Canonical (schema-spelled) segments. */
  segments: string[];
  kind: ScalarKind;
  /** True when some segment (or the leaf) is an array, so the path yields several values. */
  multi: boolean;
}

const lowerFieldMaps = new WeakMap<Record<string, FieldSchema>, Map<string, [string, FieldSchema]>>();
function lookupField(fields: Record<string, FieldSchema>, name: string): [string, FieldSchema] | undefined {
  let map = lowerFieldMaps.get(fields);
  if (!map) {
    map = new Map(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), [k, v] as [string, FieldSchema]]));
    lowerFieldMaps.set(fields, map);
  }
  return map.get(name.toLowerCase());
}

function unresolved(path: string): QueryError {
  return new QueryError(`Error parsing query - Could not resolve property ${path} on Dataset`);
}

function resolvePath(schema: DatasetSchema, path: string): ResolvedPath {
  const names = path.split(".");
  const segments: string[] = [];
  let multi = false;
  let current: FieldSchema = { kind: "object", fields: schema.fields };
  for (const name of names) {
    while (current.kind === "array") {
      multi = true;
      current = current.items;
    }
    if (current.kind !== "object") throw unresolved(path);
    const found = lookupField(current.fields, name);
    if (!found) throw unresolved(path);
    segments.push(found[0]);
    current = found[1];
  }
  while (current.kind === "array") {
    multi = true;
    current = current.items;
  }
  // A path must end on a scalar: comparing whole objects is not something Codat's language can express.
  if (current.kind === "object") throw unresolved(path);
  return { segments, kind: current.kind, multi };
}

/** Reads a path that crosses no arrays. */
function singleGetter(segments: string[]): (record: unknown) => unknown {
  if (segments.length === 1) {
    const [a] = segments as [string];
    return (r) => (r as Record<string, unknown>)[a];
  }
  return (r) => {
    let v: unknown = r;
    for (const seg of segments) {
      if (v === null || typeof v !== "object") return undefined;
      v = (v as Record<string, unknown>)[seg];
    }
    return v;
  };
}

/** Reads a path that crosses arrays, flattening every element's value (missing values included as undefined). */
function multiGetter(segments: string[]): (record: unknown) => unknown[] {
  return (record) => {
    let level: unknown[] = [record];
    for (const seg of segments) {
      const next: unknown[] = [];
      for (const item of level) {
        if (Array.isArray(item)) {
          for (const el of item) collect(el, seg, next);
        } else {
          collect(item, seg, next);
        }
      }
      level = next;
    }
    const out: unknown[] = [];
    for (const v of level) {
      if (Array.isArray(v)) out.push(...(v as unknown[]));
      else out.push(v);
    }
    return out;
  };
}
function collect(item: unknown, seg: string, into: unknown[]): void {
  if (item === null || typeof item !== "object") return;
  into.push((item as Record<string, unknown>)[seg]);
}

// ---------------------------------------------------------------------------------------------------- typed values

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2})$/i;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const dateMemo = new Map<string, number>();
/** Milliseconds since the epoch, or NaN. Zone-less date-times are read as UTC (see the module comment). */
export function parseCodatDate(text: string): number {
  const memo = dateMemo.get(text);
  if (memo !== undefined) return memo;
  let ms = Number.NaN;
  if (ISO_DATE.test(text)) {
    const normalized = text.length > 10 && !HAS_ZONE.test(text) ? `${text.replace(" ", "T")}Z` : text.replace(" ", "T");
    ms = Date.parse(normalized);
  }
  // The memo only ever sees strings from the data and from queries; bound it so hostile queries cannot grow it.
  if (dateMemo.size > 50_000) dateMemo.clear();
  dateMemo.set(text, ms);
  return ms;
}

/** Normalised comparable key for a field value of the given kind, or undefined when absent/mistyped. */
function keyOf(kind: ScalarKind, v: unknown): string | number | undefined {
  switch (kind) {
    case "string":
      return typeof v === "string" ? v.toLowerCase() : undefined;
    case "number":
      return typeof v === "number" ? v : undefined;
    case "boolean":
      return typeof v === "boolean" ? (v ? 1 : 0) : undefined;
    case "date": {
      if (typeof v !== "string") return undefined;
      const ms = parseCodatDate(v);
      return Number.isNaN(ms) ? undefined : ms;
    }
  }
}

function literalKey(kind: ScalarKind, raw: string): string | number {
  switch (kind) {
    case "string":
      return raw.toLowerCase();
    case "number": {
      if (!NUMBER.test(raw)) throw new QueryError(MALFORMED);
      return Number(raw);
    }
    case "boolean": {
      const l = raw.toLowerCase();
      if (l === "true") return 1;
      if (l === "false") return 0;
      throw new QueryError(MALFORMED);
    }
    case "date": {
      const ms = parseCodatDate(raw);
      if (Number.isNaN(ms)) throw new QueryError(MALFORMED);
      return ms;
    }
  }
}

function textOf(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") return v.toLowerCase();
  if (typeof v === "number" || typeof v === "boolean") return String(v).toLowerCase();
  return undefined;
}

/** Matches one value against a positive operator (never `!=`, which is handled as a negation of `=`). */
function valueMatcher(kind: ScalarKind, op: Exclude<Op, "!=">, raw: string): (v: unknown) => boolean {
  const isNull = raw.toLowerCase() === "null";
  if (isNull) {
    if (op !== "=") throw new QueryError(MALFORMED);
    return (v) => v === null || v === undefined;
  }
  if (op === "~") {
    const needle = raw.toLowerCase();
    return (v) => {
      const t = textOf(v);
      return t !== undefined && t.includes(needle);
    };
  }
  const lit = literalKey(kind, raw);
  switch (op) {
    case "=":
      return (v) => keyOf(kind, v) === lit;
    case ">":
      return (v) => {
        const k = keyOf(kind, v);
        return k !== undefined && k > lit;
      };
    case "<":
      return (v) => {
        const k = keyOf(kind, v);
        return k !== undefined && k < lit;
      };
    case ">=":
      return (v) => {
        const k = keyOf(kind, v);
        return k !== undefined && k >= lit;
      };
    case "<=":
      return (v) => {
        const k = keyOf(kind, v);
        return k !== undefined && k <= lit;
      };
  }
}

// ---------------------------------------------------------------------------------------------------- compiling

function compileCmp(schema: DatasetSchema, node: Extract<Node, { t: "cmp" }>): Predicate {
  const path = resolvePath(schema, node.path);
  const negate = node.op === "!=";
  const match = valueMatcher(path.kind, negate ? "=" : (node.op as Exclude<Op, "!=">), node.value);
  if (path.multi) {
    const get = multiGetter(path.segments);
    return negate ? (r) => !get(r).some(match) : (r) => get(r).some(match);
  }
  const get = singleGetter(path.segments);
  return negate ? (r) => !match(get(r)) : (r) => match(get(r));
}

function compileNode(schema: DatasetSchema, node: Node): Predicate {
  switch (node.t) {
    case "cmp":
      return compileCmp(schema, node);
    case "and": {
      const parts = node.nodes.map((n) => compileNode(schema, n));
      return (r) => parts.every((p) => p(r));
    }
    case "or":
      return compileOr(schema, node.nodes);
  }
}

/**
 * `id=a||id=b||…` is how clients batch lookups (about 40 UUIDs per call), so equalities on the same
 * single-valued string property inside one `||` collapse into a Set lookup instead of N comparisons per record.
 */
function compileOr(schema: DatasetSchema, nodes: Node[]): Predicate {
  const sets = new Map<string, { get: (r: unknown) => unknown; values: Set<string> }>();
  const others: Predicate[] = [];
  for (const n of nodes) {
    if (n.t === "cmp" && n.op === "=" && n.value.toLowerCase() !== "null") {
      const path = resolvePath(schema, n.path);
      if (path.kind === "string" && !path.multi) {
        const key = path.segments.join(".");
        let entry = sets.get(key);
        if (!entry) {
          entry = { get: singleGetter(path.segments), values: new Set() };
          sets.set(key, entry);
        }
        entry.values.add(n.value.toLowerCase());
        continue;
      }
    }
    others.push(compileNode(schema, n));
  }
  const parts: Predicate[] = [...others];
  for (const { get, values } of sets.values()) {
    parts.push((r) => {
      const v = get(r);
      return typeof v === "string" && values.has(v.toLowerCase());
    });
  }
  if (parts.length === 1 && parts[0]) return parts[0];
  return (r) => parts.some((p) => p(r));
}

const queryCache = new WeakMap<DatasetSchema, Map<string, Predicate | QueryError>>();
const CACHE_LIMIT = 512;

function cached<T>(cacheRoot: WeakMap<DatasetSchema, Map<string, T | QueryError>>, schema: DatasetSchema, text: string, build: () => T): T {
  let cache = cacheRoot.get(schema);
  if (!cache) {
    cache = new Map();
    cacheRoot.set(schema, cache);
  }
  let entry = cache.get(text);
  if (entry === undefined) {
    try {
      entry = build();
    } catch (e) {
      if (!(e instanceof QueryError)) throw e;
      entry = e;
    }
    // Oldest-first eviction keeps the cache bounded; benchmarks repeat a handful of queries, so hits dominate.
    if (cache.size >= CACHE_LIMIT) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(text, entry);
  }
  if (entry instanceof QueryError) throw entry;
  return entry;
}

/** Compiles a `query=` value for a dataset (cached). Throws QueryError with Codat's message on bad input. */
export function compileQuery(schema: DatasetSchema, text: string): Predicate {
  if (text.length >= MAX_QUERY_LENGTH) {
    throw new QueryError(`Error parsing query - Query must be less than ${MAX_QUERY_LENGTH} characters.`);
  }
  return cached(queryCache, schema, text, () => compileNode(schema, new Parser(text).parse()));
}

// ---------------------------------------------------------------------------------------------------- ordering

export interface CompiledOrder {
  /** The normalised orderBy text (canonical field spelling), usable as a cache key. */
  key: string;
  /** Returns a new array sorted stably (ties keep the input order). */
  sort<T>(records: readonly T[]): T[];
}

const orderCache = new WeakMap<DatasetSchema, Map<string, CompiledOrder | QueryError>>();

/** Compiles an `orderBy=` value: one property path (no arrays), optional `-` prefix for descending. */
export function compileOrderBy(schema: DatasetSchema, text: string): CompiledOrder {
  return cached(orderCache, schema, text, () => {
    const descending = text.startsWith("-");
    const field = descending ? text.slice(1) : text;
    if (!/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(field)) {
      throw new QueryError(`Error processing orderBy - Could not resolve property ${field} on Dataset`);
    }
    let path: ResolvedPath;
    try {
      path = resolvePath(schema, field);
    } catch {
      throw new QueryError(`Error processing orderBy - Could not resolve property ${field} on Dataset`);
    }
    if (path.multi) throw new QueryError(`Error processing orderBy - Could not resolve property ${field} on Dataset`);
    const get = singleGetter(path.segments);
    const kind = path.kind;
    const dir = descending ? -1 : 1;
    return {
      key: `${descending ? "-" : ""}${path.segments.join(".")}`,
      sort<T>(records: readonly T[]): T[] {
        // Keys are computed once per record (dates parse once), then the index breaks ties for stability in
        // both directions. Missing/null values sort first ascending (last descending), like LINQ's OrderBy.
        const decorated = records.map((r, i) => ({ r, i, k: keyOf(kind, get(r)) }));
        decorated.sort((a, b) => {
          if (a.k !== b.k) {
            if (a.k === undefined) return -dir;
            if (b.k === undefined) return dir;
            return a.k < b.k ? -dir : dir;
          }
          return a.i - b.i;
        });
        return decorated.map((d) => d.r);
      },
    };
  });
}
