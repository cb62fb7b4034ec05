#!/usr/bin/env bash
# Opportunistic encryption end to end, INSIDE the QEMU guest (real ESP):
# hosts on one LAN with the DNS lab; each publishes its key in the signed
# reverse zone; oe-agent on them; traffic finds its own way into tunnels.
#   west 192.0.2.1 (agent)   east 192.0.2.2 (agent)   plain 192.0.2.3 (no agent, no key)
#   bogus 192.0.2.4 (agent, tampered record)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/check.sh"
OUT=$top/tests/out/e2e
FILTER=${1:-}
mkdir -p "$OUT"
. "$top/tests/e2e/lab.sh"
check "DNS lab up: nsd and unbound on the LAN" test -s $L/unbound.pid

agent west "private-or-clear=192.0.2.0/24" "private=192.0.2.128/25" "private-or-clear=2001:db8::/64"
AGENT_EXTRA_east="[group private-or-clear]
auth = rsasig-or-null"
agent east "private-or-clear=192.0.2.0/24" "private-or-clear=2001:db8::/64"
agent bogus "private-or-clear=192.0.2.0/24"
check "agents started" bash -c "logged() { grep -q -- \"\$2\" /tmp/\$1/agent.log; }; logged west 'IKEv2 listening on 192.0.2.1' && logged east 'loaded host key'"

# --- west -> east: both have keys -----------------------------------------------
t0=$(date +%s.%N)
ip netns exec west ping -D -c 8 -i 0.25 -W 5 192.0.2.2 > $OUT/ping-east.txt 2>&1
t1=$(date +%s.%N)
for n in west east; do ip netns exec $n cat /proc/net/xfrm_stat > $OUT/xfrm_stat-first-$n.txt; done
check "west -> east: the first ping is answered (held, not lost)" grep -q 'icmp_seq=1 ' $OUT/ping-east.txt
check "west -> east: all 8 pings answered" grep -q '8 received' $OUT/ping-east.txt
check "west looked up east's key: secure" logged west '2.2.0.192.in-addr.arpa. secure: IPSECKEY record'
check "west established the tunnel with east's DNS key" logged west '192.0.2.2: tunnel up (#1, we initiated'
check "east took west's key from west's own record, which binds its ID" \
  logged east "'192.0.2.1' (IKE from 192.0.2.1) may speak for 192.0.2.1: IPSECKEY record at 1.2.0.192.in-addr.arpa. (secure)"
check "east's tunnel is up as responder" logged east '192.0.2.1: tunnel up (#1, we responded'
check "pings went through ESP" bash -c "[ \$(ip -n west -s xfrm state | awk '/lifetime current/ {getline; sub(/\\(bytes\\),?/, \"\", \$1); s += \$1} END {print s + 0}') -gt 500 ]"
ip netns exec east sh -c 'ncat -l 192.0.2.2 5001 > /tmp/east/recv' &
recv=$!
wait_for 5 bash -c "ip netns exec east ss -ltn | grep -q '192.0.2.2:5001'"
head -c 262144 /dev/urandom > /tmp/west/send
ip netns exec west ncat --send-only 192.0.2.2 5001 < /tmp/west/send
wait_for 10 bash -c "! kill -0 $recv"
check "TCP through the tunnel arrives intact" cmp /tmp/west/send /tmp/east/recv
ipsec_at west trafficstatus > $OUT/trafficstatus-west.txt 2>&1
ipsec_at east trafficstatus > $OUT/trafficstatus-east.txt 2>&1
check "ipsec trafficstatus on west shows the tunnel with bytes" grep -q '192.0.2.2.*inBytes=[1-9]' $OUT/trafficstatus-west.txt
check "ipsec trafficstatus --json" bash -c "$BIN/ipsec trafficstatus --json --ctlsocket /tmp/west/oe.ctl | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[0][\"dnssec\"] == \"secure\" and d[0][\"out_bytes\"] > 0'"
check "policy explain shows the live tunnel" bash -c "$BIN/ipsec policy explain --ctlsocket /tmp/west/oe.ctl 192.0.2.2 | grep -q 'live: .*tunnel'"

