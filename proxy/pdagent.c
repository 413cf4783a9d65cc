/*
 * pdagent.c (proxy): the Docker calls behind dockeragent's API
 * (ADAPTER=dockeragent), and its answers.
 *
 * The worker checked the request and sends only typed values
 * (agent/dagentwire.c); which Docker call to make comes from the
 * approved method and path alone.  Each operation is one or two calls
 * through the proxy's own Docker client, and its answer is dockeragent's:
 * its JSON shapes, 201 for a create, its envelope for every error with
 * Docker's refusal as the Go client words it ("create container: Error
 * response from daemon: ..."), a log as {"lines"} or, followed, as
 * server-sent events of one line each.
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "dagent.h"
#include "drydock.h"
#include "log.h"
#include "proxy.h"
#include "util.h"

#define DA_TIMEOUT	30
#define DA_LIST_MAX	(64 * 1024 * 1024)
#define DA_INSPECT_MAX	(8 * 1024 * 1024)
#define DA_LOGS_MAX	(64 * 1024 * 1024)
#define DA_LINE_MAX	(1024 * 1024)	/* longer lines come in pieces */

enum da_op { DA_LIST, DA_CREATE, DA_INSPECT, DA_STOP, DA_REMOVE, DA_LOGS };

struct pda {
	enum da_op		 op;
	char			 id[136];	/* as the client named it */
	json_t			*f;		/* the worker's values */
	const struct pda_ops	*ops;
	void			*arg;
	const char		*api;		/* "/v1.44" or "" */
	struct dreq		*dq;
	struct event		*now;		/* an answer without Docker */
	int			 now_status;
	char			 now_msg[512];
	int			 tty;		/* logs: raw, not multiplexed */
	int			 streaming;	/* logs: SSE head sent */
	/* The log stream, as it arrives. */
	struct evbuffer		*in;		/* multiplexed bytes */
	struct evbuffer		*line;		/* the line being read */
	uint32_t		 frame_left;
	json_t			*lines;		/* not followed */
};

static struct event_base *pda_base;

static const char *
fv(struct pda *p, const char *k)
{
	json_t	*v = json_object_get(p->f, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
finish(struct pda *p)
{
	if (p->now != NULL)
		event_free(p->now);
	json_decref(p->f);
	json_decref(p->lines);
	if (p->in != NULL)
		evbuffer_free(p->in);
	if (p->line != NULL)
		evbuffer_free(p->line);
	free(p);
}

static void
answer_json(struct pda *p, int status, json_t *o)
{
	const struct pda_ops	*ops = p->ops;
	void			*arg = p->arg;
	char			*s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	char			*t;
	size_t			 n;

	json_decref(o);
	finish(p);
	if (s == NULL) {
		t = dagent_envelope_text(500, "internal error building the "
		    "answer", &n);
		ops->respond(arg, 500, t, n);
		free(t);
		return;
	}
	n = (size_t)xasprintf(&t, "%s\n", s);
	free(s);
	ops->respond(arg, status, t, n);
	free(t);
}

static void
answer_error(struct pda *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
answer_error(struct pda *p, int status, const char *fmt, ...)
{
	const struct pda_ops	*ops = p->ops;
	void			*arg = p->arg;
	char			 msg[2048], *t;
	size_t			 n;
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	finish(p);
	if ((t = dagent_envelope_text(status, msg, &n)) == NULL)
		t = dagent_envelope_text(status, "(a message that is not "
		    "UTF-8 text)", &n);
	ops->respond(arg, status, t, n);
	free(t);
}

/*
 * Docker refused (status) or could not be asked (err): the envelope, as
 * dockeragent classifies it, worded as the Go client words it.
 */
static int
docker_failed(struct pda *p, const char *what, int status,
    struct evbuffer *body, const char *err, int ok1, int ok2)
{
	char	msg[1024];

	if (err != NULL) {
		answer_error(p, 500, "%s: %s", what, err);
		return 1;
	}
	if (status == ok1 || status == ok2)
		return 0;
	msg[0] = '\0';
	if (body != NULL)
		dclient_message(body, msg, sizeof(msg));
	answer_error(p, dagent_docker_status(status), "%s: Error response "
	    "from daemon: %s", what, msg);
	return 1;
}

static json_t *
load(struct evbuffer *b)
{
	return json_loadb((const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b), 0, NULL);
}

/* ---- list ---- */

static void
list_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pda	*p = arg;
	json_t		*in, *out, *c, *ports, *pt, *o, *labels;
	size_t		 i, j;

	p->dq = NULL;
	if (docker_failed(p, "list containers", status, body, err, 200, 200))
		return;
	if ((in = load(body)) == NULL || !json_is_array(in)) {
		json_decref(in);
		answer_error(p, 500, "list containers: unreadable answer from "
		    "Docker");
		return;
	}
	out = json_array();
	json_array_foreach(in, i, c) {
		ports = json_array();
		json_array_foreach(json_object_get(c, "Ports"), j, pt) {
			o = json_pack("{s:I, s:s}", "private_port",
			    json_integer_value(json_object_get(pt,
			    "PrivatePort")), "type", jstr(pt, "Type"));
			if (*jstr(pt, "IP") != '\0')
				json_object_set_new(o, "ip", json_string(
				    jstr(pt, "IP")));
			if (json_integer_value(json_object_get(pt,
			    "PublicPort")) != 0)
				json_object_set(o, "public_port",
				    json_object_get(pt, "PublicPort"));
			json_array_append_new(ports, o);
		}
		o = json_pack("{s:s, s:O, s:s, s:s, s:s, s:I, s:s, s:s, s:o}",
		    "id", jstr(c, "Id"), "names", json_is_array(json_object_get(
		    c, "Names")) ? json_object_get(c, "Names") : json_null(),
		    "image", jstr(c, "Image"), "image_id", jstr(c, "ImageID"),
		    "command", jstr(c, "Command"), "created",
		    json_integer_value(json_object_get(c, "Created")),
		    "state", jstr(c, "State"), "status", jstr(c, "Status"),
		    "ports", ports);
		labels = json_object_get(c, "Labels");
		if (o != NULL && json_is_object(labels) &&
		    json_object_size(labels) > 0)
			json_object_set(o, "labels", labels);
		json_array_append_new(out, o);
	}
	json_decref(in);
	answer_json(p, 200, json_pack("{s:o}", "containers", out));
}

/* ---- inspect, stop, remove ---- */

static void
inspect_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pda		*p = arg;
	const struct pda_ops	*ops = p->ops;
	void			*a = p->arg;

	p->dq = NULL;
	if (docker_failed(p, "inspect container", status, body, err, 200, 200))
		return;
	/* Docker's own inspection, as dockeragent returns it. */
	finish(p);
	ops->respond(a, 200, (const char *)evbuffer_pullup(body, -1),
	    evbuffer_get_length(body));
}

static void
stop_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pda	*p = arg;

	p->dq = NULL;
	/* Docker says 304 for a container that was not running: no error. */
	if (docker_failed(p, "stop container", status, body, err, 204, 304))
		return;
	answer_json(p, 200, json_pack("{s:s}", "message", "container stopped"));
}

