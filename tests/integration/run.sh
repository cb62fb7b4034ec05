#!/usr/bin/env bash
# Runs every integration script; fails if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then echo "integration tests need root (network namespaces)"; exit 1; fi
rc=0
for t in "$here"/policy_kernel.sh "$here"/dns_lab.sh "$here"/dns_faults.sh "$here"/publish.sh "$here"/rollover.sh "$here"/verify.sh; do
  echo "== $t"
  bash "$t" || rc=1
done
exit $rc
