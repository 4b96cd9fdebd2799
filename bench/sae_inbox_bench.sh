#!/usr/bin/env bash
# From a serious adverse event saved on the CRF to the case in the safety
# inbox with its reporting clock (issue 16: "An SAE saved on the CRF to the
# case visible in the safety inbox with its clock: p99 <= 1 s").
#
# On the demo study (`trialcore demo --no-serve`, made once per run), SAES
# times, one every INTERVAL_MS, the coordinator coord.701 saves a new row of
# the AE log marked serious (PATCH of LOGS/AE with `rows`: a term of its own,
# a hospitalisation) through server A, for up to SUBJECTS_USED subjects of site 701
# in turn; the save opens the case in the same commit (src/capture/
# sae_reaction.cc). From the moment the save is sent, the safety physician
# safety.1 asks server B for that case (GET .../safety/cases/{subject}-SAE{n})
# every POLL_MS until it answers with its `reports` clock; the latency is
# from the save sent to that answer (bench/sae_inbox_latency, one thread
# saving, one reading; no curl process start-up in the figures). A case not
# seen within TIMEOUT_MS counts as never appeared.
# Deployments (DEPLOYMENTS):
#   sqlite    one `trialcore serve` on the demo's SQLite file: A = B;
#   postgres  two servers on one PostgreSQL database (pg_test_server, the
#             demo copied in with `trialcore db copy`): A != B, so B sees the
#             case when it takes in A's commit (on a read, at most every
#             20 ms: Capture::Impl::CatchUpForRead).
# Printed per deployment: p50, p90, p99 and max in ms, p99 against the 1 s
# target, and the cases that never appeared (must be 0).
#
#   bench/sae_inbox_bench.sh [build dir, default build]
#
# Environment (all optional):
#   SAES=200 INTERVAL_MS=200 POLL_MS=1 TIMEOUT_MS=10000 SUBJECTS_USED=4
#   DEPLOYMENTS="sqlite postgres"
#   WORK_DIR=/tmp/trialcore_sae_inbox_bench
#   PORT=18950                  servers A and B on PORT and PORT+1
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$(realpath "$BUILD/trialcore")
CLIENT=$(realpath "$BUILD/bench/sae_inbox_latency")
PG_TEST_SERVER=$(realpath "$BUILD/src/store/pg_test_server")
BENCH=$(realpath bench)
SAES=${SAES:-200}
INTERVAL_MS=${INTERVAL_MS:-200}
POLL_MS=${POLL_MS:-1}
TIMEOUT_MS=${TIMEOUT_MS:-10000}
SUBJECTS_USED=${SUBJECTS_USED:-4}
DEPLOYMENTS=${DEPLOYMENTS:-sqlite postgres}
WORK_DIR=${WORK_DIR:-/tmp/trialcore_sae_inbox_bench}
PORT=${PORT:-18950}
# shellcheck source=bench/bench_lib.sh
source "$BENCH/bench_lib.sh"
need_tools sae_inbox_bench curl
need_built sae_inbox_bench "$BIN" "$CLIENT"
[[ $DEPLOYMENTS != *postgres* ]] || need_built sae_inbox_bench "$PG_TEST_SERVER"
rm -rf "$WORK_DIR"
mkdir -p "$WORK_DIR"
WORK_DIR=$(realpath "$WORK_DIR")
RESULTS="$WORK_DIR/results.tsv"
: >"$RESULTS"
DEMO_PASSWORD=demo-password-2026

cleanup() {
  stop_servers
  stop_pg
}
trap cleanup EXIT
trap 'exit 130' INT TERM
alive() { still_running "a server or PostgreSQL" "${SERVER_PIDS[@]}" "$PG_PID"; }

A_PORT=$PORT
echo "SAE to safety inbox: $SAES serious AEs saved by coord.701, one every $INTERVAL_MS ms, over up to $SUBJECTS_USED subjects of site 701;" \
  "safety.1 reads the case every $POLL_MS ms from the save on; deployments: $DEPLOYMENTS;" \
  "$(nproc) cores shared by the servers, the database and the client"
(cd "$WORK_DIR" && "$BIN" demo --db "$WORK_DIR/demo.db" --key "$WORK_DIR/key.pem" --no-serve >"$WORK_DIR/demo.log" 2>&1) ||
  { echo "trialcore demo failed: $(tail -3 "$WORK_DIR/demo.log")" >&2; exit 1; }

# as USER BASE: logs USER in through BASE (bench_lib's login); sets COOKIE and CSRF.
as() {
  USER_ID=$1 PASSWORD=$DEMO_PASSWORD BASE=$2
  login || { echo "  login of $1 through $2 failed" >&2; return 1; }
}

