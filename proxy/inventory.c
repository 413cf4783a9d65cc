/*
 * inventory.c (proxy): the one container inventory of the agent, in
 * Drydock's wire model (reference section 8), and the SSE feed built
 * from it.
 *
 * A full refresh lists every container and inspects those whose state,
 * status or image changed; it runs at start and every DD_POLL_INTERVAL
 * seconds.  Between refreshes, one subscription to Docker's /events
 * (container events, the reference's actions) re-inspects a container as
 * soon as something happens to it, so subscribers hear of a change
 * within a second.  The subscription reconnects with back-off (5 s
 * doubling to 60 s, reset after 30 s up) and resynchronises with a full
 * refresh that emits whatever changed meanwhile.  Nothing is sent to a
 * subscriber, and no list is answered, before the first full refresh.
 *
 * Subscribers receive, in order: dd:ack, dd:watcher-snapshot, then
 * dd:container-added/-updated/-removed as changes happen and a fresh
 * snapshot after each poll cycle.  Every subscriber gets the same frames
 * in the same order, whichever worker its client came through.
 */
#include "pwbuild.h"

#include <sys/queue.h>

#include <ctype.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "drydock.h"
#include "log.h"
#include "proxy.h"
#include "util.h"

#define INV_LIST_MAX	(64 * 1024 * 1024)
#define INV_INSPECT_MAX	(4 * 1024 * 1024)
#define INV_PARALLEL	8
#define INV_BACKOFF_MIN	5
#define INV_BACKOFF_MAX	60
#define INV_STABLE_S	30
#define GEN_HEARTBEAT_S	30	/* generic SSE comment line */

static const char *const ev_actions[] = {
	"create", "start", "stop", "die", "kill", "restart", "pause",
	"unpause", "destroy", "rename", "update", "oom", "health_status",
};

struct ctr {
	TAILQ_ENTRY(ctr)	 entry;
	char			 id[80];
	char			 key[400];	/* State|Status|ImageID from the list */
	json_t			*model;		/* NULL until inspected */
	char			*text;		/* model, serialised */
	int			 seen;		/* in the current list */
	int			 busy;		/* an inspection is running */
	int			 again;		/* inspect again when it ends */
	int			 hidden;	/* inspected, not listed */
	int			 running;	/* for /metrics, listed or not */
	int			 inref;		/* inspected for the running refresh */
	json_t			*pend;		/* inspection awaiting its image */
	json_t			*gen;		/* generic model (ADAPTER=generic) */
	json_t			*facts;		/* for MCP's list_containers */
};

struct sub {
	TAILQ_ENTRY(sub)	 entry;
	void			*arg;
	sse_send		 send;
	sse_drop		 drop;		/* over its queue bound */
	sse_drop		 end;		/* the agent is stopping */
};

struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	void			(*cb)(void *);
	void			*arg;
};

static struct {
	struct event_base	*base;
	const struct pw_config	*cfg;
	TAILQ_HEAD(, ctr)	 ctrs;
	TAILQ_HEAD(subq, sub)	 subs;
	struct subq		 gsubs;		/* generic /api/v1/events */
	struct event		*heartbeat;	/* for gsubs, every 30 s */
	int64_t			 last_event_ns;	/* resume Docker's feed here */
	TAILQ_HEAD(, waiter)	 waiters;
	int			 ready;
	int			 refreshing;
	int			 refresh_again;
	int			 refresh_emits;	/* after the first: diffs */
	int			 refresh_snapshot;
	int			 pending;	/* inspections of a refresh */
	struct dreq		*list_req;
	struct event		*poll;
	struct event		*relist;	/* first list failed */
	/* events subscription */
	struct dreq		*events;
	struct evbuffer		*evline;
	struct event		*retry;
	int			 backoff;
	uint64_t		 events_up_ms;
	int			 events_live;
	/* host facts for dd:ack */
	int			 cpus;
	double			 memory_gb;
	char			*list_cache;
	char			*gen_cache;	/* GET /api/v1/containers */
	uint64_t		 version;	/* bumped by every change */
	char			*mcp_cache;	/* list_containers, as of: */
	uint64_t		 mcp_version;
	int64_t			 mcp_second;
	json_t			*images;	/* image ID -> image inspect */
} inv;

static void	inv_refresh(int, int);
static void	inv_inspect(struct ctr *);
static void	inv_events_start(void);
static void	gen_event(json_t *);
static const char *ctr_image(struct ctr *);

/* ---- the container model ---- */

