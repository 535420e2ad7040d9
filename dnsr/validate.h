/* validate.h: DNSSEC validation (RFC 4033-4035, 5155, 6840, 9276): signatures, keys, denials. */
#ifndef STREAMDNS_VALIDATE_H
#define STREAMDNS_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rrset.h"

/*
 * The security of data (RFC 4035 4.3). UNCHECKED is data nobody has judged yet (glue,
 * referrals, and everything when validation is off); it is never served as validated.
 */
enum sec {
	SEC_UNCHECKED = 0,
	SEC_INSECURE,		/* provably unsigned, or below a domain-insecure */
	SEC_INDETERMINATE,	/* no trust anchor covers it */
	SEC_BOGUS,
	SEC_SECURE,
};

/* Extended DNS Errors a bogus result carries (RFC 8914 4). */
#define EDE_DNSSEC_BOGUS	6
#define EDE_SIG_EXPIRED		7
#define EDE_SIG_NOT_YET_VALID	8
#define EDE_DNSKEY_MISSING	9
#define EDE_RRSIGS_MISSING	10
#define EDE_NSEC_MISSING	12

/* RFC 9276 3.2: NSEC3 with more iterations than this is treated as insecure. */
#define VAL_NSEC3_MAX_ITERATIONS	150

/*
 * What a resolution may spend on cryptography (the KeyTrap and NSEC3 attacks of
 * CVE-2023-50387 and CVE-2023-50868 make a validator do unbounded work with one
 * response). Counts down; once a count is spent, what needed more is bogus.
 */
struct val_budget {
	int	verifies;	/* signature verifications */
	int	hashes;		/* NSEC3 hashes (each of up to 151 SHA-1 rounds); -1 once a
				 * proof needed a hash after they were spent */
};

#define VAL_BUDGET_VERIFIES	48	/* per client query, all its chain included */
#define VAL_BUDGET_HASHES	96
#define VAL_MAX_TRIES_PER_SET	4	/* keys tried for one RRSIG (key tag collisions) */
#define VAL_MAX_VERIFIES_PER_SET 8	/* verifications for one RRset, all RRSIGs */

/* The verdict on one thing, and why when it is bogus. */
struct val_out {
	uint8_t		 sec;		/* enum sec */
	int		 ede;		/* when bogus */
	const char	*why;		/* static text, when bogus */
	uint32_t	 ttl;		/* secure: how long it may be kept (RFC 4035 5.3.3) */
	int		 labels;	/* secure: the RRSIG's labels (< owner's: a wildcard) */
};

/* An RRset with the RRSIGs that cover it (NULL when it came without), as received. */
struct val_set {
	const uint8_t		*owner;		/* lower case */
	const struct rrset	*rs;
	const struct rrset	*sigs;		/* type RRSIG; only those covering rs->type */
	uint8_t			 sec;		/* enum sec, set by the caller once checked */
};

/* An RRSIG's RDATA (RFC 4034 3.1), pointing into it. */
struct rrsig {
	uint16_t	 covered;
	uint8_t		 algorithm;
	uint8_t		 labels;
	uint32_t	 original_ttl;
	uint32_t	 expiration;
	uint32_t	 inception;
	uint16_t	 tag;
	const uint8_t	*signer;	/* uncompressed, as in the RDATA */
	size_t		 prelen;	/* octets before the signature */
	const uint8_t	*sig;
	size_t		 siglen;
};

void val_init(void);

/* -1 when rd (len octets) is not a well-formed RRSIG RDATA. */
int rrsig_parse(const uint8_t *rd, size_t len, struct rrsig *s);

/* The signer of the first well-formed RRSIG of sigs that may sign owner, or NULL. */
const uint8_t *val_signer(const uint8_t *owner, const struct rrset *sigs);

/* Algorithms (RFC 8624 3.1) and DS digests (3.3) this validator can check. */
bool val_algorithm_supported(uint8_t alg);
bool val_digest_supported(uint8_t digest);

/*
 * The keys of a DNSKEY RRset made ready for the crypto library once (ECDSA keys built as
 * libcrypto keys), so that a verification does not build its key again: the key cache
 * keeps one with each validated RRset. Read-only once made, so threads may share it
 * (libcrypto keys are safe to share for verifying). val_keys_new returns NULL on OOM;
 * a key libcrypto refuses (a point off the curve, a wrong length) is kept as not built,
 * and a signature by it is bogus. val_keys_mem: the heap it holds, roughly.
 */
struct val_keys;
struct val_keys *val_keys_new(const struct rrset *keys);
size_t val_keys_mem(const struct val_keys *vk);
void val_keys_free(struct val_keys *vk);	/* NULL is fine */

/*
 * Checks s against the DNSKEY RRset keys of zone (already validated, or being validated
 * when s is that RRset itself) at wall-clock time now (seconds since the epoch); kept is
 * val_keys_new(keys), or NULL to build each key as it is tried. Only keys whose index has
 * its bit set in keymask are tried (UINT64_MAX: all; the first 64 keys). Secure when one
 * RRSIG by zone, in its validity window, verifies with a matching key.
 */
void val_verify(const struct val_set *s, const uint8_t *zone, const struct rrset *keys,
    const struct val_keys *kept, uint64_t keymask, uint32_t now, struct val_budget *b,
    struct val_out *out);

/*
 * The chain of trust's step into zone: the DNSKEY RRset dnskey (with its RRSIGs) against
 * the validated DS RRset of the parent (or an anchor's DS), or a DNSKEY trust anchor
 * (anchor_keys, checked by RDATA). Secure when a key a DS (or anchor) names signs the
 * RRset; insecure when no DS has an algorithm and digest supported here (RFC 6840 5.2);
 * bogus otherwise (EDE 9 when no key matches).
 */
void val_dnskey(const uint8_t *zone, const struct rrset *ds, const struct rrset *anchor_keys,
    const struct val_set *dnskey, uint32_t now, struct val_budget *b, struct val_out *out);

/* What validated NSEC/NSEC3 records prove about a name. */
enum proof {
	PROOF_NONE,		/* nothing: a negative answer so backed is bogus */
	PROOF_NXDOMAIN,		/* the name does not exist, nor a wildcard that covers it */
	PROOF_NODATA,		/* the name (or the wildcard that covers it) has no such type */
	PROOF_INSECURE,		/* an opt-out span or NSEC3 parameters a validator ignores */
	PROOF_REFERRAL,		/* DS query only: an unsigned delegation (NS, no DS, no SOA) */
	PROOF_NOT_CUT,		/* DS query only: the name exists and is no zone cut */
};

/*
 * What sets (NSEC or NSEC3, each validated by the caller; others ignored) of zone prove
 * about (qname, qtype). For a DS query the answers PROOF_REFERRAL and PROOF_NOT_CUT say
 * what the name is, for the chain of trust.
 */
enum proof val_denial(const uint8_t *zone, const uint8_t *qname, uint16_t qtype,
    const struct val_set *sets, size_t n, struct val_budget *b);

/*
 * A positive answer expanded from a wildcard (RRSIG labels < the owner's): that qname
 * itself does not exist, as sets show. The closest encloser is qname cut to labels.
 */
bool val_wildcard_ok(const uint8_t *zone, const uint8_t *qname, int labels,
    const struct val_set *sets, size_t n, struct val_budget *b);

#endif
