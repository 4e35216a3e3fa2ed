#!/usr/bin/env bash
# Builds the Dockerfile with podman and runs the compose topology's essentials for real: Turnout
# in front of the demo blue and green containers. Checks, through the published ports: both
# colours answer (active blue on the proxy, green by override and on the preview listener);
# Turnout's process runs as a non-root user; the image's HEALTHCHECK command passes; `podman stop`
# lets an in-flight request finish (drain) and the container exits 0. Also lints the Dockerfile
# (dockerfilelint) and docker-compose.yml (dclint), and checks that the npm build secrets left
# nothing in the image.
#
# Time budget: TURNOUT_CONTAINER_BUDGET seconds (default 900) for the whole script; each step has
# its own `timeout` below it. Typical here: base stand-in 1–4 min (only when the official
# image cannot be pulled and no stand-in exists yet), build 2–3 min, run and checks ~10 s;
# 415 s from nothing on a busy shared machine, 40 s with every layer cached.
#
# These machines: crun and runc cannot raise rlimits, so every container runs with runc and
# explicit --ulimit; systemd is absent, so podman cannot schedule the HEALTHCHECK (it says so on
# stderr at `run -d`, kept in run.log) and the check runs it by hand (`podman healthcheck run`).
# Usage: scripts/container-check.sh   (root, after `npm ci`)
set -euo pipefail
cd "$(dirname "$0")/.."

budget=${TURNOUT_CONTAINER_BUDGET:-900}
base=node:24-bookworm-slim
image=localhost/turnout:ci
id=turnout-ci-$$
run_opts=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

step() { printf '\n== container-check: %s (%ds of %ds used)\n' "$1" "$SECONDS" "$budget"; }
fail() { printf 'container-check: FAILED: %s\n' "$1" >&2; exit 1; }
pass() { printf 'container-check: ok: %s\n' "$1"; }
# The time left, for `timeout`: never more than the step's own bound.
left() { local l=$((budget - SECONDS)); [ "$l" -gt 0 ] || fail "time budget of ${budget}s exhausted"; [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }

secrets=$(mktemp -d /tmp/turnout-secrets.XXXXXX)
cleanup() {
  set +e
  for c in "$id-turnout" "$id-blue" "$id-green"; do podman rm -f -t 0 "$c" >/dev/null 2>&1; done
  podman network rm -f "$id" >/dev/null 2>&1
  podman volume rm -f "$id-data" >/dev/null 2>&1
  rm -rf "$secrets"
}
trap cleanup EXIT

command -v podman >/dev/null || fail 'podman not installed (apt-get install podman)'
command -v runc >/dev/null || fail 'runc not installed (apt-get install runc)'

step 'lint Dockerfile (dockerfilelint) and docker-compose.yml (dclint)'
timeout "$(left 120)" npx --no-install dockerfilelint Dockerfile || fail 'dockerfilelint'
timeout "$(left 120)" npx --no-install dclint docker-compose.yml || fail 'dclint'
pass 'lint'

step "base image $base"
if podman image exists "$base"; then
  pass "$base present: $(podman image inspect --format '{{.Comment}}' "$base" | head -c 160)"
elif timeout "$(left 120)" podman pull -q "docker.io/library/$base" >/dev/null 2>&1; then
  pass "pulled $base"
else
  echo "container-check: cannot pull $base: building a stand-in (scripts/container-base.sh)"
  timeout "$(left 420)" scripts/container-base.sh "$base" || fail 'stand-in base image'
fi

step 'npm config and CA bundle as build secrets'
# The host's registry and TLS trust, in files that are mounted only while `npm ci` runs.
registry=$(npm config get registry)
cafile=$(npm config get cafile)
[ "$cafile" = null ] || [ "$cafile" = undefined ] && cafile=''
cafile=${cafile:-${NODE_EXTRA_CA_CERTS:-}}
printf 'registry=%s\n' "$registry" >"$secrets/npmrc"
secret_opts=(--secret "id=npmrc,src=$secrets/npmrc")
if [ -n "$cafile" ] && [ -r "$cafile" ]; then
  cp "$cafile" "$secrets/npm_ca"
  printf 'cafile=/run/secrets/npm_ca\n' >>"$secrets/npmrc"
  secret_opts+=(--secret "id=npm_ca,src=$secrets/npm_ca")
fi
for key in strict-ssl proxy https-proxy noproxy; do
  value=$(npm config get "$key" 2>/dev/null || true)
  case $value in '' | null | undefined) ;; *) printf '%s=%s\n' "$key" "$value" >>"$secrets/npmrc" ;; esac
