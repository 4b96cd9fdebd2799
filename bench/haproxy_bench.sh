#!/usr/bin/env bash
# Several stateless `trialcore serve` behind haproxy on one PostgreSQL
# database: the same wrk runs through haproxy with 1, 2 and 4 servers.
#
# On PostgreSQL (pg_test_server, a throwaway PostgreSQL 15), a study made by
# `trialcore sim --subjects N` (cached in STUDIES_DIR, as bench/server_bench.sh
# keeps them) is copied in once (`trialcore db copy`). For each number of
# servers: that many `trialcore serve` on the database, haproxy in front
# (round robin, no stickiness, so every connection's requests spread over
# all of them; health checks; option forwardfor), one login through haproxy,
# each server's cache warmed by reading every benchmarked subject's form from
# it once (a fresh server replays each subject from the database on its first
# read, which would otherwise be timed for every server anew), then wrk
# through haproxy: GET a form (bench/wrk_get.lua), the dashboard, and durable
# PATCH of an item (bench/wrk_patch.lua). Printed for each: requests/s
# answered 2xx, p99, requests/s per server and per core, and the ratio to
# the figure with one server; haproxy's count of requests per server (and of
# servers taken out by health checks) shows the spread. Everything it started
# is stopped on exit, Ctrl-C and error.
#
# READ THIS BEFORE THE FIGURES: every server, haproxy, PostgreSQL and wrk run
# on this one machine and share its cores (on a 2-core machine, the same two
# cores). More servers then add no CPU, only processes competing for it, so
# the figures show the overhead of haproxy and of more servers, not scaling;
# scaling needs servers on machines of their own.
#
#   bench/haproxy_bench.sh [build dir, default build]
#
# Environment (all optional):
#   SUBJECTS=3000              subjects in the study (cached as STUDIES_DIR/sim-N.db)
#   STUDIES_DIR=build/bench-studies  where made studies are kept (bench/server_bench.sh's)
#   WORK_DIR=/tmp/trialcore_haproxy_bench
#   SERVERS="1 2 4"            numbers of servers
#   DURATION=10s               each wrk run
#   CONNECTIONS=64             wrk connections for the form and the dashboard
#   PATCH_CONNECTIONS=16       wrk connections for PATCH
#   PORT=18900                 haproxy on PORT, its statistics on PORT+1, servers from PORT+2
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$(realpath "$BUILD/trialcore")
PG_TEST_SERVER=$(realpath "$BUILD/src/store/pg_test_server")
BENCH=$(realpath bench)
SUBJECTS=${SUBJECTS:-3000}
STUDIES_DIR=${STUDIES_DIR:-$BUILD/bench-studies}
WORK_DIR=${WORK_DIR:-/tmp/trialcore_haproxy_bench}
SERVERS=${SERVERS:-1 2 4}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
PATCH_CONNECTIONS=${PATCH_CONNECTIONS:-16}
PORT=${PORT:-18900}
# shellcheck source=bench/bench_lib.sh
source "$BENCH/bench_lib.sh"
need_tools haproxy_bench haproxy wrk curl
need_built haproxy_bench "$BIN" "$PG_TEST_SERVER"
mkdir -p "$STUDIES_DIR" "$WORK_DIR"
STUDIES_DIR=$(realpath "$STUDIES_DIR")
RESULTS="$WORK_DIR/results.tsv"
printf 'servers\tcase\treq_s\tp99_ms\treq_s_per_server\treq_s_per_core\tratio_to_1_server\tnote\n' >"$RESULTS"
CORES=$(nproc)
BASE="http://127.0.0.1:$PORT"
STATS="http://127.0.0.1:$((PORT + 1))/stats;csv"

