/* ctl_dnssec.c: streamdns-ctl dnssec: the fleet secret, zones' key sets, DS, rollovers. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libknot/libknot.h>
#include <sodium.h>

#include "common/event.h"
#include "common/keyset.h"
#include "common/log.h"
#include "tools/ctl.h"

struct dnssec_opts {
	const char	*algorithm;	/* as given */
	uint8_t		 alg;		/* and as a number: ED25519 unless given */
	bool		 split, zsk, ksk, csk, write;
};

static int
opt_algorithm(void *dst, const char *arg)
{
	struct dnssec_opts *o = dst;

	if (strcasecmp(arg, "ed25519") == 0)
		o->alg = DNSSEC_ALG_ED25519;
	else if (strcasecmp(arg, "ecdsap256sha256") == 0)
		o->alg = DNSSEC_ALG_ECDSAP256SHA256;
	else {
		fprintf(stderr, CTL_NAME " dnssec: unknown algorithm '%s' (ed25519, "
		    "ecdsap256sha256)\n", arg);
		return -1;
	}
	o->algorithm = arg;
	return 0;
}

/* Row i of the table is bit i of a subcommand's allowed options. */
static const struct ctl_option dnssec_options[] = {
	{ "algorithm", 0, "ALG", opt_algorithm, "enable: ed25519 (default) or ecdsap256sha256",
	    0 },
	{ "split", 0, NULL, NULL, "enable: a KSK and a ZSK instead of one CSK",
	    offsetof(struct dnssec_opts, split) },
	{ "zsk", 0, NULL, NULL, "rollover: roll the ZSK (pre-publish)",
	    offsetof(struct dnssec_opts, zsk) },
	{ "ksk", 0, NULL, NULL, "rollover: roll the KSK (double DS)",
	    offsetof(struct dnssec_opts, ksk) },
	{ "csk", 0, NULL, NULL, "rollover: roll the CSK (double DS)",
	    offsetof(struct dnssec_opts, csk) },
	{ "write", 0, NULL, NULL, "ds: also write the DS RRset into the parent zone, when "
	    "that is on the topic", offsetof(struct dnssec_opts, write) },
};

#define OPT_ALGORITHM	(1u << 0)
#define OPT_SPLIT	(1u << 1)
#define OPT_ROLES	(7u << 2)
#define OPT_WRITE	(1u << 5)
#define NOPTIONS	(sizeof(dnssec_options) / sizeof(dnssec_options[0]))

static const struct ctl_optset dnssec_optset = {
	"dnssec secret FILE | enable ZONE [--algorithm ALG] [--split] | ds ZONE [--write] |\n"
	"    status [ZONE] | rollover ZONE --zsk|--ksk|--csk | disable ZONE | reseal ZONE",
	"Manages zones' DNSSEC key sets (one event per zone, key \"<zone>|DNSSEC\", private\n"
	"keys sealed with the fleet secret of [dnssec] secret-file). Timings come from the\n"
	"zone's TTLs and [dnssec] propagation-delay. When the parent zone is on the topic,\n"
	"enable, KSK/CSK rollovers and disable also write the zone's DS RRset there.",
	dnssec_options, NOPTIONS,
};

/* A zone as the topic holds it, with what the timings need. */
struct zone_ctx {
	const char		*cmd;
	struct ctl_state	*st;
	uint8_t			 zone[DNAME_MAXLEN];
	char			 name[DNAME_STRLEN];
	const uint8_t		*parent;	/* the parent zone on the topic, or NULL */
	struct keyset		*ks;		/* the zone's keys; empty when unsigned */
	struct rrset		*ds;		/* the DS RRset a command decided on */
	time_t			 now;
	uint32_t		 dnskey_ttl;	/* authd serves DNSKEY with the SOA's TTL */
	uint32_t		 ds_ttl;	/* the parent's SOA TTL, else dnskey_ttl */
	uint32_t		 max_ttl;	/* of every RRset, the negative TTL too */
	uint32_t		 delay;		/* [dnssec] propagation-delay, seconds */
	struct keyset_secrets	 secrets;	/* when the command needs them */
	const uint8_t		*secret;	/* the first: new seals are made with it */
};

