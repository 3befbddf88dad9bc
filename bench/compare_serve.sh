#!/usr/bin/env bash
# Serving throughput of `inferneo serve` and llama.cpp's llama-server on the same model file:
# starts each server in turn (never both at once, so they do not share the CPU), waits for
# GET /health, runs bench/serve_bench with the same arguments, stops it, and prints both results
# and the ratio of output tokens/s. A server that is not there is skipped with a message.
#
# usage: [INFERNEO=build/inferneo] [LLAMA_SERVER=/path/llama-server] [SERVE_BENCH=build/serve_bench]
#        bench/compare_serve.sh -m MODEL.gguf [-t THREADS] [-s SLOTS] [-c CTX_PER_SEQ] \
#            [-- SERVE_BENCH_ARGS...]
#   -s: parallel sequences (inferneo --max-num-seqs, llama-server -np); default 16
#   -c: context per sequence (inferneo -c; llama-server gets -c CTX*SLOTS); default 512
#   SERVE_BENCH_ARGS default to: --concurrency 16 --requests 64 --prompt-tokens 128
#   --max-tokens 128 --ignore-eos (no --url: the script sets it per server)
# Ports: INFERNEO_PORT (8101), LLAMA_PORT (8102). READY_TIMEOUT_S (120) bounds start-up.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    sed -n '7,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

model="" threads=$(nproc) slots=16 ctx=512
while getopts "m:t:s:c:h" opt; do
    case $opt in
    m) model=$OPTARG ;; t) threads=$OPTARG ;; s) slots=$OPTARG ;; c) ctx=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ -n "$model" ] || usage
[ -f "$model" ] || { echo "compare_serve: no model file '$model'" >&2; exit 2; }
for n in "$threads" "$slots" "$ctx"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "compare_serve: -t/-s/-c want positive integers" >&2; exit 2; }
done
bench_args=("$@")
[ ${#bench_args[@]} -gt 0 ] ||
    bench_args=(--concurrency 16 --requests 64 --prompt-tokens 128 --max-tokens 128 --ignore-eos)
for a in "${bench_args[@]}"; do
    [ "$a" != --url ] || { echo "compare_serve: do not pass --url; the script sets it" >&2; exit 2; }
done

INFERNEO=${INFERNEO:-build/inferneo}
SERVE_BENCH=${SERVE_BENCH:-build/serve_bench}
INFERNEO_PORT=${INFERNEO_PORT:-8101}
LLAMA_PORT=${LLAMA_PORT:-8102}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-120}
[ -x "$SERVE_BENCH" ] || { echo "compare_serve: no serve_bench at $SERVE_BENCH (set SERVE_BENCH)" >&2; exit 2; }

logdir=$(mktemp -d /tmp/compare_serve.XXXXXX)
server_pid="" bench_pid=""

stop_server() {
    [ -n "$server_pid" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    { wait "$server_pid"; } 2>/dev/null || true # llama-server may abort on exit: not our error
    server_pid=""
}
# serve_bench runs in the background so that a signal to this script is handled at once.
trap 'stop_server' EXIT
trap '[ -z "$bench_pid" ] || kill "$bench_pid" 2>/dev/null; stop_server; exit 130' INT TERM

# wait_ready NAME PORT: 0 once GET /health answers 200, 1 if the server died or took too long.
wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT_S))
    while [ $SECONDS -lt "$deadline" ]; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "compare_serve: $1 exited during start-up; last lines of $logdir/$1.log:" >&2
            tail -5 "$logdir/$1.log" >&2
            return 1
        fi
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/health")" = 200 ] && return 0
        sleep 0.5
    done
    echo "compare_serve: $1 not ready after ${READY_TIMEOUT_S}s (log: $logdir/$1.log)" >&2
    return 1
}

# run_one NAME PORT COMMAND...: starts the server, benchmarks it, stops it; JSON in $logdir/NAME.json.
run_one() {
    local name=$1 port=$2 rc=0
    shift 2
    if curl -s -o /dev/null "http://127.0.0.1:$port/health"; then
        echo "compare_serve: port $port is already in use; skipping $name (set ${name^^}_PORT)" >&2
        return 0
    fi
    echo "== $name: $*" >&2
    "$@" >"$logdir/$name.log" 2>&1 &
    server_pid=$!
    if wait_ready "$name" "$port"; then
        "$SERVE_BENCH" --url "http://127.0.0.1:$port" "${bench_args[@]}" --json \
            >"$logdir/$name.json" &
        bench_pid=$!
        wait "$bench_pid" || rc=$?
        bench_pid=""
        [ $rc -eq 0 ] || echo "compare_serve: serve_bench reported failures against $name (rc=$rc)" >&2
    fi
    stop_server
}

if [ -x "$INFERNEO" ] && "$INFERNEO" serve --help >/dev/null 2>&1; then
    run_one inferneo "$INFERNEO_PORT" "$INFERNEO" serve -m "$model" --port "$INFERNEO_PORT" \
        -t "$threads" -c "$ctx" --max-num-seqs "$slots"
else
    echo "compare_serve: skipping inferneo: no '$INFERNEO serve' (set INFERNEO)" >&2
fi
if [ -n "${LLAMA_SERVER:-}" ] && [ -x "$LLAMA_SERVER" ]; then
    run_one llama "$LLAMA_PORT" "$LLAMA_SERVER" -m "$model" --port "$LLAMA_PORT" -t "$threads" \
        -c $((ctx * slots)) -np "$slots" -cb --no-webui
else
    echo "compare_serve: skipping llama-server: set LLAMA_SERVER to a llama-server binary" >&2
fi

field() { [ -s "$2" ] && sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2" || true; }  # empty when that side did not run
num() {
    case $1 in '' | null) printf - ;; *[!0-9]*) printf '%.2f' "$1" ;; *) printf '%s' "$1" ;; esac
}
[ -s "$logdir/inferneo.json" ] || [ -s "$logdir/llama.json" ] || {
    echo "compare_serve: no server was benchmarked" >&2
    rmdir "$logdir" 2>/dev/null || echo "compare_serve: server logs in $logdir" >&2
    exit 1
}
echo "model: $model  threads: $threads  slots: $slots  ctx/seq: $ctx  serve_bench: ${bench_args[*]}"
printf '%-26s %14s %14s\n' metric inferneo llama-server
for key in completed failed duration_s request_throughput output_throughput mean_ttft_ms \
    p99_ttft_ms mean_tpot_ms p99_tpot_ms mean_itl_ms p99_itl_ms; do
    o=$(field "$key" "$logdir/inferneo.json") t=$(field "$key" "$logdir/llama.json")
    printf '%-26s %14s %14s\n' "$key" "$(num "$o")" "$(num "$t")"
done
o=$(field output_throughput "$logdir/inferneo.json") t=$(field output_throughput "$logdir/llama.json")
awk -v a="${o:-0}" -v b="${t:-0}" 'BEGIN {
    if (a > 0 && b > 0) printf "output tokens/s ratio inferneo/llama-server: %.2fx\n", a / b
    else print "output tokens/s ratio inferneo/llama-server: - (one side missing)" }'
echo "raw JSON and server logs: $logdir"
