#!/usr/bin/env bash
# CI for examples/node-app (docs/platform.md): pack jobwire as a tarball, install
# it into a copy of the example, start a jobwire service (`jobwire start`: API and
# its own worker) on an embedded Postgres (as `npm start` does, on free ports, in a
# temporary data folder), start the example's worker, write its typed client with
# the installed package's `jobwire codegen`, run the example's own test against
# them, and clean up whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="$(mktemp -d -t jobwire-example-XXXXXX)"
# The embedded Postgres runs as its own user when we are root: it must enter the data folder.
chmod 755 "$work"
service_pid=""
worker_pid=""
stop() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1"
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$worker_pid"
  stop "$service_pid"
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
seconds() { node -e 'console.log(((Date.now()-Number(process.argv[1]))/1000).toFixed(1))' "$1"; }
script_started=$(node -e 'console.log(Date.now())')

# The example's package.json names ../../jobwire-0.1.0.tgz: the same layout under $work.
started=$(node -e 'console.log(Date.now())')
npm pack --silent --pack-destination "$work" >/dev/null
tarball="$(ls "$work"/jobwire-*.tgz)"
echo "packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) kB) in $(seconds "$started") s"
mkdir -p "$work/examples"
cp -R examples/node-app "$work/examples/node-app"
rm -rf "$work/examples/node-app/node_modules" "$work/examples/node-app/dist"
[ "$tarball" = "$work/jobwire-0.1.0.tgz" ] || mv "$tarball" "$work/jobwire-0.1.0.tgz"
started=$(node -e 'console.log(Date.now())')
(cd "$work/examples/node-app" && npm install --prefer-offline --no-audit --no-fund --loglevel=error)
echo "installed the example's dependencies in $(seconds "$started") s"
# One zod for the app and jobwire (a peer dependency): the app's schemas are jobwire's kind.
if [ -e "$work/examples/node-app/node_modules/jobwire/node_modules/zod" ]; then
  echo "jobwire got its own copy of zod; it must share the app's" >&2
  exit 1
fi

pg_port="$(free_port)"
api_port="$(free_port)"
data_dir="$work/data"
# API and the service's own worker: routing keeps that worker off the example's types, and the
# API checks their payloads against what the example's worker registers (unknown types refused).
DATA_DIR="$data_dir" EMBEDDED_POSTGRES_PORT="$pg_port" PORT="$api_port" HOST=127.0.0.1 LOG_LEVEL=warn \
  node "$root/dist/main.js" start >"$work/service.log" 2>&1 &
service_pid=$!
started=$(node -e 'console.log(Date.now())')
# The service is ready once /health/ready answers 200 (migrated, LISTEN up); give up if it exits.
until curl -sf "http://127.0.0.1:$api_port/health/ready" >/dev/null; do
  if ! kill -0 "$service_pid" 2>/dev/null; then
    echo "the jobwire service exited before it was ready:" >&2
    cat "$work/service.log" >&2
    exit 1
  fi
  if [ "$(seconds "$started" | cut -d. -f1)" -ge 120 ]; then
    echo "the jobwire service was not ready within 120 s:" >&2
    cat "$work/service.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "jobwire service ready in $(seconds "$started") s"

password="$(cat "$data_dir/postgres-password")"
app="$work/examples/node-app"
export JOBWIRE_API_URL="http://127.0.0.1:$api_port/graphql"
export DATABASE_URL="postgres://postgres:$password@127.0.0.1:$pg_port/jobwire"

# The example's worker, as the app would run it; it prints its id once it has registered its types.
(cd "$app" && npm run --silent build:worker)
(cd "$app" && LOG_LEVEL=warn exec node dist/src/worker.js) >"$work/worker.log" 2>&1 &
worker_pid=$!
started=$(node -e 'console.log(Date.now())')
until grep -q '^worker .* serves ' "$work/worker.log"; do
  if ! kill -0 "$worker_pid" 2>/dev/null; then
    echo "the example's worker exited before it registered:" >&2
    cat "$work/worker.log" >&2
    exit 1
  fi
  if [ "$(seconds "$started" | cut -d. -f1)" -ge 60 ]; then
    echo "the example's worker did not register within 60 s:" >&2
    cat "$work/worker.log" >&2
    exit 1
  fi
  sleep 0.2
done
app_worker_id="$(sed -n 's/^worker \([^ ]*\) serves .*/\1/p' "$work/worker.log" | head -1)"
echo "example's worker $app_worker_id registered in $(seconds "$started") s"

# The installed package's CLI (its bin), with the package's production dependencies only.
(cd "$app" && npx --no-install jobwire --help >/dev/null)
started=$(node -e 'console.log(Date.now())')
(cd "$app" && npx --no-install jobwire codegen --endpoint "$JOBWIRE_API_URL" --out src/generated)
echo "wrote the typed client in $(seconds "$started") s"

set +e
(cd "$app" && APP_WORKER_ID="$app_worker_id" npm test --silent)
status=$?
set -e
if [ "$status" -ne 0 ]; then
  echo "=== the example's test failed (exit $status); the service's log: ===" >&2
  tail -50 "$work/service.log" >&2
  echo "=== the example's worker's log: ===" >&2
  tail -50 "$work/worker.log" >&2
fi
echo "example:node-app took $(seconds "$script_started") s"
exit "$status"
