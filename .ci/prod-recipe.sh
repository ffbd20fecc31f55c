#!/usr/bin/env bash
# The Dockerfile, run without a container runtime (none can pull images here), on a fresh clone that reads
# nothing outside the repository:
#  1. the build stage: its RUN commands, in order, in the clone (which is the build context: .dockerignore keeps
#     out .git and what .gitignore keeps out of a clone);
#  2. the runtime stage: its COPY lines assemble /app in a separate folder, which then runs the way CMD says, as
#     an unprivileged user (USER node), against the simulator's own build started as a separate process (as Codat
#     would be), and answers a query and the HEALTHCHECK;
#  3. `npm start` on the pruned clone serves too (prestart finds no build tools and never tries to build).
# The docker_* lines below are the Dockerfile's, word for word: test/unit/deployment.test.ts compares them.
# PROD_RECIPE_KEEP=1 keeps the scratch folder (its path is printed) instead of deleting it.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ "${PROD_RECIPE_KEEP:-}" = 1 ]; then echo "prod-recipe: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
say() { echo "prod-recipe: $*"; }
fail() {
  echo "prod-recipe: $*" >&2
  exit 1
}

build="$work/build/app" # the build stage's WORKDIR
image="$work/image/app" # the runtime stage's WORKDIR
git clone -q "$src" "$build"
rm -rf "$build/.git"
mkdir -p "$image" "$work/bin"

# RUN in the build stage: a shell command in its WORKDIR. (npm runs on this machine's Node 20 here, and would warn
# that each package wants Node 22 or later: only errors are shown.)
docker_run() {
  say "RUN $1"
  (cd "$build" && npm_config_loglevel=error sh -c "$1")
}
# COPY --from=build <absolute path in the build stage> <path relative to the runtime WORKDIR>
docker_copy() {
  local from="$build/${1#/app/}" to="$image/${2#./}"
  say "COPY --from=build $1 $2"
  [ -e "$from" ] || fail "COPY: $1 is not in the build stage"
  if [ "${2: -1}" = / ]; then mkdir -p "$to" && cp -a "$from" "$to"; else cp -a "$from" "$to"; fi
}
# ENV in the runtime stage.
runtime_env=()
docker_env() { runtime_env+=("$@"); }
docker_cmd() { cmd=("$@"); }
docker_healthcheck() { healthcheck=("$@"); }

# --- the build stage (FROM node:24-slim AS build; WORKDIR /app; COPY . .) ---
docker_run 'npm ci --no-audit --no-fund'
docker_run 'npm run build'
# The image's node is Node 24; here it is the pinned `node` dev dependency: keep its binary before pruning.
cp "$(cd "$build" && node_modules/.bin/node -p process.execPath)" "$work/bin/node"
lock_before="$(sha256sum "$build/package-lock.json" | cut -d' ' -f1)"
docker_run 'npm prune --omit=dev --workspaces=false --include-workspace-root --no-audit --no-fund'
[ "$(sha256sum "$build/package-lock.json" | cut -d' ' -f1)" = "$lock_before" ] || say "note: npm prune changed package-lock.json's content"

# --- the runtime stage (FROM node:24-slim; WORKDIR /app) ---
docker_env NODE_ENV=production HOST=0.0.0.0 PORT=4000
docker_copy /app/package.json ./
docker_copy /app/node_modules ./node_modules
docker_copy /app/dist ./dist
docker_copy /app/schema ./schema
docker_healthcheck node -e 'fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))'
docker_cmd node --max-semi-space-size=16 --max-old-space-size=1024 dist/main.js

for dev in typescript tsx vitest @graphql-codegen/cli openapi-typescript yaml node esbuild codat-simulator codat-gateway-web graphiql react react-dom vite; do
  [ ! -e "$image/node_modules/$dev" ] || fail "dev dependency $dev is still installed"
done
# The GraphiQL explorer ships built (dist/explorer/), without the packages it was built from.
[ -f "$image/dist/explorer/index.html" ] || fail "dist/explorer/ (the built GraphiQL explorer) is missing"
say "runtime /app: $(du -sh "$image" | cut -f1), node_modules $(du -sh "$image/node_modules" | cut -f1)"