static void
remove_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pda	*p = arg;

	p->dq = NULL;
	if (docker_failed(p, "remove container", status, body, err, 204, 200))
		return;
	answer_json(p, 200, json_pack("{s:s}", "message", "container removed"));
}

/* ---- create: create, then start ---- */

static void
start_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pda	*p = arg;
	json_t		*o, *w = json_object_get(p->f, "_warnings");

	p->dq = NULL;
	if (docker_failed(p, "start container", status, body, err, 204, 304))
		return;
	o = json_pack("{s:s}", "id", p->id);
	if (json_is_array(w) && json_array_size(w) > 0)
		json_object_set(o, "warnings", w);
	answer_json(p, 201, o);
}

static void
create_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pda	*p = arg;
	json_t		*o;
	char		 target[200];

	p->dq = NULL;
	if (docker_failed(p, "create container", status, body, err, 201, 200))
		return;
	if ((o = load(body)) == NULL || !dclient_hex_id(jstr(o, "Id"))) {
		json_decref(o);
		answer_error(p, 500, "create container: unreadable answer from "
		    "Docker");
		return;
	}
	pw_strlcpy(p->id, jstr(o, "Id"), sizeof(p->id));
	if (json_is_array(json_object_get(o, "Warnings")))
		json_object_set(p->f, "_warnings", json_object_get(o,
		    "Warnings"));
	json_decref(o);
	snprintf(target, sizeof(target), "%s/containers/%s/start", p->api,
	    p->id);
	p->dq = dclient_request_body("POST", target, NULL, 0, DA_TIMEOUT,
	    64 * 1024, NULL, start_done, p);
}

/* ---- logs ---- */

/*
 * One line (without its newline) for the client; empty lines are left
 * out, as dockeragent's reader does.  -1: the follower is gone.
 */
