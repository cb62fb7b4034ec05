#!/usr/bin/env bash
# Keys in DNS against real servers: the lab's nsd serves zones/ signed at
# test time, unbound validates; ipsec verify runs in a client namespace.
# Also: newhostkey/showhostkey, zone-file checks with ldns and nsd, and
# libreswan's own tools reading and writing the same records. Needs root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/check.sh"

BIN=${BIN:-$top/build/bin}
. "$top/tests/lab/libreswan.sh"   # libreswan's own tools, as ls_*
C=oet-dnsc-$$
W=$(mktemp -d /tmp/oe-dns-lab.XXXXXX)
PLUTO_PID=

cleanup() {
  [ -n "$PLUTO_PID" ] && kill "$PLUTO_PID" 2>/dev/null && wait "$PLUTO_PID" 2>/dev/null
  bash "$top/tests/lab/dnslab.sh" down "$W/lab" 2>/dev/null
  ip netns del "$C" 2>/dev/null
  ip netns del "$C-ls" 2>/dev/null
  mkdir -p "$top/tests/out" && cp "$W"/lab/*.log "$top/tests/out/" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
ipsec() { "$BIN/ipsec" "$@"; }

# --- host keys -------------------------------------------------------------------
check "newhostkey writes a 3072-bit key" bash -c "$BIN/ipsec newhostkey --output $W/host.pem | grep -q 'wrote a 3072-bit RSA host key'"
check "the key file is 0600" bash -c "[ \$(stat -c %a $W/host.pem) = 600 ]"
check_not "newhostkey never overwrites a key" ipsec newhostkey --output "$W/host.pem"
check_not "newhostkey refuses keys under 2048 bits" ipsec newhostkey --bits 1024 --output "$W/small.pem"
cp "$W/host.pem" "$W/open.pem"; chmod 644 "$W/open.pem"
check "showhostkey refuses a key others can read" bash -c "! $BIN/ipsec showhostkey --key-file $W/open.pem --ipseckey 2>&1 | grep -q IPSECKEY && $BIN/ipsec showhostkey --key-file $W/open.pem --ipseckey 2>&1 | grep -q 'refusing a private key that others can read'"
keyid=$(ipsec showhostkey --key-file "$W/host.pem" --left | sed 's/.*rsasigkey=0s//' | cut -c1-9)

# --- records that load in zone files ------------------------------------------------
Z=$W/test.zone
{ printf '$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n@ IN SOA ns1.example.com. h.example.com. 1 3600 600 86400 300\n@ IN NS ns1.example.com.\n'
  ipsec showhostkey --key-file "$W/host.pem" --ipseckey --host 192.0.2.50
  ipsec showhostkey --key-file "$W/host.pem" --txt --host 192.0.2.51
  ipsec showhostkey --key-file "$W/host.pem" --key --host 192.0.2.52 --ttl 600
  ipsec showhostkey --key-file "$W/host.pem" --ipseckey --subnet 192.0.2.64/28 --gateway 192.0.2.1 --precedence 5
} > "$Z"
check "showhostkey output loads with ldns-read-zone" ldns-read-zone "$Z"
check "showhostkey output passes nsd-checkzone" nsd-checkzone 2.0.192.in-addr.arpa "$Z"
check "--subnet prints one record per address naming the gateway" bash -c "[ \$(grep -c 'IPSECKEY.*5 1 2 192.0.2.1 ' $Z) = 16 ]"
check "--txt splits the key into strings of at most 255" bash -c "grep TXT $Z | grep -o '\"[^\"]*\"' | awk '{ if (length(\$0) > 257) exit 1 }'"
check_not "--subnet without --gateway is refused" ipsec showhostkey --key-file "$W/host.pem" --ipseckey --subnet 192.0.2.0/24
check_not "--subnet larger than /16 is refused" ipsec showhostkey --key-file "$W/host.pem" --ipseckey --subnet 10.0.0.0/8 --gateway 192.0.2.1

# --- the lab -------------------------------------------------------------------------
mkdir -p "$W/lab" "$W/zones"
cp "$top"/zones/*.zone "$W/zones/"
# our own records, published the way an operator would
ipsec showhostkey --key-file "$W/host.pem" --ipseckey --host 192.0.2.50 | sed 's/^50\.2\.0\.192\.in-addr\.arpa\./50/' >> "$W/zones/2.0.192.in-addr.arpa.zone"
# libreswan's own record for 192.0.2.60
if ls_available; then
  ls_initnss "$W/lsnss" >/dev/null 2>&1
  ls_newhostkey "$W/lsnss"
  ckaid=$(ls_ckaid "$W/lsnss")
  ls_keyid=$(ls_keyid "$W/lsnss")
  ls_showhostkey --nssdir "$W/lsnss" --ipseckey --ckaid "$ckaid" --gateway 192.0.2.60 --precedence 10 \
    | sed 's/^[^ \t]*[ \t]/60 /' >> "$W/zones/2.0.192.in-addr.arpa.zone"
fi
echo "100.51.198.in-addr.arpa" > "$W/lab/unsigned"
echo "113.0.203.in-addr.arpa" > "$W/lab/expired"
echo "2.0.192.in-addr.arpa 12.2.0.192.in-addr.arpa." > "$W/lab/tamper"
ip netns add "$C"; ip -n "$C" link set lo up
check "the DNS lab starts (nsd + unbound, zones signed now)" bash "$top/tests/lab/dnslab.sh" up "$W/lab" "$C" "$W"/zones/*.zone

V="ip netns exec $C $BIN/ipsec verify --resolver 192.0.2.54 --trust-anchor $W/lab/anchors --timeout 10 --host"
verify_ok() { local out; out=$($V "$1" 2>&1); local rc=$?; echo "$out" > "$W/last"; [ $rc = 0 ] && grep -q -- "$2" "$W/last"; }
verify_fails() { local out; out=$($V "$1" 2>&1); local rc=$?; echo "$out" > "$W/last"; [ $rc = 1 ] && grep -q -- "$2" "$W/last"; }
show_last() { cat "$W/last"; }

check "secure IPSECKEY is accepted" verify_ok 192.0.2.7 'DNSSEC  *\[OK\]  *secure'
check "  and names its gateway and key" bash -c "grep -q 'precedence 10, gateway 192.0.2.7, RSA 2048 bits' $W/last"
check "FreeS/WAN TXT over several strings" verify_ok 192.0.2.8 'usable key  *\[OK\]  *from TXT'
check "KEY record (protocol 4)" verify_ok 192.0.2.9 'usable key  *\[OK\]  *from KEY'
check "several records: lowest precedence first, unsupported algorithm skipped" verify_ok 192.0.2.10 '2 usable of 3; first: precedence 10, gateway 192.0.2.10'
check "gateway given by name" verify_ok 192.0.2.14 'gateway gw.example.com.'
check "  its name resolves, validated (A for an IPv4 host)" verify_ok 192.0.2.14 'gateway address  *\[OK\]  *gw.example.com. is 192.0.2.14 (secure)'
check "a 1024-bit key is refused" verify_fails 192.0.2.11 'modulus of 1024 bits is shorter than the 2048 required'
check "missing record fails, with a secure denial" \
  bash -c "$V 192.0.2.13 > $W/last; [ \$? = 1 ] && grep -q 'no IPSECKEY, TXT or KEY record' $W/last && grep -q 'DNSSEC  *\[OK\]  *secure' $W/last"
check "tampered signature is bogus, with the reason" verify_fails 192.0.2.12 'bogus: .*signature verification failed'
check "expired signature is bogus, with the reason" verify_fails 203.0.113.7 'bogus: .*signature expired'
check "unsigned zone is insecure" verify_fails 198.51.100.7 'DNSSEC  *\[FAILED\]  *insecure'
check "  though its key parses" bash -c "grep -q 'usable key  *\[OK\]' $W/last"
check "IPv6 reverse (ip6.arpa) IPSECKEY" verify_ok 2001:db8::7 'gateway 2001:db8::7, RSA 2048 bits'
check "IPv6 reverse TXT with precedence 20" verify_ok 2001:db8::8 'first: precedence 20, gateway 2001:db8::8'
check "forward name (FQDN identity)" verify_ok west.example.com 'from IPSECKEY'
check "our showhostkey record, served and verified" verify_ok 192.0.2.50 "keyid $keyid"
check "--json is valid and says secure" bash -c "ip netns exec $C $BIN/ipsec verify --json --resolver 192.0.2.54 --trust-anchor $W/lab/anchors --host 192.0.2.7 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"dnssec\"] == \"secure\" and d[\"ok\"]'"
check "--json for bogus says so" bash -c "ip netns exec $C $BIN/ipsec verify --json --resolver 192.0.2.54 --trust-anchor $W/lab/anchors --host 192.0.2.12 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"dnssec\"] == \"bogus\" and not d[\"ok\"]'"
check "libunbound validates on its own, straight from nsd" \
  bash -c "ip netns exec $C $BIN/ipsec verify --resolver 192.0.2.53 --trust-anchor $W/lab/anchors --host 192.0.2.7 | grep -q 'DNSSEC  *\[OK\]  *secure'"
check "without the lab's anchor the same answer is not secure" \
  bash -c "! ip netns exec $C $BIN/ipsec verify --resolver 192.0.2.54 --trust-anchor /usr/share/dns/root.key --host 192.0.2.7 | grep -q 'DNSSEC  *\[OK\]'"
check "an unreachable resolver fails within the timeout" \
  bash -c "out=\$(ip netns exec $C $BIN/ipsec verify --resolver 192.0.2.99 --trust-anchor $W/lab/anchors --timeout 3 --host 192.0.2.7); [ \$? = 1 ] && echo \"\$out\" | grep -q 'FAILED'"

# --- libreswan ------------------------------------------------------------------------
if ls_available; then
  check "libreswan's showhostkey --ipseckey record parses with ours (over DNS)" verify_ok 192.0.2.60 "keyid $ls_keyid"
  # pluto itself checks the key we print: whack --pubkeyrsa parses RFC 3110
  ip netns add "$C-ls"; ip -n "$C-ls" link set lo up
  mkdir -p "$W/pluto/run" "$W/pluto/nss"
  ls_initnss "$W/pluto/nss" >/dev/null 2>&1
  printf 'config setup\n\tlogfile=%s/pluto/pluto.log\n\tnssdir=%s/pluto/nss\n\tdnssec-enable=no\n' "$W" "$W" > "$W/pluto/ipsec.conf"
  : > "$W/pluto/ipsec.secrets"
  ip netns exec "$C-ls" bash -c '. "$0"; ls_pluto "$@"' "$top/tests/lab/libreswan.sh" --config "$W/pluto/ipsec.conf" --secretsfile "$W/pluto/ipsec.secrets" \
    --rundir "$W/pluto/run" --nofork > "$W/pluto/stdout" 2>&1 &
  PLUTO_PID=$!
  wait_for 10 test -S "$W/pluto/run/pluto.ctl"
  whack() { ip netns exec "$C-ls" "$LS_BIN/whack" --ctlsocket "$W/pluto/run/pluto.ctl" "$@"; }
  ourkey=$(ipsec showhostkey --key-file "$W/host.pem" --left | sed 's/.*rsasigkey=//')
  whack --keyid 192.0.2.50 --pubkeyrsa "$ourkey" >/dev/null 2>&1
  check "libreswan's pluto loads the key our showhostkey prints" \
    bash -c "ip netns exec $C-ls $LS_BIN/whack --ctlsocket $W/pluto/run/pluto.ctl --listpubkeys | grep -q '3072 RSA Key $keyid'"
  check "  and refuses a broken one, as a control" \
    bash -c "ip netns exec $C-ls $LS_BIN/whack --ctlsocket $W/pluto/run/pluto.ctl --keyid 192.0.2.51 --pubkeyrsa 0sAwEAAQ== 2>&1 | grep -q 'shorter than RFC minimum'"
else
  not_ok "libreswan is unpacked (make deps)"
fi
summary "dns-lab"
