#!/usr/bin/env bash
# ipsec verify of this machine, in a network namespace of its own: an
# nftables ruleset that drops ESP must make the ESP line FAILED (and the
# exit status non-zero) while IKE stays OK; a ruleset that lets IKE,
# NAT-T and ESP through must make all three OK. The sysctls are the
# namespace's own: ip_forward is FAILED for a gateway until it is set.
# DNS is not served here (a refused resolver): only the lines asked about
# are judged. Needs root and nft (make deps); a few seconds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/check.sh"

BIN=${BIN:-$top/build/bin}
N=verify-$$
W=$(mktemp -d /tmp/oe-verify.XXXXXX)
cleanup() {
  ip netns del "$N" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

in_n() { ip netns exec "$N" "$@"; }
ip netns add "$N"
in_n ip link set lo up
in_n ip link add d0 type veth peer name d1
in_n ip link set d0 up && in_n ip link set d1 up
in_n ip addr add 192.0.2.77/24 dev d0

cat > "$W/oe.conf" <<CONF
# verify.sh: a gateway for a subnet, the xfrm sysctls left alone
xfrm-larval-drop = leave
xfrm-acq-expires = 0
subnets = 203.0.113.0/28
key-file = $W/none.pem
control = $W/no-agent.ctl
CONF

# verify: the whole report in $W/out (text) and $W/out.json, its exit status in $W/rc
verify() {
  in_n "$BIN/ipsec" verify --config "$W/oe.conf" --resolver 127.0.0.1@9 --timeout 1 > "$W/out" 2>&1
  echo $? > "$W/rc"
  in_n "$BIN/ipsec" verify --config "$W/oe.conf" --resolver 127.0.0.1@9 --timeout 1 --json > "$W/out.json" 2>/dev/null
}
# line NAME STATUS: the report has the check NAME with [STATUS]
line() { grep -E -q "^  $1 +\\[$2\\]" "$W/out"; }
json_status() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([c["status"] for c in d["checks"] if c["check"]==sys.argv[2]][0])' "$W/out.json" "$1"
}
show() { cat "$W/out"; }

# 1. a ruleset that drops ESP on input
cat > "$W/drop-esp.nft" <<'NFT'
table inet filter {
  chain input { type filter hook input priority filter; policy accept;
    meta l4proto esp counter drop
  }
}
NFT
in_n nft -f "$W/drop-esp.nft"
in_n sysctl -q -w net.ipv4.ip_forward=0
verify
check "drops ESP: the ESP line says FAILED" line 'ESP \(protocol 50\)' FAILED
check "drops ESP: and names the rule that drops it" grep -q 'in IPv4: dropped by inet filter input rule handle [0-9]* (drop)' "$W/out"
check "drops ESP: IKE (UDP 500) stays OK (the ruleset was read)" line 'IKE \(UDP 500\)' OK
check "drops ESP: the exit status is 1" test "$(cat "$W/rc")" = 1
check "drops ESP: --json says FAILED too" test "$(json_status 'ESP (protocol 50)')" = FAILED
check "gateway without ip_forward: FAILED" line ip_forward FAILED
check "XFRM netlink answers in the namespace" line 'XFRM netlink' OK
[ $FAILED = 0 ] || show

# 2. a ruleset as FreeS/WAN's firewall document asks: IKE, NAT-T and ESP in and out
cat > "$W/good.nft" <<'NFT'
flush ruleset
table inet filter {
  chain input { type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif lo accept
    udp dport { 500, 4500 } accept
    meta l4proto esp accept
  }
  chain output { type filter hook output priority filter; policy drop;
    ct state established,related accept
    oif lo accept
    udp sport { 500, 4500 } accept
    meta l4proto esp accept
  }
}
NFT
in_n nft -f "$W/good.nft"
in_n sysctl -q -w net.ipv4.ip_forward=1
before=$FAILED
verify
check "correct ruleset: IKE (UDP 500) OK" line 'IKE \(UDP 500\)' OK
check "correct ruleset: NAT-T (UDP 4500) OK" line 'NAT-T \(UDP 4500\)' OK
check "correct ruleset: ESP (protocol 50) OK" line 'ESP \(protocol 50\)' OK
check "correct ruleset: ICMP for path MTU OK (ct state related)" line 'ICMP for path MTU' OK
check "correct ruleset: --json says OK" test "$(json_status 'ESP (protocol 50)')" = OK
check "gateway with ip_forward: OK" line ip_forward OK
check "the address's keys are looked up" grep -q '^Checking keys for 192.0.2.77' "$W/out"
[ $FAILED = "$before" ] || show
summary "verify"
