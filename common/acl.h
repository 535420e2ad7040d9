/* acl.h: lists of networks in CIDR notation, to decide who may use a service. */
#ifndef STREAMDNS_ACL_H
#define STREAMDNS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ACL_MAX	64

struct acl_net {
	int	family;		/* AF_INET or AF_INET6 */
	uint8_t	addr[16];	/* network order, host bits cleared */
	uint8_t	prefix;		/* 0..32 or 0..128 */
};

struct acl {
	size_t		n;
	struct acl_net	net[ACL_MAX];
};

/*
 * Parses a comma-separated list of "ADDR" or "ADDR/PREFIX" (IPv4 or IPv6) into acl. An
 * empty list is valid and matches nobody. Host bits set below the prefix are an error
 * ("10.0.0.1/8" is most likely a typo for a host or a network). Returns 0, or -1 with a
 * reason in err.
 */
int acl_parse(const char *list, struct acl *acl, char *err, size_t errlen);

/*
 * True when sa's address lies in one of the networks. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is matched as the IPv4 address it carries.
 */
bool acl_match(const struct acl *acl, const struct sockaddr *sa);

/* conf_check_fn for config tables: the value must parse with acl_parse(). */
int acl_check_list(const char *value, char *err, size_t errlen);

#endif
