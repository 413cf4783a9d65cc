/*
 * routes.c: portwing's own endpoints, served by the worker.
 *
 * Two tables: public routes answer without authentication (liveness and
 * readiness), private routes after authd said yes.  A path that belongs to
 * a route but arrives with another method gets 405 and never reaches
 * Docker; any other path under /_portwing/ gets 404.  /_lookout/... is
 * an alias of /_portwing/... (Lookout v0.2).  Everything else is
 * the Docker proxy's.  Routes match on the percent-decoded path.
 */
#include "pwbuild.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "cwire.h"
#include "drydock.h"
#include "frame.h"
#include "log.h"
#include "stats.h"
#include "util.h"
#include "worker.h"
#include "keyd.h"

struct route {
	const char	*path;		/* '*' matches one non-empty segment */
	const char	*method;	/* GET also answers HEAD */
	route_fn	 fn;
	int		 need;		/* ROUTE_*: only when configured */
};

#define ROUTE_ENROLL	0x01	/* ENROLLMENT_TOKEN set */
#define ROUTE_EDGE	0x02	/* also served in edge mode */
#define ROUTE_DRYDOCK	0x04	/* ADAPTER=drydock (the default) only */
#define ROUTE_GENERIC	0x08	/* ADAPTER=generic only */
#define ROUTE_DAGENT	0x10	/* ADAPTER=dockeragent only */

static void	route_health(struct conn *);
static void	route_ready(struct conn *);
static void	route_enroll(struct conn *);
static void	route_dd(struct conn *);
static void	route_compose(struct conn *);
static void	route_watchers(struct conn *);
static void	route_watcher(struct conn *);
static void	route_empty_list(struct conn *);
static void	route_not_implemented(struct conn *);
static void	route_generic_version(struct conn *);
#ifdef PW_TEST_HOOKS
static void	route_test_open(struct conn *);
static void	route_test_connect(struct conn *);
static void	route_test_keyd(struct conn *);
static void	route_test_log(struct conn *);
static void	route_test_logflood(struct conn *);
static void	route_test_wedge(struct conn *);
#endif

static const struct route public_routes[] = {
#ifdef PW_TEST_HOOKS
	{ "/__test/open", "GET", route_test_open, 0 },
	{ "/__test/connect", "GET", route_test_connect, 0 },
	{ "/__test/keyd", "GET", route_test_keyd, 0 },
	{ "/__test/log", "GET", route_test_log, 0 },
	{ "/__test/logflood", "GET", route_test_logflood, 0 },
	{ "/__test/wedge", "GET", route_test_wedge, 0 },
#endif
	{ "/health", "GET", route_health, 0 },
	{ "/ready", "GET", route_ready, 0 },
	{ "/_portwing/health", "GET", route_ready, 0 },
	{ "/api/portwing/enroll", "POST", route_enroll, ROUTE_ENROLL },
	{ "/api/lookout/enroll", "POST", route_enroll, ROUTE_ENROLL },	/* v0.2 */
};

/*
 * After authentication: the adapter's routes (the Drydock adapter, or the
 * generic one), MCP and observability (4.1, 7, 8, 9).  A route of the
 * other adapter is not ours: it goes to the Docker proxy, as in Portwing.
 */
