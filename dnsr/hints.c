/* hints.c: the root hints file (named.root, parsed by libzscanner) and the forwarder list. */
#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>

#include "dnsr/hints.h"
#include "common/conf.h"
#include "common/net.h"
#include "common/wire.h"

static struct hints_ns *
find_ns(struct hints *h, const uint8_t *name)
{
	for (size_t i = 0; i < h->nns; i++)
		if (dname_equal(h->ns[i].name, name))
			return &h->ns[i];
	return NULL;
}

/* Each root NS name gets an entry (in file order), addresses are attached later. */
static void
add_ns(struct hints *h, const uint8_t *rdata, size_t rdlen)
{
	if (h->nns == HINTS_MAX_SERVERS || rdlen == 0 || dname_len(rdata) != rdlen ||
	    find_ns(h, rdata) != NULL)
		return;
	memcpy(h->ns[h->nns].name, rdata, rdlen);
	dname_lower(h->ns[h->nns].name);
	h->ns[h->nns].naddr = 0;
	h->nns++;
}

/* Addresses seen before their NS record are kept in a second pass. */
static void
add_addr(struct hints *h, const uint8_t *owner, uint16_t type, const uint8_t *rdata,
    size_t rdlen, int port)
{
	struct hints_ns *ns = find_ns(h, owner);
	struct sockaddr_storage ss;

	if (ns == NULL || ns->naddr == HINTS_MAX_ADDRS)
		return;
	memset(&ss, 0, sizeof(ss));
	if (type == DNS_TYPE_A && rdlen == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, rdata, 4);
	} else if (type == DNS_TYPE_AAAA && rdlen == 16) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, rdata, 16);
	} else {
		return;
	}
	ns->addr[ns->naddr++] = ss;
}

/* One pass over the file; want_ns selects the NS pass or the address pass. */
static int
scan(struct hints *h, const char *path, int port, bool want_ns, char *err, size_t errlen)
{
	zs_scanner_t s;
	int rc = 0;

	if (zs_init(&s, ".", KNOT_CLASS_IN, 3600) != 0 || zs_set_input_file(&s, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, zs_strerror(s.error.code));
		zs_deinit(&s);
		return -1;
	}
	while (zs_parse_record(&s) == 0 && s.state == ZS_STATE_DATA) {
		if (want_ns && s.r_type == DNS_TYPE_NS && s.r_owner[0] == 0)
			add_ns(h, s.r_data, s.r_data_length);
		else if (!want_ns && (s.r_type == DNS_TYPE_A || s.r_type == DNS_TYPE_AAAA))
			add_addr(h, s.r_owner, s.r_type, s.r_data, s.r_data_length, port);
	}
	if (s.state == ZS_STATE_ERROR) {
		snprintf(err, errlen, "%s:%llu: %s", path, (unsigned long long)s.line_counter,
		    zs_strerror(s.error.code));
		rc = -1;
	}
	zs_deinit(&s);
	return rc;
}

/* Drops NS names without an address (out-of-date hints): they cannot be asked. */
static void
compact(struct hints *h)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nns; i++)
		if (h->ns[i].naddr > 0)
			h->ns[n++] = h->ns[i];
	h->nns = n;
}

int
hints_load(struct hints *h, const char *path, int port, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (scan(h, path, port, true, err, errlen) != 0 ||
	    scan(h, path, port, false, err, errlen) != 0)
		return -1;
	compact(h);
	if (h->nns == 0) {
		snprintf(err, errlen, "%s: no root NS record with an address", path);
		return -1;
	}
	return 0;
}

/* One forwarder: a nameless server with one address, port 53 if left out. */
static int
add_forwarder(void *arg, const char *item, char *err, size_t errlen)
{
	struct hints *h = arg;
	struct hints_ns *ns;
	size_t sslen;

	assert(h->nns < HINTS_MAX_SERVERS);	/* conf_list_each() visits at most that many */
	ns = &h->ns[h->nns];
	if (conf_parse_sockaddr(item, 53, &ns->addr[0], &sslen, err, errlen) != 0)
		return -1;
	ns->name[0] = 0;
	ns->naddr = 1;
	h->nns++;
	return 0;
}

int
hints_forwarders(struct hints *h, const char *list, char *err, size_t errlen)
{
	long n;

	memset(h, 0, sizeof(*h));
	n = conf_list_each(list, HINTS_MAX_SERVERS, add_forwarder, h, err, errlen);
	if (n == 0 || n > HINTS_MAX_SERVERS) {
		snprintf(err, errlen, "between 1 and %d forwarders needed", HINTS_MAX_SERVERS);
		return -1;
	}
	return n < 0 ? -1 : 0;
}

bool
hints_on_loopback(const struct hints *h)
{
	for (size_t i = 0; i < h->nns; i++)
		for (size_t j = 0; j < h->ns[i].naddr; j++)
			if (net_addr_kind((const struct sockaddr *)&h->ns[i].addr[j]) ==
			    NET_ADDR_LOOPBACK)
				return true;
	return false;
}
