/**
 * The loaders' miss policy, written once: a failed Codat call fails only the keys it carried, as an Error
 * (DataLoader's per-key error); a record Codat does not have is `null`, decided by each loader.
 */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
