#!/usr/bin/env bash
# soak_bench.sh: does the real-time engine stay within its live memory budget
# while a stream of distinct users posts events, and does every one of them
# still get a refreshed list? (issue 12, class 10)
#
# Usage:
#   bench/soak_bench.sh [--reco BIN | --build-dir DIR] [--users 5000000] [--duration 10m]
#       [--rate 17000] [--write-fraction 0.5] [--live-memory-mb 256] [--connections 64]
#       [--threads 1] [--out bench/results/soak.json] [--keep-temp]
#
# Steps (MovieLens from $RECO_DATA_DIR/ml-100k/u.data; RECO_DATA_DIR defaults to
# ../shared/data/movielens beside the repository, as src/common/data_dir.cc):
#   1. builds `reco` in Release (DIR defaults to build/release), unless --reco BIN;
#   2. `reco retrain` on all of ml-100k into a registry and an LMDB store;
#   3. starts `reco serve --registry R --events E --live-memory-mb M` on loopback;
#   4. samples the server's memory every second from /proc/PID/status (VmRSS,
#      RssAnon, RssFile, VmHWM) and its /metrics every 10 s;
#   5. runs one open-loop `reco loadtest` for --duration at --rate requests/s in
#      total: a --write-fraction of them POST one rating each for the next user
#      of 1000001 .. 1000000+USERS in turn (--write-users-sequence: every user
#      new, none in the training data; users past the end start again from the
#      first, whose histories were spilled long before), the rest GET a random
#      one of those users' lists;
#   6. waits (bounded) for the refresh queue and the write-behind lists to drain,
#      then counts the lists in the store (`reco store verify`): every one of the
#      USERS must have their own list, besides the 943 training users' lists;
#   7. writes --out: the budget, peak and baseline memory, how much of the peak
#      is the LMDB file's mapped pages (RssFile, reclaimable page cache) and how
#      much the process's own memory (RssAnon), read and write p99, errors,
#      spill and restore counts, the list count and every command.
# The budget target: peak RssAnon <= RssAnon before the load + the budget.
set -euo pipefail

die() {
  echo "soak_bench: $*" >&2
  exit 1
}
log() { echo "soak_bench: $(date +%H:%M:%S) $*" >&2; }

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DATA_DIR="${RECO_DATA_DIR:-$REPO/../shared/data/movielens}"
RECO="" BUILD_DIR="$REPO/build/release" USERS=5000000 DURATION=10m RATE=17000
WRITE_FRACTION=0.5 LIVE_MB=256 CONNECTIONS=64 THREADS=1 K=10
OUT="$REPO/bench/results/soak.json" KEEP_TEMP=0
BENCH_ARGS="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --reco) RECO="$2"; shift 2 ;;
    --build-dir) BUILD_DIR="$2"; shift 2 ;;
    --users) USERS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --write-fraction) WRITE_FRACTION="$2"; shift 2 ;;
    --live-memory-mb) LIVE_MB="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep-temp) KEEP_TEMP=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$USERS" =~ ^[1-9][0-9]*$ ]] || die "--users must be a positive integer"

U_DATA="$DATA_DIR/ml-100k/u.data"
[ -f "$U_DATA" ] || die "$U_DATA not found (set RECO_DATA_DIR, or: reco data fetch ml-100k --dest DIR)"
for tool in curl python3; do
  command -v "$tool" >/dev/null || die "'$tool' not found (bash scripts/setup-deps.sh)"
done

if [ -z "$RECO" ]; then
  log "building reco (Release) in $BUILD_DIR"
  cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRECO_BUILD_TESTS=OFF \
    >/dev/null
  cmake --build "$BUILD_DIR" --target reco >&2
  RECO="$BUILD_DIR/src/cli/reco"
fi
[ -x "$RECO" ] || die "reco binary '$RECO' is not an executable"
RECO="$(cd "$(dirname "$RECO")" && pwd)/$(basename "$RECO")"
SERVE_HELP="$("$RECO" serve --help 2>&1 || true)"
[[ "$SERVE_HELP" == *--live-memory-mb* ]] || die "$RECO serve has no --live-memory-mb"

TMP="$(mktemp -d -t reco-soak-bench.XXXXXX)"
SERVE_PID="" SAMPLER_PID=""
cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  if [ -n "$SERVE_PID" ]; then
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
  fi
  if [ "$KEEP_TEMP" = 1 ]; then log "temp files kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export RECO_PROGRESS=0
: >"$TMP/commands.tsv"
record() { printf '%s\t%s\n' "$1" "$2" >>"$TMP/commands.tsv"; }

REGISTRY="$TMP/registry" STORE="lmdb://$TMP/store" EVENTS="$TMP/events"
KEY="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
printf '%s\n' "$KEY" >"$TMP/api_keys"
chmod 600 "$TMP/api_keys"