static const struct route private_routes[] = {
	{ "/api/events", "GET", route_dd, ROUTE_DRYDOCK },
	{ "/api/containers", "GET", route_dd, ROUTE_DRYDOCK },
	{ "/api/containers/*/logs", "GET", route_dd, ROUTE_DRYDOCK },
	{ "/api/containers/*", "DELETE", route_dd, ROUTE_DRYDOCK },
	{ "/api/watchers", "GET", route_watchers, ROUTE_DRYDOCK },
	{ "/api/watchers/*/*", "GET", route_watcher, ROUTE_DRYDOCK },
	{ "/api/watchers/*/*", "POST", route_not_implemented, ROUTE_DRYDOCK },
	{ "/api/watchers/*/*/container/*", "POST", route_not_implemented,
	  ROUTE_DRYDOCK },
	{ "/api/triggers", "GET", route_empty_list, ROUTE_DRYDOCK },
	{ "/api/triggers/*/*", "POST", route_not_implemented, ROUTE_DRYDOCK },
	{ "/api/triggers/*/*/batch", "POST", route_not_implemented,
	  ROUTE_DRYDOCK },
	{ "/api/log/entries", "GET", route_empty_list, ROUTE_DRYDOCK },
	/* The generic adapter (reference 7.8): answered by the proxy. */
	{ "/api/v1/version", "GET", route_generic_version, ROUTE_GENERIC },
	{ "/api/v1/containers", "GET", route_dd, ROUTE_GENERIC },
	{ "/api/v1/containers/*/logs", "GET", route_dd, ROUTE_GENERIC },
	{ "/api/v1/events", "GET", route_dd, ROUTE_GENERIC },
	/* dockeragent's API (ADAPTER=dockeragent): checked here. */
	{ "/api/v1/containers", "GET", route_dagent, ROUTE_DAGENT },
	{ "/api/v1/containers", "POST", route_dagent, ROUTE_DAGENT },
	{ "/api/v1/containers/*", "GET", route_dagent, ROUTE_DAGENT },
	{ "/api/v1/containers/*", "DELETE", route_dagent, ROUTE_DAGENT },
	{ "/api/v1/containers/*/stop", "POST", route_dagent, ROUTE_DAGENT },
	{ "/api/v1/containers/*/logs", "GET", route_dagent, ROUTE_DAGENT },
	{ "/api/v1/files", "POST", route_dagent, ROUTE_DAGENT },
	/* MCP (reference 9): parsed here, tools run by the proxy. */
	{ "/_portwing/mcp", "POST", route_mcp, 0 },
	/* Compose (reference 12): run by the composer, through the proxy. */
	{ "/_portwing/compose", "POST", route_compose, 0 },
	/* Observability (reference 7.2, 10, 11): answered by the proxy. */
	{ "/metrics", "GET", route_dd, ROUTE_EDGE },
	{ "/_portwing/metrics", "GET", route_dd, ROUTE_EDGE },
	{ "/_portwing/info", "GET", route_dd, ROUTE_EDGE },
	{ "/_portwing/audit", "GET", route_dd, ROUTE_EDGE },
	{ "/_portwing/audit/export", "GET", route_dd, ROUTE_EDGE },
};

/* Does path match pattern, segment by segment? */
static int
path_match(const char *pat, const char *path)
{
	while (*pat != '\0' && *path != '\0') {
		if (*pat == '*') {
			size_t n = strcspn(path, "/");
			if (n == 0)
				return 0;
			path += n;
			pat++;
			continue;
		}
		if (*pat != *path)
			return 0;
		pat++;
		path++;
	}
	return *pat == '\0' && *path == '\0';
}

static route_fn
lookup(const struct route *t, size_t n, struct conn *c, int *status)
{
	char	path[HTTP_MAX_REQLINE];
	size_t	i;
	int	matched = 0, get = 0;

	*status = 0;
	c->allowbuf[0] = '\0';
	http_percent_decode(c->req.path, strlen(c->req.path), path,
	    sizeof(path));
	http_path_alias(path, sizeof(path));
	for (i = 0; i < n; i++) {
		if (!path_match(t[i].path, path))
			continue;
		if ((t[i].need & ROUTE_ENROLL) && !c->w->cfg.enroll)
			continue;
		if ((t[i].need & ROUTE_DRYDOCK) && (c->w->cfg.generic ||
		    c->w->cfg.dagent))
			continue;
		if ((t[i].need & ROUTE_DAGENT) && !c->w->cfg.dagent)
			continue;
		if ((t[i].need & ROUTE_GENERIC) && !c->w->cfg.generic)
			continue;
		if (strcmp(t[i].method, c->req.method) == 0 ||
		    (strcmp(t[i].method, "GET") == 0 &&
		    strcmp(c->req.method, "HEAD") == 0))
			return t[i].fn;
		/* Collect what is allowed here, for the 405's Allow. */
		if (matched++)
			pw_strlcat(c->allowbuf, ", ", sizeof(c->allowbuf));
		pw_strlcat(c->allowbuf, t[i].method, sizeof(c->allowbuf));
		if (strcmp(t[i].method, "GET") == 0)
			get = 1;
	}
	if (matched) {
		if (get)
			pw_strlcat(c->allowbuf, ", HEAD", sizeof(c->allowbuf));
		*status = 405;
		c->allow = c->allowbuf;
	}
	return NULL;
}

route_fn
routes_lookup_public(struct conn *c, int *status)
{
	return lookup(public_routes, nitems(public_routes), c, status);
}

/*
 * Edge mode: this listener is for local probes and scrapes.  Docker's API
 * and the Drydock routes are the controller's, over the edge session, so
 * anything but the observability routes is refused before authentication.
 */
int
routes_edge_served(struct conn *c)
{
	char	path[HTTP_MAX_REQLINE];
	size_t	i;

	http_percent_decode(c->req.path, strlen(c->req.path), path,
	    sizeof(path));
	http_path_alias(path, sizeof(path));
	for (i = 0; i < nitems(private_routes); i++)
		if ((private_routes[i].need & ROUTE_EDGE) &&
		    path_match(private_routes[i].path, path))
			return 1;
	return 0;
}

