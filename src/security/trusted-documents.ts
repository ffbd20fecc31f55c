/**
 * Trusted documents (PERSISTED_OPERATIONS): only operations listed in a manifest run. The manifest is what
 * graphql-codegen's client preset emits as `persisted-documents.json`: `{ "<sha256 hex>": "<document>" }`.
 * A client sends `{ "documentId": "<hash>" }` (the client preset), or Apollo's
 * `extensions.persistedQuery.sha256Hash`, or the full text of a listed document; anything else is refused
 * before Apollo parses it, so an attacker cannot run arbitrary operations even with a valid token.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

export class TrustedDocuments {
  readonly #documents: Map<string, string>;

  constructor(manifest: Record<string, string>) {
    this.#documents = new Map();
    for (const [hash, document] of Object.entries(manifest)) {
      if (typeof document !== "string") throw new Error(`trusted document ${hash} is not a string`);
      this.#documents.set(normalizeId(hash), document);
    }
  }

  static fromFile(file: string): TrustedDocuments {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new Error("the manifest must be a JSON object of hash → document");
    return new TrustedDocuments(parsed as Record<string, string>);
  }

  get size(): number {
    return this.#documents.size;
  }

  /**
   * The document text to run for a request body (POST) or query parameters (GET), or undefined when the request
   * names no listed document.
   */
  resolve(request: { documentId?: unknown; query?: unknown; extensions?: unknown }): string | undefined {
    const extensions = request.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined;
    const id = [request.documentId, extensions?.persistedQuery?.sha256Hash].find((v): v is string => typeof v === "string");
    if (id !== undefined) {
      const document = this.#documents.get(normalizeId(id));
      if (document === undefined) return undefined;
      // A client sending both an id and a text must not smuggle another text in under a listed id.
      if (typeof request.query === "string" && request.query !== document) return undefined;
      return document;
    }
    if (typeof request.query === "string") {
      const hash = createHash("sha256").update(request.query).digest("hex");
      return this.#documents.get(hash) === request.query ? request.query : undefined;
    }
    return undefined;
  }
}

/** Ids may carry an algorithm prefix (`sha256:<hex>`); hex is case-insensitive. */
function normalizeId(id: string): string {
  return id.replace(/^sha256:/i, "").toLowerCase();
}
