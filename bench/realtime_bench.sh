#!/usr/bin/env bash
# realtime_bench.sh: does reco serve keep reading fast while it takes event
# writes, and how soon does a posted event show in the user's list?
# (issue 4, acceptance 4)
#
# Usage:
#   bench/realtime_bench.sh [--reco BIN | --build-dir DIR] [--duration 30s] [--warmup 3s]
#       [--connections 200] [--threads 2] [--write-fraction 0.1] [--probe-connections 1]
#       [--poll-interval 1ms]
#       [--serve-threads N] [--refresh-threads N] [--k 10] [--out bench/results/realtime.json]
#       [--max-load 1.0] [--max-wait-min 0] [--keep-temp]
#
# Steps (MovieLens from $RECO_DATA_DIR/ml-100k/u.data; RECO_DATA_DIR defaults to
# ../shared/data/movielens beside the repository, as src/common/data_dir.cc):
#   1. builds `reco` in Release (cmake --build DIR --target reco; DIR defaults to
#      build/release, as scripts/bench.sh), unless --reco BIN is given;
#   2. `reco retrain --data u.data --registry R --store lmdb://S`: trains the
#      default explicit model on all of ml-100k, registers it as a version,
#      precomputes its lists into the LMDB store and activates it;
#   3. starts `reco serve --store lmdb://S --registry R --events E --api-keys-file F`
#      on a free loopback port (a fresh random key in F);
#   4. waits (--max-wait-min, default 0: no wait) until the 1-minute load
#      average is below --max-load, and records the load average either way;
#   5. runs, against the same server in the same run:
#      (a) read-only: `reco loadtest` GETs of random users' lists, 200 connections, 30 s;
#      (b) mixed: the same with --write-fraction 0.1 (POST /v1/events of a rating
#          1..5 for a random user and item) and --probe-connections 1
#          (event-to-fresh-list probes: read a probe user's list, rate its top
#          item, GET the list every --poll-interval until the item is gone; see
#          `reco loadtest --help`);
#      and scrapes /metrics before and after each run (event, refresh and
#      queue counters as deltas, refresh latency from the server's histograms);
#   6. writes --out: both read throughputs and their ratio (target >= 0.7),
#      write throughput, event-to-fresh p50/p99/max (target p99 <= 10 ms),
#      errors by status (target 0), CPU of server and load generator, machine
#      facts (nproc, CPU, load averages before and after each run) and every
#      command.
# Everything listens on 127.0.0.1; children are stopped on exit, ^C included.
set -euo pipefail

die() {
  echo "realtime_bench: $*" >&2
  exit 1
}
log() { echo "realtime_bench: $*" >&2; }

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DATA_DIR="${RECO_DATA_DIR:-$REPO/../shared/data/movielens}"
RECO="" BUILD_DIR="$REPO/build/release" DURATION=30s WARMUP=3s CONNECTIONS=200 THREADS=2
WRITE_FRACTION=0.1 PROBE_CONNECTIONS=1 POLL_INTERVAL=1ms SERVE_THREADS="" REFRESH_THREADS="" K=10
OUT="$REPO/bench/results/realtime.json" MAX_LOAD=1.0 MAX_WAIT_MIN=0 KEEP_TEMP=0
BENCH_ARGS="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --reco) RECO="$2"; shift 2 ;;
    --build-dir) BUILD_DIR="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --write-fraction) WRITE_FRACTION="$2"; shift 2 ;;
    --probe-connections) PROBE_CONNECTIONS="$2"; shift 2 ;;
    --poll-interval) POLL_INTERVAL="$2"; shift 2 ;;
    --serve-threads) SERVE_THREADS="$2"; shift 2 ;;
    --refresh-threads) REFRESH_THREADS="$2"; shift 2 ;;
    --k) K="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --max-load) MAX_LOAD="$2"; shift 2 ;;
    --max-wait-min) MAX_WAIT_MIN="$2"; shift 2 ;;
    --keep-temp) KEEP_TEMP=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

