// `npm run dev:web`: the gateway in watch mode (on its embedded simulator unless .env names a Codat key) and Vite's
// dev server, which proxies /graphql (HTTP and WebSocket) and /downloads to it, so the app has one origin. Download
// links are built on PUBLIC_URL, Vite's address here. GATEWAY_PORT (4000) and WEB_PORT (5173) move them. Ctrl-C stops both.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const web = fileURLToPath(new URL("..", import.meta.url));
const gatewayPort = process.env["GATEWAY_PORT"] ?? "4000";
const webPort = process.env["WEB_PORT"] ?? "5173";
const appUrl = `http://127.0.0.1:${webPort}`;

const posix = process.platform !== "win32";
const children = [
  spawn("npm", ["run", "dev"], {
    cwd: root,
    stdio: "inherit",
    detached: posix,
    env: { ...process.env, PORT: gatewayPort, HOST: "127.0.0.1", PUBLIC_URL: appUrl },
  }),
  spawn("npx", ["vite", "--port", webPort], {
    cwd: web,
    stdio: "inherit",
    detached: posix,
    env: { ...process.env, GATEWAY_URL: `http://127.0.0.1:${gatewayPort}` },
  }),
];
// Each child leads its own process group (npm, then tsx or vite under it): stopping one stops all it started.
const stop = () => {
  for (const child of children) {
    try {
      if (posix && child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
      else child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  }
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
for (const child of children)
  child.on("exit", (code) => {
    stop();
    process.exitCode = code ?? 0;
  });
