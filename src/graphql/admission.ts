/**
 * GraphQL admission: what an operation passes before it runs, the same over HTTP and WebSocket, written once.
 *
 *   router secret (ROUTER_SECRET) → trusted documents (PERSISTED_OPERATIONS; the router exempt) → parse with the
 *   token limit → validation: graphql-js's rules and the shape limits (depth, aliases, directives) → "Did you
 *   mean …?" hints dropped (production) → the operation → the cost limit
 *
 * and every error a client sees goes through `formatError` (masking: coded errors as they are, anything else
 * INTERNAL_SERVER_ERROR; limit rejections BAD_USER_INPUT). The same steps, options, messages and codes both ways:
 *
 * - HTTP: Apollo parses and validates with `apolloOptions` (so it keeps its document cache: a document it has
 *   seen is neither parsed nor validated again), and `apolloPlugin` drops the hints and checks the cost;
 *   http/graphql.ts checks the router secret and resolves trusted documents before Apollo reads the body.
 * - WebSocket (http/subscriptions.ts): `admit` runs every step on a subscribe message, wrapping parse and
 *   validation errors as Apollo does (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { ApolloServerPlugin } from "@apollo/server";
import {
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationRule,
} from "graphql";
import { ErrorCode, RequestCode, maskError } from "../errors.js";
import { checkEstimate, costReport, estimateOperation } from "../security/estimate.js";
import { limitRejection, operationShapeRules, type OperationLimits } from "../security/limits.js";
import { boundedMessage, serviceSdlRefusal } from "../security/guards.js";
import type { TrustedDocuments } from "../security/trusted-documents.js";

export interface AdmissionOptions {
  schema: GraphQLSchema;
  limits: OperationLimits & { maxTokens: number };
  trustedDocuments?: TrustedDocuments | undefined;
  /** ROUTER_SECRET: only requests carrying this header and value are served (the router-only subgraph mode). */
  routerSecret?: { header: string; value: string } | undefined;
  /** Drop "Did you mean …?" hints about the schema (production), from every error (variable errors too). */
  hideSchemaDetails: boolean;
  /**
   * Whether `_service { sdl }` is served to a caller that is not the router: only when authentication is off on
   * a loopback HOST (the router, with ROUTER_SECRET, is always served).
   */
  serviceSdlOpen?: boolean | undefined;
  /** Stack traces and internal details in errors (development only). */
  includeStacktrace: boolean;
}

/** What a request asks to run, as either transport carries it. */
export interface OperationRequest {
  query?: unknown;
  documentId?: unknown;
  extensions?: unknown;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
}

/** An admitted operation, ready to execute. */
export interface Admitted {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
}

export const ROUTER_ONLY_MESSAGE = "This subgraph only accepts requests from its router.";
export const UNTRUSTED_MESSAGE = "Only trusted documents may run on this gateway: send a listed documentId.";

export class Admission {
  /** Apollo's parse and validation options and the error formatter (spread into ApolloServer's config). */
  readonly apolloOptions: {
    parseOptions: ParseOptions;
    validationRules: ValidationRule[];
    formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  };
  readonly #options: AdmissionOptions;
  readonly #rules: readonly ValidationRule[];
  readonly #parseOptions: ParseOptions;

  constructor(options: AdmissionOptions) {
    this.#options = options;
    this.#parseOptions = { maxLexicalTokens: options.limits.maxTokens };
    const shapeRules = operationShapeRules(options.limits);
    // Apollo runs graphql-js's specified rules itself, then these.
    this.#rules = [...specifiedRules, ...shapeRules];
    this.apolloOptions = {
      parseOptions: this.#parseOptions,
      validationRules: shapeRules,
      formatError: (formatted, error) => this.formatError(formatted, error),
    };
  }

  get routerOnly(): boolean {
    return this.#options.routerSecret !== undefined;
  }

  /** Whether a request carries the router secret (compared in constant time, its length included). */
  fromRouter(headers: IncomingHttpHeaders): boolean {
    const required = this.#options.routerSecret;
    if (required === undefined) return false;
    const given = headers[required.header];
    if (typeof given !== "string") return false;
    const a = createHash("sha256").update(given).digest();
    const b = createHash("sha256").update(required.value).digest();
    return timingSafeEqual(a, b);
  }

  /** The refusal of a request without the router secret in the router-only mode; undefined when it may go on. */
  routerRefusal(headers: IncomingHttpHeaders): GraphQLError | undefined {
    if (!this.routerOnly || this.fromRouter(headers)) return undefined;
    return new GraphQLError(ROUTER_ONLY_MESSAGE, { extensions: { code: ErrorCode.Unauthenticated } });
  }

  get trustedDocumentsOnly(): boolean {
    return this.#options.trustedDocuments !== undefined;
  }

  /**
   * The trusted-documents step (PERSISTED_OPERATIONS): the listed document a request names (by id, hash or its
   * exact text); undefined when it runs as it is (no manifest, or the router's own operation: routers send
   * `_entities` and query plans); else the refusal.
   */
  trustedDocument(request: OperationRequest, fromRouter: boolean): string | undefined | GraphQLError {
    const documents = this.#options.trustedDocuments;
    if (documents === undefined) return undefined;
    const listed = documents.resolve(request);
    if (listed !== undefined || fromRouter) return listed;
    return new GraphQLError(UNTRUSTED_MESSAGE, { extensions: { code: RequestCode.PersistedQueryNotFound } });
  }