/* One member, no path walking: label keys contain dots themselves. */
static const char *
jlabel(json_t *labels, const char *key)
{
	json_t	*v = labels != NULL ? json_object_get(labels, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : "";
}

static const char *
derive_status(json_t *state)
{
	const char	*st = jstr(state, "Status");

	/* Docker's own word, which Drydock's watcher passes on ("exited"). */
	if (*st != '\0')
		return st;
	if (jbool(state, "Running"))
		return "running";
	if (jbool(state, "Paused"))
		return "paused";
	if (jbool(state, "Restarting"))
		return "restarting";
	if (jbool(state, "Dead"))
		return "dead";
	if (strcmp(jstr(state, "Status"), "created") == 0)
		return "created";
	return "exited";
}

/*
 * Drydock's watcher: dd.watch decides, else the watch-by-default setting;
 * without watch-all only running containers (Docker's default list).
 * keep: the container is listed now and this is not a poll cycle.  Like
 * Drydock's watcher, which only updates the status of a container it
 * holds when it stops and drops it at its next scheduled watch, a listed
 * container that stops stays listed (as exited) until the next poll, so
 * the controller can start it again.
 */
static int
is_listed(json_t *in, int keep)
{
	json_t		*labels = json_object_get(json_object_get(in, "Config"),
	    "Labels");
	const char	*w = jlabel(json_is_object(labels) ? labels : NULL,
	    "dd.watch");

	if (!inv.cfg->dd_watch_all && !keep &&
	    !jbool(json_object_get(in, "State"), "Running"))
		return 0;
	if (*w != '\0')
		return strcasecmp(w, "true") == 0;
	return inv.cfg->dd_watch_default;
}

/*
 * The digests of RepoDigests ("repo@sha256:..."), those of the container's
 * own repository first-and-only when any match, as Drydock orders them.
 */
static json_t *
repo_digests(json_t *img, const char *registry, const char *name)
{
	json_t		*all = json_array(), *mine = json_array(), *e;
	char		 cand[4][800], repo[600];
	const char	*rd, *at;
	size_t		 i, j, nc = 0;

	if (strcmp(registry, "docker.io") == 0) {
		const char *bare = strncmp(name, "library/", 8) == 0 ?
		    name + 8 : name;
		snprintf(cand[nc++], sizeof(cand[0]), "%s", bare);
		snprintf(cand[nc++], sizeof(cand[0]), "docker.io/%s", bare);
		if (strchr(bare, '/') == NULL) {
			snprintf(cand[nc++], sizeof(cand[0]), "library/%s", bare);
			snprintf(cand[nc++], sizeof(cand[0]),
			    "docker.io/library/%s", bare);
		}
	} else
		snprintf(cand[nc++], sizeof(cand[0]), "%s/%s", registry, name);
	json_array_foreach(json_object_get(img, "RepoDigests"), i, e) {
		rd = json_string_value(e);
		if (rd == NULL || (at = strchr(rd, '@')) == NULL || at == rd ||
		    at[1] == '\0')
			continue;
		snprintf(repo, sizeof(repo), "%.*s", (int)(at - rd), rd);
		for (j = 0; repo[j] != '\0'; j++)
			repo[j] = (char)tolower((unsigned char)repo[j]);
		json_array_append_new(all, json_string(at + 1));
		for (j = 0; j < nc; j++)
			if (strcasecmp(repo, cand[j]) == 0) {
				json_array_append_new(mine, json_string(at + 1));
				break;
			}
	}
	if (json_array_size(mine) > 0) {
		json_decref(all);
		return mine;
	}
	json_decref(mine);
	return all;
}

/*
 * A tag as Drydock's version parser reads it, when it reads one: strict
 * "x.y.z[-pre]" (with a leading v or =), else node-semver's coerce(): the
 * first run of 1 to 16 digits standing alone, with up to two ".digits"
 * after it (missing parts are 0, no prerelease).  ver[] gets major,
 * minor, patch; pre the first prerelease identifier or "".
 */
static int
tag_version(const char *tag, char ver[3][24], char *pre, size_t presz)
{
	const char	*p = tag, *q;
	int		 i, n;

	*pre = '\0';
	for (i = 0; i < 3; i++)
		snprintf(ver[i], sizeof(ver[i]), "0");
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p)) {
			p++;
			continue;
		}
		for (q = p; isdigit((unsigned char)*q); q++)
			;
		if (q - p > 16) {
			p = q;
			continue;
		}
		for (i = 0; i < 3; i++) {
			snprintf(ver[i], sizeof(ver[i]), "%.*s", (int)(q - p), p);
			if (i == 2 || q[0] != '.' || !isdigit((unsigned char)q[1]))
				break;
			for (p = q + 1, n = 0; isdigit((unsigned char)p[n]); n++)
				;
			if (n > 16)
				break;
			q = p + n;
		}
		/* A prerelease only when the whole tag is x.y.z-pre. */
		if (i == 2 && *q == '-' && (tag[0] == 'v' || tag[0] == '=' ||
		    isdigit((unsigned char)tag[0])) &&
		    strspn(tag + (isdigit((unsigned char)tag[0]) ? 0 : 1),
		    "0123456789.") == (size_t)(q - tag -
		    (isdigit((unsigned char)tag[0]) ? 0 : 1)))
			snprintf(pre, presz, "%.*s", (int)strcspn(q + 1, ".+"),
			    q + 1);
		return 1;
	}
	return 0;
}

/* dd.link.template with Drydock's variables: the tag, and its version
 * parts when the tag is a version. */
static char *
render_link(const char *tmpl, const char *tag)
{
	struct evbuffer	*b = evbuffer_new();
	const char	*p = tmpl, *end, *val;
	char		 key[64], ver[3][24], pre[64], *out;
	size_t		 n;
	int		 isver = tag_version(tag, ver, pre, sizeof(pre));

	while (*p != '\0') {
		if (p[0] == '$' && p[1] == '{' && (end = strchr(p + 2, '}')) !=
		    NULL && (size_t)(end - p - 2) < sizeof(key)) {
			snprintf(key, sizeof(key), "%.*s", (int)(end - p - 2),
			    p + 2);
			for (n = 0; key[n] != '\0' && (isalnum((unsigned char)
			    key[n]) || key[n] == '_'); n++)
				;
			if (key[n] == '\0' && n > 0) {
				val = "";
				if (strcmp(key, "raw") == 0 ||
				    strcmp(key, "original") == 0 ||
				    strcmp(key, "transformed") == 0)
					val = tag;
				else if (isver && strcmp(key, "major") == 0)
					val = ver[0];
				else if (isver && strcmp(key, "minor") == 0)
					val = ver[1];
				else if (isver && strcmp(key, "patch") == 0)
					val = ver[2];
				else if (isver && strcmp(key, "prerelease") == 0)
					val = pre;
				evbuffer_add(b, val, strlen(val));
				p = end + 1;
				continue;
			}
		}
		evbuffer_add(b, p, 1);
		p++;
	}
	n = evbuffer_get_length(b);
	out = xcalloc(1, n + 1);
	evbuffer_remove(b, out, n);
	evbuffer_free(b);
	return out;
}

