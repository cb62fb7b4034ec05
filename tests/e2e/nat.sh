#!/usr/bin/env bash
# Issue 12, the initiator's side, INSIDE the QEMU guest (real ESP): our
# agent as an OE client behind an nftables masquerade (random ports), with
# client-address-translation (its default, auto): it asks for a lease, its
# tunnel is for the lease, its own address is translated to it (table inet
# oe-agent).
#   c1 198.51.100.1 -- nat1 198.51.100.254 | 203.0.113.254 --+
#   c2 198.51.100.1 -- nat2 198.51.100.254 | 203.0.113.253 --+-- br0: srv 203.0.113.2 (oe-agent, pool)
#                                                            +-- ls 203.0.113.3 (libreswan 4.10, pool)
# (a) c1 -> srv; (b) c1 and c2, the same inner address behind two NATs, at
# once; (c) c1 -> libreswan as the server (newoe-25-cat-1's server conn).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/check.sh"
. "$top/tests/lab/libreswan.sh"
BIN=$top/build/bin
OUT=$top/tests/out/nat
mkdir -p "$OUT"

for n in c1 c2 nat1 nat2 srv ls; do ip netns add $n; ip -n $n link set lo up; done
ip -n srv link add br0 type bridge; ip -n srv link set br0 up
ip -n srv addr add 203.0.113.2/24 dev br0
for i in 1 2; do
  ip link add c${i}a netns c$i type veth peer name n${i}a netns nat$i
  ip link add n${i}b netns nat$i type veth peer name b$i netns srv
  ip -n c$i addr add 198.51.100.1/24 dev c${i}a
  ip -n nat$i addr add 198.51.100.254/24 dev n${i}a
  ip -n nat$i addr add 203.0.113.$((255 - i))/24 dev n${i}b
  ip -n c$i link set c${i}a up; ip -n nat$i link set n${i}a up; ip -n nat$i link set n${i}b up
  ip -n srv link set b$i master br0; ip -n srv link set b$i up
  ip -n c$i route add default via 198.51.100.254
  ip netns exec nat$i sysctl -qw net.ipv4.ip_forward=1
  ip netns exec nat$i nft -f - <<N
table ip nat {
  chain post { type nat hook postrouting priority 100; oifname "n${i}b" masquerade random; }
}
N
done
ip link add l0 netns ls type veth peer name b3 netns srv
ip -n srv link set b3 master br0; ip -n srv link set b3 up
ip -n ls addr add 203.0.113.3/24 dev l0; ip -n ls link set l0 up
ip -n srv route add default via 203.0.113.254 # the leases: the tunnels' policies carry them
ip -n ls route add default via 203.0.113.254

agent_conf() { # NAME POLICY-LINE EXTRA
  local d=/tmp/$1; rm -rf $d; mkdir -p $d/policies
  for g in clear clear-or-private private private-or-clear block; do : > $d/policies/$g; done
  echo "${2#*=}" > $d/policies/${2%%=*}
  cat > $d/oe.conf <<C
policies = $d/policies
key-file = $d/hostkey.pem
resolver = 127.0.0.1
control = $d/oe.ctl
log = $d/agent.log
$3
[group private-or-clear]
auth = null
[group private]
auth = null
C
  rm -f $d/oe.ctl
  ip netns exec $1 "$BIN/oe-agent" --config $d/oe.conf --nofork &
  eval "PID_$1=\$!"
  wait_for 10 test -S $d/oe.ctl
}
at() { local n=$1; shift; ip netns exec $n "$BIN/ipsec" "$@" --ctlsocket /tmp/$n/oe.ctl; }

# --- our server: NULL auth for the NATs' addresses, a pool for what is behind them ---
agent_conf srv "private-or-clear=203.0.113.0/24" "address-pool = 100.64.0.0/24"
check "srv: agent up" wait_for 5 grep -q 'IKEv2 listening on 203.0.113.2' /tmp/srv/agent.log

