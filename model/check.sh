#!/usr/bin/env bash
# check.sh [VARIANT EXPECTED] — verifies model/folio.pml with spin. Without VARIANT the model must have
# no errors; with a BUG_* variant spin must find a counter-example (proof that the properties
# can fail, i.e. that they say something), and the violated property must match EXPECTED.
set -euo pipefail
variant=${1:-}
expected=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/folio.pml" "$work/"
cd "$work"
define=()
[ -n "$variant" ] && define=(-D"$variant")
spin -a "${define[@]}" folio.pml >/dev/null
gcc -O2 -DSAFETY -o pan pan.c
out=$(./pan -m100000 2>&1 || true)
errors=$(printf '%s\n' "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p' | head -1)
states=$(printf '%s\n' "$out" | sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' | head -1)
if [ -z "$errors" ]; then
  printf '%s\n' "$out"
  echo "model: could not read spin's result" >&2
  exit 2
fi
if [ -z "$variant" ]; then
  echo "model folio.pml: errors=$errors states=$states"
  if [ "$errors" != 0 ]; then
    ./pan -r -m100000 2>&1 | tail -30 || true
    spin -t -p folio.pml | tail -40 || true
    exit 1
  fi
else
  reason=$(printf '%s\n' "$out" | grep -E 'assertion violated|invalid end state' | head -1)
  echo "model folio.pml with $variant: errors=$errors ($reason)"
  [ "$errors" != 0 ] || { echo "expected a counter-example for $variant" >&2; exit 1; }
  if [ -n "$expected" ] && ! grep -qF -- "$expected" <<<"$reason"; then
    echo "expected the violation to mention '$expected'" >&2
    exit 1
  fi
fi