/* key = the label's value, else dflt, else no key: Drydock's container
 * schema takes a string or nothing, never null. */
static void
set_label_field(json_t *m, json_t *labels, const char *label, const char *key,
    const char *dflt)
{
	const char	*v = jlabel(labels, label);

	if (*v == '\0')
		v = dflt;
	if (v != NULL)
		json_object_set_new(m, key, json_string(v));
}

/* Whether Drydock takes a tag for a version (tag_version()). */
static int
tag_is_semver(const char *tag)
{
	char	ver[3][24], pre[8];

	return tag_version(tag, ver, pre, sizeof(pre));
}

/* The Drydock wire container for one `docker inspect` answer. */
static json_t *
build_model(json_t *in, const char *image_id, json_t *img)
{
	json_t		*m, *labels, *image, *details, *env, *vols, *e, *mt;
	const char	*name, *v, *health, *started;
	char		 registry[256], iname[512], tag[256], buf[1024];
	size_t		 i;

	labels = json_object_get(json_object_get(in, "Config"), "Labels");
	if (!json_is_object(labels))
		labels = NULL;
	name = jstr(in, "Name");
	if (*name == '/')
		name++;
	m = json_object();
	json_object_set_new(m, "id", json_string(jstr(in, "Id")));
	json_object_set_new(m, "name", json_string(name));
	v = jlabel(labels, "dd.display.name");
	json_object_set_new(m, "displayName", json_string(*v ? v : name));
	v = jlabel(labels, "dd.display.icon");
	json_object_set_new(m, "displayIcon", json_string(*v ? v :
	    "mdi:docker"));
	json_object_set_new(m, "status", json_string(derive_status(
	    json_object_get(in, "State"))));
	health = jstr(in, "State.Health.Status");
	if (strcmp(health, "starting") == 0 || strcmp(health, "healthy") == 0 ||
	    strcmp(health, "unhealthy") == 0)
		json_object_set_new(m, "health", json_string(health));
	/* The watcher this agent serves (as /api/watchers names it). */
	json_object_set_new(m, "watcher", json_string("docker"));
	json_object_set_new(m, "agent", json_string(inv.cfg->agent_name));
	parse_image_ref(jstr(in, "Config.Image"), registry, sizeof(registry),
	    iname, sizeof(iname), tag, sizeof(tag));
	image = json_pack("{s:s, s:{s:s, s:s}, s:s, s:{s:s, s:b}, s:{}, "
	    "s:s, s:s}", "id", image_id, "registry", "name", "unknown", "url",
	    registry, "name", iname, "tag", "value", tag,
	    "semver", tag_is_semver(tag),
	    "digest", "architecture", *jstr(img, "Architecture") ?
	    jstr(img, "Architecture") : dd_arch(), "os", *jstr(img, "Os") ?
	    jstr(img, "Os") : "linux");
	/* digest.watch: dd.watch.digest, else on for any real tag. */
	v = jlabel(labels, "dd.watch.digest");
	details = json_object_get(image, "digest");
	json_object_set_new(details, "watch", json_boolean(*v ?
	    strcasecmp(v, "true") == 0 : strcmp(tag, "unknown") != 0));
	if (img != NULL) {
		json_t *rds = repo_digests(img, registry, iname);
		if (json_array_size(rds) > 0) {
			json_t *first = json_array_get(rds, 0);
			json_object_set(details, "repo", first);
			json_object_set(details, "value", first);
			json_object_set_new(details, "repoDigests", rds);
		} else
			json_decref(rds);
		/* Drydock skips the registry for an image with no digest. */
		json_object_set_new(image, "isLocalImage", json_boolean(
		    json_object_get(details, "repo") == NULL));
		if (*jstr(img, "Variant") != '\0')
			json_object_set_new(image, "variant",
			    json_string(jstr(img, "Variant")));
		/* The OCI version label, the image's, else the container's. */
		v = jlabel(json_object_get(img, "Labels"),
		    "org.opencontainers.image.version");
		if (json_object_get(json_object_get(img, "Labels"),
		    "org.opencontainers.image.version") == NULL)
			v = jlabel(labels, "org.opencontainers.image.version");
		if (*v != '\0')
			json_object_set_new(image, "softwareVersion",
			    json_string(v));
		if (*jstr(img, "Created") != '\0')
			json_object_set_new(image, "created",
			    json_string(jstr(img, "Created")));
	}
	json_object_set_new(m, "image", image);
	json_object_set_new(m, "updateAvailable", json_false());
	json_object_set_new(m, "updateKind", json_pack("{s:s}", "kind",
	    "unknown"));
	json_object_set_new(m, "labels", labels != NULL ? json_deep_copy(
	    labels) : json_object());
	set_label_field(m, labels, "dd.tag.include", "includeTags", NULL);
	set_label_field(m, labels, "dd.tag.exclude", "excludeTags", NULL);
	set_label_field(m, labels, "dd.tag.transform", "transformTags", NULL);
	set_label_field(m, labels, "dd.tag.family", "tagFamily", "strict");
	set_label_field(m, labels, "dd.link.template", "linkTemplate", NULL);
	set_label_field(m, labels, "dd.port.label", "portLabel", NULL);
	/* dd.tag.pin.info: "false" turns the pin hint off; on otherwise. */
	v = jlabel(labels, "dd.tag.pin.info");
	json_object_set_new(m, "tagPinInfo", json_boolean(strcasecmp(v,
	    "false") != 0));

	if (*(v = jlabel(labels, "dd.link.template")) != '\0') {
		char *link = render_link(v, tag);
		json_object_set_new(m, "link", json_string(link));
		free(link);
	}
	env = json_array();
	json_array_foreach(json_object_get(json_object_get(in, "Config"), "Env"),
	    i, e) {
		const char *kv = json_string_value(e), *eq;
		if (kv == NULL)
			continue;
		eq = strchr(kv, '=');
		json_array_append_new(env, json_pack("{s:s%, s:s}", "key", kv,
		    eq ? (size_t)(eq - kv) : strlen(kv), "value", eq ? eq + 1 : ""));
	}
	vols = json_array();
	json_array_foreach(json_object_get(in, "Mounts"), i, mt) {
		snprintf(buf, sizeof(buf), "%s:%s%s", jstr(mt, "Source"),
		    jstr(mt, "Destination"), jbool(mt, "RW") ? "" : ":ro");
		json_array_append_new(vols, json_string(buf));
	}
	details = json_pack("{s:[], s:o, s:o}", "ports", "volumes", vols, "env",
	    env);
	started = jstr(in, "State.StartedAt");
	if (*started != '\0')
		json_object_set_new(details, "startedAt", json_string(started));
	json_object_set_new(m, "details", details);
	return m;
}

