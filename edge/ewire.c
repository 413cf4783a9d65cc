/*
 * ewire.c: the parts of portwing/1.0 that need no connection, kept apart
 * from edge.c so that unit tests can reach them.
 */
#include "pwbuild.h"

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
