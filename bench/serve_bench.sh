#!/usr/bin/env bash
# serve_bench.sh: how fast does `reco serve` answer compared with nginx serving
# the same bytes as static files, measured by wrk and by `reco loadtest`?
#
# Usage:
#   bench/serve_bench.sh --reco build/release/src/cli/reco --model out/model.reco \
#       [--lmdb-store lmdb://out/store] [--users FILE] [--max-users 5000] \
#       [--duration 30s] [--connections 200] [--threads 2] [--rate 20000] [--k 10] \
#       [--out bench/results/serve.json] [--skip-redis] [--keep-temp] [--loadtest BIN]
#       [--serve-threads N] [--load-targets nginx,reco_lmdb,reco_redis]
#   bench/serve_bench.sh --reco BIN --nginx-only [--users FILE] ...   (harness check)
#
# It builds nothing. Given a reco binary and a model file it:
#   1. uses --lmdb-store (written earlier by `reco precompute --model M --store URI
#      --k K`), or precomputes into a temporary LMDB store when none is given;
#   2. starts a private redis-server on a free loopback port and precomputes into
#      it (skip with --skip-redis);
#   3. starts `reco serve` on each store, and nginx (2 workers, a temp config)
#      serving, per user, the exact JSON bytes `reco serve` returned for
#      /v1/users/{user}/recommendations?k=K (fetched once, one curl process);
#   4. drives every target with `wrk -t2 -c200 -d30s` (a Lua script cycling the
#      user paths), `reco loadtest` closed loop with the same connections and
#      threads, and `reco loadtest --rate R` open loop (latency from scheduled
#      send times);
#   5. writes --out: req/s and p50/p99 per target and tool, reco/nginx ratios,
#      machine info and every command used.
# Users: --users FILE (one id per line, or CSV/TSV with the id first, e.g.
# ml-100k/u.data, the default); the first --max-users distinct ids are used.
# Everything listens on 127.0.0.1 only. Children are stopped on exit, ^C included.
# --loadtest BIN runs `BIN loadtest` instead of `RECO loadtest` (another build).
# --serve-threads N passes --threads N to `reco serve` (default: its own, one
# per core). --load-targets drives only the listed targets (all are started,
# so answers are still compared with nginx's); ratios need nginx in the list.
# --nginx-only skips reco serve and redis and serves synthetic JSON: a check of
# the nginx + wrk + loadtest plumbing before precompute/serve exist.
set -euo pipefail

die() {
  echo "serve_bench: $*" >&2
  exit 1
}
log() { echo "serve_bench: $*" >&2; }

# ---- arguments ---------------------------------------------------------------
RECO="" LOADTEST="" MODEL="" LMDB_STORE="" OUT="" NGINX_ONLY=0 SKIP_REDIS=0 KEEP_TEMP=0
# MovieLens as src/common/data_dir.cc finds it: $RECO_DATA_DIR, else beside the repository.
DATA_DIR="${RECO_DATA_DIR:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data/movielens}"
USERS_FILE="$DATA_DIR/ml-100k/u.data"
MAX_USERS=5000 DURATION=30s CONNECTIONS=200 THREADS=2 RATE=20000 K=10 WARMUP=3s
SERVE_THREADS="" LOAD_TARGETS=""
SERVE_BENCH_ARGS="$*"
# Load at the start of the run (scripts/bench.sh passes the value it checked).
LOAD_AT_START="${LOAD_AT_START:-$(cut -d' ' -f1-3 /proc/loadavg)}"
while [ $# -gt 0 ]; do
  case "$1" in
    --reco) RECO="$2"; shift 2 ;;
    --loadtest) LOADTEST="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --lmdb-store) LMDB_STORE="$2"; shift 2 ;;
    --users) USERS_FILE="$2"; shift 2 ;;
    --max-users) MAX_USERS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --k) K="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --nginx-only) NGINX_ONLY=1; shift ;;
    --skip-redis) SKIP_REDIS=1; shift ;;
    --keep-temp) KEEP_TEMP=1; shift ;;
    --serve-threads) SERVE_THREADS="$2"; shift 2 ;;
    --load-targets) LOAD_TARGETS="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
REPO="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$REPO/bench/results/serve.json}"

