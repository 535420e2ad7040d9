/* sign.h: Ed25519 signatures of zone events (libsodium): keys, trusted-key files, headers. */
#ifndef STREAMDNS_SIGN_H
#define STREAMDNS_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

/*
 * The Kafka message headers that carry a signature, in base64 (text, so that any Kafka
 * tool can show and set them, kcat -H among them).
 */
#define SIGN_HDR_SIG	"streamdns-sig"	/* Ed25519 signature, 64 octets */
#define SIGN_HDR_KEY	"streamdns-key"	/* the signer's public key, 32 octets */

#define SIGN_PK_LEN	crypto_sign_PUBLICKEYBYTES
#define SIGN_SK_LEN	crypto_sign_SECRETKEYBYTES
#define SIGN_SIG_LEN	crypto_sign_BYTES
#define SIGN_MAX_KEYS	256

struct trusted_keys {
	size_t	n;
	uint8_t	pk[SIGN_MAX_KEYS][SIGN_PK_LEN];
	char	name[SIGN_MAX_KEYS][64];
};

/*
 * What is signed: topic, key and value (value == NULL for a tombstone, distinct from an
 * empty value), each length-prefixed behind a domain-separation tag, so that a signature
 * cannot be moved to another topic, another key, or turn a deletion into data.
 */
int sign_event(const uint8_t sk[SIGN_SK_LEN], const char *topic, const void *key,
    size_t keylen, const void *value, size_t valuelen, uint8_t sig[SIGN_SIG_LEN]);
/*
 * The two header values of a signed event, in base64 (NUL-terminated): the signature
 * and the signer's public key (the end of a libsodium Ed25519 secret key).
 */
#define SIGN_SIG64_LEN	sodium_base64_ENCODED_LEN(SIGN_SIG_LEN, sodium_base64_VARIANT_ORIGINAL)
#define SIGN_PK64_LEN	sodium_base64_ENCODED_LEN(SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL)
void sign_event_headers(const uint8_t sk[SIGN_SK_LEN], const char *topic, const void *key,
    size_t keylen, const void *value, size_t valuelen, char sig64[SIGN_SIG64_LEN],
    char pk64[SIGN_PK64_LEN]);
bool sign_verify(const uint8_t pk[SIGN_PK_LEN], const char *topic, const void *key,
    size_t keylen, const void *value, size_t valuelen, const uint8_t sig[SIGN_SIG_LEN]);

/*
 * Key files. keygen writes the secret key (base64, mode 0600) to path and the public key
 * to path.pub as "<base64> <name>". Returns 0 or -1 with err filled.
 */
int sign_keygen(const char *path, const char *name, char *err, size_t errlen);
int sign_load_secret(const char *path, uint8_t sk[SIGN_SK_LEN], char *err, size_t errlen);
/* A trusted-keys file: one "<base64 public key> [name]" per line, '#' comments. */
int sign_load_trusted(const char *path, struct trusted_keys *tk, char *err, size_t errlen);
/* The trusted key whose base64 is b64 (b64len octets, not terminated), or -1. */
int sign_find_trusted(const struct trusted_keys *tk, const char *b64, size_t b64len);
/* Decodes a base64 signature header; 0 or -1. */
int sign_decode_sig(const char *b64, size_t b64len, uint8_t sig[SIGN_SIG_LEN]);

#endif
