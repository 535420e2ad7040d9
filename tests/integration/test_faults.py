"""Faults: the broker goes away and comes back; authd is killed while writing a snapshot."""
import json
import os
import signal
import subprocess
import tempfile

import dns.rcode
import pytest

from streamdns import Authd, Broker, rr, rrset_events, wait_until
from zones import EXAMPLE


def metric(a, name):
    _, body = a.http("/metrics")
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(name)


def test_broker_down_keeps_answering_and_catches_up():
    broker = Broker(partitions=2)
    try:
        broker.produce(rrset_events(EXAMPLE))
        a = Authd(broker.address, sections="[kafka]\nsocket.timeout.ms = 2000\n"
                  "reconnect.backoff.max.ms = 500\n")
        try:
            a.wait_ready()
            a.wait_for("www.example.com.", "A", lambda r: r.answer)
            assert metric(a, "streamdns_authd_kafka_up") == 1
            broker.proc.send_signal(signal.SIGUSR1)          # every broker down
            wait_until(lambda: metric(a, "streamdns_authd_kafka_up") == 0,
                       "streamdns_authd_kafka_up to go to 0 with the broker down", 60,
                       log=a.read_log, proc=a.proc, interval=0.2)
            # Still answering from the state it has.
            for _ in range(20):
                assert a.query("www.example.com.", "A").answer
            broker.proc.send_signal(signal.SIGUSR2)          # back

            def produced():
                try:
                    broker.produce([("new.example.com.|A",
                                     [rr("new.example.com.", "A", "192.0.2.99")])])
                    return True
                except subprocess.SubprocessError:
                    return False
            wait_until(produced, "kcat to produce to the broker once it is back", 60,
                       log=broker.read_log, proc=broker.proc, interval=0.5)
            a.wait_for("new.example.com.", "A", lambda r: r.answer, timeout=60)
            wait_until(lambda: metric(a, "streamdns_authd_kafka_up") == 1,
                       "streamdns_authd_kafka_up back to 1", 30, log=a.read_log,
                       proc=a.proc, interval=0.2)
        finally:
            a.stop()
    finally:
        broker.stop()


def test_sigkill_during_snapshot_write():
    broker = Broker(partitions=2)
    d = tempfile.mkdtemp()
    snap = os.path.join(d, "s.snap")
    try:
        broker.produce(rrset_events(EXAMPLE))
        a = Authd(broker.address, sections="[store]\nsnapshot = %s\nsnapshot-interval = 1s\n"
                  % snap)
        a.wait_ready()
        a.stop()                                  # a good snapshot of EXAMPLE
        good = open(snap, "rb").read()
        broker.produce([("late.example.com.|A", [rr("late.example.com.", "A", "192.0.2.5")])])
        os.environ["STREAMDNS_FAULT_SNAPSHOT_PAUSE_MS"] = "5000"
        try:
            a.start()
        finally:
            del os.environ["STREAMDNS_FAULT_SNAPSHOT_PAUSE_MS"]

        def half_written():
            try:
                return os.path.getsize(snap + ".tmp") > 0
            except FileNotFoundError:
                return False
        # The writer flushes the first half, then pauses 5 s (the fault injection): a
        # non-empty temporary file means it is in that pause.
        wait_until(half_written, "the snapshot writer to flush half of %s.tmp" % snap, 30,
                   log=a.read_log, proc=a.proc)
        a.proc.kill()                             # SIGKILL in the middle of the write
        a.proc.wait()
        a.proc = None
        a.logf.close()
        assert open(snap, "rb").read() == good    # the old snapshot is untouched
        a.start()
        a.wait_ready()
        log = a.read_log()
        assert log.count("snapshot %s loaded" % snap) >= 2
        assert a.query("late.example.com.", "A").answer   # caught up past the snapshot
        assert a.query("www.example.com.", "A").answer
        a.stop()
    finally:
        broker.stop()
