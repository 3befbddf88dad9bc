#!/usr/bin/env bash
# Side-by-side speed of `inferneo bench` and llama.cpp's llama-bench on the same GGUF files,
# thread count and test sizes, interleaved per file. LLAMA_BENCH must point at a llama-bench
# binary you built yourself from a llama.cpp checkout; without it only Inferneo runs.
# usage: [LLAMA_BENCH=/path/llama-bench] bench/compare.sh -t THREADS -p 512 -n 128 -r 3 FILE.gguf...
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 pp=512 tg=128 reps=3
while getopts "t:p:n:r:" opt; do
    case $opt in
    t) threads=$OPTARG ;; p) pp=$OPTARG ;; n) tg=$OPTARG ;; r) reps=$OPTARG ;;
    *) echo "usage: $0 [-t N] [-p N] [-n N] [-r N] FILE.gguf..." >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-t N] [-p N] [-n N] [-r N] FILE.gguf..." >&2; exit 2; }

field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
printf '%-36s %-6s %12s %12s %7s %8s\n' file test inferneo llama.cpp ratio "GB/s"
for file in "$@"; do
    ours=$(build/inferneo bench -m "$file" -p "$pp" -n "$tg" -t "$threads" -r "$reps" --json)
    theirs=""
    if [ -n "${LLAMA_BENCH:-}" ]; then
        theirs=$("$LLAMA_BENCH" -m "$file" -p "$pp" -n "$tg" -t "$threads" -r "$reps" -o jsonl 2>/dev/null)
    fi
    for test in "pp$pp" "tg$tg"; do
        kind=${test:0:2}
        o=$(grep "\"test\": \"$test\"" <<<"$ours" | field avg_ts || true)
        g=$(grep "\"test\": \"$test\"" <<<"$ours" | field gbps || true)
        if [ "$kind" = pp ]; then
            t=$(grep "\"n_prompt\": *$pp, *\"n_gen\": *0" <<<"$theirs" | field avg_ts || true)
        else
            t=$(grep "\"n_prompt\": *0, *\"n_gen\": *$tg" <<<"$theirs" | field avg_ts || true)
        fi
        ratio=$(awk -v a="${o:-0}" -v b="${t:-0}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else print "-"}')
        printf '%-36s %-6s %12.2f %12s %7s %8s\n' "$(basename "$file")" "$test" "${o:-0}" "${t:--}" "$ratio" "${g:--}"
    done
done
