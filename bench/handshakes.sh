#!/usr/bin/env bash
# Responder handshakes per second on one core, RSS per tunnel, and the crypto
# bound (issue 14), INSIDE the QEMU guest (make bench-hs): our agent and
# libreswan 4.10's pluto answer the same load in the same run, on the lab of
# tests/e2e/lab.sh (as tests/flood/run.sh uses it):
#   east 192.0.2.2    oe-agent: 198.51.100.0/24 NULL auth, 203.0.113.0/24 RSA keys from DNS
#   lsnull 192.0.2.6  pluto, authby=null, for 198.51.100.0/24
#   lsoe 192.0.2.5    pluto, authby=rsasig with rightrsasigkey=%dnsondemand, for 203.0.113.0/24
#   load 192.0.2.250  bench/hs_load.c: our IKE core as the initiator, sources 198.51.100.S.. and
#                     203.0.113.S.. (local routes in its namespace), their one RSA 3072 key
#                     published in the signed reverse zone 113.0.203.in-addr.arpa
# Each responder (all its threads) is pinned to vCPU 0, the generator and the DNS servers to
# vCPU 1. Per responder and auth: HS_ADDRS (240) handshakes, each from its own source address
# (each stays up: so many tunnels, one per peer), HS_WINDOW (8) in flight, at most HS_SECONDS
# (100): Child SAs per second, the responder's and the generator's CPU, the responder's VmRSS
# before and after. Then bench/hs_bound.c times the crypto alone in the same guest.
# Table on stdout and in bench/results/handshakes.txt; raw output in tests/out/handshakes/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/check.sh"
OUT=$top/tests/out/handshakes RES=$top/bench/results/handshakes.txt
rm -rf "$OUT"; mkdir -p "$OUT" "$(dirname "$RES")"
GEN=$top/build/bench/hs_load BOUND=$top/build/bench/hs_bound
NADDR=${HS_ADDRS:-240} WINDOW=${HS_WINDOW:-16} SECS=${HS_SECONDS:-100} FIRST=${HS_FIRST:-10}
LOAD_BITS=${HS_LOAD_BITS:-2048} # the initiators' key: the responders verify it, they sign with 3072
[ $((FIRST + NADDR)) -le 256 ] || { echo "handshakes: HS_FIRST + HS_ADDRS must stay within a /24"; exit 2; }
for f in "$GEN" "$BOUND" "$top/build/tests/ub_nodefault.so"; do
  [ -x "$f" ] || { echo "handshakes: $f is not built (make bench-hs)"; exit 1; }
done
ulimit -n 8192 # two sockets (500, 4500) per source address
# the generator's key, and its record for every RSA source (and the warm-up's, FIRST-1)
mkdir -p /tmp/hsload
"$top/build/bin/ipsec" newhostkey --bits $LOAD_BITS --output /tmp/hsload/hostkey.pem > /dev/null
lab_zone_extra() {
  local rec
  rec=$("$top/build/bin/ipsec" showhostkey --key-file /tmp/hsload/hostkey.pem --ipseckey --host 203.0.113.$FIRST |
    sed 's/^[^ \t]*[ \t]*//')
  for i in $(seq $((FIRST - 1)) $((FIRST + NADDR - 1))); do printf '%s\t%s\n' "$i" "$rec"; done \
    >> $L/113.0.203.in-addr.arpa.zone
}
. "$top/tests/e2e/lab.sh"
ls_available || { not_ok "libreswan is unpacked (make deps)"; summary handshakes; exit 1; }

# the generator's namespace on the LAN; its prefixes routed to it from the responders
ip netns add load
ip link add ld0 netns load type veth peer name portld netns "$(cat $L/ns)"
ip -n "$(cat $L/ns)" link set portld master br0 up
ip -n load addr add 192.0.2.250/24 dev ld0
ip -n load link set ld0 up; ip -n load link set lo up
for p in 198.51.100.0/24 203.0.113.0/24; do
  ip -n load route add local $p dev lo
  for n in east lsnull lsoe; do ip -n $n route replace $p via 192.0.2.250; done
