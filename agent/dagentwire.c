/*
 * dagentwire.c (worker): dockeragent's requests, without a connection
 * (ADAPTER=dockeragent; seeds/dockeragent-README, and dockeragent's own
 * handlers for the exact checks and messages).
 *
 * The worker reads the client's body and query here, checks them in
 * dockeragent's order with its messages, and turns them into the few
 * typed values the proxy needs (struct da_call): flags and numbers, a
 * signal from the POSIX list, a container name that matched Docker's
 * rule, and for a create Docker's own container configuration, built
 * here from the validated request.  The proxy derives which Docker call
 * to make from the approved method and path, never from these values.
 */
#include "pwbuild.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "dagent.h"
#include "dagentwire.h"
#include "http.h"
#include "util.h"

static const char *const signals[] = {
	"SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCONT", "SIGFPE",
	"SIGHUP", "SIGILL", "SIGINT", "SIGIO", "SIGIOT", "SIGKILL", "SIGPIPE",
	"SIGPROF", "SIGQUIT", "SIGSEGV", "SIGSTOP", "SIGSYS", "SIGTERM",
	"SIGTRAP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGUSR1",
	"SIGUSR2", "SIGVTALRM", "SIGWINCH", "SIGXCPU", "SIGXFSZ",
};

void
da_call_add(struct da_call *c, const char *name, const char *value)
{
	if (c->n == DA_FIELDS_MAX)
		return;
	c->name[c->n] = name;
	c->value[c->n++] = xstrdup(value);
}

void
da_call_free(struct da_call *c)
{
	int	i;

	for (i = 0; i < c->n; i++)
		free(c->value[i]);
	c->n = 0;
}

static int
fail(struct da_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct da_result *r, int status, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->status = status;
	return -1;
}

/*
 * A query parameter, percent-decoded; NULL when absent.  Booleans are Go's
 * strconv.ParseBool spellings (an empty value is false).
 */
static const char *
qparam(const char *q, const char *key, char *out, size_t outsz)
{
	size_t	kl = strlen(key), n, vl;

	while (q != NULL && *q != '\0') {
		n = strcspn(q, "&");
		if (n >= kl && strncmp(q, key, kl) == 0 &&
		    (n == kl || q[kl] == '=')) {
			vl = n == kl ? 0 : n - kl - 1;
			http_percent_decode(q + kl + (n > kl), vl, out, outsz);
			return out;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return NULL;
}

/* 1, 0, or -1 for a value ParseBool refuses; absent: 0. */
static int
qbool(const char *q, const char *key)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true",
	    "True" };
	static const char *const no[] = { "", "0", "f", "F", "FALSE", "false",
	    "False" };
	char	v[64];
	size_t	i;

	if (qparam(q, key, v, sizeof(v)) == NULL)
		return 0;
	for (i = 0; i < nitems(yes); i++)
		if (strcmp(v, yes[i]) == 0)
			return 1;
	for (i = 0; i < nitems(no); i++)
		if (strcmp(v, no[i]) == 0)
			return 0;
	return -1;
}

/* GET /api/v1/containers: only all=true lists stopped ones. */
int
da_list(const char *query, struct da_call *c)
{
	char	v[16];

	da_call_add(c, "Pw-Da-All", qparam(query, "all", v, sizeof(v)) != NULL &&
	    strcmp(v, "true") == 0 ? "1" : "0");
	return 0;
}

/* DELETE /api/v1/containers/:id?force=&v= */
int
da_remove(const char *query, struct da_call *c, struct da_result *r)
{
	int	force = qbool(query, "force"), v = qbool(query, "v");

	if (force == -1 || v == -1)
		return fail(r, 400, "invalid query parameters");
	da_call_add(c, "Pw-Da-Force", force ? "1" : "0");
	da_call_add(c, "Pw-Da-V", v ? "1" : "0");
	return 0;
}

/* A value Docker reads from the query: printable, no separators. */
static int
plain_value(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
			return 0;
	return 1;
}

