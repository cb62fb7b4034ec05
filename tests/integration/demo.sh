#!/usr/bin/env bash
# The README's first command (make demo). For now it shows the policy half of
# OE on the real kernel: two hosts in network namespaces, oe-agent on one,
# policy groups turned into XFRM policies, a first packet caught by a trap and
# answered with the group's failure shunt (no IKE negotiation yet).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$top/build/bin
A=oedemo-west B=oedemo-east
W=$(mktemp -d /tmp/oe-demo.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "two hosts: west 192.0.2.1 (runs oe-agent), east 192.0.2.2 (with 198.51.100.7 and 203.0.113.9)"
ip netns add $A; ip netns add $B
ip link add w0 netns $A type veth peer name e0 netns $B
ip -n $A addr add 192.0.2.1/24 dev w0; ip -n $B addr add 192.0.2.2/24 dev e0
for n in $A $B; do ip -n $n link set lo up; done
ip -n $A link set w0 up; ip -n $B link set e0 up
ip -n $B addr add 198.51.100.7/32 dev lo; ip -n $B addr add 203.0.113.9/32 dev lo
ip -n $A route add default via 192.0.2.2; ip -n $B route add default via 192.0.2.1

step "policy groups on west"
mkdir -p $W/policies
echo "198.51.100.0/24" > $W/policies/private-or-clear
echo "203.0.113.0/24"  > $W/policies/private
echo "192.0.2.0/24"    > $W/policies/clear
for g in private-or-clear private clear; do printf '  %-17s %s\n' "$g:" "$(cat $W/policies/$g)"; done

step "start oe-agent on west"
ip netns exec $A "$BIN/oe-agent" --nofork --policies $W/policies --control $W/oe.ctl \
  --resolver 192.0.2.53 --log $W/agent.log &
PID=$!
for _ in $(seq 50); do [ -S $W/oe.ctl ] && break; sleep 0.1; done
sed 's/^/  /' $W/agent.log

step "the kernel's policies (ipsec eroute)"
"$BIN/ipsec" eroute --ctlsocket $W/oe.ctl | sed 's/^/  /'

step "ping east's private-or-clear address 198.51.100.7: the first packet is held, then passes"
ip netns exec $A ping -c 3 -i 0.3 -W 1 198.51.100.7 | sed 's/^/  /'
step "ping east's private address 203.0.113.9: dropped, never sent in clear"
ip netns exec $A ping -c 2 -W 1 203.0.113.9 | sed 's/^/  /' || true

step "what the agent did (its log)"
grep -E 'ACQUIRE|shunt' $W/agent.log | sed 's/^/  /'

step "ipsec policy explain 198.51.100.7"
"$BIN/ipsec" policy explain --ctlsocket $W/oe.ctl 198.51.100.7 | sed 's/^/  /'
step "ipsec policy explain 203.0.113.9"
"$BIN/ipsec" policy explain --ctlsocket $W/oe.ctl 203.0.113.9 | sed 's/^/  /'
step "ipsec eroute: the per-peer shunts beat the traps they came from"
"$BIN/ipsec" eroute --ctlsocket $W/oe.ctl | grep -E '/32 *->.*(198.51.100|203.0.113)' | sed 's/^/  /'
echo
echo "Next: IKEv2 and keys in DNS replace the failure shunt with an ESP tunnel (see README)."