done
ip -n load route add 192.0.2.53/32 dev ld0 2>/dev/null

# east answers with a 3072-bit key (the lab's hosts have 2048): its own, given to the generator
rm -f /tmp/east/hostkey.pem # newhostkey will not overwrite the lab's
"$BIN/ipsec" newhostkey --bits 3072 --output /tmp/east/hostkey.pem > /dev/null
AGENT_EXTRA_east="[group private-or-clear]
auth = null"
agent east "private-or-clear=192.0.2.0/24" "private-or-clear=198.51.100.0/24" "private=203.0.113.0/24"
ls_oe lsnull null
ls_oe lsoe rsasig
printf '198.51.100.0/24\n' >> /tmp/lsnull/ipsec.d/policies/private-or-clear
printf '203.0.113.0/24\n' >> /tmp/lsoe/ipsec.d/policies/private-or-clear
for n in lsnull lsoe; do ip netns exec $n "$LS_BIN/whack" --ctlsocket /tmp/$n/run/pluto.ctl --listen > /dev/null 2>&1; done
EAST_KEY=$("$BIN/ipsec" showhostkey --key-file /tmp/east/hostkey.pem --left | sed 's/.*rsasigkey=//')
LSOE_KEY=$(ls_showhostkey --nssdir /tmp/lsoe/nss --left --ckaid "$LSOE_CKAID" | sed -n 's/.*leftrsasigkey=//p')
check "lab: east's agent signs with a 3072-bit key" grep -q 'loaded host key .*RSA 3072 bits' /tmp/east/agent.log
check "lab: east's agent and both plutos run" bash -c \
  "grep -q oe-agent /proc/$PID_east/comm && grep -q pluto /proc/$LSPID_lsnull/comm && grep -q pluto /proc/$LSPID_lsoe/comm"

# vCPU 0 is the responders'; everything else goes to vCPU 1
NCPU=$(nproc)
for p in $PID_east $LSPID_lsnull $LSPID_lsoe; do taskset -a -cp 0 $p > /dev/null; done
for f in $L/nsd.pid $L/unbound.pid; do [ -s $f ] && taskset -a -cp $((NCPU - 1)) "$(cat $f)" > /dev/null; done

rss() { awk '/^VmRSS/ {print $2}' /proc/$1/status 2>/dev/null || echo 0; }
# utime + stime of all threads, and of the children it waited for (pluto's updown scripts)
ticks() { awk '{print $14 + $15 + $16 + $17}' /proc/$1/stat 2>/dev/null || echo 0; }
tunnels() { # inbound ESP SAs from the generator's prefix: one per tunnel
  ip -n $1 xfrm state | grep -c "^src $2"; }
field() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$1" | head -1; }

