/** The generated companies of the bench simulator's `--companies N` (bench/simulator-process.ts), by index from 0. */
export function benchCompanyId(index: number): string {
  return `5ca1e000-0000-4000-8000-${(0xb0000 + index).toString(16).padStart(12, "0")}`;
}

/** Their one connection (createScaleCompany gives every company it builds the same). */
export const BENCH_CONNECTION_ID = "5ca1e000-0000-4000-8000-00000000c011";
