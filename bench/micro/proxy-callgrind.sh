#!/bin/bash
# Instructions per request of whole proxy processes under callgrind, so the figure does not move
# with the machine's load (this VM has no hardware counters for `perf stat`):
#   bench/micro/proxy-callgrind.sh WARM N name=TREE ...     (e.g. 30000 4000 old=/tmp/old new=$PWD undici=undici; TREEs absolute)
# TREE is a checkout with dist/ built (e.g. `git worktree add /tmp/old <commit>`), or "undici" for
# bench/contenders/undici-proxy.ts. Each proxy runs alone under valgrind with instrumentation off,
# takes WARM requests so V8 has optimised the hot path, then instrumentation is
# switched on for exactly N requests (autocannon, 10 connections, keep-alive) and the
# instructions of every thread of the process are summed. The origin runs natively.
# Compare builds on the "steady" figure (bench/micro/callgrind-summary.ts: without the compiler and
# the GC, which land in some windows and not others). TOP=N also lists the N costliest functions;
# KEEP=DIR keeps the callgrind dumps and V8's perf maps for callgrind_annotate.
# TLS=1: HTTP/1.1 over TLS (a throwaway openssl certificate; "undici" is then
# bench/contenders/h2-undici-proxy.ts, node:http2's secure server as Turnout's listener is).
set -e
[ $# -ge 3 ] || { echo "usage: $0 WARM N name=TREE ..." >&2; exit 2; }
WARM=$1; N=$2; shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. $ROOT/bench/lib/split-config.sh
NODE=$ROOT/node_modules/node/bin/node
AC=$ROOT/node_modules/.bin/autocannon
D=$(mktemp -d)
cd $D  # V8 writes its log files (with --perf-basic-prof) into the working directory
$NODE $ROOT/bench/origin.ts > $D/origin.log 2>&1 &
OPID=$!
for i in $(seq 50); do grep -q ORIGIN $D/origin.log && break; sleep 0.1; done
BLUE=$(sed -n 's/.*"blue":\([0-9]*\).*/\1/p' $D/origin.log); GREEN=$(sed -n 's/.*"green":\([0-9]*\).*/\1/p' $D/origin.log)
SCHEME=http; TLS_YAML=
if [ -n "${TLS:-}" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $D/tls.key -out $D/tls.crt -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  SCHEME=https; TLS_YAML=", tls: { cert: $D/tls.crt, key: $D/tls.key }"
fi
VG="valgrind --tool=callgrind --instr-atstart=no --dump-instr=no"
NODE_OPTS="--perf-basic-prof ${NODE_OPTS:-}"
for spec in "$@"; do
  name=${spec%%=*}; tree=${spec#*=}
  PORT=$((20000 + RANDOM % 20000)); APORT=$((PORT+1))
  if [ "$tree" = undici ]; then
    if [ -n "${TLS:-}" ]; then CONTENDER="h2-undici-proxy.ts http://127.0.0.1:$BLUE $D/tls.crt $D/tls.key"; else CONTENDER="undici-proxy.ts http://127.0.0.1:$BLUE"; fi
    $VG --callgrind-out-file=$D/cg.$name.%p $NODE ${NODE_OPTS:-} $ROOT/bench/contenders/$CONTENDER > $D/$name.log 2> $D/$name.vg &
    PID=$!
    for i in $(seq 600); do P=$(sed -n 's/LISTENING \([0-9]*\)/\1/p' $D/$name.log); [ -n "$P" ] && break; sleep 0.2; done
    URL=$SCHEME://127.0.0.1:$P/
  else
    split_config $PORT $APORT $BLUE $GREEN "$TLS_YAML" > $D/$name.yaml
    $VG --callgrind-out-file=$D/cg.$name.%p $NODE ${NODE_OPTS:-} $tree/dist/cli.js serve --config $D/$name.yaml > $D/$name.log 2> $D/$name.vg &
    PID=$!
    URL=$SCHEME://127.0.0.1:$PORT/
    for i in $(seq 600); do curl -skf -o /dev/null $URL && break; sleep 0.2; done
  fi
  $AC -c 10 -a $WARM $URL > /dev/null 2>&1
  callgrind_control -z $PID > /dev/null 2>&1
  callgrind_control -i on $PID > /dev/null 2>&1
  $AC -c 10 -a $N $URL > $D/ac.txt 2>&1
  callgrind_control -i off $PID > /dev/null 2>&1
  callgrind_control -d $PID > /dev/null 2>&1
  kill -INT $PID 2>/dev/null || true; sleep 1; kill -9 $PID 2>/dev/null || true; wait $PID 2>/dev/null || true
  bad=$(grep -oE '[0-9]+ (non 2xx|errors)' $D/ac.txt | tr '\n' ' ' || true)
  echo "$name ($N requests after $WARM) $bad"
  $NODE $ROOT/bench/micro/callgrind-summary.ts $(ls $D/cg.$name.* | tail -1) /tmp/perf-$PID.map $N ${TOP:-0}
  if [ -n "${KEEP:-}" ]; then cp $D/cg.$name.* $KEEP/; cp /tmp/perf-$PID.map $KEEP/perf.$name.map; fi
  rm -f $D/cg.$name.* /tmp/perf-$PID.map
done
kill $OPID
rm -rf $D
