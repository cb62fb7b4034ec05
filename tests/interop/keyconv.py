#!/usr/bin/env python3
"""Public RSA keys between strongSwan's PEM and DNS's RFC 3110 form (tests only).
   keyconv.py pem2dns FILE     -> 0sBASE64 (RFC 3110)
   keyconv.py dns2pem 0sKEY    -> SubjectPublicKeyInfo "PUBLIC KEY" PEM"""
import base64, sys

def der_read(b, i):
    tag = b[i]; i += 1
    n = b[i]; i += 1
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(b[i:i + k], 'big'); i += k
    return tag, b[i:i + n], i + n

def rsa_from_der(der):
    tag, body, _ = der_read(der, 0)          # SEQUENCE
    t0, first, j = der_read(body, 0)
    if t0 == 0x30:                            # SubjectPublicKeyInfo: AlgorithmIdentifier, BIT STRING
        _, bits, _ = der_read(body, j)
        return rsa_from_der(bits[1:])
    n = int.from_bytes(first, 'big')
    _, e, _ = der_read(body, j)
    return int.from_bytes(e, 'big'), n

def der_len(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b

def der_int(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, 'big')
    return b'\x02' + der_len(len(b)) + b

def main():
    if sys.argv[1] == 'pem2dns':
        text = open(sys.argv[2]).read()
        b64 = ''.join(l for l in text.splitlines() if l and not l.startswith('-----'))
        e, n = rsa_from_der(base64.b64decode(b64))
        eb = e.to_bytes((e.bit_length() + 7) // 8, 'big')
        nb = n.to_bytes((n.bit_length() + 7) // 8, 'big')
        print('0s' + base64.b64encode(bytes([len(eb)]) + eb + nb).decode())
    else:
        k = sys.argv[2]
        raw = base64.b64decode(k[2:] if k.startswith('0s') else k)
        el = raw[0]; off = 1
        if el == 0:
            el = int.from_bytes(raw[1:3], 'big'); off = 3
        e = int.from_bytes(raw[off:off + el], 'big'); n = int.from_bytes(raw[off + el:], 'big')
        body = der_int(n) + der_int(e)
        pkcs1 = b'\x30' + der_len(len(body)) + body
        # SubjectPublicKeyInfo: rsaEncryption, then the PKCS#1 key as a BIT STRING
        alg = bytes.fromhex('300d06092a864886f70d0101010500')
        bits = b'\x03' + der_len(len(pkcs1) + 1) + b'\x00' + pkcs1
        der = b'\x30' + der_len(len(alg) + len(bits)) + alg + bits
        b64 = base64.b64encode(der).decode()
        print('-----BEGIN PUBLIC KEY-----')
        for i in range(0, len(b64), 64):
            print(b64[i:i + 64])
        print('-----END PUBLIC KEY-----')

main()
