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

/*
 * An absolute host path as dockeragent's files route takes it, cleaned
 * as Go's filepath.Clean would ("//" and "." components dropped) into
 * out: "/etc/app.conf".  A ".." component anywhere is refused, never
 * resolved; so is the root itself, which is not a file.  DA_PATH_OK or
 * the DA_PATH_* refusal.
 */
int
dagent_path_clean(const char *in, char *out, size_t outsz)
{
	const char	*p = in, *e;
	size_t		 o = 0, n;

	if (*in == '\0')
		return DA_PATH_EMPTY;
	if (*in != '/')
		return DA_PATH_RELATIVE;
	if (outsz < 2 || strlen(in) >= DA_PATH_MAX)
		return DA_PATH_LONG;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return DA_PATH_DOTDOT;
		if (!(n == 1 && p[0] == '.')) {
			if (o + 1 + n + 1 > outsz)
				return DA_PATH_LONG;
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o == 0)
		return DA_PATH_ROOT;
	out[o] = '\0';
	return DA_PATH_OK;
}

/*
 * Is the cleaned path at or beneath one of the cleaned prefixes of list
 * ("/a\0/b\0\0", HOST_FILES_ALLOW)?  NULL: everything is.
 */
int
dagent_path_allowed(const char *path, const char *list)
{
	size_t	n;

	if (list == NULL)
		return 1;
	for (; *list != '\0'; list += n + 1) {
		n = strlen(list);
		if (strncmp(path, list, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}
