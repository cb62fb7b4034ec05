#!/usr/bin/env bash
# Issue 12, NAT mappings change, INSIDE the QEMU guest (real ESP): cat.sh's
# world (libreswan 4.10's CAT client behind an nftables masquerade with random
# ports, our agent as the server with a pool), and during pings the NAT
# forgets its mappings (its conntrack table flushed): the client's next
# packets leave from a new port, then from a new public address. The server
# follows (RFC 7296 2.23; the kernel's XFRM_MSG_MAPPING for an authenticated
# ESP packet from the new mapping, or the client's next IKE message), so
# traffic resumes, its SAs point at the new mapping and nothing stale stays.
#   road 198.51.100.1 (libreswan) -- nat 198.51.100.254 | 203.0.113.254 (.253) -- srv 203.0.113.2 (oe-agent)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/check.sh"
. "$top/tests/lab/libreswan.sh"
. "$top/tests/lab/warm-esp.sh"
BIN=${OE_BIN:-$top/build/bin} # OE_BIN: another build (the negative control: one without the fix)
OUT=$top/tests/out/natremap
mkdir -p "$OUT"
ls_available || { echo "natremap: libreswan not unpacked (make deps)"; exit 1; }
modprobe -a nf_conntrack_netlink >/dev/null 2>&1

for n in road nat srv; do ip netns add $n; ip -n $n link set lo up; done
ip link add r0 netns road type veth peer name n0 netns nat
ip link add n1 netns nat type veth peer name s0 netns srv
ip -n road addr add 198.51.100.1/24 dev r0; ip -n nat addr add 198.51.100.254/24 dev n0
ip -n nat addr add 203.0.113.254/24 dev n1; ip -n nat addr add 203.0.113.253/24 dev n1
ip -n srv addr add 203.0.113.2/24 dev s0
for l in road:r0 nat:n0 nat:n1 srv:s0; do ip -n ${l%%:*} link set ${l#*:} up; done
ip -n road route add default via 198.51.100.254
ip -n srv route add default via 203.0.113.254 # the lease is reached through it (and the tunnel's policies)
ip netns exec nat sysctl -qw net.ipv4.ip_forward=1
ip netns exec nat nft -f - <<N
table ip nat {
  chain post { type nat hook postrouting priority 100; oifname "n1" snat to 203.0.113.254 random; }
}
N

# The NAT forgets every mapping, as a reboot or a timeout would: conntrack's
# table flushed over ctnetlink (IPCTNL_MSG_CT_DELETE with no tuple), which is
# what `conntrack -F` does; that tool is not in this userland.
ct_flush() {
  ip netns exec nat python3 - <<'P'
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
s.bind((0, 0))
NLM_F_REQUEST, NLM_F_ACK = 1, 4
msg_type = (1 << 8) | 2  # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE
s.send(struct.pack('=IHHII', 20, msg_type, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + struct.pack('=BBH', socket.AF_INET, 0, 0))
r = s.recv(4096)
raise SystemExit(0 if struct.unpack('=i', r[16:20])[0] == 0 else 1)
P
}

# --- our server: NULL auth for the NAT's addresses, a pool for what is behind them ---
S=/tmp/srv; rm -rf $S; mkdir -p $S/policies
echo "203.0.113.0/24" > $S/policies/private-or-clear
for g in clear clear-or-private private block; do : > $S/policies/$g; done
cat > $S/oe.conf <<C
policies = $S/policies
key-file = $S/hostkey.pem
resolver = 127.0.0.1
control = $S/oe.ctl
log = $S/agent.log
address-pool = 100.64.0.0/24
[group private-or-clear]
auth = null
C
ip netns exec srv "$BIN/oe-agent" --config $S/oe.conf --nofork &
SRVPID=$!
wait_for 10 test -S $S/oe.ctl
wait_for 5 grep -q 'IKEv2 listening on 203.0.113.2' $S/agent.log
check "srv: agent up, listening" grep -q 'IKEv2 listening on 203.0.113.2' $S/agent.log

# --- libreswan on road, its OE with CAT (as cat.sh) ---
R=/tmp/road; rm -rf $R; mkdir -p $R/ipsec.d/policies $R/run
ls_initnss $R/nss >/dev/null 2>&1
echo "203.0.113.2/32" > $R/ipsec.d/policies/private-or-clear
echo "198.51.100.254/32" > $R/ipsec.d/policies/clear
for g in clear-or-private private block; do : > $R/ipsec.d/policies/$g; done
cat > $R/cat-updown <<'U'
#!/bin/sh
case "$PLUTO_VERB" in
up-client)
  [ -n "${CAT:-}" ] && [ "$PLUTO_MY_CLIENT_NET" != 0.0.0.0 ] && nft -f - <<N
table ip lscat {
  chain post { type nat hook postrouting priority 100; ip daddr $PLUTO_PEER_CLIENT rt ipsec exists snat to $PLUTO_MY_CLIENT_NET; }
  chain pre { type nat hook prerouting priority -100; ip saddr $PLUTO_PEER_CLIENT ip daddr $PLUTO_MY_CLIENT_NET meta ipsec exists dnat to $PLUTO_ME; }
}
N
  ;;
down-client|down-host) nft delete table ip lscat 2>/dev/null;;
esac
exit 0
U
chmod +x $R/cat-updown
cat > $R/ipsec.conf <<C
config setup
	logfile=$R/pluto.log
	plutodebug=none
	ipsecdir=$R/ipsec.d
	nssdir=$R/nss
	dnssec-enable=no
