/* sock.c: authd's Unix socket (proto/PROTOCOL.md): the file, its connections, their frames. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "dnsr/pending.h"
#include "dnsr/sock.h"
#include "dnsr/worker.h"

#define SOCK_FRAME_MAX	(4 + (size_t)PROTO_MAX_FRAME)	/* length field + its maximum */
#define SOCK_OUT_HIGH	(1024 * 1024)	/* answers unread: stop reading queries */
#define SOCK_OUT_MAX	(16 * 1024 * 1024)	/* answers unread: disconnect */
#define SOCK_BACKLOG	64

/* A name from the peer, fit for a log line: control characters become '?'. */
static void
printable(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

/* The peer's credentials (SO_PEERCRED), once at accept: who is behind every later line. */
static void
sock_peer(int fd, char *buf, size_t len)
{
	struct ucred uc;
	socklen_t ulen = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) == 0)
		snprintf(buf, len, "pid %ld uid %lu gid %lu", (long)uc.pid,
		    (unsigned long)uc.uid, (unsigned long)uc.gid);
	else
		snprintf(buf, len, "unknown peer (%s)", strerror(errno));
}

/* Closes c now, or when sock_read() (which may still use it) returns. */
static void
sock_close(struct conn *c)
{
	if (c->in_read)
		c->dead = true;
	else
		server_conn_close(c);
}

/*
 * Queues one frame. Answers that pile up unread first stop the reading of queries (authd's
 * own writes then wait: back-pressure), and beyond SOCK_OUT_MAX end the connection.
 */
static void
sock_send(struct conn *c, const uint8_t *frame, long len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (c->closing || c->dead || len <= 0)
		return;
	bufferevent_write(c->bev, frame, (size_t)len);
	if (evbuffer_get_length(out) > SOCK_OUT_MAX) {
		atomic_fetch_add_explicit(&c->wk->stats.sock_slow, 1, memory_order_relaxed);
		log_warnx("socket %s%s: more than %d octets of answers unread; disconnecting",
		    c->peer, c->name, SOCK_OUT_MAX);
		sock_close(c);
	} else if (evbuffer_get_length(out) > SOCK_OUT_HIGH && !c->paused) {
		c->paused = true;
		bufferevent_disable(c->bev, EV_READ);
	}
}

void
sock_answer(struct conn *c, uint32_t id, const uint8_t *dns, size_t len)
{
	struct worker *wk = c->wk;

	sock_send(c, wk->frame, proto_encode_answer(wk->frame, sizeof(wk->frame), id, dns,
	    len));
}

/* Sends ERROR, logs why (one line naming the peer) and closes once the frame is out. */
static void __attribute__((format(printf, 3, 4)))
sock_error(struct conn *c, uint16_t code, const char *fmt, ...)
{
	char reason[256];
	uint8_t frame[PROTO_HDR + 2 + 255];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (code == PROTO_ERR_MALFORMED)
		atomic_fetch_add_explicit(&c->wk->stats.sock_malformed, 1,
		    memory_order_relaxed);
	log_warnx("socket %s%s: %s; sending ERROR %u and closing", c->peer, c->name, reason,
	    code);
	sock_send(c, frame, proto_encode_error(frame, sizeof(frame), code, reason));
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	pending_conn_drop(c);
}

static void
sock_hello(struct conn *c, const struct proto_msg *m)
{
	uint8_t frame[PROTO_HDR + 2];
	uint16_t version = m->version < PROTO_VERSION ? m->version : PROTO_VERSION;
	size_t n;

	/* PROTOCOL.md rule 1: anything else first is ERROR 1. */
	if (m->type != PROTO_HELLO) {
		sock_error(c, PROTO_ERR_MALFORMED, "frame type %d before HELLO", (int)m->type);
		return;
	}
	if (m->version == 0) {
		sock_error(c, PROTO_ERR_VERSION, "HELLO offers version 0 only");
		return;
	}
	c->hello = true;
	memcpy(c->name, " \"", 2);
	printable(c->name + 2, sizeof(c->name) - 3, m->name);
	n = strlen(c->name);
	memcpy(c->name + n, "\"", 2);
	log_info("socket %s%s: HELLO version %u; speaking version %u", c->peer, c->name,
	    m->version, version);
	sock_send(c, frame, proto_encode_hello_ok(frame, sizeof(frame), version));
}