/* ---- the set ---- */

static struct ctr *
ctr_find(const char *id)
{
	struct ctr	*c;

	TAILQ_FOREACH(c, &inv.ctrs, entry)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static void
ctr_free(struct ctr *c)
{
	json_decref(c->model);
	json_decref(c->pend);
	json_decref(c->gen);
	json_decref(c->facts);
	free(c->text);
	free(c);
}

static void
cache_dirty(void)
{
	free(inv.list_cache);
	inv.list_cache = NULL;
	free(inv.gen_cache);
	inv.gen_cache = NULL;
	inv.version++;
}

/* ---- subscribers ---- */

static void
frame(json_t *o, char **out, size_t *len)
{
	char	*s = json_dumps(o, JSON_COMPACT);

	*len = (size_t)xasprintf(out, "data: %s\n\n", s);
	free(s);
}

/* -1 when the subscriber was over its queue bound and is now dropped. */
static int
send_to(struct sub *s, const char *p, size_t n)
{
	if (s->send(s->arg, p, n) == -1) {
		TAILQ_REMOVE(&inv.subs, s, entry);
		s->drop(s->arg);
		free(s);
		return -1;
	}
	return 0;
}

static void
broadcast(json_t *o)
{
	struct sub	*s, *next;
	char		*p;
	size_t		 n;

	frame(o, &p, &n);
	for (s = TAILQ_FIRST(&inv.subs); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		send_to(s, p, n);
	}
	free(p);
}

static json_t *
snapshot(void)
{
	json_t		*list = json_array();
	struct ctr	*c;

	TAILQ_FOREACH(c, &inv.ctrs, entry)
		if (c->model != NULL)
			json_array_append(list, c->model);
	return json_pack("{s:{s:o, s:o}, s:s}", "data", "containers", list,
	    "watcher", dd_watcher(), "type", "dd:watcher-snapshot");
}

static json_t *
ack(void)
{
	json_t		*d, *images = json_object();
	struct ctr	*c;
	char		 now[40], poll[32];
	int		 total = 0, running = 0;
	time_t		 t = time(NULL);
	struct tm	 tm;

	TAILQ_FOREACH(c, &inv.ctrs, entry) {
		if (c->model == NULL)
			continue;
		total++;
		if (strcmp(jstr(c->model, "status"), "running") == 0)
			running++;
		json_object_set_new(images, jstr(c->model, "image.id"),
		    json_true());
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	dd_go_duration(inv.cfg->dd_poll, poll, sizeof(poll));
	d = json_pack("{s:s, s:s, s:s, s:i, s:f, s:I, s:s}", "version",
	    PW_VERSION_STRING, "os", "linux", "arch", dd_arch(), "cpus",
	    inv.cpus, "memoryGb", inv.memory_gb, "uptimeSeconds",
	    (json_int_t)(pw_wall_time() - inv.cfg->started), "lastSeen", now);
	if (inv.cfg->val[CK_LOG_LEVEL] != NULL)
		json_object_set_new(d, "logLevel",
		    json_string(inv.cfg->val[CK_LOG_LEVEL]));
	json_object_set_new(d, "pollInterval", json_string(poll));
	json_object_set_new(d, "containers", json_pack("{s:i, s:i, s:i}",
	    "total", total, "running", running, "stopped", total - running));
	json_object_set_new(d, "images", json_integer(
	    (json_int_t)json_object_size(images)));
	json_decref(images);
	return json_pack("{s:s, s:o}", "type", "dd:ack", "data", d);
}

/* dd:ack then dd:watcher-snapshot, to one subscriber. */
static void
greet(struct sub *s)
{
	json_t	*a = ack(), *snap = snapshot();
	char	*p1, *p2;
	size_t	 n1, n2;

	frame(a, &p1, &n1);
	frame(snap, &p2, &n2);
	json_decref(a);
	json_decref(snap);
	TAILQ_INSERT_TAIL(&inv.subs, s, entry);
	if (send_to(s, p1, n1) == 0)
		(void)send_to(s, p2, n2);
	free(p1);
	free(p2);
}

static void
emit_change(const char *type, json_t *data)
{
	json_t	*o = json_pack("{s:O, s:s}", "data", data, "type", type);

	broadcast(o);
	json_decref(o);
}

static void
emit_removed(struct ctr *c)
{
	json_t	*d = json_pack("{s:s, s:s}", "id", c->id, "name",
	    c->model ? jstr(c->model, "name") : "");

	emit_change("dd:container-removed", d);
	json_decref(d);
}

/* A new model for c: tell subscribers what changed (if emitting). */
static void
ctr_update(struct ctr *c, json_t *model, int emit)
{
	char	*text = json_dumps(model, JSON_COMPACT | JSON_SORT_KEYS);
	int	 added = c->model == NULL;

	if (!added && strcmp(text, c->text) == 0) {
		free(text);
		json_decref(model);
		return;
	}
	json_decref(c->model);
	free(c->text);
	c->model = model;
	c->text = text;
	cache_dirty();
	if (emit)
		emit_change(added ? "dd:container-added" :
		    "dd:container-updated", model);
}

static void
ctr_remove(struct ctr *c, int emit)
{
	if (emit && c->model != NULL)
		emit_removed(c);
	TAILQ_REMOVE(&inv.ctrs, c, entry);
	ctr_free(c);
	cache_dirty();
}

/* ---- readiness ---- */

static void
become_ready(void)
{
	struct waiter	*w;
	struct sub	*s;
	struct ctr	*c;
	struct subq	 early;
	int		 n = 0;

	if (inv.ready)
		return;
	inv.ready = 1;
	TAILQ_FOREACH(c, &inv.ctrs, entry)
		n++;
	log_info("container inventory ready (%d containers)", n);
	while ((w = TAILQ_FIRST(&inv.waiters)) != NULL) {
		TAILQ_REMOVE(&inv.waiters, w, entry);
		w->cb(w->arg);
		free(w);
	}
	/* Subscribers that came early get their greeting now. */
	TAILQ_INIT(&early);
	TAILQ_CONCAT(&early, &inv.subs, entry);
	while ((s = TAILQ_FIRST(&early)) != NULL) {
		TAILQ_REMOVE(&early, s, entry);
		greet(s);
	}
}

/* ---- refresh: list, inspect what changed, diff ---- */

static void
refresh_done(void)
{
	struct ctr	*c, *next;
	int		 emit = inv.refresh_emits;

	/* Containers no longer listed are gone. */
	for (c = TAILQ_FIRST(&inv.ctrs); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->seen && !c->busy)
			ctr_remove(c, emit);
	}
	/* Forget images no listed container uses any more. */
	{
		const char	*id;
		json_t		*v;
		void		*tmp;
		int		 used;

		json_object_foreach_safe(inv.images, tmp, id, v) {
			used = 0;
			TAILQ_FOREACH(c, &inv.ctrs, entry)
				if (strcmp(ctr_image(c), id) == 0)
					used = 1;
			if (!used)
				json_object_del(inv.images, id);
		}
	}
	inv.refreshing = 0;
	if (!inv.ready)
		become_ready();
	else if (inv.refresh_snapshot) {
		json_t *snap = snapshot();
		broadcast(snap);
		json_decref(snap);
	}
	if (inv.refresh_again) {
		inv.refresh_again = 0;
		inv_refresh(1, 0);
	}
}

/* A listed container stays listed when it stops, until a poll cycle. */
static int
ctr_keep(struct ctr *c, int in_refresh)
{
	return c->model != NULL && !(in_refresh && inv.refresh_snapshot);
}

/* What the generic adapter and MCP keep of a container, whether listed. */
static void
ctr_facts(struct ctr *c, json_t *in)
{
	json_decref(c->facts);
	c->facts = mcp_facts(in);
	inv.version++;
	if (inv.cfg->generic) {
		const char *img = jstr(in, "Image");
		json_decref(c->gen);
		c->gen = generic_model(in, json_object_get(inv.images, img),
		    inv.cfg->agent_name);
		free(inv.gen_cache);
		inv.gen_cache = NULL;
	}
}

/* The image a container of the inventory uses, as far as it is known. */
static const char *
ctr_image(struct ctr *c)
{
	if (c->model != NULL)
		return jstr(c->model, "image.id");
	if (c->gen != NULL)
		return jstr(c->gen, "image.id");
	return "";
}

/* An inspection (and its image's) is over: in is the answer, or NULL. */
static void
inspect_end(struct ctr *c, int status, json_t *in, const char *err)
{
	int		 in_refresh = c->inref;

	c->busy = 0;
	c->inref = 0;
	if (status == 404) {
		/* Gone between the list (or the event) and now. */
		c->seen = 0;
		if (!in_refresh) {
			ctr_remove(c, 1);
			return;		/* c is freed */
		}
	} else if (c->seen == 0) {
		/*
		 * Destroyed (or no longer listed) while it was being inspected:
		 * the answer is stale.  A refresh removes it when it ends.
		 */
		if (!in_refresh) {
			ctr_remove(c, 1);
			return;
		}
	} else if (in != NULL && (ctr_facts(c, in), c->running =
	    jbool(json_object_get(in, "State"), "Running"),
	    is_listed(in, ctr_keep(c, in_refresh)))) {
		const char *img = jstr(in, "Image");
		c->hidden = 0;
		ctr_update(c, build_model(in, img, json_object_get(inv.images,
		    img)), inv.ready);
	} else if (in != NULL) {
		/* Not listed (dd.watch, watch-all): to subscribers, removed. */
		c->hidden = 1;
		if (c->model != NULL) {
			if (inv.ready)
				emit_removed(c);
			json_decref(c->model);
			c->model = NULL;
			free(c->text);
			c->text = NULL;
			cache_dirty();
		}
	} else
		log_warnx("inspecting container %.12s: %s", c->id,
		    err ? err : "unexpected answer");
	if (!in_refresh && c->again && c->seen != 0) {
		c->again = 0;
		inv_inspect(c);
	}
	if (in_refresh && --inv.pending == 0)
		refresh_done();
}

static void
image_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct ctr	*c = arg;
	json_t		*in = c->pend, *img;

	c->pend = NULL;
	if (status == 200 && body != NULL && (img = json_loadb((const char *)
	    evbuffer_pullup(body, -1), evbuffer_get_length(body), 0,
	    NULL)) != NULL) {
		/* Keep only what the model uses. */
		json_object_set_new(inv.images, jstr(in, "Image"), json_pack(
		    "{s:O*, s:O*, s:O*, s:O*, s:O*, s:O*}", "Created",
		    json_object_get(img, "Created"), "RepoDigests",
		    json_object_get(img, "RepoDigests"), "Architecture",
		    json_object_get(img, "Architecture"), "Os",
		    json_object_get(img, "Os"), "Variant",
		    json_object_get(img, "Variant"), "Labels",
		    json_object_get(json_object_get(img, "Config"), "Labels")));
		json_decref(img);
	} else
		log_warnx("inspecting image %.19s: %s", jstr(in, "Image"),
		    err ? err : "unexpected answer");
	inspect_end(c, 200, in, NULL);
	json_decref(in);
}

