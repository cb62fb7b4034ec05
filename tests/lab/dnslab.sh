#!/usr/bin/env bash
# The DNS lab: nsd (authoritative, 192.0.2.53) and unbound (validating
# resolver, 192.0.2.54) in their own network namespace, serving the zones
# given, signed here with fresh keys. A client namespace reaches them over a
# veth pair (the client side gets 192.0.2.100).
#
#   dnslab.sh up DIR CLIENT_NS ZONEFILE...   (each ZONEFILE named ORIGIN.zone)
#   dnslab.sh down DIR
# With LAB_LAN="NS:ADDR NS:ADDR ..." (CLIENT_NS then "-") the lab is a LAN
# instead: a bridge with the servers on 192.0.2.53/24 and .54/24 and each
# namespace on it with its ADDR/24, so the hosts reach each other too.
#
# In DIR, before "up": file "unsigned" lists origins served without DNSSEC
# (insecure), "expired" origins signed with signatures that ended in 2020
# (bogus), "tamper" lines "ORIGIN OWNER" whose key records are altered after
# signing (bogus). DIR/anchors is the trust anchor (each signed zone's KSK).
set -eu
cmd=$1; D=$(realpath "$2"); shift 2
case $cmd in
up)
  CLIENT=$1; shift
  NS=oedns-$$
  echo "$NS" > "$D/ns"
  mkdir -p "$D/zones" "$D/keys"
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  if [ -n "${LAB_LAN:-}" ]; then
    ip -n "$NS" link add br0 type bridge
    ip -n "$NS" link set br0 up
    ip -n "$NS" addr add 192.0.2.53/24 dev br0
    ip -n "$NS" addr add 192.0.2.54/24 dev br0
    i=0
    for c in $LAB_LAN; do
      ns=${c%%:*}; addr=${c#*:}
      ip link add lan$i netns "$ns" type veth peer name port$i netns "$NS"
      ip -n "$ns" link set lo up
      ip -n "$ns" addr add "$addr" dev lan$i
      ip -n "$ns" link set lan$i up
      ip -n "$NS" link set port$i master br0 up
      i=$((i + 1))
    done
  else
    ip -n "$NS" addr add 192.0.2.53/32 dev lo
    ip -n "$NS" addr add 192.0.2.54/32 dev lo
    ip link add dnsc netns "$CLIENT" type veth peer name dnss netns "$NS"
    ip -n "$CLIENT" addr add 192.0.2.100/32 dev dnsc
    ip -n "$CLIENT" link set dnsc up; ip -n "$NS" link set dnss up
    ip -n "$CLIENT" route add 192.0.2.53/32 dev dnsc
    ip -n "$CLIENT" route add 192.0.2.54/32 dev dnsc
    ip -n "$NS" route add 192.0.2.100/32 dev dnss
  fi
  listed() { [ -f "$D/$1" ] && grep -qx "$2" "$D/$1"; }
  : > "$D/anchors"
  conf=$D/nsd.conf
  printf 'server:\n  ip-address: 192.0.2.53\n  port: 53\n  zonesdir: "%s/zones"\n  pidfile: "%s/nsd.pid"\n  database: ""\n  zonelistfile: "%s/zone.list"\n  xfrdfile: "%s/xfrd.state"\n  username: ""\n  logfile: "%s/nsd.log"\n  verbosity: 1\n  rrl-ratelimit: 0\nremote-control:\n  control-enable: no\n' "$D" "$D" "$D" "$D" "$D" > "$conf"
  for z in "$@"; do
    origin=$(basename "$z" .zone)
    cp "$z" "$D/zones/$origin.zone"
    if listed unsigned "$origin"; then
      cp "$D/zones/$origin.zone" "$D/zones/$origin.signed"
    else
      ( cd "$D/keys"
        ksk=$(ldns-keygen -a RSASHA256 -b 2048 -k "$origin")
        zsk=$(ldns-keygen -a RSASHA256 -b 1024 "$origin")
        dates=""
        listed expired "$origin" && dates="-i 20200101000000 -e 20200201000000"
        # shellcheck disable=SC2086
        ldns-signzone -n $dates -f "$D/zones/$origin.signed" "$D/zones/$origin.zone" "$ksk" "$zsk"
        grep -v '^;' "$ksk.key" >> "$D/anchors" )
    fi
    if [ -f "$D/tamper" ]; then
      while read -r zo owner; do
        [ "$zo" = "$origin" ] || continue
        # flip one base64 character near the end of that owner's key records
        awk -v o="$owner" 'BEGIN{OFS="\t"} $1==o && ($4=="IPSECKEY"||$4=="TXT"||$4=="KEY") {
            n=length($0); c=substr($0,n-2,1); r=(c=="A")?"B":"A"; $0=substr($0,1,n-3) r substr($0,n-1) } {print}' \
          "$D/zones/$origin.signed" > "$D/zones/$origin.tmp" && mv "$D/zones/$origin.tmp" "$D/zones/$origin.signed"
      done < "$D/tamper"
    fi
    printf 'zone:\n  name: "%s"\n  zonefile: "%s.signed"\n' "$origin" "$origin" >> "$conf"
  done
  ip netns exec "$NS" nsd -c "$conf" -P "$D/nsd.pid"
  uconf=$D/unbound.conf
  { printf 'server:\n  interface: 192.0.2.54\n  port: 53\n  access-control: 0.0.0.0/0 allow\n  access-control: ::/0 allow\n  username: ""\n  chroot: ""\n  directory: "%s"\n  pidfile: "%s/unbound.pid"\n  logfile: "%s/unbound.log"\n  do-daemonize: yes\n  trust-anchor-file: "%s/anchors"\n  val-log-level: 2\n  do-not-query-localhost: no\n  target-fetch-policy: "0 0 0 0 0"\n  harden-referral-path: no\n  module-config: "validator iterator"\n' "$D" "$D" "$D" "$D"
    for z in "$@"; do printf '  local-zone: "%s." nodefault\n' "$(basename "$z" .zone)"; done
    for z in "$@"; do printf 'stub-zone:\n  name: "%s"\n  stub-addr: 192.0.2.53\n' "$(basename "$z" .zone)"; done
    printf 'remote-control:\n  control-enable: no\n'; } > "$uconf"
  ip netns exec "$NS" unbound -c "$uconf"
  for _ in $(seq 50); do
    [ -s "$D/unbound.pid" ] && [ -s "$D/nsd.pid" ] && break
    sleep 0.1
  done
  ;;
down)
  for p in "$D/nsd.pid" "$D/unbound.pid"; do
    [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  sleep 0.3
  [ -f "$D/ns" ] && ip netns del "$(cat "$D/ns")" 2>/dev/null || true
  ;;
*) echo "usage: dnslab.sh up DIR CLIENT_NS ZONEFILE... | down DIR" >&2; exit 2 ;;
esac