# --- the same over IPv6: ip6.arpa records, ESP over IPv6 -------------------------------
ip netns exec west ping -6 -c 5 -i 0.3 -W 5 2001:db8::2 > $OUT/ping6-east.txt 2>&1
check "IPv6: west -> east: pings answered" grep -q '5 received' $OUT/ping6-east.txt
check "IPv6: key from ip6.arpa, secure" logged west '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. secure: IPSECKEY'
check "IPv6: tunnel up" logged west '2001:db8::2: tunnel up'
check "IPv6: ESP over IPv6 carried it" bash -c "ip -n west -s xfrm state | grep -A4 'dst 2001:db8::2' | grep 'proto esp spi 0x' | grep -vq 'spi 0x00000000'"

# --- peer restart: east comes back with no memory; INITIAL_CONTACT clears west's old SA ---
kill -9 $PID_east; wait $PID_east 2>/dev/null   # a crash: no Delete goes out
ip -n east xfrm state flush; ip -n east xfrm policy flush
AGENT_EXTRA_east="[group private-or-clear]
auth = rsasig-or-null"
AGENT_GLOBAL_east="idle-timeout = 6s"
agent east "private-or-clear=192.0.2.0/24" "private-or-clear=2001:db8::/64"
ip netns exec east ping -c 5 -i 0.3 -W 5 192.0.2.1 > $OUT/ping-restart.txt 2>&1
check "peer restart: east initiates anew and west replaces the old SA" logged west 'peer restarted (INITIAL_CONTACT'
check "  pings answered through the new tunnel" grep -q ' [3-5] received' $OUT/ping-restart.txt

# --- west -> plain: no key, private-or-clear: clear after the shunt ------------------
ip netns exec west ping -c 3 -i 0.3 -W 3 192.0.2.3 > $OUT/ping-plain.txt 2>&1
check "west -> plain (no key): pings flow in clear after the pass shunt" grep -q '3 received' $OUT/ping-plain.txt
check "  and the log says why" logged west '192.0.2.3: no usable key in DNS for 3.2.0.192.in-addr.arpa.'

# --- west -> bogus: tampered record: never used ----------------------------------------
ip netns exec west ping -c 2 -i 0.3 -W 3 192.0.2.4 > $OUT/ping-bogus.txt 2>&1
check "west -> bogus: DNSSEC bogus, no tunnel" logged west '192.0.2.4: DNSSEC bogus answer for 4.2.0.192.in-addr.arpa.'
check "  the pass shunt lets private-or-clear traffic through" grep -q '2 received' $OUT/ping-bogus.txt

# --- private group without a key: dropped, nothing leaks ---------------------------------
ip -n plain addr add 192.0.2.130/24 dev lan2
ip netns exec plain tcpdump -i lan2 -n -l icmp > /tmp/plain-dump.txt 2>&1 &
dump=$!
check "  the capture on plain's side is listening" wait_for 10 grep -q 'listening on' /tmp/plain-dump.txt
ip netns exec west ping -c 3 -i 0.3 -W 2 192.0.2.130 > $OUT/ping-private.txt 2>&1
# the positive control: clear pings to plain's other address, which the same capture must see
ip netns exec west ping -c 2 -i 0.3 -W 2 192.0.2.3 > /dev/null 2>&1
wait_for 5 bash -c "[ \$(grep -c 'ICMP echo request' /tmp/plain-dump.txt) -ge 2 ]"
kill $dump 2>/dev/null
check "west -> private 192.0.2.130 without a key: dropped" grep -q ' 0 received' $OUT/ping-private.txt
check "  the drop shunt says why" logged west '192.0.2.130: no usable key in DNS'
check "  the capture saw the clear pings to 192.0.2.3 (positive control)" grep -q '> 192.0.2.3: ICMP echo request' /tmp/plain-dump.txt
check "  and no ICMP to 192.0.2.130 left west in clear" bash -c "! grep -q '> 192.0.2.130: ICMP echo request' /tmp/plain-dump.txt"

