/*
 * fuzz_http.c: libFuzzer harness for the request-head scanner and parser
 * and the chunked decoder (the code every client byte goes through).
 * Build: ./configure CC=clang --enable-fuzzing && make tests/fuzz/fuzz_http
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_scan	 s;
	struct http_limits	 l;
	struct http_head	 h;
	struct http_chunked	 c;
	struct evbuffer		*in, *out;
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
		memset(&h, 0, sizeof(h));
		(void)http_parse_request(&h, (const char *)data, (size_t)r);
		http_head_free(&h);
		memset(&h, 0, sizeof(h));
		(void)http_parse_response(&h, (const char *)data, (size_t)r);
		http_head_free(&h);
	}
	/* The same bytes as a chunked body. */
	in = evbuffer_new();
	out = evbuffer_new();
	http_chunked_init(&c);
	for (i = 0; i < size; i += step) {
		size_t n = size - i < step ? size - i : step;
		evbuffer_add(in, data + i, n);
		do {
			r = http_chunked_step(&c, in, out, 13, &why);
			evbuffer_drain(out, evbuffer_get_length(out));
		} while (r == 0 && evbuffer_get_length(in) > 0 &&
		    c.state == 3 /* mid-data: drain what max allowed */);
		if (r != 0)
			break;
	}
	evbuffer_free(in);
	evbuffer_free(out);
	return 0;
}