for deployment in $DEPLOYMENTS; do
  echo
  RUN="$WORK_DIR/$deployment"
  mkdir -p "$RUN"
  cp "$WORK_DIR/demo.db" "$RUN/study.db"
  if [[ $deployment == postgres ]]; then
    B_PORT=$((PORT + 1))
    echo "== postgres: server A (:$A_PORT) saves, server B (:$B_PORT) reads, one PostgreSQL database"
    if ! start_pg "$RUN"; then
      echo "  PostgreSQL did not start (pg_test_server): $(tail -3 "$RUN/pg.log")"
      stop_pg
      continue
    fi
    "$BIN" db copy --from "$RUN/study.db" --to "$PG_URL" >"$RUN/copy.log" 2>&1 ||
      { echo "  db copy failed: $(tail -3 "$RUN/copy.log")"; stop_pg; continue; }
    DB=$PG_URL
  else
    B_PORT=$A_PORT
    echo "== sqlite: one server (:$A_PORT) on the demo's SQLite file saves and reads"
    DB="$RUN/study.db"
  fi
  start_servers "$DB" "$A_PORT" 1 serve-a
  STARTED=no
  if wait_answers "http://127.0.0.1:$A_PORT/api/openapi.json"; then
    if [[ $B_PORT != "$A_PORT" ]]; then
      start_servers "$DB" "$B_PORT" 1 serve-b
      wait_answers "http://127.0.0.1:$B_PORT/api/openapi.json" && STARTED=yes
    else
      STARTED=yes
    fi
  fi
  if [[ $STARTED != yes ]]; then
    echo "  a server did not start: $(tail -n 2 "$RUN"/serve-*.log)"
    cleanup
    continue
  fi
  as coord.701 "http://127.0.0.1:$A_PORT" || { cleanup; continue; }
  COORD_COOKIE=$COOKIE COORD_CSRF=$CSRF
  SUBJECTS=$(get "/api/v1/studies/$STUDY/subjects?site=701&limit=1000" | grep -o '"id":"701-[^"]*"' | cut -d'"' -f4 |
    awk '!seen[$0]++' | head -n "$SUBJECTS_USED" | paste -sd,)
  as safety.1 "http://127.0.0.1:$B_PORT" || { cleanup; continue; }
  SAFETY_COOKIE=$COOKIE
  [[ -n $SUBJECTS ]] || { echo "  no subjects at site 701"; cleanup; continue; }
  echo "  subjects: $SUBJECTS"
  "$CLIENT" --save-port "$A_PORT" --read-port "$B_PORT" --study "$STUDY" --subjects "$SUBJECTS" \
    --coord-cookie "$COORD_COOKIE" --coord-csrf "$COORD_CSRF" --safety-cookie "$SAFETY_COOKIE" --count "$SAES" \
    --interval-ms "$INTERVAL_MS" --poll-ms "$POLL_MS" --timeout-ms "$TIMEOUT_MS" >"$RUN/client.out" 2>"$RUN/client.err" ||
    true
  alive
  L=$(cat "$RUN/client.out")
  [[ -s $RUN/client.err ]] && echo "  sae_inbox_latency: $(head -c 600 "$RUN/client.err")"
  echo "  sae_inbox_latency: $L"
  if [[ -z $(field p99_ms "$L") ]]; then
    row "$deployment" "SAE saved -> case in the inbox: p99" n/a ms "<=" 1000
    cleanup
    continue
  fi
  P99=$(field p99_ms "$L")
  NEVER=$(($(field never "$L") + $(field saes "$L") - $(field saved "$L")))
  printf '  save sent -> inbox shows the case with its clock: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n' \
    "$(field p50_ms "$L")" "$(field p90_ms "$L")" "$P99" "$(field max_ms "$L")"
  awk -v p="$P99" 'BEGIN { printf "  p99 %s ms = %.3f\303\227 of the 1 s limit\n", p, p / 1000 }'
  printf '  cases seen %s of %s SAEs; never appeared: %s (saves refused %s, saves naming another case %s);' \
    "$(field seen "$L")" "$(field saes "$L")" "$NEVER" "$(($(field saes "$L") - $(field saved "$L")))" \
    "$(field wrong_case "$L")"
  printf ' the save itself: p50 %s ms, p99 %s ms\n' "$(field save_p50_ms "$L")" "$(field save_p99_ms "$L")"
  # A case that never appeared is a missed target, whatever the others' p99.
  ((NEVER == 0)) || P99=999999
  row "$deployment" "SAE saved -> case in the inbox: p99" "$P99" ms "<=" 1000 "(never appeared: $NEVER)"
  cleanup
done

echo
echo "target: an SAE saved on the CRF is in the safety inbox with its clock within 1 s p99"
echo "(also in $RESULTS; ratio = value / target):"
printf 'deployment\tcase\tvalue\tunit\ttarget\tratio\tverdict\tnote\n' | cat - "$RESULTS" | column -t -s $'\t'
