/*
 * pmcp.c (proxy): the five read-only MCP tools (reference section 9).
 *
 * The worker speaks JSON-RPC with the client (agent/mcp.c) and hands the
 * proxy only a checked tool call: a tool name, a container id, a tail.
 * Each tool answers with its text (the JSON the client gets inside the
 * tool result) and a status: 200 for a result, 422 for a tool error
 * whose text is the message.  No answer carries an environment value:
 * inspect_container counts Config.Env, list_containers is built from
 * the inventory's facts, which hold none.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "drydock.h"
#include "log.h"
#include "proxy.h"
#include "util.h"

#define MCP_INSPECT_MAX	(4 * 1024 * 1024)
#define MCP_LOGS_MAX	(32 * 1024 * 1024)
#define MCP_FRAME_MAX	(256 * 1024)	/* longer log frames are skipped */
#define MCP_TIMEOUT	30

enum tool { T_LIST, T_INSPECT, T_LOGS, T_HOST, T_STATS };

static const struct {
	const char	*name;
	enum tool	 tool;
	int		 need_id;
} tools[] = {
	{ "list_containers", T_LIST, 0 },
	{ "inspect_container", T_INSPECT, 1 },
	{ "container_logs", T_LOGS, 1 },
	{ "host_metrics", T_HOST, 0 },
	{ "container_stats", T_STATS, 1 },
};

struct pmcp {
	enum tool	 tool;
	char		 id[136];
	struct dreq	*dq;
	struct event	*now;		/* answers that need no Docker call */
	pmcp_done	 done;
	void		*arg;
	int		 status;
	char		*text;
};

static struct event_base *pmcp_base;

static void
finish(struct pmcp *m)
{
	pmcp_done	 done = m->done;
	void		*arg = m->arg;
	int		 status = m->status;
	char		*text = m->text;

	if (m->now != NULL)
		event_free(m->now);
	free(m);
	done(arg, status, text, strlen(text));
	free(text);
}

static void
answer_json(struct pmcp *m, json_t *o)
{
	m->status = 200;
	m->text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (m->text == NULL) {
		m->status = 422;
		m->text = xstrdup("internal error building the answer");
	}
}

static void
answer_error(struct pmcp *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
answer_error(struct pmcp *m, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(&m->text, fmt, ap) == -1)
		m->text = xstrdup("tool failed");
	va_end(ap);
	m->status = 422;
}

/* Docker's refusal or the transport's failure, as "what: why". */
static int
docker_failed(struct pmcp *m, const char *what, int status,
    struct evbuffer *body, const char *err)
{
	char	msg[1024];

	if (err != NULL) {
		answer_error(m, "%s: %s", what, err);
		return 1;
	}
	if (status == 200)
		return 0;
	msg[0] = '\0';
	if (body != NULL)
		dclient_message(body, msg, sizeof(msg));
	answer_error(m, "%s: docker error (status %d): %s", what, status, msg);
	return 1;
}

static json_t *
load(struct evbuffer *body)
{
	return json_loadb((const char *)evbuffer_pullup(body, -1),
	    evbuffer_get_length(body), 0, NULL);
}