static void
inspect_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct ctr	*c = arg;
	json_t		*in = NULL;
	const char	*img;
	char		 target[200];

	if (status == 200 && body != NULL)
		in = json_loadb((const char *)evbuffer_pullup(body, -1),
		    evbuffer_get_length(body), 0, NULL);
	img = jstr(in, "Image");
	if (in != NULL && (inv.cfg->generic ||
	    is_listed(in, ctr_keep(c, c->inref))) &&
	    json_object_get(inv.images,
	    img) == NULL && strncmp(img, "sha256:", 7) == 0 &&
	    dclient_hex_id(img + 7)) {
		/* Each image is inspected once, then served from the cache. */
		c->pend = in;
		snprintf(target, sizeof(target), "/images/%s/json", img);
		if (dclient_request("GET", target, inv.cfg->request_timeout,
		    INV_INSPECT_MAX, NULL, image_done, c) != NULL)
			return;
		c->pend = NULL;
	}
	inspect_end(c, status, in, err);
	json_decref(in);
}

static void
inv_inspect(struct ctr *c)
{
	char	target[160];

	if (c->busy) {
		c->again = 1;
		return;
	}
	c->busy = 1;
	snprintf(target, sizeof(target), "/containers/%s/json", c->id);
	(void)dclient_request("GET", target, inv.cfg->request_timeout,
	    INV_INSPECT_MAX, NULL, inspect_done, c);
}


