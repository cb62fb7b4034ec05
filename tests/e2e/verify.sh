# Sourced by tests/e2e/oe.sh inside the guest (real ESP), with the lab up:
# ipsec verify of west as a whole, where every part can pass. west's agent
# runs (it set the sysctls), its keys are published and signed, its
# resolver validates. With a ruleset that lets IKE, NAT-T and ESP through
# every check is OK and the exit status 0; with one that drops ESP the ESP
# line is FAILED and the exit status 1; with east's key as ours the
# published key is not "this host's key" (FAILED). The ruleset is flushed
# after, so the tests that follow see west as before.
# Standalone: bash tests/e2e/verify.sh (sets the lab up and down itself).
if [ -z "${L:-}" ]; then
  top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  . "$top/tests/lib/check.sh"
  . "$top/tests/e2e/lab.sh"
  VF_OWN_LAB=1
fi
OUT=${OUT:-$top/tests/out/e2e}; mkdir -p "$OUT"
echo "== ipsec verify of this machine (west)"
"$BIN/ipsec" status --ctlsocket /tmp/west/oe.ctl >/dev/null 2>&1 || agent west "private-or-clear=192.0.2.0/24"
vf() { ip netns exec west "$BIN/ipsec" verify --config /tmp/west/oe.conf --timeout 10 "$@"; }
vf_line() { grep -E -q "^  $1 +\\[$2\\]" "$OUT/verify-$3.txt"; }
cat > /tmp/west/fw-good.nft <<'NFT'
flush ruleset
table inet filter {
  chain input { type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif lo accept
    udp dport { 500, 4500 } accept
    meta l4proto esp accept
    meta l4proto { icmp, ipv6-icmp } accept
    tcp dport 5001 accept
  }
  chain output { type filter hook output priority filter; policy accept; }
}
NFT
printf 'flush ruleset\ntable inet filter {\n chain input { type filter hook input priority filter; policy accept;\n  meta l4proto esp drop\n }\n}\n' \
  > /tmp/west/fw-drop-esp.nft

ip netns exec west nft -f /tmp/west/fw-good.nft
vf > "$OUT/verify-good.txt" 2>&1; echo $? > "$OUT/verify-good.rc"
sed 's/^/   /' "$OUT/verify-good.txt"
check "verify: a machine ready for OE exits 0" test "$(cat "$OUT/verify-good.rc")" = 0
check "verify: nothing FAILED or WARN" bash -c "! grep -E '\\[(FAILED|WARN)\\]' $OUT/verify-good.txt"
check "verify: ESP (IPv4) and (IPv6) OK in the guest's kernel" \
  bash -c "grep -Eq '^  ESP \\(IPv4\\) +\\[OK\\]' $OUT/verify-good.txt && grep -Eq '^  ESP \\(IPv6\\) +\\[OK\\]' $OUT/verify-good.txt"
check "verify: the sysctls the agent set are OK" \
  bash -c "grep -Eq '^  xfrm_larval_drop +\\[OK\\] +0' $OUT/verify-good.txt && grep -Eq '^  xfrm_acq_expires +\\[OK\\] +5' $OUT/verify-good.txt"
check "verify: the resolver validates (DNSSEC OK)" vf_line DNSSEC OK good
check "verify: 192.0.2.1 publishes this host's key" \
  bash -c "grep -A12 '^Checking keys for 192.0.2.1\$' $OUT/verify-good.txt | grep -Eq \"^  this host's key +\\[OK\\]\""
check "verify: 2001:db8::1 publishes this host's key" \
  bash -c "grep -A12 '^Checking keys for 2001:db8::1\$' $OUT/verify-good.txt | grep -Eq \"^  this host's key +\\[OK\\]\""

ip netns exec west nft -f /tmp/west/fw-drop-esp.nft
vf > "$OUT/verify-drop-esp.txt" 2>&1; echo $? > "$OUT/verify-drop-esp.rc"
check "verify: a firewall dropping ESP: ESP FAILED" vf_line 'ESP \(protocol 50\)' FAILED drop-esp
check "verify:   and IKE still OK" vf_line 'IKE \(UDP 500\)' OK drop-esp
check "verify:   exit status 1" test "$(cat "$OUT/verify-drop-esp.rc")" = 1
ip netns exec west nft flush ruleset

vf --key-file /tmp/east/hostkey.pem > "$OUT/verify-other-key.txt" 2>&1
check "verify: with east's key as ours, 192.0.2.1's key is not this host's" \
  bash -c "grep -A12 '^Checking keys for 192.0.2.1\$' $OUT/verify-other-key.txt | grep -Eq \"^  this host's key +\\[FAILED\\] +DNS publishes keyid\""
if [ -n "${VF_OWN_LAB:-}" ]; then
  lab_down
  summary verify-e2e
fi