  /**
   * Every step after the router secret, for a transport that has no Apollo (the WebSocket): the admitted
   * operation, or the errors to answer with (format them with formatGraphQLError).
   */
  admit(request: OperationRequest, fromRouter: boolean): Admitted | readonly GraphQLError[] {
    const trusted = this.trustedDocument(request, fromRouter);
    if (trusted instanceof GraphQLError) return [trusted];
    const query = trusted ?? request.query;
    if (typeof query !== "string") {
      // Apollo's words for the same request over HTTP.
      const message = "GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.";
      return [new GraphQLError(message, { extensions: { code: RequestCode.BadRequest } })];
    }
    let document: DocumentNode;
    try {
      document = parse(query, this.#parseOptions);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      // As Apollo's SyntaxError.
      return [
        new GraphQLError(error.message, {
          source: error.source,
          positions: error.positions,
          extensions: { ...error.extensions, code: RequestCode.GraphQLParseFailed },
          originalError: error,
        }),
      ];
    }
    const invalid = validate(this.#options.schema, document, this.#rules);
    if (invalid.length > 0) {
      this.#hideSuggestions(invalid);
      // As Apollo's ValidationError (formatError then gives a limit's rejection its code).
      return invalid.map(
        (error) =>
          new GraphQLError(error.message, {
            nodes: error.nodes,
            extensions: { ...error.extensions, code: RequestCode.GraphQLValidationFailed },
            originalError: error.originalError ?? error,
          }),
      );
    }
    const operation = resolveOperation(document, request.operationName);
    if (operation instanceof GraphQLError) return [operation];
    const variables = request.variables ?? {};
    const notForCaller = this.#serviceRefusal(document, operation, fromRouter);
    if (notForCaller) return [notForCaller];
    const estimate = estimateOperation(this.#options.schema, document, operation, variables);
    const tooCostly = checkEstimate(estimate, this.#options.limits);
    if (tooCostly) return [tooCostly];
    return { document, operation, variables };
  }

  /**
   * For Apollo's plugins: drops the hints (in place of Apollo's hideSchemaDetailsFromClientErrors, which does
   * the same), refuses `_service` to callers other than the router, and checks the estimate (cost and Codat
   * calls) once the operation is resolved; reports the estimate in `extensions.cost` when the request asks
   * (`"extensions": { "cost": true }`).
   */
  apolloPlugin(): ApolloServerPlugin {
    const { limits } = this.#options;
    const serviceRefusal = (document: DocumentNode, operation: OperationDefinitionNode) =>
      // Past the HTTP guard, in the router-only mode every request is the router's.
      this.#serviceRefusal(document, operation, this.routerOnly);
    const validationDidEnd = async (errors?: readonly Error[]): Promise<void> => {
      if (errors) this.#hideSuggestions(errors);
    };
    const validationDidStart = this.#options.hideSchemaDetails ? { validationDidStart: async () => validationDidEnd } : {};
    return {
      async requestDidStart() {
        let report: Record<string, number> | undefined;
        return {
          ...validationDidStart,
          async didResolveOperation({ schema, document, operation, request }) {
            if (!operation) return;
            const notForCaller = serviceRefusal(document, operation);
            if (notForCaller) throw notForCaller;
            const estimate = estimateOperation(schema, document, operation, request.variables ?? {});
            if (request.extensions?.["cost"] === true) report = costReport(estimate, limits);
            const error = checkEstimate(estimate, limits);
            if (error) throw error;
          },
          async willSendResponse({ response }) {
            if (report === undefined || response.body.kind !== "single") return;
            const result = response.body.singleResult;
            result.extensions = { ...result.extensions, cost: report };
          },
        };
      },
    };
  }

  /** Apollo's formatError, and the WebSocket's (formatGraphQLError). */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    return maskError(this.#bounded(limitRejection(formatted, error)), error, { includeStacktrace: this.#options.includeStacktrace });
  }

  /** formatError for a GraphQLError in hand (the WebSocket's results and refusals). */
  formatGraphQLError(error: GraphQLError): GraphQLFormattedError {
    return maskError(this.#bounded(limitRejection(error.toJSON(), error)), error.originalError ?? error, {
      includeStacktrace: this.#options.includeStacktrace,
    });
  }

  /** No hints in production, and no long echo of a client's value (see security/guards.ts). */
  #bounded(formatted: GraphQLFormattedError): GraphQLFormattedError {
    const message = boundedMessage(formatted.message, this.#options.hideSchemaDetails);
    return message === formatted.message ? formatted : { ...formatted, message };
  }

  #serviceRefusal(document: DocumentNode, operation: OperationDefinitionNode, fromRouter: boolean): GraphQLError | undefined {
    if (fromRouter || this.#options.serviceSdlOpen === true) return undefined;
    return serviceSdlRefusal(document, operation);
  }

  #hideSuggestions(errors: readonly Error[]): void {
    if (!this.#options.hideSchemaDetails) return;
    // Apollo's own pattern (ApolloServerPluginDisableSuggestions).
    for (const error of errors) error.message = error.message.replace(/ ?Did you mean(.+?)\?$/, "");
  }
}

/** The operation to run, or graphql-js's own refusal (as Apollo reports it: OPERATION_RESOLUTION_FAILURE). */
function resolveOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | GraphQLError {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const found = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  if (found) return found;
  const message = operationName
    ? `Unknown operation named "${operationName}".`
    : operations.length === 0
      ? "Must provide an operation."
      : "Must provide operation name if query contains multiple operations.";
  return new GraphQLError(message, { extensions: { code: RequestCode.OperationResolutionFailure } });
}
