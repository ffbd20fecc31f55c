/** freeChunk: a download's written chunk gives its memory back at once, unless its buffer is shared. */
import { describe, expect, it } from "vitest";
import { freeChunk } from "../../src/downloads/free-chunk.js";

describe("freeChunk", () => {
  it("frees a chunk that is its whole buffer, and leaves shared buffers alone", () => {
    const own = Buffer.allocUnsafeSlow(1024).fill(1);
    freeChunk(own);
    expect(own.byteLength).toBe(0);
    freeChunk(own); // already freed: nothing to do, no throw

    const backing = Buffer.allocUnsafeSlow(1024).fill(2);
    const part = backing.subarray(0, 512);
    freeChunk(part);
    expect(part.byteLength).toBe(512);
    expect(backing.byteLength).toBe(1024);

    const pooled = Buffer.from("small"); // a slice of Buffer's shared pool
    freeChunk(pooled);
    expect(pooled.toString()).toBe("small");
  });
});
