/**
 * Attachment bytes, generated on demand and deterministically from `AttachmentRecord.contentSeed`, so even the
 * >= 1 GiB demo attachment costs nothing until it is downloaded and constant memory while it is.
 *
 * Layout: the file is a sequence of `ATTACHMENT_CHUNK_SIZE` (64 KiB) blocks; the last one is cut to `fileSize`.
 * Every block is one pseudo-random base block per seed (xorshift32; printable text for `text/*` types),
 * computed once and cached, with the block's index stamped over 8 bytes at `STAMP_OFFSET` (so a client that
 * drops, repeats or reorders blocks gets a different hash). Block 0 starts with the type's magic number (`%PDF-`,
 * the PNG signature, JPEG SOI, `PK\x03\x04` for zip/docx/xlsx, TIFF `II*\0`), so content sniffers see the
 * declared type.
 *
 * Blocks after the first are emitted zero-copy as three pieces — a view of the base block before the stamp, the
 * 8-byte stamp, a view after it — so a download allocates 8 bytes per 64 KiB instead of a 64 KiB copy: memory
 * stays flat (no garbage for the GC to chase) and throughput is bounded by the socket, not by memcpy.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { AttachmentRecord } from "./store.js";

export const ATTACHMENT_CHUNK_SIZE = 64 * 1024;
/** Where each block's index is stamped: past every magic number, well inside the smallest block. */
const STAMP_OFFSET = 48;

/** One download, as seen by the simulator (`Simulator.downloads`). */
export interface DownloadRecord {
  /** Decoded request path. */
  path: string;
  attachmentId: string;
  /** `fileSize`: what a complete download delivers. */
  size: number;
  /** Bytes generated and handed to the response so far (it stops growing when the client goes away). */
  bytesSent: number;
  /** Every byte was generated and the stream ended. */
  completed: boolean;
  /** The stream was torn down before the end (client disconnect, simulator close). */
  aborted: boolean;
}

const MAGIC: ReadonlyArray<readonly [RegExp, Buffer]> = [
  [/^application\/pdf$/i, Buffer.from("%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n", "latin1")],
  [/^image\/png$/i, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  [/^image\/jpe?g$/i, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00])],
  [/^application\/(zip|vnd\.openxmlformats-officedocument\.)/i, Buffer.from([0x50, 0x4b, 0x03, 0x04])],
  [/^image\/tiff$/i, Buffer.from([0x49, 0x49, 0x2a, 0x00])],
];
const NO_MAGIC = Buffer.alloc(0);
const TEXT_ALPHABET = Buffer.from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;", "latin1");

function isText(contentType: string | null | undefined): boolean {
  return /^text\//i.test(contentType ?? "");
}

function magicFor(contentType: string | null | undefined): Buffer {
  return MAGIC.find(([pattern]) => pattern.test(contentType ?? ""))?.[1] ?? NO_MAGIC;
}

/** Bounded cache of base blocks (64 KiB each); cleared wholesale when full, which is rare and cheap. */
const baseBlocks = new Map<string, Buffer>();
const MAX_CACHED_BLOCKS = 128;

function baseBlock(seed: number, text: boolean): Buffer {
  const key = `${seed >>> 0}:${text ? "t" : "b"}`;
  let block = baseBlocks.get(key);
  if (block) return block;
  block = Buffer.allocUnsafe(ATTACHMENT_CHUNK_SIZE);
  // xorshift32 (never zero-seeded); writeUInt32LE keeps the bytes identical on every platform.
  let x = (seed >>> 0) ^ 0x9e3779b9 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  if (text) {
    for (let i = 0; i < ATTACHMENT_CHUNK_SIZE; i++) {
      // Lines of 80 characters, so `text/plain`/`text/csv` attachments look like text.
      block[i] = i % 81 === 80 ? 0x0a : (TEXT_ALPHABET[next() % TEXT_ALPHABET.length] ?? 0x20);
    }
  } else {
    for (let i = 0; i < ATTACHMENT_CHUNK_SIZE; i += 4) block.writeUInt32LE(next(), i);
  }
  if (baseBlocks.size >= MAX_CACHED_BLOCKS) baseBlocks.clear();
  baseBlocks.set(key, block);
  return block;
}