# --- libreswan's own OE, as its documentation configures it --------------------------------
if ls_available; then
  ls_oe lsoe rsasig
  ls_oe lsnull null
  t0=$(date +%s.%N)
  ip netns exec west ping -D -c 5 -i 0.3 -W 5 192.0.2.5 > $OUT/ping-lsoe.txt 2>&1
  check "west -> libreswan OE (IPSECKEY, rsasig): pings answered" grep -q '5 received' $OUT/ping-lsoe.txt
  check "  west's tunnel to libreswan uses its key from DNS" logged west '192.0.2.5: tunnel up (#[0-9]*, we initiated'
  check "  libreswan found our key in DNS and established" grep -q 'established Child SA' /tmp/lsoe/pluto.log
  check "  through ESP" bash -c "ip -n west -s xfrm state | grep -A4 'dst 192.0.2.5' | grep 'proto esp spi 0x' | grep -vq 'spi 0x00000000'"
  ip netns exec lsoe ping -D -c 8 -i 0.3 -W 5 192.0.2.2 > $OUT/ping-lsoe-east.txt 2>&1
  check "libreswan OE (rsasig) -> east: libreswan initiates, our agent responds" logged east '192.0.2.5: tunnel up (#[0-9]*, we responded'
  check "  pings answered" grep -q ' [5-8] received' $OUT/ping-lsoe-east.txt
  ip netns exec east ping -D -c 5 -i 0.3 -W 5 192.0.2.6 > $OUT/ping-lsnull.txt 2>&1
  check "east -> libreswan OE (authby=null): NULL auth since .6 has no key" logged east '192.0.2.6: no usable key in DNS for 6.2.0.192.in-addr.arpa.; using NULL authentication'
  check "  tunnel up and pings answered" bash -c "grep -q '192.0.2.6: tunnel up' /tmp/east/agent.log && grep -q '5 received' $OUT/ping-lsnull.txt"
  # first packet -> tunnel, libreswan to libreswan, in this same run
  ls_oe lsnull2 null
  ip netns exec lsnull ping -D -c 20 -i 0.25 -W 5 192.0.2.7 > $OUT/ping-ls-ls.txt 2>&1
  check "libreswan OE null <-> libreswan OE null (for timing)" grep -q ' [1-9][0-9]* received' $OUT/ping-ls-ls.txt
  first() { awk -F'[][]' '/bytes from/ {print $2; exit}' "$1"; }
  {
    echo "first packet to tunnel, same run (ping every 0.25-0.3 s; the first reply's time):"
    printf '  ours -> ours:                  %s\n' "$(grep -m1 'bytes from' $OUT/ping-east.txt | sed 's/.*icmp_seq=\([0-9]*\).*time=\(.*\)/seq \1, rtt \2/')"
    printf '  ours -> libreswan (rsasig):    %s\n' "$(grep -m1 'bytes from' $OUT/ping-lsoe.txt | sed 's/.*icmp_seq=\([0-9]*\).*time=\(.*\)/seq \1, rtt \2/')"
    printf '  libreswan -> ours (rsasig):    %s\n' "$(grep -m1 'bytes from' $OUT/ping-lsoe-east.txt | sed 's/.*icmp_seq=\([0-9]*\).*time=\(.*\)/seq \1, rtt \2/')"
    printf '  libreswan -> libreswan (null): %s\n' "$(grep -m1 'bytes from' $OUT/ping-ls-ls.txt | sed 's/.*icmp_seq=\([0-9]*\).*time=\(.*\)/seq \1, rtt \2/')"
    grep -h 'packets transmitted' $OUT/ping-east.txt $OUT/ping-lsoe.txt $OUT/ping-lsoe-east.txt $OUT/ping-ls-ls.txt | sed 's/^/  /'
  } > $OUT/timing.txt
  cat $OUT/timing.txt
  cp /tmp/lsoe/pluto.log "$OUT/pluto-lsoe.log"; cp /tmp/lsnull/pluto.log "$OUT/pluto-lsnull.log"
