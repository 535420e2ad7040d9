/* hints.h: where iteration starts: the root servers of a hints file, or the forwarders. */
#ifndef STREAMDNS_HINTS_H
#define STREAMDNS_HINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/dname.h"

#define HINTS_MAX_SERVERS	32	/* NS names (or forwarders) */
#define HINTS_MAX_ADDRS		4	/* addresses per name */

struct hints_ns {
	uint8_t			name[DNAME_MAXLEN];	/* "." for a forwarder */
	size_t			naddr;
	struct sockaddr_storage	addr[HINTS_MAX_ADDRS];
};

struct hints {
	size_t		nns;
	struct hints_ns	ns[HINTS_MAX_SERVERS];
};

/*
 * Reads a root hints file in the IANA named.root format (zone file syntax, parsed by
 * libzscanner): the NS RRset of the root and A/AAAA records of those names. Addresses get
 * port. Records of other owners and types are ignored; a root NS whose name has no address
 * is skipped. Returns 0, or -1 with a reason (file:line for syntax errors) when the file
 * cannot be read or gives no usable server.
 */
int hints_load(struct hints *h, const char *path, int port, char *err, size_t errlen);

/* The forwarders (ADDR[:PORT], ..., port 53 by default), each an entry named ".". */
int hints_forwarders(struct hints *h, const char *list, char *err, size_t errlen);

/* True when any address of h is a loopback address (net_addr_kind()). */
bool hints_on_loopback(const struct hints *h);

#endif
