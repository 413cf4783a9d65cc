/*
 * ewire.c: the parts of portwing/1.0 that need no connection, kept apart
 * from edge.c so that unit tests can reach them.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge.h"
#include "util.h"

/*
 * How a hello rejection is treated (edge-protocol.md 7.6).  Terminal: the
 * controller will refuse the same agent again until an operator acts (a
 * key to register, a name bound to another key, a wrong protocol).
 * Everything else, an unknown code included, may pass on a later try.
 */
enum edge_class
edge_reject_class(const char *code)
{
	static const char *const terminal[] = {
		"ed25519-required", "unknown-key", "bad-signature",
		"protocol-mismatch", "no-auth", "invalid-agent-name",
		"parse-error", "expected-hello", "agent-name-claimed",
	};
	size_t	i;

	for (i = 0; code != NULL && i < nitems(terminal); i++)
		if (strcmp(code, terminal[i]) == 0)
			return EDGE_TERMINAL;
	return EDGE_RETRY;
}

/*
 * Is target one the controller treats as streaming (8.2)?  Its rule,
 * which both sides must share: the query stripped, the path ends with
 * /logs, /attach, /events, /build, /images/create or /images/push, or
 * holds /exec/ and ends with /start.
 */
int
edge_streaming_target(const char *target)
{
	static const char *const sfx[] = {
		"/logs", "/attach", "/events", "/build", "/images/create",
		"/images/push",
	};
	size_t	n = strcspn(target, "?"), i, k;

	for (i = 0; i < nitems(sfx); i++) {
		k = strlen(sfx[i]);
		if (n >= k && memcmp(target + n - k, sfx[i], k) == 0)
			return 1;
	}
	return n >= 6 && memcmp(target + n - 6, "/start", 6) == 0 &&
	    memmem(target, n, "/exec/", 6) != NULL;
}

/*
 * These bytes as valid UTF-8, each invalid sequence replaced by U+FFFD,
 * as Go's JSON encoder does: the controller closes the session on a text
 * frame that is not UTF-8 (container output often is not).  The caller
 * frees; *outlen is its length (no NUL counted; one is added).
 */
char *
edge_utf8(const unsigned char *p, size_t n, size_t *outlen)
{
	char	*out = xmalloc(n * 3 + 1);
	size_t	 i = 0, o = 0, k, need;
	uint32_t cp;

	while (i < n) {
		unsigned char c = p[i];

		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else
			goto bad;
		if (i + need >= n)
			goto bad;
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			goto bad;
		memcpy(out + o, p + i, need + 1);
		o += need + 1;
		i += need + 1;
		continue;
bad:
		out[o++] = (char)0xef;
		out[o++] = (char)0xbf;
		out[o++] = (char)0xbd;
		i++;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/*
 * A container named by the controller (logs, deletion, exec): what
 * Portwing accepts, ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$, so that it can go
 * into a Docker path as it is.
 */
int
edge_cid_ok(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n <= 128 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n &&
	    strchr("_.-", s[0]) == NULL;
}
