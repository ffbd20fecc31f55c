#!/usr/bin/env bash
# Proves two things on a clone with no sibling folders (nothing outside the repository is read):
#  1. `npm ci && npm run build` works there;
#  2. the production recipe: build once, `npm prune --omit=dev`, then `node dist/main.js` serves with
#     node_modules holding dependencies only (no dev dependency, no codegen at run time, and no simulator
#     package: the gateway is pointed at a simulator running as a separate process, as it would be at Codat).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pid=""
sim_pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  [ -n "$sim_pid" ] && kill -9 "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git clone -q "$src" "$work/repo"
cd "$work/repo"
npm ci --no-audit --no-fund --loglevel=error
npm run build
# The pinned Node 24 is a dev dependency: keep its binary before pruning (a production image has Node 24 itself).
cp "$(node_modules/.bin/node -p process.execPath)" "$work/node"
npm prune --omit=dev --workspaces=false --include-workspace-root --no-audit --no-fund --loglevel=error
for dev in typescript tsx vitest @graphql-codegen/cli openapi-typescript yaml node esbuild codat-simulator; do
  if [ -e "node_modules/$dev" ]; then echo "prod-recipe: dev dependency $dev is still installed" >&2; exit 1; fi
done
echo "prod-recipe: dependencies-only node_modules: $(du -sh node_modules | cut -f1)"

# Without the simulator package, asking for the embedded upstream is a clear configuration error.
if CODAT_SIMULATOR=true NODE_ENV=production PORT=0 "$work/node" dist/main.js >"$work/nosim.log" 2>&1; then
  echo "prod-recipe: CODAT_SIMULATOR=true started without the simulator package" >&2; exit 1
fi
grep -q "config error: the embedded simulator" "$work/nosim.log" || { echo "prod-recipe: unclear error without the simulator" >&2; cat "$work/nosim.log" >&2; exit 1; }

# The stand-in upstream: the simulator's own build, run from its folder as a separate process.
sim_log="$work/simulator.log"
"$work/node" simulator/dist/main.js --port 0 --api-key prod-recipe-key >"$sim_log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 300); do grep -q "listening on" "$sim_log" && break; kill -0 "$sim_pid" 2>/dev/null || break; sleep 0.1; done
sim_url="$(grep -o 'listening on http://[^ ]*' "$sim_log" | cut -d' ' -f3)"
[ -n "$sim_url" ] || { echo "prod-recipe: simulator did not start" >&2; cat "$sim_log" >&2; exit 1; }

log="$work/gateway.log"
NODE_ENV=production CODAT_BASE_URL="$sim_url" CODAT_API_KEY=prod-recipe-key PORT=0 "$work/node" dist/main.js >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q "ready at" "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
url="$(grep -o 'ready at http://[^ "]*' "$log" | cut -d' ' -f3)"
[ -n "$url" ] || { echo "prod-recipe: gateway did not start" >&2; cat "$log" >&2; exit 1; }
body='{"query":"{ customers(companyId: \"8a210b68-6988-11ed-a1eb-0242ac120002\", first: 2) { totalCount } }"}'
answer="$("$work/node" -e '
  fetch(process.argv[1], { method: "POST", headers: { "content-type": "application/json" }, body: process.argv[2] })
    .then((r) => r.text()).then((t) => console.log(t))' "$url" "$body")"
echo "prod-recipe: $answer"
echo "$answer" | grep -q '"totalCount":[1-9]' || { echo "prod-recipe: unexpected answer" >&2; exit 1; }
kill -TERM "$pid"
wait "$pid"
pid=""
kill -TERM "$sim_pid"
wait "$sim_pid" || true
sim_pid=""
echo "prod-recipe: fresh-clone build, pruned install and SIGTERM exit all OK"
