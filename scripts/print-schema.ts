/**
 * Prints the subgraph SDL a team publishes to its schema registry (`npm run schema:print`), or, with
 * `--write`, refreshes the committed snapshot test/__snapshots__/subgraph.graphql that a test compares.
 */
import { writeFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { printSchema } from "../src/schema.js";

const sdl = printSchema();
if (process.argv.includes("--write")) {
  const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../test/__snapshots__/subgraph.graphql");
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, sdl.endsWith("\n") ? sdl : `${sdl}\n`);
  console.error(`wrote ${path.relative(process.cwd(), target)}`);
} else {
  process.stdout.write(sdl.endsWith("\n") ? sdl : `${sdl}\n`);
}