U_DATA="$DATA_DIR/ml-100k/u.data"
[ -f "$U_DATA" ] || die "$U_DATA not found (set RECO_DATA_DIR, or: reco data fetch ml-100k --dest DIR)"
for tool in curl python3; do
  command -v "$tool" >/dev/null || die "'$tool' not found (bash scripts/setup-deps.sh)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time; scripts/setup-deps.sh)"

# ---- the binary ------------------------------------------------------------------
if [ -z "$RECO" ]; then
  log "building reco (Release) in $BUILD_DIR"
  cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRECO_BUILD_TESTS=OFF \
    >/dev/null
  cmake --build "$BUILD_DIR" --target reco >&2
  RECO="$BUILD_DIR/src/cli/reco"
fi
[ -x "$RECO" ] || die "reco binary '$RECO' is not an executable"
RECO="$(cd "$(dirname "$RECO")" && pwd)/$(basename "$RECO")"
"$RECO" retrain --help >/dev/null 2>&1 || die "$RECO has no 'retrain' command (registry work not landed?)"
# (Help text captured first: grep -q closing the pipe early would fail it under pipefail.)
SERVE_HELP="$("$RECO" serve --help 2>&1 || true)"
LOADTEST_HELP="$("$RECO" loadtest --help 2>&1 || true)"
[[ "$SERVE_HELP" == *--registry* ]] ||
  die "$RECO serve has no --registry (the online refresher has not landed?)"
[[ "$LOADTEST_HELP" == *--probe-connections* ]] ||
  die "$RECO loadtest has no --probe-connections (build from a newer tree)"