conn clear
	type=passthrough
	authby=never
	left=%defaultroute
	right=%group
	leftupdown=/bin/true
	auto=ondemand
conn private-or-clear
	type=tunnel
	left=%defaultroute
	right=%opportunisticgroup
	leftid=%null
	rightid=%null
	authby=null
	leftmodecfgclient=yes
	leftcat=yes
	narrowing=yes
	ike=aes_gcm_16_256-sha2_256-dh19
	esp=aes_gcm_16_256
	failureshunt=drop
	negotiationshunt=hold
	keyingtries=1
	leftupdown=$R/cat-updown
	auto=ondemand
C
: > $R/ipsec.secrets
ip netns exec road bash -c '. "$0"; ls_pluto "$@"' "$top/tests/lab/libreswan.sh" \
  --config $R/ipsec.conf --secretsfile $R/ipsec.secrets --rundir $R/run --nofork > $R/stdout 2>&1 &
LSPID=$!
wait_for 15 test -S $R/run/pluto.ctl
ip netns exec road "$LS_BIN/whack" --ctlsocket $R/run/pluto.ctl --listen >/dev/null 2>&1
ip netns exec road "$LS_BIN/addconn" --ctlsocket $R/run/pluto.ctl --config $R/ipsec.conf --autoall >/dev/null 2>&1
ip netns exec road "$LS_BIN/whack" --ctlsocket $R/run/pluto.ctl --listen >/dev/null 2>&1
wait_for 10 bash -c "ip -n road xfrm policy | grep -q 'dst 203.0.113.2/32'"
wait_for 20 bash -c "ip netns exec road ping -c 1 -W 1 203.0.113.2 >/dev/null"
check "road -> srv: the tunnel is up (a ping answered)" ip netns exec road ping -c 2 -i 0.3 -W 2 203.0.113.2

# The server's outbound SA: "dport N" of the ESP in UDP to the NAT, and its destination.
out_dport() {
  ip -n srv xfrm state | awk '/^src 203.0.113.2 dst/ {o = 1; next} /^src/ {o = 0}
    o && /encap/ {for (i = 1; i < NF; i++) if ($i == "dport") {print $(i + 1); exit}}'
}
out_dst() { ip -n srv xfrm state | awk '/^src 203.0.113.2 dst/ {print $4; exit}'; }
P0=$(out_dport)
check "srv: ESP in UDP to the NAT at 203.0.113.254, port $P0" bash -c "[ '$(out_dst)' = 203.0.113.254 ] && [ -n '$P0' ]"

# Pings all along, 5 a second, each line stamped; the figure is from a flush to the next reply.
stdbuf -oL ip netns exec road ping -D -O -i 0.2 -W 1 203.0.113.2 > $OUT/ping.txt 2>&1 &
PINGPID=$!
wait_for 5 grep -q 'bytes from' $OUT/ping.txt
# first_reply_after T: the epoch of the first answered ping stamped after T
first_reply_after() { awk -v t="$1" -F'[][]' '/bytes from/ && $2 > t {print $2; exit}' $OUT/ping.txt; }
replied_after() { [ -n "$(first_reply_after "$1")" ]; }

remap() { # NAME: flush the NAT's table; wait for traffic, then for the server's SA to be at the new mapping
  local name=$1 t0 t1
  check "$name: the NAT's conntrack table flushed" ct_flush
  t0=$(date +%s.%N) # after the flush: a reply stamped later came through the NAT's new mapping
  wait_for 30 replied_after "$t0"
  t1=$(first_reply_after "$t0")
  check "$name: pings answered again after the flush" test -n "$t1"
  [ -n "$t1" ] && echo "figure: $name: $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s from the flush to the next reply"
}