route_fn
routes_lookup_private(struct conn *c, int *status)
{
	char		path[HTTP_MAX_REQLINE];
	route_fn	fn;

	fn = lookup(private_routes, nitems(private_routes), c, status);
	if (fn != NULL || *status != 0)
		return fn;
	http_percent_decode(c->req.path, strlen(c->req.path), path,
	    sizeof(path));
	http_path_alias(path, sizeof(path));
	/* Our namespace (and /_lookout/) never falls through to Docker. */
	if (strncmp(path, "/_portwing/", 11) == 0 ||
	    strcmp(path, "/_portwing") == 0)
		*status = 404;
	/* Nor does dockeragent's, when it is served. */
	if (dagent_path(c))
		*status = 404;
	return NULL;
}

/* A JSON answer: o (consumed) and a newline. */
void
routes_json(struct conn *c, int status, json_t *o, const char *extra)
{
	char	*s;
	size_t	 n;

	s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(o);
	if (s == NULL) {
		conn_error(c, 500, "internal server error");
		return;
	}
	n = strlen(s);
	s = xreallocarray(s, n + 2, 1);
	s[n] = '\n';
	conn_respond(c, status, "application/json", s, n + 1, extra);
	free(s);
}

static json_t *
health_object(struct conn *c, const char *status, int ready,
    const char *docker)
{
	double	up = pw_wall_time() - c->w->cfg.started;

	const char	*ctl = "not_applicable";

	if (c->w->cfg.edge)
		ctl = ST_GET(pw_stats->edge.connected) ? "connected" :
		    "disconnected";
	return json_pack("{s:s, s:b, s:b, s:s, s:s, s:f, s:s, s:s}",
	    "status", status, "live", 1, "ready", ready, "mode",
	    c->w->cfg.edge ? "edge" : "standard",
	    "version", PW_VERSION_STRING, "uptimeSeconds",
	    (double)((long long)(up * 1000)) / 1000.0, "docker", docker,
	    "controller", ctl);
}

/*
 * Liveness: never probes Docker (reference 7.1).  dockeragent's /health
 * is its own shape and does ask Docker.
 */
static void
route_health(struct conn *c)
{
	if (c->w->cfg.dagent) {
		route_dagent_health(c);
		return;
	}
	routes_json(c, 200, health_object(c, "ok", 0, "unknown"),
	    "Cache-Control: no-store\r\n");
}

static void
ready_done(struct conn *c, int status)
{
	int	docker = status == 200, ok = docker;

	/* Edge mode: ready means Docker answers and the session is up. */
	if (c->w->cfg.edge && !ST_GET(pw_stats->edge.connected))
		ok = 0;
	c->state = CONN_LOCAL_BODY;
	routes_json(c, ok ? 200 : 503, health_object(c, ok ? "healthy" :
	    "unhealthy", ok, docker ? "connected" : "disconnected"),
	    "Cache-Control: no-store\r\n");
}

static void
enroll_body(struct conn *c)
{
	c->state = CONN_AUTH_WAIT;
	if (worker_enroll_request(c) == -1)
		conn_auth_answer(c, AUTH_UNAVAILABLE, "", "", NULL);
}

/* Key enrollment (reference 6.6): a JSON body of at most 64 KiB. */
static void
route_enroll(struct conn *c)
{
	conn_read_local_body(c, enroll_body, 64 * 1024);
}

/* Readiness: an unversioned GET /_ping through the proxy must say 200. */
static void
route_ready(struct conn *c)
{
	conn_start_internal(c, PXF_PING, ready_done);
}

#ifdef PW_TEST_HOOKS
/*
 * Test-build-only: a wedged worker.  Its event loop never runs again, so
 * it answers neither clients nor the master's liveness probes.
 */
static void
route_test_wedge(struct conn *c)
{
	for (;;)
		sleep(1);
}

/*
 * Test-build-only: behave like a compromised worker and try what the
 * sandbox forbids.  The process must die before answering.
 */
static void
route_test_open(struct conn *c)
{
	int	fd = open("/etc/passwd", O_RDONLY);

	conn_error(c, 500, fd == -1 ? "open failed but process survived" :
	    "opened /etc/passwd");
}

static void
route_test_connect(struct conn *c)
{
	struct sockaddr_un	sun;
	int			sv[2];

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	pw_strlcpy(sun.sun_path, "/var/run/docker.sock", sizeof(sun.sun_path));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0)
		(void)connect(sv[0], (struct sockaddr *)&sun, sizeof(sun));
	conn_error(c, 500, "connect attempted and process survived");
}

