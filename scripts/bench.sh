#!/usr/bin/env bash
# bench.sh: build Release, wait for a quiet machine, run the benchmarks and
# write bench/results/*.json (see bench/README.md for what each file holds).
#
# Usage: scripts/bench.sh [--build-dir DIR] [--only train,topk,serve]
#                         [--max-load L] [--max-wait-min M] [--no-wait]
#                         [--serve-duration 30s] [--results DIR]
#        scripts/bench.sh --summary [--results DIR]
#          prints the result files as the Markdown tables of bench/README.md
#
#   train  build/bench/train_bench  -> bench/results/train.json
#   topk   build/bench/topk_bench   -> bench/results/topk.json
#   serve  reco pipeline + reco precompute (ml-100k, implicit ALS, LMDB), then
#          bench/serve_bench.sh     -> bench/results/serve.json
#   redis-threads  (not in the default set) reco serve on Redis only, with
#          --threads 2, 4, 8, 16    -> bench/results/serve_redis_threads_N.json
#   families  (not in the default set) every model family's fit and precompute
#          time, and reco tune's, on ml-100k and 1M synthetic interactions:
#          bench/families_bench.sh  -> bench/results/families.json
#   soak   (not in the default set; about 12 minutes) five million new users
#          posting events to reco serve with a live memory budget of 256 MiB:
#          bench/soak_bench.sh      -> bench/results/soak.json
#
# Timings only mean something on an idle machine. Before each benchmark the
# script waits (polling every minute, at most --max-wait-min minutes) until
# the 1-minute load average is below --max-load and the CPUs were more than
# 90% idle over a 5 s sample; if the machine never gets quiet it stops
# without writing anything, unless --no-wait. Each result file records the
# load average before and after its run and the command that produced it.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="$REPO/build/release"
RESULTS="$REPO/bench/results"
ONLY="train,topk,serve"
MAX_LOAD=0.5 MAX_WAIT_MIN=60 WAIT=1 SERVE_DURATION=30s SUMMARY=0
ARGS=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$2"; shift 2 ;;
    --results) RESULTS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --max-load) MAX_LOAD="$2"; shift 2 ;;
    --max-wait-min) MAX_WAIT_MIN="$2"; shift 2 ;;
    --no-wait) WAIT=0; shift ;;
    --summary) SUMMARY=1; shift ;;
    --serve-duration) SERVE_DURATION="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 1 ;;
  esac
done
log() { echo "bench.sh: $*" >&2; }
for suite in ${ONLY//,/ }; do
  case "$suite" in
    train|topk|serve|redis-threads|families|soak) ;;
    *) echo "bench.sh: --only: unknown benchmark '$suite' (train, topk, serve, redis-threads, families, soak)" >&2; exit 1 ;;
  esac
done

# ---- summary -------------------------------------------------------------------------
if [ "$SUMMARY" = 1 ]; then
  python3 - "$RESULTS" <<'PY'
import json, os, sys
results = sys.argv[1]
def load(name):
    path = os.path.join(results, name)
    return json.load(open(path)) if os.path.exists(path) else None
def machine(doc):
    m = doc.get("machine", {})
    before = m.get("load_average_before") or m.get("load_average_at_start")
    after = m.get("load_average_after") or m.get("load_average_at_end")
    return (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores; load average (1/5/15 min) "
            f"before {' '.join(f'{x:.2f}' for x in before)}, after {' '.join(f'{x:.2f}' for x in after)}; "
            f"{doc.get('generated_at') or doc.get('context', {}).get('date', '')}")

train = load("train.json")
if train:
    print(f"train.json ({machine(train)})\n")
    print("| case | ms per training | s per ALS iteration | ratio |")
    print("|---|---|---|---|")
    for b in train["benchmarks"]:
        name = b["name"].replace("/min_time:2.000", "").replace("/real_time", "")
        if b.get("error_occurred"):
            print(f"| {name} | skipped: {b['error_message']} | | |")
            continue
        ratio = ""
        if "speedup_vs_1_thread" in b:
            ratio = f"speedup vs 1 thread {b['speedup_vs_1_thread']:.2f}x"
        if "cholesky_over_cg" in b:
            ratio = f"Cholesky / CG time {b['cholesky_over_cg']:.2f}x"
        print(f"| {name} {b.get('label', '')} | {b['real_time']:.0f} | {b['s/iter']:.4f} | {ratio} |")
    print()

topk = load("topk.json")
if topk:
    print(f"topk.json ({machine(topk)})\n")
    print("| case | ms per pass | GFLOP/s | users/s | fraction of sgemm |")
    print("|---|---|---|---|---|")
    for b in topk["benchmarks"]:
        name = b["name"].replace("/real_time", "")
        users = f"{b['users/s']:.0f}" if "users/s" in b else ""
        frac = f"{b['sgemm_fraction']:.2f}" if "sgemm_fraction" in b else ""
        print(f"| {name} | {b['real_time']:.0f} | {b['GFLOP/s']:.1f} | {users} | {frac} |")
    print()

