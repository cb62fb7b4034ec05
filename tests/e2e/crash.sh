# Sourced by tests/e2e/oe.sh after scale.sh, inside the guest (issue 11): the
# agent SIGKILLed while `private` traffic flows through its tunnel, killed
# mid-handshake, and killed during a reload. Not one packet may leave in
# clear: a capture on the wire (the lab's bridge, not either host: a host's
# capture sees its inbound ESP again as the clear packet it decrypts to)
# counts clear ICMP (it must stay 0) and ESP (it must not: the positive
# control that the capture saw the flow).
#   many 192.0.2.199 (client, private for 192.0.2.200 with NULL auth)
#   multi 192.0.2.200 (the server from scale.sh, still running)
mkdir -p $OUT/crash
crash_agent() { # a fresh log each time: "tunnel up" must be the new agent's
  cat /tmp/many/agent.log >> $OUT/crash/agent-many.log 2>/dev/null; : > /tmp/many/agent.log
  AGENT_EXTRA_many='[group private]
auth = null
shunt-lifetime = 60s'
  agent many "private=192.0.2.200/32"
}
kill -9 $PID_many; wait $PID_many 2>/dev/null
crash_agent
ip netns exec "$(cat $L/ns)" tcpdump -i br0 -n -l "host 192.0.2.199 and host 192.0.2.200 and (icmp or esp)" \
  > $OUT/crash/dump.txt 2>&1 &
dump=$!
check "crash: the capture on the wire is listening" wait_for 10 grep -q 'listening on' $OUT/crash/dump.txt
# a steady flow: 20 pings a second for the whole case
ip netns exec many ping -i 0.05 -W 1 192.0.2.200 > $OUT/crash/ping.txt 2>&1 &
flow=$!
check "crash: the flow is up through a tunnel" wait_for 20 grep -q 'icmp_seq=20 ' $OUT/crash/ping.txt

answered() { grep -c 'bytes from' $OUT/crash/ping.txt; }
# 1. killed while traffic flows: the kernel keeps the tunnel's policies and SAs
kill -9 $PID_many; wait $PID_many 2>/dev/null
n0=$(answered)
check "crash: after SIGKILL the flow goes on through the SAs the kernel kept" \
  wait_for 5 bash -c "[ \$(grep -c 'bytes from' $OUT/crash/ping.txt) -gt $((n0 + 10)) ] && ip -n many xfrm state | grep -q 'src 192.0.2.199 dst 192.0.2.200'"
crash_agent
check "crash: the restarted agent removed what the dead one left, then negotiated anew" \
  wait_for 20 grep -q '192.0.2.200: tunnel up' /tmp/many/agent.log
# ESP SAs (not the kernel's spi-0 larval states) each way between the two, by "src A dst B"
esp_pairs() { ip -n many xfrm state | awk '/^src/ {k = $2 " " $4} /proto esp spi/ && $4 != "0x00000000" {c[k]++}
  END {print c["192.0.2.199 192.0.2.200"] + 0, c["192.0.2.200 192.0.2.199"] + 0}'; }
sas_renewed() { grep -q 'ESP SAs a previous run left' /tmp/many/agent.log && [ "$(esp_pairs)" = "1 1" ]; }
check "  the dead one's ESP SAs went too: one SA each way, the new tunnel's" sas_renewed

# 2. killed mid-handshake: the server does not answer for now (its input drops the client's
# IKE), so the killed agent had sent IKE_SA_INIT and had no tunnel; the hold it installed
# keeps packets in, and a restart starts over
kill -9 $PID_many; wait $PID_many 2>/dev/null
check "crash: the server drops the client's IKE for now" bash -c "printf '%s\n' 'table inet crashtest {' \
  'chain input { type filter hook input priority 0; ip saddr 192.0.2.199 udp dport 500 drop; }' '}' \
  | ip netns exec multi nft -f -"
crash_agent   # it removes the dead one's tunnel policies: the flow traps, the handshake starts
check "crash: mid-handshake: the new agent sent IKE_SA_INIT, the server is silent" \
  wait_for 10 grep -q 'sent IKE_SA_INIT request' /tmp/many/agent.log
kill -9 $PID_many; wait $PID_many 2>/dev/null
check "  and it was killed before any tunnel" bash -c "! grep -q 'tunnel up' /tmp/many/agent.log && grep -q 'ACQUIRE' /tmp/many/agent.log"
ip netns exec multi nft delete table inet crashtest
crash_agent
check "crash: killed mid-handshake, the restarted agent brings the tunnel up" \
  wait_for 20 grep -q '192.0.2.200: tunnel up' /tmp/many/agent.log

# 3. killed during a reload
kill -HUP $PID_many; kill -9 $PID_many; wait $PID_many 2>/dev/null
crash_agent
check "crash: killed during a reload, the restarted agent brings the tunnel up" \
  wait_for 20 grep -q '192.0.2.200: tunnel up' /tmp/many/agent.log
n0=$(answered)
check "crash: and the flow is answered again" \
  wait_for 10 bash -c "[ \$(grep -c 'bytes from' $OUT/crash/ping.txt) -gt $((n0 + 10)) ]"
kill $flow; kill $dump 2>/dev/null; wait $dump 2>/dev/null
clear=$(grep -c 'ICMP echo' $OUT/crash/dump.txt)
esp=$(grep -c 'ESP(spi' $OUT/crash/dump.txt)
echo "crash: $(grep -c 'bytes from' $OUT/crash/ping.txt) pings answered; the capture saw $esp ESP packets and $clear clear ICMP"
check "crash: the capture saw the flow's ESP (positive control)" test "$esp" -gt 100
check "crash: not one ICMP packet between them in clear, through three kills" test "$clear" = 0
cat /tmp/many/agent.log >> $OUT/crash/agent-many.log
