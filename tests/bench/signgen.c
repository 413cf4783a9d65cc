/*
 * signgen.c: pre-sign N requests for the signed-request benchmark.
 * usage: signgen KEYFILE METHOD TARGET N  ->  "keyid ts nonce sig" lines
 * Each line carries a fresh nonce, so wrk can replay none of them twice.
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pwcrypto.h"
#include "util.h"

int
main(int argc, char **argv)
{
	EVP_PKEY	*pk;
	uint8_t		 raw[32], sig[64], nb[16];
	char		 err[256], kid[17], ts[32], nonce[33], s64[100], bh[65];
	char		*canon;
	long		 n, i;

	if (argc != 5 || (n = atol(argv[4])) <= 0) {
		fprintf(stderr, "usage: signgen KEYFILE METHOD TARGET N\n");
		return 2;
	}
	if (pwc_load_private_file(argv[1], &pk, err, sizeof(err)) == -1) {
		fprintf(stderr, "signgen: %s\n", err);
		return 1;
	}
	pwc_raw_public(pk, raw);
	pwc_key_id(raw, kid);
	pwc_sha256_hex("", 0, bh);
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	for (i = 0; i < n; i++) {
		pw_random_bytes(nb, sizeof(nb));
		pw_hex_encode(nb, sizeof(nb), nonce, sizeof(nonce));
		canon = pwc_canonical(argv[2], argv[3], bh, ts, nonce);
		if (pwc_sign(pk, canon, strlen(canon), sig) == -1)
			return 1;
		free(canon);
		pwc_b64url_encode_nopad(sig, sizeof(sig), s64, sizeof(s64));
		printf("%s %s %s %s\n", kid, ts, nonce, s64);
	}
	EVP_PKEY_free(pk);
	return 0;
}
