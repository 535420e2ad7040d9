/* sign.c: Ed25519 event signatures, key generation and key files (libsodium). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/sign.h"

#define SIGN_TAG	"streamdns-event-v1"

/* Appends a 64-bit little-endian length: the format is the same on every machine. */
static unsigned char *
put_len(unsigned char *p, uint64_t l)
{
	for (int i = 0; i < 8; i++)
		*p++ = (unsigned char)(l >> (8 * i));
	return p;
}

/* The signed message: tag, then topic, key and value, each as a 64-bit length + octets. */
static int
message(const char *topic, const void *key, size_t keylen, const void *value,
    size_t valuelen, unsigned char **out, size_t *outlen)
{
	size_t tlen = strlen(topic), n = sizeof(SIGN_TAG) + 3 * 8 + 1 + tlen + keylen + valuelen;
	unsigned char *m = malloc(n), *p = m;

	if (m == NULL)
		return -1;
	memcpy(p, SIGN_TAG, sizeof(SIGN_TAG));
	p += sizeof(SIGN_TAG);
	p = put_len(p, tlen);
	memcpy(p, topic, tlen);
	p += tlen;
	p = put_len(p, keylen);
	if (keylen > 0)
		memcpy(p, key, keylen);
	p += keylen;
	*p++ = value != NULL;	/* a tombstone is not an empty value */
	p = put_len(p, valuelen);
	if (valuelen > 0)
		memcpy(p, value, valuelen);
	p += valuelen;
	*out = m;
	*outlen = (size_t)(p - m);
	return 0;
}

int
sign_event(const uint8_t sk[SIGN_SK_LEN], const char *topic, const void *key,
    size_t keylen, const void *value, size_t valuelen, uint8_t sig[SIGN_SIG_LEN])
{
	unsigned char *m;
	size_t n;

	if (message(topic, key, keylen, value, value ? valuelen : 0, &m, &n) != 0)
		return -1;
	crypto_sign_detached(sig, NULL, m, n, sk);
	free(m);
	return 0;
}

bool
sign_verify(const uint8_t pk[SIGN_PK_LEN], const char *topic, const void *key,
    size_t keylen, const void *value, size_t valuelen, const uint8_t sig[SIGN_SIG_LEN])
{
	unsigned char *m;
	size_t n;
	bool ok;

	if (message(topic, key, keylen, value, value ? valuelen : 0, &m, &n) != 0)
		return false;
	ok = crypto_sign_verify_detached(sig, m, n, pk) == 0;
	free(m);
	return ok;
}

static int
write_file(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text);

	if (fd < 0 || fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
sign_keygen(const char *path, const char *name, char *err, size_t errlen)
{
	uint8_t pk[SIGN_PK_LEN], sk[SIGN_SK_LEN];
	char b64[sodium_base64_ENCODED_LEN(SIGN_SK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char line[sizeof(b64) + 80], pubpath[4096];
	int rc;

	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(b64, sizeof(b64), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "%s\n", b64);
	rc = write_file(path, line, 0600, err, errlen);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(line, sizeof(line));
	if (rc != 0)
		return -1;
	sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "%s%s%s\n", b64, name && *name ? " " : "",
	    name ? name : "");
	snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
	return write_file(pubpath, line, 0644, err, errlen);
}

/* Decodes exactly want octets of base64 at the start of s. */
static int
b64_exact(const char *s, size_t slen, uint8_t *out, size_t want)
{
	size_t got;

	if (sodium_base642bin(out, want, s, slen, NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || got != want)
		return -1;
	return 0;
}

int
sign_load_secret(const char *path, uint8_t sk[SIGN_SK_LEN], char *err, size_t errlen)
{
	char buf[256];
	long n = conf_read_small_file(path, "", buf, sizeof(buf), err, errlen);

	if (n < 0)
		return -1;
	if (b64_exact(buf, (size_t)n, sk, SIGN_SK_LEN) != 0) {
		snprintf(err, errlen, "%s: not an Ed25519 secret key (base64 of %d octets)",
		    path, SIGN_SK_LEN);
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

/* One line of a trusted-keys file; 0 when it held a key, 1 when blank, -1 when bad. */
static int
trusted_line(char *line, struct trusted_keys *tk)
{
	char *p = line, *end, *hash = strchr(line, '#');

	if (hash != NULL)
		*hash = '\0';
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 1;
	for (end = p; *end != '\0' && !isspace((unsigned char)*end); end++)
		;
	if (tk->n == SIGN_MAX_KEYS || b64_exact(p, (size_t)(end - p), tk->pk[tk->n],
	    SIGN_PK_LEN) != 0)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	snprintf(tk->name[tk->n], sizeof(tk->name[0]), "%.*s", (int)strcspn(end, "\r\n"), end);
	tk->n++;
	return 0;
}

int
sign_load_trusted(const char *path, struct trusted_keys *tk, char *err, size_t errlen)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int lineno = 0;

	memset(tk, 0, sizeof(*tk));
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (trusted_line(line, tk) < 0) {
			snprintf(err, errlen, "%s:%d: not an Ed25519 public key in base64%s",
			    path, lineno, tk->n == SIGN_MAX_KEYS ? " (too many keys)" : "");
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	if (tk->n == 0) {
		snprintf(err, errlen, "%s: no keys", path);
		return -1;
	}
	return 0;
}

int
sign_decode_sig(const char *b64, size_t b64len, uint8_t sig[SIGN_SIG_LEN])
{
	return b64_exact(b64, b64len, sig, SIGN_SIG_LEN);
}

int
sign_find_trusted(const struct trusted_keys *tk, const char *b64, size_t b64len)
{
	uint8_t pk[SIGN_PK_LEN];

	if (b64_exact(b64, b64len, pk, SIGN_PK_LEN) != 0)
		return -1;
	for (size_t i = 0; i < tk->n; i++)
		if (sodium_memcmp(tk->pk[i], pk, SIGN_PK_LEN) == 0)
			return (int)i;
	return -1;
}

void
sign_event_headers(const uint8_t sk[SIGN_SK_LEN], const char *topic, const void *key,
    size_t keylen, const void *value, size_t valuelen, char sig64[SIGN_SIG64_LEN],
    char pk64[SIGN_PK64_LEN])
{
	uint8_t sig[SIGN_SIG_LEN];

	sign_event(sk, topic, key, keylen, value, valuelen, sig);
	sodium_bin2base64(sig64, SIGN_SIG64_LEN, sig, sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL);
	/* An Ed25519 secret key in libsodium's form ends with the public key. */
	sodium_bin2base64(pk64, SIGN_PK64_LEN, sk + 32, SIGN_PK_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}
