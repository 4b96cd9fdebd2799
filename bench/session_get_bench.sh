#!/usr/bin/env bash
# GET of a form through `trialcore serve` with sessions in the database (this
# build) against a build from before they were (sessions in the server's
# memory), in one run: both serve a copy of the same demo database at once,
# and wrk runs against them in turn (new, before, new, before ...), so a
# drift of the machine's speed touches both alike. Prints each run's
# requests/s, the medians, and their ratio, beside issue 13's 20,000/s.
#
#   bench/session_get_bench.sh BEFORE_BINARY [build dir, default build]
#
# Environment (optional): ROUNDS=3 DURATION=5s CONNECTIONS=64 PORT=18800
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=$(realpath "${1:?the trialcore binary of a build from before, e.g. /work/main/build/trialcore}")
BUILD=${2:-build}
NEW=$(realpath "$BUILD/trialcore")
BENCH=$(realpath bench)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18800}
WORK=${WORK_DIR:-/tmp/trialcore_session_get_bench}
for tool in wrk curl; do command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 2; }; done
rm -rf "$WORK"
mkdir -p "$WORK"
(cd "$WORK" && "$NEW" demo --db demo.db --key key.pem --no-serve >/dev/null)
cp "$WORK/demo.db" "$WORK/new.db"
cp "$WORK/demo.db" "$WORK/before.db"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
"$NEW" serve --db "$WORK/new.db" --port "$PORT" --login-rate 1000000 >/dev/null 2>"$WORK/new.log" &
PIDS+=($!)
"$BEFORE" serve --db "$WORK/before.db" --port $((PORT + 1)) --login-rate 1000000 >/dev/null 2>"$WORK/before.log" &
PIDS+=($!)

# login PORT: prints the session cookie once the server answers
login() {
  for _ in $(seq 1 500); do
    local out
    out=$(curl -s -m 5 -D - -H 'Content-Type: application/json' \
      -d '{"user":"coord.701","password":"demo-password-2026"}' "http://127.0.0.1:$1/api/v1/session" || true)
    if [[ $out == "HTTP/1.1 200"* ]]; then
      grep -i '^set-cookie:' <<<"$out" | awk 'NR == 1' | sed 's/^[^:]*: *//; s/;.*//; s/\r//'
      return 0
    fi
    sleep 0.02
  done
  echo "the server on port $1 never answered a login" >&2
  return 1
}
COOKIE_NEW=$(login "$PORT")
COOKIE_BEFORE=$(login $((PORT + 1)))
curl -s -H "Cookie: $COOKIE_NEW" "http://127.0.0.1:$PORT/api/v1/studies/CDISCPILOT01/subjects?limit=1000" |
  grep -o '"id":"[^"]*"' | cut -d'"' -f4 | awk '!seen[$0]++' |
  sed "s|.*|/api/v1/studies/CDISCPILOT01/subjects/&/visits/SCREENING1/forms/VS|" >"$WORK/form.paths"
echo "GET a form, $(wc -l <"$WORK/form.paths") subjects' forms, $CONNECTIONS connections, $DURATION a run, $ROUNDS rounds, $(nproc) cores"

# rps PORT COOKIE: one wrk run's requests/s (non-2xx answers make it fail)
rps() {
  local line
  line=$(TC_COOKIE=$2 TC_PATHS=$WORK/form.paths wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$BENCH/wrk_get.lua" \
    "http://127.0.0.1:$1" 2>&1 | grep '^WRK ')
  local non2xx
  non2xx=$(sed 's/.*non2xx=\([0-9]*\).*/\1/' <<<"$line")
  [[ $non2xx == 0 ]] || { echo "non-2xx answers: $line" >&2; exit 1; }
  awk -v l="$line" 'BEGIN { split(l, f, /[ =]/); for (i = 1; i < length(f); i++) v[f[i]] = f[i + 1];
    printf "%.0f", v["requests"] / v["duration_us"] * 1e6 }'
}
NEW_RPS=()
BEFORE_RPS=()
for round in $(seq 1 "$ROUNDS"); do
  NEW_RPS+=("$(rps "$PORT" "$COOKIE_NEW")")
  BEFORE_RPS+=("$(rps $((PORT + 1)) "$COOKIE_BEFORE")")
  echo "  round $round: sessions in the database ${NEW_RPS[-1]}/s, in memory (before) ${BEFORE_RPS[-1]}/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
M_NEW=$(median "${NEW_RPS[@]}")
M_BEFORE=$(median "${BEFORE_RPS[@]}")
awk -v n="$M_NEW" -v b="$M_BEFORE" 'BEGIN {
  printf "median: in the database %d/s, before %d/s: ratio %.2f; target 20000/s: %.2fx\n", n, b, n / b, n / 20000 }'
