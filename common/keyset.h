/*
 * keyset.h: a zone's DNSSEC keys as one event (key "<zone>|DNSSEC"), for authd and ctl.
 *
 * The value is one JSON object holding every key of the zone: algorithm, role, public
 * key, the private key sealed with the fleet secret (XChaCha20-Poly1305, libsodium; the
 * zone and the key tag are the associated data, so a sealed key cannot be moved to another
 * zone or key), and its timeline as absolute UTC times. Every instance derives what each
 * key does at a moment from the event and the clock alone, so a fleet switches together.
 * The format is in README.md ("DNSSEC key sets").
 */
#ifndef STREAMDNS_KEYSET_H
#define STREAMDNS_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/dname.h"

#define KEYSET_TYPE_NAME	"DNSSEC"	/* the reserved type of the event key */
#define KEYSET_SECRET_LEN	32		/* the fleet secret, octets */
#define KEYSET_KEYS_MAX		8		/* keys in one set */
#define KEYSET_PUB_MAX		64		/* public key octets (Ed25519 32, P-256 64) */
#define KEYSET_SIG_MAX		64		/* signature octets (Ed25519 64, P-256 64) */
#define KEYSET_NEVER		((time_t)0)	/* a timeline field that is not set */

#define DNSSEC_ALG_ECDSAP256SHA256	13
#define DNSSEC_ALG_ED25519		15
#define DNSKEY_FLAG_ZONE		0x0100
#define DNSKEY_FLAG_SEP			0x0001
#define DNSKEY_FLAG_REVOKE		0x0080	/* RFC 5011 7: the key may no longer be trusted */
#define DNSKEY_PROTOCOL			3	/* RFC 4034 2.1.2: the only value */

enum keyset_role {
	KEY_CSK,	/* signs everything; its DS is at the parent */
	KEY_KSK,	/* signs the DNSKEY RRset (and CDS, CDNSKEY); its DS is at the parent */
	KEY_ZSK,	/* signs every other RRset */
};

struct keyset_key {
	uint8_t		 algorithm;
	enum keyset_role role;
	uint16_t	 flags;		/* DNSKEY flags: 257 for CSK/KSK, 256 for ZSK */
	uint16_t	 tag;		/* RFC 4034 appendix B, of the DNSKEY RDATA */
	uint8_t		 pub[KEYSET_PUB_MAX];	/* DNSKEY public key field */
	size_t		 publen;
	/* The timeline, UTC seconds; KEYSET_NEVER where not set (never reached). */
	time_t		 publish;	/* in the DNSKEY RRset from here... */
	time_t		 active;	/* ...signs from here... */
	time_t		 retire;	/* ...signs no more from here... */
	time_t		 remove;	/* ...and leaves the DNSKEY RRset here */
	/* The sealed private key as in the event (base64 text), kept for re-encoding. */
	char		*sealed;
	/* After keyset_unseal(): the private key, opaque (libsodium or libdnssec state). */
	void		*priv;
};

struct keyset {
	uint8_t		 zone[DNAME_MAXLEN];	/* lower case, wire format */
	size_t		 nkeys;
	struct keyset_key keys[KEYSET_KEYS_MAX];
	bool		 unsealed;	/* every key's priv is set */
};

/*
 * Parses an event value (valuelen octets, not NUL-terminated) for zone (wire, lower case).
 * Checks everything but the seal: algorithms known (13, 15), roles, public key sizes, tags
 * equal to the public keys', timelines in order (publish <= active <= retire <= remove
 * where set), the zone field equal to zone. Returns a new set, or NULL with the reason in
 * err. An empty "keys" array is valid: the zone is unsigned.
 */
struct keyset *keyset_parse(const uint8_t *zone, const char *value, size_t valuelen,
    char *err, size_t errlen);
/* The event value of ks (JSON, NUL-terminated; the caller frees it), or NULL. */
char *keyset_encode(const struct keyset *ks);
/* Frees ks and its private keys (wiped). NULL is fine. */
void keyset_free(struct keyset *ks);
/* A new empty set for zone (wire; stored lower case), or NULL: the zone is unsigned. */
struct keyset *keyset_new(const uint8_t *zone);
/* Drops the keys whose remove time is at or before now; returns how many. */
size_t keyset_prune(struct keyset *ks, time_t now);

