"""Operating dnsr: admin HTTP (/health /ready /metrics, promtool), bearer token, statsd."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import dns.rcode
import pytest

import mini_internet as mi
from streamdns import BUILD


@pytest.fixture(scope="module")
def net():
    m = mi.MiniInternet()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def dnsr(net):
    d = mi.Dnsr(BUILD, net)
    yield d
    d.stop()


def metrics(d, token=None):
    """/metrics as {'name{labels}': value}."""
    status, body = d.http("/metrics", token=token)
    assert status == 200, body
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_health_and_ready(dnsr):
    assert dnsr.http("/health") == (200, "ok\n")
    assert dnsr.http("/ready") == (200, "ready\n")
    assert dnsr.http("/nope")[0] == 404
    assert dnsr.http("/metrics?x=1")[0] == 200      # the query string is not the path


def test_metrics_promtool_and_counters(net, dnsr):
    assert dnsr.query("www.alpha.test.").rcode() == dns.rcode.NOERROR
    assert dnsr.query("nope.alpha.test.", tcp=True).rcode() == dns.rcode.NXDOMAIN
    before = metrics(dnsr)
    assert dnsr.query("www.alpha.test.").rcode() == dns.rcode.NOERROR     # from the cache
    assert dnsr.query("www.beta.test.").rcode() == dns.rcode.NOERROR      # a resolution
    status, body = dnsr.http("/metrics")
    assert status == 200
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    after = metrics(dnsr)

    def grew(key):
        return after[key] > before.get(key, 0)

    assert grew("streamdns_dnsr_cache_hits_total")
    assert grew("streamdns_dnsr_upstream_queries_total")
    assert grew("streamdns_dnsr_resolution_duration_seconds_count")
    assert grew("streamdns_dnsr_upstream_rtt_seconds_count")
    assert grew('streamdns_dnsr_queries_total{transport="udp",rcode="NOERROR"}')
    assert after['streamdns_dnsr_queries_total{transport="tcp",rcode="NXDOMAIN"}'] >= 1
    assert after["streamdns_dnsr_cache_entries"] > 0 and after["streamdns_dnsr_cache_bytes"] > 0
    assert after["streamdns_dnsr_resident_memory_bytes"] > 1e6
    for name in ("cache_misses_total", "cache_evictions_total", "upstream_timeouts_total",
                 "upstream_errors_total", "socket_connections_total", "socket_queries_total",
                 "socket_malformed_total"):
        assert "streamdns_dnsr_" + name in after
    assert any(re.match(r'streamdns_dnsr_info\{version="[^"]+"\}$', k) for k in after)
    assert after['streamdns_dnsr_resolution_duration_seconds_bucket{le="+Inf"}'] == \
        after["streamdns_dnsr_resolution_duration_seconds_count"]


def test_token_and_statsd(net):
    d = tempfile.mkdtemp()
    token = os.path.join(d, "token")
    with open(token, "w") as f:
        f.write("s3cret-token\n")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    r = mi.Dnsr(BUILD, net, log="info", admin="token-file = %s\n" % token,
                metrics="statsd = 127.0.0.1:%d\nstatsd-interval = 200ms\n"
                % sock.getsockname()[1])
    try:
        assert r.http("/health")[0] == 401
        assert r.http("/metrics")[0] == 401
        assert r.http("/metrics", token="wrong")[0] == 401
        assert r.http("/metrics", token="s3cret-token")[0] == 200
        assert r.http("/ready", token="s3cret-token") == (200, "ready\n")
        r.query("www.alpha.test.")
        data, deadline = "", time.time() + 30
        while "streamdns_dnsr_upstream_queries_total" not in data and time.time() < deadline:
            dgram = sock.recv(65535).decode()      # statsd-interval is 200ms
            assert len(dgram) <= 1400 and dgram.endswith("\n")
            data += dgram
        assert "streamdns.dnsr.streamdns_dnsr_upstream_queries_total:" in data, \
            "no upstream counter in 30 s of statsd datagrams:\n" + data[-2000:]
        assert all(l.startswith("streamdns.dnsr.") for l in data.splitlines())
    finally:
        r.stop()
        sock.close()
        shutil.rmtree(d, ignore_errors=True)


def test_admin_off_and_bad_token_file(net):
    r = mi.Dnsr(BUILD, net, log="info", admin="listen = none\n")
    try:
        assert r.query("www.alpha.test.").rcode() == dns.rcode.NOERROR
    finally:
        r.stop()
    with pytest.raises(AssertionError, match="token-file /nonexistent/token"):
        mi.Dnsr(BUILD, net, log="info", admin="token-file = /nonexistent/token\n")
