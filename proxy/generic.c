/*
 * generic.c (proxy): the pure parts of the generic adapter and of the MCP
 * tools, built from what Docker says of a container.  No I/O here, so
 * the unit tests run them on recorded answers.
 *
 *  - the small JSON readers and the image reference split the models
 *    share (the Drydock model in inventory.c uses them too);
 *  - the generic container model (reference 8.3, GET /api/v1/containers);
 *  - the generic SSE frame of one Docker event (reference 7.8,
 *    GET /api/v1/events), health events included in a documented form;
 *  - the facts MCP's list_containers needs of a container, and Docker's
 *    human status line ("Up 5 minutes"), computed when asked so that it
 *    never goes stale in a cache.
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "drydock.h"
#include "proxy.h"
#include "util.h"

const char *
jstr(json_t *o, const char *path)
{
	char		 buf[128], *p, *save = NULL;
	json_t		*v = o;

	pw_strlcpy(buf, path, sizeof(buf));
	for (p = strtok_r(buf, ".", &save); p != NULL && v != NULL;
	    p = strtok_r(NULL, ".", &save))
		v = json_object_get(v, p);
	return json_is_string(v) ? json_string_value(v) : "";
}

int
jbool(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

/* Reference 8.1: registry, name and tag out of an image reference. */
void
parse_image_ref(const char *ref, char *registry, size_t rsz, char *name,
    size_t nsz, char *tag, size_t tsz)
{
	char	buf[512], *colon, *slash, *at;

	pw_strlcpy(buf, ref, sizeof(buf));
	/* A digest reference names no tag: drop it (Portwing mis-splits it). */
	if ((at = strchr(buf, '@')) != NULL)
		*at = '\0';
	colon = strrchr(buf, ':');
	if (colon != NULL && colon[1] != '\0' && strchr(colon, '/') == NULL) {
		pw_strlcpy(tag, colon + 1, tsz);
		*colon = '\0';
	} else
		pw_strlcpy(tag, "latest", tsz);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (strchr(buf, '.') != NULL || strchr(buf, ':') != NULL ||
		    strcmp(buf, "localhost") == 0) {
			pw_strlcpy(registry, buf, rsz);
			pw_strlcpy(name, slash + 1, nsz);
			return;
		}
		*slash = '/';
	}
	pw_strlcpy(registry, "docker.io", rsz);
	pw_strlcpy(name, buf, nsz);
}

/*
 * Docker's RFC 3339 time ("2026-06-01T10:00:01.5Z") in nanoseconds since
 * the epoch; 0 for the zero time Docker writes for "never" (year 1), an
 * empty string or anything unreadable.
 */