/* A subcommand: run() takes the operands; zone_run() the zone they name, read for it. */
struct dnssec_sub {
	const char	*name;
	int		(*run)(struct ctl *c, const struct dnssec_opts *o, char **args);
	int		(*zone_run)(struct ctl *c, const struct dnssec_opts *o, struct zone_ctx *z);
	bool		 secret;	/* zone_run needs the fleet secret */
	int		 nmin, nmax;	/* operands */
	unsigned	 allowed;	/* options, bits of dnssec_options */
	unsigned	 one_of;	/* of these options, exactly one */
};

/* ---- printing ---- */

static const char *
time_text(time_t t, char *buf, size_t len)
{
	if (keyset_time_str(t, buf, len) != 0)
		snprintf(buf, len, "-");
	return buf;
}

static const char *
key_state(const struct keyset_key *k, time_t now)
{
	if (k->remove != KEYSET_NEVER && k->remove <= now)
		return "removed";
	if (k->retire != KEYSET_NEVER && k->retire <= now)
		return "retired";
	if (keyset_signing(k, now))
		return "active";
	if (keyset_published(k, now))
		return "published";
	return "pending";
}

static void
print_key(const struct keyset_key *k, time_t now)
{
	char p[32], a[32], r[32], m[32];

	printf("  key %5u %s %s: %s (publish %s, active %s, retire %s, remove %s)\n", k->tag,
	    keyset_algorithm_name(k->algorithm), keyset_role_name(k->role), key_state(k, now),
	    time_text(k->publish, p, sizeof(p)), time_text(k->active, a, sizeof(a)),
	    time_text(k->retire, r, sizeof(r)), time_text(k->remove, m, sizeof(m)));
}

/* The next time a key of ks changes state after now, and what happens then. */
static void
print_next(const struct keyset *ks, time_t now)
{
	static const char *const what[] = { "is published", "becomes active", "retires",
	    "is removed" };
	const struct keyset_key *best = NULL;
	time_t when = 0;
	size_t step = 0;
	char t[32];

	for (size_t i = 0; i < ks->nkeys; i++) {
		const struct keyset_key *k = &ks->keys[i];
		const time_t tl[4] = { k->publish, k->active, k->retire, k->remove };

		for (size_t j = 0; j < 4; j++) {
			if (tl[j] == KEYSET_NEVER || tl[j] <= now || (best && tl[j] >= when))
				continue;
			best = k;
			when = tl[j];
			step = j;
		}
	}
	if (best == NULL)
		printf("  next: nothing scheduled\n");
	else
		printf("  next: key %u %s at %s (in %lld s)\n", best->tag, what[step],
		    time_text(when, t, sizeof(t)), (long long)(when - now));
}

/* ---- the zone ---- */

static void
zone_free(struct zone_ctx *z)
{
	keyset_free(z->ks);
	free(z->ds);
	ctl_state_free(z->st);
	sodium_memzero(&z->secrets, sizeof(z->secrets));
}

static bool
in_zone(const struct zone_ctx *z, const struct ctl_entry *e)
{
	const uint8_t *at = ctl_rrset_zone(e->owner, e->rrset->type, ctl_state_apex, z->st);

	return at != NULL && dname_equal(at, z->zone);
}

static void
zone_ttls(struct zone_ctx *z, const struct rrset *soa, uint32_t delay_ms)
{
	const struct ctl_entry *psoa;

	z->dnskey_ttl = soa->ttl;
	z->max_ttl = rrset_soa_negative_ttl(soa);
	for (size_t i = 0; i < z->st->nentries; i++) {
		const struct ctl_entry *e = z->st->entries[i];

		if (e->rrset != NULL && e->rrset->ttl > z->max_ttl && in_zone(z, e))
			z->max_ttl = e->rrset->ttl;
	}
	psoa = z->parent ? ctl_index_get(z->st->index, z->parent, KNOT_RRTYPE_SOA) : NULL;
	z->ds_ttl = psoa != NULL ? psoa->rrset->ttl : z->dnskey_ttl;
	z->delay = (uint32_t)(((int64_t)delay_ms + 999) / 1000);
}

/* Parses the zone's key set from the state; an empty set if it has none. */
static int
zone_keyset(struct zone_ctx *z)
{
	const struct ctl_keyset *k = ctl_state_keyset(z->st, z->zone);
	char err[512];

	if (k == NULL || k->value == NULL) {
		if ((z->ks = keyset_new(z->zone)) == NULL)
			fatalx("out of memory");
		return 0;
	}
	if ((z->ks = keyset_parse(z->zone, k->value, k->len, err, sizeof(err))) == NULL) {
		fprintf(stderr, CTL_NAME " dnssec %s: the key set of %s on the topic is invalid "
		    "(authd rejects it too): %s\n", z->cmd, z->name, err);
		return -1;
	}
	return 0;
}