/* GET /api/v1/containers/:id/logs?follow=&tail=&since=&until=&timestamps= */
int
da_logs(const char *query, struct da_call *c, struct da_result *r)
{
	int	follow = qbool(query, "follow"), ts = qbool(query, "timestamps");
	char	tail[64], since[128], until[128];

	if (follow == -1 || ts == -1)
		return fail(r, 400, "invalid query parameters");
	if (qparam(query, "tail", tail, sizeof(tail)) == NULL || *tail == '\0')
		pw_strlcpy(tail, "all", sizeof(tail));
	if (qparam(query, "since", since, sizeof(since)) == NULL)
		since[0] = '\0';
	if (qparam(query, "until", until, sizeof(until)) == NULL)
		until[0] = '\0';
	if (!plain_value(tail) || !plain_value(since) || !plain_value(until))
		return fail(r, 400, "invalid query parameters");
	da_call_add(c, "Pw-Da-Follow", follow ? "1" : "0");
	da_call_add(c, "Pw-Da-Timestamps", ts ? "1" : "0");
	da_call_add(c, "Pw-Da-Tail", tail);
	if (*since)
		da_call_add(c, "Pw-Da-Since", since);
	if (*until)
		da_call_add(c, "Pw-Da-Until", until);
	return 0;
}

/* The body as dockeragent binds it: a JSON object, or a 400. */
static json_t *
load_object_flags(const char *body, size_t n, size_t flags,
    struct da_result *r)
{
	json_error_t	 e;
	json_t		*o = json_loadb(body, n, flags, &e);

	if (o == NULL) {
		fail(r, 400, "invalid JSON body: %s", e.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		fail(r, 400, "invalid JSON body: expected a JSON object");
		return NULL;
	}
	return o;
}

static json_t *
load_object(const char *body, size_t n, struct da_result *r)
{
	return load_object_flags(body, n, 0, r);
}

/* A member of the wrong JSON type, as Go's decoder refuses it. */
static int
wrong_type(struct da_result *r, const char *field, const char *want)
{
	return fail(r, 400, "invalid JSON body: %s must be %s", field, want);
}

/* POST /api/v1/containers/:id/stop, its body optional. */
int
da_stop(const char *body, size_t n, struct da_call *c, struct da_result *r)
{
	json_t		*o, *t, *s;
	const char	*sig = "";
	char		 up[16], num[32];
	size_t		 i;

	if (n == 0)
		return 0;
	if ((o = load_object(body, n, r)) == NULL)
		return -1;
	t = json_object_get(o, "timeout");
	s = json_object_get(o, "signal");
	if (t != NULL && !json_is_null(t) && (!json_is_integer(t) ||
	    json_integer_value(t) < INT_MIN || json_integer_value(t) > INT_MAX)) {
		json_decref(o);
		return wrong_type(r, "timeout", "an integer");
	}
	if (s != NULL && !json_is_null(s) && !json_is_string(s)) {
		json_decref(o);
		return wrong_type(r, "signal", "a string");
	}
	if (json_is_string(s))
		sig = json_string_value(s);
	if (*sig != '\0') {
		for (i = 0; sig[i] != '\0' && i < sizeof(up) - 1; i++)
			up[i] = (char)toupper((unsigned char)sig[i]);
		up[i] = '\0';
		for (i = 0; i < nitems(signals); i++)
			if (strlen(sig) < sizeof(up) &&
			    strcmp(up, signals[i]) == 0)
				break;
		if (i == nitems(signals)) {
			json_decref(o);
			return fail(r, 400, "signal must be a valid POSIX signal "
			    "name (e.g., SIGTERM, SIGKILL)");
		}
		da_call_add(c, "Pw-Da-Signal", up);
	}
	if (json_is_integer(t)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(t));
		da_call_add(c, "Pw-Da-Timeout", num);
	}
	json_decref(o);
	return 0;
}

