# Sourced inside the guest by tests/e2e/oe.sh and demo.sh: a LAN with the DNS
# lab (nsd + unbound) and hosts in network namespaces; keys published in the
# signed reverse zone; helpers to start oe-agent on a host.
#   west 192.0.2.1   east 192.0.2.2   plain 192.0.2.3 (no agent, no key)
#   bogus 192.0.2.4 (its record is tampered after signing)
BIN=$top/build/bin
. "$top/tests/lab/warm-esp.sh"
L=/tmp/lab; mkdir -p $L

hosts="west:192.0.2.1 east:192.0.2.2 plain:192.0.2.3 bogus:192.0.2.4"
for h in $hosts; do ip netns add ${h%%:*}; done

# keys and the reverse zone, written the way an operator would
cp "$top/zones/2.0.192.in-addr.arpa.zone" $L/2.0.192.in-addr.arpa.zone
for h in west:1 east:2 bogus:4; do
  n=${h%%:*}; mkdir -p /tmp/$n
  "$BIN/ipsec" newhostkey --bits 2048 --output /tmp/$n/hostkey.pem >/dev/null
  "$BIN/ipsec" showhostkey --key-file /tmp/$n/hostkey.pem --ipseckey --host 192.0.2.${h#*:} \
    | sed "s/^${h#*:}\.2\.0\.192\.in-addr\.arpa\./${h#*:}/" >> $L/2.0.192.in-addr.arpa.zone
done
echo "2.0.192.in-addr.arpa 4.2.0.192.in-addr.arpa." > $L/tamper
LAB_LAN="$(for h in $hosts; do printf '%s/24 ' $h; done)" \
  bash "$top/tests/lab/dnslab.sh" up $L - $L/2.0.192.in-addr.arpa.zone

agent() { # NAME GROUP-LINES...
  local n=$1; shift
  mkdir -p /tmp/$n/policies
  : > /tmp/$n/policies/private-or-clear
  for line in "$@"; do echo "${line#*=}" >> /tmp/$n/policies/${line%%=*}; done
  cat > /tmp/$n/oe.conf <<C
policies = /tmp/$n/policies
key-file = /tmp/$n/hostkey.pem
resolver = 192.0.2.54
trust-anchor = $L/anchors
control = /tmp/$n/oe.ctl
log = /tmp/$n/agent.log
[group private-or-clear]
shunt-lifetime = 60s
[group private]
shunt-lifetime = 60s
C
  ip netns exec $n "$BIN/oe-agent" --config /tmp/$n/oe.conf --nofork &
  eval "PID_$n=\$!"
  wait_for 10 test -S /tmp/$n/oe.ctl
}
ipsec_at() { local n=$1; shift; "$BIN/ipsec" "$@" --ctlsocket /tmp/$n/oe.ctl; }
logged() { grep -q -- "$2" /tmp/$1/agent.log; }
esp_bytes() { ip -n "$1" -s xfrm state | awk '/lifetime current/ {getline; sub(/\(bytes\),?/, "", $1); s += $1} END {print s + 0}'; }

lab_down() {
  for n in west east bogus; do
    eval "pid=\${PID_$n:-}"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  bash "$top/tests/lab/dnslab.sh" down $L
}
