/* net.h: socket helpers shared by the daemons (listening sockets, printable addresses). */
#ifndef STREAMDNS_NET_H
#define STREAMDNS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define NET_ADDRSTRLEN	64	/* "[v6 address]:port" with room to spare */
#define NET_UDP_BUFFER	(8 << 20)	/* octets of UDP socket buffer, each way */

/*
 * Opens a non-blocking, close-on-exec socket of type (SOCK_DGRAM or SOCK_STREAM) bound to
 * ss, with SO_REUSEADDR and SO_REUSEPORT (so that every worker thread can own a socket on
 * the same address) and IPV6_V6ONLY for IPv6; a stream socket is also listening. Returns
 * the descriptor, or -1 with errno set. UDP sockets get NET_UDP_BUFFER each way.
 */
int net_listen(const struct sockaddr_storage *ss, size_t sslen, int type);

/* "192.0.2.1:53" or "[2001:db8::1]:53" into buf (NET_ADDRSTRLEN); returns buf. */
char *net_addr_str(const struct sockaddr *sa, char *buf, size_t buflen);

/* True when a and b are the same address and port (IPv4 or IPv6). */
bool net_addr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* Length of a sockaddr of family AF_INET or AF_INET6 (0 for any other). */
size_t net_addr_len(const struct sockaddr *sa);

#endif
