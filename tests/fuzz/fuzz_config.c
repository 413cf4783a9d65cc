/*
 * fuzz_config.c: libFuzzer harness for the settings file parser
 * (common/config.c, config_read_stream) and the child's parser of the
 * KEY=value table the master sends it (config_from_kv, which re-runs the
 * value checks: ports, addresses, durations, CIDR lists, sizes).
 *
 * The input is the file text.  What parses is turned into the table a
 * worker would receive and parsed again, as a child does at start.  The
 * raw input is also given to config_from_kv directly.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
from_kv(const char *kv)
{
	struct pw_config	c;
	char			err[512];

	if (config_from_kv(&c, kv, err, sizeof(err)) == 0)
		config_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_config	 c;
	FILE			*fp;
	char			 err[512], *text, *kv;
	unsigned		 role;

	if (size == 0 || size > 256 * 1024)
		return 0;
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	/* The file parser reads a stream; NUL bytes reach it too. */
	if ((fp = fmemopen(text, size, "r")) == NULL)
		abort();
	config_init(&c);
	if (config_read_stream(&c, fp, "fuzz.conf", err, sizeof(err)) == 0) {
		role = ROLE_WORKER << (data[0] % 3);
		kv = config_to_kv(&c, role);
		from_kv(kv);
		free(kv);
	}
	config_free(&c);
	fclose(fp);
	from_kv(text);
	free(text);
	return 0;
}