static int
load_secret(const struct ctl *c, const char *cmd, struct keyset_secrets *secrets)
{
	char err[512];

	if (c->conf.dnssec_secret_file == NULL) {
		fprintf(stderr, CTL_NAME " dnssec %s: no fleet secret: give -c with an INI whose "
		    "[dnssec] secret-file names it (make one with dnssec secret FILE)\n", cmd);
		return -1;
	}
	if (keyset_secrets_load(c->conf.dnssec_secret_file, secrets, err, sizeof(err)) != 0) {
		fprintf(stderr, CTL_NAME " dnssec %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

/*
 * Reads the fleet secret when need_secret (first: a configuration error needs no broker),
 * then the topic and the zone NAME in it. Returns CTL_OK, or CTL_USAGE / CTL_FAIL after
 * printing why; z is to be freed either way.
 */
static int
zone_load(struct ctl *c, const char *cmd, const char *name, bool need_secret,
    struct zone_ctx *z)
{
	const struct ctl_entry *soa;
	const uint8_t *up;

	memset(z, 0, sizeof(*z));
	z->cmd = cmd;
	if (dname_from_str(name, NULL, z->zone) < 0) {
		fprintf(stderr, CTL_NAME " dnssec %s: '%s' is not a domain name\n", cmd, name);
		return CTL_USAGE;
	}
	dname_lower(z->zone);
	dname_to_str(z->zone, z->name, sizeof(z->name));
	if (need_secret && load_secret(c, cmd, &z->secrets) != 0)
		return CTL_USAGE;
	z->secret = z->secrets.s[0];
	if ((z->st = ctl_state_read(c)) == NULL)
		return CTL_FAIL;
	z->now = time(NULL);
	soa = ctl_index_get(z->st->index, z->zone, KNOT_RRTYPE_SOA);
	if (soa == NULL || soa->rrset == NULL) {
		fprintf(stderr, CTL_NAME " dnssec %s: no zone %s in %s (no SOA RRset at that "
		    "name)\n", cmd, z->name, c->topic);
		return CTL_FAIL;
	}
	up = dname_parent(z->zone);
	z->parent = up != NULL ? ctl_zone_of(up, ctl_state_apex, z->st) : NULL;
	zone_ttls(z, soa->rrset, c->conf.dnssec_delay);
	return zone_keyset(z) == 0 ? CTL_OK : CTL_FAIL;
}

/*
 * Opens the zone's keys with one of the secrets. One set is sealed with one secret, so
 * keys sealed with a later one of secret-file (a rotation under way) are sealed anew with
 * the first, which new keys are sealed with. Returns -1 (said why), 0, or 1 when resealed.
 */
static int
zone_unseal(struct zone_ctx *z)
{
	char err[512];
	int i;

	if ((i = keyset_unseal_any(z->ks, &z->secrets, err, sizeof(err))) < 0) {
		fprintf(stderr, CTL_NAME " dnssec %s: %s: %s\n", z->cmd, z->name, err);
		return -1;
	}
	if (i == 0)
		return 0;
	if (keyset_reseal(z->ks, z->secrets.s[i], z->secret, err, sizeof(err)) != 0) {
		fprintf(stderr, CTL_NAME " dnssec %s: %s: %s\n", z->cmd, z->name, err);
		return -1;
	}
	printf("; %s: keys sealed anew with the first secret of secret-file\n", z->name);
	return 1;
}


/* ---- DS ---- */

/* The DS RRset the parent should hold now; NULL when there is none. */
static struct rrset *
ds_rrset(const struct zone_ctx *z)
{
	struct rrset_builder b;
	struct rrset *rs = NULL;
	uint8_t rdata[64];

	rrset_builder_init(&b, KNOT_RRTYPE_DS);
	for (size_t i = 0; i < z->ks->nkeys; i++) {
		const struct keyset_key *k = &z->ks->keys[i];
		size_t n;

		if (!keyset_wants_ds(k, z->now))
			continue;
		if ((n = keyset_ds_rdata(z->ks, k, rdata, sizeof(rdata))) == 0 ||
		    rrset_builder_add(&b, z->ds_ttl, rdata, (uint16_t)n) != 0)
			fatalx("cannot build a DS RRset");
	}
	if (b.count > 0 && (rs = rrset_builder_finish(&b)) == NULL)
		fatalx("out of memory");
	rrset_builder_clear(&b);
	return rs;
}

static void
print_ds(const struct zone_ctx *z, const struct rrset *ds)
{
	if (ds == NULL)
		printf("; no DS for %s: the parent should hold none\n", z->name);
	else if (ctl_print_rrset(stdout, z->zone, ds, "") != 0)
		fprintf(stderr, CTL_NAME " dnssec %s: the DS RRset cannot be written as text\n",
		    z->cmd);
}

/* ---- producing ---- */

static char *
zone_event_key(const char *owner, const char *type)
{
	size_t n = strlen(owner) + strlen(type) + 2;
	char *key = xmalloc(n);

	snprintf(key, n, "%s|%s", owner, type);
	return key;
}

/*
 * Produces what a command decided: the key set (unless NULL), and, with the parent on
 * the topic and write_ds, the DS RRset there (a tombstone when ds is NULL). The key set
 * goes first: a DS at the parent must never precede the DNSKEY it points at.
 */
static int
zone_produce(struct ctl *c, struct zone_ctx *z, const struct keyset *ks, bool write_ds,
    const struct rrset *ds)
{
	struct ctl_producer *p = ctl_producer_new(c);
	struct event_decoder *dec;
	char *key, *value, err[512];
	size_t failed;

	if (p == NULL)
		return -1;
	if (ks != NULL) {
		if ((value = keyset_encode(ks)) == NULL)
			fatalx("out of memory");
		key = zone_event_key(z->name, KEYSET_TYPE_NAME);
		ctl_produce(p, key, value);
		free(key);
	}
	if (write_ds && z->parent != NULL) {
		if ((dec = event_decoder_new()) == NULL)
			fatalx("out of memory");
		if (ds == NULL)
			ctl_produce(p, key = zone_event_key(z->name, "DS"), NULL);
		else if (ctl_event_make(dec, z->zone, ds, &key, &value, err, sizeof(err)) == 0)
			ctl_produce(p, key, value);
		else
			fatalx("the DS RRset of %s does not encode: %s", z->name, err);
		free(key);
		event_decoder_free(dec);
	}
	failed = ctl_producer_finish(p);
	ctl_producer_free(p);
	return failed == 0 ? 0 : -1;
}

static void
print_parent(const struct zone_ctx *z, bool written, bool deleted)
{
	char parent[DNAME_STRLEN];

	if (z->parent == NULL) {
		printf("; the parent zone is not on the topic: %s the DS RRset there yourself "
		    "(CDS/CDNSKEY are published for it)\n", deleted ? "delete" : "put");
		return;
	}
	dname_to_str(z->parent, parent, sizeof(parent));
	if (written)
		printf("; %s the DS RRset in %s, on the topic\n", deleted ? "deleted" : "wrote",
		    parent);
}

/* Where the new DS RRset went, then the RRset itself. */
static void
print_new_ds(const struct zone_ctx *z)
{
	print_parent(z, true, false);
	print_ds(z, z->ds);
}

/* ---- subcommands ---- */

static int
sub_secret(struct ctl *c, const struct dnssec_opts *o, char **args)
{
	char err[512];

	if (keyset_secret_new(args[0], err, sizeof(err)) != 0) {
		fprintf(stderr, CTL_NAME " dnssec secret: %s\n", err);
		return CTL_FAIL;
	}
	printf("fleet secret in %s (mode 0600): name it in every authd's [dnssec] secret-file, "
	    "and keep a copy: the zones' private keys open with it only\n", args[0]);
	return CTL_OK;
}

/* Initial keys: the zone was unsigned, no cache holds a DNSKEY RRset to wait for. */
static int
sub_enable(struct ctl *c, const struct dnssec_opts *o, struct zone_ctx *z)
{
	keyset_prune(z->ks, z->now);
	if (z->ks->nkeys > 0) {
		fprintf(stderr, CTL_NAME " dnssec enable: %s is signed already (%zu keys; see "
		    "dnssec status, or roll keys with dnssec rollover)\n", z->name, z->ks->nkeys);
		return CTL_FAIL;
	}
	for (int i = 0; i < (o->split ? 2 : 1); i++) {
		enum keyset_role role = !o->split ? KEY_CSK : i == 0 ? KEY_KSK : KEY_ZSK;
		struct keyset_key *k = keyset_generate(z->ks, o->alg, role, z->secret);

		if (k == NULL)
			fatalx("cannot generate a %s key", keyset_algorithm_name(o->alg));
		k->publish = k->active = z->now;
	}
	z->ds = ds_rrset(z);
	if (zone_produce(c, z, z->ks, true, z->ds) != 0)
		return CTL_FAIL;
	printf("; %s signed with %s: %s\n", z->name, keyset_algorithm_name(o->alg),
	    o->split ? "a KSK and a ZSK" : "one CSK");
	for (size_t i = 0; i < z->ks->nkeys; i++)
		print_key(&z->ks->keys[i], z->now);
	print_new_ds(z);
	return CTL_OK;
}

static int
sub_ds(struct ctl *c, const struct dnssec_opts *o, struct zone_ctx *z)
{
	z->ds = ds_rrset(z);
	if (o->write && zone_produce(c, z, NULL, true, z->ds) != 0)
		return CTL_FAIL;
	print_ds(z, z->ds);
	if (o->write)
		print_parent(z, true, z->ds == NULL);
	return CTL_OK;
}

static void
status_zone(const struct ctl_keyset *k, time_t now)
{
	char name[DNAME_STRLEN], err[512];
	struct keyset *ks;

	dname_to_str(k->zone, name, sizeof(name));
	if (k->value == NULL) {
		printf("zone %s: key set deleted (unsigned)\n", name);
		return;
	}
	if ((ks = keyset_parse(k->zone, k->value, k->len, err, sizeof(err))) == NULL) {
		printf("zone %s: invalid key set (authd rejects it): %s\n", name, err);
		return;
	}
	printf("zone %s: %zu key(s)%s\n", name, ks->nkeys, ks->nkeys == 0 ? " (unsigned)" : "");
	for (size_t i = 0; i < ks->nkeys; i++)
		print_key(&ks->keys[i], now);
	print_next(ks, now);
	keyset_free(ks);
}

static int
sub_status(struct ctl *c, const struct dnssec_opts *o, char **args)
{
	uint8_t zone[DNAME_MAXLEN];
	struct ctl_keyset *k = NULL;
	struct ctl_state *st;
	time_t now = time(NULL);
	char t[32];

	if (args[0] != NULL && dname_from_str(args[0], NULL, zone) < 0) {
		fprintf(stderr, CTL_NAME " dnssec status: '%s' is not a domain name\n", args[0]);
		return CTL_USAGE;
	}
	if (args[0] != NULL)		/* without a zone, every zone: zone is not set */
		dname_lower(zone);
	if ((st = ctl_state_read(c)) == NULL)
		return CTL_FAIL;
	printf("; DNSSEC key sets of %s at %s, now %s\n", c->topic, c->brokers,
	    time_text(now, t, sizeof(t)));
	if (args[0] != NULL && (k = ctl_state_keyset(st, zone)) == NULL)
		printf("zone %s: no key set (unsigned)%s\n", args[0], ctl_state_apex(st, zone) ?
		    "" : "; no such zone either");
	else if (k != NULL)
		status_zone(k, now);
	for (size_t i = 0; args[0] == NULL && i < st->nkeysets; i++)
		status_zone(st->keysets[i], now);
	ctl_state_free(st);
	return CTL_OK;
}

/* The key of role that signs now and is not leaving; NULL after printing why not. */
static struct keyset_key *
rollover_old(struct zone_ctx *z, enum keyset_role role)
{
	struct keyset_key *old = NULL;
	char t[32];

	for (size_t i = 0; i < z->ks->nkeys; i++) {
		struct keyset_key *k = &z->ks->keys[i];

		if (k->role != role || (k->retire != KEYSET_NEVER && k->retire <= z->now))
			continue;
		if (!keyset_signing(k, z->now) && k->retire == KEYSET_NEVER) {
			fprintf(stderr, CTL_NAME " dnssec rollover: a %s rollover of %s is in "
			    "progress: key %u becomes active at %s; roll again after that\n",
			    keyset_role_name(role), z->name, k->tag,
			    time_text(k->active, t, sizeof(t)));
			return NULL;
		}
		if (k->retire == KEYSET_NEVER)
			old = k;
	}
	if (old == NULL)
		fprintf(stderr, CTL_NAME " dnssec rollover: %s has no %s in use to roll%s\n",
		    z->name, keyset_role_name(role), z->ks->nkeys == 0 ? " (it is unsigned: "
		    "dnssec enable)" : " (see dnssec status)");
	return old;
}

/*
 * RFC 6781 4.1.1.1 (ZSK pre-publish) and 4.1.2 (KSK double-DS), timed as RFC 7583 says:
 * the new key signs once every cache that may hold the DNSKEY RRset (and, for a key with
 * a DS, the DS RRset) has seen it; the old one stays published until every signature it
 * made (and every cached DNSKEY RRset) has expired.
 */
static void
rollover_times(const struct zone_ctx *z, struct keyset_key *old, struct keyset_key *new)
{
	uint32_t wait = z->dnskey_ttl, keep = z->max_ttl;

	if (new->role != KEY_ZSK) {
		wait = z->ds_ttl > wait ? z->ds_ttl : wait;
		keep = z->dnskey_ttl > keep ? z->dnskey_ttl : keep;
	}
	/*
	 * The times are whole seconds and now was rounded down, so the key set reaches the
	 * instances up to a second after publish: one more second keeps the rule exact.
	 */
	new->publish = z->now;
	new->active = z->now + 1 + wait + z->delay;
	old->retire = new->active;
	old->remove = old->retire + keep + z->delay;
}

static int
sub_rollover(struct ctl *c, const struct dnssec_opts *o, struct zone_ctx *z)
{
	enum keyset_role role = o->zsk ? KEY_ZSK : o->ksk ? KEY_KSK : KEY_CSK;
	struct keyset_key *old, *new;

	keyset_prune(z->ks, z->now);
	if ((old = rollover_old(z, role)) == NULL || zone_unseal(z) < 0)
		return CTL_FAIL;
	if ((new = keyset_generate(z->ks, old->algorithm, role, z->secret)) == NULL) {
		fprintf(stderr, CTL_NAME " dnssec rollover: %s: no room for another key (%d at "
		    "most)\n", z->name, KEYSET_KEYS_MAX);
		return CTL_FAIL;
	}
	rollover_times(z, old, new);
	z->ds = role != KEY_ZSK ? ds_rrset(z) : NULL;
	if (zone_produce(c, z, z->ks, role != KEY_ZSK, z->ds) != 0)
		return CTL_FAIL;
	printf("; %s rollover of %s (DNSKEY TTL %u, DS TTL %u, largest TTL %u, propagation "
	    "delay %u s)\n", keyset_role_name(role), z->name, z->dnskey_ttl, z->ds_ttl,
	    z->max_ttl, z->delay);
	print_key(new, z->now);
	print_key(old, z->now);
	if (role != KEY_ZSK)
		print_new_ds(z);
	return CTL_OK;
}

/*
 * Back to unsigned safely: the DS leaves the parent now, and the keys go on signing until
 * a cached DS has expired (DS TTL plus the propagation delay), then leave together.
 */
static int
sub_disable(struct ctl *c, const struct dnssec_opts *o, struct zone_ctx *z)
{
	time_t end = z->now + z->ds_ttl + z->delay;
	size_t live = 0;
	char t[32];

	keyset_prune(z->ks, z->now);
	for (size_t i = 0; i < z->ks->nkeys; i++) {
		struct keyset_key *k = &z->ks->keys[i];

		if (k->retire != KEYSET_NEVER && k->retire <= z->now)
			continue;	/* leaving already, on its own timeline */
		live += k->retire == KEYSET_NEVER;
		if (k->active != KEYSET_NEVER && k->active > end)
			k->active = KEYSET_NEVER;	/* would never sign: it never will */
		if (k->publish != KEYSET_NEVER && k->publish > end)
			k->publish = end;
		k->retire = k->remove = end;
	}
	if (live == 0) {
		fprintf(stderr, CTL_NAME " dnssec disable: %s is %s\n", z->name,
		    z->ks->nkeys == 0 ? "not signed" : "being disabled already (see dnssec "
		    "status)");
		return CTL_FAIL;
	}
	if (zone_produce(c, z, z->ks, true, NULL) != 0)
		return CTL_FAIL;
	printf("; %s: signing stops and the keys leave the zone at %s (DS TTL %u + "
	    "propagation delay %u s)\n", z->name, time_text(end, t, sizeof(t)), z->ds_ttl,
	    z->delay);
	print_parent(z, true, true);
	return CTL_OK;
}

/* reseal: the rotation of the fleet secret, one zone at a time (docs/DNSSEC.md). */
static int
sub_reseal(struct ctl *c, const struct dnssec_opts *o, struct zone_ctx *z)
{
	int rc;

	if (z->ks->nkeys == 0) {
		fprintf(stderr, CTL_NAME " dnssec reseal: %s is not signed\n", z->name);
		return CTL_FAIL;
	}
	if ((rc = zone_unseal(z)) < 0)
		return CTL_FAIL;
	if (rc == 0) {
		printf("; %s: its keys are sealed with the first secret already\n", z->name);
		return CTL_OK;
	}
	return zone_produce(c, z, z->ks, false, NULL) == 0 ? CTL_OK : CTL_FAIL;
}

static const struct dnssec_sub subs[] = {
	{ "secret", sub_secret, NULL, false, 1, 1, 0, 0 },
	{ "enable", NULL, sub_enable, true, 1, 1, OPT_ALGORITHM | OPT_SPLIT, 0 },
	{ "ds", NULL, sub_ds, false, 1, 1, OPT_WRITE, 0 },
	{ "status", sub_status, NULL, false, 0, 1, 0, 0 },
	{ "rollover", NULL, sub_rollover, true, 1, 1, OPT_ROLES, OPT_ROLES },
	{ "disable", NULL, sub_disable, false, 1, 1, 0, 0 },
	{ "reseal", NULL, sub_reseal, true, 1, 1, 0, 0 },
};

/* Reads the zone a subcommand names, runs it, frees the zone. */
static int
run_sub(struct ctl *c, const struct dnssec_sub *s, const struct dnssec_opts *o, char **args)
{
	struct zone_ctx z;
	int rc;

	if (s->zone_run == NULL)
		return s->run(c, o, args);
	if ((rc = zone_load(c, s->name, args[0], s->secret, &z)) == CTL_OK)
		rc = s->zone_run(c, o, &z);
	zone_free(&z);
	return rc;
}

/* The options given, as bits of dnssec_options. */
static unsigned
options_given(const struct dnssec_opts *o)
{
	return (o->algorithm != NULL) << 0 | o->split << 1 | o->zsk << 2 | o->ksk << 3 |
	    o->csk << 4 | o->write << 5;
}

int
ctl_cmd_dnssec(struct ctl *c, int argc, char **argv)
{
	struct dnssec_opts o = { 0 };
	char **ops = xcalloc((size_t)argc + 2, sizeof(*ops));
	const struct dnssec_sub *s = NULL;
	int i = 0, n, rc = CTL_USAGE;
	unsigned extra;

	if ((n = ctl_options_parse(&dnssec_optset, &o, argc, argv, &i, true, ops)) < 0)
		goto out;
	for (size_t k = 0; n > 0 && k < sizeof(subs) / sizeof(subs[0]); k++)
		if (strcmp(ops[0], subs[k].name) == 0)
			s = &subs[k];
	if (s == NULL) {
		fprintf(stderr, "usage: " CTL_NAME " [GLOBAL OPTIONS] %s\n%s",
		    dnssec_optset.synopsis, n > 0 ? "" : "(see dnssec --help)\n");
		if (n > 0)
			fprintf(stderr, CTL_NAME " dnssec: unknown subcommand '%s'\n", ops[0]);
		goto out;
	}
	if (n - 1 < s->nmin || n - 1 > s->nmax) {
		fprintf(stderr, CTL_NAME " dnssec %s: wrong number of operands (see dnssec "
		    "--help)\n", s->name);
		goto out;
	}
	if ((extra = options_given(&o) & ~s->allowed) != 0) {
		fprintf(stderr, CTL_NAME " dnssec %s: option --%s does not apply\n", s->name,
		    dnssec_options[__builtin_ctz(extra)].name);
		goto out;
	}
	if (s->one_of != 0 && __builtin_popcount(options_given(&o) & s->one_of) != 1) {
		fprintf(stderr, CTL_NAME " dnssec %s: give one of", s->name);
		for (size_t k = 0; k < NOPTIONS; k++)
			if (s->one_of & (1u << k))
				fprintf(stderr, " --%s", dnssec_options[k].name);
		fputc('\n', stderr);
		goto out;
	}
	if (o.alg == 0)
		o.alg = DNSSEC_ALG_ED25519;
	rc = run_sub(c, s, &o, ops + 1);
out:
	free(ops);
	return rc;
}