else
  not_ok "libreswan is unpacked (make deps)"
fi

# --- idle tunnels expire (east runs with idle-timeout = 6s since its restart) ----------------
check "idle tunnels expire: east deletes a quiet tunnel" wait_for 20 grep -q 'idle for [0-9]*s (idle-timeout 6s): deleting the tunnel' /tmp/east/agent.log
check "  the peer hears the Delete and traps again" wait_for 10 grep -q '192.0.2.2: tunnel down (deleted by the peer); peer trapped again' /tmp/west/agent.log
ip netns exec west ping -c 3 -i 0.3 -W 5 192.0.2.2 > $OUT/ping-after-idle.txt 2>&1
check "  the next packet negotiates a new tunnel" bash -c "grep -q ' [1-3] received' $OUT/ping-after-idle.txt && [ \$(grep -c '192.0.2.2: tunnel up' /tmp/west/agent.log) -ge 2 ]"

# --- both ends initiate at once: one tunnel remains ---------------------------------------
# fresh agents on both (no tunnel, no memory), 150 ms each way on both links so that both
# IKE_SA_INIT requests are on the wire before either answer
for n in west east; do eval "kill -9 \$PID_$n"; eval "wait \$PID_$n" 2>/dev/null; ip -n $n xfrm state flush; ip -n $n xfrm policy flush; done
for n in west east; do cp /tmp/$n/agent.log /tmp/$n/agent-before-simultaneous.log; : > /tmp/$n/agent.log; rm -rf /tmp/$n/policies; done
AGENT_GLOBAL_east=""
AGENT_EXTRA_east="[group private-or-clear]
dnssec = insecure-ok"
agent west "private-or-clear=192.0.2.0/24" "private=192.0.2.128/25" "private-or-clear=2001:db8::/64" "private-or-clear=203.0.113.0/24" "private-or-clear=198.51.100.0/24"
agent east "private-or-clear=192.0.2.0/24" "private-or-clear=2001:db8::/64" "private-or-clear=203.0.113.0/24" "private-or-clear=198.51.100.0/24"
lanif() { ip -n $1 -o link show | awk -F': ' '/lan/ {sub(/@.*/, "", $2); print $2}'; }
for n in west east; do ip netns exec $n tc qdisc add dev $(lanif $n) root netem delay 150ms; done
ip netns exec west ping -c 10 -i 0.3 -W 5 192.0.2.2 > $OUT/ping-simul-west.txt 2>&1 &
pw=$!
ip netns exec east ping -c 10 -i 0.3 -W 5 192.0.2.1 > $OUT/ping-simul-east.txt 2>&1 &
pe=$!
wait $pw $pe
for n in west east; do ip netns exec $n tc qdisc del dev $(lanif $n) root; done
check "simultaneous: both ends initiated (the requests crossed)" \
  bash -c "grep -q 'initiating IKEv2 connection to 192.0.2.2' /tmp/west/agent.log && grep -q 'initiating IKEv2 connection to 192.0.2.1' /tmp/east/agent.log"
check "  both agents kept the IKE SA started by the lower address and deleted the other" \
  bash -c "grep -q 'both ends initiated' /tmp/west/agent.log && grep -q 'both ends initiated' /tmp/east/agent.log"
