/**
 * Gives a chunk's memory back now rather than at some later garbage collection, for a chunk nobody will read
 * again: detaching its ArrayBuffer (`transfer(0)`) frees the backing store at once. A large download allocates
 * fresh buffers at network speed while creating little else for the collector to notice, so without this the
 * dead ones pile up to the collector's external-memory limit (about +100 MB RSS at 1 GB/s).
 *
 * Only a chunk that spans its whole ArrayBuffer is released: a view of part of one may share it with other
 * views (pooled small Buffers, slices a parser or decoder hands out one by one), which must stay intact.
 * The caller must be the chunk's last user: a write is done with it only once its callback has run.
 */
export function freeChunk(chunk: Uint8Array): void {
  const buffer = chunk.buffer;
  if (!(buffer instanceof ArrayBuffer) || chunk.byteOffset !== 0 || chunk.byteLength === 0) return;
  if (chunk.byteLength !== buffer.byteLength) return;
  // ES2024 (Node ≥ 21); the project's lib is ES2023, so the method is declared here.
  const detachable: { readonly byteLength: number; transfer?: (newLength?: number) => ArrayBuffer } = buffer;
  detachable.transfer?.(0);
}
