# Sourced by tests: libreswan's own programs from the tree that `make deps`
# unpacks (the package conflicts with strongSwan's, so it is not installed).
LS_ROOT=${OE_LIBRESWAN_ROOT:-/var/tmp/oe-libreswan}
LS_BIN=$LS_ROOT/root/usr/libexec/ipsec
ls_available() { [ -x "$LS_BIN/pluto" ]; }
ls_initnss() { mkdir -p "$1" && certutil -N -d "sql:$1" --empty-password; }
ls_newhostkey() { "$LS_BIN/rsasigkey" --nssdir "$1" "${2:-3072}" >/dev/null; }
ls_showhostkey() { "$LS_BIN/showhostkey" "$@"; }
ls_ckaid() { "$LS_BIN/showhostkey" --nssdir "$1" --list | sed -n 's/.*ckaid: \([0-9a-f]*\).*/\1/p' | head -1; }
ls_keyid() { "$LS_BIN/showhostkey" --nssdir "$1" --list | sed -n 's/.*RSA keyid: \([^ ]*\).*/\1/p' | head -1; }
# pluto runs /usr/libexec/ipsec/addconn itself: give it its own tree there,
# in a private mount namespace (`make deps` creates the empty directory)
# With LS_RESOLV=FILE, pluto's libunbound reads that file as /etc/resolv.conf.
ls_pluto() {
  exec unshare -m sh -c 'mount --bind "$0" /usr/libexec/ipsec &&
    { [ -z "$LS_RESOLV" ] || mount --bind "$LS_RESOLV" /etc/resolv.conf; } && exec "$0/pluto" "$@"' "$LS_BIN" "$@"
}
ls_whack() { "$LS_BIN/whack" "$@"; }
ls_addconn() { "$LS_BIN/addconn" "$@"; }
