#!/usr/bin/env bash
# DNS faults against the agent on the real kernel (issue 11): a resolver
# that is slow, SERVFAILs, truncates (TC, then TCP), sends 50 IPSECKEY
# records, hostile TXT gateway fields (the field of CVE-2013-2052), never
# answers, or is down. For each: the group's failure shunt in the kernel, a
# log line naming what went wrong, bounded time (dns-timeout), and the
# event loop answering `ipsec status` while lookups wait. The responder's
# lookups too: ike_peer initiates from hosts whose reverse records are
# silent or SERVFAIL, and the agent refuses their IKE_AUTH, saying why. No
# ESP needed: the agent and tests/lab/faultdns.py in one namespace, the
# initiators in another. Needs root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/check.sh"

BIN=${BIN:-$top/build/bin}
A=oet-dnsf-$$
W=$(mktemp -d /tmp/oe-dns-faults.XXXXXX)
CTL=$W/oe.ctl
AGENT_PID= DNS_PID= PEER_PIDS=
T0=$SECONDS
# dns-timeout: short for the test, yet room for the slow server's 2 s answer
# even if a loaded machine makes libunbound ask again (dns-retransmit-ms, 2.5 s)
TIMEOUT=6

cleanup() {
  for p in $PEER_PIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  [ -n "$DNS_PID" ] && kill "$DNS_PID" 2>/dev/null && wait "$DNS_PID" 2>/dev/null
  ip netns del "$A" 2>/dev/null
  ip netns del "$A-b" 2>/dev/null
  mkdir -p "$top/tests/out" && cp "$W/agent.log" "$top/tests/out/dns-faults-agent.log" 2>/dev/null &&
    cp "$W/dns.log" "$top/tests/out/dns-faults-server.log" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

# --- the host: the agent and its resolver on lo, peers beyond a veth --------------
ip netns add "$A"; ip netns add "$A-b"
ip link add va netns "$A" type veth peer name vb netns "$A-b"
ip -n "$A" link set lo up; ip -n "$A" link set va up; ip -n "$A-b" link set vb up
ip -n "$A" addr add 192.0.2.1/24 dev va
ip -n "$A" addr add 192.0.2.53/32 dev lo
ip -n "$A" route add 198.51.100.0/24 dev va
ip -n "$A" route add 203.0.113.0/24 dev va
# the responder's strangers: initiators at .21 (reverse silent) and .22 (SERVFAIL)
ip -n "$A-b" link set lo up
ip -n "$A-b" addr add 192.0.2.2/24 dev vb
for h in 21 22; do ip -n "$A-b" addr add 198.51.100.$h/32 dev lo; done
"$BIN/ipsec" newhostkey --bits 2048 --output "$W/host.pem" >/dev/null
"$BIN/ipsec" newhostkey --bits 2048 --output "$W/peer.pem" >/dev/null

P=$W/policies; mkdir -p "$P"
echo 198.51.100.0/24 > "$P/private-or-clear"
echo 203.0.113.0/24 > "$P/private"
# no trust anchor: every answer is insecure, so both groups take insecure
# answers and weigh what the records say
cat > "$W/oe.conf" <<C
policies = $P
resolver = 192.0.2.53
trust-anchor = $W/no-anchor
key-file = $W/host.pem
xfrm-larval-drop = no
dns-timeout = ${TIMEOUT}s
[group private-or-clear]
auth = rsasig
dnssec = insecure-ok
shunt-lifetime = 10m
[group private]
dnssec = insecure-ok
shunt-lifetime = 10m
C

ip netns exec "$A" python3 "$top/tests/lab/faultdns.py" 192.0.2.53 53 "$W/dns.log" &
DNS_PID=$!
ip netns exec "$A" "$BIN/oe-agent" --config "$W/oe.conf" --control "$CTL" --nofork --log "$W/agent.log" &
AGENT_PID=$!

ipsec() { "$BIN/ipsec" "$@" --ctlsocket "$CTL"; }
# the agent's line for one peer: "... PEER: ...WHAT...; installed failure shunt ACTION"
shunt_logged() { grep -F -- " $1: " "$W/agent.log" | grep -F -- "$2" | grep -q "installed failure shunt $3 "; }
# the peer's own outbound /32 in the kernel (one line with -o): block is a
# drop shunt; allow is a pass shunt, neither block nor a template (a hold or trap)
shunt_in_kernel() {
  local line
  line=$(ip -n "$A" -o xfrm policy | grep "^src 192.0.2.1/32 dst $1/32 .*dir out ")
  [ "$(printf '%s\n' "$line" | grep -c .)" = 1 ] || { echo "policy for $1: '$line'"; return 1; }
  case $2 in
  block) [[ $line == *"action block"* ]] ;;
  allow) [[ $line != *"action block"* && $line != *tmpl* ]] ;;
  esac || { echo "policy for $1: $line"; return 1; }
}
served() { grep -q -- " $1 " "$W/dns.log" && grep -- " $1 " "$W/dns.log" | grep -q -- "$2"; }
poke() { ip netns exec "$A" ping -q -c 1 -W 1 "$1" >/dev/null 2>&1 & }
ms_now() { date +%s%3N; }

