#!/usr/bin/env bash
# The whole test suite: a Release build and an AddressSanitizer+UndefinedBehaviorSanitizer build,
# each running every CTest test. Needs ../shared beside the checkout for the model tests
# (IFN_SHARED_DIR overrides); exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build
ctest --test-dir build --output-on-failure -j "$jobs"

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIFN_SANITIZE=ON >/dev/null
ninja -C build-asan
IFN_STRESS_REQUESTS=1000 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"

# ThreadSanitizer on the multi-threaded parts: compute pool, KV cache, engine (scheduler thread,
# submits and aborts from other threads), WebSocket connections (concurrent senders), the model
# manager (loader thread, leases, shared pool) and routing reloads. The engine stress runs a
# shorter schedule here.
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIFN_TSAN=ON >/dev/null
ninja -C build-tsan test_pool test_kv_stress test_kv_cache test_block_table test_engine_stress test_ws \
    test_manager test_manager_control test_router_holder inferneo_cli
IFN_STRESS_REQUESTS=200 TSAN_OPTIONS=halt_on_error=1 \
    ctest --test-dir build-tsan --output-on-failure -j "$jobs" \
    -R '^(test_pool|test_kv_stress|test_kv_cache|test_block_table|test_engine_stress|test_ws|test_manager|test_manager_control|test_router_holder)$'
