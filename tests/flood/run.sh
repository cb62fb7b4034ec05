#!/usr/bin/env bash
# IKE_SA_INIT flood, INSIDE the QEMU guest (make bench-flood; issue 11): our
# agent and libreswan's pluto answer the same flood in the same run.
#   east 192.0.2.2 (oe-agent, NULL auth)   lsnull 192.0.2.6 (pluto 4.10, authby=null)
#   west 192.0.2.1 (oe-agent, the legitimate initiator, NULL auth, group private)
#   flood 192.0.2.250: tests/flood/flood.c, sources 198.51.100.0/24 and 203.0.113.0/24
#     (local routes in its namespace: it sends from any of them and gets the answers)
# For each responder: (1) its capacity, IKE_SA_INIT answers with its KE per second
# when asked by initiators that return cookies; (2) a flood at ten times that from
# 65,536 source address:port pairs for FLOOD_SECONDS (30) that never returns a
# cookie, while west connects: the time until west's tunnel is up, the daemon's
# VmRSS before, during (the most) and after, its log lines about cookies.
# The figures, side by side, go to bench/results/flood.txt.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/check.sh"
OUT=$top/tests/out/flood
rm -rf "$OUT"; mkdir -p "$OUT"
FLOOD=$top/build/tests/flood
DUR=${FLOOD_SECONDS:-30}
PROBE_RATE=${FLOOD_PROBE_RATE:-4000} PROBE_S=5 PROBE_LINGER=3
. "$top/tests/e2e/lab.sh"
ls_available || { not_ok "libreswan is unpacked (make deps)"; summary flood; exit 1; }
[ -x "$FLOOD" ] || { not_ok "build/tests/flood is built (make bench-flood)"; summary flood; exit 1; }

# the flooder's namespace on the LAN; its prefixes routed to it from both responders
ip netns add flood
ip link add fl0 netns flood type veth peer name portfl netns "$(cat $L/ns)"
ip -n "$(cat $L/ns)" link set portfl master br0 up
ip -n flood addr add 192.0.2.250/24 dev fl0
ip -n flood link set fl0 up; ip -n flood link set lo up
for p in 198.51.100.0/24 203.0.113.0/24; do
  ip -n flood route add local $p dev lo
  for n in east lsnull; do ip -n $n route replace $p via 192.0.2.250; done
done

FLOODNETS="private-or-clear=198.51.100.0/24 private-or-clear=203.0.113.0/24"
AGENT_EXTRA_east="[group private-or-clear]
auth = null"
agent east "private-or-clear=192.0.2.0/24" $FLOODNETS
AGENT_EXTRA_west="[group private]
auth = null
[group private-or-clear]
auth = null"
agent west "private-or-clear=192.0.2.0/24" "private=192.0.2.2/32" "private=192.0.2.6/32"
ls_oe lsnull null
# pluto answers the flood's prefixes too: the same policy as east's
printf '198.51.100.0/24\n203.0.113.0/24\n' >> /tmp/lsnull/ipsec.d/policies/private-or-clear
ip netns exec lsnull "$LS_BIN/whack" --ctlsocket /tmp/lsnull/run/pluto.ctl --listen >/dev/null 2>&1
eval "PLUTO_PID=\$LSPID_lsnull"
check "flood lab: east's agent and pluto run" bash -c "grep -q oe-agent /proc/$PID_east/comm && grep -q pluto /proc/$PLUTO_PID/comm"