int64_t
docker_time_ns(const char *s)
{
	struct tm	tm;
	int		y, mo, d, h, mi, sec, n = 0, i;
	int64_t		frac = 0, t;
	const char	*p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
	    &n) != 6 || y < 1970)
		return 0;
	p = s + n;
	if (*p == '.') {
		for (i = 0, p++; *p >= '0' && *p <= '9'; p++, i++)
			if (i < 9)
				frac = frac * 10 + (*p - '0');
		for (; i < 9; i++)
			frac *= 10;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	if (*p == '+' || *p == '-') {
		int oh = 0, om = 0;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
			t += (*p == '+' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
	}
	return t * 1000000000LL + frac;
}

/* ---- the generic container model (reference 8.3) ---- */

static void
set_nonempty(json_t *o, const char *k, const char *v)
{
	if (v != NULL && *v != '\0')
		json_object_set_new(o, k, json_string(v));
}

static json_t *
env_list(json_t *env)
{
	json_t		*out = json_array(), *e;
	const char	*s, *eq;
	size_t		 i;

	json_array_foreach(env, i, e) {
		if (!json_is_string(e))
			continue;
		s = json_string_value(e);
		eq = strchr(s, '=');
		json_array_append_new(out, json_pack("{s:s%, s:s}", "key", s,
		    eq ? (size_t)(eq - s) : strlen(s), "value", eq ? eq + 1 : ""));
	}
	return out;
}

/*
 * in: Docker's container inspection; img: what the inventory keeps of the
 * image's (Created, Os...), or NULL.  Members of details are left out when
 * empty, as the reference does.
 */
json_t *
generic_model(json_t *in, json_t *img, const char *agent)
{
	json_t		*m, *image, *details, *labels, *a, *v, *nets;
	const char	*name = jstr(in, "Name"), *k, *started, *health;
	char		 registry[256], iname[512], tag[256];
	struct evbuffer	*cmd;
	size_t		 i;

	if (*name == '/')
		name++;
	parse_image_ref(jstr(in, "Config.Image"), registry, sizeof(registry),
	    iname, sizeof(iname), tag, sizeof(tag));
	image = json_pack("{s:s, s:s, s:s, s:s}", "id", jstr(in, "Image"),
	    "registry", registry, "name", iname, "tag", tag);
	set_nonempty(image, "created", jstr(img, "Created"));
	m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:s}",
	    "id", jstr(in, "Id"), "name", name, "displayName", name,
	    "status", *jstr(in, "State.Status") ? jstr(in, "State.Status") :
	    "unknown", "watcher", "docker", "agent", agent, "image", image,
	    "updateAvailable", 0, "updateKind", "unknown");
	labels = json_object_get(json_object_get(in, "Config"), "Labels");
	if (json_is_object(labels) && json_object_size(labels) > 0)
		json_object_set(m, "labels", labels);

	details = json_object();
	set_nonempty(details, "platform", jstr(in, "Platform"));
	a = json_object_get(json_object_get(in, "Config"), "Cmd");
	if (json_is_array(a) && json_array_size(a) > 0) {
		char *s;
		cmd = evbuffer_new();
		json_array_foreach(a, i, v)
			evbuffer_add_printf(cmd, "%s%s", i ? " " : "",
			    json_is_string(v) ? json_string_value(v) : "");
		evbuffer_add(cmd, "", 1);
		s = (char *)evbuffer_pullup(cmd, -1);
		json_object_set_new(details, "command", json_string(s));
		evbuffer_free(cmd);
	}
	nets = json_object_get(json_object_get(in, "NetworkSettings"),
	    "Networks");
	if (json_is_object(nets) && json_object_size(nets) > 0) {
		a = json_array();
		json_object_foreach(nets, k, v)
			json_array_append_new(a, json_pack("{s:s, s:s, s:s}",
			    "name", k, "ipAddress", jstr(v, "IPAddress"),
			    "gateway", jstr(v, "Gateway")));
		json_object_set_new(details, "network", a);
	}
	a = json_object_get(in, "Mounts");
	if (json_is_array(a) && json_array_size(a) > 0) {
		json_t *vols = json_array();
		json_array_foreach(a, i, v)
			json_array_append_new(vols, json_pack("{s:s, s:s, s:s, "
			    "s:b}", "type", jstr(v, "Type"), "source",
			    jstr(v, "Source"), "destination",
			    jstr(v, "Destination"), "readOnly", !jbool(v, "RW")));
		json_object_set_new(details, "volumes", vols);
	}
	a = json_object_get(json_object_get(in, "Config"), "Env");
	if (json_is_array(a) && json_array_size(a) > 0)
		json_object_set_new(details, "env", env_list(a));
	set_nonempty(details, "created", jstr(in, "Created"));
	started = jstr(in, "State.StartedAt");
	if (docker_time_ns(started) != 0)
		json_object_set_new(details, "started", json_string(started));
	health = jstr(in, "State.Health.Status");
	set_nonempty(details, "health", health);
	json_object_set_new(m, "details", details);
	return m;
}

/* ---- generic SSE: one Docker event, one frame (reference 7.8) ---- */

static const char *const gen_actions[] = {
	"create", "start", "stop", "die", "kill", "restart", "pause",
	"unpause", "destroy", "rename", "update", "oom",
};

/* Actor attributes that are not labels. */
static const char *const not_labels[] = {
	"name", "image", "exitCode", "signal", "execID", "maintainer",
	"org.opencontainers.image.created", "org.opencontainers.image.revision",
	"org.opencontainers.image.source", "org.opencontainers.image.title",
	"org.opencontainers.image.url", "org.opencontainers.image.version",
};

/*
 * The frame for event e ("data: {...}\n\n" in *out, malloc'd), or -1 when
 * the generic feed does not forward it.  Docker names a health change
 * "health_status: healthy"; it is forwarded as action "health_status"
 * with the state in "health" (the reference drops it by accident).
 */
