#!/usr/bin/env bash
# Image smoke test: builds docker/Dockerfile, starts the image on a fresh volume, waits for it to be
# healthy, completes first-run setup and logs in over HTTP, restarts it and checks that the data
# and the session survived, and stops it with SIGTERM, which must end it with code 0 within 10 s.
#
#   bash docker/smoke-test.sh [CONTEXT]     CONTEXT: the repository to build (default: this one)
#
# Uses podman when it is installed, docker otherwise (CONTAINER_ENGINE=docker to choose). Needs
# curl. Everything it creates (container, volume, image) is removed on exit, also on failure;
# SMOKE_KEEP_IMAGE=1 keeps the image. The last line reads "smoke: N passed, N failed".
set -euo pipefail

ctx=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
[[ -f $ctx/docker/Dockerfile ]] || { echo "smoke: no docker/Dockerfile in $ctx" >&2; exit 2; }
command -v curl >/dev/null || { echo "smoke: curl is needed" >&2; exit 2; }
engine=${CONTAINER_ENGINE:-}
if [[ -z $engine ]]; then
  if command -v podman >/dev/null; then engine=podman
  elif command -v docker >/dev/null; then engine=docker
  else echo "smoke: neither podman nor docker is installed" >&2; exit 2; fi
fi
build_flags=()
# podman writes OCI images by default, and OCI has no HEALTHCHECK: ask for the Docker format.
[[ $engine == podman ]] && build_flags+=(--format docker)

id="carnet-smoke-$(date +%s)-$$"
image="localhost/carnet-smoke:${id#carnet-smoke-}"
ctr=$id
vol="$id-data"
work=$(mktemp -d)
ctr_created=
passed=0

