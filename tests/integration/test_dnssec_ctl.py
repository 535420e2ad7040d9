"""streamdns-ctl dnssec against a real broker: secret, enable, ds, status, rollover, disable."""
import base64
import calendar
import hashlib
import json
import os
import re
import stat
import subprocess
import tempfile
import time

import dns.name
import pytest

from streamdns import BUILD, Broker

CTL = os.path.join(BUILD, "streamdns-ctl")
DELAY = 1  # [dnssec] propagation-delay, seconds

# parent.test. holds child.test. (its DS goes there); lone.test. has no parent on the topic.
# TTLs of 2-5 s, as a rollover test zone would have; MINIMUM 1 makes the negative TTL 1.
ZONES = """$ORIGIN parent.test.
@ 2 IN SOA ns hostmaster 1 3600 900 604800 1
@ 2 NS ns
ns 2 A 192.0.2.1
child 3 NS ns.child
ns.child 3 A 192.0.2.2
$ORIGIN child.parent.test.
@ 2 IN SOA ns hostmaster 1 3600 900 604800 1
@ 2 NS ns
ns 2 A 192.0.2.2
www 5 A 192.0.2.80
$ORIGIN lone.test.
@ 4 IN SOA ns hostmaster 1 3600 900 604800 300
@ 4 NS ns
ns 3 A 192.0.2.3
split 4 TXT "ZSK and KSK"
"""


@pytest.fixture(scope="module")
def env():
    d = tempfile.mkdtemp(prefix="dnssec-ctl-")
    broker = Broker(partitions=2)
    secret = os.path.join(d, "fleet.key")
    ini = os.path.join(d, "authd.ini")
    with open(ini, "w") as f:
        f.write("[kafka]\nbrokers = %s\ntopic = %s\n[dnssec]\nsecret-file = %s\n"
                "propagation-delay = %ds\n" % (broker.address, broker.topic, secret, DELAY))
    zf = os.path.join(d, "zones.zone")
    with open(zf, "w") as f:
        f.write(ZONES)
    p = run("dnssec", "secret", secret)
    assert p.returncode == 0, p.stderr
    p = run("-c", ini, "import", zf)
    assert p.returncode == 0, p.stderr
    yield broker, d, ini, secret
    broker.stop()


def run(*args, timeout=60):
    return subprocess.run([CTL, *args], capture_output=True, text=True, timeout=timeout)


def ctl(env, *args, ok=True):
    broker, d, ini, secret = env
    p = run("-c", ini, *args)
    if ok:
        assert p.returncode == 0, "ctl %s: rc %d\n%s%s" % (args, p.returncode, p.stdout,
                                                            p.stderr)
    else:
        assert p.returncode != 0, "ctl %s succeeded:\n%s" % (args, p.stdout)
    return p


