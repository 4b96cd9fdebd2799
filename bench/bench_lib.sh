# shellcheck shell=bash
# Shell functions shared by the server benchmarks (bench/server_bench.sh,
# bench/haproxy_bench.sh, bench/cross_server_bench.sh); sourced, not run.
#
# The caller sets BIN (the trialcore binary), BENCH (this folder),
# STUDIES_DIR (made studies, kept between runs), RESULTS (the TSV rows go
# to), RUN (a folder for this run's files) and BASE (http://host:port the
# requests go to); login sets COOKIE and CSRF.

STUDY=CDISCPILOT01
USER_ID=bench
PASSWORD=bench-password-2026

# need_tools NAME TOOL...: stops the benchmark when one is not installed.
need_tools() {
  local name=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$name: $tool is needed (Debian package $tool)" >&2; exit 2; }
  done
}
# need_built NAME FILE...: stops the benchmark when one is not built.
need_built() {
  local name=$1 f
  shift
  for f in "$@"; do
    [[ -x $f ]] || { echo "$name: $f is missing; build first (cmake --build ${BUILD:-build})" >&2; exit 2; }
  done
}

now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
# duration in seconds of a wrk duration such as 10s, 1m
secs_of() { case $1 in *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac; }
# field NAME "k=v k=v ...": the value of NAME in a line of key=value figures
field() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2" | awk 'NR == 1'; }

# peak_private_mb OUT CMD...: runs CMD with its output in OUT and prints the
# peak of its private (anonymous) resident memory in MB, sampled every
# 0.2 s. Pages of a database file it maps are the kernel's page cache, given
# back under pressure: VmHWM counts them, RssAnon does not.
peak_private_mb() {
  local out=$1 pid peak=0 kb
  shift
  "$@" >"$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    kb=$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    [[ -n $kb && $kb -gt $peak ]] && peak=$kb
    sleep 0.2
  done
  wait "$pid" || echo "  $1 failed: $(tail -2 "$out")" >&2
  echo $((peak / 1024))
}

# row SIZE WHAT VALUE UNIT CMP TARGET [NOTE]: CMP is <= or >=; ratio is value/target.
row() {
  local size=$1 what=$2 value=$3 unit=$4 cmp=$5 target=$6 note=${7:-}
  local verdict ratio
  if [[ -z $value || $value == n/a ]]; then
    ratio=-; verdict="NOT measured"; value=n/a
  else
    ratio=$(awk -v v="$value" -v t="$target" 'BEGIN { printf "%.2f", v / t }')
    if awk -v v="$value" -v t="$target" -v c="$cmp" 'BEGIN { exit !((c == "<=") ? v <= t : v >= t) }'; then
      verdict=met
    else
      verdict="NOT met"
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s %s\t%sx\t%s\t%s\n' "$size" "$what" "$value" "$unit" "$cmp" "$target" "$ratio" \
    "$verdict" "$note" >>"$RESULTS"
  printf '  %-44s %12s %-9s target %s %-8s %6sx  %s %s\n' "$what" "$value" "$unit" "$cmp" "$target" "$ratio" \
    "$verdict" "$note"
}

# The study of N subjects, made once: demo study, simulated subjects, and a
# coordinator at every site for the benchmark to log in as.
make_study() {
  local n=$1 db="$STUDIES_DIR/sim-$1.db"
  if [[ -f $db && -f $db.made ]]; then
    echo "  study: $db (made earlier: $(cat "$db.made"))"
    return
  fi
  rm -f "$db" "$db"-wal "$db"-shm "$db.made"
  echo "  making the study of $n subjects (trialcore sim; cached in $STUDIES_DIR)..."
  local t0 sim_ms
  (cd "$STUDIES_DIR" && "$BIN" demo --db "$db" --key "$STUDIES_DIR/key.pem" --no-serve >/dev/null)
  t0=$(now_ns)
  "$BIN" sim --db "$db" --subjects "$n" --seed 5 >"$STUDIES_DIR/sim-$n.log" 2>&1
  sim_ms=$(ms_since "$t0")
  TRIALCORE_PASSWORD=$PASSWORD "$BIN" user add "$USER_ID" --name 'Bench Coordinator' --db "$db" >/dev/null
  "$BIN" user grant "$USER_ID" --study "$STUDY" --role coordinator --site '*' --db "$db" >/dev/null
  echo "sim --subjects $n took $((sim_ms / 1000)).$(((sim_ms % 1000) / 100)) s on $(date -u +%F)" >"$db.made"
  echo "  $(cat "$db.made")"
}