rss() { awk '/^VmRSS/ {print $2}' /proc/$1/status 2>/dev/null || echo 0; }
tstamp() { date -d "$(echo "$1" | sed 's/^\([A-Z][a-z][a-z] *[0-9]* [0-9:.]*\):.*/\1/')" +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$1" | head -1; }
# answers per second over the probe and its linger: a responder with a queue (pluto's crypto
# helpers) answers some of the probe's requests after it, and those count too
rate_of() { sed -n 's/.* \([0-9]*\) in all).*/\1/p' "$1" | awk -v t=$((PROBE_S + PROBE_LINGER)) '{print int($1 / t)}'; }
pluto_states() { # the IKE SAs pluto holds (whack --globalstatus), its whole answer kept in OUT
  ip netns exec lsnull "$LS_BIN/whack" --ctlsocket /tmp/lsnull/run/pluto.ctl --globalstatus > $OUT/pluto-globalstatus-$1.txt 2>&1
  awk -F= '/^current.states.iketype.halfopen=/ {print $2; f = 1; exit} END {if (!f) print "?"}' $OUT/pluto-globalstatus-$1.txt; }
agent_half_open() { "$BIN/ipsec" status --json --ctlsocket /tmp/east/oe.ctl 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["half_open"])' 2>/dev/null || echo "?"; }

# one responder: NAME ADDR PID LOG
measure() {
  local name=$1 addr=$2 pid=$3 log=$4 o=$OUT/$1
  mkdir -p $o
  R_rss_start[$name]=$(rss $pid)
  # (1) capacity: initiators that return their cookies, a little over what it can answer
  ip netns exec flood "$FLOOD" --to $addr --rate $PROBE_RATE --seconds $PROBE_S --echo-cookies --linger $PROBE_LINGER --label probe-$name \
    > $o/probe.txt 2>&1
  cat $o/probe.txt
  local cap; cap=$(rate_of $o/probe.txt); cap=${cap%.*}; [ -n "$cap" ] && [ "$cap" -gt 0 ] || cap=1
  R_capacity[$name]=$cap
  # the probe's half-open SAs go first, so that the flood's own engagement is seen
  if [ $name = agent ]; then
    wait_for 40 bash -c "[ \$(grep -c 'cookies off' $log) -ge \$(grep -c 'cookies on' $log) ]"
  else
    sleep 1
  fi
  R_states_before[$name]=$([ $name = agent ] && agent_half_open || pluto_states before)
  local on0 off0 bytes0; on0=$(grep -c 'cookies on' $log); off0=$(grep -c 'cookies off' $log); bytes0=$(stat -c %s $log)
  R_rss_before[$name]=$(rss $pid)
  # (2) the flood: ten times the capacity, no cookie ever returned
  local rate=$((cap * 10))
  R_rate[$name]=$rate
  ip netns exec flood "$FLOOD" --to $addr --rate $rate --seconds $DUR --linger 1 --label flood-$name > $o/flood.txt 2>&1 &
  local fpid=$! max=0 t_end
  (while kill -0 $fpid 2>/dev/null; do echo "$(date +%s.%N) $(rss $pid)"; sleep 1; done) > $o/rss.txt &
  local spid=$!
  sleep 3   # the flood has its grip: then the legitimate peer comes
  local t0; t0=$(date +%s.%N)
  ip netns exec west ping -D -c 1 -i 0.2 -w 25 $addr > $o/ping.txt 2>&1
  local first; first=$(awk -F'[][]' '/bytes from/ {print $2; exit}' $o/ping.txt)
  R_up[$name]=$([ -n "$first" ] && since $t0 $first || echo "not up in 25")
  R_t0[$name]=$t0
  R_states_during[$name]=$([ $name = agent ] && agent_half_open || pluto_states during)
  wait $fpid; t_end=$(date +%s.%N)
  wait $spid
  # west's negotiation: up, or given up (its retransmissions take 31 s), and when
  wait_for 45 grep -Eq "$addr: (tunnel up|IKE failed)" /tmp/west/agent.log
  local l; l=$(grep -E "$addr: (tunnel up|IKE failed)" /tmp/west/agent.log | head -1)
  R_outcome[$name]=$([ -n "$l" ] && echo "$(echo "$l" | grep -q 'tunnel up' && echo up || echo failed)@$(since $t0 $(tstamp "$l"))s" || echo "?")
  cat $o/flood.txt
  R_sent[$name]="$(field $o/flood.txt sent) ($(sed -n 's/.*(\([0-9]*\)\/s) from.*/\1/p' $o/flood.txt)/s)"
  R_answers[$name]=$(field $o/flood.txt answers)
  R_cookies[$name]=$(field $o/flood.txt cookies)
  R_rss_during[$name]=$(awk '$2 > m {m = $2} END {print m + 0}' $o/rss.txt)
  R_logbytes[$name]=$(( $(stat -c %s $log) - bytes0 ))
  # after: the agent until its cookies go off again (its half-open-timeout, 10 s, after the flood)
  if [ $name = agent ]; then
    wait_for 40 bash -c "[ \$(grep -c 'cookies off' $log) -gt $off0 ]"
    R_cookie_on[$name]=$(( $(grep -c 'cookies on' $log) - on0 ))
    R_cookie_off[$name]=$(( $(grep -c 'cookies off' $log) - off0 ))
    l=$(grep 'cookies off' $log | tail -1)
    [ -n "$l" ] && R_off_after[$name]=$(since $t_end $(tstamp "$l")) || R_off_after[$name]="-"
    grep 'cookies o' $log | tail -4 > $o/cookie-lines.txt
  else
    sleep 10 # pluto has no line for it: a fixed settling time, for the figure only
    R_cookie_on[$name]=$(grep -ci 'ddos' $log)
    R_cookie_off[$name]="-"
    R_off_after[$name]="-"
    grep -i 'ddos\|cookie' $log | tail -4 > $o/cookie-lines.txt
  fi
  R_rss_after[$name]=$(rss $pid)
  R_states_after[$name]=$([ $name = agent ] && agent_half_open || pluto_states after)
  R_alive[$name]=$(kill -0 $pid 2>/dev/null && echo yes || echo NO)
  # what west's agent saw of it: up, or why not, and when
  grep -F "$addr" /tmp/west/agent.log | grep -v 'ACQUIRE\|negotiating\|initiating' | tail -3 > $o/west-lines.txt
}

# the positive control: without a flood, pluto's OE answers our agent (east initiates)
ip netns exec east ping -c 1 -w 15 192.0.2.6 > $OUT/ping-control.txt 2>&1
check "pluto control: without a flood, east's tunnel to pluto comes up" \
  wait_for 10 grep -q '192.0.2.6: tunnel up' /tmp/east/agent.log

declare -A R_outcome R_t0 R_rss_start R_rss_before R_rss_during R_rss_after R_capacity R_rate R_up R_sent R_answers R_cookies \
  R_cookie_on R_cookie_off R_off_after R_logbytes R_states_before R_states_during R_states_after R_alive
measure agent 192.0.2.2 $PID_east /tmp/east/agent.log
measure pluto 192.0.2.6 $PLUTO_PID /tmp/lsnull/pluto.log

check "agent: west's tunnel is up during the flood" grep -q '192.0.2.2: tunnel up' /tmp/west/agent.log
check "agent: west's tunnel up within 5 s" awk -v t="${R_up[agent]}" 'BEGIN {exit !(t + 0 > 0 && t + 0 < 5)}'
check "agent: cookies went on once during the flood" test "${R_cookie_on[agent]}" = 1
check "agent: and off once after it" test "${R_cookie_off[agent]}" = 1
check "agent: RSS during the flood under 64 MiB" test "${R_rss_during[agent]}" -lt 65536
check "agent: still running" test "${R_alive[agent]}" = yes
# pluto's figures are figures, not pass/fail: they are what we compare with

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-"}'; }
row() { printf '%-44s %18s %18s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
{
  echo "IKE_SA_INIT flood, oe-agent vs libreswan pluto 4.10, one QEMU guest run ($(date -u +%Y-%m-%d), TCG, 2 vCPUs)"
  echo "flood: $DUR s at 10x each responder's capacity, from 198.51.100.0/24 + 203.0.113.0/24 x 128 ports (65,536 pairs), no cookie returned"
  echo "legitimate peer: oe-agent (west), NULL auth, group private, pings during the flood (3 s in)"
  printf '%-44s %18s %18s %8s\n' "" "oe-agent" "pluto" "ratio"
  row "capacity (answers with KE /s, cookies returned)" "${R_capacity[agent]}" "${R_capacity[pluto]}"
  row "flood rate asked (/s)" "${R_rate[agent]}" "${R_rate[pluto]}"
  row "flood requests sent (rate achieved)" "${R_sent[agent]}" "${R_sent[pluto]}"
  row "flood: answers with KE (state kept)" "${R_answers[agent]}" "${R_answers[pluto]}"
  row "flood: COOKIE answers (stateless)" "${R_cookies[agent]}" "${R_cookies[pluto]}"
  row "legitimate tunnel up after (s, goal < 5)" "${R_up[agent]}" "${R_up[pluto]}"
  row "legitimate IKE: outcome@s after first packet" "${R_outcome[agent]}" "${R_outcome[pluto]}"
  row "VmRSS at start, before the probe (kB)" "${R_rss_start[agent]}" "${R_rss_start[pluto]}"
  row "VmRSS before the flood (kB)" "${R_rss_before[agent]}" "${R_rss_before[pluto]}"
  row "VmRSS during, most (kB)" "${R_rss_during[agent]}" "${R_rss_during[pluto]}"
  row "VmRSS after (kB)" "${R_rss_after[agent]}" "${R_rss_after[pluto]}"
  row "half-open IKE SAs before" "${R_states_before[agent]}" "${R_states_before[pluto]}"
  row "  during" "${R_states_during[agent]}" "${R_states_during[pluto]}"
  row "  after" "${R_states_after[agent]}" "${R_states_after[pluto]}"
  row "log written during the flood (bytes)" "${R_logbytes[agent]}" "${R_logbytes[pluto]}"
  row "cookie mode lines: on (pluto: DDoS lines)" "${R_cookie_on[agent]}" "${R_cookie_on[pluto]}"
  row "cookie mode lines: off" "${R_cookie_off[agent]}" "${R_cookie_off[pluto]}"
  row "cookies off after the flood's end (s)" "${R_off_after[agent]}" "${R_off_after[pluto]}"
  row "daemon still running" "${R_alive[agent]}" "${R_alive[pluto]}"
  echo "agent's cookie lines:"; sed 's/^/  /' $OUT/agent/cookie-lines.txt
  echo "pluto's DDoS/cookie lines:"; sed 's/^/  /' $OUT/pluto/cookie-lines.txt
  for n in agent pluto; do
    echo "west's log about $n (west started pinging at $(date -d @${R_t0[$n]} +%T.%N | cut -c1-12)):"; sed 's/^/  /' $OUT/$n/west-lines.txt
  done
} > $OUT/flood.txt
cat $OUT/flood.txt
mkdir -p "$top/bench/results" && cp $OUT/flood.txt "$top/bench/results/flood.txt"
cp /tmp/east/agent.log $OUT/agent-east.log; cp /tmp/west/agent.log $OUT/agent-west.log; cp /tmp/lsnull/pluto.log $OUT/pluto-lsnull.log
kill $PID_east $PID_west $PLUTO_PID 2>/dev/null
lab_down >/dev/null 2>&1
summary flood
