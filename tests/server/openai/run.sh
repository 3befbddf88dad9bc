#!/usr/bin/env bash
# Integration tests of `inferneo serve` through the official `openai` npm SDK, raw HTTP/SSE and
# WebSocket clients.
#
#   tests/server/openai/run.sh BINARY [--node-test-option=value...] [FILE.test.mjs...]
#   e.g. run.sh build/inferneo chat.test.mjs --test-name-pattern=logprobs
#
# Installs the pinned npm packages (package-lock.json) into tests/server/openai/node_modules when
# missing or stale, then runs every *.test.mjs here one file at a time. Each test file starts and
# stops its own servers. IFN_SHARED_DIR (default: ../shared beside the repository) holds models/.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 INFERNEO_BINARY [node --test options...] [FILE.test.mjs...]" >&2
    exit 2
fi
bin=$(realpath -- "$1")
shift
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -- "$here/../../.." && pwd)

if [[ ! -x "$bin" ]]; then
    echo "$0: $bin is not an executable" >&2
    exit 2
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "$0: node and npm are required (Node.js 20 or newer)" >&2
    exit 2
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
    echo "$0: Node.js 20 or newer is required (found $(node --version))" >&2
    exit 2
fi

# npm ci when node_modules is missing or older than the lock file (npm writes its own copy of the
# lock to node_modules/.package-lock.json on every install).
stamp="$here/node_modules/.package-lock.json"
if [[ ! -f "$stamp" || "$here/package-lock.json" -nt "$stamp" || "$here/package.json" -nt "$stamp" ]]; then
    log=$(mktemp)
    if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1); then
        cat "$log" >&2
        rm -f "$log"
        echo "$0: npm ci failed" >&2
        exit 1
    fi
    rm -f "$log"
    touch "$stamp"
fi

export INFERNEO_BIN="$bin"
export IFN_SHARED_DIR="${IFN_SHARED_DIR:-$repo/../shared}"
# Arguments after BINARY: node --test options (as --name=value), and test files to run instead of
# all of them (paths from the current directory, or names of files here).
options=() files=()
for a in "$@"; do
    if [[ "$a" == -* ]]; then options+=("$a")
    elif [[ -f "$a" ]]; then files+=("$(realpath -- "$a")")
    else files+=("$here/$a")
    fi
done
cd "$here"
(( ${#files[@]} )) || files=(./*.test.mjs)
exec node --test --test-concurrency=1 --test-timeout=180000 --test-reporter=spec ${options[@]+"${options[@]}"} "${files[@]}"