static int
emit_line(struct pda *p, const char *s, size_t n)
{
	struct evbuffer	*b;
	int		 rv;

	if (n == 0)
		return 0;
	if (!p->streaming) {
		json_t *v = json_stringn(s, n);
		if (v == NULL) {
			/* Go writes invalid UTF-8 as U+FFFD: so do we. */
			size_t fl;
			char *fixed = pw_utf8_mend((const unsigned char *)s,
			    n, &fl);
			v = json_stringn(fixed, fl);
			free(fixed);
		}
		json_array_append_new(p->lines, v);
		return 0;
	}
	b = evbuffer_new();
	evbuffer_add(b, "data: ", 6);
	evbuffer_add(b, s, n);
	evbuffer_add(b, "\n\n", 2);
	rv = p->ops->data(p->arg, (const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b));
	evbuffer_free(b);
	return rv;
}

/* Payload bytes of the log: into lines. */
static int
take_text(struct pda *p, const char *s, size_t n)
{
	const char	*nl;
	size_t		 k, room;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		k = nl != NULL ? (size_t)(nl - s) : n;
		room = DA_LINE_MAX - evbuffer_get_length(p->line);
		if (k >= room) {
			/* A runaway line: this piece now, the rest after. */
			evbuffer_add(p->line, s, room);
			if (emit_line(p, (const char *)evbuffer_pullup(p->line,
			    -1), evbuffer_get_length(p->line)) == -1)
				return -1;
			evbuffer_drain(p->line, evbuffer_get_length(p->line));
			s += room;
			n -= room;
			continue;
		}
		evbuffer_add(p->line, s, k);
		if (nl == NULL)
			return 0;
		if (emit_line(p, (const char *)evbuffer_pullup(p->line, -1),
		    evbuffer_get_length(p->line)) == -1)
			return -1;
		evbuffer_drain(p->line, evbuffer_get_length(p->line));
		s += k + 1;
		n -= k + 1;
	}
	return 0;
}

/* Docker's log bytes: demultiplexed unless the container has a TTY. */
static int
take_logs(struct pda *p, struct evbuffer *chunk)
{
	uint8_t	hdr[8];
	size_t	n, k;

	if (chunk != p->in)
		evbuffer_add_buffer(p->in, chunk);
	for (;;) {
		n = evbuffer_get_length(p->in);
		if (n == 0)
			return 0;
		if (p->tty) {
			if (take_text(p, (const char *)evbuffer_pullup(p->in,
			    -1), n) == -1)
				return -1;
			evbuffer_drain(p->in, n);
			continue;
		}
		if (p->frame_left == 0) {
			if (n < 8)
				return 0;
			evbuffer_remove(p->in, hdr, 8);
			p->frame_left = (uint32_t)hdr[4] << 24 |
			    (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 |
			    hdr[7];
			continue;
		}
		k = n < p->frame_left ? n : p->frame_left;
		if (take_text(p, (const char *)evbuffer_pullup(p->in,
		    (ssize_t)k), k) == -1)
			return -1;
		evbuffer_drain(p->in, k);
		p->frame_left -= (uint32_t)k;
	}
}

static void
logs_data(void *arg, struct evbuffer *chunk)
{
	struct pda	*p = arg;

	if (chunk == NULL) {
		/* The head: a stream only when Docker said yes. */
		if (dclient_status(p->dq) == 200 && !p->streaming) {
			p->streaming = 1;
			p->ops->head(p->arg, 200, "Content-Type: text/event-stream"
			    "\r\nCache-Control: no-cache\r\n");
		}
		return;
	}
	if (!p->streaming) {
		/* An error's text, for its envelope. */
		evbuffer_add_buffer(p->in, chunk);
		return;
	}
	if (take_logs(p, chunk) == -1) {
		/* The follower fell behind its bound: it is dropped. */
		const struct pda_ops	*ops = p->ops;
		void			*a = p->arg;
		dclient_cancel(p->dq);
		p->dq = NULL;
		finish(p);
		ops->drop(a);
	}
}

static void
logs_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pda		*p = arg;
	const struct pda_ops	*ops = p->ops;
	void			*a = p->arg;

	p->dq = NULL;
	if (p->streaming) {
		/* Followed: the stream ended (or failed); end ours too. */
		if (evbuffer_get_length(p->line) > 0)
			(void)emit_line(p, (const char *)evbuffer_pullup(
			    p->line, -1), evbuffer_get_length(p->line));
		finish(p);
		ops->end(a);
		return;
	}
	/* A followed request's refusal came through logs_data, into in. */
	if (body == NULL || (evbuffer_get_length(body) == 0 &&
	    evbuffer_get_length(p->in) > 0))
		body = p->in;
	if (docker_failed(p, "container logs", status, body, err, 200, 200))
		return;
	if (take_logs(p, body) == 0 && evbuffer_get_length(p->line) > 0)
		(void)emit_line(p, (const char *)evbuffer_pullup(p->line, -1),
		    evbuffer_get_length(p->line));
	/* Go's nil slice: null when the log has no line. */
	answer_json(p, 200, json_pack("{s:O}", "lines",
	    json_array_size(p->lines) ? p->lines : json_null()));
}