# --- (a) c1 behind nat1 -> srv ---
# a stale table, as a SIGKILL'd agent leaves it: the agent's start removes it (positive control: it is there)
ip netns exec c1 nft add table inet oe-agent
ip netns exec c1 nft add chain inet oe-agent stale
check "c1: a stale table inet oe-agent before the agent starts" ip netns exec c1 nft list chain inet oe-agent stale
agent_conf c1 "private=203.0.113.0/24" ""
check_not "c1: the agent's start removed the stale table" ip netns exec c1 nft list chain inet oe-agent stale
wait_for 20 ip netns exec c1 ping -c 1 -W 1 203.0.113.2
ip netns exec c1 ping -c 5 -i 0.3 -W 2 203.0.113.2 > $OUT/c1-ping.txt 2>&1
check "(a) c1 -> srv: 5 pings answered (private: only through the tunnel)" grep -q '5 received' $OUT/c1-ping.txt
check "(a) c1 asked for an address, being behind a NAT" grep -q 'we are behind a NAT: asking the responder for an address' /tmp/c1/agent.log
check "(a) c1 was leased 100.64.0.1" grep -q 'the responder leased us 100.64.0.1 (CFG_REPLY)' /tmp/c1/agent.log
ip netns exec c1 nft list table inet oe-agent > $OUT/c1-nft.txt 2>&1
ip -n c1 xfrm policy > $OUT/c1-policy.txt; ip -n c1 -s xfrm state > $OUT/c1-state.txt
ip -n srv xfrm policy > $OUT/srv-policy.txt; ip -n srv -s xfrm state > $OUT/srv-state.txt
at srv trafficstatus > $OUT/srv-trafficstatus.txt 2>&1
check "(a) c1: SNAT 198.51.100.1 -> 100.64.0.1 toward srv in table inet oe-agent" \
  grep -q '198.51.100.1 . 203.0.113.2 : 100.64.0.1' $OUT/c1-nft.txt
check "(a) c1: DNAT back" grep -q '203.0.113.2 . 100.64.0.1 : 198.51.100.1' $OUT/c1-nft.txt
check "(a) c1: tunnel policy for the lease and for the pre-NAT source" \
  bash -c "grep -q 'src 100.64.0.1/32 dst 203.0.113.2/32' $OUT/c1-policy.txt && grep -q 'src 198.51.100.1/32 dst 203.0.113.2/32' $OUT/c1-policy.txt"
check "(a) srv: the tunnel is for the lease" grep -q 'src 203.0.113.2/32 dst 100.64.0.1/32' $OUT/srv-policy.txt
check_not "(a) srv: no policy for the inner address 198.51.100.1" grep -q '198.51.100.1/32' $OUT/srv-policy.txt
check "(a) srv: ESP in UDP to nat1" \
  bash -c "grep -q 'src 203.0.113.2 dst 203.0.113.254' $OUT/srv-state.txt && grep -q 'encap type espinudp' $OUT/srv-state.txt"
check "(a) srv: trafficstatus shows lease=100.64.0.1/32" grep -q 'lease=100.64.0.1/32' $OUT/srv-trafficstatus.txt

# --- (b) c2, the same inner address behind nat2, at once with c1 ---
agent_conf c2 "private=203.0.113.0/24" ""
ip netns exec c1 ping -c 20 -i 0.2 -W 2 203.0.113.2 > $OUT/c1-ping-b.txt 2>&1 &
P1=$!
wait_for 20 ip netns exec c2 ping -c 1 -W 1 203.0.113.2
ip netns exec c2 ping -c 5 -i 0.3 -W 2 203.0.113.2 > $OUT/c2-ping.txt 2>&1
wait $P1
at srv trafficstatus > $OUT/srv-trafficstatus-b.txt 2>&1
check "(b) c2 -> srv: 5 pings answered" grep -q '5 received' $OUT/c2-ping.txt
check "(b) c1's pings meanwhile: all 20 answered" grep -q '20 received' $OUT/c1-ping-b.txt
check "(b) c2 was leased another address, 100.64.0.2" grep -q 'the responder leased us 100.64.0.2 (CFG_REPLY)' /tmp/c2/agent.log
check "(b) srv holds two leases" \
  bash -c "grep -q 'lease=100.64.0.1/32' $OUT/srv-trafficstatus-b.txt && grep -q 'lease=100.64.0.2/32' $OUT/srv-trafficstatus-b.txt"