done
pass "registry $registry${cafile:+, CA bundle $cafile}"

step "podman build -t $image"
timeout "$(left 600)" podman build --format docker "${run_opts[@]}" "${secret_opts[@]}" -t "$image" . >"$secrets/build.log" 2>&1 ||
  { tail -n 40 "$secrets/build.log" >&2; fail 'podman build'; }
grep -q 'EBADENGINE' "$secrets/build.log" && { grep EBADENGINE "$secrets/build.log" >&2; fail 'npm ci in the build warned EBADENGINE'; }
pass "built $(podman image inspect --format '{{.Id}}' "$image" | head -c 12), $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}')"
leaks=$(podman run --rm "${run_opts[@]}" --no-healthcheck --user 0 --entrypoint sh "$image" -c \
  'find / -xdev \( -name npm_ca -o -name npmrc -o -name .npmrc \) 2>/dev/null; grep -rls "cafile=/run/secrets" /root /home /app/package.json 2>/dev/null; true')
[ -z "$leaks" ] || fail "build secrets left in the image: $leaks"
pass 'no npm config or CA bundle in the image'

step 'run blue, green and turnout (the compose topology)'
podman network create "$id" >/dev/null
podman volume create "$id-data" >/dev/null
for colour in blue green; do
  version=$([ "$colour" = blue ] && echo blue-1.0.0 || echo green-2.0.0)
  podman run -d --name "$id-$colour" --network "$id" "${run_opts[@]}" -e "DEMO_VERSION=$version" \
    --entrypoint node "$image" dist/demo/upstream-main.js "$colour" 3000 0.0.0.0 >/dev/null 2>"$secrets/run.log" ||
    { cat "$secrets/run.log" >&2; fail "run $colour"; }
done
# Compose resolves service names through its DNS; this podman's CNI has no DNS plugin, so the
# names the config uses (http://blue:3000, http://green:3000) are given as hosts entries.
ip_of() { podman inspect --format "{{(index .NetworkSettings.Networks \"$id\").IPAddress}}" "$1"; }
podman run -d --name "$id-turnout" --network "$id" "${run_opts[@]}" \
  --add-host "blue:$(ip_of "$id-blue")" --add-host "green:$(ip_of "$id-green")" \
  -e "TURNOUT_ADMIN_TOKEN=$token" \
  -v "$PWD/config:/app/config:ro" -v "$id-data:/app/data" \
  -p 127.0.0.1::8080 -p 127.0.0.1::8081 -p 127.0.0.1::9901 \
  "$image" >/dev/null 2>"$secrets/run.log" || { cat "$secrets/run.log" >&2; fail 'run turnout'; }
port_of() { podman port "$id-turnout" "$1/tcp" | head -n1 | sed 's/.*://'; }
proxy=http://127.0.0.1:$(port_of 8080)
preview=http://127.0.0.1:$(port_of 8081)
admin=http://127.0.0.1:$(port_of 9901)
ready=''
for _ in $(seq 1 "$(left 60)"); do
  if curl -fsS -o /dev/null "$admin/readyz" 2>/dev/null; then ready=1; break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$id-turnout")" = true ] || break
  sleep 1
