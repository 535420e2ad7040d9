"""zones.py: the test zone with every case the answer logic must handle, as records."""

BIG_TXT = ["%02d-%s" % (i, "x" * 90) for i in range(30)]

# (owner, type, content[, ttl]); grouped into whole-RRset events by rrset_events().
EXAMPLE = [
    ("example.com.", "SOA", "ns1.example.com. hostmaster.example.com. 2024010101 3600 900 604800 300", 3600),
    ("example.com.", "NS", "ns1.example.com."),
    ("example.com.", "NS", "ns2.example.com."),
    ("example.com.", "MX", "10 mail.example.com."),
    ("example.com.", "MX", "20 mx.elsewhere.org."),
    ("example.com.", "TXT", '"v=spf1 -all"'),
    ("ns1.example.com.", "A", "192.0.2.1"),
    ("ns2.example.com.", "A", "192.0.2.2"),
    ("ns2.example.com.", "AAAA", "2001:db8::2"),
    ("www.example.com.", "A", "192.0.2.10"),
    ("www.example.com.", "A", "192.0.2.11"),
    ("www.example.com.", "AAAA", "2001:db8::10"),
    ("mail.example.com.", "A", "192.0.2.25"),
    ("_sip._tcp.example.com.", "SRV", "10 5 5060 sip.example.com."),
    ("sip.example.com.", "A", "192.0.2.60"),
    ("alias.example.com.", "CNAME", "www.example.com."),
    ("chain1.example.com.", "CNAME", "chain2.example.com."),
    ("chain2.example.com.", "CNAME", "www.example.com."),
    ("loop1.example.com.", "CNAME", "loop2.example.com."),
    ("loop2.example.com.", "CNAME", "loop1.example.com."),
    ("dangling.example.com.", "CNAME", "nothere.example.com."),
    ("ext.example.com.", "CNAME", "www.outside.test."),
    ("*.wild.example.com.", "A", "192.0.2.50"),
    ("*.wild.example.com.", "TXT", '"wildcard"'),
    ("*.wcname.example.com.", "CNAME", "www.example.com."),
    ("a.b.ent.example.com.", "A", "192.0.2.70"),
    ("sub.example.com.", "NS", "ns.sub.example.com."),
    ("sub.example.com.", "NS", "ns.elsewhere.org."),
    ("sub.example.com.", "DS", "12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"),
    ("ns.sub.example.com.", "A", "192.0.2.53"),
    ("dn.example.com.", "DNAME", "example.net."),
    ("big.example.com.", "TXT", " ".join('"%s"' % t for t in BIG_TXT[:1])),
    ("caa.example.com.", "CAA", '0 issue "letsencrypt.org"'),
    ("naptr.example.com.", "NAPTR", '100 10 "S" "SIP+D2U" "" _sip._udp.example.com.'),
    ("sshfp.example.com.", "SSHFP", "1 1 0123456789abcdef0123456789abcdef01234567"),
    ("_443._tcp.example.com.", "TLSA", "3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"),
    ("svc.example.com.", "SVCB", "1 svc2.example.com. alpn=h2,h3 port=8443"),
    ("example.com.", "HTTPS", "1 . alpn=h2"),
    ("example.com.", "DNSKEY", "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="),
    ("10.2.0.192.in-addr.arpa.", "PTR", "www.example.com."),
    ("opaque.example.com.", "TYPE65280", r"\# 4 0A000001"),
]
# More TXT records than fit in 512 octets: TC over plain UDP, all over TCP.
EXAMPLE += [("big.example.com.", "TXT", '"%s"' % t) for t in BIG_TXT[1:]]

EXAMPLE_NET = [
    ("example.net.", "SOA", "ns1.example.net. hostmaster.example.net. 7 3600 900 604800 600", 300),
    ("example.net.", "NS", "ns1.example.com."),
    ("www.example.net.", "A", "198.51.100.80"),
]


def zone_file(origin, records):
    """The same records as an RFC 1035 master file (for the reference servers)."""
    lines = ["$ORIGIN %s" % origin]
    for r in records:
        ttl = r[3] if len(r) > 3 else 300
        lines.append("%s %d IN %s %s" % (r[0], ttl, r[1], r[2]))
    return "\n".join(lines) + "\n"


# An empty non-terminal below a wildcard's parent (ent.wild.example.com): it blocks the
# wildcard *.wild.example.com for itself and for the names below it (RFC 4592 2.2.2 and
# 4.1). Served in addition to EXAMPLE by the differential test against Knot DNS.
WILDCARD_ENT = [
    ("host.ent.wild.example.com.", "A", "192.0.2.51"),
]
