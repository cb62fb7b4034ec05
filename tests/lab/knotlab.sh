#!/usr/bin/env bash
# The dynamic-update lab: knotd (192.0.2.56) in its own network namespace,
# primary for the zones given, each signed by knot itself as it changes
# (dnssec-signing: on, knot's default ECDSA keys), updatable with one TSIG
# key. A client namespace reaches it over a veth pair (its side gets
# 192.0.2.101).
#
#   knotlab.sh up DIR CLIENT_NS ZONEFILE...   (each ZONEFILE named ORIGIN.zone)
#   knotlab.sh down DIR
# In DIR, before "up": file "readonly" lists origins served without the
# update ACL (an update there is refused). After "up": DIR/tsig.key is the
# key in BIND's key-file format (mode 0600), DIR/tsig.secret its base64
# secret, DIR/anchors each zone's KSK (DNSKEY 257) as a trust anchor,
# DIR/knot.log knot's log.
set -eu
cmd=$1; D=$(realpath "$2"); shift 2
ADDR=192.0.2.56
KEY=publish-key
case $cmd in
up)
  CLIENT=$1; shift
  NS=publish-knot-$$
  echo "$NS" > "$D/ns"
  mkdir -p "$D/zones" "$D/db"
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip -n "$NS" addr add $ADDR/32 dev lo
  ip link add knc netns "$CLIENT" type veth peer name kns netns "$NS"
  ip -n "$CLIENT" addr add 192.0.2.101/32 dev knc
  ip -n "$CLIENT" link set knc up; ip -n "$NS" link set kns up
  ip -n "$CLIENT" route add $ADDR/32 dev knc
  ip -n "$NS" route add 192.0.2.101/32 dev kns
  head -c 32 /dev/urandom | base64 > "$D/tsig.secret"
  secret=$(cat "$D/tsig.secret")
  ( umask 077; printf 'key "%s" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$KEY" "$secret" > "$D/tsig.key" )
  conf=$D/knot.conf
  { printf 'server:\n    rundir: "%s"\n    pidfile: "%s/knot.pid"\n    listen: %s@53\n' "$D" "$D" "$ADDR"
    printf 'log:\n  - target: "%s/knot.log"\n    any: info\n' "$D"
    printf 'database:\n    storage: "%s/db"\n' "$D"
    printf 'key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: %s\n' "$KEY" "$secret"
    printf 'acl:\n  - id: update\n    key: %s\n    action: update\n' "$KEY"
    # the zone file is only read at the start: updates live in the journal
    printf 'template:\n  - id: default\n    storage: "%s/zones"\n    file: "%%s.zone"\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: all\n' "$D"
    printf 'zone:\n'
    for z in "$@"; do
      origin=$(basename "$z" .zone)
      cp "$z" "$D/zones/$origin.zone"
      printf '  - domain: %s\n    dnssec-signing: on\n' "$origin"
      if ! { [ -f "$D/readonly" ] && grep -qx "$origin" "$D/readonly"; }; then printf '    acl: update\n'; fi
    done; } > "$conf"
  ip netns exec "$NS" knotd -c "$conf" -d
  : > "$D/anchors"
  for z in "$@"; do
    origin=$(basename "$z" .zone)
    for _ in $(seq 100); do
      ip netns exec "$NS" kdig @$ADDR +noall +answer DNSKEY "$origin" 2>/dev/null | grep -q 'DNSKEY[[:space:]]*257 ' && break
      sleep 0.1
    done
    ip netns exec "$NS" kdig @$ADDR +noall +answer DNSKEY "$origin" | grep 'DNSKEY[[:space:]]*257 ' >> "$D/anchors"
  done
  [ "$(grep -c . "$D/anchors")" = $# ]
  ;;
down)
  [ -s "$D/knot.pid" ] && kill "$(cat "$D/knot.pid")" 2>/dev/null || true
  sleep 0.3
  [ -f "$D/ns" ] && ip netns del "$(cat "$D/ns")" 2>/dev/null || true
  ;;
*) echo "usage: knotlab.sh up DIR CLIENT_NS ZONEFILE... | down DIR" >&2; exit 2 ;;
esac
