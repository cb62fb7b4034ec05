#!/usr/bin/env bash
# Issue 12, INSIDE the QEMU guest (real ESP): libreswan 4.10 as an OE client
# behind an nftables masquerade (random ports), with CAT (leftcat=yes,
# leftmodecfgclient=yes, narrowing=yes, authby=null, as its newoe-25-cat-1
# test), against our agent with address-pool = 100.64.0.0/24.
#   road 198.51.100.1 (libreswan) -- nat 198.51.100.254 | 203.0.113.254 -- srv 203.0.113.2 (oe-agent)
#   victim 198.51.100.1 behind srv (srv 198.51.100.254 on that link): a real host with road's inner address
# libreswan's own _updown does CAT with iptables, which this machine does not
# have: road's updown is the same two rules (SNAT to the lease out, DNAT back
# in, matched on IPsec) in nftables.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/check.sh"
. "$top/tests/lab/libreswan.sh"
. "$top/tests/lab/warm-esp.sh"
BIN=$top/build/bin
OUT=$top/tests/out/cat
mkdir -p "$OUT"
ls_available || { echo "cat: libreswan not unpacked (make deps)"; exit 1; }

for n in road nat srv victim; do ip netns add $n; ip -n $n link set lo up; done
ip link add r0 netns road type veth peer name n0 netns nat
ip link add n1 netns nat type veth peer name s0 netns srv
ip link add s1 netns srv type veth peer name v0 netns victim
ip -n road addr add 198.51.100.1/24 dev r0; ip -n nat addr add 198.51.100.254/24 dev n0
ip -n nat addr add 203.0.113.254/24 dev n1; ip -n srv addr add 203.0.113.2/24 dev s0
ip -n srv addr add 198.51.100.254/24 dev s1; ip -n victim addr add 198.51.100.1/24 dev v0
for l in road:r0 nat:n0 nat:n1 srv:s0 srv:s1 victim:v0; do ip -n ${l%%:*} link set ${l#*:} up; done
ip -n road route add default via 198.51.100.254
ip -n victim route add default via 198.51.100.254
ip -n srv route add default via 203.0.113.254 # the leases are reached through it (and the tunnels' policies)
ip netns exec nat sysctl -qw net.ipv4.ip_forward=1
ip netns exec nat nft -f - <<N
table ip nat {
  chain post { type nat hook postrouting priority 100; oifname "n1" masquerade random; }
}
N

# --- our server: NULL auth for the NAT's address, a pool for what is behind it ---
S=/tmp/srv; rm -rf $S; mkdir -p $S/policies
echo "203.0.113.0/24" > $S/policies/private-or-clear
# the victim's LAN in clear: a /32 tunnel for 198.51.100.1 (the old hijack) would override this line
echo "198.51.100.0/24" > $S/policies/clear
for g in clear-or-private private block; do : > $S/policies/$g; done
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
# the positive control of the hijack check: srv reaches the real 198.51.100.1
check "srv reaches the real 198.51.100.1 (victim) before any tunnel" ip netns exec srv ping -c 1 -W 2 198.51.100.1

# --- libreswan on road, its OE with CAT ---
R=/tmp/road; rm -rf $R; mkdir -p $R/ipsec.d/policies $R/run
ls_initnss $R/nss >/dev/null 2>&1
echo "203.0.113.2/32" > $R/ipsec.d/policies/private-or-clear
echo "198.51.100.254/32" > $R/ipsec.d/policies/clear
for g in clear-or-private private block; do : > $R/ipsec.d/policies/$g; done
cat > $R/cat-updown <<'U'
#!/bin/sh
# libreswan's addcat/delcat (_updown.xfrm), in nftables
case "$PLUTO_VERB" in
up-client)
  [ -n "${CAT:-}" ] && [ "$PLUTO_MY_CLIENT_NET" != 0.0.0.0 ] && nft -f - <<N
table ip lscat {
  chain post { type nat hook postrouting priority 100; ip daddr $PLUTO_PEER_CLIENT rt ipsec exists snat to $PLUTO_MY_CLIENT_NET; }
  chain pre { type nat hook prerouting priority -100; ip saddr $PLUTO_PEER_CLIENT ip daddr $PLUTO_MY_CLIENT_NET meta ipsec exists dnat to $PLUTO_ME; }
}
N
  env | grep '^PLUTO_\|^CAT' > /tmp/road/updown-env;;
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

