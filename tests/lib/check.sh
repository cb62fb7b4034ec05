# Shared by the shell test scripts: counting checks and printing the summary
# line CI reads ("N passed, N failed").
PASSED=0
FAILED=0
FAILED_NAMES=()

ok() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
not_ok() {
  FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1"); echo "FAIL - $1"
  [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/       /'
  return 0
}

# check NAME COMMAND...: passes when the command exits 0.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}

# check_not NAME COMMAND...: passes when the command fails.
check_not() {
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then not_ok "$name"; else ok "$name"; fi
}

# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
  local t=$1; shift
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.1
  done
}

summary() {
  echo "$1: $PASSED passed, $FAILED failed"
  for n in "${FAILED_NAMES[@]}"; do echo "  failed: $n"; done
  [ "$FAILED" -eq 0 ]
}