# Logs in; sets COOKIE and CSRF. Returns non-zero while the server does not answer.
login() {
  local out
  out=$(curl -s -m 5 -D - -H 'Content-Type: application/json' \
    -d "{\"user\":\"$USER_ID\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/session" 2>/dev/null) || return 1
  [[ $out == "HTTP/1.1 200"* ]] || return 1
  COOKIE=$(grep -i '^set-cookie:' <<<"$out" | grep -i 'tc_session=' | awk 'NR == 1' | sed 's/^[^:]*: *//; s/;.*//; s/\r//')
  CSRF=$(grep -o '"csrf_token":"[^"]*"' <<<"$out" | awk 'NR == 1' | cut -d'"' -f4)
  [[ -n $COOKIE ]]
}
get() { curl -s -m 30 -H "Cookie: $COOKIE" "$BASE$1"; }

# subject_paths: lists (up to 1000) subjects into $RUN/subject-ids, sets SITE,
# and writes the request paths the benchmarks take: $RUN/form.paths (a form
# of each subject) and $RUN/patch.paths (an item of each, for PATCH).
subject_paths() {
  get "/api/v1/studies/$STUDY/subjects?limit=1000" >"$RUN/subjects.json"
  # Subject ids are what precede /visits in the form paths the list links to;
  # read them as the "id" fields of the list's objects.
  grep -o '"id":"[^"]*"' "$RUN/subjects.json" | cut -d'"' -f4 | awk '!seen[$0]++' >"$RUN/subject-ids"
  # shellcheck disable=SC2034 # SITE is the callers'
  SITE=$(grep -o '"site":"[^"]*"' "$RUN/subjects.json" | awk 'NR == 1' | cut -d'"' -f4)
  sed "s|.*|/api/v1/studies/$STUDY/subjects/&/visits/SCREENING1/forms/VS|" "$RUN/subject-ids" >"$RUN/form.paths"
  sed "s|.*|/api/v1/studies/$STUDY/subjects/&/visits/AEFU/forms/VS/items/PULSE|" "$RUN/subject-ids" >"$RUN/patch.paths"
}

# wrk_run NAME SCRIPT CONNECTIONS DURATION: prints the WRK line
wrk_run() {
  local name=$1 script=$2 conns=$3 dur=$4
  local threads=2
  ((conns < 2)) && threads=1
  TC_COOKIE=$COOKIE TC_CSRF=${CSRF:-} TC_PATHS=$RUN/$name.paths \
    wrk -t"$threads" -c"$conns" -d"$dur" --timeout 10s -s "$BENCH/$script" "$BASE" >"$RUN/wrk-$name.out" 2>&1 || true
  grep '^WRK ' "$RUN/wrk-$name.out" || echo "WRK failed=1"
}
rps_of() { awk -v r="$(field requests "$1")" -v d="$(field duration_us "$1")" 'BEGIN { if (d > 0) printf "%.0f", r / d * 1e6; else print "n/a" }'; }
# requests answered 2xx per second
ok_rps_of() {
  awk -v r="$(field requests "$1")" -v e="$(field non2xx "$1")" -v d="$(field duration_us "$1")" \
    'BEGIN { if (d > 0) printf "%.0f", (r - e) / d * 1e6; else print "n/a" }'
}
# p99 in ms; when no request was answered, 999999 (a missed target, not a missing figure)
p99_ms_of() {
  local p r
  p=$(field p99_us "$1") r=$(field requests "$1")
  if [[ -z $p ]]; then echo n/a; elif [[ $r == 0 ]]; then echo 999999; else awk -v p="$p" 'BEGIN { printf "%.1f", p / 1000 }'; fi
}
errs_of() {
  local extra=
  [[ -n $(field s412 "$1") ]] && extra=" (409: $(field s409 "$1"), 412: $(field s412 "$1"))"
  echo "$(field requests "$1") answered, non-2xx $(field non2xx "$1")$extra, socket errors $(field errors "$1"), timeouts $(field timeouts "$1")"
}