# --- road pings srv: the trap starts OE, srv leases, road translates ---
wait_for 20 bash -c "ip netns exec road ping -c 1 -W 1 203.0.113.2 >/dev/null"
ip netns exec road ping -c 5 -i 0.3 -W 2 203.0.113.2 > $OUT/ping.txt 2>&1
ip netns exec srv "$BIN/ipsec" trafficstatus --ctlsocket $S/oe.ctl > $OUT/trafficstatus.txt 2>&1
ip netns exec srv "$BIN/ipsec" trafficstatus --json --ctlsocket $S/oe.ctl > $OUT/trafficstatus.json 2>&1
ip netns exec srv "$BIN/ipsec" policy explain 100.64.0.1 --ctlsocket $S/oe.ctl > $OUT/explain-lease.txt 2>&1
ip -n srv xfrm policy > $OUT/srv-policy.txt; ip -n srv -s xfrm state > $OUT/srv-state.txt
ip -n road xfrm policy > $OUT/road-policy.txt; ip -n road -s xfrm state > $OUT/road-state.txt
ip netns exec road "$LS_BIN/whack" --ctlsocket $R/run/pluto.ctl --trafficstatus > $OUT/road-trafficstatus.txt 2>&1

check "road -> srv: 5 pings answered" grep -q '5 received' $OUT/ping.txt
check "srv leased 100.64.0.1 to the initiator behind the NAT" \
  grep -q 'leased 100.64.0.1 to the initiator behind a NAT at 203.0.113.254' $S/agent.log
check "srv: trafficstatus shows lease=100.64.0.1/32, gateway the NAT" \
  grep -q "100.64.0.1, type=ESP, local=203.0.113.2, gateway=203.0.113.254, id='ID_NULL', lease=100.64.0.1/32, role=responder" $OUT/trafficstatus.txt
check "srv: trafficstatus --json has the lease" grep -q '"lease": "100.64.0.1/32"' $OUT/trafficstatus.json
check "srv: policy explain names the lease's holder" grep -q 'lease: 100.64.0.1 is leased to the initiator behind a NAT at 203.0.113.254' $OUT/explain-lease.txt
check "srv: the tunnel is for the lease (out policy to 100.64.0.1/32)" \
  grep -q 'src 203.0.113.2/32 dst 100.64.0.1/32' $OUT/srv-policy.txt
check_not "srv: no policy for road's inner address 198.51.100.1" grep -q '198.51.100.1/32' $OUT/srv-policy.txt
check "srv: ESP in UDP to the NAT's mapped port" \
  bash -c "grep -q 'src 203.0.113.2 dst 203.0.113.254' $OUT/srv-state.txt && grep -q 'encap type espinudp sport 4500 dport [0-9]*' $OUT/srv-state.txt"
check "srv: the pings went through ESP (bytes in both SAs)" \
  bash -c "[ \$(awk '/lifetime current/ {getline; sub(/\\(bytes\\),?/, \"\", \$1); if (\$1 > 0) n++} END {print n + 0}' $OUT/srv-state.txt) -ge 2 ]"
check "road (libreswan) shows the same lease" grep -q 'lease=100.64.0.1/32' $OUT/road-trafficstatus.txt
# the hijack: road's inner address is the victim's; srv still reaches the victim in clear
check "srv still reaches the real 198.51.100.1 (victim) with road's tunnel up" ip netns exec srv ping -c 2 -W 2 198.51.100.1
check "and road's tunnel is still there" bash -c "ip netns exec srv '$BIN/ipsec' trafficstatus --ctlsocket $S/oe.ctl | grep -q lease=100.64.0.1/32"

kill $LSPID $SRVPID 2>/dev/null
wait $SRVPID 2>/dev/null
cp $S/agent.log $OUT/srv-agent.log; cp $R/pluto.log $OUT/road-pluto.log 2>/dev/null
for n in road nat srv victim; do ip netns del $n; done
summary cat
