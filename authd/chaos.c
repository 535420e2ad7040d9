/* chaos.c: the CHAOS class: who answers (RFC 4892) and, when configured, its version. */
#include <string.h>

#include "authd/chaos.h"
#include "common/dname.h"
#include "common/wire.h"

/* The text a CH name asks for, or NULL when it is not one we answer. */
static const char *
chaos_text(const uint8_t *qname, const struct answer_opts *o)
{
	static const char *const idnames[] = { "id.server.", "hostname.bind." };
	static const char *const vernames[] = { "version.bind.", "version.server." };
	uint8_t name[DNAME_MAXLEN];
	const char *text = NULL;

	for (int i = 0; i < 2; i++) {
		if (o->identity_queries && o->identity != NULL &&
		    dname_from_str(idnames[i], NULL, name) > 0 && dname_equal(name, qname))
			text = o->identity;
		if (o->version != NULL && dname_from_str(vernames[i], NULL, name) > 0 &&
		    dname_equal(name, qname))
			text = o->version;
	}
	return text;
}

size_t
chaos_answer(uint8_t *out, size_t lim, const struct dns_query *q,
    const struct answer_opts *o, const struct env_opts *eo)
{
	struct wire_writer w;
	uint8_t txt[256];
	const char *text;
	size_t l;

	if (q->qtype != DNS_TYPE_TXT && q->qtype != DNS_TYPE_ANY)
		return 0;
	if ((text = chaos_text(q->qname, o)) == NULL)
		return 0;
	l = strlen(text) < 255 ? strlen(text) : 255;
	txt[0] = (uint8_t)l;
	memcpy(txt + 1, text, l);
	env_begin(&w, out, lim, q);
	wire_rr(&w, WIRE_AN, q->qname, DNS_TYPE_TXT, DNS_CLASS_CH, 0, txt, (uint16_t)(l + 1));
	return env_finish(&w, q, eo, DNS_RCODE_NOERROR, DNS_FLAG_AA, -1, NULL);
}
