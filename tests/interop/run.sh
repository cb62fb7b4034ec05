#!/usr/bin/env bash
# IKEv2 interop with real ESP: runs INSIDE the QEMU guest (tests/lab/vm-run),
# which has a stock Debian kernel. West (192.0.2.1) runs our core through
# build/tests/ike_peer; east (192.0.2.2) runs libreswan's pluto or strongSwan.
# Each case: IKE up, ping and a TCP transfer through ESP (xfrm state byte
# counters grow). Logs go to tests/out/interop/.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/check.sh"
. "$top/tests/lab/libreswan.sh"
PEER=$top/build/tests/ike_peer
OUT=$top/tests/out/interop
mkdir -p "$OUT"
FILTER=${1:-}   # run only the cases whose name contains this
want() { [ -z "$FILTER" ] || [[ "$1" == *"$FILTER"* ]]; }
. "$top/tests/lab/warm-esp.sh"

ip netns add west; ip netns add east
ip link add w0 netns west type veth peer name e0 netns east
ip -n west addr add 192.0.2.1/24 dev w0; ip -n east addr add 192.0.2.2/24 dev e0
for n in west east; do ip -n $n link set lo up; done
ip -n west link set w0 up; ip -n east link set e0 up
ip -n west route add default via 192.0.2.2; ip -n east route add default via 192.0.2.1

W=/tmp/west; E=/tmp/east
mkdir -p $W $E
"$top/build/bin/ipsec" newhostkey --bits 2048 --output $W/hostkey.pem >/dev/null
OURKEY=$("$top/build/bin/ipsec" showhostkey --key-file $W/hostkey.pem --left | sed 's/.*rsasigkey=//')

# --- libreswan on east --------------------------------------------------------
ls_start() { # AUTH (null|rsasig)
  rm -rf $E/ls; mkdir -p $E/ls/nss $E/ls/run
  ls_initnss $E/ls/nss >/dev/null 2>&1
  local keys=""
  if [ "$1" = rsasig ]; then
    ls_newhostkey $E/ls/nss
    LSKEY=$(ls_showhostkey --nssdir $E/ls/nss --left --ckaid "$(ls_ckaid $E/ls/nss)" | sed -n 's/.*leftrsasigkey=//p')
    keys="	leftrsasigkey=$LSKEY
	rightrsasigkey=$OURKEY
	authby=rsasig"
  else
    keys="	leftid=%null
	rightid=%null
	authby=null"
  fi
  cat > $E/ls/ipsec.conf <<C
config setup
	logfile=$E/ls/pluto.log
	plutodebug=none
	nssdir=$E/ls/nss
	dnssec-enable=no
conn t
	left=${LS_LEFT:-192.0.2.2}
	right=${LS_RIGHT:-192.0.2.1}
$keys${LS_EXTRA:+
$LS_EXTRA}
	ike=aes_gcm_16_256-sha2_256-dh19
	esp=aes_gcm_16_256
	type=tunnel
	leftupdown=/bin/true
	auto=add
C
  : > $E/ls/ipsec.secrets
  ip netns exec east bash -c '. "$0"; ls_pluto "$@"' "$top/tests/lab/libreswan.sh" --config $E/ls/ipsec.conf \
    --secretsfile $E/ls/ipsec.secrets --rundir $E/ls/run --nofork > $E/ls/stdout 2>&1 &
  LS_PID=$!
  wait_for 15 test -S $E/ls/run/pluto.ctl
  ip netns exec east "$LS_BIN/whack" --ctlsocket $E/ls/run/pluto.ctl --listen >/dev/null 2>&1
  ip netns exec east "$LS_BIN/addconn" --ctlsocket $E/ls/run/pluto.ctl --config $E/ls/ipsec.conf t >/dev/null 2>&1
}
ls_stop() {
  kill "$LS_PID" 2>/dev/null; wait "$LS_PID" 2>/dev/null
  cp $E/ls/pluto.log "$OUT/pluto-$CASE.log" 2>/dev/null
}

flush() { for n in west east; do ip -n $n xfrm state flush; ip -n $n xfrm policy flush; done; }
esp_bytes() { ip -n "$1" -s xfrm state | awk '/lifetime current:/ {getline; print $1}' | sed 's/(bytes)//' | paste -sd+ | bc; }

