/**
 * The tiny request/response protocol between bench/run.ts and its child processes (gateway, simulator).
 *
 * A child prints exactly one JSON line on stdout when it is ready (`{"ready":true,...}`), then answers IPC
 * messages `{ id, type, payload }` with `{ id, ok, result | error }`. Anything else it prints is forwarded to the
 * parent's stderr with a prefix.
 */
export interface IpcRequest {
  id: number;
  type: string;
  payload?: unknown;
}

export type IpcReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export type IpcHandler = (type: string, payload: unknown) => unknown;

/** Child side: answer the parent's requests with `handler`. */
export function serveIpc(handler: IpcHandler): void {
  if (!process.send) throw new Error("bench child started without an IPC channel");
  process.on("message", (message: unknown) => {
    if (!isIpcRequest(message)) return;
    const request = message;
    Promise.resolve()
      .then(() => handler(request.type, request.payload))
      .then(
        (result) => process.send?.({ id: request.id, ok: true, result } satisfies IpcReply),
        (error: unknown) =>
          process.send?.({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies IpcReply),
      );
  });
  // The parent went away (crash, Ctrl-C): never outlive it.
  process.on("disconnect", () => process.exit(0));
}

/** Child side: the one ready line. */
export function announceReady(info: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, ...info })}\n`);
}

function isIpcRequest(message: unknown): message is IpcRequest {
  return typeof message === "object" && message !== null && typeof (message as Partial<IpcRequest>).id === "number";
}
