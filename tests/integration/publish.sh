#!/usr/bin/env bash
# ipsec publish against a real primary: knotd signing its reverse zones
# itself (dnssec-signing: on) and taking RFC 2136 updates signed with a TSIG
# key; what was published is then checked the way a peer sees it, by
# ipsec verify (libunbound, validating with the zones' KSKs as anchors) in
# a client namespace. Needs root and knot (make deps).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/check.sh"

BIN=${BIN:-$top/build/bin}
C=publish-c-$$
W=$(mktemp -d /tmp/oe-publish-lab.XXXXXX)
K=192.0.2.56

cleanup() {
  bash "$top/tests/lab/knotlab.sh" down "$W/lab" 2>/dev/null
  ip netns del "$C" 2>/dev/null
  mkdir -p "$top/tests/out" && cp "$W/lab/knot.log" "$top/tests/out/publish-knot.log" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

if ! command -v knotd >/dev/null || ! command -v kdig >/dev/null; then
  not_ok "knot and knot-dnsutils are installed (make deps)"
  summary "publish"
  exit 1
fi

in_c() { ip netns exec "$C" "$@"; }
publish() { in_c "$BIN/ipsec" publish --server $K --tsig-key "$W/lab/tsig.key" --key-file "$W/host.pem" "$@"; }
# out_has PATTERN COMMAND...: the command succeeds and prints PATTERN
out_has() { local pat=$1; shift; local out; out=$("$@" 2>&1); local rc=$?; echo "$out" > "$W/last"; [ $rc = 0 ] && grep -q -- "$pat" "$W/last"; }
# err_has PATTERN COMMAND...: the command fails with exit 1 and prints PATTERN
err_has() { local pat=$1; shift; local out; out=$("$@" 2>&1); local rc=$?; echo "$out" > "$W/last"; [ $rc = 1 ] && grep -q -- "$pat" "$W/last"; }
V() { in_c "$BIN/ipsec" verify --resolver $K --trust-anchor "$W/lab/anchors" --timeout 10 --host "$@"; }
serial() { in_c kdig @$K +short SOA "$1" | awk '{print $3}'; }
records() { in_c kdig @$K +short "$2" "$1"; }

"$BIN/ipsec" newhostkey --output "$W/host.pem" >/dev/null
"$BIN/ipsec" newhostkey --output "$W/next.pem" >/dev/null
keyid=$("$BIN/ipsec" showhostkey --key-file "$W/host.pem" --left | sed 's/.*rsasigkey=0s//' | cut -c1-9)
nextid=$("$BIN/ipsec" showhostkey --key-file "$W/next.pem" --left | sed 's/.*rsasigkey=0s//' | cut -c1-9)

# --- the lab: two reverse zones that take updates, one that does not --------------------
mkdir -p "$W/lab" "$W/zones"
for z in 2.0.192.in-addr.arpa 8.b.d.0.1.0.0.2.ip6.arpa 100.51.198.in-addr.arpa; do
  printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns1.example.com. h.example.com. 1 3600 600 86400 300\n@ IN NS ns1.example.com.\n' \
    "$z" > "$W/zones/$z.zone"
done
echo 100.51.198.in-addr.arpa > "$W/lab/readonly"
ip netns add "$C"; ip -n "$C" link set lo up
check "knotd serves three reverse zones, signing them itself" \
  bash "$top/tests/lab/knotlab.sh" up "$W/lab" "$C" "$W"/zones/*.zone
check "  each zone's KSK is the peers' trust anchor" bash -c "[ \$(grep -c 'DNSKEY.*257 3 13' $W/lab/anchors) = 3 ]"

# --- one host ------------------------------------------------------------------------------
s0=$(serial 2.0.192.in-addr.arpa)
check "--dry-run names the zone, the prerequisites and the records, and sends nothing" \
  bash -c "out=\$(ip netns exec $C $BIN/ipsec publish --server $K --key-file $W/host.pem --host 192.0.2.7 --txt --dry-run) &&
    echo \"\$out\" | grep -q '^zone 2.0.192.in-addr.arpa.\$' &&
    echo \"\$out\" | grep -q '^prereq nxrrset 7.2.0.192.in-addr.arpa. IN IPSECKEY\$' &&
    echo \"\$out\" | grep -q '^update add 7.2.0.192.in-addr.arpa. 3600 IN IPSECKEY 10 0 2 . ' &&
    echo \"\$out\" | grep -q '^update add 7.2.0.192.in-addr.arpa. 3600 IN TXT \"X-IPsec-Server(10)=192.0.2.7 \"' &&
    echo \"\$out\" | grep -q '^send\$' && [ \"\$(ip netns exec $C kdig @$K +short IPSECKEY 7.2.0.192.in-addr.arpa)\" = '' ]"
check "  and the zone's serial did not move" bash -c "[ \"$s0\" = \"\$(ip netns exec $C kdig @$K +short SOA 2.0.192.in-addr.arpa | awk '{print \$3}')\" ]"

check "publish a host's IPSECKEY and TXT" out_has 'zone 2.0.192.in-addr.arpa.: updated 1 name, 2 records' publish --host 192.0.2.7 --txt
check "  the primary serves what showhostkey prints" \
  bash -c "[ \"\$(ip netns exec $C kdig @$K +short IPSECKEY 7.2.0.192.in-addr.arpa)\" = \"\$($BIN/ipsec showhostkey --key-file $W/host.pem --ipseckey | awk '{print \$3, \$4, \$5, \$6, \$7}')\" ]"
check "  a validating peer sees it as secure" out_has 'DNSSEC  *\[OK\]  *secure' V 192.0.2.7
check "  with this host's key, no gateway" bash -c "grep -q 'precedence 10, gateway none, RSA 3072 bits, keyid $keyid' $W/last"
check "  and the FreeS/WAN TXT beside it" bash -c "grep -q 'TXT X-IPsec-Server records  *\[OK\]  *1 record' $W/last"
s1=$(serial 2.0.192.in-addr.arpa)
check "a second publish says nothing changed" out_has 'nothing changed: 1 name already as wanted' publish --host 192.0.2.7 --txt
check "  names the name" bash -c "grep -q '7.2.0.192.in-addr.arpa. already published: nothing to change' $W/last"
check "  and sent no update (serial $s1 stays)" bash -c "[ \"$s1\" = \"\$(ip netns exec $C kdig @$K +short SOA 2.0.192.in-addr.arpa | awk '{print \$3}')\" ]"

# the dry run is nsupdate's language: knsupdate sends it as it is, once; sent again,
# its prerequisite (the name still has no IPSECKEY) fails it, as it would fail ours
in_c "$BIN/ipsec" publish --server $K --key-file "$W/host.pem" --host 192.0.2.10 --dry-run | grep -v '^dry run' > "$W/dry.txt"
ku() { { echo "server $K"; cat "$W/dry.txt"; } | in_c knsupdate -y "hmac-sha256:publish-key:$(cat "$W/lab/tsig.secret")" 2>&1; }
check "knsupdate sends the --dry-run text as it is" bash -c "$(declare -f ku in_c); W=$W K=$K C=$C; ku >/dev/null && ip netns exec $C kdig @$K +short IPSECKEY 10.2.0.192.in-addr.arpa | grep -q '^10 0 2 \. '"
check "  sent again, its prerequisite refuses it (YXRRSET)" bash -c "$(declare -f ku in_c); W=$W K=$K C=$C; ku | grep -q YXRRSET"
check "  and publish finds it already there" out_has '10.2.0.192.in-addr.arpa. already published' publish --host 192.0.2.10

# someone else's TXT at the same name stays through publish and remove
printf 'server %s\nzone 2.0.192.in-addr.arpa.\nupdate add 7.2.0.192.in-addr.arpa. 300 TXT "owner=ops"\nsend\n' $K |
  in_c knsupdate -y "hmac-sha256:publish-key:$(cat "$W/lab/tsig.secret")" >/dev/null 2>&1

check "a new key replaces the old one (delete and add, one update)" \
  out_has 'updated 1 name, 4 records' in_c "$BIN/ipsec" publish --server $K --tsig-key "$W/lab/tsig.key" --key-file "$W/next.pem" --host 192.0.2.7 --txt
check "  the peer now finds the new key" out_has "keyid $nextid" V 192.0.2.7
check "  only one IPSECKEY is left" bash -c "[ \$(ip netns exec $C kdig @$K +short IPSECKEY 7.2.0.192.in-addr.arpa | wc -l) = 1 ]"
check "  and the other TXT is untouched" bash -c "ip netns exec $C kdig @$K +short TXT 7.2.0.192.in-addr.arpa | grep -qx '\"owner=ops\"'"
publish --host 192.0.2.7 --txt >/dev/null 2>&1

# --- a /28 behind a gateway ------------------------------------------------------------------
check "publish a /28 behind a gateway, in batches of 10" \
  out_has 'updated 6 names, 6 records' publish --subnet 192.0.2.64/28 --gateway 192.0.2.1 --batch 10
check "  one update per batch, in the zone of the subnet" bash -c "grep -c 'zone 2.0.192.in-addr.arpa.: updated 10 names, 10 records' $W/last | grep -qx 1"
check "  the first address: secure, naming the gateway" out_has 'DNSSEC  *\[OK\]  *secure' V 192.0.2.64
check "    gateway 192.0.2.1 with this key" bash -c "grep -q 'gateway 192.0.2.1, RSA 3072 bits, keyid $keyid' $W/last"
check "  the last address too" out_has 'gateway 192.0.2.1, RSA 3072 bits' V 192.0.2.79
check "  the address after it has no key (secure denial)" \
  bash -c "ip netns exec $C $BIN/ipsec verify --resolver $K --trust-anchor $W/lab/anchors --host 192.0.2.80 > $W/last; [ \$? = 1 ] && grep -q 'no IPSECKEY, TXT or KEY record' $W/last && grep -q 'DNSSEC  *\[OK\]  *secure' $W/last"
check "the /28 again: nothing changed" out_has 'nothing changed: 16 names already as wanted' publish --subnet 192.0.2.64/28 --gateway 192.0.2.1
check "IPv6: a host in ip6.arpa" out_has 'zone 8.b.d.0.1.0.0.2.ip6.arpa.: updated 1 name' publish --host 2001:db8::7
check "  secure, with the key" out_has "keyid $keyid" V 2001:db8::7
check "a /120 with TXT in batches of 1024: split by size (48 KiB an update)" \
  bash -c "out=\$(ip netns exec $C $BIN/ipsec publish --server $K --tsig-key $W/lab/tsig.key --key-file $W/host.pem \
    --subnet 2001:db8::100/120 --gateway 2001:db8::1 --txt --batch 1024) && [ \$(echo \"\$out\" | grep -c '^zone 8.b.d.0.1.0.0.2.ip6.arpa.: updated') -gt 1 ] &&
    [ \$(echo \"\$out\" | sed -n 's/.*updated \([0-9]*\) name.*/\1/p' | paste -sd+ | bc) = 256 ]"
check "  its last address: secure, both records naming the gateway" out_has 'gateway 2001:db8::1, RSA 3072 bits' V 2001:db8::1ff
check "  again: nothing changed" out_has 'nothing changed: 256 names already as wanted' publish --subnet 2001:db8::100/120 --gateway 2001:db8::1 --txt

# --- refusals, by name -----------------------------------------------------------------------
printf 'key "publish-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$(head -c 32 /dev/urandom | base64)" > "$W/wrong.key"
printf 'key "stranger" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$(cat "$W/lab/tsig.secret")" > "$W/stranger.key"
chmod 600 "$W/wrong.key" "$W/stranger.key"
s2=$(serial 2.0.192.in-addr.arpa)
check "a wrong secret is refused: NOTAUTH, TSIG error BADSIG" \
  err_has 'update refused: NOTAUTH, TSIG error BADSIG (key publish-key.)' \
  in_c "$BIN/ipsec" publish --server $K --tsig-key "$W/wrong.key" --key-file "$W/host.pem" --host 192.0.2.8
check "an unknown key is refused: NOTAUTH, TSIG error BADKEY" \
  err_has 'update refused: NOTAUTH, TSIG error BADKEY (key stranger.)' \
  in_c "$BIN/ipsec" publish --server $K --tsig-key "$W/stranger.key" --key-file "$W/host.pem" --host 192.0.2.8
check "  neither changed the zone" bash -c "[ \"$s2\" = \"\$(ip netns exec $C kdig @$K +short SOA 2.0.192.in-addr.arpa | awk '{print \$3}')\" ] && [ -z \"\$(ip netns exec $C kdig @$K +short IPSECKEY 8.2.0.192.in-addr.arpa)\" ]"
check "a zone without the key in its ACL refuses the update by name" \
  bash -c "out=\$(ip netns exec $C $BIN/ipsec publish --server $K --tsig-key $W/lab/tsig.key --key-file $W/host.pem --host 198.51.100.7 2>&1); [ \$? = 1 ] && echo \"\$out\" | grep -Eq 'update refused: (NOTAUTH|REFUSED)'"   # knot: NOTAUTH, BADKEY
check "a server that is not the primary of the name is named" \
  err_has 'answered REFUSED for 7.113.0.203.in-addr.arpa. SOA' publish --host 203.0.113.7
chmod 644 "$W/wrong.key"
check "a TSIG key others can read is refused" \
  bash -c "out=\$($BIN/ipsec publish --server $K --tsig-key $W/wrong.key --key-file $W/host.pem --host 192.0.2.8 2>&1); [ \$? = 1 ] && echo \"\$out\" | grep -q 'refusing a TSIG key that others can read'"
printf 'key "k" {\n\talgorithm hmac-md5;\n\tsecret "AAAA";\n};\n' > "$W/md5.key"; chmod 600 "$W/md5.key"
check "a bad key file is named with its line" \
  bash -c "out=\$($BIN/ipsec publish --server $K --tsig-key $W/md5.key --key-file $W/host.pem --host 192.0.2.8 2>&1); [ \$? = 1 ] && echo \"\$out\" | grep -q 'md5.key:2: algorithm \"hmac-md5\" is not one of'"

# --- oe.conf --------------------------------------------------------------------------------
printf '# publish settings\npolicies = /etc/oe/policies\npublish-server = %s\npublish-tsig-key = %s\n[group private]\nfailure-shunt = drop\n' \
  $K "$W/lab/tsig.key" > "$W/oe.conf"
check "server and key from oe.conf" \
  out_has 'updated 1 name, 1 record' in_c "$BIN/ipsec" publish --config "$W/oe.conf" --key-file "$W/host.pem" --host 192.0.2.9

# --- remove ---------------------------------------------------------------------------------
check "--remove deletes this key's records" out_has 'updated 1 name, 2 records' publish --host 192.0.2.7 --remove
check "  the peer gets no key: a secure denial" \
  bash -c "ip netns exec $C $BIN/ipsec verify --resolver $K --trust-anchor $W/lab/anchors --host 192.0.2.7 > $W/last; [ \$? = 1 ] && grep -q 'IPSECKEY records  *\[NONE\]' $W/last && grep -q 'DNSSEC  *\[OK\]  *secure' $W/last"
check "  the other TXT stays" bash -c "[ \"\$(ip netns exec $C kdig @$K +short TXT 7.2.0.192.in-addr.arpa)\" = '\"owner=ops\"' ]"
check "--remove again: nothing to remove" out_has 'nothing changed: 1 name without a record of this key' publish --host 192.0.2.7 --remove
check "--remove for the /28" out_has 'updated 16 names, 16 records' publish --subnet 192.0.2.64/28 --gateway 192.0.2.1 --remove
check "  gone: secure denial at its first address" \
  bash -c "ip netns exec $C $BIN/ipsec verify --resolver $K --trust-anchor $W/lab/anchors --host 192.0.2.64 > $W/last; [ \$? = 1 ] && grep -q 'DNSSEC  *\[OK\]  *secure' $W/last"
summary "publish"