/** Generates the attachment's blocks; shared by the HTTP stream and the hashing helper. */
class BlockSource {
  private readonly base: Buffer;
  private readonly magic: Buffer;
  private readonly text: boolean;
  readonly size: number;
  offset = 0;

  constructor(record: AttachmentRecord) {
    const contentType = record.attachment.contentType;
    this.text = isText(contentType);
    this.base = baseBlock(record.contentSeed, this.text);
    this.magic = magicFor(contentType);
    this.size = Math.max(0, record.attachment.fileSize);
  }

  /**
   * The next block as pieces to be written in order (views of the shared, never-mutated base block plus a
   * fresh stamp), or undefined at the end.
   */
  next(): Buffer[] | undefined {
    if (this.offset >= this.size) return undefined;
    const index = this.offset / ATTACHMENT_CHUNK_SIZE;
    const length = Math.min(ATTACHMENT_CHUNK_SIZE, this.size - this.offset);
    this.offset += length;
    const stamp = this.text ? Buffer.from(index.toString(16).padStart(8, "0"), "latin1") : Buffer.allocUnsafe(8);
    if (!this.text) {
      stamp.writeUInt32LE(index >>> 0, 0);
      stamp.writeUInt32LE(~index >>> 0, 4);
    }
    if (index === 0) {
      // Once per download: a real copy, with the magic number and the stamp written in.
      const first = Buffer.allocUnsafe(length);
      this.base.copy(first, 0, 0, length);
      this.magic.copy(first, 0, 0, Math.min(this.magic.length, length));
      if (length > STAMP_OFFSET) stamp.copy(first, STAMP_OFFSET, 0, Math.min(stamp.length, length - STAMP_OFFSET));
      return [first];
    }
    if (length <= STAMP_OFFSET) return [this.base.subarray(0, length)];
    const afterStamp = STAMP_OFFSET + stamp.length;
    const pieces = [this.base.subarray(0, STAMP_OFFSET), stamp.subarray(0, Math.min(stamp.length, length - STAMP_OFFSET))];
    if (length > afterStamp) pieces.push(this.base.subarray(afterStamp, length));
    return pieces;
  }
}

export interface AttachmentStreamOptions {
  /** Called with each block's length once it has been handed downstream. */
  onChunk?: (bytes: number) => void;
}

/**
 * The attachment's bytes as a stream: one 64 KiB block per `_read`, so generation follows the consumer
 * (backpressure), and stops for good when the stream is destroyed (e.g. `pipeline` after a client disconnect).
 */
export function attachmentBytes(record: AttachmentRecord, options: AttachmentStreamOptions = {}): Readable {
  const source = new BlockSource(record);
  return new Readable({
    highWaterMark: ATTACHMENT_CHUNK_SIZE,
    read() {
      const pieces = source.next();
      if (pieces === undefined) {
        this.push(null);
        return;
      }
      let bytes = 0;
      for (const piece of pieces) {
        bytes += piece.length;
        this.push(piece);
      }
      options.onChunk?.(bytes);
    },
  });
}

/**
 * SHA-256 (hex) of an attachment's bytes, computed by streaming them (never held whole); yields to the event
 * loop every 16 MiB so hashing the 1 GiB attachment does not stall a server in the same process.
 */
export async function attachmentSha256(record: AttachmentRecord): Promise<string> {
  const source = new BlockSource(record);
  const hash = createHash("sha256");
  for (let n = 0; ; n++) {
    const pieces = source.next();
    if (pieces === undefined) break;
    for (const piece of pieces) hash.update(piece);
    if (n % 256 === 255) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return hash.digest("hex");
}

/** `Content-Disposition` with an ASCII fallback and the exact (UTF-8) name per RFC 6266/5987. */
export function contentDisposition(name: string | null | undefined): string {
  if (!name) return "attachment";
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
