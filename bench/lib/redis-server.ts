/**
 * A throwaway `redis-server` for the scale benchmark (bench/scale.ts): a free loopback port, no persistence, its
 * own child process (so its pid is counted as the benchmark's own CPU), stopped by `stop()` — SIGTERM, then
 * SIGKILL after a grace period, this pid only. `info(section)` sends one inline `INFO` over a raw socket (no
 * client library), e.g. for `INFO commandstats`.
 */
import { spawn, spawnSync } from "node:child_process";
import { connect, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface BenchRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The text of `INFO <section>`. */
  info(section: string): Promise<string>;
  /**
   * One `INFO stats commandstats`: `processed` is total_commands_processed (commands sent by clients, this INFO
   * excluded; the previous snapshot's INFO included), `calls` the calls per command name (`evalsha`, `ping`, …),
   * which also counts the commands scripts run (`redis.call`).
   */
  commandCalls(): Promise<{ processed: number; calls: Record<string, number> }>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sends one inline command and resolves with the raw reply once it is complete (simple string, error or bulk). */
function rawCommand(port: number, command: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" });
    let reply = Buffer.alloc(0);
    const done = (error: Error | undefined, value?: string): void => {
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? "");
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`redis: no answer to ${command} within ${timeoutMs} ms`)));
    socket.on("error", (error) => done(error));
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      const lineEnd = reply.indexOf("\r\n");
      if (lineEnd < 0) return;
      const first = reply.subarray(0, lineEnd).toString("utf8");
      if (first.startsWith("+")) done(undefined, first.slice(1));
      else if (first.startsWith("-")) done(new Error(`redis: ${first.slice(1)}`));
      else if (first.startsWith("$")) {
        const length = Number(first.slice(1));
        if (reply.length >= lineEnd + 2 + length + 2) done(undefined, reply.subarray(lineEnd + 2, lineEnd + 2 + length).toString("utf8"));
      } else done(new Error(`redis: unexpected reply ${first}`));
    });
  });
}

export async function startBenchRedis(): Promise<BenchRedis> {
  if (spawnSync("redis-server", ["--version"]).error) throw new Error("redis-server is not installed (apt-get install redis-server)");
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  let spawnError: Error | undefined;
  child.once("error", (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (spawnError) throw spawnError;
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${port}`);
    try {
      if ((await rawCommand(port, "PING", 500)) === "PONG") break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer PING on port ${port} within 10 s`);
    }
    await sleep(50);
  }
  const info = (section: string) => rawCommand(port, `INFO ${section}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    info,
    async commandCalls() {
      const text = await info("stats commandstats");
      const calls: Record<string, number> = {};
      for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
      const processed = /^total_commands_processed:(\d+)/m.exec(text)?.[1];
      if (processed === undefined) throw new Error("redis: INFO stats has no total_commands_processed");
      return { processed: Number(processed), calls };
    },
    stop,
  };
}
