/*
 * fuzz_keys.c: libFuzzer harness for the authorized_keys parser
 * (authd/keys.c, keys_parse), which the master runs on the file and on
 * enrollment requests, and authd on what the master hands it.  Options
 * (from=, expiry-time=, policy=), base64 and the Ed25519 key itself are
 * all reached from here.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyset	ks;
	char		err[256];
	int		i;

	memset(&ks, 0, sizeof(ks));
	err[0] = '\0';
	if (keys_parse((const char *)data, size, &ks, err, sizeof(err)) == 0) {
		/* Every key kept is findable by its ID, and IDs are unique. */
		for (i = 0; i < ks.n; i++)
			if (keys_find(&ks, ks.keys[i].id) != &ks.keys[i])
				abort();
		keys_free(&ks);
	} else if (err[0] == '\0')
		abort();
	return 0;
}
