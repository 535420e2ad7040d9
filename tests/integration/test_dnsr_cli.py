"""streamdns-dnsr's command line: --check-config (keys, combinations, root hints, trust
anchors), --version, --help; start-up refused when the trust anchors do not load."""
import os
import subprocess
import tempfile

import mini_internet as mi
from streamdns import BUILD, free_port

DNSR = os.path.join(BUILD, "streamdns-dnsr")
ETC = os.path.join(os.path.dirname(__file__), "..", "..", "etc")


def check(text, hints=". 3600000 NS A.ROOT.\nA.ROOT. 3600000 A 127.0.0.2\n", files=None,
          run_check=True):
    """--check-config of text; files: {name: content} written next to the INI file.
    Returns (status, stdout, stderr with the INI path as FILE and its directory as DIR)."""
    d = tempfile.mkdtemp(prefix="dnsr-cli-")
    path = os.path.join(d, "dnsr.ini")
    with open(path, "w") as f:
        f.write(text)
    if hints is not None:
        with open(os.path.join(d, "root.hints"), "w") as f:
            f.write(hints)
    for name, content in (files or {}).items():
        with open(os.path.join(d, name), "w") as f:
            f.write(content)
    argv = [DNSR, "-c", path] + (["--check-config"] if run_check else [])
    p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    return p.returncode, p.stdout, p.stderr.replace(path, "FILE").replace(d, "DIR")