[ -n "$RECO" ] || die "--reco BIN is required"
[ -x "$RECO" ] || die "--reco '$RECO' is not an executable"
RECO="$(cd "$(dirname "$RECO")" && pwd)/$(basename "$RECO")"
LOADTEST="${LOADTEST:-$RECO}"
[ -x "$LOADTEST" ] || die "--loadtest '$LOADTEST' is not an executable"
for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || die "'$tool' not found (bash scripts/setup-deps.sh)"
done
"$LOADTEST" loadtest --help >/dev/null 2>&1 || die "$LOADTEST has no 'loadtest' command"
if [ "$NGINX_ONLY" = 0 ]; then
  [ -n "$MODEL" ] || [ -n "$LMDB_STORE" ] || die "--model (or --lmdb-store) is required"
  "$RECO" serve --help >/dev/null 2>&1 || die "$RECO has no 'serve' command"
  if [ -n "$MODEL" ]; then
    [ -f "$MODEL" ] || die "model '$MODEL' not found"
    MODEL="$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")"
  fi
  if [ -z "$LMDB_STORE" ] || [ "$SKIP_REDIS" = 0 ]; then
    [ -n "$MODEL" ] || die "--model is needed to precompute the $([ -z "$LMDB_STORE" ] && echo LMDB || echo Redis) store"
    "$RECO" precompute --help >/dev/null 2>&1 || die "$RECO has no 'precompute' command"
  fi
  if [ "$SKIP_REDIS" = 0 ]; then
    command -v redis-server >/dev/null || die "redis-server not found (or pass --skip-redis)"
  fi
fi
[ -f "$USERS_FILE" ] || die "users file '$USERS_FILE' not found (--users FILE)"

# ---- processes and cleanup ---------------------------------------------------
TMP="$(mktemp -d -t reco-serve-bench.XXXXXX)"
chmod 755 "$TMP"  # nginx workers run as an unprivileged user and must read www/
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$KEEP_TEMP" = 1 ]; then log "temp files kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS PID: until URL answers 200, or fail if PID died.
wait_http() {
  local url="$1" seconds="$2" pid="$3"
  for _ in $(seq $((seconds * 10))); do
    if curl -fs -o /dev/null "$url"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || die "process $pid exited while waiting for $url (see $TMP/*.log)"
    sleep 0.1
  done
  die "$url did not answer within ${seconds}s"
}

# ---- users ---------------------------------------------------------------------
# First column of each line (comma or tab separated), header skipped when its
# id is not an integer, first MAX_USERS distinct ids; ids with characters that
# would need escaping in a file name or URL are left out.
python3 - "$USERS_FILE" "$MAX_USERS" >"$TMP/users.txt" <<'PY'
import re, sys
path, limit = sys.argv[1], int(sys.argv[2])
seen, out = set(), []
with open(path, encoding="utf-8", errors="replace") as f:
    for n, line in enumerate(f):
        field = re.split(r"[,\t]", line.strip(), maxsplit=1)[0].strip().strip('"')
        if not field or (n == 0 and not field.lstrip("-").isdigit()):
            continue
        if not re.fullmatch(r"[A-Za-z0-9_.~-]+", field) or field in seen or field.startswith("."):
            continue
        seen.add(field)
        out.append(field)
        if len(out) >= limit:
            break
if not out:
    sys.exit(f"no usable user ids in {path}")
print("\n".join(out))
PY
NUM_USERS=$(wc -l <"$TMP/users.txt")
log "$NUM_USERS users from $USERS_FILE"
USER_PATH_PREFIX="/v1/users/"
USER_PATH_SUFFIX="/recommendations?k=$K"

# ---- commands record -----------------------------------------------------------
: >"$TMP/commands.tsv"
record() { printf '%s\t%s\n' "$1" "$2" >>"$TMP/commands.tsv"; }
run_logged() {  # run_logged NAME CMD...: runs, records the command line
  local name="$1"
  shift
  record "$name" "$*"
  "$@"
}

# ---- stores and reco serve -------------------------------------------------------
declare -A TARGET_URL=()  # target name -> base URL
declare -A TARGET_PIDS=() # target name -> server-side pids (their children count too)
TARGETS=()

