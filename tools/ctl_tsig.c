/* ctl_tsig.c: `streamdns-ctl tsig-keygen`: a new TSIG key as an INI line and a BIND clause. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/tsig.h"
#include "tools/ctl.h"

struct keygen_opts {
	const char	*algorithm;
};

static const struct ctl_option keygen_options[] = {
	{ "algorithm", 'a', "ALGORITHM", NULL,
	    "hmac-sha256 (default), hmac-sha224, hmac-sha384, hmac-sha512, hmac-sha1, hmac-md5",
	    offsetof(struct keygen_opts, algorithm) },
};

static const struct ctl_optset keygen_optset = {
	"tsig-keygen [--algorithm ALGORITHM] NAME",
	"Prints a new TSIG key (RFC 8945) named NAME with a random secret as long as the\n"
	"algorithm's HMAC (32 octets for hmac-sha256), twice: as a line for authd.ini's\n"
	"[tsig] section, and as a BIND key clause for named.conf, nsupdate -k and dig -k.\n"
	"Nothing is written to Kafka: the key is shared with the secondaries by hand.",
	keygen_options, sizeof(keygen_options) / sizeof(keygen_options[0]),
};

int
ctl_cmd_tsig_keygen(struct ctl *c, int argc, char **argv)
{
	struct keygen_opts o = { "hmac-sha256" };
	uint8_t secret[TSIG_MAC_MAX];
	char b64[sodium_base64_ENCODED_LEN(TSIG_MAC_MAX, sodium_base64_VARIANT_ORIGINAL)];
	char value[sizeof(b64) + 32], err[256];
	struct tsig_keys *check;
	char *ops[2];
	int alg, i = 0, rc;
	size_t n;

	(void)c;
	if (ctl_options_parse(&keygen_optset, &o, argc, argv, &i, true, ops) != 1) {
		fprintf(stderr, "usage: " CTL_NAME " %s\n", keygen_optset.synopsis);
		return CTL_USAGE;
	}
	if ((alg = tsig_algorithm(o.algorithm)) < 0) {
		fprintf(stderr, CTL_NAME " tsig-keygen: unknown algorithm '%s' (see --help)\n",
		    o.algorithm);
		return CTL_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, CTL_NAME " tsig-keygen: libsodium cannot start\n");
		return CTL_FAIL;
	}
	n = tsig_algorithm_size(alg);
	randombytes_buf(secret, n);
	sodium_bin2base64(b64, sizeof(b64), secret, n, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(secret, sizeof(secret));
	snprintf(value, sizeof(value), "%s:%s", o.algorithm, b64);
	/* The key must load as authd will load it (the name above all). */
	if ((check = tsig_keys_new()) == NULL)
		return CTL_FAIL;
	rc = tsig_keys_add(check, ops[0], value, err, sizeof(err));
	tsig_keys_free(check);
	if (rc != 0) {
		fprintf(stderr, CTL_NAME " tsig-keygen: %s\n", err);
		return CTL_USAGE;
	}
	printf("%s = %s\n", ops[0], value);
	printf("key \"%s\" { algorithm %s; secret \"%s\"; };\n", ops[0], o.algorithm, b64);
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(value, sizeof(value));
	return CTL_OK;
}