def test_shipped_config_is_valid():
    p = subprocess.run([DNSR, "-c", os.path.join(ETC, "dnsr.ini"), "--check-config"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_defaults_are_valid_and_hints_are_next_to_the_file():
    rc, out, err = check("")
    assert rc == 0, err
    assert "valid" in out


def test_every_error_with_file_and_line():
    rc, _, err = check("[server]\n"
                       "listen = 127.0.0.1:53, nowhere\n"     # 2
                       "allow = 10.0.0.1/8\n"                 # 3
                       "workers = 0\n"                        # 4
                       "[resolver]\n"                         # 5
                       "mode = iterative\n"                   # 6
                       "forwarders = 192.0.2.1:99999\n"       # 7
                       "query-port = 0\n"                     # 8
                       "max-chain = 1000\n"                   # 9
                       "[cache]\n"                            # 10
                       "max-size = 1K\n"                      # 11
                       "bogus = 1\n"                          # 12
                       "[nosuch]\n")                          # 13
    assert rc == 1
    lines = err.strip().splitlines()
    for prefix in ("FILE:2: listen: ", "FILE:3: allow: ", "FILE:4: workers: ",
                   "FILE:6: mode: ", "FILE:7: forwarders: ", "FILE:8: query-port: ",
                   "FILE:9: max-chain: ", "FILE:11: max-size: ", "FILE:12: bogus: unknown key",
                   "FILE:13: unknown section [nosuch]"):
        assert any(l.startswith(prefix) for l in lines), (prefix, err)


def test_do_not_query_localhost():
    for v in ("yes", "no"):
        rc, _, err = check("[resolver]\ndo-not-query-localhost = %s\n" % v)
        assert rc == 0, err
    rc, _, err = check("[resolver]\ndo-not-query-localhost = maybe\n")
    assert rc == 1
    assert err.startswith("FILE:2: do-not-query-localhost: 'maybe' is not yes or no"), err
    p = subprocess.run([DNSR, "--help"], capture_output=True, text=True, timeout=10)
    assert "do-not-query-localhost" in p.stdout + p.stderr


def test_keys_together():
    rc, _, err = check("[resolver]\nmode = forward\n")
    assert rc == 1 and "FILE: forwarders: required with mode = forward" in err
    rc, _, err = check("[resolver]\nmode = forward\nforwarders = 192.0.2.53\n", hints=None)
    assert rc == 0, err          # no root hints needed to forward
    rc, _, err = check("[cache]\nmin-ttl = 600\nmax-ttl = 60\n")
    assert rc == 1 and "min-ttl: 600 is above max-ttl 60" in err


def test_root_hints_are_checked():
    rc, _, err = check("", hints=None)
    assert rc == 1 and "root-hints: " in err and "root.hints" in err
    rc, _, err = check("", hints=". 3600000 NS A.ROOT.\nA.ROOT. 3600000 A 1.2.3\n")
    assert rc == 1 and "root.hints:2: " in err
    rc, _, err = check("", hints="; empty\n")
    assert rc == 1 and "no root NS record with an address" in err


ROOT_DS = ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"


def test_trust_anchors_are_checked():
    """With validation on (the default) or permissive, every anchor file must load; each
    problem is shown with file:line, then what the key needs."""
    rc, _, err = check("[dnssec]\ntrust-anchor-file = good.ds, bad.key\n",
                       files={"good.ds": ROOT_DS,
                              "bad.key": "; line 1\n. IN DS 20326 8 2 E06D44B8\n"
                                         ". IN DS 20326 8 2 NOT-HEX\n"})
    assert rc == 1
    assert "DIR/bad.key:2: DS digest type 2 needs 32 octets of digest, not 4" in err, err
    assert "DIR/bad.key:3: " in err, err
    assert "good.ds" not in err, err
    assert "FILE: trust-anchor-file: the trust anchors do not load" in err, err
    rc, _, err = check("[dnssec]\nvalidation = permissive\ntrust-anchor-file = missing.key\n")
    assert rc == 1 and "DIR/missing.key: No such file or directory" in err, err
    rc, _, err = check("[dnssec]\ntrust-anchor-file = a.key\n",
                       files={"a.key": "$ORIGIN example.\n@ IN DNSKEY 257 3 13 AAAA\n"
                                       "www IN A 192.0.2.1\n@ IN DNSKEY 0 3 13 AAAA\n"})
    assert rc == 1
    assert "DIR/a.key:3: A record: only DS and DNSKEY records are trust anchors" in err, err
    assert "DIR/a.key:4: DNSKEY without the zone-key flag" in err, err
    rc, _, err = check("[dnssec]\ntrust-anchor-file = empty.key\n",
                       files={"empty.key": "; nothing\n"})
    assert rc == 1 and "DIR/empty.key: no trust anchor" in err, err
    rc, _, err = check("[dnssec]\ntrust-anchor-file =\n")
    assert rc == 1 and "FILE: trust-anchor-file: required with validation = yes" in err, err
    # A relative path is taken from the INI file's directory, subdirectories included.
    rc, _, err = check("[dnssec]\ntrust-anchor-file = root.ds, sub/other.key\n",
                       files={"root.ds": ROOT_DS})
    assert rc == 1 and "DIR/sub/other.key: No such file or directory" in err, err


def test_trust_anchors_valid_and_off():
    rc, out, err = check("[dnssec]\nvalidation = permissive\n"
                         "trust-anchor-file = root.ds, ca.key\n"
                         "domain-insecure = Corp.Example, lab.test.\n",
                         files={"root.ds": ROOT_DS,
                                "ca.key": "$ORIGIN corp.example.\n"
                                          "@ IN DNSKEY 257 3 13 AAAA ; comment\n"})
    assert rc == 0 and "valid" in out, err
    # validation = no: the files are not read at all.
    rc, out, err = check("[dnssec]\nvalidation = no\ntrust-anchor-file = missing.key\n")
    assert rc == 0, err


def test_dnssec_key_errors():
    rc, _, err = check("[dnssec]\n"
                       "validation = maybe\n"               # 2
                       "domain-insecure = ok.test, a..b\n"  # 3
                       "trust-anchor-file = %s\n"           # 4
                       % ", ".join("f%d" % i for i in range(17)))
    assert rc == 1
    assert "FILE:2: validation: 'maybe' is not yes, no or permissive" in err, err
    assert "FILE:3: domain-insecure: 'a..b': not a domain name" in err, err
    assert "FILE:4: trust-anchor-file: more than 16 files" in err, err


def test_start_refused_without_anchors():
    """Never a silent fallback to no validation: dnsr does not start."""
    rc, _, err = check("[server]\nlisten = 127.0.0.1:%d\n[admin]\nlisten = none\n"
                       "[dnssec]\ntrust-anchor-file = /nonexistent/root.key\n" % free_port(),
                       run_check=False)
    assert rc == 1
    assert "/nonexistent/root.key: No such file or directory" in err, err
    assert "trust-anchor-file: the trust anchors do not load" in err, err


def test_starts_with_validation_off_and_no_anchor_file():
    forward = "mode = forward\nforwarders = 127.0.0.1:9\n"
    d = mi.Dnsr(BUILD, resolver=forward,
                dnssec="validation = no\ntrust-anchor-file = /nonexistent/root.key\n")
    try:
        assert "DNSSEC validation off" in d.read_log()
    finally:
        d.stop()
    if not os.path.exists("/usr/share/dns/root.key"):
        return      # dns-root-data (scripts/deps.sh) provides the default
    d = mi.Dnsr(BUILD, resolver=forward,
                dnssec="validation = permissive\ndomain-insecure = lab.test\n")
    try:
        assert "DNSSEC validation permissive: 1 trust anchors from /usr/share/dns/root.key; " \
            "domain-insecure: lab.test" in d.read_log()
    finally:
        d.stop()


def test_version_and_help():
    p = subprocess.run([DNSR, "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("streamdns-dnsr ")
    p = subprocess.run([DNSR, "--help"], capture_output=True, text=True)
    assert p.returncode == 0
    for key in ("listen", "allow", "mode", "root-hints", "forwarders", "query-port",
                "max-queries", "max-size", "min-ttl", "max-ttl", "max-negative-ttl",
                "validation", "trust-anchor-file", "domain-insecure"):
        assert key in p.stdout
    p = subprocess.run([DNSR], capture_output=True, text=True)
    assert p.returncode == 1 and "usage" in p.stderr