check "  one tunnel on each side" bash -c "[ \$($BIN/ipsec trafficstatus --ctlsocket /tmp/west/oe.ctl | grep -c '192.0.2.2') = 1 ] && [ \$($BIN/ipsec trafficstatus --ctlsocket /tmp/east/oe.ctl | grep -c '192.0.2.1') = 1 ]"
for n in west east; do ip -n $n xfrm state > $OUT/xfrm-simul-$n.txt; ip -n $n xfrm policy > $OUT/xfrm-policy-simul-$n.txt; done
# (spi 0: the kernel's larval placeholders from the ACQUIREs, gone after xfrm_acq_expires)
check "  one ESP pair in each kernel" bash -c "[ \$(ip -n west xfrm state | grep 'proto esp' | grep -vc 'spi 0x00000000') = 2 ] && [ \$(ip -n east xfrm state | grep 'proto esp' | grep -vc 'spi 0x00000000') = 2 ]"
# both ends' pings wait in their holds and all arrive: the higher address, the responder of
# the tunnel that stays, lets its held packets go a round trip after its answer, once the
# initiator has read it and installed its inbound SA
check "  west's pings all answered (held, then through the tunnel west started)" grep -q ' 10 received' $OUT/ping-simul-west.txt
check "  east's pings all answered too (held until west could read them)" grep -q ' 10 received' $OUT/ping-simul-east.txt
check "  east let them go a round trip after its answer" logged east 'our held packets leave in [0-9]* ms'
ip netns exec west ping -c 3 -i 0.2 -W 2 192.0.2.2 > $OUT/ping-simul-after.txt 2>&1
check "  and traffic keeps flowing on the tunnel that stayed" grep -q ' 3 received' $OUT/ping-simul-after.txt
check "  through ESP" bash -c "ip -n west -s xfrm state | grep -q 'proto esp'"

# --- a gateway for a subnet: gw answers and initiates for inner 203.0.113.2 ---------------
# gw also narrows what it takes: AES-CBC only, DH 14 only (west offers GCM first and DH 19's KE)
AGENT_GLOBAL_gw="subnets = 203.0.113.0/24
ciphers = aes_cbc
dh-groups = modp2048"
agent gw "private-or-clear=192.0.2.0/24"
ip netns exec west ping -c 5 -i 0.3 -W 5 203.0.113.2 > $OUT/ping-gw-west.txt 2>&1
check "gateway: west -> inner 203.0.113.2: the first ping is answered" grep -q 'icmp_seq=1 ' $OUT/ping-gw-west.txt
check "  the record sent west to the gateway it names" logged west '203.0.113.2: negotiating IKEv2 with 192.0.2.30'
check "  gw answered for the host behind it" logged gw 'responder established Child SA .* tunnel \[203.0.113.2/32\] -> \[192.0.2.1/32\]'
check "  west's ESP goes to gw, for inner" bash -c "ip -n west xfrm state | grep -q 'src 192.0.2.1 dst 192.0.2.30' && ip -n west xfrm policy | grep -q 'src 192.0.2.1/32 dst 203.0.113.2/32'"
check "  gw forwards what it decrypts (a fwd policy)" bash -c "ip -n gw xfrm policy | grep -A1 'src 192.0.2.1/32 dst 203.0.113.2/32' | grep -q 'dir fwd'"
check "  gw's ciphers and dh-groups: west retried with DH 14, its SAs to gw are AES-CBC with HMAC-SHA2" \
  bash -c "grep -q 'responder wants DH 14' /tmp/west/agent.log && ip -n west xfrm state | grep -A6 'dst 192.0.2.30' | grep -q 'enc cbc(aes)' && ip -n west xfrm state | grep -A6 'dst 192.0.2.30' | grep -q 'auth-trunc hmac(sha256)'"
ip netns exec west ping -c 5 -i 0.3 -W 5 203.0.113.3 > $OUT/ping-gw-name.txt 2>&1
check "gateway by name: 203.0.113.3's record names gw.example.net., resolved and validated" \
  logged west '203.0.113.3: gateway gw.example.net. is 192.0.2.30 (secure)'
check "  west's pings to 203.0.113.3 answered through gw" bash -c "grep -q ' 5 received' $OUT/ping-gw-name.txt && ip -n west xfrm policy | grep -q 'dst 203.0.113.3/32'"
ip netns exec inner ping -c 5 -i 0.3 -W 5 192.0.2.2 > $OUT/ping-gw-inner.txt 2>&1
check "gateway: inner -> east: gw initiates for its subnet, pings answered" grep -Eq ' [4-5] received' $OUT/ping-gw-inner.txt
check "  gw's trafficstatus counts the tunnel's inbound bytes (its SAs end at gw's own address)" \
  bash -c "$BIN/ipsec trafficstatus --ctlsocket /tmp/gw/oe.ctl | grep '192.0.2.2,' | grep -q 'inBytes=[1-9]'"
