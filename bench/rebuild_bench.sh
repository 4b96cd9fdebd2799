#!/usr/bin/env bash
# `trialcore db rebuild` on a copy of a simulated study, against issue 13's
# target of 1,000,000 events/s, and against another build's binary in the
# same run (the ratio is what to compare: the machine may be shared).
#
#   bench/rebuild_bench.sh STUDY.db [build dir, default build]
#
# STUDY.db: a study made by `trialcore sim --db STUDY.db --subjects N` (never
# written: each run rebuilds a copy). Prints, for each binary, best of RUNS
# (the binaries take turns):
# wall time, CPU time (user + system, all threads), events/s by wall time
# and per CPU-second, peak resident memory (mapped pages of the database
# count once read), each phase as the command prints it, and the ratio to
# 1,000,000 events/s.
#
# Environment (all optional):
#   RUNS=3                    rebuilds per binary (the first also warms the page cache)
#   BASELINE_BIN=path         another trialcore to run on the same copy, for a before/after ratio
#   WORK_DIR=/tmp/trialcore_rebuild_bench  where the copy goes
set -euo pipefail
STUDY=${1:?usage: bench/rebuild_bench.sh STUDY.db [build dir]}
cd "$(dirname "$0")/.."
BUILD=${2:-build}
BIN=$(realpath "$BUILD/trialcore")
RUNS=${RUNS:-3}
WORK_DIR=${WORK_DIR:-/tmp/trialcore_rebuild_bench}
mkdir -p "$WORK_DIR"
DB="$WORK_DIR/rebuild.db"
rm -f "$DB" "$DB-wal" "$DB-shm"
cp "$STUDY" "$DB"
# The copy's dirty pages are written out now, not during the first run.
sync "$DB"

# One rebuild: "wall_s cpu_s events rss_kb phases..."
rebuild() {
  local bin=$1 out
  out=$(/usr/bin/time -f 'TIME %e %U %S %M' "$bin" db rebuild --db "$DB" 2>&1) || {
    echo "db rebuild failed with $bin: $out" >&2
    exit 1
  }
  local wall cpu events rss phases
  wall=$(awk '/^TIME/ { print $2 }' <<<"$out")
  cpu=$(awk '/^TIME/ { print $3 + $4 }' <<<"$out")
  rss=$(awk '/^TIME/ { print $5 }' <<<"$out")
  events=$(grep -o 'from [0-9]* events' <<<"$out" | awk '{ print $2 }')
  phases=$(grep -E '^  ' <<<"$out" | sed -E 's/^ +//' | paste -sd ';' -)
  echo "$wall $cpu $events $rss $phases"
}

# The line of the faster run.
faster() {
  if [[ -z $1 ]] || awk -v a="${2%% *}" -v b="${1%% *}" 'BEGIN { exit !(a < b) }'; then echo "$2"; else echo "$1"; fi
}

report() {
  local name=$1 line=$2
  read -r wall cpu events rss phases <<<"$line"
  awk -v n="$name" -v w="$wall" -v c="$cpu" -v e="$events" -v r="$rss" 'BEGIN {
    printf "  %-10s %9d events  %7.2f s wall %7.2f s CPU  %10.0f events/s  %10.0f events/CPU-s  peak RSS %5.0f MB  %5.3fx of 1M events/s (target >= 1.00) %s\n",
      n, e, w, c, e / w, e / c, r / 1024, e / w / 1e6, (e / w >= 1e6 ? "met" : "NOT met") }'
  echo "             phases: $phases"
}

echo "db rebuild of a copy of $STUDY (best of $RUNS)"
# The two binaries take turns, so that both see the same load.
THIS="" BASE=""
for ((i = 0; i < RUNS; i++)); do
  THIS=$(faster "$THIS" "$(rebuild "$BIN")")
  [[ -n ${BASELINE_BIN:-} ]] && BASE=$(faster "$BASE" "$(rebuild "$(realpath "$BASELINE_BIN")")")
done
report "this build" "$THIS"
if [[ -n ${BASELINE_BIN:-} ]]; then
  report "baseline" "$BASE"
  read -r tw tc _ <<<"$THIS"
  read -r bw bc _ <<<"$BASE"
  awk -v tw="$tw" -v tc="$tc" -v bw="$bw" -v bc="$bc" \
    'BEGIN { printf "  this build / baseline: %.2fx by wall time, %.2fx by CPU time\n", bw / tw, bc / tc }'
fi
rm -f "$DB" "$DB-wal" "$DB-shm"
