/*
 * fuzz_chunked.c: libFuzzer harness for the resumable chunked decoder
 * (common/http.c, http_chunked_step), which workers run on client bodies
 * and the proxy on Docker's.  The first two bytes choose how the rest is
 * split into reads and how much one call may move, so the decoder's
 * resumption at every state boundary is exercised.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_chunked	 c;
	struct evbuffer		*in, *out;
	const char		*why = NULL;
	size_t			 i, n, step, max, before, total = 0;
	int			 r = 0;

	if (size < 2)
		return 0;
	step = (data[0] % 16) + 1;
	max = (data[1] % 32) + 1;
	data += 2;
	size -= 2;
	in = evbuffer_new();
	out = evbuffer_new();
	http_chunked_init(&c);
	for (i = 0; i < size && r == 0; i += step) {
		n = size - i < step ? size - i : step;
		evbuffer_add(in, data + i, n);
		for (;;) {
			before = evbuffer_get_length(in);
			r = http_chunked_step(&c, in, out, max, &why);
			total += evbuffer_get_length(out);
			evbuffer_drain(out, evbuffer_get_length(out));
			if (r != 0 || evbuffer_get_length(in) == before)
				break;
		}
	}
	/* The decoder never produces more than it was given. */
	if (total > size || (r == -1 && why == NULL))
		abort();
	evbuffer_free(in);
	evbuffer_free(out);
	return 0;
}
