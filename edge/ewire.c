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