int
generic_event_frame(json_t *e, char **out, size_t *len)
{
	const char	*action = jstr(e, "Action"), *k, *health = NULL;
	json_t		*attrs, *labels, *o, *v;
	char		 ts[40], *s;
	time_t		 t;
	struct tm	 tm;
	size_t		 i;
	int		 ok = 0;

	if (strcmp(jstr(e, "Type"), "container") != 0)
		return -1;
	if (strncmp(action, "health_status: ", 15) == 0) {
		health = action + 15;
		action = "health_status";
		ok = *health != '\0';
	}
	for (i = 0; i < nitems(gen_actions) && !ok; i++)
		ok = strcmp(action, gen_actions[i]) == 0;
	if (!ok || *jstr(e, "Actor.ID") == '\0')
		return -1;
	t = (time_t)json_integer_value(json_object_get(e, "time"));
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	attrs = json_object_get(json_object_get(e, "Actor"), "Attributes");
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ts", ts, "type",
	    "container", "action", action, "containerId", jstr(e, "Actor.ID"),
	    "name", jstr(attrs, "name"), "image", jstr(attrs, "image"));
	if (health != NULL)
		json_object_set_new(o, "health", json_string(health));
	labels = json_object();
	json_object_foreach(attrs, k, v) {
		for (i = 0; i < nitems(not_labels); i++)
			if (strcmp(k, not_labels[i]) == 0)
				break;
		if (i == nitems(not_labels) && json_is_string(v))
			json_object_set(labels, k, v);
	}
	if (json_object_size(labels) > 0)
		json_object_set(o, "labels", labels);
	json_decref(labels);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return -1;
	*len = (size_t)xasprintf(out, "data: %s\n\n", s);
	free(s);
	return 0;
}

/* ---- MCP's list_containers ---- */

/*
 * What list_containers needs of a container, kept by the inventory: no
 * environment, and the state fields Docker's status line is made of.
 */
json_t *
mcp_facts(json_t *in)
{
	json_t		*st = json_object_get(in, "State"), *o, *labels;
	const char	*name = jstr(in, "Name");

	o = json_pack("{s:s, s:s, s:s, s:I, s:{s:s, s:b, s:b, s:b, s:b, s:I, "
	    "s:s, s:s, s:s}}", "id", jstr(in, "Id"), "name", name,
	    "image", jstr(in, "Config.Image"),
	    "created", (json_int_t)docker_time_ns(jstr(in, "Created")),
	    "state", "Status", jstr(st, "Status"), "Running",
	    jbool(st, "Running"), "Paused", jbool(st, "Paused"), "Restarting",
	    jbool(st, "Restarting"), "Dead", jbool(st, "Dead"), "ExitCode",
	    (json_int_t)json_integer_value(json_object_get(st, "ExitCode")),
	    "StartedAt", jstr(st, "StartedAt"), "FinishedAt",
	    jstr(st, "FinishedAt"), "Health", jstr(st, "Health.Status"));
	labels = json_object_get(json_object_get(in, "Config"), "Labels");
	if (o != NULL && json_is_object(labels) && json_object_size(labels) > 0)
		json_object_set(o, "labels", labels);
	return o;
}

