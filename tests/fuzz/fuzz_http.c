/*
 * fuzz_http.c: libFuzzer harness for the request-head scanner and the
 * request and response head parsers (common/http.c), the code every
 * client byte and every Docker response head goes through.
 * Build and run: make fuzz (tests/fuzz/run.sh).
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
parse_both(const uint8_t *data, size_t len)
{
	struct http_head	h;
	size_t			i;

	memset(&h, 0, sizeof(h));
	if (http_parse_request(&h, (const char *)data, len) == 0) {
		/* What a parsed head promises its users. */
		if (h.method == NULL || h.target == NULL || h.path == NULL ||
		    h.nhdrs < 0 || h.nhdrs > HTTP_MAX_HEADERS)
			abort();
		for (i = 0; i < (size_t)h.nhdrs; i++)
			(void)http_header(&h, h.hdrs[i].name);
		(void)http_valid_target(h.target, strlen(h.target));
	}
	http_head_free(&h);
	memset(&h, 0, sizeof(h));
	(void)http_parse_response(&h, (const char *)data, len);
	http_head_free(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_scan	 s;
	struct http_limits	 l;
	const char		*why = NULL;
	size_t			 i, step;
	int			 r = 0;

	http_limits_default(&l);
	/* Feed the scanner in uneven pieces, as a network would. */
	http_scan_init(&s);
	step = size ? (data[0] % 7) + 1 : 1;
	for (i = step; i <= size + step - 1 && r == 0; i += step)
		r = http_scan(&s, &l, data, i > size ? size : i, 1, &why);
	if (r > 0) {
		if ((size_t)r > size)
			abort();
		parse_both(data, (size_t)r);
	}
	return 0;
}
