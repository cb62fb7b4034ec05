#!/usr/bin/env python3
"""A DNS server that misbehaves on purpose, over UDP and TCP, for the
agent's DNS fault tests (tests/integration/dns_faults.sh).

    faultdns.py ADDR PORT LOGFILE

What it does for a reverse name depends on the name's first label (the
last octet of the address asked about):

  10  slow: every answer leaves 2 s after the question (others go on
      meanwhile); the IPSECKEY answer is one record with a 1024-bit key
  11, 22  SERVFAIL
  12  truncated: over UDP an empty answer with TC set; over TCP one IPSECKEY
      (precedence 77, a 1024-bit key)
  13  50 IPSECKEY records (1024-bit keys, precedence 1..50): too big for
      UDP, so TC and then TCP, as for any answer larger than the client's size
  14  TXT X-IPsec-Server(10)=192.0.2.7=evil KEY: "=" in the gateway field
  15  TXT X-IPsec-Server(10)=NAME KEY, NAME the longest a TXT string can
      carry (236 characters; the string is full) and a good-sized key
  16  TXT X-IPsec-Server(10)=NAME KEY with a 70-character label in NAME
  17, 21  silent: never answers
  18  TXT X-IPsec-Server(10)=NAME KEY with a 600-character NAME, running
      over three strings
  a name not under in-addr.arpa (a gateway's A or AAAA): NXDOMAIN
  anything else: NXDOMAIN

Each question is logged as one line "PROTO QNAME QTYPE WHAT" (flushed).
Only test addresses are used; the keys are random odd numbers of the right
size (the agent only weighs their size before any signature is checked).
"""
import asyncio
import base64
import os
import struct
import sys
import time

IPSECKEY, TXT = 45, 16
SLOW_S = 2.0


