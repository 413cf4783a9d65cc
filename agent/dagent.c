/*
 * dagent.c (worker): ADAPTER=dockeragent, the REST API of dockeragent
 * served under its own paths so that its clients work unchanged.
 *
 * The worker answers /health (with Docker's state from the readiness
 * probe), every error in dockeragent's envelope, and every check of a
 * request (agent/dagentwire.c); a checked request goes to the proxy as
 * one of portwing's own routes (PXF_DD) with the checked values as the
 * worker's own header fields (conn_start_own), and the proxy makes the
 * Docker calls and writes the whole answer (proxy/pdagent.c).
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "dagent.h"
#include "dagentwire.h"
#include "http.h"
#include "util.h"
#include "worker.h"

/*
 * Is this request dockeragent's (its /api/v1, and /health, under
 * ADAPTER=dockeragent)?  Their errors are in its envelope.
 */
int
dagent_path(struct conn *c)
{
	char	path[HTTP_MAX_REQLINE];

	if (!c->w->cfg.dagent || c->req.path == NULL)
		return 0;
	http_percent_decode(c->req.path, strlen(c->req.path), path,
	    sizeof(path));
	return strcmp(path, "/api/v1") == 0 ||
	    strncmp(path, "/api/v1/", 8) == 0 || strcmp(path, "/health") == 0;
}

void
dagent_error(struct conn *c, int status, const char *msg)
{
	char	*s, allow[96];
	size_t	 n;

	/*
	 * Its refusals come after the request was read (a body left unread
	 * closes the connection in conn_respond), except these.
	 */
	switch (status) {
	case 408: case 414: case 417: case 431: case 501: case 505:
		c->keepalive = 0;
		break;
	}
	if ((s = dagent_envelope_text(status, msg, &n)) == NULL) {
		conn_respond(c, 500, "text/plain", "internal error\n", 15, NULL);
		return;
	}
	if (status == 405 && c->allow != NULL)
		snprintf(allow, sizeof(allow), "Allow: %s\r\n", c->allow);
	conn_respond(c, status, "application/json", s, n, status == 405 &&
	    c->allow != NULL ? allow : NULL);
	free(s);
}

static void
send_call(struct conn *c, struct da_call *call)
{
	conn_start_own(c, call->n, call->name, (const char *const *)
	    call->value);
	da_call_free(call);
}

static const char *
body_of(struct conn *c, size_t *n)
{
	*n = c->body != NULL ? evbuffer_get_length(c->body) : 0;
	return *n ? (const char *)evbuffer_pullup(c->body, -1) : "";
}

/* A body-taking route: the body, checked by check, then to the proxy. */
static void
checked_body(struct conn *c, int (*check)(const char *, size_t,
    struct da_call *, struct da_result *))
{
	struct da_call		call = { 0 };
	struct da_result	r;
	const char		*b;
	size_t			 n;

	c->state = CONN_LOCAL_BODY;
	b = body_of(c, &n);
	if (check(b, n, &call, &r) == -1) {
		da_call_free(&call);
		dagent_error(c, r.status, r.msg);
		return;
	}
	send_call(c, &call);
}

static void
create_body(struct conn *c)
{
	checked_body(c, da_create);
}

static void
stop_body(struct conn *c)
{
	checked_body(c, da_stop);
}

/*
 * POST /api/v1/files: off until the operator names a root directory
 * (HOST_FILES_ROOT); then checked here and written by filed, through
 * the proxy, which audits it.
 */
static void
files_body(struct conn *c)
{
	struct da_call		 call = { 0 };
	struct da_result	 r;
	const char		*b;
	char			*content;
	size_t			 n, clen;

	c->state = CONN_LOCAL_BODY;
	if (!c->w->cfg.files) {
		dagent_error(c, 403, "host file writes are disabled: the "
		    "agent's HOST_FILES_ROOT is not set");
		return;
	}
	b = body_of(c, &n);
	if (da_files(b, n, c->w->cfg.files_allow, &call, &r, &content,
	    &clen) == -1) {
		da_call_free(&call);
		dagent_error(c, r.status, r.msg);
		return;
	}
	conn_start_own_body(c, call.n, call.name, (const char *const *)
	    call.value, content, clen);
	da_call_free(&call);
	freezero(content, clen);
}

/* Every /api/v1 route of dockeragent, after authentication. */
void
route_dagent(struct conn *c)
{
	char			 path[HTTP_MAX_REQLINE], *rest;
	const char		*q = c->req.query != NULL ? c->req.query : "";
	const char		*m = c->req.method;
	struct da_call		 call = { 0 };
	struct da_result	 r;
	int			 rv = 0;

	http_percent_decode(c->req.path, strlen(c->req.path), path,
	    sizeof(path));
	if (strcmp(path, "/api/v1/files") == 0) {
		conn_read_local_body(c, files_body, DAGENT_BODY_MAX);
		return;
	}
	if (strcmp(path, "/api/v1/containers") == 0) {
		if (strcmp(m, "POST") == 0) {
			conn_read_local_body(c, create_body, DAGENT_BODY_MAX);
			return;
		}
		rv = da_list(q, &call);
	} else {
		rest = strchr(path + 19, '/');
		if (rest != NULL && strcmp(rest, "/stop") == 0) {
			conn_read_local_body(c, stop_body, DAGENT_BODY_MAX);
			return;
		}
		if (rest != NULL && strcmp(rest, "/logs") == 0)
			rv = da_logs(q, &call, &r);
		else if (strcmp(m, "DELETE") == 0)
			rv = da_remove(q, &call, &r);
	}
	if (rv == -1) {
		da_call_free(&call);
		dagent_error(c, r.status, r.msg);
		return;
	}
	send_call(c, &call);
}

static void
health_done(struct conn *c, int status)
{
	char	ts[32], *s;
	time_t	t = time(NULL);
	struct tm tm;
	json_t	*o;
	size_t	 n;

	c->state = CONN_LOCAL_BODY;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{s:s, s:s, s:s}", "status", status == 200 ? "ok" :
	    "degraded", "docker", status == 200 ? "connected" : status == 0 ?
	    "the Docker Engine did not answer" : "the Docker Engine answered "
	    "its ping with an error", "timestamp", ts);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL) {
		conn_error(c, 500, "internal server error");
		return;
	}
	n = strlen(s);
	s = xreallocarray(s, n + 2, 1);
	s[n++] = '\n';
	conn_respond(c, status == 200 ? 200 : 503, "application/json", s, n,
	    "Cache-Control: no-store\r\n");
	free(s);
}

/* GET /health, dockeragent's: the server and Docker's state. */
void
route_dagent_health(struct conn *c)
{
	conn_start_internal(c, PXF_PING, health_done);
}
