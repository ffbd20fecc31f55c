/** Reading what a gateway logs: a pino destination that keeps every line, raw and parsed. */

export interface LogLine {
  level: string;
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}

export interface MemoryDestination {
  /** Every line as written (what a redaction check must scan). */
  readonly raw: string[];
  lines(): LogLine[];
  write(line: string): void;
}

/** Pass it as `createLogger({ …, destination })`. */
export function memoryDestination(): MemoryDestination {
  const raw: string[] = [];
  return {
    raw,
    write(line: string) {
      raw.push(line);
    },
    lines: () => raw.map((line) => JSON.parse(line) as LogLine),
  };
}
