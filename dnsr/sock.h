/* sock.h: authd's Unix socket (proto/PROTOCOL.md): the file's life and its connections. */
#ifndef STREAMDNS_DNSR_SOCK_H
#define STREAMDNS_DNSR_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct conn;
struct dnsr_server;

/*
 * Called by server.c at start, before the workers: opens conf->socket_path (missing
 * directories made, a stale socket replaced, mode and group set) into srv->unix_fd for
 * the workers to accept on; -1 with a log line.
 */
int sock_open(struct dnsr_server *srv);
/* Called by server.c at stop, after the workers: closes the socket; removes the file if ours. */
void sock_remove(struct dnsr_server *srv);
/*
 * The event callback of every worker's unix_ev (arg: the worker) on srv->unix_fd: takes
 * one connection, unless another worker serves fewer.
 */
void sock_accept(evutil_socket_t lfd, short what, void *arg);
/* Called by server.c with a late answer for authd: sends it to c as the ANSWER to query id. */
void sock_answer(struct conn *c, uint32_t id, const uint8_t *dns, size_t len);

#endif
