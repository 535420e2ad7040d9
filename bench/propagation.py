#!/usr/bin/python3
"""Event propagation: produce -> visible in an answer, at 1,000 events/s while dnsperf
loads authd at about half its maximum (issue 7).

Usage: bench/propagation.py [--samples N] [--qps Q] [--rate R]
A background producer (librdkafka through confluent_kafka) writes R events/s of churn; the
main thread takes N samples: produce one event, then query authd in a tight loop over UDP
until the new value is in the answer. Latency is from just before produce() to the first
answer showing it; the producer's acknowledgement is not waited for (a consumer may see the
event before the producer hears back), but its time is recorded too (delivery callback,
served between queries). p50/p90/p99 are printed.
"""
import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

import dns.message
from confluent_kafka import Producer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from streamdns import Authd, Broker, rr  # noqa: E402

ZONE = "prop.test."


def event(name, addr):
    return json.dumps([rr(name, "A", addr, 60)])


def churn(p, stop, rate):
    i = 0
    while not stop.is_set():
        t = time.time()
        for _ in range(rate // 100):
            name = "c%d.%s" % (i % 5000, ZONE)
            p.produce("streamdns.zones", key="%s|A" % name,
                      value=event(name, "10.1.%d.%d" % (i >> 8 & 255, i & 255)))
            i += 1
        p.poll(0)
        time.sleep(max(0, 0.01 - (time.time() - t)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--qps", type=int, default=40000)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--fetch-wait", type=int, default=1)
    a = ap.parse_args()
    broker = Broker(partitions=4)
    d = tempfile.mkdtemp()
    try:
        broker.produce([(ZONE + "|SOA", [rr(ZONE, "SOA", "ns.%s h.%s 1 3600 900 604800 60"
                                            % (ZONE, ZONE))])])
        # The mock cluster does not wake a held fetch when data arrives (a real broker
        # does): a 1 ms fetch wait measures authd, not the mock's fetch hold time.
        authd = Authd(broker.address, workers=2, sections="[kafka]\nfetch.wait.max.ms = %d\n"
                      % a.fetch_wait)
        authd.wait_ready()
        qfile = os.path.join(d, "q")
        with open(qfile, "w") as f:
            for i in range(1000):
                f.write("c%d.%s A\n" % (i, ZONE))
        perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(authd.port), "-d",
                                 qfile, "-l", "600", "-Q", str(a.qps), "-c", "4"],
                                stdout=subprocess.PIPE, text=True)
        prod = Producer({"bootstrap.servers": broker.address, "linger.ms": 0, "acks": 1})
        stop = threading.Event()
        t = threading.Thread(target=churn, args=(prod, stop, a.rate))
        t.start()
        time.sleep(1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(1)
        lat, acked = [], []
        sp = Producer({"bootstrap.servers": broker.address, "linger.ms": 0, "acks": 1})
        for i in range(a.samples):
            name = "s%d.%s" % (i % 50, ZONE)
            addr = "10.2.%d.%d" % (i >> 8 & 255, i & 255)
            want = socket.inet_aton(addr)
            q = dns.message.make_query(name, "A").to_wire()
            ack = []
            t0 = time.perf_counter()
            sp.produce("streamdns.zones", key="%s|A" % name, value=event(name, addr),
                       on_delivery=lambda err, msg: ack.append(time.perf_counter()))
            sp.poll(0)
            while True:
                sock.sendto(q, ("127.0.0.1", authd.port))
                resp = sock.recv(4096)
                if resp.endswith(want) and struct.unpack("!H", resp[6:8])[0] == 1:
                    break
                sp.poll(0)
            lat.append((time.perf_counter() - t0) * 1000)
            sp.flush(5)
            acked.append((ack[0] - t0) * 1000)
            time.sleep(0.002)
        stop.set()
        t.join()
        perf.terminate()
        out = perf.communicate()[0]
        lat.sort()
        q = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))]
        print("propagation ms over %d samples (churn %d events/s, dnsperf -Q %d): "
              "p50=%.2f p90=%.2f p99=%.2f max=%.2f" % (len(lat), a.rate, a.qps, q(0.5),
                                                      q(0.9), q(0.99), lat[-1]))
        acked.sort()
        print("  produce() to the producer's acknowledgement (not waited for): "
              "p50=%.2f p99=%.2f"
              % (acked[len(acked) // 2], acked[min(len(acked) - 1, int(len(acked) * 0.99))]))
        authd.stop()
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