check "  gw negotiated from its own address for 203.0.113.2" logged gw '192.0.2.2: negotiating IKEv2 with 192.0.2.2 (RSA key from DNS) for 203.0.113.2 behind us'
check "  east checked that inner's record names gw (and its key)" \
  logged east "'192.0.2.30' (IKE from 192.0.2.30) may speak for 203.0.113.2: IPSECKEY record at 2.113.0.203.in-addr.arpa."
check "  east's tunnel is for inner, carried to gw" bash -c "ip -n east xfrm policy | grep -q 'src 192.0.2.2/32 dst 203.0.113.2/32' && ip -n east xfrm state | grep -q 'src 192.0.2.2 dst 192.0.2.30'"
ip -n east xfrm policy > $OUT/xfrm-policy-gw-east.txt; ip -n gw xfrm policy > $OUT/xfrm-policy-gw.txt

# --- an insecure zone, per group; clear-or-private only answers ----------------------------
# insec's key is in an unsigned zone; its own group for the LAN is clear-or-private
agent insec "clear-or-private=192.0.2.0/24"
ip netns exec west ping -c 3 -i 0.3 -W 3 198.51.100.5 > $OUT/ping-insec-west.txt 2>&1
check "insecure zone: west (dnssec = secure) does not use the key" logged west "198.51.100.5: key for 5.100.51.198.in-addr.arpa. found but DNSSEC says insecure; not used"
check "  and its pings flow in clear after the pass shunt" grep -q ' 3 received' $OUT/ping-insec-west.txt
check "  clear-or-private: insec's replies to west went in clear, no trap" \
  bash -c "grep -q 'IKEv2 listening' /tmp/insec/agent.log && ! grep -q 'ACQUIRE' /tmp/insec/agent.log"
ip netns exec east ping -c 5 -i 0.3 -W 5 198.51.100.5 > $OUT/ping-insec-east.txt 2>&1
check "insecure zone: east (dnssec = insecure-ok) uses the key" logged east '198.51.100.5: 5.100.51.198.in-addr.arpa. insecure: IPSECKEY record'
check "  east's first ping is answered through the tunnel" grep -q 'icmp_seq=1 ' $OUT/ping-insec-east.txt
check "  clear-or-private answers IKE: insec responded" logged insec '192.0.2.2: tunnel up (#1, we responded'
check "  through ESP to insec" bash -c "ip -n east xfrm state | grep -q 'src 192.0.2.2 dst 198.51.100.5'"

# --- ipsec verify of west as a whole: kernel, sysctls, firewall, DNSSEC, its own keys -------
. "$top/tests/e2e/verify.sh"
# --- a real IKEv2 peer with its own key and FQDN speaks for a private peer's address -------
. "$top/tests/e2e/hijack.sh"
# --- a server with 32 addresses, one client at once (gateway scale) ------------------------
. "$top/tests/e2e/scale.sh"
# --- 8 new peers at once, each its own host running its own agent ---------------------------
. "$top/tests/e2e/peers8.sh"
# --- the agent killed while private traffic flows, mid-handshake, during a reload -----------
. "$top/tests/e2e/crash.sh"
# --- a slow and lossy link: 300 ms RTT, 10% loss, reordering --------------------------------
. "$top/tests/e2e/slow.sh"
# --- DNS-triggered OE: unbound's Python module asks the agent before it answers -------------
. "$top/tests/e2e/dnstrigger.sh"

for n in west east bogus gw insec; do cat /tmp/$n/agent-before-simultaneous.log /tmp/$n/agent.log > "$OUT/agent-$n.log" 2>/dev/null; done
cp $L/unbound.log "$OUT/" 2>/dev/null
lab_down
summary e2e