# --- (c) c1 -> libreswan as the server, leasing from its pool ---
R=/tmp/lsrv; rm -rf $R; mkdir -p $R/ipsec.d/policies $R/run
ls_initnss $R/nss >/dev/null 2>&1
printf '203.0.113.254/32\n203.0.113.253/32\n' > $R/ipsec.d/policies/private-or-clear
for g in clear clear-or-private private block; do : > $R/ipsec.d/policies/$g; done
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
	auto=ondemand
conn private-or-clear
	type=tunnel
	left=%defaultroute
	authby=null
	leftid=%null
	rightid=%null
	right=%opportunisticgroup
	leftaddresspool=10.0.10.1-10.0.10.200
	leftmodecfgclient=yes
	narrowing=yes
	leftcat=yes
	failureshunt=passthrough
	negotiationshunt=passthrough
	leftupdown=/bin/true
	auto=ondemand
C
: > $R/ipsec.secrets
ip netns exec ls bash -c '. "$0"; ls_pluto "$@"' "$top/tests/lab/libreswan.sh" \
  --config $R/ipsec.conf --secretsfile $R/ipsec.secrets --rundir $R/run --nofork > $R/stdout 2>&1 &
LSPID=$!
wait_for 15 test -S $R/run/pluto.ctl
ip netns exec ls "$LS_BIN/whack" --ctlsocket $R/run/pluto.ctl --listen >/dev/null 2>&1
ip netns exec ls "$LS_BIN/addconn" --ctlsocket $R/run/pluto.ctl --config $R/ipsec.conf --autoall >/dev/null 2>&1
ip netns exec ls "$LS_BIN/whack" --ctlsocket $R/run/pluto.ctl --listen >/dev/null 2>&1
wait_for 20 ip netns exec c1 ping -c 1 -W 1 203.0.113.3
ip netns exec c1 ping -c 5 -i 0.3 -W 2 203.0.113.3 > $OUT/c1-ls-ping.txt 2>&1
ip -n ls -s xfrm state > $OUT/ls-state.txt; ip -n ls xfrm policy > $OUT/ls-policy.txt
ip netns exec c1 nft list table inet oe-agent > $OUT/c1-nft-c.txt 2>&1
check "(c) c1 -> libreswan server: 5 pings answered (private: only through the tunnel)" grep -q '5 received' $OUT/c1-ls-ping.txt
check "(c) libreswan leased c1 an address from 10.0.10.0/24" grep -q 'the responder leased us 10.0.10.' /tmp/c1/agent.log
check "(c) c1 translates to it toward 203.0.113.3" grep -q '198.51.100.1 . 203.0.113.3 : 10.0.10.' $OUT/c1-nft-c.txt
check "(c) libreswan: ESP in UDP to nat1" \
  bash -c "grep -q 'src 203.0.113.3 dst 203.0.113.254' $OUT/ls-state.txt && grep -q 'encap type espinudp' $OUT/ls-state.txt"

# --- the tunnel goes: its translation goes with it ---
at c1 trafficstatus > $OUT/c1-trafficstatus.txt 2>&1
kill $PID_srv; wait $PID_srv 2>/dev/null
kill -9 $PID_c2; wait $PID_c2 2>/dev/null
check "c2 killed (-9): its table stays until its next start (positive control)" ip netns exec c2 nft list table inet oe-agent
agent_conf c2 "private=203.0.113.0/24" ""
check_not "c2 restarted: the table a SIGKILL left is gone" \
  bash -c "ip netns exec c2 nft list table inet oe-agent | grep -q 100.64.0.2"

kill $LSPID $PID_c1 $PID_c2 2>/dev/null
wait 2>/dev/null
for n in c1 c2 srv; do cp /tmp/$n/agent.log $OUT/$n-agent.log; done
cp $R/pluto.log $OUT/ls-pluto.log 2>/dev/null
for n in c1 c2 nat1 nat2 srv ls; do ip netns del $n; done
summary nat
