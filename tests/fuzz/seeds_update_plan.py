#!/usr/bin/env python3
"""Writes tests/fuzz/corpus/fuzz_update_plan: a type byte (bit 0: TXT, bit 1:
remove), then records as a 2-byte length and rdata, the first one the record
wanted. Run from the top of the tree."""
import os
import struct

out = "tests/fuzz/corpus/fuzz_update_plan"
os.makedirs(out, exist_ok=True)

def rsa_key(seed):
    n = bytes(((seed * 131 + i * 7 + (i >> 3)) & 0xFF) for i in range(256))
    n = bytes([n[0] | 0x80]) + n[1:-1] + bytes([n[-1] | 1])
    return b"\x03\x01\x00\x01" + n

def ipseckey(seed, gw=None):
    if gw is None:
        return bytes([10, 0, 2]) + rsa_key(seed)
    return bytes([10, 1, 2]) + bytes(gw) + rsa_key(seed)

def txt(seed):
    import base64
    s = b"X-IPsec-Server(10)=192.0.2.1 " + base64.b64encode(rsa_key(seed))
    chunks = [s[i:i + 255] for i in range(0, len(s), 255)]
    return b"".join(bytes([len(c)]) + c for c in chunks)

def rrs(*rdatas):
    return b"".join(struct.pack(">H", len(r)) + r for r in rdatas)

seeds = {
    "ipseckey-absent": b"\x00" + rrs(ipseckey(1)),
    "ipseckey-same": b"\x00" + rrs(ipseckey(1), ipseckey(1)),
    "ipseckey-replace": b"\x00" + rrs(ipseckey(1), ipseckey(2), ipseckey(3, [192, 0, 2, 1])),
    "ipseckey-remove": b"\x02" + rrs(ipseckey(1), ipseckey(2), ipseckey(1)),
    "txt-other": b"\x01" + rrs(txt(1), b"\x09owner=ops", txt(2)),
    "txt-remove": b"\x03" + rrs(txt(1), txt(1), b"\x00"),
    "garbage": b"\x00" + rrs(b"\x0a\x03\x02\x01", b"\xff" * 40),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
