/*
 * powner.c: the proxy's side of owner-label stamping (DESIGN.md, "The
 * policy engine").  policyd writes the stamped body into an empty memfd
 * the proxy made; before forwarding it the proxy seals it against every
 * change and checks that it holds exactly the bytes policyd's verdict
 * names (length and SHA-256), so Docker receives what was judged.
 */
#include "pwbuild.h"

#include <sys/stat.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "pgate.h"
#include "pwcrypto.h"
#include "util.h"

#define POWNER_MAX	(2 * 1024 * 1024)	/* a 1 MiB body and its label */

int
powner_out_check(int fd, uint64_t len, const uint8_t digest[32])
{
	struct stat	 st;
	uint8_t		*buf, got[32];
	size_t		 off = 0;
	ssize_t		 n;
	int		 rc = -1;

	if (len == 0 || len > POWNER_MAX)
		return -1;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		log_warn("sealing a stamped body");
		return -1;
	}
	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size != len)
		return -1;
	buf = xmalloc((size_t)len);
	while (off < len) {
		if ((n = pread(fd, buf + off, (size_t)len - off,
		    (off_t)off)) <= 0)
			goto out;
		off += (size_t)n;
	}
	pwc_sha256(buf, (size_t)len, got);
	if (pw_ct_equal(got, digest, sizeof(got)))
		rc = 0;
out:
	free(buf);
	return rc;
}

/*
 * A query policyd wrote for Docker (filter injection) must be a plain
 * query: RFC 3986 query characters and well-formed escapes, nothing that
 * could end the request line or start a fragment.
 */
int
powner_query_ok(const char *q)
{
	const unsigned char	*p;

	if (q == NULL)
		return 0;
	for (p = (const unsigned char *)q; *p != '\0'; p++) {
		if (*p == '%') {
			if (!isxdigit(p[1]) || !isxdigit(p[2]))
				return 0;
			p += 2;
			continue;
		}
		if (!isalnum(*p) && strchr("-._~!$&'()*+,;=:@/?", *p) == NULL)
			return 0;
	}
	return 1;
}

/* Replace the request line at the start of head ("METHOD target ..."). */
int
powner_set_target(struct evbuffer *head, const char *method,
    const char *target)
{
	struct evbuffer_ptr	 e;
	struct evbuffer		*line;

	e = evbuffer_search(head, "\r\n", 2, NULL);
	if (e.pos < 0)
		return -1;
	if ((line = evbuffer_new()) == NULL)
		return -1;
	evbuffer_drain(head, (size_t)e.pos + 2);
	evbuffer_add_printf(line, "%s %s HTTP/1.1\r\n", method, target);
	evbuffer_prepend_buffer(head, line);
	evbuffer_free(line);
	return 0;
}
