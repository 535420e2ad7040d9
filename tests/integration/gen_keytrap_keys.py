#!/usr/bin/python3
"""Writes keytrap_keys.txt: 50 valid ECDSA P-256 public keys (algorithm 13) whose DNSKEY
key tag (flags 256) is 4242, for the KeyTrap zone of signed_internet.py.

Valid points matter: a validator that rejects a malformed key before any signature check
would make the KeyTrap test pass without its signature-check budget ever being needed.
The keys are the points k*G for consecutive k from a fixed start (one point addition per
candidate, no private key kept: nothing signs with them). About 65536 candidates per key:
a minute or two of pure Python, run once; the output is checked in.

    /usr/bin/python3 tests/integration/gen_keytrap_keys.py > tests/integration/keytrap_keys.txt
"""
import base64
import struct
import sys

P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296
GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5
TAG, COUNT = 4242, 50
HEAD = bytes([1, 0, 3, 13])     # flags 256 (zone key), protocol 3, algorithm 13


def double(x, y):
    lam = (3 * x * x - 3) * pow(2 * y, -1, P) % P
    nx = (lam * lam - 2 * x) % P
    return nx, (lam * (x - nx) - y) % P


def key_tag(rdata):
    """RFC 4034 Appendix B, for even-length RDATA."""
    ac = sum(struct.unpack(">%dH" % (len(rdata) // 2), rdata))
    return (ac + (ac >> 16)) & 0xFFFF


def main():
    x, y = GX, GY
    for _ in range(20):                 # start at 2^20 * G: no small multiples
        x, y = double(x, y)
    found = []
    while len(found) < COUNT:
        lam = (y - GY) * pow(x - GX, -1, P) % P
        nx = (lam * lam - x - GX) % P
        x, y = nx, (lam * (x - nx) - y) % P
        key = x.to_bytes(32, "big") + y.to_bytes(32, "big")
        if key_tag(HEAD + key) == TAG:
            assert (y * y - (x * x * x - 3 * x + B)) % P == 0
            found.append(base64.b64encode(key).decode())
            print(len(found), file=sys.stderr)
    for k in found:
        print(k)


if __name__ == "__main__":
    main()
