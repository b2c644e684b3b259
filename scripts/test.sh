#!/usr/bin/env bash
# test.sh — builds netcache and runs every test: the concurrent layers under ThreadSanitizer and
# AddressSanitizer+UBSan, then the whole suite (unit, stress, model checks, end-to-end FUSE
# mounts) in the release build. Installs its own dependencies. Run as root from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=${JOBS:-2}

# Sanitizer builds hold only the layers below FUSE and their tests (NETCACHE_CORE_ONLY).
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1"
for preset in tsan asan-ubsan; do
  echo "== $preset build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset tests"
  # setarch -R: older TSan runtimes cannot map their shadow memory under high ASLR entropy.
  (cd "build-${preset%%-*}" && setarch "$(uname -m)" -R ctest -j "$jobs" --output-on-failure)
done

echo "== release build"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
echo "== release tests (unit, stress, model, end-to-end)"
cd build
ctest -j "$jobs" --output-on-failure
