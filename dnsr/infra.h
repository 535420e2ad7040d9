/* infra.h: what dnsr knows of upstream servers: RTT and back-off per (address, zone), cookies. */
#ifndef STREAMDNS_INFRA_H
#define STREAMDNS_INFRA_H

#include <stdint.h>
#include <sys/socket.h>

#define INFRA_UNKNOWN_RTT	376000	/* us: what an untried server is assumed to take */
#define INFRA_BACKOFF_MIN	1000	/* ms: first back-off after a failure */
#define INFRA_BACKOFF_MAX	120000	/* ms: back-off doubles up to this */
#define INFRA_PENALTY		10000000 /* us added to the score of a server in back-off */

struct infra;

/*
 * A fixed-size table shared by all workers (a lock): what one worker learns about a slow
 * or broken server, the others use. Being advisory, an entry may be overwritten by another
 * key that hashes to the same slot. Returns NULL on OOM.
 */
struct infra *infra_new(void);
void infra_free(struct infra *inf);

/*
 * How good asking sa about zone looks at now_ms: the smoothed RTT in microseconds
 * (INFRA_UNKNOWN_RTT plus a little jitter for a server never asked, so that equal
 * strangers are tried in random order), plus INFRA_PENALTY while it is backed off.
 * Lower is better.
 */
uint64_t infra_score(struct infra *inf, const struct sockaddr *sa, const uint8_t *zone,
    uint64_t now_ms);

/* An answer came back after rtt_us: smooth it in and end any back-off. */
void infra_success(struct infra *inf, const struct sockaddr *sa, const uint8_t *zone,
    uint64_t rtt_us, uint64_t now_ms);

/*
 * No answer (timeout, refused connection) or a bad one (lame, REFUSED, SERVFAIL,
 * malformed): back off for a time that doubles with each failure in a row; a timeout
 * also raises the smoothed RTT to timeout_us.
 */
void infra_failure(struct infra *inf, const struct sockaddr *sa, const uint8_t *zone,
    uint64_t timeout_us, uint64_t now_ms);

#define INFRA_COOKIE_MAX	32	/* longest server cookie (RFC 7873 4.2) */

/*
 * DNS cookies (RFC 7873 5.1), per server address and port: writes our client cookie for
 * sa (derived from a per-process secret and the address, never stored) into client, and
 * the server cookie sa last gave us into server; returns the server cookie's length, 0
 * when there is none yet.
 */
size_t infra_cookie(struct infra *inf, const struct sockaddr *sa, uint8_t client[8],
    uint8_t server[INFRA_COOKIE_MAX]);

/* sa sent this server cookie (8 to INFRA_COOKIE_MAX octets): it goes back from now on. */
void infra_cookie_learn(struct infra *inf, const struct sockaddr *sa, const uint8_t *server,
    size_t len);


#endif
