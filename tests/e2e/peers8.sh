# Sourced by tests/e2e/oe.sh inside the guest (issue 14): 8 new peers at once,
# each its own host running its own agent; one client pings all 8 together.
#   p8c 192.0.2.240 (client)   p8h1 .. p8h8 192.0.2.241-248 (peers)
# NULL auth for the LAN on all nine (no keys in DNS). bench/storm.sh is the
# timed version of this, beside libreswan.
rm -rf $OUT/peers8 /tmp/p8c /tmp/p8h[1-8]; mkdir -p $OUT/peers8 # a run's logs only: the checks grep them
p8_hosts="p8c:240 $(for i in $(seq 8); do printf 'p8h%s:%s ' $i $((240 + i)); done)"
for h in $p8_hosts; do # on the lab's LAN, as dnslab.sh joins its hosts
  n=${h%%:*}; ip netns add $n; ip -n $n link set lo up
  ip link add lan$n netns $n type veth peer name port$n netns "$(cat $L/ns)"
  ip -n $n addr add 192.0.2.${h#*:}/24 dev lan$n; ip -n $n link set lan$n up
  ip -n "$(cat $L/ns)" link set port$n master br0 up
done
for h in $p8_hosts; do # all nine started side by side: seconds, not one after another
  n=${h%%:*}
  eval "AGENT_EXTRA_$n='[group private-or-clear]
auth = null'"
  AGENT_NOWAIT=1 agent $n "private-or-clear=192.0.2.0/24"
done
p8_listening() { # each agent's control socket is there and IKE is up on its host's address
  local h
  for h in $p8_hosts; do
    test -S /tmp/${h%%:*}/oe.ctl && grep -q "IKEv2 listening on.* 192.0.2.${h#*:}[ ,]" /tmp/${h%%:*}/agent.log || return 1
  done
}
wait_for 30 p8_listening
check "peers8: nine agents listening" p8_listening
pings=()
for i in $(seq 8); do
  ip netns exec p8c ping -D -c 5 -i 0.25 -W 5 192.0.2.$((240 + i)) > $OUT/peers8/ping-$i.txt 2>&1 &
  pings+=($!)
done
wait "${pings[@]}"
answered=$(grep -l ' 5 received' $OUT/peers8/ping-*.txt | wc -l)
lost=$(cat $OUT/peers8/ping-*.txt | awk '/packets transmitted/ {t += $1; r += $4} END {print t - r}')
echo "peers8: 8 peers pinged at once: $answered of 8 answered all 5, $lost of 40 pings lost"
ip -n p8c -s xfrm state > $OUT/peers8/xfrm-state-p8c.txt
ip netns exec p8c cat /proc/net/xfrm_stat > $OUT/peers8/xfrm_stat-p8c.txt
check "peers8: all 8 peers answered all 5 pings (0 lost, the first ones held)" test "$answered" = 8
# the peers whose SA from the client carried bytes
esp_peers=$(awk '$1 == "src" {m = ($2 == "192.0.2.240") ? $4 : ""}
  m != "" && /lifetime current/ {getline; sub(/\(bytes\),?/, "", $1); if ($1 > 0) up[m] = 1}
  END {print length(up)}' $OUT/peers8/xfrm-state-p8c.txt)
check "peers8: the client's ESP SA to each of the 8 carried the pings" test "$esp_peers" = 8
check "peers8: each peer's tunnel is up as responder" \
  bash -c "for i in \$(seq 8); do grep -q '192.0.2.240: tunnel up (#[0-9]*, we responded' /tmp/p8h\$i/agent.log || exit 1; done"
for h in $p8_hosts; do
  n=${h%%:*}; eval "kill \$PID_$n"; eval "wait \$PID_$n" 2>/dev/null
  cp /tmp/$n/agent.log $OUT/peers8/agent-$n.log; ip netns del $n
done
