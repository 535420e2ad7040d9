"""streamdns-dnsr's command line: --check-config (keys, combinations, root hints), --version,
--help."""
import os
import subprocess
import tempfile

from streamdns import BUILD

DNSR = os.path.join(BUILD, "streamdns-dnsr")
ETC = os.path.join(os.path.dirname(__file__), "..", "..", "etc")


def check(text, hints=". 3600000 NS A.ROOT.\nA.ROOT. 3600000 A 127.0.0.2\n"):
    d = tempfile.mkdtemp(prefix="dnsr-cli-")
    path = os.path.join(d, "dnsr.ini")
    with open(path, "w") as f:
        f.write(text)
    if hints is not None:
        with open(os.path.join(d, "root.hints"), "w") as f:
            f.write(hints)
    p = subprocess.run([DNSR, "-c", path, "--check-config"], capture_output=True, text=True,
                       timeout=10)
    return p.returncode, p.stdout, p.stderr.replace(path, "FILE")


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


def test_version_and_help():
    p = subprocess.run([DNSR, "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("streamdns-dnsr ")
    p = subprocess.run([DNSR, "--help"], capture_output=True, text=True)
    assert p.returncode == 0
    for key in ("listen", "allow", "mode", "root-hints", "forwarders", "query-port",
                "max-queries", "max-size", "min-ttl", "max-ttl", "max-negative-ttl"):
        assert key in p.stdout
    p = subprocess.run([DNSR], capture_output=True, text=True)
    assert p.returncode == 1 and "usage" in p.stderr
