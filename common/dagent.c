/*
 * dagent.c: dockeragent's error envelope, {"error", "message", "status"},
 * where "error" is Go's text for the status (net/http StatusText) and
 * "unauthorized" for a refused API key, as dockeragent writes them.
 */
#include "pwbuild.h"

#include <stdlib.h>
#include <string.h>

#include "dagent.h"
#include "http.h"
#include "util.h"

const char *
dagent_status_text(int status)
{
	/* Where Go's names are older than the RFC's that http.c uses. */
	switch (status) {
	case 413: return "Request Entity Too Large";
	case 414: return "Request URI Too Long";
	default: return http_reason(status);
	}
}

json_t *
dagent_envelope(int status, const char *msg)
{
	return json_pack("{s:s, s:s, s:i}", "error", status == 401 ?
	    "unauthorized" : dagent_status_text(status), "message", msg,
	    "status", status);
}

/* The envelope serialised with a newline (malloc'd), or NULL. */
char *
dagent_envelope_text(int status, const char *msg, size_t *len)
{
	json_t	*o = dagent_envelope(status, msg);
	char	*s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL, *out;

	json_decref(o);
	if (s == NULL)
		return NULL;
	*len = (size_t)xasprintf(&out, "%s\n", s);
	free(s);
	return out;
}

/*
 * The status dockeragent answers for a refusal of Docker's: what its
 * error classes map to (not found, conflict, not modified, invalid
 * argument, forbidden, unavailable), else 500.
 */
int
dagent_docker_status(int docker)
{
	switch (docker) {
	case 304: case 400: case 403: case 404: case 409: case 503:
		return docker;
	default:
		return 500;
	}
}
