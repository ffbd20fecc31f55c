/**
 * Waiting on conditions instead of sleeping: the one polling helper of both packages' tests. The timeout is a
 * generous bound for a condition that will hold (so a busy machine only makes a test slower, never red); it
 * fails with a clear message when the condition never comes.
 */

export interface WaitOptions {
  /** Default 5 000 ms. */
  timeoutMs?: number;
  /** Default 10 ms. */
  intervalMs?: number;
}

/** Waits until `check` holds. */
export async function waitFor(check: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<void> {
  await waitForValue(async () => ((await check()) ? true : undefined), options);
}

/** Waits until `check` returns a value other than undefined, and returns it. */
export async function waitForValue<T>(check: () => T | undefined | Promise<T | undefined>, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}
