import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// In development the app and the gateway share one origin through Vite's proxy: GraphQL over HTTP and WebSocket,
// and the signed download links (the gateway builds them on PUBLIC_URL, which scripts/dev.mjs sets to this server).
const gateway = process.env["GATEWAY_URL"] ?? "http://127.0.0.1:4000";

export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: {
      "/graphql": { target: gateway, ws: true },
      "/downloads": { target: gateway },
    },
  },
  build: { sourcemap: true },
});