/*
 * Test-build-only: ask keyd for what TLS never needs, as a compromised
 * worker would (?sha1, ?short, ?flood).  Answers the tally of answers.
 */
static void
route_test_keyd(struct conn *c)
{
	char	msg[128];

	keyd_test_probe(c->req.query ? c->req.query : "", msg, sizeof(msg));
	conn_error(c, 200, msg);
}

/*
 * Test-build-only: a compromised worker forging log lines.  It ends its
 * message and starts one that looks like the master's, and writes the
 * same straight to descriptors 1 and 2.
 */
static void
route_test_log(struct conn *c)
{
	char	ts[40], line[160];
	int	n;

	pw_rfc3339(ts, sizeof(ts), 0);
	log_info("test-forge\n%s portwingd[1] master: info: forged-by-worker"
	    "\r", ts);
	n = snprintf(line, sizeof(line), "%s portwingd[1] master: info: "
	    "forged-direct\n", ts);
	(void)!write(STDOUT_FILENO, line, (size_t)n);
	(void)!write(STDERR_FILENO, line, (size_t)n);
	conn_error(c, 500, "forged");
}

/* Test-build-only: a worker flooding its log channel. */
static void
route_test_logflood(struct conn *c)
{
	int	i;

	for (i = 0; i < 20000; i++)
		log_info("test-flood %d", i);
	conn_error(c, 500, "flooded");
}
#endif

/* The Drydock adapter's Docker-backed routes: the proxy answers them. */
static void
route_dd(struct conn *c)
{
	conn_start_proxy(c, PXF_DD);
}

static void
route_watchers(struct conn *c)
{
	json_t	*a = json_array();

	json_array_append_new(a, dd_watcher());
	routes_json(c, 200, a, NULL);
}

/* GET /api/watchers/{type}/{name}: only docker/docker exists (8.4). */
static void
route_watcher(struct conn *c)
{
	char	 path[HTTP_MAX_REQLINE], msg[HTTP_MAX_REQLINE + 64];
	char	*type, *name;

	http_percent_decode(c->req.path, strlen(c->req.path), path,
	    sizeof(path));
	type = path + strlen("/api/watchers/");
	name = strchr(type, '/');
	*name++ = '\0';
	if (strcasecmp(type, "docker") == 0 && strcasecmp(name, "docker") == 0) {
		routes_json(c, 200, dd_watcher(), NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "watcher %s/%s not found", type, name);
	for (type = msg; *type != '\0'; type++)
		if ((unsigned char)*type < 0x20 || *type == 0x7f)
			*type = '?';
	conn_text_error(c, 404, msg, NULL);
}

/* GET /api/v1/version (reference 7.8). */
static void
route_generic_version(struct conn *c)
{
	routes_json(c, 200, json_pack("{s:s, s:s, s:s, s:s}", "agentVersion",
	    PW_VERSION_STRING, "protocolName", "portwing", "protocolVersion",
	    "1.0", "adapter", "generic"), NULL);
}

static void
route_empty_list(struct conn *c)
{
	routes_json(c, 200, json_array(), NULL);
}

/* Registry and trigger actions belong to the controller (reference 8). */
static void
route_not_implemented(struct conn *c)
{
	routes_json(c, 501, json_pack("{s:s, s:s}", "error",
	    "not implemented in v1.0", "message",
	    "registry checking is performed by the Drydock controller"), NULL);
}

/*
 * POST /_portwing/compose: the body (32 MiB at most) goes to the proxy
 * as it came, for the composer to check and run; it is the composer's
 * to parse, since it is the process that acts on it.  Without
 * STACKS_DIR the route is not served.
 */
static void
compose_body(struct conn *c)
{
	size_t	n = c->body != NULL ? evbuffer_get_length(c->body) : 0;

	c->state = CONN_LOCAL_BODY;
	conn_start_own_body(c, 0, NULL, NULL, n ? (const char *)
	    evbuffer_pullup(c->body, -1) : NULL, n);
}

static void
route_compose(struct conn *c)
{
	static const char off[] = "{\"success\":false,\"output\":\"\","
	    "\"error\":\"compose is not enabled on this agent: STACKS_DIR "
	    "is not set\"}\n";

	if (!c->w->cfg.compose) {
		conn_respond(c, 404, "application/json", off, sizeof(off) - 1,
		    NULL);
		return;
	}
	conn_read_local_body(c, compose_body, COMPOSE_BODY_MAX);
}