def events(broker):
    """{key: value} as the topic holds it now (latest wins), read by kcat."""
    p = subprocess.run(["kcat", "-C", "-b", broker.address, "-t", broker.topic,
                        "-o", "beginning", "-e", "-q", "-Z", "-f", "%k\t%S\t%s\n"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.split("\n"):
        if not line:
            continue
        key, size, value = line.split("\t", 2)
        out[key] = None if size == "-1" else value
    return out


def count_events(broker):
    p = subprocess.run(["kcat", "-C", "-b", broker.address, "-t", broker.topic,
                        "-o", "beginning", "-e", "-q", "-f", "x\n"],
                       capture_output=True, text=True, timeout=30)
    return p.stdout.count("x")


def keyset(broker, zone):
    return json.loads(events(broker)["%s|DNSSEC" % zone])


def ts(text):
    return None if text is None else calendar.timegm(time.strptime(text,
                                                                   "%Y-%m-%dT%H:%M:%SZ"))


def ds_of(zone, key):
    """DS digest type 2 of a key-set member, computed here from the event (RFC 4509)."""
    flags = 256 if key["role"] == "zsk" else 257
    rdata = (flags.to_bytes(2, "big") + bytes([3, key["algorithm"]]) +
             base64.b64decode(key["public"]))
    owner = dns.name.from_text(zone).to_wire()
    return "%d %d 2 %s" % (key["tag"], key["algorithm"],
                           hashlib.sha256(owner + rdata).hexdigest().upper())


def ds_lines(out):
    return sorted(re.sub(r"\s+", " ", l.split("\tDS\t")[1]).strip()
                  for l in out.splitlines() if "\tDS\t" in l and not l.startswith(";"))


def test_secret_file(env):
    broker, d, ini, secret = env
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    with open(secret) as f:
        assert len(base64.b64decode(f.read().strip())) == 32
    p = run("dnssec", "secret", secret)
    assert p.returncode == 1 and "not overwritten" in p.stderr


def test_enable_csk_with_parent_on_topic(env):
    broker = env[0]
    p = ctl(env, "dnssec", "enable", "child.parent.test.")
    ks = keyset(broker, "child.parent.test.")
    assert ks["zone"] == "child.parent.test."
    [k] = ks["keys"]
    assert (k["algorithm"], k["role"]) == (15, "csk")
    assert k["publish"] == k["active"] and k["retire"] is None and k["remove"] is None
    assert abs(ts(k["active"]) - time.time()) < 30
    assert len(base64.b64decode(k["private"])) == 24 + 32 + 16  # nonce, seed, tag
    want = ds_of("child.parent.test.", k)
    assert ds_lines(p.stdout) == [want]
    # The DS RRset is in the parent, as an ordinary RRset event, TTL the parent's SOA's.
    [ds] = json.loads(events(broker)["child.parent.test.|DS"])
    assert ds["ttl"] == 2 and ds["content"].upper() == want.upper()
    assert "wrote the DS RRset in parent.test." in p.stdout
    # Once only.
    p = ctl(env, "dnssec", "enable", "child.parent.test.", ok=False)
    assert "signed already" in p.stderr
    # Neither dump nor status takes the key set for records; dump puts the DS in the parent.
    dump = ctl(env, "dump", "parent.test.").stdout
    assert "child.parent.test.\t2\tIN\tDS\t" in dump
    assert "\tDS\t" not in ctl(env, "dump", "child.parent.test.").stdout
    st = ctl(env, "status").stdout
    assert "0 rejected" in st and "DNSSEC key sets: 1" in st


def test_enable_split_ecdsa_without_parent(env):
    broker = env[0]
    p = ctl(env, "dnssec", "enable", "lone.test", "--split", "--algorithm",
            "ecdsap256sha256")
    keys = keyset(broker, "lone.test.")["keys"]
    assert sorted((k["role"], k["algorithm"]) for k in keys) == [("ksk", 13), ("zsk", 13)]
    ksk = [k for k in keys if k["role"] == "ksk"][0]
    assert ds_lines(p.stdout) == [ds_of("lone.test.", ksk)]
    assert "parent zone is not on the topic" in p.stdout
    assert "lone.test.|DS" not in events(broker)


def test_ds_and_status(env):
    p = ctl(env, "dnssec", "ds", "lone.test.")
    assert len(ds_lines(p.stdout)) == 1
    p = ctl(env, "dnssec", "status")
    assert "zone child.parent.test.: 1 key(s)" in p.stdout
    assert "zone lone.test.: 2 key(s)" in p.stdout
    assert re.search(r"key +\d+ ECDSAP256SHA256 zsk: active", p.stdout)
    p = ctl(env, "dnssec", "status", "parent.test.")
    assert "no key set (unsigned)" in p.stdout


def test_watch_shows_key_sets(env):
    p = ctl(env, "watch", "--from-beginning", "--count", str(count_events(env[0])))
    assert "child.parent.test.|DNSSEC key set of child.parent.test.: 1 keys" in p.stdout
    assert "rejected" not in p.stdout


def test_zsk_rollover_timeline(env):
    broker = env[0]
    before = {k["tag"]: k for k in keyset(broker, "lone.test.")["keys"]}
    t0 = int(time.time())
    p = ctl(env, "dnssec", "rollover", "lone.test.", "--zsk")
    t1 = int(time.time())
    keys = {k["tag"]: k for k in keyset(broker, "lone.test.")["keys"]}
    [new] = [k for t, k in keys.items() if t not in before]
    old = [k for k in keys.values() if k["role"] == "zsk" and k is not new][0]
    dnskey_ttl, max_ttl = 4, 4   # lone.test.: SOA TTL 4, largest TTL 4, negative min(4, 300)
    now = ts(new["publish"])
    assert t0 <= now <= t1
    # One second more: publish is now rounded down (see rollover_times in ctl_dnssec.c).
    assert ts(new["active"]) == now + 1 + dnskey_ttl + DELAY
    assert ts(old["retire"]) == ts(new["active"])
    assert ts(old["remove"]) == ts(old["retire"]) + max_ttl + DELAY
    assert new["algorithm"] == 13 and new["retire"] is None
    # The KSK is untouched, and no DS changes for a ZSK roll.
    ksk = [k for k in keys.values() if k["role"] == "ksk"][0]
    assert ksk == [k for k in before.values() if k["role"] == "ksk"][0]
    assert "\tDS\t" not in p.stdout
    p = ctl(env, "dnssec", "rollover", "lone.test.", "--zsk", ok=False)
    assert "rollover of lone.test. is in progress" in p.stderr
    p = ctl(env, "dnssec", "rollover", "lone.test.", "--csk", ok=False)
    assert "no csk in use" in p.stderr


def test_csk_rollover_double_ds(env):
    broker = env[0]
    [old0] = keyset(broker, "child.parent.test.")["keys"]
    p = ctl(env, "dnssec", "rollover", "child.parent.test.", "--csk")
    keys = keyset(broker, "child.parent.test.")["keys"]
    old = [k for k in keys if k["tag"] == old0["tag"]][0]
    [new] = [k for k in keys if k["tag"] != old0["tag"]]
    # child: SOA (DNSKEY) TTL 2, largest TTL 5 (www); DS TTL = parent's SOA TTL 2.
    now = ts(new["publish"])
    assert ts(new["active"]) == now + 1 + max(2, 2) + DELAY
    assert ts(old["retire"]) == ts(new["active"])
    assert ts(old["remove"]) == ts(old["retire"]) + max(5, 2) + DELAY
    want = sorted([ds_of("child.parent.test.", old), ds_of("child.parent.test.", new)])
    assert ds_lines(p.stdout) == want
    assert ds_lines(ctl(env, "dnssec", "ds", "child.parent.test.").stdout) == want
    parent_ds = json.loads(events(broker)["child.parent.test.|DS"])
    assert len(parent_ds) == 2
    # Once the old key has retired, the parent should hold the new DS only.
    time.sleep(max(0, ts(old["retire"]) - time.time()) + 1)
    assert ds_lines(ctl(env, "dnssec", "ds", "child.parent.test.").stdout) == \
        [ds_of("child.parent.test.", new)]
    st = ctl(env, "dnssec", "status", "child.parent.test.").stdout
    assert re.search(r"key +%d ED25519 csk: retired" % old["tag"], st)
    assert re.search(r"next: key %d is removed at" % old["tag"], st)


def test_disable(env):
    broker = env[0]
    t0 = int(time.time())
    p = ctl(env, "dnssec", "disable", "child.parent.test.")
    keys = keyset(broker, "child.parent.test.")["keys"]
    live = [k for k in keys if ts(k["retire"]) is None or ts(k["retire"]) > t0]
    assert live
    for k in live:
        # DS TTL (the parent's SOA TTL, 2) plus the delay, then gone together.
        assert t0 + 2 + DELAY <= ts(k["retire"]) <= int(time.time()) + 2 + DELAY
        assert k["remove"] == k["retire"]
    assert events(broker)["child.parent.test.|DS"] is None   # a tombstone in the parent
    assert "deleted the DS RRset in parent.test." in p.stdout
    p = ctl(env, "dnssec", "disable", "child.parent.test.", ok=False)
    assert "being disabled already" in p.stderr


def test_import_prune_keeps_key_sets(env):
    broker, d, ini, secret = env
    zf = os.path.join(d, "lone.zone")
    with open(zf, "w") as f:
        f.write(ZONES[ZONES.index("$ORIGIN lone.test."):])
    ctl(env, "import", "--prune", zf)
    assert events(broker)["lone.test.|DNSSEC"] is not None


def test_errors(env):
    broker, d, ini, secret = env
    assert "no zone nowhere.test." in ctl(env, "dnssec", "enable", "nowhere.test.",
                                          ok=False).stderr
    assert "unknown algorithm 'rsasha256'" in ctl(env, "dnssec", "enable", "parent.test.",
                                                  "--algorithm", "rsasha256",
                                                  ok=False).stderr
    assert "--zsk does not apply" in ctl(env, "dnssec", "enable", "parent.test.", "--zsk",
                                         ok=False).stderr
    assert "give one of --zsk --ksk --csk" in ctl(env, "dnssec", "rollover",
                                                    "lone.test.", ok=False).stderr
    assert "unknown subcommand 'frob'" in ctl(env, "dnssec", "frob", ok=False).stderr
    assert "not signed" in ctl(env, "dnssec", "disable", "parent.test.", ok=False).stderr
    # Commands that make keys need the fleet secret from the -c file.
    p = run("-b", broker.address, "-t", broker.topic, "dnssec", "enable", "parent.test.")
    assert p.returncode == 2 and "[dnssec] secret-file" in p.stderr
    # A secret others can read is refused, as ssh refuses such keys.
    os.chmod(secret, 0o644)
    try:
        p = ctl(env, "dnssec", "enable", "parent.test.", ok=False)
        assert "chmod 600" in p.stderr
    finally:
        os.chmod(secret, 0o600)
    # Another fleet secret does not open the zone's keys: no key is added under it.
    other = os.path.join(d, "other.key")
    assert run("dnssec", "secret", other).returncode == 0
    ini2 = os.path.join(d, "other.ini")
    with open(ini) as f, open(ini2, "w") as g:
        g.write(f.read().replace(secret, other))
    p = run("-c", ini2, "dnssec", "rollover", "lone.test.", "--ksk")
    assert p.returncode == 1 and "does not open with this secret" in p.stderr
