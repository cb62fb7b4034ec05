#!/usr/bin/env bash
# Policy groups on the real kernel: two network namespaces joined by veth,
# oe-agent in the first, real XFRM policies and real packets. Needs root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/check.sh"

BIN=${BIN:-$top/build/bin}
A=oet-a-$$ B=oet-b-$$
W=$(mktemp -d /tmp/oe-policy-kernel.XXXXXX)
CTL=$W/oe.ctl
AGENT_PID=

cleanup() {
  [ -n "$AGENT_PID" ] && kill -9 "$AGENT_PID" 2>/dev/null
  [ -n "${MON_PID:-}" ] && kill "$MON_PID" 2>/dev/null
  [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null
  ip netns del "$A" 2>/dev/null
  ip netns del "$B" 2>/dev/null
  mkdir -p "$top/tests/out" && cp "$W"/*.log "$top/tests/out/" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

# --- the two hosts -----------------------------------------------------------
ip netns add "$A"; ip netns add "$B"
ip link add va netns "$A" type veth peer name vb netns "$B"
for n in "$A" "$B"; do
  ip -n "$n" link set lo up
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n "$A" addr add 192.0.2.1/24 dev va
ip -n "$A" addr add 2001:db8::1/64 dev va nodad
ip -n "$B" addr add 192.0.2.2/24 dev vb
ip -n "$B" addr add 2001:db8::2/64 dev vb nodad
ip -n "$A" link set va up; ip -n "$B" link set vb up
ip -n "$A" route add 198.51.100.0/24 via 192.0.2.2
ip -n "$A" route add 203.0.113.0/24 via 192.0.2.2
ip -n "$A" route add 2001:db8:2::/48 via 2001:db8::2
ip -n "$B" route add default via 192.0.2.1
ip -n "$B" route add default via 2001:db8::1
for a in 198.51.100.7 198.51.100.8 198.51.100.9 198.51.100.70 198.51.100.200 203.0.113.9 203.0.113.10 203.0.113.53; do
  ip -n "$B" addr add $a/32 dev lo
done
for a in 2001:db8:2::7 2001:db8:2:1::9 2001:db8:2:1::10 2001:db8:2:2::5; do
  ip -n "$B" addr add $a/128 dev lo nodad
done

# --- policies and configuration ----------------------------------------------
P=$W/policies; mkdir -p "$P"
cat > "$P/private-or-clear" <<'P'
# opportunistic: try, fall back to clear
198.51.100.0/24
2001:db8:2::/48
P
cat > "$P/private" <<'P'
203.0.113.0/24
2001:db8:2:1::/64
P
printf '198.51.100.200\n' > "$P/clear"
printf '198.51.100.64/26\n2001:db8:2:2::/64\n' > "$P/block"
cat > "$W/oe.conf" <<C
policies = $P
resolver = 203.0.113.53
xfrm-larval-drop = no
# acquire states must not outlive the short shunts of this test (the agent sets the sysctl)
xfrm-acq-expires = 1s
# nobody's group may ask initiate, and only that
control-group = nogroup
# this test is about policies: every trapped peer gets its failure shunt at once
ike = no
# and translates nothing: still, a translation table a previous run left must go at start
client-address-translation = no
[group private-or-clear]
shunt-lifetime = 4s
[group private]
failure-shunt = drop
shunt-lifetime = 1h
C

start_agent() {
  rm -f "$CTL" # a killed agent leaves its socket: wait for the new one's
  ip netns exec "$A" "$BIN/oe-agent" --config "$W/oe.conf" --control "$CTL" --nofork \
    --log "$W/agent.log" &
  AGENT_PID=$!
  wait_for 5 test -S "$CTL"
}
ipsec() { "$BIN/ipsec" "$@" --ctlsocket "$CTL"; }
pol() { ip -n "$A" xfrm policy; }
npol() { pol | grep -c '^src'; }
logged() { grep -q -- "$1" "$W/agent.log"; }
ping_ok() { ip netns exec "$A" ping -q -c 1 -W 1 "$1" >/dev/null 2>&1; }
ping6_ok() { ip netns exec "$A" ping -6 -q -c 1 -W 1 "$1" >/dev/null 2>&1; }

# 7 lines x (out, in) + ND (5 x 2) + DNS (udp, tcp x 2 dirs); IKE bypasses on the agent's sockets
EXPECTED=$((14 + 10 + 4))

start_agent
check "agent starts and opens its control socket" test -S "$CTL"
# CAP_NET_ADMIN (12) and CAP_NET_BIND_SERVICE (10) only, effective and bounding; no_new_privs
check "the agent drops its privileges once started" wait_for 5 logged 'dropped privileges: keeping CAP_NET_ADMIN and CAP_NET_BIND_SERVICE'
check "  it keeps only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE" \
  bash -c "grep -q '^CapEff:[[:space:]]*0000000000001400$' /proc/$AGENT_PID/status && grep -q '^CapBnd:[[:space:]]*0000000000001400$' /proc/$AGENT_PID/status && grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/$AGENT_PID/status"
check "larval drop off in the agent's namespace" \
  bash -c "[ \$(ip netns exec $A sysctl -n net.core.xfrm_larval_drop) = 0 ]"
check "the agent set xfrm_acq_expires as oe.conf says (1s)" \
  bash -c "[ \$(ip netns exec $A sysctl -n net.core.xfrm_acq_expires) = 1 ]"
check "kernel holds one policy per line and direction, plus exemptions" \
  bash -c "[ \$(ip -n $A xfrm policy | grep -c '^src') = $EXPECTED ]"
# a second agent on the same control socket stops before it touches the kernel
check "a second agent with this control socket refuses to start, and says why" \
  bash -c "out=\$(ip netns exec $A $BIN/oe-agent --config $W/oe.conf --control $CTL --nofork --log stderr 2>&1); [ \$? = 1 ] && echo \"\$out\" | grep -q 'another oe-agent runs with this control socket'"
check "  and the first one's policies are all still there" \
  bash -c "[ \$(ip -n $A xfrm policy | grep -c '^src') = $EXPECTED ] && kill -0 $AGENT_PID"
check "control-group: a member may ask initiate (the verb answers)" \
  bash -c "as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups \"\$@\"; }; as_nobody $BIN/ipsec initiate 203.0.113.10 --ctlsocket $CTL 2>&1 | grep -q 'negotiation is off (ike = no)'"
check "  and nothing else" \
  bash -c "as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups \"\$@\"; }; as_nobody $BIN/ipsec status --ctlsocket $CTL 2>&1 | grep -q 'control-group may only ask initiate'"
check "  someone outside the group cannot even reach it" \
  bash -c "! setpriv --reuid=65534 --regid=1 --clear-groups $BIN/ipsec status --ctlsocket $CTL >/dev/null 2>&1"
check "private-or-clear /24 is an outbound trap (template, no SA)" \
  bash -c "ip -n $A xfrm policy | grep -A3 '^src 0.0.0.0/0 dst 198.51.100.0/24' | grep -q 'proto esp reqid 0 mode transport'"
check "block is a drop in both directions" \
  bash -c "ip -n $A xfrm policy | grep -A1 '^src 2001:db8:2:2::/64 dst ::/0' | grep -q 'dir in action block' &&
           ip -n $A xfrm policy | grep -A1 '^src ::/0 dst 2001:db8:2:2::/64' | grep -q 'dir out action block'"
check "clear /32 inside the trapped /24 passes and is stronger" \
  bash -c "ip -n $A xfrm policy | grep -A1 '^src 0.0.0.0/0 dst 198.51.100.200/32' | grep -q 'dir out priority'"
check "the log says IKE, neighbour discovery and the resolver are exempt" logged "exempting the agent's own traffic from all groups: IKE (its own sockets only), IPv6 neighbour discovery (ICMPv6 133-137) and DNS resolvers 203.0.113.53 port 53"

# --- packets -------------------------------------------------------------------
check "first ping to a private-or-clear peer is delivered (held, then pass shunt)" ping_ok 198.51.100.7
check "the agent logged ACQUIRE, hold and pass shunt" \
  bash -c "grep -q '\"private-or-clear#198.51.100.0/24\"\[[0-9]*\] 198.51.100.7: ACQUIRE from 192.0.2.1' $W/agent.log &&
           grep -q '198.51.100.7: negotiation is off (ike = no); installed failure shunt pass for 4s' $W/agent.log"
check "the pass shunt is a /32 with a lifetime" \
  bash -c "ip -n $A -s xfrm policy | grep -A6 '^src 192.0.2.1/32 dst 198.51.100.7/32' | grep -q 'expire add: soft 0(sec), hard 4(sec)'"
check "traffic flows after the shunt" ping_ok 198.51.100.7
check "ping to a private peer is dropped" bash -c "! ip netns exec $A ping -q -c 2 -W 1 203.0.113.9"
check "the private peer got a drop shunt" \
  bash -c "ip -n $A xfrm policy | grep -A1 '^src 192.0.2.1/32 dst 203.0.113.9/32' | grep -q 'action block'"
check "still dropped while the shunt lives" bash -c "! ping -c1 -W1 -q 203.0.113.9 >/dev/null 2>&1 && ! ip netns exec $A ping -q -c 1 -W 1 203.0.113.9"
check "IPv6 private-or-clear: delivered" ping6_ok 2001:db8:2::7
check "IPv6 private: dropped" bash -c "! ip netns exec $A ping -6 -q -c 2 -W 1 2001:db8:2:1::9"
check "IPv6 private drop shunt installed" \
  bash -c "ip -n $A xfrm policy | grep -A1 '^src 2001:db8::1/128 dst 2001:db8:2:1::9/128' | grep -q 'action block'"
check "block drops (IPv4)" bash -c "! ip netns exec $A ping -q -c 1 -W 1 198.51.100.70"
check "block drops (IPv6)" bash -c "! ip netns exec $A ping -6 -q -c 1 -W 1 2001:db8:2:2::5"
check_not "block causes no ACQUIRE" logged "198.51.100.70: ACQUIRE"
check "clear passes" ping_ok 198.51.100.200
check_not "clear causes no ACQUIRE" logged "198.51.100.200: ACQUIRE"
# the resolver sits inside the private /24, yet DNS to it is never trapped
ip netns exec "$A" bash -c "echo x > /dev/udp/203.0.113.53/53" 2>/dev/null
sleep 0.3
check_not "DNS to the resolver inside a private range is not trapped" logged "203.0.113.53: ACQUIRE"

# --- IKE ports: only the agent's own sockets bypass the groups ---------------------
# B logs every datagram to port 7777 it gets, with the source port, so that what
# leaves A in clear is seen where it arrives.
cat > "$W/sink.py" <<'PY'
import select, socket, sys
socks = []
for a in sys.argv[2:]:
    s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a, int(sys.argv[1])))
    socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        data, src = s.recvfrom(2048)
        print(s.getsockname()[0], src[0], src[1], data.decode(), flush=True)
PY
# A sends one datagram from a given source port, as any local program may;
# with "bypass" the socket carries the per-socket IPsec bypass the agent's IKE
# sockets carry (ike_io.c: IP_XFRM_POLICY / IPV6_XFRM_POLICY, XFRM_POLICY_ALLOW).
cat > "$W/send.py" <<'PY'
import socket, sys
src, sport, dst, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
v6 = ":" in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((src, sport))
if sys.argv[5:] == ["bypass"]:
    for d in (0, 1):  # XFRM_POLICY_IN, XFRM_POLICY_OUT
        pol = bytearray(168)  # struct xfrm_userpolicy_info (x86_64, arm64)
        pol[40:42] = (socket.AF_INET6 if v6 else socket.AF_INET).to_bytes(2, sys.byteorder)
        pol[160], pol[161] = d, 0  # dir, XFRM_POLICY_ALLOW
        if v6:
            s.setsockopt(socket.IPPROTO_IPV6, 35, bytes(pol))  # IPV6_XFRM_POLICY
        else:
            s.setsockopt(socket.IPPROTO_IP, 17, bytes(pol))  # IP_XFRM_POLICY
try:
    s.sendto(tag.encode(), (dst, 7777))
except PermissionError:  # EPERM: a drop policy refused it, which is fine
    pass
PY
ip netns exec "$B" python3 "$W/sink.py" 7777 198.51.100.200 198.51.100.70 203.0.113.10 \
  2001:db8::2 2001:db8:2:1::10 > "$W/sink.log" 2>&1 &
SINK_PID=$!
sleep 0.5
send() { ip netns exec "$A" python3 "$W/send.py" "$@"; }
arrived() { grep -q " $1\$" "$W/sink.log"; }
send 192.0.2.1 4500 203.0.113.10 private-4500
send 192.0.2.1 500 203.0.113.10 private-500
send 192.0.2.1 4500 198.51.100.70 block-4500
send 2001:db8::1 4500 2001:db8:2:1::10 private6-4500
send 192.0.2.1 4500 198.51.100.200 clear-4500
send 2001:db8::1 4500 2001:db8::2 nogroup6-4500
send 192.0.2.1 4501 203.0.113.10 agentlike-4501 bypass
send 2001:db8::1 4501 2001:db8:2:1::10 agentlike6-4501 bypass
check "control: a plain socket on source port 4500 reaches a clear peer, in clear" \
  wait_for 3 grep -q '^198.51.100.200 192.0.2.1 4500 clear-4500$' "$W/sink.log"
check "control: the same socket kind reaches an IPv6 peer in no group" wait_for 3 arrived nogroup6-4500
check "control: a socket with the agent's per-socket bypass reaches a private peer" wait_for 3 arrived agentlike-4501
check "control: the same over IPv6" wait_for 3 arrived agentlike6-4501
sleep 1
check_not "finding 7: a non-agent socket on source port 4500 does not reach a private peer in clear" arrived private-4500
check_not "finding 7: nor one on source port 500" arrived private-500
check_not "finding 7: nor one to a block peer" arrived block-4500
check_not "finding 7: nor over IPv6 to a private peer" arrived private6-4500
check_not "the kernel holds no global IKE-port exemption" \
  bash -c "ip -n $A xfrm policy | grep -Eq '(sport|dport) (500|4500) '"
kill "$SINK_PID"; SINK_PID=

# --- operator view ---------------------------------------------------------------
check "ipsec eroute shows the trap" bash -c "$BIN/ipsec eroute --ctlsocket $CTL | grep -q '0.0.0.0/0 *-> 198.51.100.0/24 *=> %trap private-or-clear'"
check "ipsec eroute shows the drop shunt with its remaining lifetime" \
  bash -c "$BIN/ipsec eroute --ctlsocket $CTL | grep -q '192.0.2.1/32 *-> 203.0.113.9/32 *=> %drop private ([0-9]*s left)'"
check "ipsec eroute --json is valid JSON" bash -c "$BIN/ipsec eroute --json --ctlsocket $CTL | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d) >= $EXPECTED'"
check "policy explain (live) names file:line and the shunt" \
  bash -c "$BIN/ipsec policy explain --ctlsocket $CTL 203.0.113.9 | grep -q 'group private, $P/private:1: 203.0.113.0/24' &&
           $BIN/ipsec policy explain --ctlsocket $CTL 203.0.113.9 | grep -q 'live: .*drop shunt since'"
check "policy explain --json (live)" bash -c "$BIN/ipsec policy explain --json --ctlsocket $CTL 203.0.113.9 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"live\"][\"state\"] == \"drop shunt\" and d[\"line\"] == 1'"
check "policy explain offline with --policies" bash -c "$BIN/ipsec policy explain --policies $P 198.51.100.200 | grep -q 'group clear, $P/clear:1'"
check_not "policy explain rejects a bad address" "$BIN/ipsec" policy explain --policies "$P" 198.51.100.300

# --- shunt lifetime: back to trap ---------------------------------------------
check "the pass shunt expires and the peer is trapped again" \
  wait_for 8 logged "198.51.100.7: pass shunt expired after 4s; peer trapped again"
check "the expired shunt is gone from the kernel" \
  bash -c "! ip -n $A xfrm policy | grep -q '^src 192.0.2.1/32 dst 198.51.100.7/32'"
check "a new packet is trapped again (new ACQUIRE)" \
  bash -c "ip netns exec $A ping -q -c 1 -W 1 198.51.100.7 >/dev/null; [ \$(grep -c '198.51.100.7: ACQUIRE' $W/agent.log) -ge 2 ]"

# --- reload ----------------------------------------------------------------------
ip -n "$A" xfrm monitor policy > "$W/monitor.log" 2>&1 &
MON_PID=$!
sleep 0.3
sed -i 's|^198.51.100.0/24$|198.51.100.0/25|' "$P/private-or-clear"
check "ipsec reload succeeds" ipsec reload
sleep 0.3
kill "$MON_PID"; MON_PID=
check "reload touched only the edited line's policies (2 added, 2 removed) and its peer's shunt" \
  bash -c "[ \$(grep -cE '^(Deleted |Updated |)src' $W/monitor.log) = 5 ] &&
           [ \$(grep -c '198.51.100.0/2[45]' $W/monitor.log) = 4 ] &&
           grep -q '^Deleted src 192.0.2.1/32 dst 198.51.100.7/32' $W/monitor.log"
check "reload says why that shunt went" \
  logged "198.51.100.7: pass shunt removed on reload: the line it was made under changed"
check "the new /25 trap is in the kernel" bash -c "ip -n $A xfrm policy | grep -q '^src 0.0.0.0/0 dst 198.51.100.0/25'"
before=$(ip -o -n $A xfrm policy | grep -v "^src 192.0.2.1/32\|^src 2001:db8::1/128" | sort | md5sum)
echo "198.51.100.0/24 frob" >> "$P/clear"
check_not "a broken file is refused" ipsec reload
check "the refusal names file and line" bash -c "$BIN/ipsec reload --ctlsocket $CTL 2>&1 | grep -q '$P/clear:2: bad protocol \"frob\"'"
check "the old policy stays in force, untouched" bash -c "[ \"\$(ip -o -n $A xfrm policy | grep -v '^src 192.0.2.1/32\\|^src 2001:db8::1/128' | sort | md5sum)\" = '$before' ]"
sed -i '$d' "$P/clear"
check "SIGHUP reloads too" bash -c "kill -HUP $AGENT_PID && sleep 0.3 && grep -q 'SIGHUP: reloading policies' $W/agent.log"

# --- restart after SIGKILL: exactly one set ------------------------------------
# what an older agent left: global IKE-port exemptions in the exempt slot
for d in out in; do
  [ $d = out ] && ports="sport 4500" || ports="dport 500"
  ip -n "$A" xfrm policy update src 0.0.0.0/0 dst 0.0.0.0/0 proto udp $ports dir $d priority 10485760 action allow
done
# and a translation table, as a run with client-address-translation on leaves it when killed
ip netns exec "$A" nft -f - <<'NFT'
table inet oe-agent {
  map snat4 { type ipv4_addr . ipv4_addr : ipv4_addr; elements = { 192.0.2.1 . 198.51.100.7 : 203.0.113.99 } }
  chain postrouting { type nat hook postrouting priority srcnat - 10; policy accept; snat ip to ip saddr . ip daddr map @snat4; }
}
NFT
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
start_agent
check "a restart removes the translation table a previous run left, translation off or not" \
  wait_for 5 bash -c "! ip netns exec $A nft list table inet oe-agent >/dev/null 2>&1"
check "a restart removes the global IKE-port exemptions an older agent left" \
  bash -c "! ip -n $A xfrm policy | grep -Eq '(sport|dport) (500|4500) '"
check "restarted agent found its previous policies" logged "kept from a previous run"
check "exactly one set of policies after SIGKILL and restart" \
  bash -c "[ \$(ip -n $A xfrm policy | grep -c '^src') = $EXPECTED ] && [ -z \"\$(ip -o -n $A xfrm policy | sort | uniq -d)\" ]"
check "stale shunts from the killed run are gone" bash -c "! ip -n $A xfrm policy | grep -q '^src 192.0.2.1/32'"
# a foreign policy outside our band is never touched
ip -n "$A" xfrm policy add src 192.0.2.0/24 dst 192.0.2.99/32 dir out priority 100 action allow
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
start_agent
check "a policy outside the agent's band survives restarts" \
  bash -c "ip -n $A xfrm policy | grep -A1 '^src 192.0.2.0/24 dst 192.0.2.99/32' | grep -q 'priority 100 '"

# --- clean stop: fail closed -------------------------------------------------------
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
check "SIGTERM keeps private traps (fail closed)" bash -c "ip -n $A xfrm policy | grep -A3 '^src 0.0.0.0/0 dst 203.0.113.0/24' | grep -q 'proto esp'"
check "SIGTERM removes private-or-clear traps" bash -c "! ip -n $A xfrm policy | grep -q 'dst 198.51.100.0/25'"
check "private traffic is not sent in clear while the agent is down" bash -c "! ip netns exec $A ping -q -c 1 -W 1 203.0.113.9"

# --- bad configuration ----------------------------------------------------------------
printf 'policies = %s\n[group private]\nfailure-shunt = sometimes\n' "$P" > "$W/bad.conf"
check "a bad config value stops the agent with file:line" \
  bash -c "out=\$(ip netns exec $A $BIN/oe-agent --config $W/bad.conf --nofork --control $W/x.ctl 2>&1); [ \$? = 2 ] && echo \"\$out\" | grep -q '$W/bad.conf:3: failure-shunt: \"sometimes\" is not pass or drop'"
check "a missing --config file is an error" \
  bash -c "! ip netns exec $A $BIN/oe-agent --config $W/none.conf --nofork 2>&1 | grep -q ready"
# --- issue 9 findings 4 and 5: port-scoped lines and per-peer shunts; reload ------
# A failed tcp/80 attempt under private-or-clear 0/0 gives the host a pass shunt;
# the port-scoped private (tcp/443) and block (tcp/23) lines must still win for
# their ports, and a reload that makes the host private must take the shunt away.
ip -n "$B" addr add 203.0.113.10/32 dev lo
P2=$W/policies-ports; mkdir -p "$P2"
printf '0.0.0.0/0\n' > "$P2/private-or-clear"
printf '203.0.113.0/24 tcp 0 443\n' > "$P2/private"
printf '203.0.113.0/24 tcp 0 23\n' > "$P2/block"
sed -e "s|^policies = .*|policies = $P2|" -e 's|^shunt-lifetime = 4s|shunt-lifetime = 120s|' \
  "$W/oe.conf" > "$W/ports.conf"
rm -f "$CTL"
ip netns exec "$A" "$BIN/oe-agent" --config "$W/ports.conf" --control "$CTL" --nofork \
  --log "$W/agent-ports.log" &
AGENT_PID=$!
wait_for 5 test -S "$CTL"
plog() { grep -q -- "$1" "$W/agent-ports.log"; }
tcp_try() { ip netns exec "$A" timeout 2 bash -c "echo > /dev/tcp/203.0.113.10/$1" 2>/dev/null; }
# the SYN reached the peer in clear: nothing listens there, so it answers with a reset
tcp_clear() { ip netns exec "$A" timeout 2 bash -c "echo > /dev/tcp/203.0.113.10/$1" 2>&1 | grep -q 'Connection refused'; }
# the priority of the first outbound policy whose "src" line matches $1
prio_of() { ip -n "$A" xfrm policy | grep -A1 -- "$1" | sed -n 's/.*dir out.* priority \([0-9]*\).*/\1/p' | head -1; }
tcp_try 80
check "tcp/80 under private-or-clear 0/0 gets a pass shunt" \
  wait_for 3 plog "203.0.113.10: negotiation is off (ike = no); installed failure shunt pass"
check "the pass shunt is in the kernel" \
  bash -c "ip -n $A xfrm policy | grep -q '^src 192.0.2.1/32 dst 203.0.113.10/32'"
# prio_lt A B: the outbound policy matching A is stronger (lower priority) than B's
prio_lt() { local a b; a=$(prio_of "$1"); b=$(prio_of "$2"); [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; }
SHUNT='^src 192.0.2.1/32 dst 203.0.113.10/32'
check "the kernel ranks the private tcp/443 trap above the host's pass shunt" \
  prio_lt '^src 0.0.0.0/0 dst 203.0.113.0/24 proto tcp dport 443' "$SHUNT"
check "the kernel ranks the block tcp/23 drop above the host's pass shunt" \
  prio_lt '^src 0.0.0.0/0 dst 203.0.113.0/24 proto tcp dport 23' "$SHUNT"
tcp_try 443
check "tcp/443 to the shunted host is trapped, not sent in clear" \
  wait_for 3 plog "203.0.113.10: ACQUIRE for tcp port 443 (private"
check_not "tcp/23 to the shunted host is dropped, not sent in clear" tcp_clear 23
check "tcp/80 to the shunted host passes in clear (the peer's reset came back)" tcp_clear 80
printf '203.0.113.0/24\n' > "$P2/private"
printf '' > "$P2/block"
check "ipsec reload moves the host into private" ipsec reload
check "reload says why the pass shunt went" \
  plog "203.0.113.10: pass shunt removed on reload: its group is now private"
check "after reload the pass shunt is gone from the kernel" \
  bash -c "! ip -n $A xfrm policy | grep -q '^src 192.0.2.1/32 dst 203.0.113.10/32'"
check_not "after reload tcp/80 to the host is no longer sent in clear" tcp_clear 80
check "the host's new shunt is private's drop" \
  wait_for 3 bash -c "ip -n $A xfrm policy | grep -A1 '^src 192.0.2.1/32 dst 203.0.113.10/32' | grep -q 'action block'"
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=

# --- issue 9 finding 4: a tunnel's policies rank at their lines ------------------
# ike = no makes no tunnels, so tunnel-like policies (an ESP tunnel template,
# reqid, no SA) go in by hand, where ike_io puts them: at a line's priority
# minus one (kernel.c: per-peer just above its group line; tests/unit/test_tunnel.c
# checks the agent computes that). Against the agent's own group policies,
# the kernel must then pick the block line's drop for tcp/23 and the clear
# line's pass for tcp/53 (out, and the peer's reset in), not the tunnel.
P3=$W/policies-tunnel; mkdir -p "$P3"
printf '0.0.0.0/0\n' > "$P3/private-or-clear"
printf '203.0.113.0/24 tcp 0 443\n' > "$P3/private"
printf '203.0.113.0/24 tcp 0 23\n' > "$P3/block"
printf '203.0.113.0/24 tcp 0 53\n' > "$P3/clear"
sed -e "s|^policies = .*|policies = $P3|" "$W/oe.conf" > "$W/tunnel.conf"
rm -f "$CTL"
ip netns exec "$A" "$BIN/oe-agent" --config "$W/tunnel.conf" --control "$CTL" --nofork \
  --log "$W/agent-tunnel.log" &
AGENT_PID=$!
wait_for 5 test -S "$CTL"
# killed, its policies stay: no agent turns the ACQUIREs below into holds and shunts
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
# the priority of the agent's policy whose "src" line matches $1, in direction $2
prio_dir() { ip -n "$A" xfrm policy | grep -A1 -- "$1" | sed -n "s/.*dir $2 priority \([0-9]*\).*/\1/p" | head -1; }
WIDE_OUT=$(prio_dir '^src 0.0.0.0/0 dst 0.0.0.0/0 *$' out)
WIDE_IN=$(prio_dir '^src 0.0.0.0/0 dst 0.0.0.0/0 *$' in)
P443_OUT=$(prio_dir '^src 0.0.0.0/0 dst 203.0.113.0/24 proto tcp dport 443' out)
P443_IN=$(prio_dir '^src 203.0.113.0/24 dst 0.0.0.0/0 proto tcp sport 443' in)
check "the agent's private-or-clear 0/0 and private tcp/443 lines are in, both ways" \
  test -n "$WIDE_OUT" -a -n "$WIDE_IN" -a -n "$P443_OUT" -a -n "$P443_IN"
# tunnel DIR PRIORITY [SELECTOR...]: 192.0.2.1 <-> 203.0.113.10 by ESP in tunnel mode, reqid 7
tunnel() {
  local dir=$1 prio=$2; shift 2
  if [ "$dir" = out ]; then
    ip -n "$A" xfrm policy update src 192.0.2.1/32 dst 203.0.113.10/32 "$@" dir out priority "$prio" \
      tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 7 mode tunnel
  else
    ip -n "$A" xfrm policy update src 203.0.113.10/32 dst 192.0.2.1/32 "$@" dir in priority "$prio" \
      tmpl src 192.0.2.2 dst 192.0.2.1 proto esp reqid 7 mode tunnel
  fi
}
untunnel() { ip -n "$A" xfrm policy delete src 192.0.2.1/32 dst 203.0.113.10/32 dir out;
             ip -n "$A" xfrm policy delete src 203.0.113.10/32 dst 192.0.2.1/32 dir in; }
# refused by a drop policy at once (EPERM), not waiting for an SA that never comes
tcp_blocked() { ip netns exec "$A" timeout 2 bash -c "echo > /dev/tcp/203.0.113.10/$1" 2>&1 | grep -q 'Operation not permitted'; }
# the old tunnel: the host's /32, any protocol (kernel.c: ((128-128)<<4)|8|(2<<1), peer) above everything
OLD=$((0x00a00000 + 16 + 12))
tunnel out $OLD; tunnel in $OLD
check_not "control (the old /32 tunnel): tcp/23 is no longer refused by the block line" tcp_blocked 23
check_not "control (the old /32 tunnel): tcp/53 no longer reaches the peer in clear" tcp_clear 53
untunnel
# half ranked: outbound at its line, inbound still the /32 one: the peer's cleartext reset is refused
tunnel out $((WIDE_OUT - 1)); tunnel in $OLD
check_not "control (inbound at the /32): the clear line's reply no longer comes in" tcp_clear 53
untunnel
# the ranked tunnel: at the 0/0 line, and a tcp/443 selector at the private line
tunnel out $((WIDE_OUT - 1)); tunnel in $((WIDE_IN - 1))
tunnel out $((P443_OUT - 1)) proto tcp dport 443; tunnel in $((P443_IN - 1)) proto tcp sport 443
check "finding 4: the block line still refuses tcp/23 to a host with a tunnel" tcp_blocked 23
check "finding 4: tcp/53 of a clear line reaches the tunnelled host in clear, and its reset comes in" \
  tcp_clear 53
check_not "the tunnel takes tcp/80 (it waits for the tunnel's SA: no reset in clear)" tcp_clear 80
check "the tunnel's tcp/443 selector is in, just above the private line's trap" \
  test "$(prio_dir '^src 192.0.2.1/32 dst 203.0.113.10/32 proto tcp dport 443' out)" = $((P443_OUT - 1))

summary "policy-kernel"