# phase NAME NS PID ADDR AUTH PREFIX PEERKEY: one run of the generator at one responder
phase() {
  local name=$1 ns=$2 pid=$3 addr=$4 auth=$5 prefix=$6 key=$7 o=$OUT/$1
  local args=(--to $addr --auth $auth --window $WINDOW)
  [ $auth = rsasig ] && args+=(--key-file /tmp/hsload/hostkey.pem --peer-key "$key")
  # warm-up and positive control: one handshake from the address before the first
  ip netns exec load taskset -c $((NCPU - 1)) "$GEN" "${args[@]}" --from $prefix.$((FIRST - 1)) --count 1 \
    --handshakes 1 --seconds 30 --label warm-$name --log $o-warm.log > $o-warm.txt 2>&1
  cat $o-warm.txt
  R_rss0[$name]=$(rss $pid)
  R_tun0[$name]=$(tunnels $ns $prefix)
  local c0 t0 c1 t1
  c0=$(ticks $pid); t0=$(date +%s.%N)
  ip netns exec load taskset -c $((NCPU - 1)) "$GEN" "${args[@]}" --from $prefix.$FIRST --count $NADDR \
    --handshakes $NADDR --seconds $SECS --label $name --log $o-load.log > $o.txt 2>&1
  c1=$(ticks $pid); t1=$(date +%s.%N)
  cat $o.txt
  sleep 1 # the responder's last Child SAs go into the kernel after its last answer
  R_rss1[$name]=$(rss $pid)
  R_tun1[$name]=$(tunnels $ns $prefix)
  R_rate[$name]=$(field $o.txt rate)
  R_up[$name]=$(sed -n 's/.* \([0-9]*\) up,.*/\1/p' $o.txt | head -1)
  R_gencpu[$name]=$(sed -n 's/.*(\([0-9]*\)% of one core).*/\1/p' $o.txt | head -1)
  R_cpu[$name]=$(awk -v c="$((c1 - c0))" -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%.0f", 100 * c / hz / (b - a)}')
}

declare -A R_rss0 R_rss1 R_tun0 R_tun1 R_rate R_up R_gencpu R_cpu
phase ours-null east $PID_east 192.0.2.2 null 198.51.100 -
phase pluto-null lsnull $LSPID_lsnull 192.0.2.6 null 198.51.100 -
phase ours-rsa east $PID_east 192.0.2.2 rsasig 203.0.113 "$EAST_KEY"
phase pluto-rsa lsoe $LSPID_lsoe 192.0.2.5 rsasig 203.0.113 "$LSOE_KEY"

# the crypto bound, on the same vCPU the responders had
taskset -c 0 "$BOUND" 3072 $LOAD_BITS > $OUT/bound.txt 2>&1
cat $OUT/bound.txt
B_null=$(sed -n 's/.*bound_null=\([0-9.]*\).*/\1/p' $OUT/bound.txt)
B_rsa=$(sed -n 's/.*bound_rsa=\([0-9.]*\).*/\1/p' $OUT/bound.txt)

# pluto's figures are figures, not pass/fail: they are what we compare with
for n in ours-null ours-rsa; do
  check "$n: every handshake came up (${R_up[$n]:-0} of $NADDR)" test "${R_up[$n]:-0}" = "$NADDR"
done
check "east's agent still running" kill -0 $PID_east
for n in lsnull lsoe; do eval "p=\$LSPID_$n"; check "$n's pluto still running" kill -0 $p; done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-"}'; }
per_tunnel() { # RSS0 RSS1 TUN0 TUN1: kB per tunnel
  awk -v a="$1" -v b="$2" -v n="$3" -v m="$4" 'BEGIN {if (m - n > 0) printf "%.1f", (b - a) / (m - n); else print "-"}'; }
row() { printf '%-46s %12s %12s %8s %s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")" "${4:-}"; }
{
  echo "responder handshakes on one core (IKE_SA_INIT + IKE_AUTH + Child SA, ECP-256, AES-GCM-16-256),"
  echo "oe-agent vs libreswan pluto 4.10, one QEMU guest run ($(date -u +%Y-%m-%d), TCG, $NCPU vCPUs)"
  echo "responder pinned to vCPU 0 (all its threads); generator (bench/hs_load.c, our IKE core, one DH key"
  echo "pair for all its handshakes) and DNS servers on vCPU 1; $NADDR handshakes per run, each from its own"
  echo "source address, $WINDOW in flight; RSA: each responder signs with its 3072-bit key and verifies the"
  echo "initiators' $LOAD_BITS-bit key from signed reverse DNS (HS_LOAD_BITS: a 3072-bit one makes the generator"
  echo "sign as much as the responder, and it becomes the bottleneck on its one vCPU)"
  echo "pluto runs its updown (here /bin/true, as tests/e2e/lab.sh configures it) three times per tunnel, each"
  echo "a fork and exec it waits for: its CPU below counts them (children's time), its rate is bound by them"
  printf '%-46s %12s %12s %8s\n' "" "oe-agent" "pluto" "ratio"
  for a in null rsa; do
    A=$([ $a = null ] && echo "NULL auth" || echo "RSA 3072")
    row "$A: Child SAs per second" "${R_rate[ours-$a]}" "${R_rate[pluto-$a]}" "(goal >= 2)"
    row "$A: handshakes up (of $NADDR)" "${R_up[ours-$a]}" "${R_up[pluto-$a]}"
    row "$A: responder CPU (% of its vCPU)" "${R_cpu[ours-$a]}" "${R_cpu[pluto-$a]}"
    row "$A: generator CPU (% of its vCPU)" "${R_gencpu[ours-$a]}" "${R_gencpu[pluto-$a]}"
  done
  row "crypto bound NULL (handshakes/s, crypto alone)" "$B_null" "$B_null"
  row "crypto bound RSA 3072" "$B_rsa" "$B_rsa"
  row "NULL: rate / crypto bound" "$(ratio "${R_rate[ours-null]}" "$B_null")" "$(ratio "${R_rate[pluto-null]}" "$B_null")"
  row "RSA: rate / crypto bound" "$(ratio "${R_rate[ours-rsa]}" "$B_rsa")" "$(ratio "${R_rate[pluto-rsa]}" "$B_rsa")"
  echo "(ours within 1.5x of the bound: rate / bound >= 0.67)"
  echo "memory: the daemon's VmRSS (kB) before and after the NULL run's tunnels (each an IKE SA + Child SA"
  echo "with one peer); the kernel's SAs and policies are not in it"
  row "NULL: tunnels held before / after" "${R_tun0[ours-null]}/${R_tun1[ours-null]}" "${R_tun0[pluto-null]}/${R_tun1[pluto-null]}"
  row "NULL: VmRSS before (kB)" "${R_rss0[ours-null]}" "${R_rss0[pluto-null]}"
  row "NULL: VmRSS after (kB)" "${R_rss1[ours-null]}" "${R_rss1[pluto-null]}"
  row "NULL: kB per tunnel (goal ratio <= 0.5)" \
    "$(per_tunnel "${R_rss0[ours-null]}" "${R_rss1[ours-null]}" "${R_tun0[ours-null]}" "${R_tun1[ours-null]}")" \
    "$(per_tunnel "${R_rss0[pluto-null]}" "${R_rss1[pluto-null]}" "${R_tun0[pluto-null]}" "${R_tun1[pluto-null]}")"
  row "RSA: tunnels held before / after" "${R_tun0[ours-rsa]}/${R_tun1[ours-rsa]}" "${R_tun0[pluto-rsa]}/${R_tun1[pluto-rsa]}"
  row "RSA: kB per tunnel" \
    "$(per_tunnel "${R_rss0[ours-rsa]}" "${R_rss1[ours-rsa]}" "${R_tun0[ours-rsa]}" "${R_tun1[ours-rsa]}")" \
    "$(per_tunnel "${R_rss0[pluto-rsa]}" "${R_rss1[pluto-rsa]}" "${R_tun0[pluto-rsa]}" "${R_tun1[pluto-rsa]}")"
  echo "keys: east's $(grep -o 'RSA [0-9]* bits' /tmp/east/agent.log | head -1), lsoe's $(grep -o 'RSA[^,]*[0-9][0-9]* bits' /tmp/lsoe/pluto.log | head -1 || true)"
  echo "crypto bound, timed on vCPU 0 in this run (bench/hs_bound.c):"
  sed 's/^/  /' $OUT/bound.txt
} > $OUT/handshakes.txt
cat $OUT/handshakes.txt
cp $OUT/handshakes.txt "$RES"
cp /tmp/east/agent.log $OUT/agent-east.log; cp /tmp/lsnull/pluto.log $OUT/pluto-lsnull.log
cp /tmp/lsoe/pluto.log $OUT/pluto-lsoe.log
kill $PID_east 2>/dev/null
lab_down > /dev/null 2>&1
ip netns del load 2>/dev/null
summary handshakes
