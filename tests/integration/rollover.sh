#!/usr/bin/env bash
# A key rollover against a real primary (knotd signing its zone, RFC 2136
# with TSIG), as oe-dns(5) tells it: the next key made, both published (two
# IPSECKEY and two TXT at the reverse name, secure to a validating peer),
# the switch refused until the old records' TTL has passed, the old record
# removed by the next publish, the rollover finished. Needs root and knot.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/check.sh"

BIN=${BIN:-$top/build/bin}
C=rollover-c-$$
W=$(mktemp -d /tmp/oe-rollover-lab.XXXXXX)
K=192.0.2.56
cleanup() {
  bash "$top/tests/lab/knotlab.sh" down "$W/lab" 2>/dev/null
  ip netns del "$C" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
if ! command -v knotd >/dev/null || ! command -v kdig >/dev/null; then
  not_ok "knot and knot-dnsutils are installed (make deps)"
  summary "rollover"
  exit 1
fi
in_c() { ip netns exec "$C" "$@"; }
publish() { in_c "$BIN/ipsec" publish --server $K --tsig-key "$W/lab/tsig.key" --key-file "$W/host.pem" --ttl 60 "$@"; }
out_has() { local pat=$1; shift; local out; out=$("$@" 2>&1); local rc=$?; echo "$out" > "$W/last"; [ $rc = 0 ] && grep -q -- "$pat" "$W/last"; }
err_has() { local pat=$1; shift; local out; out=$("$@" 2>&1); local rc=$?; echo "$out" > "$W/last"; [ $rc = 1 ] && grep -q -- "$pat" "$W/last"; }
V() { in_c "$BIN/ipsec" verify --resolver $K --trust-anchor "$W/lab/anchors" --timeout 10 --host "$@"; }
keys_at() { in_c kdig @$K +tcp +short IPSECKEY 8.2.0.192.in-addr.arpa | awk '{print $5}' | sort; }
key_b64() { "$BIN/ipsec" showhostkey --key-file "$1" --ipseckey 2>/dev/null | awk '{print $NF}' | head -1; }

mkdir -p "$W/lab" "$W/zones"
printf '$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n@ IN SOA ns1.example.com. h.example.com. 1 3600 600 86400 300\n@ IN NS ns1.example.com.\n' \
  > "$W/zones/2.0.192.in-addr.arpa.zone"
ip netns add "$C"; ip -n "$C" link set lo up
check "knotd serves the reverse zone, signing it itself" bash "$top/tests/lab/knotlab.sh" up "$W/lab" "$C" "$W"/zones/*.zone

"$BIN/ipsec" newhostkey --bits 2048 --output "$W/host.pem" >/dev/null
old=$(key_b64 "$W/host.pem")
check "the host's key published (TTL 60)" out_has 'updated 1 name, 2 records' publish --host 192.0.2.8 --txt
check "  no rollover: --switch has nothing to switch to" \
  err_has 'no next key' "$BIN/ipsec" newhostkey --rollover --switch --output "$W/host.pem"

# 1. the next key
check "1. newhostkey --rollover makes the next key beside the current one" \
  out_has 'host.pem.next (keyid' "$BIN/ipsec" newhostkey --rollover --bits 2048 --output "$W/host.pem"
new=$(key_b64 "$W/host.pem.next")
check "  showhostkey prints a record for each" \
  bash -c "[ \$($BIN/ipsec showhostkey --key-file $W/host.pem --ipseckey --host 192.0.2.8 2>/dev/null | wc -l) = 2 ]"
check "  not published: the switch is refused" \
  err_has 'never published' "$BIN/ipsec" newhostkey --rollover --switch --output "$W/host.pem"

# 2. both published
check "2. publish adds the next key's records beside the current ones" out_has 'updated 1 name, 2 records' publish --host 192.0.2.8 --txt
check "  and says when the next key may sign (the old TTL, 60 s)" bash -c "grep -q 'may sign from .*the old records. TTL 60 s' $W/last"
check "  the primary holds both IPSECKEY records" bash -c "[ \"\$(ip netns exec $C kdig @$K +tcp +short IPSECKEY 8.2.0.192.in-addr.arpa | awk '{print \$5}' | sort | paste -sd' ')\" = \"\$(printf '%s\n' '$old' '$new' | sort | paste -sd' ')\" ]"
check "  and both TXT records" bash -c "[ \$(ip netns exec $C kdig @$K +tcp +short TXT 8.2.0.192.in-addr.arpa | grep -c X-IPsec-Server) = 2 ]"
check "  a validating peer's lookup finds both, usable and secure" out_has 'IPSECKEY records  *\[OK\]  *2 usable of 2' V 192.0.2.8
check "    secure" bash -c "grep -q 'DNSSEC  *\[OK\]  *secure' $W/last"
check "  publishing again changes nothing" out_has 'nothing changed: 1 name already as wanted' publish --host 192.0.2.8 --txt
check "  and does not restart the wait" bash -c "grep -q 'may sign from' $W/last"

# 3. the switch: refused before the old TTL has passed
check "3. the switch is refused before the old records' TTL has passed" \
  err_has 'too early: the old records may stay' "$BIN/ipsec" newhostkey --rollover --switch --output "$W/host.pem"
# the wait passes (the stamp says when both were published: moved 61 s back, as if waited)
read -r _ t _ w < "$W/host.pem.next.published"
printf 'published %s wait %s\n' $((t - 61)) "$w" > "$W/host.pem.next.published"
check "  once it has, the next key signs" out_has 'switched: .* is now the next key' "$BIN/ipsec" newhostkey --rollover --switch --output "$W/host.pem"
check "  the old one is kept beside it" test -f "$W/host.pem.old"
check "  DNS still has both until the next publish" bash -c "[ \$(ip netns exec $C kdig @$K +tcp +short IPSECKEY 8.2.0.192.in-addr.arpa | wc -l) = 2 ]"

# 4. the old record removed
check "4. publish replaces the set: the old key's records go" out_has 'updated 1 name, 2 records' publish --host 192.0.2.8 --txt
check "  the primary holds the new key alone" bash -c "[ \"\$(ip netns exec $C kdig @$K +tcp +short IPSECKEY 8.2.0.192.in-addr.arpa | awk '{print \$5}')\" = '$new' ]"
check "  a peer finds one usable key, secure" out_has 'IPSECKEY records  *\[OK\]  *1 usable of 1' V 192.0.2.8
check "  --finish removes the old key file" out_has 'the rollover is over' "$BIN/ipsec" newhostkey --rollover --finish --output "$W/host.pem"
check "  and a new rollover may start" out_has 'host.pem.next' "$BIN/ipsec" newhostkey --rollover --bits 2048 --output "$W/host.pem"
summary "rollover"
