# Sourced inside the guest: load the ESP, AES-GCM and AES-CBC/HMAC-SHA2 modules
# before a test times anything (the first SA of a kind would otherwise wait
# seconds for modprobe, inside the agent's netlink call: an IKE_AUTH answer
# held up two seconds, the initiator retransmitting meanwhile).
warm_esp() {
  modprobe -a esp4 esp6 xfrm_user xfrm4_tunnel tunnel4 xfrm6_tunnel tunnel6 >/dev/null 2>&1
  ip netns add oe-warm 2>/dev/null
  ip -n oe-warm xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x100 mode tunnel \
    aead 'rfc4106(gcm(aes))' 0x$(printf '%072d' 0) 128 >/dev/null 2>&1
  ip -n oe-warm xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x101 mode tunnel \
    enc 'cbc(aes)' 0x$(printf '%064d' 0) auth-trunc 'hmac(sha256)' 0x$(printf '%064d' 0) 128 >/dev/null 2>&1
  ip -n oe-warm xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp spi 0x102 mode tunnel \
    enc 'cbc(aes)' 0x$(printf '%064d' 0) auth-trunc 'hmac(sha512)' 0x$(printf '%0128d' 0) 256 >/dev/null 2>&1
  ip netns del oe-warm 2>/dev/null
}
warm_esp