# ---- processes and cleanup ---------------------------------------------------------
TMP="$(mktemp -d -t reco-realtime-bench.XXXXXX)"
SERVE_PID=""
cleanup() {
  if [ -n "$SERVE_PID" ]; then
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
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

# ---- users, items, model -----------------------------------------------------------
# The ids of u.data (user, item, rating, timestamp; tab separated).
cut -f1 "$U_DATA" | sort -n -u >"$TMP/users.txt"
cut -f2 "$U_DATA" | sort -n -u >"$TMP/items.txt"
log "$(wc -l <"$TMP/users.txt") users, $(wc -l <"$TMP/items.txt") items in $U_DATA"

REGISTRY="$TMP/registry"
STORE="lmdb://$TMP/store"
EVENTS="$TMP/events"
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

# ---- server --------------------------------------------------------------------------
SERVE=("$RECO" serve --store "$STORE" --registry "$REGISTRY" --events "$EVENTS"
  --api-keys-file "$TMP/api_keys" --host 127.0.0.1 --port 0 --port-file "$TMP/port")
[ -n "$SERVE_THREADS" ] && SERVE+=(--threads "$SERVE_THREADS")
[ -n "$REFRESH_THREADS" ] && SERVE+=(--refresh-threads "$REFRESH_THREADS")
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
FIRST_USER="$(head -1 "$TMP/users.txt")"
curl -fs "$BASE/v1/users/$FIRST_USER/recommendations?k=$K" >"$TMP/sample_list.json" ||
  die "GET of user $FIRST_USER's list failed"
# One event through the real path before measuring: a wrong key or a broken
# route fails here, not as 30 s of errors.
curl -fs -o "$TMP/sample_post.json" -w '%{http_code}' -X POST "$BASE/v1/events" \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  --data "{\"user_id\":\"$FIRST_USER\",\"item_id\":\"$(head -1 "$TMP/items.txt")\",\"type\":\"rating\",\"value\":3}" \
  >"$TMP/sample_post.code" || die "POST /v1/events failed (HTTP $(cat "$TMP/sample_post.code"))"

# ---- quiet machine ---------------------------------------------------------------------
wait_for_quiet() {
  local deadline=$(($(date +%s) + MAX_WAIT_MIN * 60)) load
  while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" -v m="$MAX_LOAD" 'BEGIN{exit !(l < m)}'; then return 0; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "machine busy (1-min load $load >= $MAX_LOAD); measuring anyway, the JSON records it"
      return 0
    fi
    log "machine busy (1-min load $load, want < $MAX_LOAD); retrying in 30 s"
    sleep 30
  done
}

# ---- runs ------------------------------------------------------------------------------
server_cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVE_PID/stat"; }
# /proc/stat's first line: total and idle (+iowait) jiffies of the whole machine.
machine_ticks() { head -1 /proc/stat | awk '{t=0; for (i=2;i<=9;i++) t+=$i; print t, $5+$6}'; }

LOADTEST_COMMON=("$RECO" loadtest --url "$BASE/v1/users/{user}/recommendations?k=$K"
  --users-from "$TMP/users.txt" -c "$CONNECTIONS" -t "$THREADS" -d "$DURATION" --warmup "$WARMUP" -q)
run_load() {  # run_load NAME EXTRA_ARGS...
  local name="$1"
  shift
  local cmd=("${LOADTEST_COMMON[@]}" "$@" --json "$TMP/$name.json")
  wait_for_quiet
  cut -d' ' -f1-3 /proc/loadavg >"$TMP/$name.load_before"
  curl -fs "$BASE/metrics" >"$TMP/$name.metrics_before" || die "GET /metrics failed"
  server_cpu_ticks >"$TMP/$name.server_ticks_before"
  machine_ticks >"$TMP/$name.machine_before"
  record "loadtest_$name" "$(printf '%s ' "${cmd[@]}" | sed "s/$KEY/\$KEY/g")"
  log "run $name: ${cmd[*]//$KEY/\$KEY}"
  /usr/bin/time -f '%e %U %S' -o "$TMP/$name.time" "${cmd[@]}" >"$TMP/$name.txt" || {
    cat "$TMP/$name.txt" >&2
    die "loadtest $name failed"
  }
  machine_ticks >"$TMP/$name.machine_after"
  server_cpu_ticks >"$TMP/$name.server_ticks_after"
  curl -fs "$BASE/metrics" >"$TMP/$name.metrics_after" || die "GET /metrics failed"
  cut -d' ' -f1-3 /proc/loadavg >"$TMP/$name.load_after"
  cat "$TMP/$name.txt" >&2
}

run_load read_only
run_load mixed --write-fraction "$WRITE_FRACTION" --api-key "$KEY" --items-from "$TMP/items.txt" \
  --probe-connections "$PROBE_CONNECTIONS" --poll-interval "$POLL_INTERVAL"

kill -0 "$SERVE_PID" 2>/dev/null || die "reco serve died during the runs (see $TMP/serve.log)"

# ---- result ------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
python3 - "$TMP" "$OUT" "$REPO" "$RECO" "$BENCH_ARGS" "$WRITE_FRACTION" "$(getconf CLK_TCK)" \
  "$DATA_DIR" <<'PY'
import json, math, os, platform, re, subprocess, sys
tmp, out, repo, reco, bench_args, write_fraction, clk_tck, data_dir = sys.argv[1:9]
clk_tck = float(clk_tck)

def sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=repo)
    # rstrip only: `git status --porcelain` lines start with a space.
    return (r.stdout + r.stderr).rstrip()

def read(name):
    with open(os.path.join(tmp, name)) as f:
        return f.read()

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
def metrics(name):
    """Prometheus text -> {"name{labels}": value}."""
    out = {}
    for line in read(name).splitlines():
        m = SERIES.match(line)
        if m and not line.startswith("#"):
            try:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out

