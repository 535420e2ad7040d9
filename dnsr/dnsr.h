/* dnsr.h: streamdns-dnsr's configuration, as read from its INI file. */
#ifndef STREAMDNS_DNSR_H
#define STREAMDNS_DNSR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/acl.h"
#include "common/conf.h"
#include "common/dname.h"

enum dnsr_mode { DNSR_RECURSIVE, DNSR_FORWARD };

/* [dnssec] validation: permissive validates and logs, but answers bogus data as insecure. */
enum dnsr_validation { DNSR_VALIDATION_NO, DNSR_VALIDATION_YES, DNSR_VALIDATION_PERMISSIVE };

/* [resolver] qname-minimisation (RFC 9156): yes is the relaxed mode, with its fallbacks. */
enum dnsr_qmin { DNSR_QMIN_NO, DNSR_QMIN_RELAXED, DNSR_QMIN_STRICT };

struct anchors;
struct hints;

/* [forward-zone NAME] and [stub-zone NAME] sections at most (together). */
#define DNSR_MAX_ZONES	256

enum dnsr_zone_kind {
	DNSR_ZONE_FORWARD,	/* RD=1 to recursive servers, trusted as forwarders are */
	DNSR_ZONE_STUB,		/* RD=0 to the zone's authoritative servers */
};

/* One [forward-zone NAME] or [stub-zone NAME] section (dnsr/config.c). */
struct dnsr_zone {
	/* its keys */
	char		*servers_str;		/* ADDR[:PORT], ... */
	bool		 insecure;		/* domain-insecure for validation */
	/* from its header */
	enum dnsr_zone_kind kind;
	uint8_t		 name[DNAME_MAXLEN];	/* wire format, lower case */
	int		 line;			/* of the header, for errors */
	/* derived by dnsr_conf_load() */
	struct hints	*servers;
	bool		 on_loopback;		/* a server is: loopback is asked below it */
};

struct dnsr_conf {
	/* [server] */
	char		*listen;
	char		*allow;
	int		 workers;
	int		 udp_payload_size;
	int		 tcp_idle_timeout;	/* ms */
	int		 tcp_max_clients;	/* per worker */
	int		 max_resolutions;	/* in flight per worker */
	char		*socket;		/* authd's Unix socket; "": none */
	char		*socket_mode_str;	/* octal */
	char		*socket_group;		/* "": leave the group alone */
	int		 socket_timeout;	/* ms an answer may wait unread */
	char		*user;			/* "": keep the user we were started as */
	/* [resolver] */
	char		*mode_str;
	char		*root_hints;
	char		*forwarders;
	int		 query_port;
	int		 query_timeout;		/* ms, one upstream query */
	int		 resolve_timeout;	/* ms, a whole client query */
	int		 max_referrals;
	int		 max_chain;
	int		 max_queries;
	bool		 query_ipv6;
	bool		 use_0x20;		/* iterative mode only */
	bool		 cookies;		/* RFC 7873, upstream and to clients */
	bool		 do_not_query_localhost;	/* loopback servers only with hints on it */
	char		*qmin_str;		/* qname-minimisation: yes, no, strict */
	/* [cache] */
	size_t		 cache_size;
	int		 min_ttl;		/* seconds */
	int		 max_ttl;
	int		 max_negative_ttl;
	/* [dnssec] */
	char		*validation_str;
	char		*trust_anchor_file;	/* comma-separated paths */
	char		*domain_insecure;	/* comma-separated names */
	/* [log] */
	char		*log_level;
	/* [admin] */
	char		*admin_listen;		/* "none": no HTTP */
	char		*admin_token_file;	/* NULL: no token */
	/* [metrics] */
	char		*statsd;		/* NULL: no push */
	char		*statsd_prefix;
	int		 statsd_interval;	/* ms */
	/* [forward-zone NAME], [stub-zone NAME]: owned, in file order */
	struct dnsr_zone **zones;
	size_t		 nzones;

	/* Derived by dnsr_conf_load() once the file is valid. */
	enum dnsr_mode	 mode;
	struct acl	 acl;
	char		*root_hints_path;	/* relative paths resolved against the file's dir */
	char		*socket_path;		/* likewise; NULL when there is no socket */
	mode_t		 socket_mode;
	gid_t		 socket_gid;		/* (gid_t)-1: no socket-group */
	enum dnsr_validation validation;
	enum dnsr_qmin	 qmin;			/* DNSR_QMIN_NO in forward mode */
	/*
	 * The trust anchors and domain-insecure names (dnsr/anchor.h), loaded here so that
	 * --check-config and start-up read the files once and alike; NULL with validation =
	 * no. Owned by the configuration, read by every worker through iter_env's conf.
	 */
	struct anchors	*anchors;
};

/* The one config table (dnsr/config.c), for --help and the README. */
extern const struct conf_schema dnsr_conf_schema;

/*
 * Loads and validates path (also what the keys mean together: forwarders in forward mode,
 * min-ttl <= max-ttl; the root hints and, unless validation = no, the trust anchors
 * load); prints "file:line: key: reason" lines to errout; returns the
 * number of errors. dnsr_conf_free() it either way.
 */
int dnsr_conf_load(struct dnsr_conf *c, const char *path, FILE *errout);

/*
 * For iteration, per name resolved: the forward or stub zone with the longest name at or
 * above name (wire format, lower case), or NULL when the global mode decides. A DS
 * question is decided by the parent of name: the DS RRset lives on the parent's side of
 * the cut (RFC 4035 2.4), so the DS of a stub zone's apex is asked of its parent, and the
 * validator's chain of trust reaches the zone through its parent as for any other.
 */
const struct dnsr_zone *dnsr_zone_find(const struct dnsr_conf *c, const uint8_t *name,
    uint16_t qtype);
void dnsr_conf_free(struct dnsr_conf *c);

#endif
