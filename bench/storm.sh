#!/usr/bin/env bash
# Acquire storm (issue 14), INSIDE the QEMU guest (make bench-storm): one client
# sends to K new peers at once, each peer its own namespace running its own
# daemon; NULL auth and the same policy everywhere (private-or-clear for
# 192.0.2.0/24, pass on failure, hold while negotiating). Once with oe-agent on
# every host, once with libreswan 4.10's pluto on every host (its OE conns as
# its documentation configures them, as tests/e2e/lab.sh runs them), in the
# same guest run, crypto modules loaded first (tests/lab/warm-esp.sh).
#
#   storm.sh [K...]        (default: 8 32, or STORM_K; STORM_LS="ls ls0" the libreswan runs,
#                           STORM_LS= none; STORM_RSA_K=32 the K run again with RSA keys from
#                           signed reverse DNS, STORM_RSA_LS=ls libreswan's there; STORM_N="32 256"
#                           the one-server runs; any of them empty: none; STORM_RES=FILE the
#                           table elsewhere, for a part run during development)
#
# Per run: peers up (an ESP SA to the peer that carried bytes), peers answered
# (a reply at all, in clear after a failure shunt or through ESP), pings lost
# before each peer's first reply and in all, median and max time from a peer's
# first ping to its first reply (over the peers that answered), the client
# daemon's RSS (and its peak) and the mean peer daemon's. One ping every
# 0.25 s for 10 s per peer, all K started together. Table on stdout and in
# bench/results/storm.txt; raw pings and logs in tests/out/storm/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/check.sh"
. "$top/tests/lab/libreswan.sh"
. "$top/tests/lab/warm-esp.sh"
BIN=$top/build/bin
KS=${*:-${STORM_K-8 32}} # STORM_K= none (only the other parts)
COUNT=${STORM_COUNT:-40} INTERVAL=${STORM_INTERVAL:-0.25}
# ping's own send buffer: held packets count against it until they leave, and ping(8) sizes it for
# about one packet (the kernel's floor holds a dozen), so with a peer negotiating for seconds its
# later pings fail in sendmsg with "No buffer space available" whatever the daemon does; TCP and
# most UDP programs have far more. Both daemons' runs use the same; 0: ping's own.
SNDBUF=${STORM_SNDBUF:-65536}
PING_SNDBUF=(); [ "$SNDBUF" != 0 ] && PING_SNDBUF=(-S "$SNDBUF")
OUT=$top/tests/out/storm RES=${STORM_RES:-$top/bench/results/storm.txt}
W=/tmp/storm
mkdir -p "$OUT" "$(dirname "$RES")"
NS=${STORM_N-32 256} # the one-server runs (STORM_N= none)
for k in $KS ${STORM_RSA_K-32}; do rm -rf "$OUT"/*-"$k"; done # no stale rows in the table
for n in $NS; do rm -rf "$OUT"/multi-"$n"; done
SW=storm-sw C=storm-c

addr_of() { echo "192.0.2.$((100 + $1))"; } # peer I (1..K); the client is 192.0.2.1
ns_of() { echo "storm-p$1"; }

lab_up() { # K: a bridge, the client and K peers on it, a default route for %defaultroute
  local k=$1 i n
  ip netns add $SW; ip -n $SW link add br0 type bridge; ip -n $SW link set br0 up
  for i in 0 $(seq "$k"); do
    if [ "$i" = 0 ]; then n=$C a=192.0.2.1; else n=$(ns_of "$i") a=$(addr_of "$i"); fi
    ip netns add "$n"; ip -n "$n" link set lo up
    ip link add lan netns "$n" type veth peer name port$i netns $SW
    ip -n "$n" addr add "$a/24" dev lan; ip -n "$n" link set lan up
    ip -n $SW link set port$i master br0 up
    ip -n "$n" route add default via 192.0.2.254
  done
}

# RSA keys from signed reverse DNS (AUTH=rsa): one 3072-bit key for every host, ours as PEM and
# libreswan's in NSS (made once, kept in $OUT/rsa-keys), published in each host's reverse record
# (IPSECKEY) in the DNS lab's signed zone (tests/lab/dnslab.sh: nsd and a validating unbound on the LAN)
rsa_keys() {
  RSA=$OUT/rsa-keys; mkdir -p "$RSA"
  [ -s "$RSA/hostkey.pem" ] || "$BIN/ipsec" newhostkey --bits 3072 --output "$RSA/hostkey.pem" > /dev/null
  if ls_available && [ ! -s "$RSA/ckaid" ]; then
    rm -rf "$RSA/nss"; ls_initnss "$RSA/nss" > /dev/null 2>&1; ls_newhostkey "$RSA/nss" 3072
    ls_ckaid "$RSA/nss" > "$RSA/ckaid"
  fi
}
dns_lab_up() { # K IMPL: the client and K peers on the DNS lab's LAN, each one's key in its reverse record
  local k=$1 impl=$2 i n a lan="" zone=$DL/2.0.192.in-addr.arpa.zone
  rm -rf "$DL"; mkdir -p "$DL"
  cp "$top/zones/2.0.192.in-addr.arpa.zone" "$zone"
  for i in 0 $(seq "$k"); do
    if [ "$i" = 0 ]; then n=$C a=192.0.2.1; else n=$(ns_of "$i") a=$(addr_of "$i"); fi
    ip netns add "$n"
    lan="$lan $n:$a/24"
    if [ "$impl" = ours ]; then
      "$BIN/ipsec" showhostkey --key-file "$RSA/hostkey.pem" --ipseckey --host "$a"
    else
      # gateway type 0: pluto 4.10 ignores any other ("Gateway Type must be 0")
      ls_showhostkey --nssdir "$RSA/nss" --ipseckey --ckaid "$(cat "$RSA/ckaid")" --precedence 10
    fi | sed "s/^[^ \t]*[ \t]/${a##*.} /" >> "$zone"
  done
  LAB_LAN="$lan" bash "$top/tests/lab/dnslab.sh" up "$DL" - "$zone" > "$DL/up.log" 2>&1
  for i in 0 $(seq "$k"); do
    if [ "$i" = 0 ]; then n=$C; else n=$(ns_of "$i"); fi
    ip -n "$n" route add default via 192.0.2.53 # for %defaultroute
  done
}

all_waiting() { [ "$(ls "$1" | grep -c '^waiting-')" -ge "$2" ]; } # DIR K

lab_down() { # K
  local i
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  PIDS=()
  for i in 0 $(seq "$1"); do
    if [ "$i" = 0 ]; then ip netns del $C; else ip netns del "$(ns_of "$i")"; fi
  done
  if [ "$AUTH" = rsa ]; then bash "$top/tests/lab/dnslab.sh" down "$DL" > /dev/null 2>&1; else ip netns del $SW; fi
}

ours_start() { # NS DIR (AUTH=rsa: the host key from $RSA, peers' keys from the DNS lab)
  local n=$1 d=$2
  mkdir -p "$d/policies"
  echo 192.0.2.0/24 > "$d/policies/private-or-clear"
  local key=$d/hostkey.pem resolver=192.0.2.254 auth="auth = null" anchor=
  if [ "$AUTH" = rsa ]; then
    key=$RSA/hostkey.pem resolver=192.0.2.54 auth="auth = rsasig" anchor="trust-anchor = $DL/anchors"
  fi
  cat > "$d/oe.conf" <<C
policies = $d/policies
key-file = $key
resolver = $resolver
$anchor
control = $d/oe.ctl
log = $d/agent.log
[group private-or-clear]
$auth
shunt-lifetime = 60s
C
  ip netns exec "$n" "$BIN/oe-agent" --config "$d/oe.conf" --nofork > "$d/stdout" 2>&1 &
  PIDS+=($!)
}
ours_ready() { test -S "$1/oe.ctl" && grep -q 'IKEv2 listening on' "$1/agent.log"; }

ls_start() { # NS DIR: libreswan's OE with authby=null (tests/e2e/lab.sh ls_oe, without DNS)
  local n=$1 d=$2
  mkdir -p "$d/ipsec.d/policies" "$d/run"
  ls_initnss "$d/nss" >/dev/null 2>&1
  echo 192.0.2.0/24 > "$d/ipsec.d/policies/private-or-clear"
  for g in clear clear-or-private private block; do : > "$d/ipsec.d/policies/$g"; done
  local a="	leftid=%null
	rightid=%null
	authby=null" dnssec="	dnssec-enable=no" env=() clear=

  if [ "$AUTH" = rsa ]; then # as tests/e2e/lab.sh ls_oe runs it: its key in NSS, the peers' from DNS
    rm -rf "$d/nss"; cp -r "$RSA/nss" "$d/nss"
    printf '192.0.2.53/32\n192.0.2.54/32\n' > "$d/ipsec.d/policies/clear"
    echo "nameserver 192.0.2.54" > "$d/resolv.conf"
    printf 'server:\n  local-zone: "2.0.192.in-addr.arpa." nodefault\n' > "$d/unbound.conf"
    a="	leftckaid=$(cat "$RSA/ckaid")
	leftrsasigkey=%cert
	rightrsasigkey=%dnsondemand
	authby=rsasig"
    dnssec="	dnssec-enable=yes
	dnssec-anchors=$DL/anchors"
    env=(LS_RESOLV="$d/resolv.conf" OE_UB_CONF="$d/unbound.conf" LD_PRELOAD="$top/build/tests/ub_nodefault.so")
    clear="conn clear
	type=passthrough
	authby=never
	left=%defaultroute
	right=%group
	leftupdown=/bin/true
	auto=ondemand"
  fi
  cat > "$d/ipsec.conf" <<C
config setup
	logfile=$d/pluto.log
	plutodebug=none
	ipsecdir=$d/ipsec.d
	nssdir=$d/nss
$dnssec
$clear
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
  : > "$d/ipsec.secrets"
  ip netns exec "$n" env LS_RESOLV= "${env[@]}" bash -c '. "$0"; ls_pluto "$@"' "$top/tests/lab/libreswan.sh" \
    --config "$d/ipsec.conf" --secretsfile "$d/ipsec.secrets" --rundir "$d/run" --nofork > "$d/stdout" 2>&1 &
  PIDS+=($!)
  wait_for 30 test -S "$d/run/pluto.ctl"
  ip netns exec "$n" "$LS_BIN/whack" --ctlsocket "$d/run/pluto.ctl" --listen > /dev/null 2>&1
  ip netns exec "$n" "$LS_BIN/addconn" --ctlsocket "$d/run/pluto.ctl" --config "$d/ipsec.conf" --autoall > /dev/null 2>&1
  ip netns exec "$n" "$LS_BIN/whack" --ctlsocket "$d/run/pluto.ctl" --listen > /dev/null 2>&1
}
# libreswan once more with the kernel holding packets on a larval state, as ours runs
# (pluto leaves net.core.xfrm_larval_drop as it finds it: 1, drop, in a new namespace)
ls0_start() { ip netns exec "$1" sysctl -qw net.core.xfrm_larval_drop=0; ls_start "$@"; }
ls0_ready() { ls_ready "$@"; }
# the trap for the /24 is in the kernel: pluto is ready for ACQUIREs
ls_ready() { ip -n "$2" xfrm policy | grep -q 'dst 192.0.2.0/24'; }

rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null; }

summarize() { # DIR K IMPL [WHAT]: the run's row in DIR/summary
  local r=$1 k=$2 impl=$3 what=${4:-K}
  python3 - "$r" "$k" "$COUNT" "$impl" > "$r/summary" <<'PY'
import re, statistics, sys
r, k, count, impl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
up = answered = lost_before = lost = 0
firsts = []
for i in range(1, k + 1):
    start = float(open(f"{r}/start-{i}").read())
    text = open(f"{r}/ping-{i}.txt").read()
    replies = [(float(t), int(s)) for t, s in re.findall(r"^\[([0-9.]+)\] \d+ bytes from .* icmp_seq=(\d+)", text, re.M)]
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    sent, got = (int(m.group(1)), int(m.group(2))) if m else (count, 0)
    lost += sent - got
    up += int(open(f"{r}/up-{i}").read())
    if replies:
        answered += 1
        t, seq = min(replies, key=lambda x: x[1])
        lost_before += seq - 1
        firsts.append(t - start)
    else:
        lost_before += sent
rss, hwm = open(f"{r}/rss-client").read().split()
peers = [int(x) for x in open(f"{r}/rss-peers").read().split()]
med = statistics.median(firsts) if firsts else float("nan")
mx = max(firsts) if firsts else float("nan")
print(impl, k, up, answered, lost_before, lost, k * count, f"{med:.2f}", f"{mx:.2f}", rss, hwm,
      int(statistics.mean(peers)) if peers else 0)
PY
  echo "storm: $impl $what=$k: $(cat "$r/summary")"
}

run() { # IMPL K (AUTH: null or rsa)
  local impl=$1 k=$2 i n d a ready
  local r=$OUT/$impl-$k
  [ "$AUTH" = rsa ] && r=$OUT/$impl-rsa-$k
  rm -rf "$W" "$r"; mkdir -p "$W" "$r"
  PIDS=()
  if [ "$AUTH" = rsa ]; then dns_lab_up "$k" "${impl%0}"; else lab_up "$k"; fi
  local t_start=$SECONDS
  for i in 0 $(seq "$k"); do
    if [ "$i" = 0 ]; then n=$C; else n=$(ns_of "$i"); fi
    ${impl}_start "$n" "$W/$i"
  done
  ready=0
  for i in 0 $(seq "$k"); do
    if [ "$i" = 0 ]; then n=$C; else n=$(ns_of "$i"); fi
    wait_for 60 ${impl}_ready "$W/$i" "$n" && ready=$((ready + 1))
  done
  echo "storm: $impl K=$k ($AUTH): $ready of $((k + 1)) daemons ready in $((SECONDS - t_start)) s" \
    "(xfrm_larval_drop on the client: $(ip netns exec $C sysctl -n net.core.xfrm_larval_drop))"
  # all K pings at once: each waits, in the client's namespace already, for its line on a fifo
  # (launching 32 one after another took 10 s in the loaded guest: the storm was a trickle)
  local pings=() go=$W/go-$k # not in $r: the guest shares that over 9p, which has no fifos
  rm -f "$go" "$r"/waiting-*; mkfifo "$go"; exec 9<> "$go"
  for i in $(seq "$k"); do
    ip netns exec $C bash -c ': > "$1"; read -r _ <&9; date +%s.%N > "$2"; shift 2; exec 9<&-; exec ping "$@"' \
      _ "$r/waiting-$i" "$r/start-$i" -D -n "${PING_SNDBUF[@]}" -c "$COUNT" -i "$INTERVAL" -W 1 "$(addr_of "$i")" \
      > "$r/ping-$i.txt" 2>&1 &
    pings+=($!)
  done
  wait_for 60 all_waiting "$r" "$k" || echo "storm: not all $k pings were waiting after 60 s; starting anyway"
  printf 'go\n%.0s' $(seq "$k") >&9
  exec 9>&-
  rm -f "$go"
  wait "${pings[@]}"
  local cpid=${PIDS[0]}
  echo "$(rss_kb "$cpid" VmRSS) $(rss_kb "$cpid" VmHWM)" > "$r/rss-client"
  for pid in "${PIDS[@]:1}"; do rss_kb "$pid" VmRSS; done > "$r/rss-peers"
  ip -n $C -s xfrm state > "$r/xfrm-state-client.txt"
  ip netns exec $C cat /proc/net/xfrm_stat > "$r/xfrm_stat-client.txt"
  for i in $(seq "$k"); do
    a=$(addr_of "$i")
    # up: the client's outbound ESP SA to the peer carried bytes
    awk -v d="$a" '$1 == "src" && $2 == "192.0.2.1" && $4 == d {m = 1; next}
      $1 == "src" {m = 0} m && /lifetime current/ {getline; sub(/\(bytes\),?/, "", $1); b += $1}
      END {print (b > 0) ? 1 : 0}' "$r/xfrm-state-client.txt" > "$r/up-$i"
  done
  if [ "$impl" = ours ]; then cp "$W/0/agent.log" "$r/client.log"; else cp "$W/0/pluto.log" "$r/client.log"; fi
  lab_down "$k"
  summarize "$r" "$k" "$impl" "$AUTH K"
}

# Ours alone against ONE server with N addresses (N = 32, 256; libreswan's OE answers only on the
# default-route address, issue 14): one client pings every address at once, STAGGER s apart.
# The server's addresses are 198.51.100.1.. then 203.0.113.1.. (/32s on its LAN interface, on-link
# for the client), private-or-clear for both /24s; the client is 192.0.2.1, the server 192.0.2.2.
multi_addr() { local i=$1; if [ "$i" -le 254 ]; then echo "198.51.100.$i"; else echo "203.0.113.$((i - 254))"; fi; }
run_multi() { # N
  local n=$1 i a
  local r=$OUT/multi-$n
  rm -rf "$W" "$r"; mkdir -p "$W" "$r"
  PIDS=()
  ip netns add $SW; ip -n $SW link add br0 type bridge; ip -n $SW link set br0 up
  for i in 0 1; do
    local ns=$C addr=192.0.2.1
    [ "$i" = 1 ] && ns=$(ns_of 1) addr=192.0.2.2
    ip netns add "$ns"; ip -n "$ns" link set lo up
    ip link add lan netns "$ns" type veth peer name port$i netns $SW
    ip -n "$ns" addr add "$addr/24" dev lan; ip -n "$ns" link set lan up
    ip -n $SW link set port$i master br0 up
  done
  for i in $(seq "$n"); do ip -n "$(ns_of 1)" addr add "$(multi_addr "$i")/32" dev lan; done
  ip -n $C route add 198.51.100.0/24 dev lan; ip -n $C route add 203.0.113.0/24 dev lan
  local t_start=$SECONDS
  for i in 0 1; do
    local ns=$C; [ "$i" = 1 ] && ns=$(ns_of 1)
    ours_start "$ns" "$W/$i"
    printf '198.51.100.0/24\n203.0.113.0/24\n' >> "$W/$i/policies/private-or-clear"
  done
  wait_for 60 ours_ready "$W/0" && wait_for 60 ours_ready "$W/1"
  # the server answers on all N (and its LAN address)
  wait_for 30 bash -c "grep 'IKEv2 listening on' '$W/1/agent.log' | tail -1 | tr ' ,' '\n\n' | grep -c '^[12][0-9]*\.' | awk '{exit !(\$1 >= $n)}'"
  echo "storm: multi N=$n: daemons ready in $((SECONDS - t_start)) s"
  local pings=()
  for i in $(seq "$n"); do
    a=$(multi_addr "$i")
    date +%s.%N > "$r/start-$i"
    ip netns exec $C ping -D -n "${PING_SNDBUF[@]}" -c "$COUNT" -i "$INTERVAL" -W 1 "$a" > "$r/ping-$i.txt" 2>&1 &
    pings+=($!)
    sleep "${STORM_STAGGER:-0.02}"
  done
  wait "${pings[@]}"
  local cpid=${PIDS[0]}
  echo "$(rss_kb "$cpid" VmRSS) $(rss_kb "$cpid" VmHWM)" > "$r/rss-client"
  rss_kb "${PIDS[1]}" VmRSS > "$r/rss-peers"
  ip -n $C -s xfrm state > "$r/xfrm-state-client.txt"
  ip netns exec $C cat /proc/net/xfrm_stat > "$r/xfrm_stat-client.txt"
  for i in $(seq "$n"); do
    a=$(multi_addr "$i")
    awk -v d="$a" '$1 == "src" && $2 == "192.0.2.1" && $4 == d {m = 1; next}
      $1 == "src" {m = 0} m && /lifetime current/ {getline; sub(/\(bytes\),?/, "", $1); b += $1}
      END {print (b > 0) ? 1 : 0}' "$r/xfrm-state-client.txt" > "$r/up-$i"
  done
  cp "$W/0/agent.log" "$r/client.log"; cp "$W/1/agent.log" "$r/server.log"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  PIDS=()
  ip netns del $C; ip netns del "$(ns_of 1)"; ip netns del $SW
  summarize "$r" "$n" multi N
}

AUTH=null
for k in $KS; do
  run ours "$k"
  if ls_available; then for v in ${STORM_LS-ls ls0}; do run $v "$k"; done; else echo "storm: libreswan not unpacked (make deps): ours only"; fi
done
AUTH=rsa RSA_KS=${STORM_RSA_K-32} DL=/tmp/storm-dns # the RSA runs (STORM_RSA_K= none): ours and libreswan as shipped
[ -n "$RSA_KS" ] && rsa_keys
for k in $RSA_KS; do
  run ours "$k"
  if ls_available; then for v in ${STORM_RSA_LS-ls}; do run $v "$k"; done; fi
done
AUTH=null
for n in $NS; do run_multi "$n"; done

python3 - "$OUT" "$KS" "$COUNT" "$INTERVAL" "$NS" "${STORM_STAGGER:-0.02}" "$RSA_KS" "$SNDBUF" > "$RES" <<'PY'
import os, sys
out, ks, count, interval = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4]
ns, stagger, rsa_ks, sndbuf = sys.argv[5].split(), sys.argv[6], sys.argv[7].split(), sys.argv[8]
def row(impl, k):
    p = f"{out}/{impl}-{k}/summary"
    return open(p).read().split() if os.path.exists(p) else None
print(f"acquire storm: one client, K new peers at once (each its own namespace and daemon), NULL auth,")
print(f"private-or-clear 192.0.2.0/24; {count} pings {interval} s apart per peer; crypto modules loaded first")
print(f"ping's send buffer: {'its own (about a dozen held packets)' if sndbuf == '0' else sndbuf + ' bytes (ping -S)'}")
print("(QEMU guest under TCG, 2 vCPUs: all K+1 daemons share them)")
print("libreswan as shipped (pluto leaves xfrm_larval_drop = 1: packets to a larval SA are dropped);")
print("'ls, drop=0': libreswan with xfrm_larval_drop = 0, as ours sets it (packets held; a blocking sender")
print("waits in sendmsg until the SA is there, so its times can run past the pings' 10 s)")
print("ratio = ours / libreswan as shipped (lower is better, except up and answered)")
hdr = f"{'K':>3} {'daemon':<10} {'up':>5} {'answered':>8} {'lost<1st':>9} {'lost':>9} {'median s':>8} {'max s':>6} {'RSS kB':>7} {'peak kB':>7} {'peer RSS':>8}"
print(hdr)
def q(a, b):
    try:
        a, b = float(a), float(b)
        return f"{a / b:.2f}" if b else "-"
    except ValueError:
        return "-"
def rows(k, sfx, names):
    o, l = row("ours" + sfx, k), row("ls" + sfx, k)
    for name, v in zip(names, (o, l, row("ls0" + sfx, k))):
        if v:
            print(f"{k:>3} {name:<10.10} {v[2]+'/'+k:>5} {v[3]+'/'+k:>8} {v[4]:>9} {v[5]+'/'+v[6]:>9} {v[7]:>8} {v[8]:>6} {v[9]:>7} {v[10]:>7} {v[11]:>8}")
    if o and l:
        print(f"{k:>3} {'ratio':<10} {q(o[2], l[2]):>5} {q(o[3], l[3]):>8} {q(o[4], l[4]):>9} {q(o[5], l[5]):>9} {q(o[7], l[7]):>8} {q(o[8], l[8]):>6} {q(o[9], l[9]):>7} {q(o[10], l[10]):>7} {q(o[11], l[11]):>8}")
for k in ks:
    rows(k, "", ("oe-agent", "libreswan", "ls, drop=0"))
if rsa_ks:
    print()
    print("the same with RSA keys from signed reverse DNS: every host's 3072-bit key in its IPSECKEY record,")
    print("DNSSEC-validated by the lab's unbound (nsd serving the signed zone); one key shared by all hosts")
    print(hdr)
for k in rsa_ks:
    rows(k, "-rsa", ("ours RSA", "ls RSA", "ls0 RSA"))
if ns:
    print()
    print(f"ours alone, one server with N addresses (198.51.100.1.., 203.0.113.1..; private-or-clear for their /24s),")
    print(f"the client pings each of them, started {stagger} s apart; 'peer RSS' is the server's")
    print(hdr.replace("  K ", "  N ", 1))
for n in ns:
    v = row("multi", n)
    if v:
        print(f"{n:>3} {'oe-agent':<10} {v[2]+'/'+n:>5} {v[3]+'/'+n:>8} {v[4]:>9} {v[5]+'/'+v[6]:>9} {v[7]:>8} {v[8]:>6} {v[9]:>7} {v[10]:>7} {v[11]:>8}")
PY
cat "$RES"