def histogram_quantiles(before, after, base):
    """p50/p99 (upper bucket bounds) of the observations made between two scrapes."""
    buckets = []
    for key, value in after.items():
        m = re.match(re.escape(base) + r'_bucket\{(.*)\}$', key)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        le = labels.pop("le", None)
        if le is None or labels:  # only the unlabelled histogram
            continue
        buckets.append((math.inf if le == "+Inf" else float(le), value - before.get(key, 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    result = {"count": total}
    for q in (0.5, 0.99):
        bound = next(le for le, n in buckets if n >= q * total)
        result[f"p{int(q * 100)}_upper_bound_ms"] = None if math.isinf(bound) else bound * 1e3
    return result

# Series worth cross-checking: events, refreshes, queues, rejections, store errors.
INTERESTING = re.compile(r'event|refresh|queue|reject|realtime|store_errors|fold')
def metrics_summary(name):
    before, after = metrics(name + ".metrics_before"), metrics(name + ".metrics_after")
    deltas, gauges_after = {}, {}
    for key, value in sorted(after.items()):
        base = key.split("{", 1)[0]
        if not INTERESTING.search(base) or base.endswith(("_bucket", "_created")):
            continue
        # Gauges and summary quantiles (over the server's lifetime) as read
        # after the run; counters as the change over the run.
        if "quantile=" in key or base.endswith(("_depth", "_users", "_open", "_size")):
            gauges_after[key] = value
            continue
        delta = value - before.get(key, 0.0)
        if delta != 0:
            deltas[key] = delta
    # Summaries: mean over the run from the _sum and _count deltas.
    means_ms = {}
    for key, count in deltas.items():
        if key.endswith("_count") and count > 0 and key[:-6] + "_sum" in deltas:
            means_ms[key[:-6]] = deltas[key[:-6] + "_sum"] / count * 1e3
    hists = {}
    for key in after:
        base = key.split("{", 1)[0]
        if base.endswith("_bucket") and INTERESTING.search(base):
            h = histogram_quantiles(before, after, base[: -len("_bucket")])
            if h:
                hists[base[: -len("_bucket")]] = h
    return {"deltas": deltas, "after": gauges_after, "run_mean_ms": means_ms,
            "histograms": hists}

def ticks(name):
    return float(read(name))

def run(name):
    report = json.loads(read(name + ".json"))
    elapsed, user, system = (float(x) for x in read(name + ".time").split())
    s_cpu = (ticks(name + ".server_ticks_after") - ticks(name + ".server_ticks_before")) / clk_tck
    (t0, i0), (t1, i1) = (tuple(map(float, read(name + suffix).split()))
                          for suffix in (".machine_before", ".machine_after"))
    cores = os.cpu_count() or 1
    report["cpu"] = {
        "wall_seconds": elapsed,
        "server_cores_busy": s_cpu / elapsed,
        "loadgen_cores_busy": (user + system) / elapsed,
        "machine_idle_cores": cores * (i1 - i0) / (t1 - t0) if t1 > t0 else None,
    }
    report["load_average_before"] = [float(x) for x in read(name + ".load_before").split()]
    report["load_average_after"] = [float(x) for x in read(name + ".load_after").split()]
    report["server_metrics"] = metrics_summary(name)
    return report

read_only, mixed = run("read_only"), run("mixed")

def errors(r):
    """Socket errors plus non-2xx responses, all request kinds."""
    return r["errors"]["total"] + r["non_2xx"]

fresh = mixed.get("freshness", {})
reads_only_rps = read_only["reads"]["requests_per_second"]
reads_mixed_rps = mixed["reads"]["requests_per_second"]
ratio = reads_mixed_rps / reads_only_rps if reads_only_rps else None
fresh_p99 = fresh.get("latency_ms", {}).get("p99")
total_errors = errors(read_only) + errors(mixed) + fresh.get("failures", 0)
load_before = read_only["load_average_before"]
cores = os.cpu_count() or 1
busy = max(load_before[0], mixed["load_average_before"][0])
busyness = "quiet" if busy < 0.5 else "moderately busy" if busy < cores else "busy"

def portable(text):
    """Machine paths as names a reader can map to their own machine."""
    pairs = [(tmp, "$TMP")]
    if os.environ.get("RECO_DATA_DIR"):  # else data_dir is $REPO/../shared/...: relative below
        pairs += [(os.path.realpath(data_dir), "$RECO_DATA_DIR"), (data_dir, "$RECO_DATA_DIR")]
    pairs.append((repo + "/", ""))
    for path, name in pairs:
        text = text.replace(path, name)
    return text

commands = {}
for line in read("commands.tsv").splitlines():
    k, _, v = line.partition("\t")
    commands[k] = portable(v.strip())

# The build type from the CMake cache of the binary's build tree, if any.
build_type = None
cache = os.path.join(os.path.dirname(reco), "..", "..", "CMakeCache.txt")
if os.path.exists(cache):
    for line in open(cache):
        if line.startswith("CMAKE_BUILD_TYPE:"):
            build_type = line.split("=", 1)[1].strip()
modified = [l[3:] for l in sh("git status --porcelain --untracked-files=no").splitlines()]
doc = {
    "benchmark": "realtime: mixed reads and event writes against reco serve with the online refresher",
    "data": "ml-100k (u.data: 100,000 ratings, 943 users, 1,682 items); default explicit ALS via reco retrain",
    "summary": {
        "reads_only_rps": reads_only_rps,
        "reads_mixed_rps": reads_mixed_rps,
        "writes_mixed_rps": mixed.get("writes", {}).get("requests_per_second"),
        "reads_mixed_over_reads_only": ratio,
        "event_to_fresh_ms": {k: fresh.get("latency_ms", {}).get(k) for k in ("p50", "p90", "p99", "max")},
        "event_to_fresh_probes": fresh.get("probes"),
        "event_to_fresh_stale": fresh.get("stale"),
        "errors_total": total_errors,
        "errors_by_kind": {
            "read_only_reads": {"statuses": read_only["reads"]["statuses"],
                                "socket_errors": read_only["reads"]["socket_errors"]},
            "mixed_reads": {"statuses": mixed["reads"]["statuses"],
                            "socket_errors": mixed["reads"]["socket_errors"]},
            "mixed_writes": {"statuses": mixed.get("writes", {}).get("statuses"),
                             "socket_errors": mixed.get("writes", {}).get("socket_errors")},
            "connect_errors": read_only["errors"]["connect"] + mixed["errors"]["connect"],
            "probe_failures": fresh.get("failures", 0),
        },
    },
    "targets": {
        "reads_mixed_over_reads_only_min": 0.7,
        "event_to_fresh_p99_ms_max": 10,
        "errors": 0,
        "met": {
            "read_ratio": ratio is not None and ratio >= 0.7,
            "event_to_fresh_p99": fresh_p99 is not None and fresh_p99 <= 10 and fresh.get("probes", 0) > 0,
            "zero_errors": total_errors == 0,
        },
    },
    "freshness_signal": ("a probe reads a reserved probe user's list, POSTs a rating for its top "
                         "item, then GETs the list every poll interval until the item is gone (the "
                         "refresher ranks unseen items only, so only a list recomputed after the "
                         "event drops it); latency = POST sent -> first response without the item. "
                         "The first GET goes right after the 202, further ones every "
                         "--poll-interval. Probe users get no load writes. One probe connection, "
                         "beside the 200."),
    "runs": {"read_only": read_only, "mixed": mixed},
    "machine": {
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), ""),
        "nproc": cores,
        "mem_total_kb": int(open("/proc/meminfo").readline().split()[1]),
        "kernel": platform.release(),
        "load_average_before": load_before,
        "load_average_after": mixed["load_average_after"],
        "busy": f"{busyness}: 1-min load {busy:.2f} before the runs on {cores} cores "
                "(server, load generator and anything else share them)",
    },
    "source": {"commit": sh("git rev-parse HEAD"), "modified_tracked_files": modified},
    "reco_binary": portable(reco),
    "reco_build_type": build_type,
    "bench_args": portable(bench_args),
    "commands": commands,
    "note": "The API key is a fresh random one per run, written as $KEY in the commands; "
            "$TMP is the run's temporary directory, paths without a leading / are relative "
            "to the repository.",
}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
s = doc["summary"]
print(f"reads only {s['reads_only_rps']:.0f} req/s; mixed: reads {s['reads_mixed_rps']:.0f} req/s "
      f"(ratio {ratio:.2f}), writes {s['writes_mixed_rps'] or 0:.0f} req/s; event-to-fresh p50 "
      f"{s['event_to_fresh_ms']['p50']} ms p99 {fresh_p99} ms over {s['event_to_fresh_probes']} probes; "
      f"errors {total_errors}; load before {load_before}", file=sys.stderr)
PY
log "wrote $OUT"