static void
list_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	json_t		*list, *item;
	struct ctr	*c;
	size_t		 i;
	char		 key[400];

	inv.list_req = NULL;
	if (status != 200 || body == NULL || (list = json_loadb(
	    (const char *)evbuffer_pullup(body, -1), evbuffer_get_length(body),
	    0, NULL)) == NULL || !json_is_array(list)) {
		log_warnx("listing containers: %s", err ? err :
		    "unexpected answer from Docker");
		inv.refreshing = 0;
		if (!inv.ready) {
			/* No inventory yet: try again soon, not next poll. */
			struct timeval tv = { INV_BACKOFF_MIN, 0 };
			evtimer_add(inv.relist, &tv);
		}
		return;
	}
	TAILQ_FOREACH(c, &inv.ctrs, entry)
		c->seen = 0;
	inv.pending = 1;	/* released after the loop */
	json_array_foreach(list, i, item) {
		const char *id = jstr(item, "Id");
		if (!dclient_hex_id(id))
			continue;
		snprintf(key, sizeof(key), "%s|%s|%s", jstr(item, "State"),
		    jstr(item, "Status"), jstr(item, "ImageID"));
		if ((c = ctr_find(id)) == NULL) {
			c = xcalloc(1, sizeof(*c));
			pw_strlcpy(c->id, id, sizeof(c->id));
			TAILQ_INSERT_TAIL(&inv.ctrs, c, entry);
		}
		c->seen = 1;
		/*
		 * Unchanged: nothing to do, except on a poll cycle for a listed
		 * container that no longer runs (kept listed since it stopped).
		 */
		if ((c->model != NULL || c->hidden) && strcmp(c->key, key) == 0 &&
		    !(inv.refresh_snapshot && c->model != NULL &&
		    !inv.cfg->dd_watch_all &&
		    strcmp(jstr(item, "State"), "running") != 0))
			continue;
		pw_strlcpy(c->key, key, sizeof(c->key));
		if (c->busy) {
			c->again = 1;
			continue;
		}
		c->inref = 1;		/* inspected as part of this refresh */
		inv.pending++;
		inv_inspect(c);
	}
	json_decref(list);
	if (--inv.pending == 0)
		refresh_done();
}

/* A full refresh; emit says whether differences become events. */
static void
inv_refresh(int emit, int snapshot_after)
{
	if (inv.refreshing) {
		inv.refresh_again = 1;
		return;
	}
	inv.refreshing = 1;
	inv.refresh_emits = emit && inv.ready;
	inv.refresh_snapshot = snapshot_after;
	inv.list_req = dclient_request("GET", "/containers/json?all=1",
	    inv.cfg->request_timeout, INV_LIST_MAX, NULL, list_done, NULL);
}

static void
inv_poll(evutil_socket_t fd, short ev, void *arg)
{
	inv_refresh(1, 1);
}

/* ---- Docker events ---- */

static void
inv_event(json_t *e)
{
	const char	*type = jstr(e, "Type"), *action = jstr(e, "Action");
	const char	*id = jstr(e, "Actor.ID");
	struct ctr	*c;
	size_t		 i;

	if (strcmp(type, "container") != 0 || !dclient_hex_id(id))
		return;
	for (i = 0; i < nitems(ev_actions); i++)
		if (strncmp(action, ev_actions[i], strlen(ev_actions[i])) == 0)
			break;
	if (i == nitems(ev_actions) || !inv.ready)
		return;
	c = ctr_find(id);
	if (strcmp(action, "destroy") == 0) {
		if (c != NULL && !c->busy)
			ctr_remove(c, 1);
		else if (c != NULL) {
			/* Its inspection will answer 404 and remove it. */
			c->seen = 0;
			c->again = 0;
		}
		return;
	}
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		pw_strlcpy(c->id, id, sizeof(c->id));
		TAILQ_INSERT_TAIL(&inv.ctrs, c, entry);
	}
	c->seen = 1;
	c->key[0] = '\0';	/* the next list re-inspects it too */
	inv_inspect(c);
}