RETRAIN=("$RECO" retrain --data "$U_DATA" --registry "$REGISTRY" --store "$STORE" --k "$K")
record retrain "${RETRAIN[*]}"
log "training and precomputing: ${RETRAIN[*]}"
"${RETRAIN[@]}" >"$TMP/retrain.log" 2>&1 || {
  tail -20 "$TMP/retrain.log" >&2
  die "reco retrain failed"
}

SERVE=("$RECO" serve --store "$STORE" --registry "$REGISTRY" --events "$EVENTS"
  --api-keys-file "$TMP/api_keys" --host 127.0.0.1 --port 0 --port-file "$TMP/port"
  --live-memory-mb "$LIVE_MB")
record serve "${SERVE[*]}"
"${SERVE[@]}" >"$TMP/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 600); do
  [ -s "$TMP/port" ] && curl -fs -o /dev/null "http://127.0.0.1:$(cat "$TMP/port")/readyz" && break
  kill -0 "$SERVE_PID" 2>/dev/null || {
    tail -20 "$TMP/serve.log" >&2
    die "reco serve exited during startup"
  }
  sleep 0.1
done
PORT="$(cat "$TMP/port" 2>/dev/null || true)"
[ -n "$PORT" ] && curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz" || die "reco serve not ready after 60 s"
BASE="http://127.0.0.1:$PORT"
log "reco serve ready on $BASE (pid $SERVE_PID)"

# Memory once a second, /metrics every 10 s, until killed.
sample() {
  local n=0
  while kill -0 "$SERVE_PID" 2>/dev/null; do
    awk -v t="$(date +%s.%N)" '/^(VmRSS|RssAnon|RssFile|VmHWM):/ {v[$1]=$2}
      END {print t, v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["VmHWM:"]}' \
      "/proc/$SERVE_PID/status" >>"$TMP/memory.txt" 2>/dev/null || true
    if [ $((n % 10)) = 0 ]; then
      { echo "# at $(date +%s.%N)"; curl -fs "$BASE/metrics" || true; } >>"$TMP/metrics.txt"
    fi
    n=$((n + 1))
    sleep 1
  done
}
sleep 2
sample &
SAMPLER_PID=$!
sleep 3  # the baseline: a few samples before any load

FIRST=1000001
LAST=$((FIRST + USERS - 1))
LOADTEST=("$RECO" loadtest --url "$BASE/v1/users/{user}/recommendations?k=$K"
  --users-range "$FIRST:$LAST" --write-users-sequence "$FIRST:$LAST"
  --write-fraction "$WRITE_FRACTION" --api-key "$KEY" --items-range 1:1682
  --rate "$RATE" -c "$CONNECTIONS" -t "$THREADS" -d "$DURATION" -q --json "$TMP/load.json")
record loadtest "$(printf '%s ' "${LOADTEST[@]}" | sed "s/$KEY/\$KEY/g")"
log "load: ${LOADTEST[*]//$KEY/\$KEY}"
date +%s.%N >"$TMP/load_start"
"${LOADTEST[@]}" >"$TMP/load.txt" 2>"$TMP/load.err" || {
  cat "$TMP/load.txt" "$TMP/load.err" >&2
  die "loadtest failed"
}
date +%s.%N >"$TMP/load_end"
cat "$TMP/load.txt" >&2
kill -0 "$SERVE_PID" 2>/dev/null || die "reco serve died during the run (see $TMP/serve.log)"

# Drained: nothing queued, nothing waiting for the write-behind flush.
metric() { curl -fs "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
for _ in $(seq 600); do
  [ "$(metric reco_realtime_queue_depth)" = 0 ] && [ "$(metric reco_realtime_unflushed_lists)" = 0 ] &&
    break
  sleep 0.5
done
curl -fs "$BASE/metrics" >"$TMP/metrics_final.txt"
VERIFY=("$RECO" store verify --store "$STORE")
record verify "${VERIFY[*]}"
log "counting lists: ${VERIFY[*]}"
"${VERIFY[@]}" >"$TMP/verify.txt" 2>&1 || {
  cat "$TMP/verify.txt" >&2
  die "reco store verify failed"
}
cat "$TMP/verify.txt" >&2
kill "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""

mkdir -p "$(dirname "$OUT")"
python3 - "$TMP" "$OUT" "$REPO" "$BENCH_ARGS" "$USERS" "$LIVE_MB" "$U_DATA" <<'PY'
import json, os, platform, re, subprocess, sys
tmp, out, repo, bench_args, users, live_mb, u_data = sys.argv[1:8]
users, live_mb = int(users), int(live_mb)

def read(name):
    with open(os.path.join(tmp, name)) as f:
        return f.read()

def sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=repo)
    return (r.stdout + r.stderr).rstrip()

load_start, load_end = float(read("load_start")), float(read("load_end"))
samples = []  # (t, rss, anon, file, hwm) in KiB
for line in read("memory.txt").splitlines():
    parts = line.split()
    if len(parts) == 5:
        samples.append((float(parts[0]), *map(int, parts[1:])))
