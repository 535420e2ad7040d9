/* net.c: listening sockets and address formatting shared by the daemons. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/net.h"

/*
 * Large UDP socket buffers: a burst of queries (thousands at once from a resolver farm or
 * dnsperf) must wait in the kernel, not be dropped, while the workers catch up. Root may
 * go past net.core.rmem_max with the FORCE variants; otherwise the kernel caps the size.
 */
static void
udp_buffers(int fd)
{
	int size = NET_UDP_BUFFER;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

int
net_listen(const struct sockaddr_storage *ss, size_t sslen, int type)
{
	int fd, on = 1, saved;

	fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
		goto fail;
	/* A v6 socket must not also take v4 traffic: v4 addresses are listed on their own. */
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
		goto fail;
	if (type == SOCK_DGRAM)
		udp_buffers(fd);
	if (bind(fd, (const struct sockaddr *)ss, (socklen_t)sslen) != 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 1024) != 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

char *
net_addr_str(const struct sockaddr *sa, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, buflen, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, buflen, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, buflen, "(family %d)", sa->sa_family);
	}
	return buf;
}

bool
net_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

/* An IPv4 address in host order. */
static enum net_addr_kind
ipv4_kind(uint32_t a)
{
	if ((a >> 24) == 0)			/* 0.0.0.0/8: "this network" (RFC 1122) */
		return NET_ADDR_UNUSABLE;
	if (a == 0x7fffffffU)			/* 127/8's broadcast: no server answers it */
		return NET_ADDR_UNUSABLE;
	if ((a >> 24) == 127)
		return NET_ADDR_LOOPBACK;
	if ((a >> 28) >= 0xe)			/* 224/4 multicast, 240/4 reserved, broadcast */
		return NET_ADDR_UNUSABLE;
	return NET_ADDR_UNICAST;
}

enum net_addr_kind
net_addr_kind(const struct sockaddr *sa)
{
	const struct in6_addr *a6;
	uint32_t v4;

	if (sa->sa_family == AF_INET)
		return ipv4_kind(ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr));
	if (sa->sa_family != AF_INET6)
		return NET_ADDR_UNUSABLE;
	a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		memcpy(&v4, &a6->s6_addr[12], 4);
		return ipv4_kind(ntohl(v4));
	}
	if (IN6_IS_ADDR_LOOPBACK(a6))
		return NET_ADDR_LOOPBACK;
	if (IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_MULTICAST(a6) ||
	    IN6_IS_ADDR_LINKLOCAL(a6))
		return NET_ADDR_UNUSABLE;
	return NET_ADDR_UNICAST;
}

size_t
net_addr_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

struct bufferevent *
net_tcp_client(struct event_base *base, int fd, int idle_ms, bufferevent_data_cb readcb,
    bufferevent_event_cb eventcb, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	struct timeval tv = { idle_ms / 1000, (idle_ms % 1000) * 1000 };

	if (bev == NULL) {
		close(fd);
		return NULL;
	}
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, readcb, NULL, eventcb, arg);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return bev;
}

/* Opens the UDP and TCP socket of one address into slot l->n. */
static int
listen_one(struct net_listeners *l, struct event_base *base, const char *addr,
    event_callback_fn on_udp, evconnlistener_cb on_accept, void *arg)
{
	struct sockaddr_storage ss;
	size_t sslen, i = l->n;
	char err[256];
	int tfd;

	if (conf_parse_sockaddr(addr, 53, &ss, &sslen, err, sizeof(err)) != 0) {
		log_warnx("listen %s: %s", addr, err);
		return -1;
	}
	if ((l->udp_fd[i] = net_listen(&ss, sslen, SOCK_DGRAM)) < 0) {
		log_warn("listen udp %s", addr);
		return -1;
	}
	l->n++;
	l->udp_ev[i] = event_new(base, l->udp_fd[i], EV_READ | EV_PERSIST, on_udp, arg);
	if (l->udp_ev[i] == NULL || event_add(l->udp_ev[i], NULL) != 0)
		fatalx("event_new");
	if ((tfd = net_listen(&ss, sslen, SOCK_STREAM)) < 0) {
		log_warn("listen tcp %s", addr);
		return -1;
	}
	l->tcp[i] = evconnlistener_new(base, on_accept, arg, LEV_OPT_CLOSE_ON_FREE, -1, tfd);
	if (l->tcp[i] == NULL) {
		close(tfd);
		log_warnx("listen tcp %s: evconnlistener_new failed", addr);
		return -1;
	}
	return 0;
}

int
net_listeners_open(struct net_listeners *l, struct event_base *base, const char *list,
    event_callback_fn on_udp, evconnlistener_cb on_accept, void *arg)
{
	char *copy = xstrdup(list), *items[NET_LISTEN_MAX];
	size_t n = conf_split_list(copy, items, NET_LISTEN_MAX);
	int rc = 0;

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = listen_one(l, base, items[i], on_udp, on_accept, arg);
	free(copy);
	if (rc != 0)
		net_listeners_close(l);
	return rc;
}

void
net_listeners_close(struct net_listeners *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->udp_ev[i] != NULL)
			event_free(l->udp_ev[i]);
		close(l->udp_fd[i]);
		if (l->tcp[i] != NULL)
			evconnlistener_free(l->tcp[i]);
	}
	l->n = 0;
}
