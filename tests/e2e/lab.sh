# Sourced inside the guest by tests/e2e/oe.sh and demo.sh: a LAN with the DNS
# lab (nsd + unbound) and hosts in network namespaces; keys published in the
# signed reverse zone; helpers to start oe-agent on a host.
#   west 192.0.2.1   east 192.0.2.2   plain 192.0.2.3 (no agent, no key)
#   bogus 192.0.2.4 (its record is tampered after signing)
#   gw 192.0.2.30, the gateway of inner 203.0.113.2 (whose record names gw)
#   insec 198.51.100.5 on the same LAN: its key is in an unsigned zone (insecure)
#   spoof 192.0.2.40: strongSwan as victim V (V's key in V's reverse record) or as
#     attacker M holding V's address (M's key in M's own signed zone m.example)
BIN=$top/build/bin
. "$top/tests/lab/warm-esp.sh"
L=/tmp/lab; mkdir -p $L

hosts="west:192.0.2.1 east:192.0.2.2 plain:192.0.2.3 bogus:192.0.2.4 lsoe:192.0.2.5 lsnull:192.0.2.6 lsnull2:192.0.2.7 gw:192.0.2.30 insec:198.51.100.5 spoof:192.0.2.40 many:192.0.2.199 multi:192.0.2.200"
for h in $hosts; do ip netns add ${h%%:*}; done