/* Percent-encodes a query value Docker reads. */
static void
qadd(struct evbuffer *b, const char *k, const char *v)
{
	const unsigned char	*s;

	evbuffer_add_printf(b, "&%s=", k);
	for (s = (const unsigned char *)v; *s != '\0'; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~", *s))
			evbuffer_add(b, s, 1);
		else
			evbuffer_add_printf(b, "%%%02X", *s);
}

static void
logs_inspected(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct pda	*p = arg;
	json_t		*in;
	struct evbuffer	*t;
	int		 follow;

	p->dq = NULL;
	if (docker_failed(p, "inspect container", status, body, err, 200, 200))
		return;
	in = load(body);
	p->tty = json_is_true(json_object_get(json_object_get(in, "Config"),
	    "Tty"));
	json_decref(in);
	follow = fv(p, "Pw-Da-Follow") != NULL &&
	    strcmp(fv(p, "Pw-Da-Follow"), "1") == 0;
	t = evbuffer_new();
	evbuffer_add_printf(t, "%s/containers/%s/logs?stdout=1&stderr=1",
	    p->api, p->id);
	qadd(t, "tail", fv(p, "Pw-Da-Tail") ? fv(p, "Pw-Da-Tail") : "all");
	if (fv(p, "Pw-Da-Since") != NULL)
		qadd(t, "since", fv(p, "Pw-Da-Since"));
	if (fv(p, "Pw-Da-Until") != NULL)
		qadd(t, "until", fv(p, "Pw-Da-Until"));
	if (fv(p, "Pw-Da-Timestamps") != NULL &&
	    strcmp(fv(p, "Pw-Da-Timestamps"), "1") == 0)
		evbuffer_add_printf(t, "&timestamps=1");
	if (follow)
		evbuffer_add_printf(t, "&follow=1");
	evbuffer_add(t, "", 1);
	p->in = evbuffer_new();
	p->line = evbuffer_new();
	p->lines = json_array();
	if (follow)
		p->dq = dclient_request("GET", (const char *)evbuffer_pullup(t,
		    -1), 0, 0, logs_data, logs_done, p);
	else
		p->dq = dclient_request("GET", (const char *)evbuffer_pullup(t,
		    -1), DA_TIMEOUT, DA_LOGS_MAX, NULL, logs_done, p);
	evbuffer_free(t);
}

/* ---- the route ---- */

static void
now_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct pda	*p = arg;

	event_free(p->now);
	p->now = NULL;
	answer_error(p, p->now_status, "%s", p->now_msg);
}

/* An answer that needs no Docker call, given from the loop. */
static void
answer_later(struct pda *p, int status, const char *msg)
{
	struct timeval	tv = { 0, 0 };

	p->now_status = status;
	pw_strlcpy(p->now_msg, msg, sizeof(p->now_msg));
	p->now = evtimer_new(pda_base, now_cb, p);
	evtimer_add(p->now, &tv);
}

static int
op_of(const char *method, const char *path, char *id, size_t idsz,
    enum da_op *op)
{
	const char	*rest;
	size_t		 n;

	if (strcmp(path, "/api/v1/containers") == 0) {
		*op = strcmp(method, "POST") == 0 ? DA_CREATE : DA_LIST;
		return strcmp(method, "POST") == 0 || strcmp(method, "GET") == 0 ?
		    0 : -1;
	}
	if (strncmp(path, "/api/v1/containers/", 19) != 0)
		return -1;
	path += 19;
	rest = strchr(path, '/');
	n = rest != NULL ? (size_t)(rest - path) : strlen(path);
	if (n == 0 || n >= idsz)
		return -1;
	memcpy(id, path, n);
	id[n] = '\0';
	if (rest == NULL && strcmp(method, "GET") == 0)
		*op = DA_INSPECT;
	else if (rest == NULL && strcmp(method, "DELETE") == 0)
		*op = DA_REMOVE;
	else if (rest != NULL && strcmp(rest, "/stop") == 0 &&
	    strcmp(method, "POST") == 0)
		*op = DA_STOP;
	else if (rest != NULL && strcmp(rest, "/logs") == 0 &&
	    strcmp(method, "GET") == 0)
		*op = DA_LOGS;
	else
		return -1;
	return 0;
}

static const char *const op_words[] = {
	"list containers", "create container", "inspect container",
	"stop container", "remove container", "inspect container",
};

