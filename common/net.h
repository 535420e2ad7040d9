/* net.h: socket helpers shared by the daemons (listening sockets, printable addresses). */
#ifndef STREAMDNS_NET_H
#define STREAMDNS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define NET_ADDRSTRLEN	64	/* "[v6 address]:port" with room to spare */
#define NET_UDP_BUFFER	(8 << 20)	/* octets of UDP socket buffer, each way */
#define NET_LISTEN_MAX	64		/* addresses in one listen list */

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

/* One worker's own sockets: a UDP and a TCP socket for every address it listens on. */
struct net_listeners {
	size_t			 n;
	int			 udp_fd[NET_LISTEN_MAX];
	struct event		*udp_ev[NET_LISTEN_MAX];
	struct evconnlistener	*tcp[NET_LISTEN_MAX];
};

/*
 * Opens l on base for every address of list ("addr[:port], ...", port 53 by default):
 * on_udp(fd, EV_READ, arg) when a UDP socket is readable, on_accept(..., arg) for every
 * TCP connection. The sockets use SO_REUSEPORT, so each worker opens its own. Returns 0,
 * or -1 with the reason logged and nothing left open.
 */
int net_listeners_open(struct net_listeners *l, struct event_base *base, const char *list,
    event_callback_fn on_udp, evconnlistener_cb on_accept, void *arg);
void net_listeners_close(struct net_listeners *l);

/*
 * A DNS server's TCP client, as both daemons take one: a bufferevent on fd (closed when it
 * is freed), reading and writing, with an idle timeout of idle_ms each way and the given
 * callbacks. Returns NULL, with fd closed, when libevent cannot make one.
 */
struct bufferevent *net_tcp_client(struct event_base *base, int fd, int idle_ms,
    bufferevent_data_cb readcb, bufferevent_event_cb eventcb, void *arg);

/* What an address can be as the address of a DNS server (net_addr_kind). */
enum net_addr_kind {
	NET_ADDR_UNICAST,	/* anything else: worth a query */
	NET_ADDR_LOOPBACK,	/* 127.0.0.0/8 but its broadcast, ::1 (and ::ffff:127.x) */
	NET_ADDR_UNUSABLE,	/* can never be a server: "this network", broadcast, multicast */
};

/*
 * Classifies sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address as its IPv4 one).
 * Unusable: 0.0.0.0/8, 127.255.255.255, 224.0.0.0/4, 240.0.0.0/4 (255.255.255.255
 * included), ::, ff00::/8, fe80::/10 (no scope in a DNS record), and any other family.
 */
enum net_addr_kind net_addr_kind(const struct sockaddr *sa);

/* Length of a sockaddr of family AF_INET or AF_INET6 (0 for any other). */
size_t net_addr_len(const struct sockaddr *sa);

#endif
