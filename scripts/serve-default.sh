#!/usr/bin/env bash
# Builds Inferneo and serves the default model (the trained stories260K) on 127.0.0.1:8000 with the
# OpenAI-compatible API. The model comes from ../shared/models (IFN_SHARED_DIR), or, where that
# is absent, is downloaded once from its public source (karpathy/tinyllamas on Hugging Face) into
# ~/.cache/inferneo. Extra arguments go to `inferneo serve` (e.g. --port 8080 --host 0.0.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
models="${IFN_SHARED_DIR:-../shared}/models/stories260K"
if [ ! -f "$models/stories260K.bin" ]; then
    models="${XDG_CACHE_HOME:-$HOME/.cache}/inferneo/stories260K"
    source_url="https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K"
    mkdir -p "$models"
    for file in stories260K.bin tok512.bin; do
        if [ ! -f "$models/$file" ]; then
            command -v curl >/dev/null || apt-get install -y -qq curl >/dev/null
            echo "serve-default.sh: downloading $file" >&2
            curl -fL --retry 3 -o "$models/$file.part" "$source_url/$file"
            mv "$models/$file.part" "$models/$file"
        fi
    done
    printf '%s  %s\n' \
        b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696 "$models/stories260K.bin" \
        037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312 "$models/tok512.bin" |
        sha256sum -c --quiet -
fi
exec build/inferneo serve -m "$models/stories260K.bin" -z "$models/tok512.bin" "$@"
