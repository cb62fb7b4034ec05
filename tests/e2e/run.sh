#!/usr/bin/env bash
# Every end-to-end suite in one guest boot (make check-e2e), INSIDE the QEMU
# guest: OE between agents (oe.sh, with the suites it sources), libreswan's
# CAT client behind a NAT against our pool (cat.sh), the NAT's mappings
# changing under it (natremap.sh), our client behind NATs (nat.sh), and a key
# rollover with knotd (rollover.sh). Each suite builds its own namespaces
# and removes them; one that fails does not stop the others.
#   tests/e2e/run.sh [SUITE...]   (default: all of them, in this order)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(oe cat natremap nat rollover)
failed=()
for s in "${SUITES[@]}"; do
  echo "=== e2e suite $s ($(date +%T))"
  start=$SECONDS
  bash "$top/tests/e2e/$s.sh" || failed+=("$s")
  echo "=== e2e suite $s: $((SECONDS - start)) s"
  ip -all netns delete 2>/dev/null # whatever a failed suite left, so that the next starts clean
done
if [ ${#failed[@]} -eq 0 ]; then
  echo "e2e suites: all ${#SUITES[@]} passed"
else
  echo "e2e suites: ${#failed[@]} of ${#SUITES[@]} failed: ${failed[*]}"
  exit 1
fi