serve = load("serve.json")
if serve:
    print(f"serve.json ({machine(serve)})\n")
    print("| target | tool | req/s | p50 ms | p99 ms | errors | server cores busy | client cores busy | server CPU us/req |")
    print("|---|---|---|---|---|---|---|---|---|")
    for target, tools in serve["results"].items():
        for tool, r in tools.items():
            errs = r["errors"].get("total", sum(r["errors"].values()))
            c = r.get("cpu", {})
            cell = lambda key, fmt: format(c[key], fmt) if c.get(key) is not None else ""
            print(f"| {target} | {tool} | {r['requests_per_second']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {errs} "
                  f"| {cell('server_cores_busy', '.2f')} | {cell('client_cores_busy', '.2f')} | {cell('server_cpu_us_per_request', '.1f')} |")
    print("\n| ratio to nginx | tool | req/s | p50 | p99 | server CPU per request |")
    print("|---|---|---|---|---|---|")
    for pair, tools in serve["ratios"].items():
        for tool, r in tools.items():
            f = lambda key: f"{r[key]:.2f}" if key in r else ""
            print(f"| {pair} | {tool} | {f('rps_ratio')} | {f('p50_ratio')} | {f('p99_ratio')} | {f('server_cpu_per_request_ratio')} |")
    print()

sweep = sorted((load(n) for n in os.listdir(results) if n.startswith("serve_redis_threads_")),
               key=lambda d: d["settings"]["serve_threads"])
