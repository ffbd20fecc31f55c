# syntax=docker/dockerfile:1
# The production image of the gateway: built once, run with dependencies only (no dev dependency, no code
# generation at run time, no embedded simulator). docs/deployment.md explains it; .ci/prod-recipe.sh runs the
# same steps without a container runtime (test/unit/deployment.test.ts checks that both list the same ones).

# Build stage: the full install, the build, then the dev dependencies and the simulator workspace pruned away.
FROM node:24-slim AS build
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
RUN npm run build
RUN npm prune --omit=dev --workspaces=false --include-workspace-root --no-audit --no-fund

# Runtime stage: what `node dist/main.js` reads, and nothing else: package.json ("type": "module"), the compiled
# gateway, the production dependencies and the GraphQL schema files (src/schema.ts reads schema/*.graphql).
FROM node:24-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schema ./schema
# The files stay root's: the gateway only reads them.
USER node
EXPOSE 4000
# Readiness, not liveness: 503 while starting or draining, and until Codat has accepted CODAT_API_KEY once.
# Node's own fetch (the slim image has no curl); the gateway listens on HOST, which must include loopback.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# package.json's `start` flags. node is PID 1 and handles SIGTERM itself: drains in-flight requests, exits 0.
CMD ["node", "--max-semi-space-size=16", "--max-old-space-size=1024", "dist/main.js"]
