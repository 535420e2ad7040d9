/* fuzz_validate.c: libFuzzer target: any answer's DNSSEC records through dnsr's validator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsr/validate.h"
#include "common/dname.h"
#include "common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SETS	16

/*
 * The message's question is the name denied; each NSEC, NSEC3, RRSIG and DNSKEY record is
 * an RRset of its own, taken as validated, and every other record is checked against the
 * DNSKEYs and RRSIGs. Nothing may crash, read out of bounds or run past its budget.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rdata[DNS_MAX_MSG];
	static uint8_t owners[MAX_SETS][DNAME_MAXLEN];
	static bool inited;
	struct rrset *rs[MAX_SETS] = { 0 }, *keys = NULL, *sigs = NULL;
	struct val_set sets[MAX_SETS];
	struct val_budget b = { VAL_BUDGET_VERIFIES, VAL_BUDGET_HASHES };
	struct val_budget bk = { VAL_BUDGET_VERIFIES, VAL_BUDGET_HASHES };
	struct val_keys *vk;
	struct val_out out, kout;
	struct wire_msg m;
	struct wire_iter it;
	struct wire_rr rr;
	struct rrset_builder kb, sb;
	uint8_t qname[DNAME_MAXLEN];
	size_t n = 0;

	if (!inited) {
		val_init();
		inited = true;
	}
	if (wire_msg_parse(data, size, &m) != 0 || !m.has_question)
		return 0;
	memcpy(qname, m.qname, dname_len(m.qname));
	dname_lower(qname);
	rrset_builder_init(&kb, DNS_TYPE_DNSKEY);
	rrset_builder_init(&sb, DNS_TYPE_RRSIG);
	wire_iter_init(&m, &it);
	while (wire_iter_next(&m, &it, &rr) == 1) {
		int len = wire_rdata_unpack(&m, &rr, rdata, sizeof(rdata));
		struct rrsig s;

		if (len < 0)
			continue;
		if (rr.type == DNS_TYPE_RRSIG) {
			(void)rrsig_parse(rdata, (size_t)len, &s);
			(void)rrset_builder_add(&sb, rr.ttl, rdata, (uint16_t)len);
			continue;
		}
		if (rr.type == DNS_TYPE_DNSKEY) {
			(void)rrset_builder_add(&kb, rr.ttl, rdata, (uint16_t)len);
			continue;
		}
		if (n == MAX_SETS)
			continue;
		struct rrset_builder one;

		rrset_builder_init(&one, rr.type);
		if (rrset_builder_add(&one, rr.ttl, rdata, (uint16_t)len) != 0 ||
		    (rs[n] = rrset_builder_finish(&one)) == NULL) {
			rrset_builder_clear(&one);
			continue;
		}
		memcpy(owners[n], rr.owner, dname_len(rr.owner));
		dname_lower(owners[n]);
		n++;
	}
	keys = rrset_builder_finish(&kb);
	sigs = rrset_builder_finish(&sb);
	/* The keys as the key cache keeps them (ECDSA built by libcrypto), and as not kept. */
	vk = keys != NULL ? val_keys_new(keys) : NULL;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *z = dname_parent(qname) != NULL ? dname_parent(qname) : qname;

		sets[i] = (struct val_set){ owners[i], rs[i], sigs, SEC_SECURE };
		if (rs[i]->type == DNS_TYPE_NSEC || rs[i]->type == DNS_TYPE_NSEC3)
			continue;
		val_verify(&sets[i], z, keys, NULL, UINT64_MAX, 1800000000u, &b, &out);
		val_verify(&sets[i], z, keys, vk, UINT64_MAX, 1800000000u, &bk, &kout);
		/* Kept or built for the occasion, a key gives the same verdict. */
		if (out.sec != kout.sec)
			abort();
	}
	val_keys_free(vk);
	for (const uint8_t *z = qname; z != NULL; z = dname_parent(z)) {
		(void)val_denial(z, qname, m.qtype, sets, n, &b);
		(void)val_wildcard_ok(z, qname, 1, sets, n, &b);
	}
	if (b.verifies < 0 || b.hashes < 0 || bk.verifies < 0)
		abort();
	for (size_t i = 0; i < n; i++)
		free(rs[i]);
	free(keys);
	free(sigs);
	return 0;
}