check "the fault server listens" wait_for 15 grep -q "ready" "$W/dns.log"
check "the agent starts" wait_for 10 test -S "$CTL"
check "  with dns-timeout ${TIMEOUT}s, below hold-lifetime (no warning)" \
  bash -c "wait_ready() { grep -q 'oe-agent ready' $W/agent.log; }; for _ in \$(seq 50); do wait_ready && break; sleep 0.1; done
           wait_ready && ! grep -q 'dns-timeout .* is not below' $W/agent.log"

# every fault at once: the quick ones must not wait for the slow and silent ones
start_ms=$(ms_now)
for n in 10 11 12 13 14 15 16 17 18; do poke 198.51.100.$n; done
for n in 11 17; do poke 203.0.113.$n; done
# and two strangers initiate IKE: the responder must look their records up
agent_key=$("$BIN/ipsec" showhostkey --key-file "$W/host.pem" --left | sed 's/.*rsasigkey=//')
for h in 21 22; do
  ip netns exec "$A-b" "$top/build/tests/ike_peer" --local 198.51.100.$h --remote 192.0.2.1 --auth rsasig \
    --key-file "$W/peer.pem" --peer-key "$agent_key" --initiate --timeout 30 --log "$W/peer-$h.log" &
  PEER_PIDS="$PEER_PIDS $!"
done

# --- the loop never blocks: status answers while lookups wait ------------------------
check "the silent peer is held, its lookup in flight" \
  wait_for 5 bash -c "$BIN/ipsec status --ctlsocket $CTL | grep -q '198.51.100.17, local=192.0.2.1: hold'"
t=$(ms_now); ipsec status > "$W/status.mid"; status_ms=$(( $(ms_now) - t ))
check "  ipsec status answers meanwhile, in ${status_ms} ms (< 1000; a lookup waits 2 s or more)" \
  bash -c "[ $status_ms -lt 1000 ] && grep -q 'lookups in flight: [1-9]' $W/status.mid"
check "  and lists the peers still held" grep -q '198.51.100.17, local=192.0.2.1: hold' "$W/status.mid"

# --- each fault: a line that says what, and the group's shunt ------------------------
check "SERVFAIL: the log says so; pass shunt (private-or-clear)" \
  wait_for 5 shunt_logged 198.51.100.11 "no DNS answer for 11.100.51.198.in-addr.arpa.: IPSECKEY: SERVFAIL" pass
check "  the pass shunt is in the kernel" shunt_in_kernel 198.51.100.11 allow
check "SERVFAIL for a private peer: drop shunt" \
  wait_for 5 shunt_logged 203.0.113.11 "no DNS answer for 11.113.0.203.in-addr.arpa.: IPSECKEY: SERVFAIL" drop
