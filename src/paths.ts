/**
 * URL paths the gateway serves, in a leaf module (no imports) so that the layers below the routes that serve them
 * (the tracing of src/observability/, say) can name them without importing those routes.
 */

/** The download route's path prefix (the token follows it); served by src/downloads/route.ts. */
export const DOWNLOAD_PATH_PREFIX = "/downloads/";