/* Resolves the query as if its client had asked us over its transport. */
static void
sock_query(struct conn *c, const struct proto_msg *m)
{
	struct worker *wk = c->wk;
	struct client cl;
	char addr[NET_ADDRSTRLEN];
	size_t len;

	atomic_fetch_add_explicit(&wk->stats.sock_queries, 1, memory_order_relaxed);
	memset(&cl, 0, sizeof(cl));
	cl.kind = CLIENT_SOCK;
	cl.tcp = m->transport == PROTO_TCP;
	cl.conn = c;
	cl.id = m->id;
	/* Every client takes 512 octets (RFC 1035; RFC 6891 6.2.5). */
	cl.limit = m->max_answer < DNS_MIN_UDP ? DNS_MIN_UDP : m->max_answer;
	memcpy(&cl.from, &m->client, sizeof(cl.from));
	cl.fromlen = (socklen_t)net_addr_len((const struct sockaddr *)&cl.from);
	log_debug("socket %s%s: query %u from %s over %s", c->peer, c->name, m->id,
	    net_addr_str((const struct sockaddr *)&cl.from, addr, sizeof(addr)),
	    cl.tcp ? "tcp" : "udp");
	len = server_handle_query(wk, m->dns, m->dnslen, &cl, wk->one, cl.limit);
	if (len > 0) {
		server_count_answer(wk, CLIENT_SOCK, wk->one);
		sock_answer(c, cl.id, wk->one, len);
	}
}

static void
sock_frame(struct conn *c, const struct proto_msg *m)
{
	char reason[256];

	if (!c->hello) {
		sock_hello(c, m);
		return;
	}
	switch (m->type) {
	case PROTO_QUERY:
		sock_query(c, m);
		return;
	case PROTO_ERROR:
		printable(reason, sizeof(reason), m->reason);
		log_warnx("socket %s%s: ERROR %u from the peer: %s; closing", c->peer, c->name,
		    m->code, reason);
		sock_close(c);
		return;
	default:
		sock_error(c, PROTO_ERR_UNEXPECTED, "unexpected frame type %d", (int)m->type);
		return;
	}
}

/* Every complete frame in the input, unless the connection is closing or paused. */
static void
sock_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct proto_msg m;
	char err[128];
	size_t avail;

	c->in_read = true;
	while (!c->closing && !c->paused && !c->dead && (avail = evbuffer_get_length(in)) > 0) {
		size_t want = avail < SOCK_FRAME_MAX ? avail : SOCK_FRAME_MAX;
		const uint8_t *buf = evbuffer_pullup(in, (ssize_t)want);
		long n;

		if (buf == NULL)
			fatalx("out of memory");
		if ((n = proto_decode(buf, want, &m, err, sizeof(err))) == 0)
			break;		/* the rest of the frame is still on its way */
		if (n < 0) {
			sock_error(c, PROTO_ERR_MALFORMED, "malformed frame: %s", err);
			break;
		}
		sock_frame(c, &m);	/* m points into the input: drain after */
		evbuffer_drain(in, (size_t)n);
	}
	c->in_read = false;
	if (c->dead)
		server_conn_close(c);
}

/* The output drained (to SOCK_OUT_HIGH / 2): finish closing, or read queries again. */
static void
sock_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			server_conn_close(c);
		return;
	}
	if (c->paused) {
		c->paused = false;
		bufferevent_enable(bev, EV_READ);
		sock_read(bev, c);	/* what came before the pause */
	}
}

static void
sock_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	size_t inflight = pending_conn_inflight(c);

	if (what & BEV_EVENT_TIMEOUT) {
		atomic_fetch_add_explicit(&c->wk->stats.sock_slow, 1, memory_order_relaxed);
		log_warnx("socket %s%s: answers unread for %d ms; disconnecting", c->peer,
		    c->name, c->wk->srv->conf->socket_timeout);
	} else if (what & BEV_EVENT_ERROR) {
		log_warn("socket %s%s: closed with %zu queries in flight", c->peer, c->name,
		    inflight);
	} else {
		log_info("socket %s%s: closed by the peer with %zu queries in flight", c->peer,
		    c->name, inflight);
	}
	server_conn_close(c);
}