check "  the drop shunt is in the kernel" shunt_in_kernel 203.0.113.11 block
check "truncated over UDP: asked again over TCP" served 12.100.51.198.in-addr.arpa "^[0-9.]* tcp .* 45 tcp-answer"
check "  the TCP answer's record weighed (1024-bit key refused); pass shunt" \
  wait_for 5 shunt_logged 198.51.100.12 "modulus of 1024 bits is shorter than the 2048 required" pass
check "  in the kernel" shunt_in_kernel 198.51.100.12 allow
check "50 IPSECKEY records: too big for UDP, fetched over TCP" served 13.100.51.198.in-addr.arpa "^[0-9.]* tcp .* 45 fifty"
check "  all 50 weighed, the log says so; pass shunt" \
  wait_for 5 shunt_logged 198.51.100.13 "(50 IPSECKEY records, none usable; the first: RSA key: modulus of 1024 bits" pass
check "  in the kernel" shunt_in_kernel 198.51.100.13 allow
check "TXT gateway with \"=\": malformed, named; pass shunt" \
  wait_for 5 shunt_logged 198.51.100.14 'malformed: TXT: gateway "192.0.2.7=evil" is neither an address nor a host name' pass
check "  in the kernel" shunt_in_kernel 198.51.100.14 allow
check "TXT gateway of 236 characters (a full string): its address asked, none; pass shunt" \
  wait_for 5 shunt_logged 198.51.100.15 "gateway $(printf 'a%.0s' $(seq 58))." pass
check "  the whole name was asked for" bash -c "grep -F ' 198.51.100.15: gateway ' $W/agent.log | grep -q 'aaab. has no address'"
check "  in the kernel" shunt_in_kernel 198.51.100.15 allow
check "TXT gateway with a 70-character label: malformed, named; pass shunt" \
  wait_for 5 shunt_logged 198.51.100.16 "has a label of 64 characters or more" pass
check "  in the kernel" shunt_in_kernel 198.51.100.16 allow
check "TXT gateway of 600 characters over three strings: never usable; pass shunt" \
  wait_for 5 shunt_logged 198.51.100.18 "no usable key in DNS for 18.100.51.198.in-addr.arpa. (RSA key:" pass
check "  in the kernel" shunt_in_kernel 198.51.100.18 allow
check "slow (2 s): the answer is waited for and used (no timeout)" \
  wait_for $((TIMEOUT + 3)) shunt_logged 198.51.100.10 "no usable key in DNS for 10.100.51.198.in-addr.arpa. (RSA key: modulus of 1024 bits" pass
asked=$(grep -c ' udp 10.100.51.198.in-addr.arpa 45 ' "$W/dns.log")
check "  the server saw its IPSECKEY question (${asked} time(s); 1 unless the machine is loaded)" test "$asked" -ge 1
check "  in the kernel" shunt_in_kernel 198.51.100.10 allow
check "silent resolver: the lookup ends at dns-timeout, said so; pass shunt" \
  wait_for $((TIMEOUT + 3)) shunt_logged 198.51.100.17 "IPSECKEY: no answer within ${TIMEOUT}s (dns-timeout)" pass
silent_ms=$(( $(ms_now) - start_ms ))
check "  within dns-timeout and 3 s, not hold-lifetime's 60 s (${silent_ms} ms)" bash -c "[ $silent_ms -ge $(( TIMEOUT * 1000 )) ] && [ $silent_ms -le $(( TIMEOUT * 1000 + 3000 )) ]"
check "  in the kernel" shunt_in_kernel 198.51.100.17 allow
check "silent, private peer: drop shunt at dns-timeout" \
  wait_for 3 shunt_logged 203.0.113.17 "no answer within ${TIMEOUT}s (dns-timeout)" drop
