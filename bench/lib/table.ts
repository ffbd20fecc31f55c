/** Plain-text tables as bench/run.ts prints them: the first column left-aligned, the others right-aligned. */
import type { Table } from "../scenarios/types.js";

export function renderTable(table: Table): string {
  const widths = table.headers.map((h, i) => Math.max(h.length, ...table.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   ");
  return [line(table.headers), widths.map((w) => "-".repeat(w)).join("   "), ...table.rows.map(line)].join("\n");
}
