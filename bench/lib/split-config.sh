# Sourced by bench/ab-builds.sh and bench/micro/proxy-callgrind.sh: the Turnout config both A/B
# scripts run (bench:quick's turnout-split: 10 % sticky-cookie split, overrides on).
#   split_config PORT APORT BLUE GREEN [LISTEN_EXTRA]   (YAML on stdout; $EXTRA_YAML appended)
# LISTEN_EXTRA goes inside `listen: { … }`, e.g. ", tls: { cert: …, key: … }".
split_config() {
  cat <<Y
listen: { host: 127.0.0.1, port: $1${5:-} }
admin: { host: 127.0.0.1, port: $2, token: bench-ab-token-0123456789 }
upstreams: { blue: { targets: ["http://127.0.0.1:$3"] }, green: { targets: ["http://127.0.0.1:$4"] } }
routing: { active: blue, canaryWeight: 10, sticky: { by: cookie, cookie: turnout_id, header: x-user-id }, override: { enabled: true, header: x-turnout-colour, cookie: turnout_colour } }
shutdown: { drainSeconds: 1 }
state: { store: memory }
${EXTRA_YAML:-}
Y
}
