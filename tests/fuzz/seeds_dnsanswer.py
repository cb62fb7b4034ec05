#!/usr/bin/env python3
"""Seeds for fuzz_dnsanswer (its input format is in fuzz_dnsanswer.c), from the
keys in zones/: real IPSECKEY, TXT X-IPsec-Server and KEY rdata, and the
hostile answers of issue 11 (50 IPSECKEYs, '=' in a TXT gateway, very long
names: the CVE-2013-2052 class). Usage: seeds_dnsanswer.py OUTDIR"""
import base64, hashlib, os, re, socket, struct, sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SECURE, INSECURE, BOGUS, FAILED, WHY = 0, 1, 2, 4, 8
IPSECKEY, TXT, KEY = 0, 1, 2


def zone_key(zone, owner):
    """The base64 key of owner's IPSECKEY in zones/zone."""
    for line in open(os.path.join(ROOT, "zones", zone)):
        f = line.split()
        if len(f) > 6 and f[0] == owner and f[2] == "IPSECKEY":
            return base64.b64decode(f[-1])
    raise SystemExit("no IPSECKEY for %s in %s" % (owner, zone))


def wire_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"


def ipseckey(prec, gw, key):
    """RFC 4025 2.1: precedence, gateway type, algorithm 2 (RSA), gateway, key."""
    if gw is None:
        return struct.pack("BBB", prec, 0, 2) + key
    if re.fullmatch(r"[0-9.]+", gw):
        return struct.pack("BBB", prec, 1, 2) + socket.inet_pton(socket.AF_INET, gw) + key
    if ":" in gw:
        return struct.pack("BBB", prec, 2, 2) + socket.inet_pton(socket.AF_INET6, gw) + key
    return struct.pack("BBB", prec, 3, 2) + wire_name(gw) + key


def txt(*texts):
    """TXT rdata: each text in character-strings of at most 255 octets (the parser joins them with spaces)."""
    out = b""
    for t in texts:
        b = t.encode()
        out += b"".join(bytes([len(b[i:i + 255])]) + b[i:i + 255] for i in range(0, len(b), 255))
    return out


def x_ipsec(pref, gw, key):
    """As zones/ write it: prefix and gateway in the first string(s), the key in the next ones."""
    return txt("X-IPsec-Server(%d)=%s" % (pref, gw), base64.b64encode(key).decode())


def keyrr(key):
    """RFC 2535 KEY as FreeS/WAN published it: flags 0x4200, protocol 4 (IPsec), algorithm 1."""
    return struct.pack(">HBB", 0x4200, 4, 1) + key


def answer(bits, flags, records):
    out = bytes([bits]) + bytes(flags)
    for t, rd in records:
        out += struct.pack(">BH", t, len(rd)) + rd
    return out


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    k7 = zone_key("example.com.zone", "west")
    k8 = zone_key("2.0.192.in-addr.arpa.zone", "7")
    long_label = ".".join(["a" * 63] * 3) + ".example"
    seeds = [
        answer(1, [SECURE, SECURE, SECURE], [(IPSECKEY, ipseckey(10, "192.0.2.7", k7))]),
        answer(1, [SECURE, INSECURE, SECURE], [(IPSECKEY, ipseckey(10, "2001:db8::7", k7)),
                                               (TXT, x_ipsec(10, "192.0.2.8", k8)), (KEY, keyrr(k8))]),
        answer(1, [SECURE, SECURE, SECURE], [(IPSECKEY, ipseckey(20, "gw.example.com.", k7)),
                                             (IPSECKEY, ipseckey(10, None, k8))]),
        # 50 IPSECKEY records in one answer, precedences shuffled, gateways of all kinds
        answer(1, [SECURE, SECURE, SECURE],
               [(IPSECKEY, ipseckey((i * 37) % 256, ["192.0.2.%d" % i, "2001:db8::%x" % i,
                                                     "gw%d.example.com." % i, None][i % 4], k7))
                for i in range(50)]),
        # '=' in the gateway field, and a gateway that is only '='
        answer(1, [INSECURE, SECURE, INSECURE], [(TXT, x_ipsec(10, "192.0.2.8=192.0.2.9", k8))]),
        answer(1, [INSECURE, SECURE, INSECURE], [(TXT, x_ipsec(10, "=", k8)),
                                                 (TXT, x_ipsec(10, "=@192.0.2.8", k8))]),
        # very long gateway names: filling the first string (236 octets), across strings, far past 255
        answer(1, [SECURE, SECURE, SECURE], [(TXT, x_ipsec(10, "@" + ("g" * 62 + ".") * 3 + "g" * 46, k8))]),
        answer(1, [SECURE, SECURE, SECURE], [(TXT, x_ipsec(10, "g" * 300, k8))]),
        answer(1, [SECURE, SECURE, SECURE], [(TXT, x_ipsec(10, "@" + "x." * 600, k8))]),
        answer(1, [SECURE, SECURE, SECURE], [(IPSECKEY, ipseckey(10, long_label, k7))]),
        # verdicts: a bogus TXT spoils a secure IPSECKEY; everything failed; KEY only, insecure
        answer(1, [SECURE, BOGUS | WHY, SECURE], [(IPSECKEY, ipseckey(10, "192.0.2.7", k7)),
                                                  (TXT, x_ipsec(10, "192.0.2.8", k8))]),
        answer(1, [FAILED | WHY, FAILED, FAILED | WHY], []),
        answer(0, [INSECURE, INSECURE, INSECURE], [(KEY, keyrr(k8)), (KEY, keyrr(k7[:40]))]),
        # a TXT that is not ours next to one that is; a short key under min_bits 4096
        answer(3, [SECURE, SECURE, SECURE], [(TXT, txt("v=spf1 -all")), (TXT, x_ipsec(5, "192.0.2.8", k8))]),
    ]
    for s in seeds:
        with open(os.path.join(outdir, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)


main()
