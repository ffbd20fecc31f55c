/**
 * A real browser for the `browser` tier (`npm run test:browser`): the system's Chromium (Debian's `chromium`
 * package, installed by `.ci/run`), driven by `playwright-core` — Playwright's own browser download is not used.
 * CHROMIUM_PATH overrides where the binary is looked for.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** The Chromium binary to drive, or undefined when the machine has none. */
export function chromiumPath(): string | undefined {
  const fromEnv = process.env["CHROMIUM_PATH"];
  if (fromEnv) return fromEnv;
  return CANDIDATES.find((path) => existsSync(path));
}

/** Launches a headless Chromium; the caller closes it (`afterAll(() => browser.close())`). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("no Chromium found: install Debian's `chromium` package or set CHROMIUM_PATH");
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-default-apps",
      "--disable-sync",
      "--no-first-run",
      "--metrics-recording-only",
    ],
  });
}
