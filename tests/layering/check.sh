#!/usr/bin/env bash
# Which directory may include which (DESIGN.md: dependencies point one way).
# Every quoted #include of every .c/.h under a library is resolved to the
# directory it names; an include outside the directory's row, or of another
# library's private header, fails with file:line and the rule it breaks.
# Usage: tests/layering/check.sh [ROOT]
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2

# dir: the directories it may include from (itself always)
declare -A allowed=(
  [common]=""
  [policy]="common"
  [kernel]="common"
  [dnskeys]="common"
  [oe-agent/ike]="common"
  [oe-agent]="oe-agent/ike policy kernel dnskeys common"
  [tools]="policy kernel dnskeys common"
)
# the one public header of each library: what another directory may include
declare -A public=(
  [common]="common/common.h"
  [policy]="policy/policy.h"
  [kernel]="kernel/kernel.h"
  [dnskeys]="dnskeys/dnskeys.h"
  [oe-agent/ike]="oe-agent/ike/ike.h"
)

# The directory a file belongs to: the longest row that prefixes it.
dir_of() {
  local f=$1 best=""
  for d in "${!allowed[@]}"; do
    case "$f" in "$d"/*) [ ${#d} -gt ${#best} ] && best=$d ;; esac
  done
  printf '%s' "$best"
}

bad=0 n=0
while IFS= read -r file; do
  from=$(dir_of "$file")
  [ -n "$from" ] || continue
  lineno=0
  while IFS= read -r line; do
    lineno=$((lineno + 1))
    [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]] || continue
    inc=${BASH_REMATCH[1]}
    n=$((n + 1))
    # as the compiler finds it: beside the file first, then from the root (-I.)
    if [ -e "$(dirname "$file")/$inc" ]; then
      target=$(realpath --relative-to=. "$(dirname "$file")/$inc")
    else
      target=$inc
    fi
    to=$(dir_of "$target")
    [ -n "$to" ] || { echo "$file:$lineno: includes \"$inc\", which is in no library"; bad=1; continue; }
    [ "$to" = "$from" ] && continue
    ok=0
    for d in ${allowed[$from]}; do [ "$d" = "$to" ] && ok=1; done
    if [ $ok = 0 ]; then
      echo "$file:$lineno: $from may not include $to (\"$inc\"): $from uses only ${allowed[$from]:-nothing}"
      bad=1
    elif [ "$target" != "${public[$to]}" ]; then
      echo "$file:$lineno: \"$inc\" is private to $to: include ${public[$to]}"
      bad=1
    fi
  done < "$file"
done < <(find common policy kernel dnskeys oe-agent tools -name '*.[ch]' | sort)
if [ $bad = 0 ]; then
  echo "layering: $n includes checked, all as the table allows"
fi
exit $bad