HAPROXY_PID=
stop_haproxy() { stop_pid HAPROXY_PID; }
cleanup() {
  stop_haproxy
  stop_servers
  stop_pg
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# haproxy N: a configuration for N servers (deploy/haproxy.cfg's, without
# the tc_server cookie so that load spreads) in $RUN, and haproxy on it.
haproxy_start() {
  local n=$1 i
  {
    printf 'global\n  maxconn 4096\n'
    printf 'defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n'
    printf '  timeout tunnel 1h\n  option redispatch\n  retries 2\n  option forwardfor\n'
    printf 'listen stats\n  bind 127.0.0.1:%d\n  stats enable\n  stats uri /stats\n' $((PORT + 1))
    printf 'frontend trialcore\n  bind 127.0.0.1:%d\n  default_backend servers\n' "$PORT"
    # Checks more patient than deploy/haproxy.cfg's: a server slow under
    # wrk's load is not taken out (haproxy would answer 503 itself, fast).
    printf 'backend servers\n  balance roundrobin\n  option httpchk HEAD /api/openapi.json\n  timeout check 5s\n'
    for ((i = 0; i < n; i++)); do
      printf '  server s%d 127.0.0.1:%d check inter 1s fall 3 rise 1\n' "$i" $((PORT + 2 + i))
    done
  } >"$RUN/haproxy.cfg"
  haproxy -db -f "$RUN/haproxy.cfg" >"$RUN/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
}
# The requests each server got, from haproxy's statistics (columns 8 stot,
# 18 status, 23 chkdown: times taken out).
spread() {
  curl -s -m 5 "$STATS" |
    awk -F, '$1 == "servers" && $2 != "BACKEND" { printf "%s%s %s %s (out %s times)", sep, $2, $8, $18, $23; sep = ", " }'
}
# warm_up PORT: every form of form.paths read once from the server on PORT.
warm_up() {
  awk -v b="http://127.0.0.1:$1" '{ printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", b, $0 }' \
    "$RUN/form.paths" >"$RUN/warm.curl"
  curl -s -Z --parallel-max 8 -m 60 -H "Cookie: $COOKIE" -K "$RUN/warm.curl" >/dev/null 2>&1 || true
}

echo "haproxy benchmark: $SUBJECTS subjects on PostgreSQL; servers: $SERVERS; wrk $DURATION," \
  "$CONNECTIONS connections (PATCH $PATCH_CONNECTIONS), all through haproxy (round robin, no stickiness)"
echo "NOTE: $CORES cores on this machine, shared by the N servers, haproxy, PostgreSQL and wrk alike:"
echo "      more servers add processes, not CPU, so these figures show overhead, not scaling."
make_study "$SUBJECTS"
RUN=$WORK_DIR
rm -rf "${WORK_DIR:?}"/n*
cp "$STUDIES_DIR/sim-$SUBJECTS.db" "$WORK_DIR/study.db"
start_pg "$WORK_DIR"
T0=$(now_ns)
"$BIN" db copy --from "$WORK_DIR/study.db" --to "$PG_URL" >"$WORK_DIR/copy.log" 2>&1 ||
  { echo "db copy failed: $(tail -3 "$WORK_DIR/copy.log")" >&2; exit 1; }
echo "  copied into PostgreSQL in $(($(ms_since "$T0") / 1000)) s ($PG_URL)"
rm -f "$WORK_DIR/study.db"
# As after any bulk load: statistics and the visibility map made now, not by
# autovacuum in the middle of the first timed runs.
if command -v psql >/dev/null; then
  T0=$(now_ns)
  psql -q "$PG_URL" -c 'VACUUM ANALYZE' >"$WORK_DIR/vacuum.log" 2>&1 &&
    echo "  VACUUM ANALYZE after the copy: $(ms_since "$T0") ms"
fi

declare -A FIRST  # case -> requests/s with the first number of servers
for N in $SERVERS; do
  echo
  echo "== $N server(s) behind haproxy"
  RUN="$WORK_DIR/n$N"
  mkdir -p "$RUN"
  start_servers "$PG_URL" $((PORT + 2)) "$N"
  for ((i = 0; i < N; i++)); do
    wait_answers "http://127.0.0.1:$((PORT + 2 + i))/api/openapi.json" ||
      { echo "server $i did not start: $(tail -2 "$RUN/serve-$i.log")" >&2; exit 1; }
  done
  haproxy_start "$N"
  wait_answers "$BASE/api/openapi.json" || { echo "haproxy did not start: $(tail -3 "$RUN/haproxy.log")" >&2; exit 1; }
  login || { echo "login through haproxy failed" >&2; exit 1; }
  subject_paths
  echo "/api/v1/studies/$STUDY/dashboard" >"$RUN/dashboard.paths"
  T0=$(now_ns)
  for ((i = 0; i < N; i++)); do warm_up $((PORT + 2 + i)); done
  echo "  warmed: $(wc -l <"$RUN/form.paths") forms read from each server in $(ms_since "$T0") ms"
  BEFORE=$(spread)
  for c in form dashboard patch; do
    case $c in
      form) W=$(wrk_run form wrk_get.lua "$CONNECTIONS" "$DURATION") what="GET a form" ;;
      dashboard) W=$(wrk_run dashboard wrk_get.lua "$CONNECTIONS" "$DURATION") what="GET the dashboard" ;;
      patch) W=$(wrk_run patch wrk_patch.lua "$PATCH_CONNECTIONS" "$DURATION") what="durable PATCH" ;;
    esac
    still_running "haproxy, a server or PostgreSQL" "$HAPROXY_PID" "${SERVER_PIDS[@]}" "$PG_PID"
    RPS=$(ok_rps_of "$W")
    P99=$(p99_ms_of "$W")
    [[ -z ${FIRST[$c]:-} ]] && FIRST[$c]=$RPS
    read -r PER_SERVER PER_CORE RATIO < <(awk -v r="$RPS" -v n="$N" -v c="$CORES" -v f="${FIRST[$c]}" \
      'BEGIN { if (r + 0 > 0) printf "%.0f %.0f %.2f\n", r / n, r / c, (f > 0 ? r / f : 0); else print "n/a n/a n/a" }')
    NOTE=$(errs_of "$W")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$N" "$what" "$RPS" "$P99" "$PER_SERVER" "$PER_CORE" "$RATIO" "$NOTE" >>"$RESULTS"
    printf '  %-22s %7s req/s  p99 %7s ms  %6s req/s per server  %6s per core  %5sx the first  (%s)\n' \
      "$what" "$RPS" "$P99" "$PER_SERVER" "$PER_CORE" "$RATIO" "$NOTE"
  done
  echo "  requests per server (haproxy's count, before -> after): $BEFORE -> $(spread)"
  stop_haproxy
  stop_servers
done

echo
echo "all figures (also in $RESULTS); ratio is to the figure with ${SERVERS%% *} server(s):"
column -t -s $'\t' "$RESULTS"
echo "($CORES cores shared by servers, haproxy, PostgreSQL and wrk: overhead, not scaling)"