/* ---- the generic adapter's feed: Docker's events, one frame each ---- */

static void
gen_broadcast(const char *p, size_t n)
{
	struct sub	*s, *next;

	for (s = TAILQ_FIRST(&inv.gsubs); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->send(s->arg, p, n) == -1) {
			TAILQ_REMOVE(&inv.gsubs, s, entry);
			s->drop(s->arg);
			free(s);
		}
	}
}

static void
gen_event(json_t *e)
{
	char	*p;
	size_t	 n;

	if (TAILQ_EMPTY(&inv.gsubs) || generic_event_frame(e, &p, &n) == -1)
		return;
	gen_broadcast(p, n);
	free(p);
}

static void
gen_heartbeat(evutil_socket_t fd, short ev, void *arg)
{
	static const char beat[] = ": heartbeat\n\n";

	gen_broadcast(beat, sizeof(beat) - 1);
}

static void
events_data(void *arg, struct evbuffer *chunk)
{
	char	*line;
	size_t	 n;
	json_t	*e;

	if (chunk == NULL) {
		/* The head arrived: the subscription is up. */
		if (dclient_status(inv.events) != 200)
			return;
		inv.events_live = 1;
		inv.events_up_ms = pw_now_ms();
		log_info("subscribed to Docker events");
		/*
		 * Anything missed while we were away becomes events now;
		 * without an inventory yet, this builds the first one.
		 */
		inv_refresh(1, 0);
		return;
	}
	evbuffer_add_buffer(inv.evline, chunk);
	while ((line = evbuffer_readln(inv.evline, &n, EVBUFFER_EOL_LF)) !=
	    NULL) {
		if (n > 0 && (e = json_loadb(line, n, 0, NULL)) != NULL) {
			int64_t ns = json_integer_value(json_object_get(e,
			    "timeNano"));
			/* A resumed feed repeats what it sent last. */
			if (ns == 0 || ns > inv.last_event_ns) {
				if (ns != 0)
					inv.last_event_ns = ns;
				gen_event(e);
				inv_event(e);
			}
			json_decref(e);
		}
		free(line);
	}
	if (evbuffer_get_length(inv.evline) > 1024 * 1024)
		evbuffer_drain(inv.evline, evbuffer_get_length(inv.evline));
}

static void
events_retry(evutil_socket_t fd, short ev, void *arg)
{
	inv_events_start();
}

static void
events_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct timeval	tv;

	inv.events = NULL;
	if (inv.events_live && pw_now_ms() - inv.events_up_ms >=
	    INV_STABLE_S * 1000)
		inv.backoff = INV_BACKOFF_MIN;
	inv.events_live = 0;
	log_warnx("Docker events subscription ended (%s); retrying in %d s",
	    err ? err : status ? "stream closed" : "no answer", inv.backoff);
	tv.tv_sec = inv.backoff;
	tv.tv_usec = 0;
	evtimer_add(inv.retry, &tv);
	inv.backoff = inv.backoff * 2 > INV_BACKOFF_MAX ? INV_BACKOFF_MAX :
	    inv.backoff * 2;
}

/*
 * One subscription for the whole agent.  After a break it resumes where
 * the last event was (Docker replays from "since"), so the generic feed's
 * clients lose nothing while Docker restarts or the stream is retried.
 */
static void
inv_events_start(void)
{
	char	target[160];

	evbuffer_drain(inv.evline, evbuffer_get_length(inv.evline));
	snprintf(target, sizeof(target), "/events?filters=%%7B%%22type%%22%%3A"
	    "%%5B%%22container%%22%%5D%%7D");
	if (inv.last_event_ns > 0)
		snprintf(target + strlen(target), sizeof(target) -
		    strlen(target), "&since=%lld.%09lld",
		    (long long)(inv.last_event_ns / 1000000000LL),
		    (long long)(inv.last_event_ns % 1000000000LL));
	inv.events = dclient_request("GET", target, 0, 0, events_data,
	    events_done, NULL);
}

/* ---- the proxy's side ---- */

int
inventory_ready(void)
{
	return inv.ready;
}

/* One of the lists, serialised into *cache (kept until a change). */
static const char *
list_text(char **cache, size_t off, size_t *len)
{
	json_t		*list, *m;
	struct ctr	*c;
	char		*s;

	if (*cache == NULL) {
		list = json_array();
		TAILQ_FOREACH(c, &inv.ctrs, entry)
			if ((m = *(json_t **)((char *)c + off)) != NULL)
				json_array_append(list, m);
		s = json_dumps(list, JSON_COMPACT);
		json_decref(list);
		xasprintf(cache, "%s\n", s);
		free(s);
	}
	*len = strlen(*cache);
	return *cache;
}

/* The Drydock list. */
const char *
inventory_list(size_t *len)
{
	return list_text(&inv.list_cache, offsetof(struct ctr, model), len);
}

void
inventory_when_ready(void (*cb)(void *), void *arg)
{
	struct waiter	*w;

	if (inv.ready) {
		cb(arg);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&inv.waiters, w, entry);
}

void
inventory_forget_waiter(void *arg)
{
	struct waiter	*w, *next;

	for (w = TAILQ_FIRST(&inv.waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->arg == arg) {
			TAILQ_REMOVE(&inv.waiters, w, entry);
			free(w);
		}
	}
}