/* Docker's go-units HumanDuration, which its status line uses. */
static void
human_duration(int64_t secs, char *buf, size_t sz)
{
	int64_t	minutes = secs / 60, hours;

	if (secs < 1)
		snprintf(buf, sz, "Less than a second");
	else if (secs == 1)
		snprintf(buf, sz, "1 second");
	else if (secs < 60)
		snprintf(buf, sz, "%lld seconds", (long long)secs);
	else if (minutes == 1)
		snprintf(buf, sz, "About a minute");
	else if (minutes < 60)
		snprintf(buf, sz, "%lld minutes", (long long)minutes);
	else if ((hours = (secs + 1800) / 3600) == 1)
		snprintf(buf, sz, "About an hour");
	else if (hours < 48)
		snprintf(buf, sz, "%lld hours", (long long)hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, sz, "%lld days", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		snprintf(buf, sz, "%lld weeks", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		snprintf(buf, sz, "%lld months", (long long)(hours / 24 / 30));
	else
		snprintf(buf, sz, "%lld years", (long long)(secs / 3600 / 24 /
		    365));
}

/* The status line `docker ps` shows, for state st at now_ns. */
void
docker_status_line(json_t *st, int64_t now_ns, char *buf, size_t sz)
{
	char		 d[64];
	const char	*h = jstr(st, "Health");
	int64_t		 started = docker_time_ns(jstr(st, "StartedAt"));
	int64_t		 finished = docker_time_ns(jstr(st, "FinishedAt"));
	long long	 code = json_integer_value(json_object_get(st,
			    "ExitCode"));

	if (jbool(st, "Running")) {
		if (jbool(st, "Paused")) {
			human_duration((now_ns - started) / 1000000000LL, d,
			    sizeof(d));
			snprintf(buf, sz, "Up %s (Paused)", d);
		} else if (jbool(st, "Restarting")) {
			human_duration((now_ns - finished) / 1000000000LL, d,
			    sizeof(d));
			snprintf(buf, sz, "Restarting (%lld) %s ago", code, d);
		} else {
			human_duration((now_ns - started) / 1000000000LL, d,
			    sizeof(d));
			if (*h != '\0')
				snprintf(buf, sz, "Up %s (%s%s)", d,
				    strcmp(h, "starting") == 0 ? "health: " :
				    "", h);
			else
				snprintf(buf, sz, "Up %s", d);
		}
		return;
	}
	if (strcmp(jstr(st, "Status"), "removing") == 0)
		snprintf(buf, sz, "Removal In Progress");
	else if (jbool(st, "Dead"))
		snprintf(buf, sz, "Dead");
	else if (started == 0)
		snprintf(buf, sz, "Created");
	else if (finished == 0)
		buf[0] = '\0';
	else {
		human_duration((now_ns - finished) / 1000000000LL, d, sizeof(d));
		snprintf(buf, sz, "Exited (%lld) %s ago", code, d);
	}
}

static int
newest_first(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a,
	    "created"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b,
	    "created"));

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * list_containers' answer from the facts of n containers: newest first,
 * as Docker lists them, the status line as of now.
 */
char *
mcp_list_text(json_t **facts, size_t n, int64_t now_ns)
{
	json_t	*list = json_array(), *f, *o;
	char	 status[160], *s;
	size_t	 i;

	qsort(facts, n, sizeof(*facts), newest_first);
	for (i = 0; i < n; i++) {
		f = facts[i];
		docker_status_line(json_object_get(f, "state"), now_ns, status,
		    sizeof(status));
		o = json_pack("{s:s, s:[s], s:s, s:s, s:s}", "id", jstr(f, "id"),
		    "names", jstr(f, "name"), "image", jstr(f, "image"),
		    "state", jstr(f, "state.Status"), "status", status);
		if (json_object_get(f, "labels") != NULL)
			json_object_set(o, "labels", json_object_get(f,
			    "labels"));
		json_array_append_new(list, o);
	}
	s = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	return s;
}

/* ---- own routes under a policy ---- */

/*
 * The Docker call one of portwing's own routes makes, so that a policy
 * judges the route as it would judge that call (decoded path; for MCP,
 * the tool and id the worker sent).  0: the route makes none a policy
 * could judge (metrics, info, audit), or refuses the id before Docker
 * sees it.
 */
int
own_route_equiv(const char *method, const char *path, const char *tool,
    const char *id, char *out, size_t outsz)
{
	const char	*c = NULL, *rest;
	char		 cid[256];
	size_t		 n;

	if (strcmp(method, "POST") == 0 && strcmp(path, "/_portwing/mcp") == 0) {
		if (strcmp(tool, "list_containers") == 0)
			snprintf(out, outsz, "GET /containers/json");
		else if (strcmp(tool, "host_metrics") == 0)
			snprintf(out, outsz, "GET /info");
		else if (!dd_valid_id(id))
			return 0;
		else if (strcmp(tool, "inspect_container") == 0)
			snprintf(out, outsz, "GET /containers/%s/json", id);
		else if (strcmp(tool, "container_logs") == 0)
			snprintf(out, outsz, "GET /containers/%s/logs", id);
		else if (strcmp(tool, "container_stats") == 0)
			snprintf(out, outsz, "GET /containers/%s/stats", id);
		else
			return 0;
		return 1;
	}
	if (strcmp(path, "/api/v1/containers") == 0 &&
	    strcmp(method, "POST") == 0) {
		/* dockeragent's create (and start). */
		snprintf(out, outsz, "POST /containers/create");
		return 1;
	}
	if (strcmp(path, "/api/containers") == 0 ||
	    strcmp(path, "/api/v1/containers") == 0) {
		snprintf(out, outsz, "GET /containers/json");
		return 1;
	}
	if (strcmp(path, "/api/events") == 0 ||
	    strcmp(path, "/api/v1/events") == 0) {
		snprintf(out, outsz, "GET /events");
		return 1;
	}
	if (strncmp(path, "/api/v1/containers/", 19) == 0)
		c = path + 19;
	else if (strncmp(path, "/api/containers/", 16) == 0)
		c = path + 16;
	if (c == NULL)
		return 0;
	rest = strchr(c, '/');
	n = rest != NULL ? (size_t)(rest - c) : strlen(c);
	if (n >= sizeof(cid))
		return 0;
	memcpy(cid, c, n);
	cid[n] = '\0';
	if (!dd_valid_id(cid))
		return 0;
	if (rest != NULL && strcmp(rest, "/logs") == 0)
		snprintf(out, outsz, "GET /containers/%s/logs", cid);
	else if (rest == NULL && strcmp(method, "DELETE") == 0)
		snprintf(out, outsz, "DELETE /containers/%s", cid);
	else if (rest == NULL && strcmp(method, "GET") == 0)
		snprintf(out, outsz, "GET /containers/%s/json", cid);
	else if (rest != NULL && strcmp(rest, "/stop") == 0)
		snprintf(out, outsz, "POST /containers/%s/stop", cid);
	else
		return 0;
	return 1;
}