/* inspect_container: the reference's shape, Config.Env only counted. */
static void
inspect_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pmcp	*m = arg;
	json_t		*in, *st, *mounts, *nets, *o, *v, *h;
	const char	*k;
	size_t		 i;

	m->dq = NULL;
	if (docker_failed(m, "inspect container", status, body, err))
		goto out;
	if ((in = load(body)) == NULL) {
		answer_error(m, "inspect container: unreadable answer from "
		    "Docker");
		goto out;
	}
	mounts = json_array();
	json_array_foreach(json_object_get(in, "Mounts"), i, v)
		json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}",
		    "source", jstr(v, "Source"), "destination",
		    jstr(v, "Destination"), "readOnly", !jbool(v, "RW")));
	v = json_object_get(json_object_get(in, "NetworkSettings"), "Networks");
	nets = json_null();
	if (json_is_object(v) && json_object_size(v) > 0) {
		json_t *x;
		nets = json_array();
		json_object_foreach(v, k, x)
			json_array_append_new(nets, json_string(k));
	}
	st = json_object_get(in, "State");
	o = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:s, s:s}",
	    "Status", jstr(st, "Status"), "Running", jbool(st, "Running"),
	    "Paused", jbool(st, "Paused"), "Restarting", jbool(st, "Restarting"),
	    "OOMKilled", jbool(st, "OOMKilled"), "Dead", jbool(st, "Dead"),
	    "Pid", json_integer_value(json_object_get(st, "Pid")),
	    "ExitCode", json_integer_value(json_object_get(st, "ExitCode")),
	    "StartedAt", jstr(st, "StartedAt"),
	    "FinishedAt", jstr(st, "FinishedAt"));
	if ((h = json_object_get(st, "Health")) != NULL && json_is_object(h))
		json_object_set_new(o, "Health", json_pack("{s:s}", "Status",
		    jstr(h, "Status")));
	answer_json(m, json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:s, s:o}",
	    "envCount", (json_int_t)json_array_size(json_object_get(
	    json_object_get(in, "Config"), "Env")),
	    "id", jstr(in, "Id"), "image", jstr(in, "Config.Image"),
	    "mounts", mounts, "name", jstr(in, "Name"), "networks", nets,
	    "restartPolicy", jstr(in, "HostConfig.RestartPolicy.Name"),
	    "state", o));
	json_decref(in);
out:
	finish(m);
}

/*
 * One frame's payload: right-trimmed of newlines, then split at each
 * (an empty payload is one empty line, as the reference splits it).  A
 * line that is not UTF-8 cannot be a JSON string: it is replaced.
 */
static void
add_lines(json_t *lines, const char *prefix, const char *p, size_t n)
{
	const char	*nl;
	char		*s;
	json_t		*v;
	size_t		 k;

	while (n > 0 && p[n - 1] == '\n')
		n--;
	for (;;) {
		nl = memchr(p, '\n', n);
		k = nl != NULL ? (size_t)(nl - p) : n;
		xasprintf(&s, "%s%.*s", prefix, (int)k, p);
		if ((v = json_stringn(s, strlen(s))) == NULL)
			v = json_sprintf("%s(a line that is not UTF-8 text)",
			    prefix);
		json_array_append_new(lines, v);
		free(s);
		if (nl == NULL)
			break;
		p += k + 1;
		n -= k + 1;
	}
}

/*
 * container_logs: Docker's multiplexed frames, or a TTY container's raw
 * stream (recognised from its first bytes, as the HTTP route does).
 */
static void
logs_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pmcp	*m = arg;
	json_t		*lines;
	const uint8_t	*p;
	size_t		 n, len;
	int		 framed;

	m->dq = NULL;
	if (docker_failed(m, "container logs", status, body, err))
		goto out;
	lines = json_array();
	n = evbuffer_get_length(body);
	p = evbuffer_pullup(body, -1);
	framed = n >= 8 && p[0] <= 2 && p[1] == 0 && p[2] == 0 && p[3] == 0;
	if (!framed && n > 0)
		add_lines(lines, "stdout: ", (const char *)p, n);
	while (framed && n >= 8) {
		len = (size_t)p[4] << 24 | (size_t)p[5] << 16 |
		    (size_t)p[6] << 8 | p[7];
		if (len > n - 8)
			break;		/* torn: the bound cut it */
		if (len <= MCP_FRAME_MAX)
			add_lines(lines, p[0] == 2 ? "stderr: " : "stdout: ",
			    (const char *)p + 8, len);
		p += 8 + len;
		n -= 8 + len;
	}
	answer_json(m, json_pack("{s:s, s:o}", "id", m->id, "lines",
	    json_array_size(lines) ? lines : (json_decref(lines),
	    json_null())));
out:
	finish(m);
}