start_serve() {  # start_serve NAME STORE_URI
  local name="$1" store="$2" port
  port=$(free_port)
  local threads_flag=()
  [ -n "$SERVE_THREADS" ] && threads_flag=(--threads "$SERVE_THREADS")
  record "serve_$name" "$RECO serve --store $store --host 127.0.0.1 --port $port ${threads_flag[*]}"
  "$RECO" serve --store "$store" --host 127.0.0.1 --port "$port" "${threads_flag[@]}" \
    >"$TMP/serve_$name.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/readyz" 60 $!
  TARGET_PIDS[$name]="$!"
  TARGET_URL[$name]="http://127.0.0.1:$port"
  TARGETS+=("$name")
  log "reco serve ($name) ready on port $port"
}

if [ "$NGINX_ONLY" = 0 ]; then
  if [ -z "$LMDB_STORE" ]; then
    LMDB_STORE="lmdb://$TMP/lmdb-store"
    log "precomputing into $LMDB_STORE"
    run_logged precompute_lmdb "$RECO" precompute --model "$MODEL" --store "$LMDB_STORE" --k "$K" \
      >"$TMP/precompute_lmdb.log" 2>&1 || die "precompute failed: $(tail -3 "$TMP/precompute_lmdb.log")"
  fi
  start_serve reco_lmdb "$LMDB_STORE"

  if [ "$SKIP_REDIS" = 0 ]; then
    REDIS_PORT=$(free_port)
    mkdir -p "$TMP/redis"
    record redis "redis-server --bind 127.0.0.1 --port $REDIS_PORT --save '' --appendonly no"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
      --dir "$TMP/redis" --daemonize no >"$TMP/redis.log" 2>&1 &
    PIDS+=($!)
    REDIS_PID=$!
    for _ in $(seq 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
      sleep 0.1
    done
    # Same version id as the LMDB store, so both answer with identical bytes.
    VERSION=$(curl -sf "${TARGET_URL[reco_lmdb]}$USER_PATH_PREFIX$(head -1 "$TMP/users.txt")$USER_PATH_SUFFIX" |
      python3 -c 'import json,sys; print(json.load(sys.stdin).get("model_version",""))' || true)
    VERSION_FLAG=()
    [ -n "$VERSION" ] && VERSION_FLAG=(--version "$VERSION")
    log "redis-server on port $REDIS_PORT; precomputing into it (version ${VERSION:-default})"
    run_logged precompute_redis "$RECO" precompute --model "$MODEL" \
      --store "redis://127.0.0.1:$REDIS_PORT" --k "$K" "${VERSION_FLAG[@]}" >"$TMP/precompute_redis.log" 2>&1 ||
      die "precompute into redis failed: $(tail -3 "$TMP/precompute_redis.log")"
    start_serve reco_redis "redis://127.0.0.1:$REDIS_PORT"
    # redis does part of this target's work: its CPU is the server's CPU.
    TARGET_PIDS[reco_redis]+=" $REDIS_PID"
  fi
fi

# ---- nginx with the same bytes ---------------------------------------------------
WWW="$TMP/www"
mkdir -p "$WWW" "$TMP/nginx/tmp"
if [ "$NGINX_ONLY" = 0 ]; then
  # One curl process, one keep-alive connection: fast even for many users.
  SRC="${TARGET_URL[reco_lmdb]}"
  while read -r u; do
    printf 'url = "%s%s%s%s"\noutput = "%s/v1/users/%s/recommendations"\n' \
      "$SRC" "$USER_PATH_PREFIX" "$u" "$USER_PATH_SUFFIX" "$WWW" "$u"
  done <"$TMP/users.txt" >"$TMP/curl.cfg"
  record fetch_static "curl -sf --create-dirs -K curl.cfg  # from $SRC"
  curl -sf --create-dirs -K "$TMP/curl.cfg" || die "fetching user JSON from reco serve failed"
  # curl --create-dirs makes directories 0750; nginx workers run as nobody.
  chmod -R a+rX "$WWW"
else
  python3 - "$TMP/users.txt" "$WWW" "$K" <<'PY'
import json, os, sys
users, www, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
for u in open(users).read().split():
    os.makedirs(f"{www}/v1/users/{u}", exist_ok=True)
    items = [{"item_id": str(37 * i), "score": k - i + 0.5} for i in range(1, k + 1)]
    doc = {"user_id": u, "model_version": "synthetic", "source": "model", "items": items}
    with open(f"{www}/v1/users/{u}/recommendations", "w") as f:
        f.write(json.dumps(doc, separators=(",", ":")))
PY
fi
NGINX_PORT=$(free_port)
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/tmp;
  proxy_temp_path $TMP/nginx/tmp;
  fastcgi_temp_path $TMP/nginx/tmp;
  uwsgi_temp_path $TMP/nginx/tmp;
  scgi_temp_path $TMP/nginx/tmp;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  default_type application/json;
  open_file_cache max=100000 inactive=300s;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WWW;
  }
}
EOF
record nginx "nginx -c nginx.conf  # worker_processes 2, static files, open_file_cache"
nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" >"$TMP/nginx.log" 2>&1 &
PIDS+=($!)
FIRST_USER=$(head -1 "$TMP/users.txt")
wait_http "http://127.0.0.1:$NGINX_PORT$USER_PATH_PREFIX$FIRST_USER$USER_PATH_SUFFIX" 20 "${PIDS[-1]}"
TARGET_URL[nginx]="http://127.0.0.1:$NGINX_PORT"
TARGET_PIDS[nginx]="${PIDS[-1]}"  # the master; its workers are its children
TARGETS=(nginx "${TARGETS[@]}")
log "nginx ready on port $NGINX_PORT"
if [ "$NGINX_ONLY" = 0 ]; then
  for name in "${TARGETS[@]}"; do
    curl -sf "${TARGET_URL[$name]}$USER_PATH_PREFIX$FIRST_USER$USER_PATH_SUFFIX" >"$TMP/check_$name"
    cmp -s "$TMP/check_$name" "$TMP/check_nginx" ||
      die "$name's answer for user $FIRST_USER differs from nginx's (see $TMP/check_*)"
  done