baseline = [s for s in samples if s[0] < load_start]
during = [s for s in samples if s[0] >= load_start]
if not baseline or not during:
    sys.exit("soak_bench: no memory samples before or during the load")
mib = lambda kib: round(kib / 1024, 1)
base_anon = baseline[-1][2]
peak_anon = max(s[2] for s in during)
peak_rss = max(s[1] for s in during)
peak_file = max(s[3] for s in during)
hwm = max(s[4] for s in samples)

def metrics(text):
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values
final = metrics(read("metrics_final.txt"))
live_bytes_series = [
    v for name, v in (l.rsplit(" ", 1) for l in read("metrics.txt").splitlines()
                      if l.startswith("reco_realtime_live_bytes "))
    for v in [float(v)]]

report = json.loads(read("load.json"))
verify = read("verify.txt")
m = re.search(r"(\d+) keys: (\d+) lists, (\d+) spilled live states", verify)
lists = int(m.group(2)) if m else None
training_users = len({line.split("\t")[0] for line in open(u_data) if line.strip()})
catalog = len({line.split("\t")[1] for line in open(u_data) if line.strip()})
# Lists of the version: one per training user, one per item (similar), the
# popular list, and one per user who posted an event.
new_user_lists = lists - training_users - catalog - 1 if lists is not None else None
budget_bytes = live_mb << 20

def lat(kind):
    l = report[kind]["latency_ms"]
    return {k: l[k] for k in ("p50", "p90", "p99", "p99_9", "max") if k in l}

errors = report["errors"]["total"] + report["non_2xx"]
result = {
    "benchmark": "soak: a stream of distinct new users posting events to reco serve with a live "
                 "memory budget (issue 12, class 10)",
    "data": "ml-100k (u.data) trained with the defaults of reco retrain; synthetic users "
            f"1000001..{1000000 + users}, every one new",
    "summary": {
        "users": users,
        "live_memory_budget_mib": live_mb,
        "rss_anon_mib": {"before_load": mib(base_anon), "peak": mib(peak_anon),
                         "peak_minus_before": mib(peak_anon - base_anon)},
        "rss_mib": {"peak": mib(peak_rss), "vm_hwm": mib(hwm),
                    "peak_file_backed": mib(peak_file)},
        "live_bytes_mib_peak_sampled": mib(max(live_bytes_series, default=0) / 1024),
        "writes_per_second": report["writes"]["requests_per_second"],
        "reads_per_second": report["reads"]["requests_per_second"],
        "write_latency_ms": lat("writes"),
        "read_latency_ms": lat("reads"),
        "events_accepted": final.get("reco_realtime_events_accepted_total"),
        "histories_spilled": final.get("reco_realtime_live_spilled_total"),
        "histories_restored": final.get("reco_realtime_live_restored_total"),
        "spill_failures": final.get("reco_realtime_live_spill_failures_total"),
        "restore_failures": final.get("reco_realtime_live_restore_failures_total"),
        "refresh_failures": final.get("reco_realtime_refresh_failures_total"),
        "lists_in_store": lists,
        "new_user_lists": new_user_lists,
        "errors_total": errors,
        "statuses": {"reads": report["reads"]["statuses"], "writes": report["writes"]["statuses"]},
        "load_seconds": round(load_end - load_start, 1),
    },
    "targets": {
        "rss_anon_peak_minus_before_mib_max": live_mb,
        "new_user_lists_min": users,
        "errors": 0,
        "met": {
            "memory": (peak_anon - base_anon) / 1024 <= live_mb,
            "every_user_has_a_list": new_user_lists is not None and new_user_lists >= users,
            "zero_errors": errors == 0,
        },
    },
    "notes": "RSS counts the LMDB file's pages the process has mapped and touched (RssFile: "
             "page cache the kernel reclaims under pressure, growing with the store, not with "
             "the live state); RssAnon is the process's own memory, which the live memory "
             "budget bounds. live_bytes is the engine's own estimate of its histories.",
    "memory_samples_mib": [[round(s[0] - load_start, 1), mib(s[1]), mib(s[2]), mib(s[3])]
                           for s in samples[::10]],
    "memory_samples_columns": ["seconds_from_load_start", "rss", "rss_anon", "rss_file"],
    "load_report": report,
    "commands": dict(line.split("\t", 1) for line in read("commands.tsv").splitlines()),
    "bench_args": bench_args,
    "machine": {"nproc": os.cpu_count(), "cpu": platform.processor() or sh("uname -m"),
                "kernel": platform.release(),
                "cpu_model": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()},
    "git": {"commit": sh("git rev-parse HEAD"), "dirty": bool(sh("git status --porcelain"))},
}
with open(out, "w") as f:
    json.dump(result, f, indent=1)
    f.write("\n")
print(json.dumps(result["summary"], indent=1))
print("targets met:", result["targets"]["met"])
PY
log "wrote $OUT"
