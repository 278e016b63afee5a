#!/usr/bin/env bash
# The HTTP scenario counted in instructions instead of timed: each server runs under
# valgrind's callgrind while wrk posts `subtract [42, 23]` on 32 keep-alive connections; the
# counters are zeroed after a warm-up and dumped after the measured run, and the count is
# divided by the calls wrk completed. Unlike CPU time, the count repeats run to run (within
# 0.5% here), whatever else the machine does. It is user space only: the kernel's socket work,
# about the same for every server, is left out. Manual, like the rest of BENCHMARKS.md; needs
# valgrind, wrk and curl (Debian packages of those names) and a release build:
#
#   cargo build --release -p rpc-bench && rpc-bench/callgrind-http.sh [SERVER ...]
set -euo pipefail
cd "$(dirname "$0")/.."

servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(ours floor limit jsonrpsee)
seconds=${SECONDS_PER_SERVER:-8}
bin=target/release/rpc-bench
call='{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$call'
wrk.headers["Content-Type"] = "application/json"
EOF

# A free loopback port: the kernel's pick for a socket bound to port 0.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "| server | calls | instructions per call |"
echo "|---|---:|---:|"
for server in "${servers[@]}"; do
  port=$(free_port)
  url="http://127.0.0.1:$port/"
  valgrind --tool=callgrind --callgrind-out-file="$work/$server.%p" \
    "$bin" serve "$server" "127.0.0.1:$port" >"$work/$server.log" 2>&1 &
  pid=$!
  answer=""
  for _ in $(seq 300); do
    answer=$(curl -s -X POST -H 'content-type: application/json' -d "$call" "$url") && break
    sleep 0.1
  done
  case "$answer" in
    *'"result":19'*) ;;
    *) echo "$server did not answer the call: $answer" >&2; kill "$pid"; exit 1 ;;
  esac
  wrk -t1 -c32 -d3s -s "$work/post.lua" "$url" >/dev/null
  callgrind_control --zero "$pid" >/dev/null 2>&1
  measured=$(wrk -t1 -c32 -d"${seconds}s" -s "$work/post.lua" "$url")
  if grep -q 'Non-2xx' <<<"$measured"; then
    echo "$server answered some calls with an error status: $measured" >&2
    kill "$pid"
    exit 1
  fi
  calls=$(awk '/requests in/ { print $1 }' <<<"$measured")
  callgrind_control --dump "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  # The dump asked for is part 1 of the profile, counted from the zeroing.
  instructions=$(awk '/^(summary|totals):/ { print $2; exit }' "$work/$server.$pid.1")
  echo "| $server | $calls | $((instructions / calls)) |"
done