/* "csk", "ksk", "zsk"; "ED25519", "ECDSAP256SHA256" (NULL: not supported). */
const char *keyset_role_name(enum keyset_role role);
const char *keyset_algorithm_name(uint8_t algorithm);
/* t as the event writes it ("2026-12-05T12:00:00Z") into buf; -1 for KEYSET_NEVER. */
int keyset_time_str(time_t t, char *buf, size_t len);

/*
 * Opens every sealed private key of ks with secret and checks that it belongs to the
 * public key. Returns 0, or -1 with the reason in err (wrong secret, a key sealed for
 * another zone or tag, a private key that does not match): ks is then unchanged.
 */
int keyset_unseal(struct keyset *ks, const uint8_t secret[KEYSET_SECRET_LEN], char *err,
    size_t errlen);

/*
 * Adds a new key of algorithm and role to ks, its private key sealed with secret and kept
 * unsealed in it, its timeline all KEYSET_NEVER (the caller sets it). Returns the key, or
 * NULL (set full, algorithm unknown, crypto failure).
 */
struct keyset_key *keyset_generate(struct keyset *ks, uint8_t algorithm,
    enum keyset_role role, const uint8_t secret[KEYSET_SECRET_LEN]);

/* What a key does at time now. */
bool keyset_published(const struct keyset_key *k, time_t now);
bool keyset_signing(const struct keyset_key *k, time_t now);
/* A CSK or KSK the parent should have a DS for at now: published and not retired. */
bool keyset_wants_ds(const struct keyset_key *k, time_t now);

/* The DNSKEY RDATA of k (4 + publen octets) into out; returns its length. */
size_t keyset_dnskey_rdata(const struct keyset_key *k, uint8_t *out, size_t cap);
/* The DS RDATA (digest type 2, SHA-256) of k at zone into out; returns its length. */
size_t keyset_ds_rdata(const struct keyset *ks, const struct keyset_key *k, uint8_t *out,
    size_t cap);

/*
 * Signs data (len octets) with unsealed key k: the signature field of an RRSIG, as RFC 8080
 * (Ed25519, 64 octets, deterministic) and RFC 6605 (P-256, r then s, 64 octets) say.
 * Returns its length, or 0 on failure. Thread-safe for concurrent signers.
 */
size_t keyset_sign(const struct keyset_key *k, const uint8_t *data, size_t len,
    uint8_t sig[KEYSET_SIG_MAX]);

/*
 * The fleet secret: reads a file of base64 text (whitespace ignored); returns 0, or -1
 * with the reason: missing, not 32 octets, or readable by group or others (refused, as
 * ssh refuses such private keys).
 */
int keyset_secret_load(const char *path, uint8_t secret[KEYSET_SECRET_LEN], char *err,
    size_t errlen);
/*
 * The secrets of [dnssec] secret-file: one file, or during a rotation of the fleet secret
 * several ("new.key, old.key"): keys are sealed with the first and open with any.
 */
#define KEYSET_SECRETS_MAX	4
struct keyset_secrets {
	size_t		 n;
	uint8_t		 s[KEYSET_SECRETS_MAX][KEYSET_SECRET_LEN];
};
int keyset_secrets_load(const char *list, struct keyset_secrets *sec, char *err,
    size_t errlen);
/* keyset_unseal() with the first secret that opens every key: its index, or -1. */
int keyset_unseal_any(struct keyset *ks, const struct keyset_secrets *sec, char *err,
    size_t errlen);
/*
 * Seals every private key of ks anew with new, opening it with old (the rotation of the
 * fleet secret: the keys, and so the zone's DNSKEYs and DS, stay the same). All or nothing.
 */
int keyset_reseal(struct keyset *ks, const uint8_t old[KEYSET_SECRET_LEN],
    const uint8_t new[KEYSET_SECRET_LEN], char *err, size_t errlen);

/* Writes a new random fleet secret to path (mode 0600, never over an existing file). */
int keyset_secret_new(const char *path, char *err, size_t errlen);

#endif
