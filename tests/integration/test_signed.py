"""Signed events: with require-signed, only events signed by a trusted Ed25519 key change DNS."""
import base64
import os
import struct
import subprocess
import tempfile

import dns.rcode
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from streamdns import Authd, Broker, rr, wait_until

TOPIC = "streamdns.zones"


def signed_message(topic, key, value):
    """The octets that are signed (common/sign.c): tag, then length-prefixed parts."""
    m = b"streamdns-event-v1\0" + struct.pack("<Q", len(topic)) + topic.encode()
    m += struct.pack("<Q", len(key)) + key.encode()
    m += bytes([value is not None]) + struct.pack("<Q", len(value or b"")) + (value or b"")
    return m


def pub_b64(sk):
    return base64.b64encode(sk.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def produce(broker, key, value, sk=None, sign_key=None, sign_value="same"):
    """One event with kcat; signed with sk (over sign_key/sign_value when given)."""
    import json
    raw = None if value is None else json.dumps(value).encode()
    cmd = ["kcat", "-P", "-b", broker.address, "-t", TOPIC, "-K", "\t", "-Z"]
    if sk is not None:
        sv = raw if sign_value == "same" else sign_value
        sig = sk.sign(signed_message(TOPIC, sign_key or key, sv))
        cmd += ["-H", "streamdns-sig=" + base64.b64encode(sig).decode(),
                "-H", "streamdns-key=" + pub_b64(sk)]
    line = key + "\t" + (raw.decode() if raw is not None else "")
    subprocess.run(cmd, input=line + "\n", text=True, check=True, timeout=30)


@pytest.fixture(scope="module")
def env():
    trusted, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    d = tempfile.mkdtemp()
    keys = os.path.join(d, "trusted-keys")
    with open(keys, "w") as f:
        f.write("# the zone producers\n%s ops-team\n" % pub_b64(trusted))
    broker = Broker(partitions=2)
    soa = [rr("sig.test.", "SOA", "ns.sig.test. h.sig.test. 1 3600 900 604800 60")]
    produce(broker, "sig.test.|SOA", soa, sk=trusted)
    a = Authd(broker.address, start=False)
    with open(a.conf, "a") as f:
        f.write("[kafka]\nrequire-signed = yes\ntrusted-keys = %s\n" % keys)
    a.start()
    a.wait_ready()
    a.wait_for("sig.test.", "SOA", lambda r: r.answer)
    yield broker, a, trusted, other
    a.stop()
    broker.stop()


def rejected(a, n):
    """Waits until authd has logged n signature rejections; returns how many it has."""
    wait_until(lambda: a.read_log().count("signature: ") >= n,
               "authd to log %d signature rejections" % n, 15, log=a.read_log, proc=a.proc)
    return a.read_log().count("signature: ")


def test_signed_event_is_served(env):
    broker, a, trusted, _ = env
    produce(broker, "www.sig.test.|A", [rr("www.sig.test.", "A", "192.0.2.1")], sk=trusted)
    a.wait_for("www.sig.test.", "A", lambda r: r.answer)


def test_unsigned_untrusted_and_moved_signatures_are_rejected(env):
    broker, a, trusted, other = env
    before = rejected(a, 0)
    produce(broker, "u.sig.test.|A", [rr("u.sig.test.", "A", "192.0.2.66")])
    produce(broker, "o.sig.test.|A", [rr("o.sig.test.", "A", "192.0.2.66")], sk=other)
    # A valid signature of another key, replayed onto this one.
    produce(broker, "m.sig.test.|A", [rr("m.sig.test.", "A", "192.0.2.66")], sk=trusted,
            sign_key="www.sig.test.|A")
    # A signed deletion reused to carry data.
    produce(broker, "d.sig.test.|A", [rr("d.sig.test.", "A", "192.0.2.66")], sk=trusted,
            sign_value=None)
    assert rejected(a, before + 4) >= before + 4
    log = a.read_log()
    assert "unsigned event" in log and "not in" in log and "bad signature" in log
    for n in ("u", "o", "m", "d"):
        assert a.query("%s.sig.test." % n, "A").rcode() == dns.rcode.NXDOMAIN
    status, body = a.http("/metrics")
    assert 'streamdns_authd_events_rejected_total{reason="signature"} 4' in body


def test_tombstones_need_a_signature_too(env):
    broker, a, trusted, _ = env
    produce(broker, "t.sig.test.|A", [rr("t.sig.test.", "A", "192.0.2.7")], sk=trusted)
    a.wait_for("t.sig.test.", "A", lambda r: r.answer)
    before = rejected(a, 0)
    produce(broker, "t.sig.test.|A", None)          # unsigned tombstone: ignored
    rejected(a, before + 1)
    assert a.query("t.sig.test.", "A").answer
    produce(broker, "t.sig.test.|A", None, sk=trusted)
    a.wait_for("t.sig.test.", "A", lambda r: r.rcode() == dns.rcode.NXDOMAIN)


def test_check_config_requires_trusted_keys(tmp_path):
    from streamdns import BUILD
    conf = tmp_path / "a.ini"
    conf.write_text("[kafka]\nrequire-signed = yes\n")
    p = subprocess.run([os.path.join(BUILD, "streamdns-authd"), "-c", str(conf),
                        "--check-config"], capture_output=True, text=True)
    assert p.returncode == 1 and "needs trusted-keys" in p.stderr
    bad = tmp_path / "keys"
    bad.write_text("not-base64!!\n")
    conf.write_text("[kafka]\nrequire-signed = yes\ntrusted-keys = %s\n" % bad)
    p = subprocess.run([os.path.join(BUILD, "streamdns-authd"), "-c", str(conf),
                        "--check-config"], capture_output=True, text=True)
    assert p.returncode == 1 and "keys:1: not an Ed25519 public key" in p.stderr


def test_ctl_keygen_and_sign_key_end_to_end(tmp_path):
    """ctl keygen + --sign-key: what ctl signs, authd with require-signed serves."""
    from streamdns import BUILD
    ctl = os.path.join(BUILD, "streamdns-ctl")
    key = str(tmp_path / "producer.key")
    p = subprocess.run([ctl, "keygen", key, "ci-producer"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    pub = open(key + ".pub").read().split()
    assert len(base64.b64decode(pub[0])) == 32 and pub[1] == "ci-producer"
    broker = Broker(partitions=2)
    try:
        a = Authd(broker.address, start=False)
        with open(a.conf, "a") as f:
            f.write("[kafka]\nrequire-signed = yes\ntrusted-keys = %s.pub\n" % key)
        base = [ctl, "-b", broker.address, "-t", TOPIC, "--timeout", "10s"]
        p = subprocess.run(base + ["--sign-key", key, "set", "ctl.test.", "SOA", "3600",
                                   "ns.ctl.test. h.ctl.test. 1 3600 900 604800 60"],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        subprocess.run(base + ["--sign-key", key, "set", "www.ctl.test.", "A", "300",
                               "192.0.2.80"], check=True, capture_output=True)
        subprocess.run(base + ["set", "bad.ctl.test.", "A", "300", "192.0.2.81"],
                       check=True, capture_output=True)        # unsigned
        a.start()
        a.wait_ready()
        a.wait_for("www.ctl.test.", "A", lambda r: r.answer)
        assert a.query("bad.ctl.test.", "A").rcode() == dns.rcode.NXDOMAIN
        assert "unsigned event" in a.read_log()
        subprocess.run(base + ["--sign-key", key, "delete", "www.ctl.test.", "A"], check=True,
                       capture_output=True)
        a.wait_for("www.ctl.test.", "A", lambda r: r.rcode() == dns.rcode.NXDOMAIN)
        a.stop()
    finally:
        broker.stop()