fi

# ---- load ------------------------------------------------------------------------------
# wrk: each thread walks the user list from its own offset; done() prints the
# numbers as one JSON line (latency in microseconds).
{
  echo "local paths = {"
  while read -r u; do echo "  \"$USER_PATH_PREFIX$u$USER_PATH_SUFFIX\","; done <"$TMP/users.txt"
  cat <<'LUA'
}
local n = #paths
local next_id = 0
local requests = {}
local i = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
function init(args)
  for j = 1, n do requests[j] = wrk.format("GET", paths[j]) end
  i = ((id or 0) * 7919) % n
end
function request()
  i = i % n + 1
  return requests[i]
end
function done(summary, latency, reqs)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.6f,"requests_per_second":%.3f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_ms":{"mean":%.4f,"p50":%.4f,"p90":%.4f,"p99":%.4f,"p99_9":%.4f,"max":%.4f}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean / 1e3, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency:percentile(99.9) / 1e3, latency.max / 1e3))
end
LUA
} >"$TMP/users.lua"

# CPU accounting, to see what limits throughput when every process shares
# the same cores: server CPU seconds (utime+stime of the target's processes
# and their children, from /proc) and the load generator's (GNU time).
CLK_TCK=$(getconf CLK_TCK)
pid_ticks() {  # pid_ticks PID...: CPU ticks used so far by the PIDs and their children
  local pid total=0 t
  for pid in "$@"; do
    for t in $pid $(pgrep -P "$pid" || true); do
      [ -r "/proc/$t/stat" ] || continue
      # Fields after the ")" closing the command name: utime is the 12th, stime the 13th.
      total=$((total + $(sed 's/.*) //' "/proc/$t/stat" | awk '{print $12 + $13}')))
    done
  done
  echo "$total"
}
server_ticks() { pid_ticks ${TARGET_PIDS[$1]:-}; }
idle_ticks() { awk '/^cpu / { print $5 + $6 }' /proc/stat; }  # whole machine: idle + iowait
TIME_BIN=""
[ -x /usr/bin/time ] && TIME_BIN=/usr/bin/time
measured() {  # measured TARGET KEY CMD...: runs CMD, writes runs/KEY.cpu
  local target="$1" key="$2" t0 t1 w0 w1 r0=0 r1=0 rc=0 client=null redis=null
  shift 2
  [ "$target" = reco_redis ] && r0=$(pid_ticks "$REDIS_PID")
  local i0 i1
  i0=$(idle_ticks)
  t0=$(server_ticks "$target")
  w0=$(date +%s%N)
  if [ -n "$TIME_BIN" ]; then
    "$TIME_BIN" -f '%U %S' -o "$TMP/runs/$key.client_cpu" "$@" || rc=$?
    client=$(tail -1 "$TMP/runs/$key.client_cpu" | awk '{print $1 + $2}')
  else
    "$@" || rc=$?
  fi
  w1=$(date +%s%N)
  t1=$(server_ticks "$target")
  i1=$(idle_ticks)
  if [ "$target" = reco_redis ]; then
    r1=$(pid_ticks "$REDIS_PID")
    redis=$(awk -v r="$((r1 - r0))" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", r / hz }')
  fi
  awk -v w="$((w1 - w0))" -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v c="$client" -v r="$redis" \
    -v i="$((i1 - i0))" 'BEGIN { printf "{\"wall_s\": %.3f, \"server_cpu_s\": %.2f, \"client_cpu_s\": %s, \"redis_cpu_s\": %s, \"machine_idle_cpu_s\": %.2f}\n", w / 1e9, t / hz, c, r, i / hz }' \
    >"$TMP/runs/$key.cpu"
  return "$rc"
}

if [ -n "$LOAD_TARGETS" ]; then
  for name in ${LOAD_TARGETS//,/ }; do
    [ -n "${TARGET_URL[$name]:-}" ] || die "--load-targets: no target '$name' (have: ${TARGETS[*]})"
  done
  TARGETS=(${LOAD_TARGETS//,/ })
fi

mkdir -p "$TMP/runs"
for name in "${TARGETS[@]}"; do
  base="${TARGET_URL[$name]}"
  log "$name: warmup $WARMUP"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$TMP/users.lua" "$base" >/dev/null 2>&1 || true

  log "$name: wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
  record "${name}_wrk" "wrk -t$THREADS -c$CONNECTIONS -d$DURATION -s users.lua $base"
  measured "$name" "${name}_wrk" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$TMP/users.lua" "$base" \
    >"$TMP/runs/${name}_wrk.txt" 2>&1 ||
    die "wrk against $name failed: $(tail -3 "$TMP/runs/${name}_wrk.txt")"
  grep '^WRK_JSON ' "$TMP/runs/${name}_wrk.txt" | sed 's/^WRK_JSON //' >"$TMP/runs/${name}_wrk.json"
  sleep 1

  url="$base$USER_PATH_PREFIX{user}$USER_PATH_SUFFIX"
  log "$name: reco loadtest closed loop"
  record "${name}_loadtest" "$LOADTEST loadtest -q --url $url --users-from users.txt -c $CONNECTIONS -t $THREADS -d $DURATION"
  measured "$name" "${name}_loadtest" "$LOADTEST" loadtest -q --url "$url" --users-from "$TMP/users.txt" \
    -c "$CONNECTIONS" -t "$THREADS" -d "$DURATION" --json "$TMP/runs/${name}_loadtest.json" \
    >"$TMP/runs/${name}_loadtest.txt" 2>&1 || die "loadtest against $name failed: $(tail -3 "$TMP/runs/${name}_loadtest.txt")"
  sleep 1

  log "$name: reco loadtest open loop at $RATE req/s"
  record "${name}_loadtest_open" "$LOADTEST loadtest -q --url $url --users-from users.txt -c $CONNECTIONS -t $THREADS -d $DURATION --warmup 2s --rate $RATE"
  measured "$name" "${name}_loadtest_open" "$LOADTEST" loadtest -q --url "$url" --users-from "$TMP/users.txt" \
    -c "$CONNECTIONS" -t "$THREADS" -d "$DURATION" --warmup 2s --rate "$RATE" \
    --json "$TMP/runs/${name}_loadtest_open.json" >"$TMP/runs/${name}_loadtest_open.txt" 2>&1 ||
    die "open-loop loadtest against $name failed: $(tail -3 "$TMP/runs/${name}_loadtest_open.txt")"
  sleep 1
done

# ---- results -------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
REPO="$REPO" SERVE_THREADS="$SERVE_THREADS" LOAD_AT_START="$LOAD_AT_START" SERVE_BENCH_COMMAND="bench/serve_bench.sh $SERVE_BENCH_ARGS" \
python3 - "$TMP" "$OUT" "$NUM_USERS" "$DURATION" "$CONNECTIONS" "$THREADS" "$RATE" "$K" \
  "$NGINX_ONLY" "$RECO" "${TARGETS[@]}" <<'PY'
import datetime, json, os, platform, subprocess, sys
tmp, out, users, duration, conns, threads, rate, k, nginx_only, reco = sys.argv[1:11]
targets = sys.argv[11:]

def sh(cmd):
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr).strip() else ""
    except Exception as e:  # informational only
        return f"unavailable: {e}"

def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()

def mem_kb():
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1])

def summarize(path):
    with open(path) as f:
        j = json.load(f)
    errors = j["errors"]
    return {
        "requests_per_second": round(j["requests_per_second"], 1),
        "p50_ms": round(j["latency_ms"]["p50"], 3),
        "p90_ms": round(j["latency_ms"]["p90"], 3),
        "p99_ms": round(j["latency_ms"]["p99"], 3),
        "p99_9_ms": round(j["latency_ms"]["p99_9"], 3),
        "max_ms": round(j["latency_ms"]["max"], 3),
        "requests": j["requests"],
        "errors": errors if isinstance(errors, dict) else {"total": errors},
        "non_2xx": j.get("non_2xx", errors.get("status", 0) if isinstance(errors, dict) else 0),
        **({"scheduled": j["scheduled"], "rate": j["rate"]} if j.get("mode") == "open" else {}),
    }

results = {}
for t in targets:
    results[t] = {}
    for tool in ("wrk", "loadtest", "loadtest_open"):
        path = os.path.join(tmp, "runs", f"{t}_{tool}.json")
        if os.path.exists(path) and os.path.getsize(path) > 0:
            results[t][tool] = summarize(path)
            cpu_path = os.path.join(tmp, "runs", f"{t}_{tool}.cpu")
            if os.path.exists(cpu_path):
                with open(cpu_path) as f:
                    cpu = json.load(f)
                r = results[t][tool]
                # Whole run incl. connection setup (and the open loop's warmup).
                r["cpu"] = {"wall_s": cpu["wall_s"], "server_cpu_s": cpu["server_cpu_s"],
                            "client_cpu_s": cpu["client_cpu_s"],
                            "server_cores_busy": round(cpu["server_cpu_s"] / cpu["wall_s"], 3)}
                if cpu["client_cpu_s"] is not None:
                    r["cpu"]["client_cores_busy"] = round(cpu["client_cpu_s"] / cpu["wall_s"], 3)
                # Idle CPU time of the whole machine during the run, in cores:
                # near 0 means the run was CPU-bound.
                r["cpu"]["machine_idle_cores"] = round(cpu["machine_idle_cpu_s"] / cpu["wall_s"], 3)
                # What neither the target nor the load generator used: other
                # processes (or the kernel on their behalf). Well above 0.1
                # means the run was disturbed and its numbers are noise.
                if cpu["client_cpu_s"] is not None:
                    r["cpu"]["other_cores_busy"] = round(
                        (os.cpu_count() * cpu["wall_s"] - cpu["machine_idle_cpu_s"] - cpu["server_cpu_s"]
                         - cpu["client_cpu_s"]) / cpu["wall_s"], 3)
                if cpu.get("redis_cpu_s") is not None:  # part of server_cpu_s
                    r["cpu"]["redis_server_cpu_s"] = cpu["redis_cpu_s"]
                    r["cpu"]["redis_server_cores_busy"] = round(cpu["redis_cpu_s"] / cpu["wall_s"], 3)
                if tool != "loadtest_open" and r["requests"] > 0:
                    r["cpu"]["server_cpu_us_per_request"] = round(cpu["server_cpu_s"] * 1e6 / r["requests"], 2)
                    if cpu["client_cpu_s"] is not None:
                        r["cpu"]["client_cpu_us_per_request"] = round(cpu["client_cpu_s"] * 1e6 / r["requests"], 2)

ratios = {}
for t in targets:
    if t == "nginx" or "nginx" not in results:
        continue
    ratios[f"{t}_vs_nginx"] = {}
    for tool in ("wrk", "loadtest", "loadtest_open"):
        a, b = results[t].get(tool), results["nginx"].get(tool)
        if not a or not b:
            continue
        r = {}
        if tool != "loadtest_open" and b["requests_per_second"] > 0:
            r["rps_ratio"] = round(a["requests_per_second"] / b["requests_per_second"], 3)
        if b["p99_ms"] > 0:
            r["p99_ratio"] = round(a["p99_ms"] / b["p99_ms"], 3)
        if b["p50_ms"] > 0:
            r["p50_ratio"] = round(a["p50_ms"] / b["p50_ms"], 3)
        ca, cb = a.get("cpu", {}), b.get("cpu", {})
        if ca.get("server_cpu_us_per_request") and cb.get("server_cpu_us_per_request"):
            r["server_cpu_per_request_ratio"] = round(
                ca["server_cpu_us_per_request"] / cb["server_cpu_us_per_request"], 3)
        ratios[f"{t}_vs_nginx"][tool] = r

# Same tool, same target: does reco loadtest measure what wrk measures?
generator = {}
for t in targets:
    w, l = results[t].get("wrk"), results[t].get("loadtest")
    if w and l and w["requests_per_second"] > 0:
        generator[t] = {"loadtest_rps_over_wrk_rps": round(l["requests_per_second"] / w["requests_per_second"], 3)}

def portable(text):
    """Machine paths as names a reader can map to their own machine."""
    return text.replace(tmp, "$TMP").replace(os.environ["REPO"] + "/", "")

commands = {}
with open(os.path.join(tmp, "commands.tsv")) as f:
    for line in f:
        name, _, cmd = line.rstrip("\n").partition("\t")
        commands[name] = portable(cmd)

doc = {
    "benchmark": "serve",
    "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "nginx_only_harness_check": nginx_only == "1",
    "machine": {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "mem_total_kb": mem_kb(),
        "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "load_average_at_start": [float(x) for x in os.environ["LOAD_AT_START"].split()],
        "load_average_at_end": list(os.getloadavg()),
        "nginx": sh("nginx -v"),
        "wrk": sh("wrk -v"),
        "redis": sh("redis-server --version"),
        "reco": sh(f"'{reco}' --version"),
    },
    "settings": {"duration": duration, "connections": int(conns), "threads": int(threads),
                 "open_loop_rate": float(rate), "k": int(k), "users": int(users),
                 "serve_threads": int(os.environ["SERVE_THREADS"]) if os.environ.get("SERVE_THREADS") else "default (one per core)",
                 "note": "client and servers share this machine's cores"},
    "results": results,
    "ratios": ratios,
    "loadtest_vs_wrk": generator,
    "commands": commands,
    # The code the reco binary was (presumably) built from: this tree.
    "source": {"git_commit": sh("git -C '%s' rev-parse HEAD" % os.environ["REPO"]),
               "modified_tracked_files": subprocess.run(
                   ["git", "-C", os.environ["REPO"], "status", "--porcelain", "--untracked-files=no"],
                   capture_output=True, text=True).stdout.splitlines()},
    "command": portable(os.environ["SERVE_BENCH_COMMAND"]),
    **({"invoked_by": os.environ["BENCH_COMMAND"]} if os.environ.get("BENCH_COMMAND") else {}),
}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")

def cell(value, width, decimals):
    return f"{value:>{width}.{decimals}f}" if isinstance(value, (int, float)) else f"{'-':>{width}}"

print(f"{'target':<12}{'tool':<15}{'req/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}"
      f"{'srv cores':>10}{'cli cores':>10}{'srv us/req':>11}")
for t in targets:
    for tool, r in results[t].items():
        errs = r["errors"].get("total", sum(v for v in r["errors"].values()))
        c = r.get("cpu", {})
        print(f"{t:<12}{tool:<15}{r['requests_per_second']:>12.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{errs:>8}"
              f"{cell(c.get('server_cores_busy'), 10, 2)}{cell(c.get('client_cores_busy'), 10, 2)}"
              f"{cell(c.get('server_cpu_us_per_request'), 11, 1)}")
print(f"wrote {out}")
PY
