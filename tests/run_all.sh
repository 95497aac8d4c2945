#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs (tests/setup.sh), then every *_test.ts under tests/,
# and ends with the line `N passed, N failed`. Extra arguments go to `deno test` (e.g. a file filter).
set -uo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
deno=node_modules/.bin/deno
out=$(mktemp)
NO_COLOR=1 "$deno" test -A --no-prompt "${@:-tests/}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
# deno's summary: "ok | 12 passed (3 steps) | 0 failed (1s)" or "FAILED | 10 passed | 2 failed (1s)"
summary=$(grep -E '^(ok|FAILED) \| ' "$out" | tail -n 1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
rm -f "$out"
if [ -z "$passed" ]; then passed=0; failed=${failed:-1}; [ "$rc" = 0 ] && rc=1; fi
echo "${passed} passed, ${failed:-0} failed"
exit "$rc"