static void
sock_serve(struct worker *wk, int fd)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	int ms = wk->srv->conf->socket_timeout;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	c->wk = wk;
	sock_peer(fd, c->peer, sizeof(c->peer));
	if ((c->bev = bufferevent_socket_new(wk->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("socket %s: cannot set up the connection", c->peer);
		close(fd);
		free(c);
		return;
	}
	server_conn_link(wk, c);
	atomic_fetch_add_explicit(&wk->sock_clients, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&wk->stats.sock_conns, 1, memory_order_relaxed);
	log_info("socket: connection from %s", c->peer);
	/* A write timeout only runs while answers wait: it catches a peer that stops reading. */
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_setwatermark(c->bev, EV_WRITE, SOCK_OUT_HIGH / 2, 0);
	bufferevent_setcb(c->bev, sock_read, sock_write, sock_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* True when another worker serves fewer authd connections (and will take this one). */
static bool
sock_busier(const struct worker *wk)
{
	const struct dnsr_server *srv = wk->srv;
	int mine = atomic_load_explicit(&wk->sock_clients, memory_order_relaxed);

	for (size_t i = 0; i < srv->nworkers; i++)
		if (atomic_load_explicit(&srv->workers[i]->sock_clients,
		    memory_order_relaxed) < mine)
			return true;
	return false;
}

/*
 * Every worker watches the one listening socket (there is no SO_REUSEPORT for Unix
 * sockets) and takes one connection per wake-up, unless another worker has fewer: that
 * one is woken too (level-triggered) and takes it, so authd's connections, which arrive
 * together at its start, spread over the workers.
 */
void
sock_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct worker *wk = arg;
	unsigned long supp;
	int fd;

	if (sock_busier(wk))
		return;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED && log_rl_allow(&wk->accept_rl, 10, &supp))
			log_warn("socket %s: accept (%lu more not logged)",
			    wk->srv->conf->socket_path, supp);
		return;
	}
	sock_serve(wk, fd);
}

/* Makes the missing directories of path's directory, mode 0755 (whatever the umask). */
static int
sock_mkdirs(const char *path)
{
	char *dir = xstrdup(path);
	struct stat st;
	int rc = 0;

	for (char *p = dir + 1; rc == 0 && (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			if (chmod(dir, 0755) != 0)
				rc = -1;
		} else if (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			if (errno == EEXIST)
				errno = ENOTDIR;
			rc = -1;
		}
		if (rc != 0)
			log_warn("socket %s: directory %s", path, dir);
		*p = '/';
	}
	free(dir);
	return rc;
}

/*
 * Clears the way for bind: a socket left by a dnsr that died is removed; a socket somebody
 * still answers on (another dnsr) and anything that is not a socket are left alone.
 */
static int
sock_clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, live;

	if (lstat(sun->sun_path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		log_warn("socket %s", sun->sun_path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("socket %s: exists and is not a socket; not replacing it",
		    sun->sun_path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("socket");
		return -1;
	}
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		log_warnx("socket %s: another process is answering on it", sun->sun_path);
		return -1;
	}
	if (unlink(sun->sun_path) != 0) {
		log_warn("socket %s: removing the stale socket", sun->sun_path);
		return -1;
	}
	log_info("socket %s: replaced a stale socket", sun->sun_path);
	return 0;
}

/*
 * bind, then the group, then listen: nobody connects before the ACL is in place. The file
 * is born with its mode (through the umask; no worker thread runs yet), so it never has a
 * wider one, and no chmod follows a path that could have been swapped meanwhile.
 */
static int
sock_bind(struct dnsr_server *srv, const struct sockaddr_un *sun)
{
	const struct dnsr_conf *conf = srv->conf;
	mode_t umask_was = umask(~conf->socket_mode & 0777);
	struct stat st;
	int rc;

	rc = bind(srv->unix_fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(umask_was);
	if (rc != 0) {
		log_warn("socket %s: bind", sun->sun_path);
		return -1;
	}
	if (lstat(sun->sun_path, &st) == 0) {
		srv->unix_bound = true;
		srv->unix_dev = st.st_dev;
		srv->unix_ino = st.st_ino;
	}
	if (conf->socket_gid != (gid_t)-1 && lchown(sun->sun_path, (uid_t)-1,
	    conf->socket_gid) != 0) {
		log_warn("socket %s: chown to group %s", sun->sun_path, conf->socket_group);
		return -1;
	}
	if (listen(srv->unix_fd, SOCK_BACKLOG) != 0) {
		log_warn("socket %s: listen", sun->sun_path);
		return -1;
	}
	return 0;
}

/* Opens conf->socket_path for the workers to accept on; -1 with a log line. */
int
sock_open(struct dnsr_server *srv)
{
	const char *path = srv->conf->socket_path;
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);	/* length checked */
	if (sock_mkdirs(path) != 0 || sock_clear_stale(&sun) != 0)
		return -1;
	if ((srv->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		log_warn("socket %s", path);
		return -1;
	}
	return sock_bind(srv, &sun);
}

/* Removes the socket file at exit, if it is still the one we made. */
void
sock_remove(struct dnsr_server *srv)
{
	struct stat st;

	if (srv->unix_fd < 0)
		return;
	close(srv->unix_fd);
	srv->unix_fd = -1;
	if (srv->unix_bound && lstat(srv->conf->socket_path, &st) == 0 &&
	    st.st_dev == srv->unix_dev && st.st_ino == srv->unix_ino)
		unlink(srv->conf->socket_path);
}