# keys and the reverse zone, written the way an operator would
V6ZONE=8.b.d.0.1.0.0.2.ip6.arpa
cp "$top/zones/2.0.192.in-addr.arpa.zone" $L/2.0.192.in-addr.arpa.zone
cp "$top/zones/$V6ZONE.zone" $L/$V6ZONE.zone
for h in west:1 east:2 bogus:4 gw:30; do
  n=${h%%:*}; mkdir -p /tmp/$n
  "$BIN/ipsec" newhostkey --bits 2048 --output /tmp/$n/hostkey.pem >/dev/null
  "$BIN/ipsec" showhostkey --key-file /tmp/$n/hostkey.pem --ipseckey --host 192.0.2.${h#*:} \
    | sed "s/^${h#*:}\.2\.0\.192\.in-addr\.arpa\./${h#*:}/" >> $L/2.0.192.in-addr.arpa.zone
  # and for its IPv6 address 2001:db8::N (ESP over IPv6)
  "$BIN/ipsec" showhostkey --key-file /tmp/$n/hostkey.pem --ipseckey --host 2001:db8::${h#*:} \
    | sed "s/\.$V6ZONE\.//" >> $L/$V6ZONE.zone
done
# V (192.0.2.40) publishes its key in its reverse record; M publishes its own key in
# its own signed forward zone (tests/e2e/hijack.sh)
for n in victim mallory; do
  mkdir -p /tmp/$n; "$BIN/ipsec" newhostkey --bits 2048 --output /tmp/$n/hostkey.pem >/dev/null
done
"$BIN/ipsec" showhostkey --key-file /tmp/victim/hostkey.pem --ipseckey --host 192.0.2.40 \
  | sed 's/^40\.2\.0\.192\.in-addr\.arpa\./40/' >> $L/2.0.192.in-addr.arpa.zone
cp "$top/zones/m.example.zone" $L/m.example.zone
"$BIN/ipsec" showhostkey --key-file /tmp/mallory/hostkey.pem --ipseckey --host 192.0.2.40 \
  | sed 's/^40\.2\.0\.192\.in-addr\.arpa\./m.example./' >> $L/m.example.zone
# libreswan's OE host publishes its key too (its own showhostkey)
. "$top/tests/lab/libreswan.sh"
if ls_available; then
  mkdir -p /tmp/lsoe
  ls_initnss /tmp/lsoe/nss >/dev/null 2>&1
  ls_newhostkey /tmp/lsoe/nss
  LSOE_CKAID=$(ls_ckaid /tmp/lsoe/nss)
  ls_showhostkey --nssdir /tmp/lsoe/nss --ipseckey --ckaid "$LSOE_CKAID" --gateway 192.0.2.5 --precedence 10 \
    | sed 's/^[^ \t]*[ \t]/5 /' >> $L/2.0.192.in-addr.arpa.zone
fi
# the subnet behind gw: its host's record names gw as its gateway, with gw's key
printf '$ORIGIN 113.0.203.in-addr.arpa.\n$TTL 300\n@ IN SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300\n@ IN NS ns1.example.com.\n' \
  > $L/113.0.203.in-addr.arpa.zone
"$BIN/ipsec" showhostkey --key-file /tmp/gw/hostkey.pem --ipseckey --host 203.0.113.2 --gateway 192.0.2.30 \
  | sed 's/^2\.113\.0\.203\.in-addr\.arpa\./2/' >> $L/113.0.203.in-addr.arpa.zone
# and 203.0.113.3's names gw by its name, which a signed forward zone resolves
"$BIN/ipsec" showhostkey --key-file /tmp/gw/hostkey.pem --ipseckey --host 203.0.113.3 --gateway gw.example.net. \
  | sed 's/^3\.113\.0\.203\.in-addr\.arpa\./3/' >> $L/113.0.203.in-addr.arpa.zone
printf '$ORIGIN example.net.\n$TTL 300\n@ IN SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300\n@ IN NS ns1.example.com.\ngw IN A 192.0.2.30\ndt IN A 192.0.2.208\n' \
  > $L/example.net.zone
# insec's reverse zone is served unsigned: its key is there, but insecure
mkdir -p /tmp/insec
"$BIN/ipsec" newhostkey --bits 2048 --output /tmp/insec/hostkey.pem >/dev/null
printf '$ORIGIN 100.51.198.in-addr.arpa.\n$TTL 300\n@ IN SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300\n@ IN NS ns1.example.com.\n' \
  > $L/100.51.198.in-addr.arpa.zone
"$BIN/ipsec" showhostkey --key-file /tmp/insec/hostkey.pem --ipseckey --host 198.51.100.5 \
  | sed 's/^5\.100\.51\.198\.in-addr\.arpa\./5/' >> $L/100.51.198.in-addr.arpa.zone
echo "100.51.198.in-addr.arpa" > $L/unsigned
echo "2.0.192.in-addr.arpa 4.2.0.192.in-addr.arpa." > $L/tamper
# a script that sources this may add records to the zones before they are signed
if type lab_zone_extra >/dev/null 2>&1; then lab_zone_extra; fi
LAB_LAN="$(for h in $hosts; do printf '%s/24 ' $h; done)" \
  bash "$top/tests/lab/dnslab.sh" up $L - $L/2.0.192.in-addr.arpa.zone $L/$V6ZONE.zone $L/113.0.203.in-addr.arpa.zone \
    $L/100.51.198.in-addr.arpa.zone $L/example.net.zone $L/m.example.zone
ip netns add inner
ip link add gwin netns gw type veth peer name in0 netns inner
ip -n gw addr add 203.0.113.1/24 dev gwin; ip -n inner addr add 203.0.113.2/24 dev in0
ip -n inner addr add 203.0.113.3/24 dev in0
ip -n gw link set gwin up; ip -n inner link set in0 up; ip -n inner link set lo up
ip -n inner route add default via 203.0.113.1
ip netns exec gw sysctl -qw net.ipv4.ip_forward=1
for n in west east; do ip -n $n route add 203.0.113.0/24 via 192.0.2.30; done
# insec shares the LAN from another prefix: on-link routes both ways
for n in west east; do ip -n $n route add 198.51.100.0/24 dev $(ip -n $n -o link show | awk -F': ' '/lan/ {sub(/@.*/, "", $2); print $2}'); done
ip -n insec route add 192.0.2.0/24 dev $(ip -n insec -o link show | awk -F': ' '/lan/ {sub(/@.*/, "", $2); print $2}')
ip -n "$(cat $L/ns)" route add 198.51.100.0/24 dev br0   # the resolver answers insec too
for h in west:1 east:2 plain:3 bogus:4; do
  ip netns exec ${h%%:*} sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n ${h%%:*} addr add 2001:db8::${h#*:}/64 dev $(ip -n ${h%%:*} -o link show | awk -F': ' '/lan/ {sub(/@.*/, "", $2); print $2}') nodad
done

# libreswan's OE as its documentation configures it: AUTH rsasig (keys in DNS) or null
ls_oe() { # NAME AUTH
  local n=$1 auth=$2 d=/tmp/$1
  mkdir -p $d/ipsec.d/policies $d/run
  [ -d $d/nss ] || ls_initnss $d/nss >/dev/null 2>&1
  echo "192.0.2.0/24" > $d/ipsec.d/policies/private-or-clear
  printf '192.0.2.53/32\n192.0.2.54/32\n' > $d/ipsec.d/policies/clear
  for g in clear-or-private private block; do : > $d/ipsec.d/policies/$g; done
  echo "nameserver 192.0.2.54" > $d/resolv.conf
  printf 'server:\n  local-zone: "2.0.192.in-addr.arpa." nodefault\n  local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault\n  local-zone: "113.0.203.in-addr.arpa." nodefault\n' > $d/unbound.conf
  local a
  if [ $auth = rsasig ]; then
    a="	leftckaid=$LSOE_CKAID
	leftrsasigkey=%cert
	rightrsasigkey=%dnsondemand
	authby=rsasig"
  else
    a="	leftid=%null
	rightid=%null
	authby=null"
  fi
  cat > $d/ipsec.conf <<C
config setup
	logfile=$d/pluto.log
	plutodebug=none
	ipsecdir=$d/ipsec.d
	nssdir=$d/nss
	dnssec-enable=yes
	dnssec-anchors=$L/anchors
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
$a
	ike=aes_gcm_16_256-sha2_256-dh19
	esp=aes_gcm_16_256
	failureshunt=passthrough
	negotiationshunt=hold
	keyingtries=1
	leftupdown=/bin/true
	auto=ondemand
C
  : > $d/ipsec.secrets
  ip -n $n route add default via 192.0.2.53 2>/dev/null
  ip netns exec $n env LS_RESOLV=$d/resolv.conf OE_UB_CONF=$d/unbound.conf \
    LD_PRELOAD=$top/build/tests/ub_nodefault.so bash -c '. "$0"; ls_pluto "$@"' "$top/tests/lab/libreswan.sh" \
    --config $d/ipsec.conf --secretsfile $d/ipsec.secrets --rundir $d/run --nofork > $d/stdout 2>&1 &
  eval "LSPID_$n=\$!"
  wait_for 15 test -S $d/run/pluto.ctl
  ip netns exec $n "$LS_BIN/whack" --ctlsocket $d/run/pluto.ctl --listen >/dev/null 2>&1
  ip netns exec $n "$LS_BIN/addconn" --ctlsocket $d/run/pluto.ctl --config $d/ipsec.conf --autoall >/dev/null 2>&1
  ip netns exec $n "$LS_BIN/whack" --ctlsocket $d/run/pluto.ctl --listen >/dev/null 2>&1
}

agent() { # NAME GROUP-LINES...
  local n=$1; shift
  # the lines given are the whole policy: a restart must not find the last run's
  # lines again (a line twice is an error, and the agent would not start)
  rm -rf /tmp/$n/policies; mkdir -p /tmp/$n/policies
  : > /tmp/$n/policies/private-or-clear
  for line in "$@"; do echo "${line#*=}" >> /tmp/$n/policies/${line%%=*}; done
  cat > /tmp/$n/oe.conf <<C
policies = /tmp/$n/policies
key-file = /tmp/$n/hostkey.pem
resolver = 192.0.2.54
trust-anchor = $L/anchors
control = /tmp/$n/oe.ctl
log = /tmp/$n/agent.log
$(eval "printf '%s' \"\${AGENT_GLOBAL_$n:-}\"")
[group private-or-clear]
shunt-lifetime = 60s
[group private]
shunt-lifetime = 60s
C
  eval "printf '%s\\n' \"\${AGENT_EXTRA_$n:-}\"" >> /tmp/$n/oe.conf
  rm -f /tmp/$n/oe.ctl # a killed agent leaves its socket: wait for the new one's
  ip netns exec $n "$BIN/oe-agent" --config /tmp/$n/oe.conf --nofork &
  eval "PID_$n=\$!"
  # AGENT_NOWAIT=1: the caller waits for the control socket (agents started side by side)
  [ -n "${AGENT_NOWAIT:-}" ] || wait_for 10 test -S /tmp/$n/oe.ctl
}
lan_if() { ip -n "$1" -o link show | awk -F': ' '/lan/ {sub(/@.*/, "", $2); print $2}'; }
ipsec_at() { local n=$1; shift; "$BIN/ipsec" "$@" --ctlsocket /tmp/$n/oe.ctl; }
logged() { grep -q -- "$2" /tmp/$1/agent.log; }
esp_bytes() { ip -n "$1" -s xfrm state | awk '/lifetime current/ {getline; sub(/\(bytes\),?/, "", $1); s += $1} END {print s + 0}'; }

lab_down() {
  for n in west east bogus gw insec many multi; do
    eval "pid=\${PID_$n:-}"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  for n in lsoe lsnull lsnull2; do
    eval "pid=\${LSPID_$n:-}"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  bash "$top/tests/lab/dnslab.sh" down $L
}