/* Go's strconv.Atoi: an optional sign and decimal digits. */
static int
go_atoi(const char *s, long long *out)
{
	char	*end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static const char *
mstr(json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* Members that must be strings, string arrays, objects... when present. */
static int
types_ok(json_t *o, struct da_result *r)
{
	static const char *const strs[] = { "image", "name", "working_dir",
	    "user", "hostname", "network_mode" };
	static const char *const arrs[] = { "cmd", "entrypoint", "env",
	    "networks" };
	json_t	*v, *x;
	size_t	 i, j;

	for (i = 0; i < nitems(strs); i++)
		if ((v = json_object_get(o, strs[i])) != NULL &&
		    !json_is_null(v) && !json_is_string(v))
			return wrong_type(r, strs[i], "a string");
	for (i = 0; i < nitems(arrs); i++) {
		if ((v = json_object_get(o, arrs[i])) == NULL ||
		    json_is_null(v))
			continue;
		if (!json_is_array(v))
			return wrong_type(r, arrs[i], "an array of strings");
		json_array_foreach(v, j, x)
			if (!json_is_string(x))
				return wrong_type(r, arrs[i],
				    "an array of strings");
	}
	if ((v = json_object_get(o, "labels")) != NULL && !json_is_null(v)) {
		const char *k;
		if (!json_is_object(v))
			return wrong_type(r, "labels", "an object of strings");
		json_object_foreach(v, k, x)
			if (!json_is_string(x))
				return wrong_type(r, "labels",
				    "an object of strings");
	}
	if ((v = json_object_get(o, "ports")) != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return wrong_type(r, "ports", "an array");
		json_array_foreach(v, j, x) {
			if (!json_is_object(x))
				return wrong_type(r, "ports[]", "an object");
			if (json_object_get(x, "container_port") != NULL &&
			    !json_is_string(json_object_get(x,
			    "container_port")))
				return wrong_type(r, "ports[].container_port",
				    "a string");
			if (json_object_get(x, "host_port") != NULL &&
			    !json_is_string(json_object_get(x, "host_port")))
				return wrong_type(r, "ports[].host_port",
				    "a string");
		}
	}
	if ((v = json_object_get(o, "volumes")) != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return wrong_type(r, "volumes", "an array");
		json_array_foreach(v, j, x)
			if (!json_is_object(x))
				return wrong_type(r, "volumes[]", "an object");
	}
	if ((v = json_object_get(o, "restart_policy")) != NULL &&
	    !json_is_null(v) && !json_is_object(v))
		return wrong_type(r, "restart_policy", "an object");
	if ((v = json_object_get(o, "resources")) != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return wrong_type(r, "resources", "an object");
		if ((x = json_object_get(v, "cpus")) != NULL &&
		    !json_is_number(x))
			return wrong_type(r, "resources.cpus", "a number");
		if ((x = json_object_get(v, "memory_mb")) != NULL &&
		    !json_is_integer(x))
			return wrong_type(r, "resources.memory_mb",
			    "an integer");
		if ((x = json_object_get(v, "cpu_shares")) != NULL &&
		    !json_is_integer(x))
			return wrong_type(r, "resources.cpu_shares",
			    "an integer");
	}
	return 0;
}

/* dockeragent's checks of a create request, in its order. */
static int
create_checks(json_t *o, struct da_result *r)
{
	json_t		*v, *x, *res;
	const char	*s;
	long long	 port;
	size_t		 i;

	if (*mstr(o, "image") == '\0')
		return fail(r, 400, "image is required");
	if (json_is_object(v = json_object_get(o, "restart_policy"))) {
		s = mstr(v, "name");
		if (strcmp(s, "no") != 0 && strcmp(s, "always") != 0 &&
		    strcmp(s, "on-failure") != 0 &&
		    strcmp(s, "unless-stopped") != 0)
			return fail(r, 400, "restart_policy.name must be one "
			    "of: no, always, on-failure, unless-stopped");
	}
	if (json_is_object(res = json_object_get(o, "resources"))) {
		if (json_number_value(json_object_get(res, "cpus")) < 0)
			return fail(r, 400, "resources.cpus cannot be negative");
		if (json_integer_value(json_object_get(res, "memory_mb")) < 0)
			return fail(r, 400, "resources.memory_mb cannot be "
			    "negative");
		/*
		 * Docker takes nanocpus and bytes as int64: beyond that no
		 * machine has (Go would wrap the conversion silently).
		 */
		if (json_number_value(json_object_get(res, "cpus")) > 1e9)
			return fail(r, 400, "resources.cpus is out of range");
		if (json_integer_value(json_object_get(res, "memory_mb")) >
		    (json_int_t)(INT64_MAX / (1024 * 1024)))
			return fail(r, 400, "resources.memory_mb is out of "
			    "range");
	}
	json_array_foreach(json_object_get(o, "ports"), i, v) {
		s = mstr(v, "container_port");
		if (*s == '\0')
			return fail(r, 400, "ports[].container_port is "
			    "required");
		if (go_atoi(s, &port) == -1 || port < 1 || port > 65535)
			return fail(r, 400, "ports[].container_port must be a "
			    "number between 1 and 65535");
		s = mstr(v, "host_port");
		if (*s != '\0' && (go_atoi(s, &port) == -1 || port < 1 ||
		    port > 65535))
			return fail(r, 400, "ports[].host_port must be a "
			    "number between 1 and 65535");
	}
	json_array_foreach(json_object_get(o, "volumes"), i, v) {
		if (*mstr(v, "source") == '\0' || *mstr(v, "target") == '\0')
			return fail(r, 400, "volumes[].source and "
			    "volumes[].target are required");
		s = mstr(v, "type");
		if (*s != '\0' && strcmp(s, "bind") != 0 &&
		    strcmp(s, "volume") != 0 && strcmp(s, "tmpfs") != 0)
			return fail(r, 400, "volumes[].type must be one of: "
			    "bind, volume, tmpfs (or omitted)");
	}
	(void)x;
	return 0;
}

/* Docker's container name rule; "" is no name. */
static int
name_ok(const char *n)
{
	if (*n == '/')
		n++;
	if (!isalnum((unsigned char)*n))
		return 0;
	for (n++; *n != '\0'; n++)
		if (!isalnum((unsigned char)*n) && !strchr("_.-", *n))
			return 0;
	return 1;
}

static void
copy_member(json_t *dst, const char *dk, json_t *src, const char *sk)
{
	json_t	*v = json_object_get(src, sk);

	if (v == NULL || json_is_null(v))
		return;
	if ((json_is_string(v) && json_string_length(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0) ||
	    (json_is_object(v) && json_object_size(v) == 0))
		return;
	json_object_set(dst, dk, v);
}

/* Docker's container configuration for a checked request. */
static json_t *
docker_config(json_t *o, struct da_result *r)
{
	json_t		*cfg = json_object(), *hc = json_object(), *v, *res;
	json_t		*exposed = json_object(), *bind = json_object();
	const char	*proto, *hip;
	char		 key[64];
	unsigned char	 a[16];
	size_t		 i;

	json_object_set_new(cfg, "Image", json_string(mstr(o, "image")));
	copy_member(cfg, "Cmd", o, "cmd");
	copy_member(cfg, "Entrypoint", o, "entrypoint");
	copy_member(cfg, "Env", o, "env");
	copy_member(cfg, "Labels", o, "labels");
	copy_member(cfg, "WorkingDir", o, "working_dir");
	copy_member(cfg, "User", o, "user");
	copy_member(cfg, "Hostname", o, "hostname");
	json_array_foreach(json_object_get(o, "ports"), i, v) {
		proto = *mstr(v, "protocol") ? mstr(v, "protocol") : "tcp";
		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 &&
		    strcmp(proto, "sctp") != 0) {
			fail(r, 500, "invalid port mapping: invalid container "
			    "port \"%s/%.16s\"", mstr(v, "container_port"),
			    proto);
			goto bad;
		}
		hip = mstr(v, "host_ip");
		if (*hip != '\0' && inet_pton(AF_INET, hip, a) != 1 &&
		    inet_pton(AF_INET6, hip, a) != 1) {
			fail(r, 500, "invalid port mapping: invalid host_ip "
			    "\"%.64s\"", hip);
			goto bad;
		}
		snprintf(key, sizeof(key), "%lld/%s", strtoll(mstr(v,
		    "container_port"), NULL, 10), proto);
		json_object_set_new(exposed, key, json_object());
		if (json_object_get(bind, key) == NULL)
			json_object_set_new(bind, key, json_array());
		json_array_append_new(json_object_get(bind, key), json_pack(
		    "{s:s, s:s}", "HostIp", hip, "HostPort", mstr(v,
		    "host_port")));
	}
	if (json_object_size(exposed) > 0) {
		json_object_set(cfg, "ExposedPorts", exposed);
		json_object_set(hc, "PortBindings", bind);
	}
	copy_member(hc, "NetworkMode", o, "network_mode");
	if (json_array_size(json_object_get(o, "volumes")) > 0) {
		json_t *m = json_array();
		json_array_foreach(json_object_get(o, "volumes"), i, v) {
			int tmpfs = strcmp(mstr(v, "type"), "tmpfs") == 0;
			json_t *mt = json_pack("{s:s, s:s, s:b}", "Type",
			    strcmp(mstr(v, "type"), "volume") == 0 ? "volume" :
			    tmpfs ? "tmpfs" : "bind", "Target", mstr(v, "target"),
			    "ReadOnly", json_is_true(json_object_get(v,
			    "read_only")));
			/*
			 * dockeragent requires a source for every kind and
			 * passes it on, which Docker refuses for tmpfs: the
			 * source of a tmpfs mount is dropped here.
			 */
			if (!tmpfs)
				json_object_set_new(mt, "Source", json_string(
				    mstr(v, "source")));
			json_array_append_new(m, mt);
		}
		json_object_set_new(hc, "Mounts", m);
	}
	if (json_is_object(v = json_object_get(o, "restart_policy")))
		json_object_set_new(hc, "RestartPolicy", json_pack("{s:s, s:I}",
		    "Name", mstr(v, "name"), "MaximumRetryCount",
		    json_integer_value(json_object_get(v, "max_retry_count"))));
	if (json_is_object(res = json_object_get(o, "resources"))) {
		double cpus = json_number_value(json_object_get(res, "cpus"));
		json_int_t mem = json_integer_value(json_object_get(res,
		    "memory_mb"));
		json_int_t shares = json_integer_value(json_object_get(res,
		    "cpu_shares"));
		if (cpus > 0)
			json_object_set_new(hc, "NanoCpus", json_integer(
			    (json_int_t)(cpus * 1e9)));
		if (mem > 0)
			json_object_set_new(hc, "Memory", json_integer(mem *
			    1024 * 1024));
		if (shares > 0)
			json_object_set_new(hc, "CpuShares",
			    json_integer(shares));
	}
	json_object_set(cfg, "HostConfig", hc);
	if (json_array_size(json_object_get(o, "networks")) > 0) {
		json_t *eps = json_object();
		json_array_foreach(json_object_get(o, "networks"), i, v)
			json_object_set_new(eps, json_string_value(v),
			    json_object());
		json_object_set_new(cfg, "NetworkingConfig", json_pack("{s:o}",
		    "EndpointsConfig", eps));
	}
	json_decref(hc);
	json_decref(exposed);
	json_decref(bind);
	return cfg;
bad:
	json_decref(cfg);
	json_decref(hc);
	json_decref(exposed);
	json_decref(bind);
	return NULL;
}

/* POST /api/v1/containers: checks, then Docker's configuration. */
int
da_create(const char *body, size_t n, struct da_call *c, struct da_result *r)
{
	json_t		*o, *cfg;
	const char	*name;
	char		*s;

	if ((o = load_object(body, n, r)) == NULL)
		return -1;
	if (types_ok(o, r) == -1 || create_checks(o, r) == -1) {
		json_decref(o);
		return -1;
	}
	name = mstr(o, "name");
	if (*name != '\0' && (!name_ok(name) || strlen(name) > 255)) {
		fail(r, 400, "create container: Error response from daemon: "
		    "Invalid container name (%.255s), only [a-zA-Z0-9]"
		    "[a-zA-Z0-9_.-] are allowed", name);
		json_decref(o);
		return -1;
	}
	if ((cfg = docker_config(o, r)) == NULL) {
		json_decref(o);
		return -1;
	}
	s = json_dumps(cfg, JSON_COMPACT);
	json_decref(cfg);
	if (s != NULL && strchr(s, 0x7f) != NULL) {
		/* DEL may stand raw in JSON, not in a header field. */
		struct evbuffer *b = evbuffer_new();
		char *q;
		for (q = s; *q != '\0'; q++)
			if (*q == 0x7f)
				evbuffer_add(b, "\\u007f", 6);
			else
				evbuffer_add(b, q, 1);
		evbuffer_add(b, "", 1);
		free(s);
		s = xstrdup((const char *)evbuffer_pullup(b, -1));
		evbuffer_free(b);
	}
	if (s == NULL || strlen(s) > DA_CONFIG_MAX) {
		free(s);
		json_decref(o);
		return fail(r, 413, "container configuration too large for "
		    "the agent (over %d KiB)", DA_CONFIG_MAX / 1024);
	}
	if (*name != '\0')
		da_call_add(c, "Pw-Da-Name", *name == '/' ? name + 1 : name);
	da_call_add(c, "Pw-Da-Body", s);
	free(s);
	json_decref(o);
	return 0;
}

/*
 * POST /api/v1/files: {"path", "content", "permission"} checked in
 * dockeragent's order.  The cleaned path and the permission bits go to
 * the proxy as fields; the content, decoded, becomes the body the proxy
 * hands to filed (*content, malloc'd, *clen bytes).  allow is
 * HOST_FILES_ALLOW (NULL: all of the root).
 */
int
da_files(const char *body, size_t n, const char *allow, struct da_call *c,
    struct da_result *r, char **content, size_t *clen)
{
	json_t		*o, *p, *t, *m;
	const char	*perm = "0644", *q;
	char		 clean[DA_PATH_MAX], num[16];
	unsigned long	 bits = 0;
	int		 rc;

	*content = NULL;
	*clen = 0;
	/* A file may hold NUL bytes (Go's strings may); a path may not. */
	if ((o = load_object_flags(body, n, JSON_ALLOW_NUL, r)) == NULL)
		return -1;
	p = json_object_get(o, "path");
	t = json_object_get(o, "content");
	m = json_object_get(o, "permission");
	if (p != NULL && !json_is_null(p) && !json_is_string(p)) {
		json_decref(o);
		return wrong_type(r, "path", "a string");
	}
	if (t != NULL && !json_is_null(t) && !json_is_string(t)) {
		json_decref(o);
		return wrong_type(r, "content", "a string");
	}
	if (m != NULL && !json_is_null(m) && !json_is_string(m)) {
		json_decref(o);
		return wrong_type(r, "permission", "a string");
	}
	if ((json_is_string(p) && strlen(json_string_value(p)) !=
	    json_string_length(p)) || (json_is_string(m) &&
	    strlen(json_string_value(m)) != json_string_length(m))) {
		json_decref(o);
		return fail(r, 400, "invalid JSON body: a NUL character in "
		    "path or permission");
	}
	rc = dagent_path_clean(json_is_string(p) ? json_string_value(p) : "",
	    clean, sizeof(clean));
	if (rc != DA_PATH_OK) {
		json_decref(o);
		switch (rc) {
		case DA_PATH_EMPTY:
			return fail(r, 400, "path is required");
		case DA_PATH_RELATIVE:
			return fail(r, 400, "path must be absolute");
		case DA_PATH_DOTDOT:
			return fail(r, 400, "path must not contain '..'");
		case DA_PATH_ROOT:
			return fail(r, 400, "path must name a file, not /");
		default:
			return fail(r, 400, "path is too long");
		}
	}
	if (json_is_string(m) && json_string_length(m) > 0)
		perm = json_string_value(m);
	for (q = perm; *q >= '0' && *q <= '7' && bits <= 07777; q++)
		bits = bits * 8 + (unsigned long)(*q - '0');
	if (*q != '\0' || q == perm || bits > 07777) {
		json_decref(o);
		return fail(r, 400, "permission must be a valid octal string "
		    "(e.g., \"0644\")");
	}
	if (bits & 07000) {
		json_decref(o);
		return fail(r, 400, "permission must not set the setuid, "
		    "setgid or sticky bit");
	}
	if (!dagent_path_allowed(clean, allow)) {
		json_decref(o);
		return fail(r, 403, "path %s is outside the paths this agent "
		    "may write (HOST_FILES_ALLOW)", clean);
	}
	if (json_is_string(t) && json_string_length(t) > 0) {
		*clen = json_string_length(t);
		*content = xmalloc(*clen);
		memcpy(*content, json_string_value(t), *clen);
	}
	da_call_add(c, "Pw-Da-Path", clean);
	snprintf(num, sizeof(num), "%04lo", bits);
	da_call_add(c, "Pw-Da-Mode", num);
	json_decref(o);
	return 0;
}
