"""streamdns-authd's command line: --check-config, --version, --help."""
import os
import subprocess
import tempfile

from streamdns import BUILD

AUTHD = os.path.join(BUILD, "streamdns-authd")


def check(text):
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([AUTHD, "-c", f.name, "--check-config"], capture_output=True,
                           text=True, timeout=10)
        return p.returncode, p.stdout, p.stderr.replace(f.name, "FILE")
    finally:
        os.unlink(f.name)


def test_valid_config():
    rc, out, err = check("[server]\nlisten = 127.0.0.1:5300, [::1]:5300\nworkers = 4\n"
                         "[kafka]\nbrokers = k1:9092\ntopic = z\n"
                         "socket.timeout.ms = 1000\n[log]\nlevel = debug\n")
    assert rc == 0, err
    assert "valid" in out


def test_shipped_config_is_valid():
    etc = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "authd.ini")
    p = subprocess.run([AUTHD, "-c", etc, "--check-config"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_every_error_with_file_and_line():
    rc, _, err = check("[server]\n"
                       "listen = 300.1.1.1:53\n"        # 2
                       "workers = 0\n"                  # 3
                       "bogus = 1\n"                    # 4
                       "udp-payload-size = lots\n"      # 5
                       "[nosuch]\n"                     # 6
                       "[kafka]\n"                      # 7
                       "no.such.property = 1\n"         # 8
                       "[server]\n"                     # 9
                       "workers = 2\n"                  # 10
                       "tcp-idle-timeout = 5 parsecs\n")  # 11
    assert rc == 1
    lines = err.strip().splitlines()
    assert any(l.startswith("FILE:2: listen: ") for l in lines), err
    assert any(l.startswith("FILE:3: workers: ") and "range" in l for l in lines), err
    assert any(l.startswith("FILE:4: bogus: unknown key") for l in lines), err
    assert any(l.startswith("FILE:5: udp-payload-size: ") for l in lines), err
    assert any(l.startswith("FILE:6: unknown section [nosuch]") for l in lines), err
    assert any(l.startswith("FILE:8: no.such.property: ") and "No such configuration"
               in l for l in lines), err
    assert any(l.startswith("FILE:11: tcp-idle-timeout: ") for l in lines), err


def test_syntax_error_and_missing_file():
    rc, _, err = check("[server]\nthis line has no equals sign\n")
    assert rc == 1 and "FILE:2: syntax error" in err
    p = subprocess.run([AUTHD, "-c", "/nonexistent/authd.ini", "--check-config"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "No such file" in p.stderr


def test_version_and_help():
    p = subprocess.run([AUTHD, "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("streamdns-authd ")
    p = subprocess.run([AUTHD, "--help"], capture_output=True, text=True)
    assert p.returncode == 0
    for key in ("listen", "workers", "udp-payload-size", "brokers", "topic"):
        assert key in p.stdout
    p = subprocess.run([AUTHD], capture_output=True, text=True)
    assert p.returncode == 1 and "usage" in p.stderr