check "  in the kernel" shunt_in_kernel 203.0.113.17 block
# --- the responder: strangers whose records do not come ------------------------------
check "responder: a stranger's silent reverse zone ends at dns-timeout, said so" \
  wait_for 5 bash -c "grep -F '(IKE from 198.51.100.21) may not speak for 198.51.100.21: no DNS answer for 21.100.51.198.in-addr.arpa.: IPSECKEY: no answer within ${TIMEOUT}s (dns-timeout)' $W/agent.log"
check "responder: a stranger's SERVFAIL, said so" \
  wait_for 5 bash -c "grep -F '(IKE from 198.51.100.22) may not speak for 198.51.100.22: no DNS answer for 22.100.51.198.in-addr.arpa.: IPSECKEY: SERVFAIL' $W/agent.log"
check "  both initiators were refused (no tunnel) and gave up" \
  wait_for 10 bash -c "grep -q 'exiting (0 up, 1 down)' $W/peer-21.log && grep -q 'exiting (0 up, 1 down)' $W/peer-22.log"
check "  one lookup each, retransmissions or not" \
  bash -c "[ \$(grep -c ' udp 21.100.51.198.in-addr.arpa 45 ' $W/dns.log) -ge 1 ] && [ \$(grep -c 'may not speak for 198.51.100.21' $W/agent.log) = 1 ]"
check "  no IKE SA left behind" wait_for 5 bash -c "$BIN/ipsec status --ctlsocket $CTL | grep -q 'IKE SAs: 0 (0 half-open)'"

check "the quick faults did not wait for the slow ones" bash -c "
  q=\$(grep -F ' 198.51.100.14: ' $W/agent.log | grep 'installed failure shunt' | cut -c8-22)
  s=\$(grep -F ' 198.51.100.17: ' $W/agent.log | grep 'installed failure shunt' | cut -c8-22)
  [ -n \"\$q\" ] && [ -n \"\$s\" ] && [[ \"\$q\" < \"\$s\" ]]"

# --- the resolver down ------------------------------------------------------------
check "the resolver listens on 192.0.2.53 port 53 (UDP and TCP)" \
  bash -c "ip netns exec $A ss -ulnH | grep -q '192.0.2.53:53 ' && ip netns exec $A ss -tlnH | grep -q '192.0.2.53:53 '"
kill "$DNS_PID"; wait "$DNS_PID" 2>/dev/null; DNS_PID=
check "  and then no more: the resolver is down" \
  bash -c "ip netns exec $A ss -ulnH | grep -q . && ! ip netns exec $A ss -ulnH | grep -q '192.0.2.53:53 '"
down_ms=$(ms_now)
poke 198.51.100.19
check "resolver down: a line that says no answer; pass shunt" \
  wait_for $((TIMEOUT + 3)) bash -c "grep -F ' 198.51.100.19: no DNS answer for 19.100.51.198.in-addr.arpa.: IPSECKEY: ' $W/agent.log | grep -q 'installed failure shunt pass'"
down_ms=$(( $(ms_now) - down_ms ))
check "  within dns-timeout and 3 s (${down_ms} ms)" bash -c "[ $down_ms -le $(( TIMEOUT * 1000 + 3000 )) ]"
check "  in the kernel" shunt_in_kernel 198.51.100.19 allow

# --- bounded: nothing left, no long turn -------------------------------------------
ipsec status > "$W/status.end"
check "no lookup left in flight" grep -q 'lookups in flight: 0' "$W/status.end"
check "every peer has its shunt: none still held" bash -c "! grep -q ': hold' $W/status.end && [ \$(grep -c 'shunt, ' $W/status.end) = 12 ]"
longest=$(sed -n 's/^event loop: .*longest \([0-9]*\) us.*/\1/p' "$W/status.end")
check "the event loop's longest turn was ${longest:-?} us (< 1 s: none waited for the 2 s answer)" \
  bash -c "[ -n '$longest' ] && [ '$longest' -lt 1000000 ]"
check "the agent is still running" kill -0 "$AGENT_PID"
echo "dns-faults: ran in $((SECONDS - T0)) s"
summary "dns-faults"
