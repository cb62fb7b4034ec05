#!/bin/sh
# An updown script for oe-agent (oe.conf: updown = /etc/oe/updown-nftables.sh),
# reading the environment libreswan's _updown scripts read. It keeps an
# nftables set of the peers we currently talk to in ESP, so a firewall can
# say "only encrypted traffic from these hosts", and a set of peers that got a
# clear (pass) shunt, for accounting.
#   nft add table inet oe
#   nft add set inet oe tunnels '{ type ipv4_addr; }'
#   nft add set inet oe clear_shunts '{ type ipv4_addr; timeout 15m; }'
set -eu
peer=${PLUTO_PEER_CLIENT_NET:?}
case "${PLUTO_VERB:?}" in
up-host)     nft add element inet oe tunnels "{ $peer }" ;;
down-host)   nft delete element inet oe tunnels "{ $peer }" 2>/dev/null || true ;;
up-shunt)    [ "${PLUTO_OE_SHUNT:-}" = pass ] && nft add element inet oe clear_shunts "{ $peer }" || true ;;
down-shunt)  nft delete element inet oe clear_shunts "{ $peer }" 2>/dev/null || true ;;
esac
logger -t oe-updown "$PLUTO_VERB $PLUTO_CONNECTION peer=$peer auth=${PLUTO_OE_AUTH:-} dnssec=${PLUTO_OE_DNSSEC:-}"