def rsa_key(bits):
    """RFC 3110 wire form: exponent 65537, a modulus of exactly bits bits."""
    n = bytearray(os.urandom(bits // 8))
    n[0] |= 0x80
    n[-1] |= 1
    return bytes([3]) + b"\x01\x00\x01" + bytes(n)


KEY1024 = rsa_key(1024)
KEY2048 = rsa_key(2048)


def ipseckey(precedence, gw4, key):
    return struct.pack("!BBB", precedence, 1, 2) + bytes(int(x) for x in gw4.split(".")) + key


def txt(text):
    """A TXT rdata: the text cut into strings of at most 255."""
    b = text.encode()
    out = b""
    for i in range(0, len(b), 255):
        part = b[i:i + 255]
        out += bytes([len(part)]) + part
    return out


def freeswan(gateway, key):
    return txt("X-IPsec-Server(10)=%s 0s%s" % (gateway, base64.b64encode(key).decode()))


def freeswan_full(gateway, key):
    """Prefix and gateway fill the first string; the key follows in others (joined with a space)."""
    head = ("X-IPsec-Server(10)=%s" % gateway).encode()
    assert len(head) == 255
    return bytes([255]) + head + txt("0s" + base64.b64encode(key).decode())


FULL_NAME = ".".join(["a" * 58] * 4) + "b"              # 236 characters
SPILL_NAME = ".".join(["c" * 59] * 10)                  # 599 characters
LONG_LABEL = "gw." + "b" * 70 + ".example.com"


def parse_query(msg):
    """(id, flags, qname, qtype, question bytes, EDNS size or 0); None if malformed."""
    if len(msg) < 12:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    if qd != 1:
        return None
    off, labels = 12, []
    while True:
        if off >= len(msg):
            return None
        n = msg[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 or off + 1 + n > len(msg):
            return None
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    if off + 4 > len(msg):
        return None
    qtype, _ = struct.unpack("!HH", msg[off:off + 4])
    question = msg[12:off + 4]
    off += 4
    edns = 0
    if ar and an == 0 and ns == 0 and off + 11 <= len(msg) and msg[off] == 0:
        rtype, rclass = struct.unpack("!HH", msg[off + 1:off + 5])
        if rtype == 41:
            edns = max(rclass, 512)
    return qid, flags, ".".join(labels).lower(), qtype, question, edns


def answer(qid, flags, question, edns, rcode=0, rrs=(), tc=False):
    rd = flags & 0x0100
    out_flags = 0x8000 | (flags & 0x7800) | 0x0400 | rd | 0x0080 | rcode | (0x0200 if tc else 0)
    body = b""
    for rtype, rdata in rrs:
        body += b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata
    opt = struct.pack("!BHHIH", 0, 41, 1232, 0, 0) if edns else b""
    return struct.pack("!HHHHHH", qid, out_flags, 1, 0 if tc else len(rrs), 0, 1 if edns else 0) + question + \
        (b"" if tc else body) + opt


def decide(qname, qtype, proto):
    """(what, rcode, records, force_tc, delay or None to stay silent)."""
    first = qname.split(".")[0]
    if not qname.endswith(".in-addr.arpa"):
        return "nxdomain", 3, [], False, 0
    if first == "10":
        return "slow", 0, [(IPSECKEY, ipseckey(42, "192.0.2.7", KEY1024))] if qtype == IPSECKEY else [], False, SLOW_S
    if first in ("11", "22"):
        return "servfail", 2, [], False, 0
    if first == "12":
        if proto == "udp":
            return "truncated", 0, [], True, 0
        return "tcp-answer", 0, [(IPSECKEY, ipseckey(77, "192.0.2.7", KEY1024))] if qtype == IPSECKEY else [], \
            False, 0
    if first == "13":
        rrs = [(IPSECKEY, ipseckey(i, "192.0.2.7", KEY1024)) for i in range(1, 51)] if qtype == IPSECKEY else []
        return "fifty", 0, rrs, False, 0
    if first == "14":
        return "txt-equals", 0, [(TXT, freeswan("192.0.2.7=evil", KEY2048))] if qtype == TXT else [], False, 0
    if first == "15":
        return "txt-full-name", 0, [(TXT, freeswan_full(FULL_NAME, KEY2048))] if qtype == TXT else [], False, 0
    if first == "16":
        return "txt-long-label", 0, [(TXT, freeswan(LONG_LABEL, KEY2048))] if qtype == TXT else [], False, 0
    if first in ("17", "21"):
        return "silent", 0, [], False, None
    if first == "18":
        return "txt-spill-name", 0, [(TXT, freeswan(SPILL_NAME, KEY2048))] if qtype == TXT else [], False, 0
    return "nxdomain", 3, [], False, 0


class Server:
    def __init__(self, log):
        self.log = log

    def note(self, proto, qname, qtype, what):
        self.log.write("%.3f %s %s %d %s\n" % (time.monotonic(), proto, qname, qtype, what))
        self.log.flush()

    async def respond(self, msg, proto, send):
        q = parse_query(msg)
        if q is None:
            return
        qid, flags, qname, qtype, question, edns = q
        what, rcode, rrs, tc, delay = decide(qname, qtype, proto)
        self.note(proto, qname, qtype, "%s edns=%d id=%d" % (what, edns, qid))
        if delay is None:
            return
        if delay:
            await asyncio.sleep(delay)
        out = answer(qid, flags, question, edns, rcode, rrs, tc)
        if proto == "udp" and len(out) > (edns or 512):
            out = answer(qid, flags, question, edns, rcode, rrs, True)
        send(out)


class Udp(asyncio.DatagramProtocol):
    def __init__(self, server):
        self.server = server

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        asyncio.ensure_future(self.server.respond(data, "udp", lambda b: self.transport.sendto(b, addr)))


async def tcp_client(server, reader, writer):
    try:
        while True:
            n = struct.unpack("!H", await reader.readexactly(2))[0]
            msg = await reader.readexactly(n)
            await server.respond(msg, "tcp", lambda b: writer.write(struct.pack("!H", len(b)) + b))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def main(addr, port, logfile):
    server = Server(open(logfile, "a"))
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: Udp(server), local_addr=(addr, port))
    tcp = await asyncio.start_server(lambda r, w: tcp_client(server, r, w), addr, port)
    server.note("-", "ready", 0, "listening on %s port %d" % (addr, port))
    async with tcp:
        await tcp.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
