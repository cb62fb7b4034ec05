# Sourced by tests/e2e/oe.sh after slow.sh, inside the guest (issue 13):
# DNS-triggered OE. unbound with contrib/oe-unbound.py in front of the client
# asks the agent to negotiate with the address of a secure A answer before it
# answers, so the first packet finds the tunnel up: no ACQUIRE, no held
# packet. Beside it, the same client's first packet to a fresh address.
#   many 192.0.2.199 (client, its own unbound on 127.0.0.1:5353)
#   multi 192.0.2.208 (dt.example.net, secure) and 192.0.2.209 (by packet)
mkdir -p $OUT/dnstrigger
kill $PID_many; wait $PID_many 2>/dev/null
: > /tmp/many/agent.log
AGENT_EXTRA_many='[group private-or-clear]
auth = null'
agent many "private-or-clear=192.0.2.0/24"
cat > /tmp/many/unbound-oe.conf <<U
server:
  interface: 127.0.0.1
  port: 5353
  access-control: 127.0.0.0/8 allow
  username: ""
  chroot: ""
  directory: "/tmp/many"
  pidfile: "/tmp/many/unbound-oe.pid"
  logfile: "/tmp/many/unbound-oe.log"
  verbosity: 1
  do-daemonize: yes
  do-not-query-localhost: no
  trust-anchor-file: "$L/anchors"
  module-config: "python validator iterator"
python:
  python-script: "$top/contrib/oe-unbound.py"
forward-zone:
  name: "."
  forward-addr: 192.0.2.54
U
rm -f /tmp/many/unbound-oe.pid
ip netns exec many env PYTHONPATH=/usr/lib/python3/dist-packages OE_IPSEC="$BIN/ipsec" OE_CTLSOCKET=/tmp/many/oe.ctl \
  OE_WAIT=5 unbound -c /tmp/many/unbound-oe.conf
check "dns-triggered: unbound runs with the oe-unbound module" \
  wait_for 10 grep -q 'secure A/AAAA answers wait up to 5s' /tmp/many/unbound-oe.log
t0=$(date +%s.%N)
ip netns exec many kdig +short +timeout=8 +retry=0 -p 5353 @127.0.0.1 dt.example.net A > $OUT/dnstrigger/dig.txt 2>&1
t1=$(date +%s.%N)
check "dns-triggered: the answer came back, secure" grep -qx '192.0.2.208' $OUT/dnstrigger/dig.txt
check "  the agent was asked before the answer went back, and the tunnel is up" \
  bash -c "grep -q '192.0.2.208: initiate by request' /tmp/many/agent.log && $BIN/ipsec trafficstatus --ctlsocket /tmp/many/oe.ctl | grep -q ' 192.0.2.208, type=ESP'"
ip netns exec many ping -c 3 -i 0.25 -W 5 192.0.2.208 > $OUT/dnstrigger/ping-208.txt 2>&1
check "  the first packet found it: answered, and no ACQUIRE for it" \
  bash -c "grep -q 'icmp_seq=1 ' $OUT/dnstrigger/ping-208.txt && ! grep -q '192.0.2.208: ACQUIRE' /tmp/many/agent.log"
ip netns exec many ping -c 3 -i 0.25 -W 5 192.0.2.209 > $OUT/dnstrigger/ping-209.txt 2>&1
check "  positive control: a packet-triggered peer's first packet comes by ACQUIRE" \
  bash -c "grep -q '192.0.2.209: ACQUIRE' /tmp/many/agent.log && grep -q 'icmp_seq=1 ' $OUT/dnstrigger/ping-209.txt"
rtt() { grep -o 'icmp_seq=1 .*time=[0-9.]* ms' "$1" | grep -o 'time=.*' || echo lost; }
echo "dns-triggered: the answer took $(awk "BEGIN {printf \"%.2f\", $t1 - $t0}") s (the negotiation inside it); first ping $(rtt $OUT/dnstrigger/ping-208.txt); packet-triggered first ping $(rtt $OUT/dnstrigger/ping-209.txt)"
kill "$(cat /tmp/many/unbound-oe.pid)" 2>/dev/null
cp /tmp/many/agent.log $OUT/dnstrigger/agent-many.log; cp /tmp/many/unbound-oe.log $OUT/dnstrigger/ 2>/dev/null
