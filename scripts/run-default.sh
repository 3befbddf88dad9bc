#!/usr/bin/env bash
# Builds Inferneo and runs the default model (the trained stories260K from ../shared/models)
# on a prompt. Extra arguments go to `inferneo run` (e.g. -p "Lily went to" -n 100).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
models="${IFN_SHARED_DIR:-../shared}/models/stories260K"
if [ ! -f "$models/stories260K.bin" ]; then
    echo "run-default.sh: $models/stories260K.bin not found (set IFN_SHARED_DIR)" >&2
    exit 1
fi
if [ $# -eq 0 ]; then set -- -p "Once upon a time" -n 200; fi
exec build/inferneo run -m "$models/stories260K.bin" -z "$models/tok512.bin" "$@"