# ping and 1 MB over TCP, then ESP counters; from $US (west) to $THEM (east's 192.0.2.2)
US=west THEM=192.0.2.2
traffic() {
  check "$CASE: ping through the tunnel" ip netns exec $US ping -c 3 -i 0.2 -W 2 -q $THEM
  ip netns exec east sh -c "ncat -l $THEM 5001 > /tmp/east/recv" &
  local nc=$!
  sleep 0.3
  head -c 1048576 /dev/urandom > $W/send
  ip netns exec $US ncat --send-only $THEM 5001 < $W/send
  wait $nc
  check "$CASE: 1 MiB over TCP arrives intact" cmp $W/send $E/recv
  check "$CASE: ESP carried it (xfrm byte counters over 1 MB)" \
    bash -c "[ \$(( \$(ip -n $US -s xfrm state | grep -A1 'lifetime current' | awk '/bytes/ {sub(/\\(bytes\\),?/, \"\", \$1); s+=\$1} END {print s}') )) -gt 1000000 ]"
  ip -n $US -s xfrm state > "$OUT/xfrm-$CASE.txt"
}

# pings every 0.1 s across a rekey: none may be lost
pings_across() { # SECONDS FILE
  ip netns exec $US ping -c $(( $1 * 10 )) -i 0.1 -W 2 -D $THEM > "$2" 2>&1
  cp "$2" "$OUT/$CASE-$(basename "$2")"
}

we_rekey() { # our Child SA (12 s) and IKE SA (20 s) lifetimes run out during 24 s of pings
  pings_across 24 $W/we-rekey-ping.txt
  check "$CASE: the kernel's soft expire made us rekey the Child SA" \
    bash -c "grep -q 'reached its soft lifetime' $OUT/ours-$CASE.log && grep -q 'rekeyed.*ESP=>' $OUT/ours-$CASE.log"
  check "$CASE: the peer took our Delete of the old Child SA" grep -q 'old Child SA .* deleted after the rekey' "$OUT/ours-$CASE.log"
  check "$CASE: we rekeyed the IKE SA" grep -q 'IKE SA rekeyed (we initiated)' "$OUT/ours-$CASE.log"
  # the responder sends on its new SA once it has answered: a reply can beat our install of it by a
  # millisecond (the same race as between libreswan and strongSwan), so one of 240 may go
  check "$CASE: at most one of 240 pings lost across our rekeys" \
    bash -c "grep -Eq ' (240|239) received' $W/we-rekey-ping.txt"
  ip netns exec $US cat /proc/net/xfrm_stat > "$OUT/xfrm_stat-$CASE.txt" 2>/dev/null
  check "$CASE: one IKE SA left (the old one deleted)" bash -c "! grep -q 'giving up' $OUT/ours-$CASE.log"
}

libreswan_rekeys() { # libreswan rekeys the Child SA, then the IKE SA, while pings flow
  pings_across 8 $W/ls-rekey-ping.txt &
  local pp=$!
  sleep 1
  ip netns exec east "$LS_BIN/whack" --ctlsocket $E/ls/run/pluto.ctl --name t --rekey-ipsec >/dev/null 2>&1
  sleep 2
  ip netns exec east "$LS_BIN/whack" --ctlsocket $E/ls/run/pluto.ctl --name t --rekey-ike >/dev/null 2>&1
  wait $pp
  for n in west east; do ip netns exec $n cat /proc/net/xfrm_stat > "$OUT/xfrm_stat-$CASE-$n.txt" 2>/dev/null; done
  check "$CASE: libreswan rekeyed the Child SA and we answered" grep -q 'rekeyed by the peer' "$OUT/ours-$CASE.log"
  check "$CASE: libreswan rekeyed the IKE SA and we answered" grep -q 'IKE SA rekeyed (the peer initiated)' "$OUT/ours-$CASE.log"
  check "$CASE: no ping lost across libreswan's rekeys" grep -q ' 0% packet loss' $W/ls-rekey-ping.txt
  sleep 1
  check "$CASE: traffic flows after the rekeys" ip netns exec $US ping -c 3 -i 0.2 -W 2 -q $THEM
}

ours() { # ROLE AUTH [extra]
  local role=$1 auth=$2; shift 2
  ip netns exec $US "$PEER" --local ${OURS_LOCAL:-192.0.2.1} --remote ${OURS_REMOTE:-192.0.2.2} --auth "$auth" --$role \
    --key-file $W/hostkey.pem --up-file $W/up --timeout 60 --log "$OUT/ours-$CASE.log" "$@" &
  OURS_PID=$!
}
ours_stop() { kill "$OURS_PID" 2>/dev/null; wait "$OURS_PID" 2>/dev/null; rm -f $W/up; }

