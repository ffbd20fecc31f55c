/**
 * A slow network for the tests: a loopback TCP proxy (127.0.0.1, a free port) in front of `targetPort` that
 * holds every chunk, both ways, for `delayMs` before passing it on, bytes and order unchanged. The delay can
 * change while it runs (a chunk never overtakes an earlier one of its direction), and `forwarded` counts the
 * chunks passed on, so a test can wait for traffic instead of sleeping.
 */
import { connect, createServer, type Socket } from "node:net";

export interface DelayProxy {
  readonly port: number;
  /** The delay each chunk gets from now on, each way (a round trip takes twice this). */
  setDelay(ms: number): void;
  /** Chunks passed on so far, both ways. */
  readonly forwarded: number;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

export async function startDelayProxy(targetPort: number, delayMs = 0): Promise<DelayProxy> {
  let delay = delayMs;
  let forwarded = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();

  /** Passes `from`'s chunks to `to` `delay` ms later each, in order; ends `to` once `from` ended and all is passed. */
  const pipe = (from: Socket, to: Socket): void => {
    let lastAt = 0;
    let pending = 0;
    let ended = false;
    const endIfDone = (): void => {
      if (ended && pending === 0) to.end();
    };
    from.on("data", (chunk: Buffer) => {
      const at = Math.max(Date.now() + delay, lastAt);
      lastAt = at;
      pending += 1;
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          pending -= 1;
          forwarded += 1;
          if (!to.destroyed) to.write(chunk);
          endIfDone();
        },
        Math.max(0, at - Date.now()),
      );
      timers.add(timer);
    });
    from.on("end", () => {
      ended = true;
      endIfDone();
    });
  };

  const server = createServer((client) => {
    const upstream = connect({ port: targetPort, host: "127.0.0.1" });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    }
    // Either side failing or closing takes the other down, as a broken network path would.
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    setDelay(ms: number) {
      delay = ms;
    },
    get forwarded() {
      return forwarded;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