/*
 * Start the operation the approved method and decoded path name, with
 * the worker's values (fields: name -> string; taken).  0: started, the
 * answer comes through ops; -1: not a dockeragent route (the caller
 * answers 404).
 */
int
pda_start(const char *method, const char *path, json_t *fields,
    const char *api, const struct pda_ops *ops, void *arg, struct pda **out)
{
	struct pda	*p;
	char		 id[136], target[512];
	const char	*v, *body;
	enum da_op	 op;

	*out = NULL;
	if (op_of(method, path, id, sizeof(id), &op) == -1) {
		json_decref(fields);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->op = op;
	p->f = fields != NULL ? fields : json_object();
	p->ops = ops;
	p->arg = arg;
	p->api = api;
	pw_strlcpy(p->id, id, sizeof(p->id));
	*out = p;
	/*
	 * Container ids and names are [a-zA-Z0-9][a-zA-Z0-9_.-]: anything
	 * else names no container, and never reaches a Docker path.
	 */
	if (op != DA_LIST && op != DA_CREATE && !dd_valid_id(id)) {
		char msg[400];
		snprintf(msg, sizeof(msg), "%s: Error response from daemon: "
		    "No such container: %.200s", op_words[op], id);
		answer_later(p, 404, msg);
		return 0;
	}
	switch (op) {
	case DA_LIST:
		v = fv(p, "Pw-Da-All");
		snprintf(target, sizeof(target), "%s/containers/json%s", api,
		    v != NULL && strcmp(v, "1") == 0 ? "?all=1" : "");
		p->dq = dclient_request("GET", target, DA_TIMEOUT, DA_LIST_MAX,
		    NULL, list_done, p);
		break;
	case DA_INSPECT:
		snprintf(target, sizeof(target), "%s/containers/%s/json", api,
		    id);
		p->dq = dclient_request("GET", target, DA_TIMEOUT,
		    DA_INSPECT_MAX, NULL, inspect_done, p);
		break;
	case DA_LOGS:
		snprintf(target, sizeof(target), "%s/containers/%s/json", api,
		    id);
		p->dq = dclient_request("GET", target, DA_TIMEOUT,
		    DA_INSPECT_MAX, NULL, logs_inspected, p);
		break;
	case DA_STOP: {
		struct evbuffer *t = evbuffer_new();
		evbuffer_add_printf(t, "%s/containers/%s/stop?", api, id);
		if ((v = fv(p, "Pw-Da-Timeout")) != NULL &&
		    strspn(v, "-0123456789") == strlen(v) && *v != '\0')
			evbuffer_add_printf(t, "t=%s", v);
		if ((v = fv(p, "Pw-Da-Signal")) != NULL)
			qadd(t, "signal", v);
		evbuffer_add(t, "", 1);
		p->dq = dclient_request_body("POST", (const char *)
		    evbuffer_pullup(t, -1), NULL, 0, DA_TIMEOUT + 300, 64 * 1024,
		    NULL, stop_done, p);
		evbuffer_free(t);
		break;
	}
	case DA_REMOVE: {
		const char *force = fv(p, "Pw-Da-Force"), *vol = fv(p, "Pw-Da-V");
		snprintf(target, sizeof(target), "%s/containers/%s?force=%s&v=%s",
		    api, id, force != NULL && strcmp(force, "1") == 0 ? "1" : "0",
		    vol != NULL && strcmp(vol, "1") == 0 ? "1" : "0");
		p->dq = dclient_request("DELETE", target, DA_TIMEOUT, 64 * 1024,
		    NULL, remove_done, p);
		break;
	}
	case DA_CREATE: {
		struct evbuffer *t = evbuffer_new();
		if ((body = fv(p, "Pw-Da-Body")) == NULL) {
			evbuffer_free(t);
			answer_later(p, 400, "image is required");
			return 0;
		}
		evbuffer_add_printf(t, "%s/containers/create", api);
		if ((v = fv(p, "Pw-Da-Name")) != NULL && dd_valid_id(v))
			evbuffer_add_printf(t, "?name=%s", v);
		evbuffer_add(t, "", 1);
		p->dq = dclient_request_body("POST", (const char *)
		    evbuffer_pullup(t, -1), body, strlen(body), DA_TIMEOUT,
		    64 * 1024, NULL, create_done, p);
		evbuffer_free(t);
		break;
	}
	}
	return 0;
}

void
pda_init(struct event_base *base)
{
	pda_base = base;
}

void
pda_cancel(struct pda *p)
{
	if (p == NULL)
		return;
	if (p->dq != NULL)
		dclient_cancel(p->dq);
	finish(p);
}