for auth in null rsasig; do
  for role in initiate respond; do
    CASE=libreswan-$auth-we-$role
    want $CASE || continue
    flush
    ls_start $auth
    extra=(--timeout 120)
    [ $auth = rsasig ] && extra+=(--peer-key "$LSKEY")
    # one case where our short lifetimes make us rekey both SAs while traffic flows
    [ $auth = rsasig ] && [ $role = initiate ] && extra+=(--salifetime 12 --ikelifetime 20)
    if [ $role = initiate ]; then
      ours initiate $auth "${extra[@]}"
    else
      ours respond $auth "${extra[@]}"
      sleep 0.5
      ip netns exec east "$LS_BIN/whack" --ctlsocket $E/ls/run/pluto.ctl --name t --initiate --asynchronous >/dev/null 2>&1
    fi
    if wait_for 20 test -s $W/up; then
      ok "$CASE: IKE SA and Child SA up"
      traffic
      if [ $auth = rsasig ] && [ $role = initiate ]; then
        we_rekey
      elif [ $auth = null ] && [ $role = respond ]; then
        libreswan_rekeys
      fi
    else
      not_ok "$CASE: IKE SA and Child SA up"
    fi
    ours_stop
    ls_stop
  done
done

# --- strongSwan on east: swanctl with raw RSA public keys ---------------------------
ss_start() {
  local d=$E/ss
  # swanctl reads credentials from private/ and pubkey/ beside its --file
  rm -rf $d; mkdir -p $d/private $d/pubkey
  pki --gen --type rsa --size 2048 --outform pem > $d/private/east.key 2>/dev/null
  pki --pub --in $d/private/east.key --outform pem > $d/pubkey/east.pub 2>/dev/null
  SSKEY=$(python3 "$top/tests/interop/keyconv.py" pem2dns $d/pubkey/east.pub)
  python3 "$top/tests/interop/keyconv.py" dns2pem "$OURKEY" > $d/pubkey/west.pub
  cat > $d/strongswan.conf <<C
charon {
	# only what the test needs: the full default set crashes without Debian's config tree
	load = random nonce aes sha1 sha2 hmac kdf gcm gmp openssl pem pkcs1 pkcs8 pubkey x509 kernel-netlink socket-default vici
	port = 500
	port_nat_t = 4500
	install_routes = no
	plugins {
		vici { socket = unix://$d/charon.vici }
	}
	filelog {
		log { path = $d/charon.log
		      default = 1
		      ike = 2 }
	}
}
C
  cat > $d/swanctl.conf <<C
connections {
	t {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = ${SS_IKE:-aes256gcm16-prfsha256-ecp256}
		local { auth = pubkey
			pubkeys = east.pub
			id = 192.0.2.2 }
		remote { auth = pubkey
			 pubkeys = west.pub
			 id = 192.0.2.1 }
		children { t { local_ts = 192.0.2.2/32
			       remote_ts = 192.0.2.1/32
			       esp_proposals = ${SS_ESP:-aes256gcm16}
			       mode = tunnel } }
	}
}
C
  ip netns exec east env STRONGSWAN_CONF=$d/strongswan.conf /usr/lib/ipsec/charon > $d/stdout 2>&1 &
  SS_PID=$!
  wait_for 15 test -S $d/charon.vici
  ip netns exec east env STRONGSWAN_CONF=$d/strongswan.conf swanctl --load-all --file $d/swanctl.conf \
    --uri unix://$d/charon.vici > $d/load.log 2>&1
}
ss_stop() {
  kill "$SS_PID" 2>/dev/null; wait "$SS_PID" 2>/dev/null
  cp $E/ss/charon.log "$OUT/charon-$CASE.log" 2>/dev/null
  cp $E/ss/load.log "$OUT/swanctl-$CASE.log" 2>/dev/null
}

# AES-GCM-16 (with a rekey during traffic), then AES-CBC with HMAC-SHA2 for IKE and ESP
for algs in gcm cbc; do
for role in initiate respond; do
  CASE=strongswan-rsasig-$algs-we-$role
  want $CASE || continue
  flush
  SS_IKE= SS_ESP=
  [ $algs = cbc ] && SS_IKE=aes256-sha256-prfsha256-ecp256 SS_ESP=aes128-sha256
  ss_start
  if [ $role = initiate ] && [ $algs = gcm ]; then
    ours initiate rsasig --peer-key "$SSKEY" --timeout 120 --salifetime 12 --ikelifetime 20
  elif [ $role = initiate ]; then
    ours initiate rsasig --peer-key "$SSKEY"
  else
    ours respond rsasig --peer-key "$SSKEY"
    sleep 0.5
    ip netns exec east env STRONGSWAN_CONF=$E/ss/strongswan.conf swanctl --initiate --child t \
      --uri unix://$E/ss/charon.vici --timeout 20 > $E/ss/initiate.log 2>&1 &
  fi
  if wait_for 20 test -s $W/up; then
    ok "$CASE: IKE SA and Child SA up"
    traffic
    if [ $algs = cbc ]; then
      check "$CASE: the kernel SAs are AES-CBC with HMAC-SHA2-256-128" \
        bash -c "ip -n west xfrm state | grep -q 'enc cbc(aes)' && ip -n west xfrm state | grep -q 'auth-trunc hmac(sha256) 0x[0-9a-f]* 128'"
      check "$CASE: the IKE SA is AES-CBC with HMAC-SHA2" grep -q 'AES_CBC_256-HMAC_SHA2_256_128' "$OUT/ours-$CASE.log"
      ours_stop; ss_stop; continue
    fi
    # strongSwan rekeys the Child SA while pings flow: none may be lost
    ip netns exec west ping -c 60 -i 0.05 -W 2 -D 192.0.2.2 > $W/rekey-ping.txt 2>&1 &
    ping_pid=$!
    sleep 1
    ip netns exec east env STRONGSWAN_CONF=$E/ss/strongswan.conf swanctl --rekey --child t \
      --uri unix://$E/ss/charon.vici > $E/ss/rekey.log 2>&1
    wait $ping_pid
    check "$CASE: strongSwan rekeyed the Child SA and we answered" \
      bash -c "grep -q 'rekeyed by the peer' $OUT/ours-$CASE.log"
    cp $W/rekey-ping.txt "$OUT/$CASE-rekey-ping.txt"
    for n in west east; do ip netns exec $n cat /proc/net/xfrm_stat > "$OUT/xfrm_stat-$CASE-$n.txt"; done
    check "$CASE: no ping lost across strongSwan's rekey" grep -q ' 0% packet loss' $W/rekey-ping.txt
    sleep 1
    check "$CASE: traffic flows on the new SAs" ip netns exec west ping -c 3 -i 0.2 -W 2 -q 192.0.2.2
    [ $role = initiate ] && we_rekey
  else
    not_ok "$CASE: IKE SA and Child SA up"
  fi
  ours_stop
  ss_stop
done
done

# --- through a NAT: lan (198.51.100.1) behind an nftables masquerade (random ports) to libreswan ---
CASE=libreswan-null-through-nat
if want $CASE; then
  flush
  ip netns add lan; ip netns add nat
  ip link add l0 netns lan type veth peer name n0 netns nat
  ip link add n1 netns nat type veth peer name e1 netns east
  ip -n lan addr add 198.51.100.1/24 dev l0; ip -n nat addr add 198.51.100.254/24 dev n0
  ip -n nat addr add 203.0.113.254/24 dev n1; ip -n east addr add 203.0.113.2/24 dev e1
  for n in lan nat; do ip -n $n link set lo up; done
  ip -n lan link set l0 up; ip -n nat link set n0 up; ip -n nat link set n1 up; ip -n east link set e1 up
  ip -n lan route add default via 198.51.100.254
  ip netns exec nat sysctl -qw net.ipv4.ip_forward=1
  ip netns exec nat nft -f - <<N
table ip nat {
  chain post { type nat hook postrouting priority 100; oifname "n1" masquerade random; }
}
N
  LS_LEFT=203.0.113.2 LS_RIGHT=%any LS_EXTRA="	rightsubnet=198.51.100.1/32" ls_start null
  US=lan THEM=203.0.113.2 OURS_LOCAL=198.51.100.1 OURS_REMOTE=203.0.113.2
  ours initiate null
  if wait_for 20 test -s $W/up; then
    ok "$CASE: IKE SA and Child SA up through the NAT"
    check "$CASE: we saw the NAT and moved to port 4500" grep -q 'switching to port 4500' "$OUT/ours-$CASE.log"
    check "$CASE: our SAs are ESP in UDP 4500" bash -c "ip -n lan xfrm state | grep -q 'encap type espinudp sport 4500 dport 4500'"
    check "$CASE: libreswan's SAs send to the NAT's mapped port" \
      bash -c "ip -n east xfrm state | grep -q 'encap type espinudp sport 4500 dport [0-9]*' && ip -n east xfrm state | grep -q 'src 203.0.113.2 dst 203.0.113.254'"
    traffic
  else
    not_ok "$CASE: IKE SA and Child SA up through the NAT"
  fi
  ours_stop
  ls_stop
  US=west THEM=192.0.2.2 OURS_LOCAL= OURS_REMOTE=
  ip netns del lan; ip netns del nat
fi

summary interop
