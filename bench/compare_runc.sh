#!/usr/bin/env bash
# Single-thread generation speed of `inferneo run` against llama2.c's run.c on stories260K,
# interleaved on the same machine. RUNC must point at a run.c binary you built yourself
# (e.g. gcc -O3 -march=native -o run run.c -lm); this script builds nothing.
# usage: RUNC=/path/to/run bench/compare_runc.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-10}
models="${IFN_SHARED_DIR:-../shared}/models/stories260K"
bin=build/inferneo
: "${RUNC:?set RUNC to a llama2.c run binary}"

ours=()
theirs=()
for ((i = 0; i < reps; i++)); do
    t=$("$bin" run -m "$models/stories260K.bin" -z "$models/tok512.bin" -n 256 --temp 0 -t 1 2>&1 >/dev/null |
        sed -n 's/.*generation: .*(\([0-9.]*\) tokens\/s).*/\1/p')
    ours+=("$t")
    t=$("$RUNC" "$models/stories260K.bin" -z "$models/tok512.bin" -t 0.0 -n 256 2>&1 >/dev/null |
        sed -n 's/achieved tok\/s: \([0-9.]*\)/\1/p')
    theirs+=("$t")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m_ours=$(median "${ours[@]}")
m_theirs=$(median "${theirs[@]}")
echo "inferneo run -t 1: ${ours[*]}"
echo "llama2.c run.c:    ${theirs[*]}"
awk -v a="$m_ours" -v b="$m_theirs" 'BEGIN {printf "median tokens/s: inferneo %.0f, run.c %.0f, ratio %.2fx\n", a, b, a / b}'
