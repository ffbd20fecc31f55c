/**
 * Parent side of a bench child process: spawn `process.execPath [--import tsx] <script>`, wait for its ready line,
 * talk to it over IPC, stop it. The pid is the node process itself (no npx/tsx wrapper in between), which is what
 * the /proc readers in proc.ts need.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { IpcReply } from "./ipc.js";

export interface ReadyInfo {
  ready: true;
  pid: number;
  url: string;
  [key: string]: unknown;
}

export interface ChildOptions {
  name: string;
  /** Path of the entry, relative to cwd: a .ts file (run through tsx) or a .mjs file (run by plain node). */
  script: string;
  args?: string[];
  /** Extra node flags (for example --cpu-prof). */
  nodeFlags?: string[];
  cwd: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

export class BenchChild {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    child: ChildProcess,
    readonly info: ReadyInfo,
  ) {
    this.#child = child;
    child.on("message", (message: unknown) => {
      const reply = message as IpcReply;
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(new Error(`${name}: ${reply.error}`));
    });
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        this.#exit = { code, signal };
        for (const pending of this.#pending.values()) pending.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
        this.#pending.clear();
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
      else child.once("exit", done);
    });
  }

  static async start(options: ChildOptions): Promise<BenchChild> {
    // The gateway runs as shipped (compiled JS, plain node); TypeScript entries load through tsx.
    const loader = options.script.endsWith(".ts") ? ["--import", "tsx"] : [];
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...loader, options.script, ...(options.args ?? [])], {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { ...process.env, NODE_OPTIONS: "", ...options.env },
    });
    const prefix = `[${options.name}] `;
    const stderrLines = createInterface({ input: child.stderr! });
    const recentStderr: string[] = [];
    stderrLines.on("line", (line) => {
      recentStderr.push(line);
      if (recentStderr.length > 30) recentStderr.shift();
      process.stderr.write(`${prefix}${line}\n`);
    });
    const stdoutLines = createInterface({ input: child.stdout! });
    const info = await new Promise<ReadyInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${options.name} did not become ready within ${options.readyTimeoutMs ?? 30_000} ms`));
      }, options.readyTimeoutMs ?? 30_000);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited before it was ready (code ${code}, signal ${signal})\n${recentStderr.join("\n")}`));
      };
      child.once("exit", onExit);
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      let ready = false;
      stdoutLines.on("line", (line) => {
        if (!ready && line.startsWith("{")) {
          try {
            const parsed = JSON.parse(line) as Partial<ReadyInfo>;
            if (parsed.ready === true && typeof parsed.url === "string" && typeof parsed.pid === "number") {
              ready = true;
              clearTimeout(timer);
              child.off("exit", onExit);
              resolve(parsed as ReadyInfo);
              return;
            }
          } catch {
            // not the ready line
          }
        }
        process.stderr.write(`${prefix}${line}\n`);
      });
    });
    if (info.pid !== child.pid) {
      child.kill("SIGKILL");
      throw new Error(`${options.name}: ready line pid ${info.pid} is not the spawned pid ${child.pid} (a wrapper process?)`);
    }
    return new BenchChild(options.name, child, info);
  }

  get pid(): number {
    return this.info.pid;
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  call<T>(type: string, payload?: unknown, timeoutMs = 30_000): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#child.send({ id, type, payload });
    });
  }

  /** Asks the child to stop; kills it (this pid only) if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    if (this.alive) {
      this.call("stop", undefined, graceMs).catch(() => undefined);
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.#exit;
  }
}