# USER node: an unprivileged user that owns none of the files (as in the image, where COPY leaves them root's).
# Here that is `nobody`, when this script runs as root; the folders on the way must let it through.
as_user=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  chmod 755 "$work" "$work/bin" "$work/image" "$work/build"
fi
# In the image's environment (ENV), Node 24 first on PATH; on loopback and a free port, since this machine's
# network is not a container's own.
image_env=(env "${runtime_env[@]}" PATH="$work/bin:$PATH" HOST=127.0.0.1 PORT=0)
now_ms() { date +%s%3N; }
# Waits for `ready at` in log $1 (written by pid $2); prints the URL.
wait_ready() {
  for _ in $(seq 1 600); do
    grep -qs "ready at" "$1" && break
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  grep -o 'ready at http://[^ "]*' "$1" | head -1 | cut -d' ' -f3
}
# Milliseconds from launch ($2, epoch ms) to the ready line's own timestamp in log $1.
ready_after() {
  "$work/bin/node" -e '
    const line = require("fs").readFileSync(process.argv[1], "utf8").split("\n").find((l) => l.includes("ready at"));
    console.log(Date.parse(JSON.parse(line).time) - Number(process.argv[2]));' "$1" "$2"
}
query() {
  local body='{"query":"{ customers(companyId: \"8a210b68-6988-11ed-a1eb-0242ac120002\", first: 2) { totalCount } }"}'
  "$work/bin/node" -e '
    fetch(process.argv[1], { method: "POST", headers: { "content-type": "application/json" }, body: process.argv[2] })
      .then((r) => r.text()).then((t) => console.log(t))' "$1" "$body"
}

# Without the simulator package, asking for the embedded upstream is a clear configuration error.
if (cd "$image" && exec "${image_env[@]}" "${as_user[@]}" env CODAT_SIMULATOR=true "${cmd[@]}") >"$work/nosim.log" 2>&1; then
  fail "CODAT_SIMULATOR=true started without the simulator package"
fi
grep -q "config error: the embedded simulator" "$work/nosim.log" || { cat "$work/nosim.log" >&2; fail "unclear error without the simulator"; }

# The stand-in upstream: the simulator's own build, run from the build stage as a separate process.
sim_log="$work/simulator.log"
(cd "$build" && exec "$work/bin/node" simulator/dist/main.js --port 0 --api-key prod-recipe-key) >"$sim_log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  grep -qs "listening on" "$sim_log" && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 0.1
done
sim_url="$(grep -o 'listening on http://[^ ]*' "$sim_log" | cut -d' ' -f3)"
[ -n "$sim_url" ] || { cat "$sim_log" >&2; fail "simulator did not start"; }
# AUTH_MODE explicit: production refuses the default (no authentication) unless it is set; here on loopback.
upstream=(CODAT_BASE_URL="$sim_url" CODAT_API_KEY=prod-recipe-key AUTH_MODE=none)

# CMD, as USER node, in /app as the COPY lines laid it out.
log="$work/cmd.log"
launched="$(now_ms)"
(cd "$image" && exec "${image_env[@]}" "${as_user[@]}" env "${upstream[@]}" "${cmd[@]}") >"$log" 2>&1 &
pid=$!
pids+=("$pid")
url="$(wait_ready "$log" "$pid")"
[ -n "$url" ] || { cat "$log" >&2; fail "CMD did not start"; }
say "CMD ready after $(ready_after "$log" "$launched") ms"
answer="$(query "$url")"
say "CMD: $answer"
echo "$answer" | grep -q '"totalCount":[1-9]' || fail "CMD: unexpected answer"
port="$(echo "$url" | sed -E 's|^http://[^:]+:([0-9]+)/.*$|\1|')"
# As Docker runs it: in the container's environment, until it passes (a failure within --start-period does not
# count; /readyz waits for the simulator to accept the key once).
healthy=""
for _ in $(seq 1 60); do
  if (cd "$image" && exec env "${runtime_env[@]}" PORT="$port" PATH="$work/bin:$PATH" "${as_user[@]}" "${healthcheck[@]}"); then
    healthy=1
    break
  fi
  sleep 0.5
done
[ -n "$healthy" ] || fail "HEALTHCHECK never passed"
say "HEALTHCHECK: /readyz on port $port answered 2xx"
kill -TERM "$pid"
wait "$pid" || fail "CMD did not exit 0 on SIGTERM"
say "CMD: SIGTERM, exit 0"

# `npm start` on the pruned clone: prestart must not try to build (no graphql-codegen, no tsc).
log="$work/npm-start.log"
launched="$(now_ms)"
(cd "$build" && exec env PATH="$work/bin:$PATH" NODE_ENV=production HOST=127.0.0.1 PORT=0 "${upstream[@]}" npm start) >"$log" 2>&1 &
pid=$!
pids+=("$pid")
url="$(wait_ready "$log" "$pid")"
[ -n "$url" ] || { cat "$log" >&2; fail "npm start on the pruned install did not start"; }
! grep -Eq "graphql-codegen|not found|rebuilding|Building|other sources" "$log" || { cat "$log" >&2; fail "npm start tried to build, or thinks dist/ is stale"; }
say "npm start ready after $(ready_after "$log" "$launched") ms"
answer="$(query "$url")"
echo "$answer" | grep -q '"totalCount":[1-9]' || fail "npm start: unexpected answer: $answer"
say "npm start: $answer"
kill -TERM "$pid"
wait "$pid" || fail "npm start did not exit 0 on SIGTERM"

kill -TERM "${pids[0]}"
wait "${pids[0]}" || true
pids=()
say "fresh-clone build, the Dockerfile's runtime layout (CMD, HEALTHCHECK, USER), npm start on the pruned install and SIGTERM exits all OK"
