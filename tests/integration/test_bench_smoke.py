"""Short smokes of the benchmark tools (the real runs are `make bench`, never make test)."""
import json
import os
import re
import subprocess
import sys
import tempfile

from streamdns import BUILD

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import startup  # noqa: E402

APPLY = os.path.join(BUILD, "bench", "apply")


def test_apply_decodes_and_applies_every_event():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "events.tsv")
        startup.events_file(2000, path)
        p = subprocess.run([APPLY, path, "1"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    m = re.search(r"events=(\d+) decode=(\d+)/s decode\+apply=(\d+)/s", p.stdout)
    assert m, p.stdout
    assert int(m.group(1)) == 2000
    assert int(m.group(2)) > 0 and int(m.group(3)) > 0


def test_apply_stops_at_an_invalid_event():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "events.tsv")
        with open(path, "w") as f:
            f.write('a.test.|A\t[{"name":"a.test.","type":"A","content":"10.0.0.1","ttl":1}]\n')
            f.write('b.test.|A\t[{"name":"b.test.","type":"A","content":"10.0.0.300",'
                    '"ttl":1}]\n')
        p = subprocess.run([APPLY, path, "1"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "line 2" in p.stderr and "content" in p.stderr


def test_dnssec_bench_runs_and_checks_signing():
    """bench/dnssec.py end to end on a tiny zone: both servers sign, every part prints."""
    p = subprocess.run(["/usr/bin/python3",
                        os.path.join(os.path.dirname(__file__), "..", "..", "bench",
                                     "dnssec.py"),
                        "--names", "300", "--runs", "1", "--seconds", "1",
                        "--nx-queries", "20000", "--positive-queries", "3000"],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, STREAMDNS_BUILD=BUILD))
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    out = p.stdout
    assert "signing verified:" in out and "authd n1 A: no RRSIG" in out, out
    assert re.search(r"signatures made during the rounds: authd-signed=\[0\]", out), out
    assert re.search(r"ratio authd-signed/authd=\d", out), out
    assert re.search(r"ratio authd-signed/knotd=\d", out), out
    assert re.search(r"= [\d.]+ bytes/name", out), out


def test_validation_bench_runs_and_reports():
    """bench/validation.py end to end with tiny parameters: every part prints its figures
    (speed is not asserted: that is `make bench-validation`)."""
    with tempfile.TemporaryDirectory() as d:
        out_json = os.path.join(d, "v.json")
        p = subprocess.run(["/usr/bin/python3",
                            os.path.join(os.path.dirname(__file__), "..", "..", "bench",
                                         "validation.py"),
                            "--names", "400", "--rounds", "1", "--seconds", "1",
                            "--json", out_json],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, STREAMDNS_BUILD=BUILD))
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        out = p.stdout
        assert re.search(r"\| [\d-]+ \| 1 \| \d+ \| \d+ \| [\d.]+ \| \d+ \|", out), out
        assert re.search(r"\| \d+ \| \d+ \| [\d.]+x \| \d+ \|", out), out
        with open(out_json) as f:
            fig = json.load(f)
    assert set(fig["cold"]) == {"dnsr-val", "dnsr-off", "unbound"}
    assert all(fig["cold"][k]["median"] > 0 for k in fig["cold"])
    assert all(r["completed"] == 400 for k in fig["cold"] for r in fig["cold"][k]["runs"])
    assert fig["cache_hit_ratio"]["DO=0"] > 0 and fig["cache_hit_ratio"]["DO=1"] > 0


def test_update_bench_runs_and_checks():
    """bench/update.py end to end with tiny parameters: authd and knotd take every update,
    two instances keep every record added to one name, both latencies print."""
    with tempfile.TemporaryDirectory() as d:
        out_json = os.path.join(d, "update.json")
        p = subprocess.run(["/usr/bin/python3",
                            os.path.join(os.path.dirname(__file__), "..", "..", "bench",
                                         "update.py"),
                            "--updates", "40", "--runs", "1", "--clients", "1", "4",
                            "--contention-updates", "30", "--latency-updates", "10",
                            "--json", out_json],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, STREAMDNS_BUILD=BUILD))
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        with open(out_json) as f:
            res = json.load(f)
    out = p.stdout
    assert re.search(r"authd/knotd, C=4 +[\d.]+", out), out
    assert "every record on both instances" in out, out
    rnd = res["rounds"][0]
    for key in ("authd/1", "knotd/1", "authd/4", "knotd/4"):
        assert rnd["throughput"][key]["ok"] == 40, rnd["throughput"][key]
    assert rnd["contention"]["all_present_on_both"]
    assert rnd["latency"]["visible_b"]["n"] == 10
