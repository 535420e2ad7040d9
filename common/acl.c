/* acl.c: CIDR network lists: parsing and matching client addresses. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/acl.h"
#include "common/conf.h"

/* True when the bits of addr beyond prefix are all zero. */
static bool
host_bits_clear(const uint8_t *addr, int bits, int prefix)
{
	for (int i = prefix; i < bits; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static int
parse_net(const char *item, struct acl_net *net, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(item, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - item) : strlen(item);
	int bits;
	long prefix;

	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "'%s': bad address", item);
		return -1;
	}
	memcpy(host, item, hlen);
	host[hlen] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, host, net->addr) == 1) {
		net->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, host, net->addr) == 1) {
		net->family = AF_INET6;
		bits = 128;
	} else {
		snprintf(err, errlen, "'%s': not an IPv4 or IPv6 address", host);
		return -1;
	}
	prefix = bits;
	if (slash != NULL) {
		char *end;

		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || errno != 0 || prefix < 0 ||
		    prefix > bits) {
			snprintf(err, errlen, "'%s': bad prefix length", item);
			return -1;
		}
	}
	if (!host_bits_clear(net->addr, bits, (int)prefix)) {
		snprintf(err, errlen, "'%s': host bits set below the /%ld prefix", item, prefix);
		return -1;
	}
	net->prefix = (uint8_t)prefix;
	return 0;
}

static int
add_net(void *arg, const char *item, char *err, size_t errlen)
{
	struct acl *acl = arg;

	assert(acl->n < ACL_MAX);	/* conf_list_each() visits at most ACL_MAX items */
	if (parse_net(item, &acl->net[acl->n], err, errlen) != 0)
		return -1;
	acl->n++;
	return 0;
}

int
acl_parse(const char *list, struct acl *acl, char *err, size_t errlen)
{
	long n;

	acl->n = 0;
	n = conf_list_each(list, ACL_MAX, add_net, acl, err, errlen);
	if (n > ACL_MAX) {
		snprintf(err, errlen, "more than %d networks", ACL_MAX);
		return -1;
	}
	return n < 0 ? -1 : 0;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *net, int prefix)
{
	int full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
acl_match(const struct acl *acl, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *addr;
	int family = sa->sa_family;

	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			family = AF_INET;
			addr += 12;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < acl->n; i++)
		if (acl->net[i].family == family &&
		    prefix_match(addr, acl->net[i].addr, acl->net[i].prefix))
			return true;
	return false;
}

int
acl_check_list(const char *value, char *err, size_t errlen)
{
	struct acl acl;

	return acl_parse(value, &acl, err, errlen);
}
