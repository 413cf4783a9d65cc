/*
 * fuzz_dagent.c: libFuzzer harness for dockeragent's request checks in
 * the worker (agent/dagentwire.c): a create body (checks, then Docker's
 * configuration), a stop body, a file write body, and the same bytes as the query of the
 * list, remove and logs routes.  Every value it hands the proxy must be
 * a valid header field value.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dagentwire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_fields(struct da_call *c)
{
	int		i;
	const char	*p;

	for (i = 0; i < c->n; i++)
		for (p = c->value[i]; *p != '\0'; p++)
			if (((unsigned char)*p < 0x20 && *p != '\t') ||
			    *p == 0x7f)
				abort();
	da_call_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct da_call		c;
	struct da_result	r;
	char			*q;

	memset(&c, 0, sizeof(c));
	(void)da_create((const char *)data, size, &c, &r);
	check_fields(&c);
	(void)da_stop((const char *)data, size, &c, &r);
	check_fields(&c);
	{
		char	*content = NULL;
		size_t	 clen = 0;
		if (da_files((const char *)data, size, "/srv\0/etc/a\0", &c,
		    &r, &content, &clen) == 0 && (c.n != 2 ||
		    (clen == 0) != (content == NULL)))
			abort();
		free(content);
		check_fields(&c);
	}
	q = malloc(size + 1);
	memcpy(q, data, size);
	q[size] = '\0';
	(void)da_list(q, &c);
	check_fields(&c);
	(void)da_remove(q, &c, &r);
	check_fields(&c);
	(void)da_logs(q, &c, &r);
	check_fields(&c);
	free(q);
	return 0;
}
