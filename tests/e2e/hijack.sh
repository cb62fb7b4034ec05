# Sourced by tests/e2e/oe.sh inside the guest, with the lab up and east's agent
# running: issue 9, finding 2 (identity not bound to the address).
#
# V = 192.0.2.40 is in east's `private` group (auth = rsasig, dnssec = secure);
# V's reverse record carries V's key. M holds V's address (namespace spoof; the
# real V is not running) and has its OWN key in its OWN signed zone m.example.
# M runs strongSwan and initiates to east with IDi = FQDN m.example, signed with
# M's key, TSi = V/32, TSr = east/32. Every signature and every DNS answer is
# valid; only the binding is wrong: nothing in V's reverse record says that
# m.example may speak for V (RFC 4322 section 6: the address must authorize the
# identity). East must refuse, install nothing for V, and say why.
# Positive control: the real V (its address ID, its key from its reverse record)
# still gets its tunnel, from the same namespace, right after.
HJ=/tmp/spoof
HJ_V=192.0.2.40
hj_swanctl() { ip netns exec spoof env STRONGSWAN_CONF=$HJ/strongswan.conf swanctl "$@" --uri unix://$HJ/charon.vici; }
# east's ESP states with V, and its policies whose template carries V (not the group's trap)
hj_states() { ip -n east xfrm state | grep -cE "^src (192\.0\.2\.40 dst 192\.0\.2\.2|192\.0\.2\.2 dst 192\.0\.2\.40)$"; }
hj_policies() { ip -n east xfrm policy | grep -cE "tmpl src (192\.0\.2\.40 dst 192\.0\.2\.2|192\.0\.2\.2 dst 192\.0\.2\.40)$"; }
hj_in_bytes() { ip -n east -s xfrm state | awk '/^src/ {v = $2 == "192.0.2.40"} v && /lifetime current/ {getline; sub(/\(bytes\),?/, "", $1); s += $1} END {print s + 0}'; }
hj_count() { local n; n=$($1); echo "east: $n ($1), want $2"; [ "$n" = "$2" ]; }
hj_pem() { openssl pkey -in "$1" -pubout; }   # (keyconv.py costs seconds of guest time)

# strongSwan in spoof: conn m is the attacker, conn v the real V; same addresses
rm -rf $HJ; mkdir -p $HJ/private $HJ/pubkey
cp /tmp/mallory/hostkey.pem $HJ/private/m.pem; cp /tmp/victim/hostkey.pem $HJ/private/v.pem
hj_pem /tmp/mallory/hostkey.pem > $HJ/pubkey/m.pub
hj_pem /tmp/victim/hostkey.pem > $HJ/pubkey/v.pub
hj_pem /tmp/east/hostkey.pem > $HJ/pubkey/east.pub
cat > $HJ/strongswan.conf <<C
charon {
	load = random nonce aes sha1 sha2 hmac kdf gcm gmp openssl pem pkcs1 pkcs8 pubkey x509 kernel-netlink socket-default vici
	port = 500
	port_nat_t = 4500
	install_routes = no
	plugins {
		vici { socket = unix://$HJ/charon.vici }
	}
	filelog {
		log { path = $HJ/charon.log
		      time_format = %T
		      time_add_ms = yes
		      flush_line = yes
		      default = 1
		      ike = 2 }
	}
}
C
hj_conn() { # NAME LOCAL-ID LOCAL-PUBKEY
  cat <<C
	$1 {
		version = 2
		local_addrs = $HJ_V
		remote_addrs = 192.0.2.2
		proposals = aes256gcm16-prfsha256-ecp256
		local { auth = pubkey
			pubkeys = $3
			id = $2 }
		remote { auth = pubkey
			 pubkeys = east.pub
			 id = 192.0.2.2 }
		children { $1 { local_ts = $HJ_V/32
				remote_ts = 192.0.2.2/32
				esp_proposals = aes256gcm16
				mode = tunnel } }
	}
C
}
{ echo "connections {"; hj_conn m @m.example m.pub; hj_conn v $HJ_V v.pub; echo "}"; } > $HJ/swanctl.conf
ip netns exec spoof env STRONGSWAN_CONF=$HJ/strongswan.conf /usr/lib/ipsec/charon > $HJ/stdout 2>&1 &
HJ_PID=$!
# east puts V in its private group while charon starts
echo "$HJ_V/32" >> /tmp/east/policies/private
ipsec_at east reload > $OUT/hijack-reload.txt 2>&1
check "hijack: east has V $HJ_V in private (auth = rsasig, dnssec = secure)" \
  bash -c "$BIN/ipsec policy explain --ctlsocket /tmp/east/oe.ctl $HJ_V | grep -q 'group private,'"
wait_for 15 test -S $HJ/charon.vici
hj_swanctl --load-all --file $HJ/swanctl.conf > $HJ/load.log 2>&1
# M's key is as good as V's: found and DNSSEC secure at m.example (a refusal is about the binding)
check "hijack: M's own key at m.example. is DNSSEC secure" bash -c "ip netns exec spoof $BIN/ipsec verify \
  --resolver 192.0.2.54 --trust-anchor $L/anchors --timeout 10 --host m.example > $OUT/hijack-verify-m.txt 2>&1 \
  && grep -q 'DNSSEC  *\[OK\]  *secure' $OUT/hijack-verify-m.txt"
check "hijack: strongSwan loaded M's and V's connections and keys" \
  bash -c "grep -q 'loaded connection .m.' $HJ/load.log && grep -q 'loaded connection .v.' $HJ/load.log"

# --- M: IDi @m.example, its own key from its own signed zone, TSi = V ----------------
n0=$(wc -l < /tmp/east/agent.log)
hj_swanctl --initiate --child m --timeout 15 > $HJ/initiate-m.log 2>&1
sleep 0.5
tail -n +$((n0 + 1)) /tmp/east/agent.log > $OUT/hijack-east-m.log
ip -n east xfrm state > $OUT/hijack-xfrm-state-m.txt; ip -n east xfrm policy > $OUT/hijack-xfrm-policy-m.txt
check "hijack: east installs no ESP state for V when M speaks as m.example" \
  hj_count hj_states 0
check "  and no tunnel policy for V" \
  hj_count hj_policies 0
check "  and no tunnel in trafficstatus" bash -c "! $BIN/ipsec trafficstatus --ctlsocket /tmp/east/oe.ctl | grep '$HJ_V'"
check "  east's log says the identity may not speak for V's address" \
  grep -Ei 'may not speak for|not authorized' $OUT/hijack-east-m.log
check "  M's Child SA did not come up" bash -c "! grep -q 'CHILD_SA m{[0-9]*} established' $HJ/charon.log"
# today's code installs it: take it down again so that V starts clean
hj_swanctl --terminate --ike m --timeout 5 > /dev/null 2>&1

# --- the real V: address ID 192.0.2.40, V's key from V's reverse record ----------------
n0=$(wc -l < /tmp/east/agent.log)
hj_swanctl --initiate --child v --timeout 15 > $HJ/initiate-v.log 2>&1
ip netns exec spoof ping -c 3 -i 0.3 -W 3 192.0.2.2 > $OUT/hijack-ping-v.txt 2>&1
tail -n +$((n0 + 1)) /tmp/east/agent.log > $OUT/hijack-east-v.log
check "hijack control: the real V (its own reverse record) gets its tunnel" \
  grep -q "$HJ_V: tunnel up (#[0-9]*, we responded" $OUT/hijack-east-v.log
# (secure) from DNS, or (secure, from the key cache) when an earlier check looked V's record up
check "  with its key from 40.2.0.192.in-addr.arpa. (secure)" \
  grep -Eq "40\.2\.0\.192\.in-addr\.arpa\. \(secure(, from the key cache)?\)" $OUT/hijack-east-v.log
check "  one ESP pair for V in east's kernel" hj_count hj_states 2
hj_v_traffic() { grep -q ' 3 received' $OUT/hijack-ping-v.txt && hj_count hj_in_bytes_over_200 yes; }
hj_in_bytes_over_200() { [ "$(hj_in_bytes)" -gt 200 ] && echo yes || echo "no: $(hj_in_bytes) bytes in from V"; }
check "  V's pings answered through it (ESP bytes in from V)" hj_v_traffic

kill $HJ_PID 2>/dev/null; wait $HJ_PID 2>/dev/null
cp $HJ/charon.log $OUT/charon-hijack.log 2>/dev/null