if sweep:
    print("serve_redis_threads_N.json (reco serve on Redis, --threads N; load average at start "
          + ", ".join(f"{d['settings']['serve_threads']}: {d['machine']['load_average_at_start'][0]:.2f}" for d in sweep) + ")\n")
    print("| threads | tool | req/s | p50 ms | p99 ms | reco+redis cores | of which redis | client cores | idle cores | other cores | server CPU us/req |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for d in sweep:
        for tool, r in d["results"]["reco_redis"].items():
            c = r["cpu"]
            us = f"{c['server_cpu_us_per_request']:.1f}" if "server_cpu_us_per_request" in c else ""
            print(f"| {d['settings']['serve_threads']} | {tool} | {r['requests_per_second']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                  f"| {c['server_cores_busy']:.2f} | {c['redis_server_cores_busy']:.2f} | {c['client_cores_busy']:.2f} "
                  f"| {c['machine_idle_cores']:.2f} | {c['other_cores_busy']:.2f} | {us} |")
PY
  exit 0
fi

BUILD_DIR="$(mkdir -p "$BUILD_DIR" && cd "$BUILD_DIR" && pwd)"
mkdir -p "$RESULTS"
RESULTS="$(cd "$RESULTS" && pwd)"
wants() { [[ ",$ONLY," == *",$1,"* ]]; }
export RECO_PROGRESS=0

# ---- quiet machine -------------------------------------------------------------
# Percentage of CPU time not idle over `seconds`, from /proc/stat.
cpu_busy_percent() {
  local seconds="$1" a b
  a=($(head -1 /proc/stat))
  sleep "$seconds"
  b=($(head -1 /proc/stat))
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  local idle=$((b[4] - a[4] + b[5] - a[5]))  # idle + iowait
  echo $(((total - idle) * 100 / (total > 0 ? total : 1)))
}
wait_for_quiet() {
  [ "$WAIT" = 1 ] || return 0
  local deadline=$(($(date +%s) + MAX_WAIT_MIN * 60)) load busy
  while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    busy=$(cpu_busy_percent 5)
    if awk -v l="$load" -v m="$MAX_LOAD" 'BEGIN{exit !(l < m)}' && [ "$busy" -lt 10 ]; then
      log "machine quiet (load $load, ${busy}% busy)"
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "machine still busy after ${MAX_WAIT_MIN} min (load $load, ${busy}% CPU busy); top:"
      top -bn1 | sed -n '7,12p' >&2
      log "not measuring: rerun later, or pass --no-wait to record noisy numbers"
      exit 2
    fi
    log "machine busy (load $load, ${busy}% CPU busy; want load < $MAX_LOAD and < 10%); retrying in 60 s"
    sleep 55
  done
}

# annotate JSON LOAD_BEFORE COMMAND: adds machine info, load averages and the
# command to a Google Benchmark JSON output file.
annotate() {
  REPO="$REPO" python3 - "$@" <<'PY'
import json, os, platform, subprocess, sys
path, load_before, command = sys.argv[1], sys.argv[2], sys.argv[3]
def sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
with open(path) as f:
    doc = json.load(f)
doc["machine"] = {
    "cpu": cpu,
    "cores": os.cpu_count(),
    "mem_total_kb": int(open("/proc/meminfo").readline().split()[1]),
    "kernel": platform.release(),
    "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
    "compiler": sh("c++ --version").splitlines()[0],
    "load_average_before": [float(x) for x in load_before.split()],
    "load_average_after": list(os.getloadavg()),
}
# Other work may be uncommitted in the tree: say how much, so numbers can be
# traced to code.
doc["source"] = {"git_commit": sh("git rev-parse HEAD"),
                 "modified_tracked_files": sh("git status --porcelain --untracked-files=no").splitlines()}
doc["command"] = command
# No machine paths in the record: the repository's own paths become relative
# to it, and MovieLens is named as src/common/data_dir.cc finds it.
repo = os.environ["REPO"]
replacements = []
if os.environ.get("RECO_DATA_DIR"):
    replacements.append((os.path.realpath(os.environ["RECO_DATA_DIR"]), "$RECO_DATA_DIR"))
    replacements.append((os.environ["RECO_DATA_DIR"], "$RECO_DATA_DIR"))
replacements.append((os.path.realpath(os.path.join(repo, "..", "shared", "data", "movielens")),
                     "../shared/data/movielens"))
replacements.append((repo + "/", ""))
def portable(v):
    if isinstance(v, str):
        for old, new in replacements:
            v = v.replace(old, new)
        return v
    if isinstance(v, list):
        return [portable(x) for x in v]
    if isinstance(v, dict):
        return {k: portable(x) for k, x in v.items()}
    return v
doc = portable(doc)
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
PY
}

# ---- build -------------------------------------------------------------------------
log "building Release in $BUILD_DIR"
cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRECO_BUILD_TESTS=OFF >/dev/null
TARGETS=()
wants train && TARGETS+=(train_bench)
wants topk && TARGETS+=(topk_bench)
{ wants serve || wants redis-threads || wants families || wants soak; } && TARGETS+=(reco)
cmake --build "$BUILD_DIR" --target "${TARGETS[@]}"

cd "$REPO"
run_gbench() {  # run_gbench NAME BINARY
  local name="$1" bin="$2" out="$RESULTS/$1.json" load_before
  wait_for_quiet
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  local cmd=("$bin" --benchmark_out="$out" --benchmark_out_format=json)
  log "${cmd[*]}"
  "${cmd[@]}"
  annotate "$out" "$load_before" "scripts/bench.sh ${ARGS[*]}  # ran: ${cmd[*]#"$REPO/"}"
  log "wrote $out"
}
wants train && run_gbench train "$BUILD_DIR/bench/train_bench"
wants topk && run_gbench topk "$BUILD_DIR/bench/topk_bench"

if wants serve || wants redis-threads; then
  RECO="$BUILD_DIR/src/cli/reco"
  DATA="$BUILD_DIR/bench-data"
  DATA_DIR="${RECO_DATA_DIR:-$REPO/../shared/data/movielens}"
  log "model: reco pipeline on ml-100k, then precompute into lmdb://$DATA/store"
  "$RECO" pipeline --from "$DATA_DIR" --data-dir "$DATA/data" --out "$DATA/ml-100k" --models implicit \
    >"$DATA.pipeline.log" 2>&1 || { tail -5 "$DATA.pipeline.log" >&2; exit 1; }
  rm -rf "$DATA/store"
  "$RECO" precompute --model "$DATA/ml-100k/implicit-als.model" --store "lmdb://$DATA/store" \
    >"$DATA.precompute.log" 2>&1 || { tail -5 "$DATA.precompute.log" >&2; exit 1; }
fi
if wants serve; then
  wait_for_quiet
  LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)" \
    BENCH_COMMAND="scripts/bench.sh ${ARGS[*]}" \
    bash "$REPO/bench/serve_bench.sh" --reco "$RECO" --model "$DATA/ml-100k/implicit-als.model" \
    --lmdb-store "lmdb://$DATA/store" --duration "$SERVE_DURATION" --out "$RESULTS/serve.json"
fi
if wants redis-threads; then
  # Does reco serve on Redis wait (blocking GETs on the event-loop threads) or
  # compute? More threads help only in the first case.
  for threads in 2 4 8 16; do
    wait_for_quiet
    LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)" \
      BENCH_COMMAND="scripts/bench.sh ${ARGS[*]}" \
      bash "$REPO/bench/serve_bench.sh" --reco "$RECO" --model "$DATA/ml-100k/implicit-als.model" \
      --lmdb-store "lmdb://$DATA/store" --duration 10s --load-targets reco_redis \
      --serve-threads "$threads" --out "$RESULTS/serve_redis_threads_$threads.json"
  done
fi
if wants families; then
  wait_for_quiet
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  bash "$REPO/bench/families_bench.sh" "$BUILD_DIR/src/cli/reco" "$RESULTS/families.json"
  annotate "$RESULTS/families.json" "$load_before" "scripts/bench.sh ${ARGS[*]}"
  log "wrote $RESULTS/families.json"
fi
if wants soak; then
  wait_for_quiet
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  bash "$REPO/bench/soak_bench.sh" --reco "$BUILD_DIR/src/cli/reco" --out "$RESULTS/soak.json"
  annotate "$RESULTS/soak.json" "$load_before" "scripts/bench.sh ${ARGS[*]}"
  log "wrote $RESULTS/soak.json"
fi