# start_pg DIR: a throwaway PostgreSQL 15 (pg_test_server, $PG_TEST_SERVER);
# sets PG_URL and PG_PID. It stops when stop_pg runs or, should this shell
# die without it, when the pipe on its standard input closes.
PG_PID=
PG_FD=
start_pg() {
  local dir=$1
  rm -f "$dir/pg.in" "$dir/pg.url"
  mkfifo "$dir/pg.in"
  "$PG_TEST_SERVER" <"$dir/pg.in" >"$dir/pg.url" 2>"$dir/pg.log" &
  PG_PID=$!
  exec {PG_FD}>"$dir/pg.in"
  PG_URL=
  for _ in $(seq 1 600); do
    PG_URL=$(awk 'NR == 1' "$dir/pg.url")
    [[ -n $PG_URL ]] && break
    kill -0 "$PG_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $PG_URL ]] || { echo "pg_test_server did not start: $(tail -3 "$dir/pg.log")" >&2; return 1; }
}
stop_pg() {
  if [[ -n $PG_FD ]]; then
    exec {PG_FD}>&-
    PG_FD=
  fi
  if [[ -n $PG_PID ]]; then
    kill "$PG_PID" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
    PG_PID=
  fi
}

# start_servers DB PORT N [log prefix]: N `trialcore serve` on DB, on ports
# PORT, PORT+1, ...; their pids in SERVER_PIDS. Each gets the hard open-file
# limit, as an operator would give it for thousands of event streams.
SERVER_PIDS=()
start_servers() {
  local db=$1 port=$2 n=$3 prefix=${4:-serve} i
  for ((i = 0; i < n; i++)); do
    (
      ulimit -n "$(ulimit -Hn)"
      exec "$BIN" serve --db "$db" --port $((port + i)) --trusted-proxy 127.0.0.1 --login-rate 1000000 \
        >"$RUN/$prefix-$i.out" 2>"$RUN/$prefix-$i.log"
    ) &
    SERVER_PIDS+=($!)
  done
}
# wait_answers URL [seconds]: until URL answers 200 (false when it never does)
wait_answers() {
  local url=$1 tries=$((${2:-60} * 20))
  for _ in $(seq 1 "$tries"); do
    [[ $(curl -s -m 2 -o /dev/null -w '%{http_code}' "$url") == 200 ]] && return 0
    sleep 0.05
  done
  return 1
}
# still_running WHAT PID...: exits (and so runs the caller's EXIT trap) when
# one of them has ended: a crash, or a Ctrl-C that reached the whole process
# group, which wrk and sse_load take as an early end, not as a reason to stop
# the script.
still_running() {
  local what=$1 pid
  shift
  for pid in "$@"; do
    [[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || { echo "$what ended early; stopping" >&2; exit 1; }
  done
}
stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SERVER_PIDS=()
}

# stop_pid NAME: stops the process whose id the variable NAME holds (if
# any), waits for it, and empties the variable.
stop_pid() {
  local -n pid_var=$1
  if [[ -n ${pid_var:-} ]]; then
    kill "$pid_var" 2>/dev/null || true
    wait "$pid_var" 2>/dev/null || true
    pid_var=
  fi
}