done
[ -n "$ready" ] || { podman logs "$id-turnout" 2>&1 | tail -n 30 >&2; fail 'turnout never became ready'; }
pass "ready: proxy $proxy, preview $preview, admin $admin"

step 'both colours answer through the published ports'
expect_colour() { # URL COLOUR [curl args…]
  local url=$1 colour=$2 body; shift 2
  body=$(curl -fsS --max-time 5 -D "$secrets/headers" "$@" "$url") || fail "curl $url"
  grep -qi "^x-turnout-colour: $colour" "$secrets/headers" || fail "$url: x-turnout-colour is not $colour"
  case $body in *"\"colour\":\"$colour\""*) ;; *) fail "$url answered $body, not $colour" ;; esac
  pass "$url $* → $colour ($body)"
}
expect_colour "$proxy/hello" blue
expect_colour "$proxy/hello" green -H 'x-turnout-colour: green'
expect_colour "$preview/hello" green
curl -fsS --max-time 5 -H "authorization: Bearer $token" "$admin/api/v1/state" | grep -q '"active":"blue"' || fail 'admin API state'
pass 'admin API answers with the token on the loopback port'

step 'non-root, HEALTHCHECK'
uid=$(podman exec "$id-turnout" sh -c "awk '/^Uid:/ {print \$2}' /proc/1/status")
[ "$uid" != 0 ] || fail 'turnout runs as root'
pass "turnout's process runs as uid $uid ($(podman exec "$id-turnout" id -un))"
health=$(podman image inspect --format '{{.HealthCheck.Test}}' "$image")
[ -n "$health" ] && [ "$health" != '[]' ] || fail 'the image has no HEALTHCHECK (built without --format docker?)'
timeout "$(left 30)" podman healthcheck run "$id-turnout" || fail "HEALTHCHECK $health"
pass "HEALTHCHECK passes: $health"

step 'podman stop drains an in-flight request and exits 0'
curl -fsS --max-time 5 -X POST "http://127.0.0.1:$(port_of 8080)/slow?ms=2000" -H 'x-turnout-colour: blue' -o /dev/null || fail 'POST /slow'
# The demo's /slow control answers at once; the next request to blue waits 2 s.
curl -sS --max-time 20 -o "$secrets/slow.body" -w '%{http_code}' "$proxy/in-flight" >"$secrets/slow.code" &
slow=$!
sleep 0.5
timeout "$(left 30)" podman stop -t 15 "$id-turnout" >/dev/null 2>>"$secrets/run.log" || { cat "$secrets/run.log" >&2; fail 'podman stop'; }
wait "$slow" || true
code=$(podman inspect --format '{{.State.ExitCode}}' "$id-turnout")
logs=$(podman logs "$id-turnout" 2>&1)
[ "$(cat "$secrets/slow.code")" = 200 ] || { echo "$logs" | tail -n 20 >&2; fail "the in-flight request got $(cat "$secrets/slow.code") during the drain"; }
pass "the in-flight request finished during the drain: 200 $(cat "$secrets/slow.body")"
[ "$code" = 0 ] || { echo "$logs" | tail -n 20 >&2; fail "turnout exited $code after podman stop"; }
grep -q 'SIGTERM: draining' <<<"$logs" || fail 'no "SIGTERM: draining" in the logs'
grep -q '"msg":"stopped"' <<<"$logs" || fail 'no "stopped" in the logs'
pass "exit code 0 after SIGTERM; logs say draining, then stopped"
# config/turnout.compose.yaml runs `workers: auto` (CONTRACT §7): the data planes are worker processes.
grep -q 'worker w1 serving' <<<"$logs" || fail 'no "worker w1 serving" in the logs (workers: auto)'
pass "$(grep -c 'serving' <<<"$logs") worker(s) served under one control plane (workers: auto)"

printf '\ncontainer-check: all checks passed in %ds\n' "$SECONDS"