# 1. a new port, the same address
remap "new port"
P1=$(out_dport)
echo "figure: new port: srv's outbound SA went from dport $P0 to dport $P1"
check "new port: the NAT gave road another port ($P0 -> $P1)" bash -c "[ -n '$P1' ] && [ '$P1' != '$P0' ]"
check "new port: srv logged the move, pluto style" \
  grep -q "peer now at 203.0.113.254:$P1 (its NAT's mapping; was 203.0.113.254:$P0); ESP SAs follow" $S/agent.log
check "new port: srv's inbound SA expects the new port too" \
  bash -c "ip -n srv xfrm state | awk '/^src 203.0.113.254 dst 203.0.113.2/ {i = 1; next} /^src/ {i = 0} i && /encap/' | grep -q 'sport $P1 dport 4500'"
check "new port: one pair of ESP SAs, nothing stale" bash -c "[ \$(ip -n srv xfrm state | grep -c '^src') -eq 2 ]"
check_not "new port: nothing left for the old port $P0" bash -c "ip -n srv xfrm state | grep -q 'sport 4500 dport $P0 '"

# 2. a new public address: the NAT now sends from 203.0.113.253
# one transaction: no moment without the rule, when a packet would pass untranslated
ip netns exec nat nft -f - <<N
flush chain ip nat post
add rule ip nat post oifname "n1" snat to 203.0.113.253 random
N
remap "new address"
P2=$(out_dport)
echo "figure: new address: srv's outbound SA now to $(out_dst) dport $P2"
check "new address: srv's outbound SA is to 203.0.113.253" bash -c "[ '$(out_dst)' = 203.0.113.253 ]"
check "new address: srv logged the move" \
  grep -q "peer now at 203.0.113.253:$P2 (its NAT's mapping; was .*); ESP SAs follow" $S/agent.log
ip -n srv xfrm policy > $OUT/srv-policy.txt; ip -n srv -s xfrm state > $OUT/srv-state.txt
check "new address: the tunnel's policies name the new address (out and in)" \
  bash -c "grep -A3 'dst 100.64.0.1/32' $OUT/srv-policy.txt | grep -q 'tmpl src 203.0.113.2 dst 203.0.113.253' &&
           grep -A3 'src 100.64.0.1/32 dst 203.0.113.2/32' $OUT/srv-policy.txt | grep -q 'tmpl src 203.0.113.253 dst 203.0.113.2'"
check "new address: one pair of ESP SAs, nothing stale" bash -c "[ \$(grep -c '^src' $OUT/srv-state.txt) -eq 2 ]"
# the old SA sent on until it was deleted: the new one must not send those sequence numbers again
# (with AES-GCM they are the nonce); it starts a gap (KERNEL_SA_MOVE_SEQ_GAP, 2^20) above
OSEQ=$(awk '/^src 203.0.113.2 dst 203.0.113.253/ {o = 1} o && /oseq/ {sub(/.*oseq /, ""); sub(/,.*/, ""); print; exit}' $OUT/srv-state.txt)
echo "figure: new address: srv's outbound SA's oseq after the move: ${OSEQ:-none}"
check "new address: the outbound SA's sequence numbers go on from past the old SA's (no nonce reused)" \
  bash -c "[ -n '$OSEQ' ] && [ \$(( $OSEQ )) -ge \$(( 0x100000 )) ]"
check_not "new address: no SA or policy left for 203.0.113.254" grep -q '203.0.113.254' $OUT/srv-state.txt $OUT/srv-policy.txt
ip netns exec srv "$BIN/ipsec" trafficstatus --ctlsocket $S/oe.ctl > $OUT/trafficstatus.txt 2>&1
check "srv: one tunnel, for the lease" bash -c "[ \$(grep -c 'lease=100.64.0.1/32' $OUT/trafficstatus.txt) -eq 1 ]"
kill $PINGPID 2>/dev/null; wait $PINGPID 2>/dev/null
check "the pings' losses: at most a few per flush" \
  bash -c "[ \$(grep -c 'no answer yet' $OUT/ping.txt) -le 20 ]"
echo "figure: $(grep -c 'bytes from' $OUT/ping.txt) pings answered, $(grep -c 'no answer yet' $OUT/ping.txt) not"

kill $LSPID $SRVPID 2>/dev/null
wait $SRVPID 2>/dev/null
cp $S/agent.log $OUT/srv-agent.log; cp $R/pluto.log $OUT/road-pluto.log 2>/dev/null
for n in road nat srv; do ip netns del $n; done
summary natremap
