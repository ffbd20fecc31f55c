/** Linux /proc readers for a child's memory and CPU. */
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

export interface MemoryStatus {
  /** Current resident set size, bytes. */
  rss: number;
  /** Peak resident set size (VmHWM), bytes: since start, or since the last resetPeakRss. */
  hwm: number;
}

export function readMemory(pid: number): MemoryStatus {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match?.[1]) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]) * 1024;
  };
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/**
 * Resets VmHWM to the current RSS (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0), so the next reading is the
 * peak of one phase rather than of the process's whole life. Returns false where that is not permitted.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** User + system CPU time of a process, in ms (clock ticks assumed 100 Hz, as on every mainstream Linux). */
export function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) * 10;
}

/** Samples RSS every `intervalMs` until stopped; returns the largest sample. */
export function sampleRss(pid: number, intervalMs = 50): { stop(): number } {
  let max = 0;
  const take = () => {
    try {
      max = Math.max(max, readMemory(pid).rss);
    } catch {
      // process gone; the caller notices elsewhere
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return max;
    },
  };
}

/** Busy CPU time of the whole machine (all cores), in ms, from /proc/stat (idle and iowait excluded). */
export function readSystemBusyMs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 10;
}

/**
 * CPU used by processes other than the benchmark's own (gateway, simulator, this load generator) — a noise
 * indicator: other work on a 2-core machine (a test run, a build) skews every number.
 */
export class BackgroundCpu {
  readonly #pids: number[];
  #start: { system: number; ours: number; at: number };

  constructor(pids: number[]) {
    this.#pids = pids;
    this.#start = this.#snapshot();
  }

  #snapshot() {
    let ours = process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000;
    for (const pid of this.#pids) {
      try {
        ours += readCpuMs(pid);
      } catch {
        // gone
      }
    }
    return { system: readSystemBusyMs(), ours, at: performance.now() };
  }

  /** Average cores used by other processes since construction. */
  stop(): number {
    const end = this.#snapshot();
    const elapsed = end.at - this.#start.at;
    if (elapsed <= 0) return 0;
    return Math.max(0, end.system - this.#start.system - (end.ours - this.#start.ours)) / elapsed;
  }
}
