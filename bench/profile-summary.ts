/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof`): self time by package/area, and the top
 * functions by self and by inclusive time.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/gateway-customers-page.cpuprofile [--top 30]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "30" } } });
const file = positionals[0];
if (!file) throw new Error("usage: profile-summary.ts <file.cpuprofile> [--top N]");
const top = Number(values.top);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;

// Self time per node from the sample timeline (more exact than hitCount × mean interval).
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

function area(url: string, name: string): string {
  if (name === "(idle)" || name === "(program)" || name === "(garbage collector)") return name;
  if (!url) return "(native/V8)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith("node:internal/deps/")) return `node:internal/deps/${url.slice(19).split("/")[0]}`;
  if (url.startsWith("node:internal/")) return `node:internal/${url.slice(14).split("/")[0]}`;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const src = /\/(src\/[^/]+|bench)\//.exec(url);
  return src ? src[1]! : url;
}
const key = (n: ProfileNode) =>
  `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(src|bench)\//, "$1/")}:${n.callFrame.lineNumber + 1}`;

const areas = new Map<string, number>();
const selfByFn = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const a = area(n.callFrame.url, n.callFrame.functionName);
  areas.set(a, (areas.get(a) ?? 0) + us);
  selfByFn.set(key(n), (selfByFn.get(key(n)) ?? 0) + us);
}

// Inclusive time per function (recursion counted once per stack).
const inclusive = new Map<string, number>();
const root = profile.nodes[0]!;
const subtotal = new Map<number, number>();
const sum = (n: ProfileNode): number => {
  let t = selfUs.get(n.id) ?? 0;
  for (const c of n.children ?? []) t += sum(byId.get(c)!);
  subtotal.set(n.id, t);
  return t;
};
sum(root);
const walk = (n: ProfileNode, onStack: Set<string>) => {
  const k = key(n);
  const fresh = !onStack.has(k);
  if (fresh) {
    inclusive.set(k, (inclusive.get(k) ?? 0) + subtotal.get(n.id)!);
    onStack.add(k);
  }
  for (const c of n.children ?? []) walk(byId.get(c)!, onStack);
  if (fresh) onStack.delete(k);
};
walk(root, new Set());

const idle = areas.get("(idle)") ?? 0;
const busy = totalUs - idle;
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
const msStr = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
console.log(`${file}: ${(totalUs / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)\n`);
console.log("Self time by area:");
for (const [a, us] of [...areas]
  .filter(([a]) => a !== "(idle)")
  .sort((x, y) => y[1] - x[1])
  .slice(0, top))
  console.log(`  ${pct(us)} ${msStr(us)}  ${a}`);
console.log("\nTop functions by self time:");
for (const [k, us] of [...selfByFn].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`  ${pct(us)} ${msStr(us)}  ${k}`);
console.log("\nTop functions by inclusive time:");
for (const [k, us] of [...inclusive]
  .filter(([k]) => !k.startsWith("(root)") && !k.startsWith("(idle)"))
  .sort((x, y) => y[1] - x[1])
  .slice(0, top))
  console.log(`  ${pct(us)} ${msStr(us)}  ${k}`);