now_ms() { date +%s%3N; }
secs() { printf '%d.%01d' $(($1 / 1000)) $((($1 % 1000) / 100)); }
step() { printf '\n==> %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf '    ok   %s\n' "$*"; }
note() { printf '    note %s\n' "$*"; }

fail() {
  printf '\nsmoke: FAILED: %s\n' "$*" >&2
  if [[ -n $ctr_created ]]; then
    echo "---- container logs (last 80 lines) ----" >&2
    $engine logs --tail 80 "$ctr" >&2 2>&1 || true
    echo "----------------------------------------" >&2
  fi
  echo "smoke: $passed passed, 1 failed"
  exit 1
}

cleanup() {
  local rc=$?
  set +e
  if [[ -n $ctr_created ]]; then $engine rm -f "$ctr" >/dev/null 2>&1; fi
  $engine volume rm -f "$vol" >/dev/null 2>&1
  if [[ ${SMOKE_KEEP_IMAGE:-0} != 1 ]]; then $engine rmi -f "$image" >/dev/null 2>&1; fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- HTTP helpers: one cookie jar per browser -------------------------------------------------
base=
status=
location=
body=
# request JAR PATH [curl args…]: sets status, location (of a redirect) and body.
request() {
  local jar=$1 path=$2 out
  shift 2
  out=$(curl -sS -o "$work/body" -w '%{http_code} %{redirect_url}' -b "$jar" -c "$jar" --max-time 20 "$@" "$base$path") \
    || fail "HTTP request to $path failed"
  status=${out%% *}
  location=${out#* }
  body=$(cat "$work/body")
}
# The CSRF token of the first form in the last page (views/partials/csrf.eta).
csrf() { sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' <<<"$body" | head -n 1; }
contains() { grep -qF -- "$1" <<<"$body"; }

host_port() {
  local p
  p=$($engine port "$ctr" 3000/tcp 2>/dev/null | head -n 1)
  [[ $p == *:* ]] || fail "the container publishes no port for 3000/tcp"
  base="http://127.0.0.1:${p##*:}"
}

# wait_healthy LABEL: /healthz answers, then the container's own HEALTHCHECK reports healthy.
# podman runs health checks from systemd timers, which a machine without systemd lacks, so for
# podman the check is triggered here (podman healthcheck run runs the image's HEALTHCHECK command
# and records its result); docker runs it by itself, the first time after the 30 s interval.
wait_healthy() {
  local label=$1 t0 deadline http_ms='' state
  t0=$(now_ms)
  deadline=$((t0 + ${SMOKE_HEALTH_TIMEOUT:-60} * 1000))
  while :; do
    state=$($engine inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$ctr" 2>/dev/null || echo "unknown -")
    [[ $state == running* ]] || fail "the container is not running ($label; state and exit code: $state)"
    host_port
    if [[ -z $http_ms ]] && curl -fsS --max-time 2 "$base/healthz" 2>/dev/null | grep -q '"status":"ok"'; then
      http_ms=$(($(now_ms) - t0))
    fi
    if [[ -n $http_ms ]]; then
      [[ $engine == podman ]] && podman healthcheck run "$ctr" >/dev/null 2>&1 || true
      if [[ $($engine inspect -f '{{.State.Health.Status}}' "$ctr" 2>/dev/null) == healthy ]]; then
        ok "$label: /healthz answered after $(secs "$http_ms") s, container healthy after $(secs $(($(now_ms) - t0))) s"
        return
      fi
    fi
    (($(now_ms) < deadline)) || fail "$label: not healthy within ${SMOKE_HEALTH_TIMEOUT:-60} s (/healthz ok: ${http_ms:+yes}${http_ms:-no}; health: $($engine inspect -f '{{.State.Health.Status}}' "$ctr" 2>/dev/null))"
    sleep 0.5
  done
}

# stop_with_sigterm LABEL: docker/podman stop sends the image's STOPSIGNAL (SIGTERM) and kills
# after 10 s; a clean stop is exit code 0 well before that, with server.ts's log line.
stop_with_sigterm() {
  local label=$1 t0 ms code before after
  before=$($engine logs "$ctr" 2>&1 | grep -c 'SIGTERM received, closing' || true)
  t0=$(now_ms)
  $engine stop -t 10 "$ctr" >/dev/null 2>"$work/stop.err" || { cat "$work/stop.err" >&2; fail "$label: $engine stop failed"; }
  ms=$(($(now_ms) - t0))
  code=$($engine inspect -f '{{.State.ExitCode}}' "$ctr")
  [[ $code == 0 ]] || fail "$label: the container exited with code $code after SIGTERM (137 means it was killed after 10 s)"
  ((ms < 10000)) || fail "$label: stopping took $(secs "$ms") s, not under 10 s"
  after=$($engine logs "$ctr" 2>&1 | grep -c 'SIGTERM received, closing' || true)
  ((after > before)) || fail "$label: the server did not log that it received SIGTERM"
  ok "$label: SIGTERM → exit code 0 in $(secs "$ms") s"
}

printf 'smoke: %s, context %s\n' "$engine" "$ctx"
started=$(now_ms)

# ---- 1. build ----------------------------------------------------------------------------------
step "building the image $image"
t0=$(now_ms)
if ! $engine build "${build_flags[@]}" -f "$ctx/docker/Dockerfile" -t "$image" "$ctx" >"$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log" >&2
  fail "the image does not build"
fi
ok "built in $(secs $(($(now_ms) - t0))) s"
size=$($engine image inspect -f '{{.Size}}' "$image")
base_image=$(awk 'toupper($1) == "FROM" { b = $2 } END { print b }' "$ctx/docker/Dockerfile")
base_size=$($engine image inspect -f '{{.Size}}' "$base_image" 2>/dev/null || echo 0)
note "image $((size / 1000000)) MB: base $base_image $((base_size / 1000000)) MB + Carnet's layers $(((size - base_size) / 1000000)) MB"
[[ $($engine image inspect -f '{{.Config.User}}' "$image") == node ]] || fail "the image does not run as the user node"
$engine image inspect -f '{{.Config.Healthcheck}}' "$image" | grep -qF healthz \
  || fail "the image has no HEALTHCHECK on /healthz (podman needs --format docker)"
ok "image runs as user node and has a HEALTHCHECK on /healthz"

# ---- 2. first start on a fresh volume ----------------------------------------------------------
step "starting it on the fresh volume $vol"
$engine volume create "$vol" >/dev/null
# A random free port on 127.0.0.1 (read back with `port`; docker picks a new one at each start).
$engine run -d --name "$ctr" -v "$vol:/data" -p 127.0.0.1::3000 "$image" >/dev/null 2>"$work/run.err" \
  || { cat "$work/run.err" >&2; fail "the container does not start"; }
ctr_created=1
wait_healthy "first start"

uid=$($engine exec "$ctr" awk '/^Uid:/ { print $2 }' /proc/1/status)
[[ $uid =~ ^[0-9]+$ && $uid != 0 ]] || fail "the server runs as uid '$uid', not as an unprivileged user"
ok "the server (PID 1) runs as uid $uid"
$engine exec "$ctr" sh -c 'command -v carnet' >/dev/null || fail "no carnet command on PATH"
# `carnet` runs dist/cli.js, compiled from src/cli.ts: an image without it has no working CLI.
$engine exec "$ctr" carnet --help >"$work/help" 2>&1 || { cat "$work/help" >&2; fail "carnet --help exits non-zero"; }
ok "carnet --help exits 0"

# ---- 3. first-run setup and log in over HTTP ---------------------------------------------------
step "first-run setup over HTTP"
n=$RANDOM
coop="Épicerie Fumée $n"
admin_name="Camille Essai $n"
admin_email="admin-$n@example.org"
password="smoke-$n-correct-horse-battery"
admin_jar=$work/admin.jar
request "$admin_jar" /
[[ $status == 303 && $location == */setup ]] || fail "a fresh install does not lead to /setup (GET / → $status $location)"
request "$admin_jar" /setup
[[ $status == 200 ]] || fail "GET /setup → $status"
token=$(csrf)
[[ -n $token ]] || fail "no CSRF token in the setup form"
request "$admin_jar" /setup --data-urlencode "_csrf=$token" --data-urlencode "coopName=$coop" \
  --data-urlencode "contactEmail=contact-$n@example.org" --data-urlencode "defaultLocale=fr" \
  --data-urlencode "timeZone=Europe/Paris" --data-urlencode "adminName=$admin_name" \
  --data-urlencode "adminEmail=$admin_email" --data-urlencode "password=$password" \
  --data-urlencode "passwordConfirm=$password"
[[ $status == 303 && $location == */admin ]] || fail "POST /setup → $status $location (expected 303 to /admin)"
request "$admin_jar" /admin
[[ $status == 200 ]] && contains "$coop" || fail "after setup, /admin does not show the coop (status $status)"
ok "setup created \"$coop\" and its admin"

step "logging in over HTTP"
login_jar=$work/login.jar
log_in() {
  request "$login_jar" /login
  [[ $status == 200 ]] || fail "GET /login → $status"
  token=$(csrf)
  [[ -n $token ]] || fail "no CSRF token in the login form"
  request "$login_jar" /login --data-urlencode "_csrf=$token" --data-urlencode "email=$admin_email" --data-urlencode "password=$password"
  [[ $status == 303 ]] || fail "POST /login → $status (expected 303)"
  request "$login_jar" /account
  [[ $status == 200 ]] && contains "$admin_name" && contains "$coop" || fail "after log in, /account does not show the admin's name and the coop (status $status)"
  request "$login_jar" /admin
  [[ $status == 200 ]] || fail "the admin cannot open /admin after log in (status $status)"
}
log_in
ok "logged in as $admin_email: /account shows \"$admin_name\", /admin opens"

sleep "${SMOKE_IDLE_SECONDS:-5}"
rss_kb=$($engine exec "$ctr" awk '/^VmRSS:/ { print $2 }' /proc/1/status)
note "idle RSS after setup and log in: $((rss_kb / 1024)) MB ($rss_kb kB, VmRSS of PID 1)"

# ---- 4. restart: the data and the session are on the volume ------------------------------------
step "restarting"
stop_with_sigterm "restart"
$engine start "$ctr" >/dev/null 2>"$work/start.err" || { cat "$work/start.err" >&2; fail "the container does not start again"; }
wait_healthy "after restart"
request "$admin_jar" /account
[[ $status == 200 ]] && contains "$admin_name" || fail "the session opened before the restart is lost (GET /account → $status $location)"
ok "the session opened before the restart still works (sessions and their secret are on the volume)"
rm -f "$login_jar"
log_in
ok "logged in again after the restart; the coop \"$coop\" is still there"
request "$login_jar" /setup
[[ $status == 404 ]] || fail "the setup page is back after a restart (GET /setup → $status)"
ok "the setup page stays gone"

# ---- 5. stop with SIGTERM ----------------------------------------------------------------------
step "stopping with SIGTERM"
stop_with_sigterm "stop"

echo
echo "smoke: finished in $(secs $(($(now_ms) - started))) s"
echo "smoke: $passed passed, 0 failed"