static struct sub *
sub_new(void *arg, sse_send send, sse_drop drop, sse_drop end)
{
	struct sub	*s = xcalloc(1, sizeof(*s));

	s->arg = arg;
	s->send = send;
	s->drop = drop;
	s->end = end;
	return s;
}

/* A client of GET /api/v1/events: no greeting, events as they come. */
struct sub *
inventory_subscribe_events(void *arg, sse_send send, sse_drop drop,
    sse_drop end)
{
	struct sub	*s = sub_new(arg, send, drop, end);

	TAILQ_INSERT_TAIL(&inv.gsubs, s, entry);
	return s;
}

/* The generic list (GET /api/v1/containers). */
const char *
inventory_generic_list(size_t *len)
{
	return list_text(&inv.gen_cache, offsetof(struct ctr, gen), len);
}

/*
 * MCP's list_containers: every container, newest first (malloc'd).  The
 * status lines count seconds, so one answer serves every call within
 * the same second until the inventory changes.
 */
char *
inventory_mcp_list(void)
{
	struct ctr	*c;
	json_t		**v;
	size_t		 n = 0;
	int64_t		 now = (int64_t)(pw_wall_time() * 1e9);

	if (inv.mcp_cache == NULL || inv.mcp_version != inv.version ||
	    inv.mcp_second != now / 1000000000LL) {
		TAILQ_FOREACH(c, &inv.ctrs, entry)
			n++;
		v = xcalloc(n + 1, sizeof(*v));
		n = 0;
		TAILQ_FOREACH(c, &inv.ctrs, entry)
			if (c->facts != NULL)
				v[n++] = c->facts;
		free(inv.mcp_cache);
		inv.mcp_cache = mcp_list_text(v, n, now);
		free(v);
		if (inv.mcp_cache == NULL)
			return NULL;
		inv.mcp_version = inv.version;
		inv.mcp_second = now / 1000000000LL;
	}
	return xstrdup(inv.mcp_cache);
}

/* A new SSE subscriber; greeted now, or when the inventory is ready. */
struct sub *
inventory_subscribe(void *arg, sse_send send, sse_drop drop, sse_drop end)
{
	struct sub	*s = sub_new(arg, send, drop, end);

	if (inv.ready)
		greet(s);
	else
		TAILQ_INSERT_TAIL(&inv.subs, s, entry);
	return s;
}

void
inventory_unsubscribe(struct sub *s)
{
	struct sub	*x;

	TAILQ_FOREACH(x, &inv.subs, entry)
		if (x == s) {
			TAILQ_REMOVE(&inv.subs, s, entry);
			free(s);
			return;
		}
	TAILQ_FOREACH(x, &inv.gsubs, entry)
		if (x == s) {
			TAILQ_REMOVE(&inv.gsubs, s, entry);
			free(s);
			return;
		}
}

/* Shutdown begins: every subscriber is ended, each its own way. */
void
inventory_end_subscribers(void)
{
	struct sub	*s;

	while ((s = TAILQ_FIRST(&inv.subs)) != NULL) {
		TAILQ_REMOVE(&inv.subs, s, entry);
		s->end(s->arg);
		free(s);
	}
	while ((s = TAILQ_FIRST(&inv.gsubs)) != NULL) {
		TAILQ_REMOVE(&inv.gsubs, s, entry);
		s->end(s->arg);
		free(s);
	}
}

/* CPUs the agent may run on (counted before the sandbox). */
int
inventory_cpus(void)
{
	return inv.cpus;
}

/* Before the sandbox: host facts for dd:ack. */
void
inventory_preinit(void)
{
	cpu_set_t	set;
	FILE		*fp;
	char		 line[256];
	long long	 kb;

	inv.cpus = 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		inv.cpus = CPU_COUNT(&set);
	if ((fp = fopen("/proc/meminfo", "re")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL)
			if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
				inv.memory_gb = (double)(long long)(kb / 1048576.0 *
				    10 + 0.5) / 10;
		fclose(fp);
	}
	(void)dd_arch();
}

void
inventory_init(struct event_base *base, const struct pw_config *cfg)
{
	struct timeval	tv = { cfg->dd_poll, 0 };

	inv.base = base;
	inv.cfg = cfg;
	TAILQ_INIT(&inv.ctrs);
	TAILQ_INIT(&inv.subs);
	TAILQ_INIT(&inv.gsubs);
	TAILQ_INIT(&inv.waiters);
	if (cfg->generic) {
		struct timeval hb = { GEN_HEARTBEAT_S, 0 };
		inv.heartbeat = event_new(base, -1, EV_PERSIST, gen_heartbeat,
		    NULL);
		event_add(inv.heartbeat, &hb);
	}
	inv.evline = evbuffer_new();
	inv.images = json_object();
	inv.backoff = INV_BACKOFF_MIN;
	inv.retry = evtimer_new(base, events_retry, NULL);
	inv.relist = evtimer_new(base, inv_poll, NULL);
	inv.poll = event_new(base, -1, EV_PERSIST, inv_poll, NULL);
	event_add(inv.poll, &tv);
	inv_events_start();
	inv_refresh(0, 0);
}

/*
 * Containers known now, and how many run (for /metrics), whether or not
 * Drydock's settings list them; -1: not ready.
 */
int
inventory_counts(int *running)
{
	struct ctr	*c;
	int		 total = 0;

	*running = 0;
	if (!inventory_ready())
		return -1;
	TAILQ_FOREACH(c, &inv.ctrs, entry) {
		if (c->model == NULL && !c->hidden)
			continue;
		total++;
		if (c->running)
			(*running)++;
	}
	return total;
}
