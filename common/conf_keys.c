/* conf_keys.c: the configuration keys both daemons have, declared once for both tables. */
#include <stddef.h>
#include <string.h>

#include "common/conf.h"

/*
 * A daemon's table names one of these with a CONF_SHARED row: the row gives where the
 * value goes (offset) and, where the daemons differ, its own default, check or help.
 * The offsets here are unused (0): each daemon's struct has its own layout.
 */
static const struct conf_key shared_keys[] = {
	{ "server", "listen", CONF_STR, 0, 0, "127.0.0.1:53", 0, conf_check_addr_list,
	    "UDP and TCP addresses to answer on (comma-separated)" },
	{ "server", "workers", CONF_INT, 1, 64, "2", 0, NULL,
	    "answering threads, each with its own sockets (SO_REUSEPORT)" },
	{ "server", "udp-payload-size", CONF_INT, 512, 4096, "1232", 0, NULL,
	    "largest UDP response with EDNS (RFC 6891; 1232 avoids fragmentation)" },
	{ "server", "tcp-idle-timeout", CONF_MSEC, 100, 600000, "10s", 0, NULL,
	    "close an idle TCP connection after this long (RFC 7766)" },
	{ "server", "tcp-max-clients", CONF_INT, 1, 100000, "1000", 0, NULL,
	    "TCP connections per worker; more are refused" },
	{ "log", "level", CONF_STR, 0, 0, "info", 0, conf_check_log_level,
	    "error, warn, info or debug" },
	{ "admin", "listen", CONF_STR, 0, 0, NULL, 0, conf_check_addr_list_or_none,
	    "HTTP admin (/metrics /health /ready), or none" },
	{ "admin", "token-file", CONF_STR, 0, 0, NULL, 0, conf_check_token_file,
	    "file holding a bearer token the admin endpoints require" },
	{ "metrics", "statsd", CONF_STR, 0, 0, NULL, 0, conf_check_addr_list,
	    "push metrics as statsd gauges to HOST:PORT (UDP)" },
	{ "metrics", "statsd-prefix", CONF_STR, 0, 0, NULL, 0, NULL,
	    "prefix of the statsd metric names" },
	{ "metrics", "statsd-interval", CONF_MSEC, 100, 3600000, "10s", 0, NULL,
	    "how often to push to statsd" },
};

const struct conf_key *
conf_shared_key(const char *section, const char *name)
{
	for (size_t i = 0; i < sizeof(shared_keys) / sizeof(shared_keys[0]); i++)
		if (strcmp(shared_keys[i].section, section) == 0 &&
		    strcmp(shared_keys[i].name, name) == 0)
			return &shared_keys[i];
	return NULL;
}
