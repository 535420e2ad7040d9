/* server.h: authd on the front end (common/frontend.c): its workers and what they answer. */
#ifndef STREAMDNS_SERVER_H
#define STREAMDNS_SERVER_H

#include "authd/authd.h"

struct server;

/*
 * Opens conf->listen (UDP and TCP on each address) once per worker and starts the worker
 * threads. Returns NULL with a log line when a socket cannot be opened.
 */
struct server *server_start(const struct authd_conf *conf, struct authd_state *st);
/* Stops the workers (in-flight answers finish) and frees everything. */
void server_stop(struct server *srv);

#endif