/* container_stats: one sample. */
static void
stats_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pmcp	*m = arg;
	json_t		*s, *nets, *v;
	const char	*k;

	m->dq = NULL;
	if (docker_failed(m, "container stats", status, body, err))
		goto out;
	if ((s = load(body)) == NULL) {
		answer_error(m, "container stats: unreadable answer from Docker");
		goto out;
	}
	nets = json_object();
	json_object_foreach(json_object_get(s, "networks"), k, v)
		json_object_set_new(nets, k, json_pack("{s:I, s:I}", "rxBytes",
		    json_integer_value(json_object_get(v, "rx_bytes")),
		    "txBytes", json_integer_value(json_object_get(v,
		    "tx_bytes"))));
	answer_json(m, json_pack("{s:I, s:s, s:I, s:I, s:o}",
	    "cpuTotalUsage", json_integer_value(json_object_get(
	    json_object_get(json_object_get(s, "cpu_stats"), "cpu_usage"),
	    "total_usage")), "id", m->id,
	    "memLimit", json_integer_value(json_object_get(json_object_get(s,
	    "memory_stats"), "limit")),
	    "memUsage", json_integer_value(json_object_get(json_object_get(s,
	    "memory_stats"), "usage")), "networks", nets));
	json_decref(s);
out:
	finish(m);
}

/* Tools answered from the proxy's own state, after the caller returns. */
static void
now_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct pmcp	*m = arg;
	char		*s;

	if (m->tool == T_HOST)
		answer_json(m, observe_host_metrics());
	else if (!inventory_ready())
		answer_error(m, "the container inventory is not ready yet (is "
		    "the Docker Engine reachable?)");
	else if ((s = inventory_mcp_list()) == NULL)
		answer_error(m, "internal error building the answer");
	else {
		m->status = 200;
		m->text = s;
	}
	finish(m);
}

/*
 * Start a tool; done runs later, from the event loop, unless the call is
 * cancelled first.  NULL: no such tool, or arguments the worker should
 * never have sent (a tool error it checks itself).
 */
struct pmcp *
pmcp_call(const char *name, const char *id, int tail, pmcp_done done,
    void *arg)
{
	struct pmcp	*m;
	struct timeval	 tv = { 0, 0 };
	char		 target[300];
	size_t		 i;

	for (i = 0; i < nitems(tools); i++)
		if (strcmp(tools[i].name, name) == 0)
			break;
	if (i == nitems(tools) || (tools[i].need_id && !dd_valid_id(id)))
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->tool = tools[i].tool;
	pw_strlcpy(m->id, id, sizeof(m->id));
	m->done = done;
	m->arg = arg;
	switch (m->tool) {
	case T_LIST:
	case T_HOST:
		m->now = evtimer_new(pmcp_base, now_cb, m);
		evtimer_add(m->now, &tv);
		return m;
	case T_INSPECT:
		snprintf(target, sizeof(target), "/containers/%s/json", id);
		m->dq = dclient_request("GET", target, MCP_TIMEOUT,
		    MCP_INSPECT_MAX, NULL, inspect_done, m);
		break;
	case T_LOGS:
		snprintf(target, sizeof(target), "/containers/%s/logs?stdout=1"
		    "&stderr=1&tail=%d", id, tail > 0 ? tail : 100);
		m->dq = dclient_request("GET", target, MCP_TIMEOUT,
		    MCP_LOGS_MAX, NULL, logs_done, m);
		break;
	case T_STATS:
		snprintf(target, sizeof(target), "/containers/%s/stats?"
		    "stream=false&one-shot=true", id);
		m->dq = dclient_request("GET", target, MCP_TIMEOUT,
		    MCP_INSPECT_MAX, NULL, stats_done, m);
		break;
	}
	if (m->dq == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
pmcp_cancel(struct pmcp *m)
{
	if (m->dq != NULL)
		dclient_cancel(m->dq);
	if (m->now != NULL)
		event_free(m->now);
	free(m->text);
	free(m);
}

void
pmcp_init(struct event_base *base)
{
	pmcp_base = base;
}
