#!/bin/bash
# Instructions per request of one shape of bench/micro/gate-handler.ts under callgrind:
#   bench/micro/callgrind.sh SHAPE [N]     (SHAPE: direct | gate; N default 20000)
# Instrumentation is on only for the N measured iterations (after a 200,000-iteration warm-up),
# so the count does not depend on the machine's load.
set -e
SHAPE=$1; N=${2:-20000}
DIR=$(cd "$(dirname "$0")/../.." && pwd); NODE=${NODE:-$DIR/node_modules/node/bin/node}
OUT=$(mktemp -d)
mkfifo "$OUT/in"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.%p" \
  "$NODE" --single-threaded "$DIR/bench/micro/gate-handler.ts" "$N" "$SHAPE" < "$OUT/in" > "$OUT/log" 2> "$OUT/vg" &
PID=$!
exec 3> "$OUT/in"
until grep -q WARM "$OUT/log"; do sleep 1; done
callgrind_control -i on $PID > /dev/null
echo go >&3
until grep -q DONE "$OUT/log"; do sleep 1; done
callgrind_control -i off $PID > /dev/null
callgrind_control -d $PID > /dev/null
echo go >&3
wait $PID || true
IR=$(cat "$OUT"/cg.* | awk '/^totals:/ {s += $2} END {printf "%d", s}')
echo "$SHAPE: $((IR / N)) instructions per request ($N requests)"
rm -rf "$OUT"
