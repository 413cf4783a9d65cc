/*
 * fuzz_build.c: libFuzzer harness for the build inspector
 * (policy/inspect_build.c): the streaming gzip and tar reader and the
 * Dockerfile parser.
 *
 * The first byte selects what runs:
 *   0x00-0x3f    the rest is a Dockerfile (pol_dockerfile_check)
 *   0x40-0x5f    the rest is a build context, fed whole
 *   0x60-0x7f    the rest is a plugin create body, fed whole
 *   0x80-0xff    the rest is a build context, fed in pieces of
 *                (byte & 0x3f) + 1 bytes, so every split is tried
 * Bit 6 of the byte (0x40) asks for dockerfile=sub/Dockerfile in the
 * query when the context is fed in pieces.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "inspect.h"
#include "inspect_int.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
verdict_ok(const struct pol_verdict *v)
{
	if (v->status != 0 && v->status != 403 && v->status != 413)
		abort();
	if ((v->status == 0) != (v->reason[0] == '\0'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_body		 b;
	struct pol_verdict	 v, whole;
	struct pol_build	*pb;
	size_t			 step, off;
	uint8_t			 sel;

	if (size == 0 || size > 4 * 1024 * 1024)
		return 0;
	sel = data[0];
	data++;
	size--;
	memset(&v, 0, sizeof(v));
	pol_body_init(&b);
	if (sel < 0x40) {
		(void)pol_dockerfile_check((const char *)data, size, &v);
		verdict_ok(&v);
		return 0;
	}
	if (sel < 0x80) {
		pol_inspect(&b, sel < 0x60 ? PI_BUILD : PI_PLUGIN_CREATE,
		    sel < 0x60 ? "/build" : "/plugins/create", NULL, NULL, data,
		    size, 0, &v);
		verdict_ok(&v);
		return 0;
	}
	/* In pieces: the verdict must be the one a whole read gives. */
	step = (size_t)(sel & 0x3f) + 1;
	pb = pol_build_begin(&b, (sel & 0x40) ? "dockerfile=sub/Dockerfile" :
	    NULL, &v);
	for (off = 0; pb != NULL && off < size; off += step)
		if (pol_build_feed(pb, data + off, size - off < step ?
		    size - off : step) == -1)
			break;
	pol_build_end(pb);
	verdict_ok(&v);
	pol_inspect(&b, PI_BUILD, "/build", (sel & 0x40) ?
	    "dockerfile=sub/Dockerfile" : NULL, NULL, data, size, 0, &whole);
	if (whole.status != v.status)
		abort();
	return 0;
}
