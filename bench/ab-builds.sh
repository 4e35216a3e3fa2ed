#!/bin/bash
# bench/ab-builds.sh ROUNDS N name=TREE ...: several builds of Turnout (each TREE a checkout with
# dist/ built, e.g. a `git worktree add /tmp/old <commit>`; "undici" = bench/contenders/undici-proxy.ts)
# against one origin.
# Native, pinned (load generator + origin on CPU 0, proxies on CPU 1), interleaved rounds of
# exactly N requests each; CPU µs/request of each proxy process from /proc (utime+stime).
ROUNDS=$1; N=$2; shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. $ROOT/bench/lib/split-config.sh
NODE=$ROOT/node_modules/node/bin/node
AC=$ROOT/node_modules/.bin/autocannon
D=$(mktemp -d)
taskset -c 0 $NODE $ROOT/bench/origin.ts > $D/origin.log 2>&1 &
OPID=$!
for i in $(seq 50); do grep -q ORIGIN $D/origin.log && break; sleep 0.1; done
BLUE=$(sed -n 's/.*"blue":\([0-9]*\).*/\1/p' $D/origin.log); GREEN=$(sed -n 's/.*"green":\([0-9]*\).*/\1/p' $D/origin.log)
declare -A PID URL; NAMES=()
for spec in "$@"; do
  name=${spec%%=*}; tree=${spec#*=}; NAMES+=($name)
  PORT=$((20000 + RANDOM % 20000)); APORT=$((PORT+1))
  if [ $tree = undici ]; then
    taskset -c 1 $NODE $ROOT/bench/contenders/undici-proxy.ts http://127.0.0.1:$BLUE > $D/$name.log 2>&1 &
    PID[$name]=$!
    for i in $(seq 100); do P=$(sed -n 's/LISTENING \([0-9]*\)/\1/p' $D/$name.log); [ -n "$P" ] && break; sleep 0.1; done
    URL[$name]=http://127.0.0.1:$P/
  else
    split_config $PORT $APORT $BLUE $GREEN > $D/$name.yaml
    taskset -c 1 $NODE $tree/dist/cli.js serve --config $D/$name.yaml > $D/$name.log 2>&1 &
    PID[$name]=$!
    URL[$name]=http://127.0.0.1:$PORT/
    for i in $(seq 100); do curl -sf -o /dev/null ${URL[$name]} && break; sleep 0.2; done
  fi
done
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
TCK=$(getconf CLK_TCK)
for name in "${NAMES[@]}"; do taskset -c 0 $AC -c 100 -a $((N/2)) ${URL[$name]} > /dev/null 2>&1; done
for r in $(seq $ROUNDS); do
  line="round $r:"
  for name in "${NAMES[@]}"; do
    c0=$(cpu ${PID[$name]}); t0=$(date +%s.%N)
    taskset -c 0 $AC -c 100 -a $N ${URL[$name]} > $D/ac.txt 2>&1
    c1=$(cpu ${PID[$name]}); t1=$(date +%s.%N)
    us=$(echo "($c1-$c0)*1000000/$TCK/$N" | bc -l); rps=$(echo "$N/($t1-$t0)" | bc -l)
    bad=$(grep -oE '[0-9]+ (non 2xx|errors)' $D/ac.txt | tr '\n' ' ')
    printf -v line "%s %s %.1fus %.0frps %s" "$line" $name $us $rps "$bad"
    echo "$name $us $rps" >> $D/raw
  done
  echo "$line"
done
for name in "${NAMES[@]}"; do
  awk -v n=$name '$1==n {print $2}' $D/raw | sort -n | awk -v n=$name '{a[NR]=$1} END {printf "%s: CPU us/req min %.1f median %.1f (n=%d)\n", n, a[1], (NR%2?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2), NR}'
done
for name in "${NAMES[@]}"; do kill ${PID[$name]}; done; kill $OPID
rm -rf "$D"
