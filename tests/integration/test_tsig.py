"""TSIG (RFC 8945) on authd: signed queries from dig -y, kdig -y and dnspython get signed
responses the clients verify (every algorithm, UDP and TCP, REFUSED and NXDOMAIN too);
an unknown key is NOTAUTH/BADKEY and a wrong secret NOTAUTH/BADSIG, both unsigned; a
stale time is NOTAUTH/BADTIME signed with the server's time; a truncated MAC BADTRUNC;
`ctl tsig-keygen` output loads into authd; bad [tsig] lines fail --check-config.

The error replies are read off the wire and their MACs checked here with Python's hmac
(RFC 8945 4.3), independently of the clients, which stop at a TSIG error.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import tempfile
import time

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.wire
import pytest

from streamdns import BUILD, Authd, Broker, rrset_events

CTL = os.path.join(BUILD, "streamdns-ctl")
AUTHD = os.path.join(BUILD, "streamdns-authd")
SECRET = "2v0yTDE8Gg3Oq2b4z1J6ewK8cB2H7fYzmQwq0aOZ5Gs="
OTHER = "AAAATDE8Gg3Oq2b4z1J6ewK8cB2H7fYzmQwq0aOZ5Gs="
ALGS = ["hmac-sha256", "hmac-sha224", "hmac-sha384", "hmac-sha512", "hmac-sha1",
        "hmac-md5"]
HASH = {"hmac-md5": "md5", "hmac-sha1": "sha1", "hmac-sha224": "sha224",
        "hmac-sha256": "sha256", "hmac-sha384": "sha384", "hmac-sha512": "sha512"}
DNS_ALG = {"hmac-md5": dns.tsig.HMAC_MD5, "hmac-sha1": dns.tsig.HMAC_SHA1,
           "hmac-sha224": dns.tsig.HMAC_SHA224, "hmac-sha256": dns.tsig.HMAC_SHA256,
           "hmac-sha384": dns.tsig.HMAC_SHA384, "hmac-sha512": dns.tsig.HMAC_SHA512}
ZONE = [
    ("tsig.test.", "SOA", "ns1.tsig.test. hostmaster.tsig.test. 1 3600 900 604800 60"),
    ("tsig.test.", "NS", "ns1.tsig.test."),
    ("ns1.tsig.test.", "A", "192.0.2.1"),
    ("www.tsig.test.", "A", "192.0.2.2"),
]
TSIG_TYPE = 250


def key_name(alg):
    return "key-%s." % alg


@pytest.fixture(scope="module")
def server():
    gen = subprocess.run([CTL, "tsig-keygen", "gen.example."], capture_output=True,
                         text=True, timeout=10)
    assert gen.returncode == 0, gen.stderr
    ini_line, bind_clause = gen.stdout.splitlines()
    lines = ["%s = %s:%s" % (key_name(a), a, SECRET) for a in ALGS]
    broker = Broker(partitions=1)
    broker.produce(rrset_events(ZONE))
    authd = Authd(broker.address, sections="[tsig]\n%s\n%s\n" % ("\n".join(lines),
                                                                    ini_line))
    try:
        authd.wait_ready()
        authd.wait_for("www.tsig.test.", "A", lambda r: r.answer)
        authd.generated = (ini_line, bind_clause)
        yield authd
    finally:
        authd.stop()
        broker.stop()


def exchange(port, data, tcp=False, timeout=3.0):
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.settimeout(timeout)
        if tcp:
            s.connect(("127.0.0.1", port))
            s.sendall(struct.pack("!H", len(data)) + data)
            n = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
            return s.recv(n, socket.MSG_WAITALL)
        s.sendto(data, ("127.0.0.1", port))
        return s.recv(65535)


def variables(owner, alg, time_signed, fudge, error, other):
    """The TSIG variables of RFC 8945 4.3.3 (canonical names)."""
    return (dns.name.from_text(owner).canonicalize().to_wire() + struct.pack("!HI", 255, 0)
            + dns.name.from_text(alg).canonicalize().to_wire()
            + struct.pack("!HIHHH", time_signed >> 32, time_signed & 0xffffffff, fudge,
                          error, len(other)) + other)


def sign_request(wire, owner, alg, secret, time_signed, maclen=None):
    """Appends a TSIG RR to the unsigned request wire, signed at time_signed, its MAC
    cut to maclen octets. Returns (signed wire, MAC)."""
    mac = hmac.new(base64.b64decode(secret), wire + variables(owner, alg, time_signed, 300,
                                                              0, b""), HASH[alg]).digest()
    mac = mac[:maclen] if maclen else mac
    rdata = (dns.name.from_text(alg).to_wire()
             + struct.pack("!HIHH", time_signed >> 32, time_signed & 0xffffffff, 300,
                           len(mac)) + mac + wire[:2] + struct.pack("!HH", 0, 0))
    rr = (dns.name.from_text(owner).to_wire() + struct.pack("!HHIH", TSIG_TYPE, 255, 0,
                                                            len(rdata)) + rdata)
    ar = struct.unpack("!H", wire[10:12])[0]
    return wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + rr, mac


def split_tsig(wire):
    """(the message without its TSIG, parsed; the TSIG's owner; its rdata; the wire the
    MAC covers). Asserts the TSIG is the last RR."""
    p = dns.wire.Parser(wire)
    _, _, qd, an, ns, ar = p.get_struct("!HHHHHH")
    for _ in range(qd):
        p.get_name()
        p.get_struct("!HH")
    found = None
    for i in range(an + ns + ar):
        start = p.current
        name = p.get_name()
        rtype, _, _, rdlen = p.get_struct("!HHIH")
        data = p.get_bytes(rdlen)
        if rtype == TSIG_TYPE:
            assert i == an + ns + ar - 1, "TSIG not the last RR"
            found = (start, name, data)
    assert found is not None, "the response carries no TSIG RR"
    start, owner, data = found
    rd = dns.rdata.from_wire(dns.rdataclass.ANY, TSIG_TYPE, data, 0, len(data))
    stripped = wire[:10] + struct.pack("!H", ar - 1) + wire[12:start]
    covered = struct.pack("!H", rd.original_id) + stripped[2:]
    return dns.message.from_wire(stripped), owner, rd, covered


def response_mac_ok(wire, alg, secret, request_mac):
    _, owner, rd, covered = split_tsig(wire)
    if not rd.mac:
        return False
    data = (struct.pack("!H", len(request_mac)) + request_mac + covered
            + variables(owner.to_text(), rd.algorithm.to_text(), rd.time_signed, rd.fudge,
                        rd.error, rd.other))
    return hmac.compare_digest(hmac.new(base64.b64decode(secret), data,
                                        HASH[alg]).digest()[:len(rd.mac)], rd.mac)


def plain_query(name="www.tsig.test.", rdtype="A"):
    return dns.message.make_query(name, rdtype, use_edns=0).to_wire()


def dig(server, tool, name, keyspec, *extra):
    p = subprocess.run([tool, "@127.0.0.1", "-p", str(server.port), name, "A", "-y",
                        keyspec] + list(extra), capture_output=True, text=True, timeout=15)
    return p.stdout + p.stderr


@pytest.mark.parametrize("tcp", [False, True])
def test_dig_signed_response_verifies(server, tcp):
    out = dig(server, "dig", "www.tsig.test.", "hmac-sha256:key-hmac-sha256.:" + SECRET,
              *(["+tcp"] if tcp else []))
    assert "status: NOERROR" in out, out
    assert "192.0.2.2" in out, out
    assert "NOERROR 0" in out.split("TSIG PSEUDOSECTION")[1], out
    for bad in ("Couldn't verify", "could not be validated", "expected a TSIG"):
        assert bad not in out, out


@pytest.mark.parametrize("tcp", [False, True])
def test_kdig_signed_response_verifies(server, tcp):
    out = dig(server, "kdig", "www.tsig.test.", "hmac-sha512:key-hmac-sha512.:" + SECRET,
              *(["+tcp"] if tcp else []))
    assert "status: NOERROR" in out, out
    assert "192.0.2.2" in out, out
    assert "WARNING" not in out and "failed" not in out.lower(), out


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("tcp", [False, True])
def test_every_algorithm_dnspython(server, alg, tcp):
    ring = dns.tsigkeyring.from_text({key_name(alg): (DNS_ALG[alg], SECRET)})
    q = dns.message.make_query("www.tsig.test.", "A")
    q.use_tsig(ring, keyname=key_name(alg), algorithm=DNS_ALG[alg])
    send = dns.query.tcp if tcp else dns.query.udp
    r = send(q, "127.0.0.1", port=server.port, timeout=3)   # raises unless it verifies
    assert r.had_tsig
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer and r.answer[0][0].address == "192.0.2.2"


@pytest.mark.parametrize("name,rcode", [("www.elsewhere.example.", dns.rcode.REFUSED),
                                        ("nope.tsig.test.", dns.rcode.NXDOMAIN)])
@pytest.mark.parametrize("tcp", [False, True])
def test_every_reply_is_signed(server, name, rcode, tcp):
    ring = dns.tsigkeyring.from_text({key_name("hmac-sha256"): SECRET})
    q = dns.message.make_query(name, "A")
    q.use_tsig(ring, keyname=key_name("hmac-sha256"))
    r = (dns.query.tcp if tcp else dns.query.udp)(q, "127.0.0.1", port=server.port,
                                                 timeout=3)
    assert r.had_tsig
    assert r.rcode() == rcode


def test_unknown_key_is_badkey_unsigned(server):
    out = dig(server, "dig", "www.tsig.test.", "hmac-sha256:nobody.:" + SECRET)
    assert "status: NOTAUTH" in out and "BADKEY" in out, out
    wire, _ = sign_request(plain_query(), "nobody.", "hmac-sha256", SECRET, int(time.time()))
    for tcp in (False, True):
        msg, owner, rd, _ = split_tsig(exchange(server.port, wire, tcp))
        assert msg.rcode() == dns.rcode.NOTAUTH
        assert rd.error == dns.rcode.BADKEY and rd.mac == b""
        assert owner == dns.name.from_text("nobody.")
        assert not msg.answer
    # A key we have, with another algorithm than ours, is unknown too (RFC 8945 5.2.1).
    wire, _ = sign_request(plain_query(), key_name("hmac-sha256"), "hmac-sha512", SECRET,
                           int(time.time()))
    msg, _, rd, _ = split_tsig(exchange(server.port, wire))
    assert msg.rcode() == dns.rcode.NOTAUTH and rd.error == dns.rcode.BADKEY


def test_wrong_secret_is_badsig_unsigned(server):
    out = dig(server, "dig", "www.tsig.test.", "hmac-sha256:key-hmac-sha256.:" + OTHER)
    assert "status: NOTAUTH" in out and "BADSIG" in out, out
    wire, _ = sign_request(plain_query(), key_name("hmac-sha256"), "hmac-sha256", OTHER,
                           int(time.time()))
    msg, _, rd, _ = split_tsig(exchange(server.port, wire))
    assert msg.rcode() == dns.rcode.NOTAUTH
    assert rd.error == dns.rcode.BADSIG and rd.mac == b""
    assert not msg.answer


@pytest.mark.parametrize("tcp", [False, True])
def test_stale_time_is_badtime_signed(server, tcp):
    stale = int(time.time()) - 3600
    wire, mac = sign_request(plain_query(), key_name("hmac-sha384"), "hmac-sha384", SECRET,
                             stale)
    reply = exchange(server.port, wire, tcp)
    msg, _, rd, _ = split_tsig(reply)
    assert msg.rcode() == dns.rcode.NOTAUTH
    assert rd.error == dns.rcode.BADTIME
    assert not msg.answer
    assert rd.time_signed == stale                      # RFC 8945 5.2.3: the request's
    now = struct.unpack("!Q", b"\0\0" + rd.other)[0]    # and the server's in other data
    assert len(rd.other) == 6 and abs(now - time.time()) < 5
    assert response_mac_ok(reply, "hmac-sha384", SECRET, mac)


def test_stale_time_dnspython(server):
    """dnspython signs with its clock: an hour slow, it is told BADTIME."""
    ring = dns.tsigkeyring.from_text({key_name("hmac-sha256"): SECRET})
    q = dns.message.make_query("www.tsig.test.", "A")
    q.use_tsig(ring, keyname=key_name("hmac-sha256"))
    real = time.time
    try:
        time.time = lambda: real() - 3600
        wire = q.to_wire()
    finally:
        time.time = real
    msg, _, rd, _ = split_tsig(exchange(server.port, wire))
    assert msg.rcode() == dns.rcode.NOTAUTH and rd.error == dns.rcode.BADTIME
    assert response_mac_ok(exchange(server.port, wire), "hmac-sha256", SECRET, q.mac)


def test_truncated_mac(server):
    now = int(time.time())
    # Half the HMAC: allowed by RFC 8945 5.2.2.1, refused by our policy, signed.
    wire, mac = sign_request(plain_query(), key_name("hmac-sha256"), "hmac-sha256", SECRET,
                             now, maclen=16)
    reply = exchange(server.port, wire)
    msg, _, rd, _ = split_tsig(reply)
    assert msg.rcode() == dns.rcode.NOTAUTH and rd.error == dns.rcode.BADTRUNC
    assert response_mac_ok(reply, "hmac-sha256", SECRET, mac)
    assert not msg.answer
    # Shorter than allowed: FORMERR, no TSIG.
    wire, _ = sign_request(plain_query(), key_name("hmac-sha256"), "hmac-sha256", SECRET,
                           now, maclen=12)
    reply = exchange(server.port, wire)
    m = dns.message.from_wire(reply)                # raises if it carried a TSIG
    assert m.rcode() == dns.rcode.FORMERR and not m.had_tsig


def test_tsig_not_last_is_formerr(server):
    wire, _ = sign_request(plain_query(), key_name("hmac-sha256"), "hmac-sha256", SECRET,
                           int(time.time()))
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"     # TSIG, then an OPT
    bad = wire[:10] + struct.pack("!H", 2) + wire[12:] + opt
    reply = exchange(server.port, bad)
    assert struct.unpack("!H", reply[2:4])[0] & 15 == dns.rcode.FORMERR


def test_generated_key_works_with_dig(server):
    ini_line, bind_clause = server.generated
    name, value = [x.strip() for x in ini_line.split("=", 1)]
    alg, secret = value.split(":", 1)
    assert alg == "hmac-sha256" and len(base64.b64decode(secret)) == 32
    assert bind_clause == 'key "%s" { algorithm hmac-sha256; secret "%s"; };' % (name,
                                                                                 secret)
    out = dig(server, "dig", "www.tsig.test.", "%s:%s:%s" % (alg, name, secret))
    assert "status: NOERROR" in out and "192.0.2.2" in out, out
    assert "Couldn't verify" not in out and "could not be validated" not in out, out
    with tempfile.NamedTemporaryFile("w", suffix=".key", delete=False) as f:
        f.write(bind_clause + "\n")
    try:
        p = subprocess.run(["dig", "@127.0.0.1", "-p", str(server.port), "-k", f.name,
                            "www.tsig.test.", "A"], capture_output=True, text=True,
                           timeout=15)
    finally:
        os.unlink(f.name)
    assert "status: NOERROR" in p.stdout and "192.0.2.2" in p.stdout, p.stdout + p.stderr
    assert "Couldn't verify" not in p.stdout + p.stderr, p.stdout + p.stderr


@pytest.mark.parametrize("alg", ["hmac-sha512", "hmac-md5", "hmac-sha1"])
def test_keygen_algorithms(alg):
    p = subprocess.run([CTL, "tsig-keygen", "--algorithm", alg, "k.example."],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    value = p.stdout.splitlines()[0].split("=", 1)[1].strip()
    assert value.startswith(alg + ":")
    assert len(base64.b64decode(value.split(":", 1)[1])) == hashlib.new(
        HASH[alg]).digest_size


def test_keygen_errors():
    for args in (["tsig-keygen"], ["tsig-keygen", "--algorithm", "hmac-sha3", "k"],
                 ["tsig-keygen", "a..b"]):
        p = subprocess.run([CTL] + args, capture_output=True, text=True, timeout=10)
        assert p.returncode != 0, args
        assert p.stderr, args


def test_metrics_count_results(server):
    before = server.metrics()
    wire, _ = sign_request(plain_query(), "nobody.", "hmac-sha256", SECRET, int(time.time()))
    exchange(server.port, wire)
    ring = dns.tsigkeyring.from_text({key_name("hmac-sha256"): SECRET})
    q = dns.message.make_query("www.tsig.test.", "A")
    q.use_tsig(ring, keyname=key_name("hmac-sha256"))
    dns.query.udp(q, "127.0.0.1", port=server.port, timeout=3)
    after = server.metrics()
    for result in ("ok", "badkey"):
        k = 'streamdns_authd_tsig_total{result="%s"}' % result
        assert after[k] >= before.get(k, 0) + 1, (k, before.get(k), after.get(k))


def check_config(text):
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([AUTHD, "-c", f.name, "--check-config"], capture_output=True,
                           text=True, timeout=10)
        return p.returncode, p.stderr.replace(f.name, "FILE")
    finally:
        os.unlink(f.name)


def test_bad_tsig_lines_fail_check_config():
    rc, err = check_config("[kafka]\nbrokers = 127.0.0.1:9092\n[tsig]\n"
                           "good = hmac-sha256:%s\n"        # 4
                           "bad-alg = hmac-sha3:%s\n"       # 5
                           "bad-b64 = hmac-sha256:***\n"    # 6
                           "empty = hmac-sha256:\n"         # 7
                           "no-alg = %s\n"                  # 8
                           "GOOD. = hmac-sha1:%s\n"         # 9
                           % (SECRET, SECRET, SECRET, SECRET))
    assert rc != 0
    assert "FILE:5: bad-alg: unknown algorithm 'hmac-sha3'" in err, err
    assert "FILE:6: bad-b64: " in err and "base64" in err, err
    assert "FILE:7: empty: empty secret" in err, err
    assert "FILE:8: no-alg: " in err, err
    assert "FILE:9: GOOD.: " in err and "twice" in err, err
    assert "FILE:4" not in err, err
    rc, err = check_config("[kafka]\nbrokers = 127.0.0.1:9092\n[tsig]\n"
                           "xfr-key = hmac-sha256:%s\n" % SECRET)
    assert rc == 0, err


def test_dnsr_has_no_keys_badkey():
    """dnsr knows no TSIG key: a signed query is NOTAUTH/BADKEY, not an unsigned answer
    its client could not verify (RFC 8945 5.2.1)."""
    import mini_internet as mi
    dnsr = mi.Dnsr(BUILD, None, resolver="mode = forward\nforwarders = 127.0.0.1:9\n")
    try:
        wire, _ = sign_request(plain_query("example.com."), key_name("hmac-sha256"),
                               "hmac-sha256", SECRET, int(time.time()))
        for tcp in (False, True):
            msg, _, rd, _ = split_tsig(exchange(dnsr.port, wire, tcp))
            assert msg.rcode() == dns.rcode.NOTAUTH and rd.error == dns.rcode.BADKEY
            assert rd.mac == b"" and not msg.answer
    finally:
        dnsr.stop()
