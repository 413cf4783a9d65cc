/*
 * redact.c: response filtering (see redact.h and DESIGN.md, "The policy
 * engine").  The shapes and fields follow sockguard's response filter:
 * a redacted string becomes "<redacted>", an array [], an object {}, a
 * number 0; an env entry keeps its name ("NAME=<redacted>"); a bind
 * keeps everything after its host path.  A field of the wrong type where
 * a protected value is expected rejects the whole answer (502): nothing
 * half-redacted goes out.
 */
#include "pwbuild.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "inspect_int.h"
#include "policy.h"
#include "redact.h"
#include "util.h"

#define REDACTED	"<redacted>"

int	pol_resp_tree_only;

/* ---- routes (no JSON: the proxy uses these) ---- */

/* "/prefix/X" with X one non-empty segment; X returned. */
static const char *
one_segment(const char *p, const char *prefix)
{
	size_t	n = strlen(prefix);

	if (strncmp(p, prefix, n) != 0 || p[n] == '\0' ||
	    strchr(p + n, '/') != NULL)
		return NULL;
	return p + n;
}

/* "/prefix/X/tail" with X one non-empty segment. */
static int
seg_tail(const char *p, const char *prefix, const char *tail)
{
	size_t	n = strlen(prefix);
	const char *s;

	if (strncmp(p, prefix, n) != 0 || p[n] == '\0' || p[n] == '/')
		return 0;
	if ((s = strchr(p + n, '/')) == NULL)
		return 0;
	return strcmp(s + 1, tail) == 0;
}

enum pol_rroute
pol_resp_route(const char *method, const char *p)
{
	static const struct {
		const char	*path;
		enum pol_rroute	 r;
	} exact[] = {
		{ "/containers/json", PRR_CONTAINER_LIST },
		{ "/images/json", PRR_IMAGE_LIST },
		{ "/networks", PRR_NETWORK_LIST },
		{ "/volumes", PRR_VOLUME_LIST },
		{ "/services", PRR_SERVICE_LIST },
		{ "/tasks", PRR_TASK_LIST },
		{ "/secrets", PRR_SECRET_LIST },
		{ "/configs", PRR_CONFIG_LIST },
		{ "/plugins", PRR_PLUGIN_LIST },
		{ "/nodes", PRR_NODE_LIST },
		{ "/swarm", PRR_SWARM },
		{ "/swarm/unlockkey", PRR_SWARM_UNLOCKKEY },
		{ "/info", PRR_INFO },
		{ "/system/df", PRR_SYSTEM_DF },
	};
	static const struct {
		const char	*prefix;
		enum pol_rroute	 r;
	} single[] = {
		{ "/networks/", PRR_NETWORK_INSPECT },
		{ "/volumes/", PRR_VOLUME_INSPECT },
		{ "/services/", PRR_SERVICE_INSPECT },
		{ "/tasks/", PRR_TASK_INSPECT },
		{ "/secrets/", PRR_SECRET_INSPECT },
		{ "/configs/", PRR_CONFIG_INSPECT },
		{ "/nodes/", PRR_NODE_INSPECT },
	};
	size_t	i, n;

	if (strcmp(method, "GET") != 0)
		return PRR_NONE;
	for (i = 0; i < nitems(exact); i++)
		if (strcmp(p, exact[i].path) == 0)
			return exact[i].r;
	for (i = 0; i < nitems(single); i++)
		if (one_segment(p, single[i].prefix) != NULL)
			return single[i].r;
	if (seg_tail(p, "/containers/", "json"))
		return PRR_CONTAINER_INSPECT;
	if (seg_tail(p, "/plugins/", "json"))
		return PRR_PLUGIN_INSPECT;
	/* Image names may hold '/': /images/{name...}/json. */
	n = strlen(p);
	if (strncmp(p, "/images/", 8) == 0 && n > 8 + 5 &&
	    strcmp(p + n - 5, "/json") == 0)
		return PRR_IMAGE_INSPECT;
	return PRR_NONE;
}

const char *
pol_resp_route_name(enum pol_rroute r)
{
	static const char *const names[PRR_MAX] = {
		"none", "container list", "container inspect", "image list",
		"image inspect", "network list", "network inspect",
		"volume list", "volume inspect", "service list",
		"service inspect", "task list", "task inspect", "secret list",
		"secret inspect", "config list", "config inspect",
		"plugin list", "plugin inspect", "node list", "node inspect",
		"swarm", "swarm unlock key", "info", "system df",
	};

	return r < PRR_MAX ? names[r] : "?";
}

static int
vis_labels(const struct policy *p, const struct pol_profile *pf)
{
	return p->vis.labels.n > 0 || (pf != NULL && pf->vis.labels.n > 0);
}

static int
vis_patterns(const struct policy *p, const struct pol_profile *pf)
{
	return p->vis.nnames + p->vis.nimages > 0 || (pf != NULL &&
	    pf->vis.nnames + pf->vis.nimages > 0);
}

int
pol_resp_wanted(const struct policy *p, const struct pol_profile *pf,
    enum pol_rroute r)
{
	const struct pol_resp	*o = &p->resp;
	int			 vis_l = vis_labels(p, pf);
	int			 vis_p = vis_patterns(p, pf);
	int			 spec = o->redact_env || o->redact_mounts ||
				    o->redact_net || o->redact_sensitive;

	switch (r) {
	case PRR_CONTAINER_INSPECT:
		return o->redact_env || o->redact_mounts || o->redact_net ||
		    vis_l || vis_p;
	case PRR_CONTAINER_LIST:
		return o->redact_mounts || o->redact_net || vis_l || vis_p;
	case PRR_IMAGE_LIST:
	case PRR_IMAGE_INSPECT:
		return vis_l || vis_p;
	case PRR_NETWORK_LIST:
	case PRR_NETWORK_INSPECT:
		return o->redact_net || vis_l;
	case PRR_VOLUME_LIST:
	case PRR_VOLUME_INSPECT:
		return o->redact_mounts || vis_l;
	case PRR_SERVICE_LIST:
	case PRR_SERVICE_INSPECT:
	case PRR_TASK_LIST:
	case PRR_TASK_INSPECT:
		return spec || vis_l;
	case PRR_SECRET_LIST:
	case PRR_SECRET_INSPECT:
	case PRR_CONFIG_LIST:
	case PRR_CONFIG_INSPECT:
		return o->redact_sensitive || vis_l;
	case PRR_PLUGIN_LIST:
	case PRR_PLUGIN_INSPECT:
		return o->redact_env || o->redact_mounts;
	case PRR_NODE_LIST:
	case PRR_NODE_INSPECT:
		return o->redact_net || o->redact_sensitive || vis_l;
	case PRR_SWARM:
		return o->redact_net || o->redact_sensitive || vis_l;
	case PRR_SWARM_UNLOCKKEY:
		return o->redact_sensitive;
	case PRR_INFO:
		return o->redact_net || o->redact_sensitive || o->redact_host;
	case PRR_SYSTEM_DF:
		return o->redact_mounts || o->redact_net;
	default:
		return 0;
	}
}

int
pol_resp_attest_refused(const struct policy *p, const char *method,
    const char *npath, const char *query)
{
	char	v[16];
	size_t	n = strlen(npath);
	int	rc;

	if (p->resp.allow_attest || strcmp(method, "GET") != 0)
		return 0;
	/* /images/{name...}/attestations, the name not empty. */
	if (strncmp(npath, "/images/", 8) != 0 || n <= 8 + 13 ||
	    strcmp(npath + n - 13, "/attestations") != 0)
		return 0;
	if (query == NULL)
		return 0;
	rc = pol_query_get(query, "statement", v, sizeof(v));
	if (rc == -1)
		return 1;	/* a query Go would refuse: refuse it too */
	return rc == 1 && strcasecmp(v, "true") == 0;
}

/* ---- the rewriter (policyd only) ---- */

struct rctx {
	const struct pol_resp	*o;
	int			 changed;
	char			*why;
	size_t			 whysz;
};

static int
bad(struct rctx *c, const char *what)
{
	snprintf(c->why, c->whysz, "%s has an unexpected type", what);
	return -1;
}

static void
set(struct rctx *c, json_t *obj, const char *key, json_t *v)
{
	json_object_set_new(obj, key, v);
	c->changed = 1;
}

/* A present, non-null field becomes "<redacted>" (whatever its type). */
static void
red_str(struct rctx *c, json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return;
	if (json_is_string(v) && strcmp(json_string_value(v), REDACTED) == 0)
		return;
	set(c, obj, key, json_string(REDACTED));
}

/* An array field becomes []. */
static void
red_arr(struct rctx *c, json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	if (json_is_array(v) && json_array_size(v) > 0)
		set(c, obj, key, json_array());
}

/* A number field becomes 0. */
static void
red_num(struct rctx *c, json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	if (json_is_number(v) && json_number_value(v) != 0)
		set(c, obj, key, json_integer(0));
}

/* A field of any shape becomes its empty form (GET /info). */
static void
red_any(struct rctx *c, json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	if (json_is_string(v))
		red_str(c, obj, key);
	else if (json_is_array(v))
		red_arr(c, obj, key);
	else if (json_is_object(v) && json_object_size(v) > 0)
		set(c, obj, key, json_object());
}

/*
 * The object at obj.k1.k2... : 1 found, 0 absent or null, -1 wrong type.
 */
static int
nested(struct rctx *c, json_t *obj, json_t **out, const char *what, ...)
{
	va_list		 ap;
	const char	*k;
	json_t		*v = obj;

	*out = NULL;
	va_start(ap, what);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = json_object_get(v, k);
		if (v == NULL || json_is_null(v)) {
			va_end(ap);
			return 0;
		}
		if (!json_is_object(v)) {
			va_end(ap);
			return bad(c, what);
		}
	}
	va_end(ap);
	*out = v;
	return 1;
}

/* Each object of the array obj[field]: redact the string keys given. */
static int
red_refs(struct rctx *c, json_t *obj, const char *field, const char *k1,
    const char *k2)
{
	json_t	*a = json_object_get(obj, field), *e;
	size_t	 i;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return bad(c, field);
	json_array_foreach(a, i, e) {
		if (!json_is_object(e))
			return bad(c, field);
		red_str(c, e, k1);
		if (k2 != NULL)
			red_str(c, e, k2);
	}
	return 0;
}

static int
red_mounts(struct rctx *c, json_t *obj, const char *field)
{
	return red_refs(c, obj, field, "Source", NULL);
}

static int
is_host_path(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s == '/' || (s[0] == '\\' && s[1] == '\\'))
		return 1;
	return ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' &&
	    s[0] <= 'Z')) && s[1] == ':' && (s[2] == '\\' || s[2] == '/');
}

/* "/host:/ctr:ro" -> "<redacted>:/ctr:ro"; a named volume stays. */
static char *
red_bind(const char *b)
{
	const char	*colon;
	char		*src, *out;
	size_t		 n;

	if (strlen(b) >= 3 && ((b[0] >= 'a' && b[0] <= 'z') || (b[0] >= 'A' &&
	    b[0] <= 'Z')) && b[1] == ':' && (b[2] == '\\' || b[2] == '/'))
		colon = strchr(b + 2, ':');
	else
		colon = strchr(b, ':');
	n = colon != NULL ? (size_t)(colon - b) : strlen(b);
	src = xstrndup(b, n);
	if (!is_host_path(src)) {
		free(src);
		return NULL;
	}
	free(src);
	if (asprintf(&out, "%s%s", REDACTED, b + n) == -1)
		return NULL;
	return out;
}

static int
red_hostconfig_mounts(struct rctx *c, json_t *o)
{
	json_t	*hc, *binds, *e;
	size_t	 i;
	char	*nb;
	int	 rc;

	if ((rc = nested(c, o, &hc, "HostConfig", "HostConfig", NULL)) != 1)
		return rc;
	if (red_mounts(c, hc, "Mounts") == -1)
		return -1;
	red_arr(c, hc, "MaskedPaths");
	red_arr(c, hc, "ReadonlyPaths");
	binds = json_object_get(hc, "Binds");
	if (binds == NULL || json_is_null(binds))
		return 0;
	if (!json_is_array(binds))
		return bad(c, "HostConfig.Binds");
	json_array_foreach(binds, i, e) {
		if (!json_is_string(e))
			return bad(c, "HostConfig.Binds");
		if ((nb = red_bind(json_string_value(e))) != NULL) {
			json_array_set_new(binds, i, json_string(nb));
			free(nb);
			c->changed = 1;
		}
	}
	return 0;
}

static int
red_container_net(struct rctx *c, json_t *o)
{
	static const char *const ns_str[] = {
		"Bridge", "EndpointID", "Gateway", "GlobalIPv6Address",
		"IPAddress", "IPv6Gateway", "LinkLocalIPv6Address",
		"MacAddress", "SandboxID", "SandboxKey",
	};
	static const char *const ns_num[] = {
		"GlobalIPv6PrefixLen", "IPPrefixLen", "LinkLocalIPv6PrefixLen",
	};
	static const char *const ep_str[] = {
		"EndpointID", "Gateway", "GlobalIPv6Address", "IPAddress",
		"IPv6Gateway", "MacAddress", "NetworkID",
	};
	static const char *const ep_num[] = {
		"GlobalIPv6PrefixLen", "IPPrefixLen",
	};
	json_t		*hc, *ns, *nets, *ep;
	const char	*name;
	size_t		 i;
	int		 rc;

	if ((rc = nested(c, o, &hc, "HostConfig", "HostConfig", NULL)) == -1)
		return -1;
	if (rc == 1)
		red_str(c, hc, "NetworkMode");
	if ((rc = nested(c, o, &ns, "NetworkSettings", "NetworkSettings",
	    NULL)) != 1)
		return rc;
	for (i = 0; i < nitems(ns_str); i++)
		red_str(c, ns, ns_str[i]);
	for (i = 0; i < nitems(ns_num); i++)
		red_num(c, ns, ns_num[i]);
	red_arr(c, ns, "SecondaryIPAddresses");
	red_arr(c, ns, "SecondaryIPv6Addresses");
	nets = json_object_get(ns, "Networks");
	if (nets == NULL || json_is_null(nets))
		return 0;
	if (!json_is_object(nets))
		return bad(c, "NetworkSettings.Networks");
	json_object_foreach(nets, name, ep) {
		if (!json_is_object(ep))
			return bad(c, "NetworkSettings.Networks entry");
		for (i = 0; i < nitems(ep_str); i++)
			red_str(c, ep, ep_str[i]);
		for (i = 0; i < nitems(ep_num); i++)
			red_num(c, ep, ep_num[i]);
	}
	return 0;
}

static int
red_container_inspect(struct rctx *c, json_t *o)
{
	json_t	*cfg;
	int	 rc;

	if (c->o->redact_env) {
		if ((rc = nested(c, o, &cfg, "Config", "Config", NULL)) == -1)
			return -1;
		if (rc == 1) {
			json_t *env = json_object_get(cfg, "Env");

			if (!json_is_array(env) || json_array_size(env) > 0)
				set(c, cfg, "Env", json_array());
		}
	}
	if (c->o->redact_mounts && (red_mounts(c, o, "Mounts") == -1 ||
	    red_hostconfig_mounts(c, o) == -1))
		return -1;
	if (c->o->redact_net && red_container_net(c, o) == -1)
		return -1;
	return 0;
}

static int
red_container_item(struct rctx *c, json_t *o)
{
	if (c->o->redact_mounts && red_mounts(c, o, "Mounts") == -1)
		return -1;
	if (c->o->redact_net && red_container_net(c, o) == -1)
		return -1;
	return 0;
}

static int
red_network(struct rctx *c, json_t *o)
{
	json_t	*v;

	if (!c->o->redact_net)
		return 0;
	v = json_object_get(o, "IPAM");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return bad(c, "IPAM");
		if (!json_is_array(json_object_get(v, "Config")) ||
		    json_array_size(json_object_get(v, "Config")) > 0)
			set(c, v, "Config", json_array());
	}
	if ((v = json_object_get(o, "Status")) != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return bad(c, "Status");
		if (json_object_size(v) > 0)
			set(c, o, "Status", json_object());
	}
	if ((v = json_object_get(o, "Containers")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_object(v))
			return bad(c, "Containers");
		if (json_object_size(v) > 0)
			set(c, o, "Containers", json_object());
	}
	if ((v = json_object_get(o, "Peers")) != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return bad(c, "Peers");
		red_arr(c, o, "Peers");
	}
	return 0;
}

static int
red_volume(struct rctx *c, json_t *o)
{
	if (c->o->redact_mounts)
		red_str(c, o, "Mountpoint");
	return 0;
}

static int
red_container_spec(struct rctx *c, json_t *cs)
{
	if (c->o->redact_env)
		red_arr(c, cs, "Env");
	if (c->o->redact_mounts && red_mounts(c, cs, "Mounts") == -1)
		return -1;
	if (c->o->redact_sensitive && (red_refs(c, cs, "Secrets", "SecretID",
	    "SecretName") == -1 || red_refs(c, cs, "Configs", "ConfigID",
	    "ConfigName") == -1))
		return -1;
	return 0;
}

static int
red_service(struct rctx *c, json_t *o)
{
	static const char *const specs[] = { "Spec", "PreviousSpec" };
	json_t	*cs, *ep;
	size_t	 i;
	int	 rc;

	for (i = 0; i < nitems(specs); i++) {
		if ((rc = nested(c, o, &cs, "Spec.TaskTemplate.ContainerSpec",
		    specs[i], "TaskTemplate", "ContainerSpec", NULL)) == -1)
			return -1;
		if (rc == 1 && red_container_spec(c, cs) == -1)
			return -1;
	}
	if (c->o->redact_net) {
		if ((rc = nested(c, o, &ep, "Endpoint", "Endpoint", NULL)) ==
		    -1)
			return -1;
		if (rc == 1 && red_refs(c, ep, "VirtualIPs", "NetworkID",
		    "Addr") == -1)
			return -1;
	}
	return 0;
}

static int
red_task(struct rctx *c, json_t *o)
{
	json_t	*cs, *st, *atts, *a, *net, *ipam;
	size_t	 i;
	int	 rc;

	if ((rc = nested(c, o, &cs, "Spec.ContainerSpec", "Spec",
	    "ContainerSpec", NULL)) == -1)
		return -1;
	if (rc == 1 && red_container_spec(c, cs) == -1)
		return -1;
	if (!c->o->redact_net)
		return 0;
	red_str(c, o, "ServiceID");
	red_str(c, o, "NodeID");
	if ((rc = nested(c, o, &st, "Status.ContainerStatus", "Status",
	    "ContainerStatus", NULL)) == -1)
		return -1;
	if (rc == 1) {
		red_str(c, st, "ContainerID");
		red_num(c, st, "PID");
	}
	atts = json_object_get(o, "NetworksAttachments");
	if (atts == NULL || json_is_null(atts))
		return 0;
	if (!json_is_array(atts))
		return bad(c, "NetworksAttachments");
	json_array_foreach(atts, i, a) {
		if (!json_is_object(a))
			return bad(c, "NetworksAttachments");
		red_arr(c, a, "Addresses");
		if ((rc = nested(c, a, &net, "NetworksAttachments.Network",
		    "Network", NULL)) == -1)
			return -1;
		if (rc == 0)
			continue;
		red_str(c, net, "ID");
		if ((rc = nested(c, net, &ipam, "Network.IPAMOptions",
		    "IPAMOptions", NULL)) == -1)
			return -1;
		if (rc == 1)
			red_arr(c, ipam, "Configs");
	}
	return 0;
}

/* Secrets and configs: Spec.Data. */
static int
red_specdata(struct rctx *c, json_t *o)
{
	json_t	*spec;
	int	 rc;

	if (!c->o->redact_sensitive)
		return 0;
	if ((rc = nested(c, o, &spec, "Spec", "Spec", NULL)) != 1)
		return rc;
	red_str(c, spec, "Data");
	return 0;
}

static int
red_plugin(struct rctx *c, json_t *o)
{
	json_t	*s, *cfg, *linux_, *env, *e;
	size_t	 i;
	int	 rc;

	if ((rc = nested(c, o, &s, "Settings", "Settings", NULL)) == -1)
		return -1;
	if (rc == 1) {
		if (c->o->redact_env) {
			env = json_object_get(s, "Env");
			if (env != NULL && !json_is_null(env)) {
				if (!json_is_array(env))
					return bad(c, "Settings.Env");
				json_array_foreach(env, i, e) {
					const char *v, *eq;
					char *nv;

					if (!json_is_string(e))
						return bad(c, "Settings.Env");
					v = json_string_value(e);
					eq = strchr(v, '=');
					if (asprintf(&nv, "%.*s%s%s", eq ?
					    (int)(eq - v) : 0, v, eq ? "=" : "",
					    REDACTED) == -1)
						return bad(c, "Settings.Env");
					json_array_set_new(env, i,
					    json_string(nv));
					free(nv);
					c->changed = 1;
				}
			}
		}
		if (c->o->redact_mounts && (red_mounts(c, s, "Mounts") == -1 ||
		    red_refs(c, s, "Devices", "Path", NULL) == -1))
			return -1;
	}
	if ((rc = nested(c, o, &cfg, "Config", "Config", NULL)) != 1)
		return rc;
	if (c->o->redact_env && red_refs(c, cfg, "Env", "Value", NULL) == -1)
		return -1;
	if (!c->o->redact_mounts)
		return 0;
	if (red_mounts(c, cfg, "Mounts") == -1)
		return -1;
	red_str(c, cfg, "PropagatedMount");
	if ((rc = nested(c, cfg, &linux_, "Config.Linux", "Linux", NULL)) != 1)
		return rc;
	return red_refs(c, linux_, "Devices", "Path", NULL);
}

static void
red_tls(struct rctx *c, json_t *t)
{
	red_str(c, t, "TrustRoot");
	red_str(c, t, "CertIssuerSubject");
	red_str(c, t, "CertIssuerPublicKey");
}

static int
red_node(struct rctx *c, json_t *o)
{
	json_t	*v;
	int	 rc;

	if (c->o->redact_net) {
		if ((rc = nested(c, o, &v, "Status", "Status", NULL)) == -1)
			return -1;
		if (rc == 1)
			red_str(c, v, "Addr");
		if ((rc = nested(c, o, &v, "ManagerStatus", "ManagerStatus",
		    NULL)) == -1)
			return -1;
		if (rc == 1)
			red_str(c, v, "Addr");
	}
	if (c->o->redact_sensitive) {
		if ((rc = nested(c, o, &v, "Description.TLSInfo",
		    "Description", "TLSInfo", NULL)) == -1)
			return -1;
		if (rc == 1)
			red_tls(c, v);
	}
	return 0;
}

static int
red_swarm(struct rctx *c, json_t *o)
{
	json_t	*v;
	int	 rc;

	if (c->o->redact_sensitive) {
		if ((rc = nested(c, o, &v, "JoinTokens", "JoinTokens",
		    NULL)) == -1)
			return -1;
		if (rc == 1) {
			red_str(c, v, "Worker");
			red_str(c, v, "Manager");
		}
		if ((rc = nested(c, o, &v, "TLSInfo", "TLSInfo", NULL)) == -1)
			return -1;
		if (rc == 1)
			red_tls(c, v);
		if ((rc = nested(c, o, &v, "Spec.CAConfig", "Spec",
		    "CAConfig", NULL)) == -1)
			return -1;
		if (rc == 1) {
			red_str(c, v, "SigningCACert");
			red_str(c, v, "SigningCAKey");
			red_arr(c, v, "ExternalCAs");
		}
	}
	if (c->o->redact_net)
		red_arr(c, o, "DefaultAddrPool");
	return 0;
}

static int
red_info(struct rctx *c, json_t *o)
{
	static const char *const host[] = {
		"Containerd", "FirewallBackend", "DiscoveredDevices", "NRI",
	};
	json_t	*sw, *cl, *tls;
	size_t	 i;
	int	 rc;

	if (c->o->redact_host)
		for (i = 0; i < nitems(host); i++)
			red_any(c, o, host[i]);
	if ((rc = nested(c, o, &sw, "Swarm", "Swarm", NULL)) != 1)
		return rc;
	if ((rc = nested(c, sw, &cl, "Swarm.Cluster", "Cluster", NULL)) == -1)
		return -1;
	if (c->o->redact_net) {
		red_str(c, sw, "NodeID");
		red_str(c, sw, "NodeAddr");
		red_arr(c, sw, "RemoteManagers");
		if (cl != NULL)
			red_arr(c, cl, "DefaultAddrPool");
	}
	if (c->o->redact_sensitive && cl != NULL) {
		if ((rc = nested(c, cl, &tls, "Swarm.Cluster.TLSInfo",
		    "TLSInfo", NULL)) == -1)
			return -1;
		if (rc == 1)
			red_tls(c, tls);
	}
	return 0;
}

/* /system/df: ContainerUsage.Items (1.52+) or Containers; volumes alike. */
static int
df_items(struct rctx *c, json_t *o, const char *usage, const char *legacy,
    int (*fn)(struct rctx *, json_t *))
{
	json_t	*u, *items, *e;
	size_t	 i;
	int	 rc;

	if ((rc = nested(c, o, &u, usage, usage, NULL)) == -1)
		return -1;
	items = rc == 1 ? json_object_get(u, "Items") :
	    json_object_get(o, legacy);
	if (items == NULL || json_is_null(items))
		return 0;
	if (!json_is_array(items))
		return bad(c, usage);
	json_array_foreach(items, i, e) {
		if (!json_is_object(e))
			return bad(c, usage);
		if (fn(c, e) == -1)
			return -1;
	}
	return 0;
}

static int
df_volume(struct rctx *c, json_t *v)
{
	if (c->o->redact_mounts)
		red_str(c, v, "Mountpoint");
	return 0;
}

static int
red_system_df(struct rctx *c, json_t *o)
{
	if (df_items(c, o, "ContainerUsage", "Containers",
	    red_container_item) == -1)
		return -1;
	return df_items(c, o, "VolumeUsage", "Volumes", df_volume);
}

/* ---- visibility ---- */

struct vis {
	const struct pol_vis	*v[2];	/* root, profile */
	int			 labels;
	int			 patterns;
};

/* Every selector of both scopes holds for the labels object. */
static int
labels_match(const struct vis *vs, json_t *labels)
{
	const char	*sel, *eq;
	json_t		*val;
	char		 key[1024];
	size_t		 i, j, n;

	if (!vs->labels)
		return 1;
	if (!json_is_object(labels) || json_object_size(labels) == 0)
		return 0;
	for (j = 0; j < 2; j++) {
		if (vs->v[j] == NULL)
			continue;
		for (i = 0; i < vs->v[j]->labels.n; i++) {
			sel = vs->v[j]->labels.v[i];
			eq = strchr(sel, '=');
			n = eq != NULL ? (size_t)(eq - sel) : strlen(sel);
			if (n >= sizeof(key))
				return 0;
			memcpy(key, sel, n);
			key[n] = '\0';
			val = json_object_get(labels, key);
			if (val == NULL)
				return 0;
			if (eq != NULL && (!json_is_string(val) ||
			    strcmp(json_string_value(val), eq + 1) != 0))
				return 0;
		}
	}
	return 1;
}

/* Any glob of the axis (both scopes) matches s; 1 when the axis is empty. */
static int
axis_match(const struct vis *vs, int images, const char *s)
{
	struct pol_glob	*const *g;
	size_t		 i, j, n;
	int		 any = 0;

	for (j = 0; j < 2; j++) {
		if (vs->v[j] == NULL)
			continue;
		g = images ? vs->v[j]->images : vs->v[j]->names;
		n = images ? vs->v[j]->nimages : vs->v[j]->nnames;
		for (i = 0; i < n; i++) {
			any = 1;
			if (s != NULL && pol_glob_match(g[i], s))
				return 1;
		}
	}
	return !any;
}

static const char *
str_of(json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

static int
container_visible(const struct vis *vs, json_t *labels, const char *name,
    const char *image)
{
	if (!labels_match(vs, labels))
		return 0;
	if (*name == '/')
		name++;
	return axis_match(vs, 0, name) && axis_match(vs, 1, image);
}

/* Images: names match a tag's last path element, images the whole tag. */
static int
image_visible(const struct vis *vs, json_t *labels, json_t *tags)
{
	json_t		*t;
	const char	*s, *slash;
	size_t		 i;
	int		 name_ok, image_ok;

	if (!labels_match(vs, labels))
		return 0;
	name_ok = axis_match(vs, 0, NULL);
	image_ok = axis_match(vs, 1, NULL);
	if (json_is_array(tags))
		json_array_foreach(tags, i, t) {
			if (!json_is_string(t))
				continue;
			s = json_string_value(t);
			slash = strrchr(s, '/');
			if (!name_ok && axis_match(vs, 0, slash ? slash + 1 : s))
				name_ok = 1;
			if (!image_ok && axis_match(vs, 1, s))
				image_ok = 1;
		}
	return name_ok && image_ok;
}

/* The labels a list item or inspect answer carries, by route. */
static json_t *
labels_of(enum pol_rroute r, json_t *o)
{
	json_t	*l;

	switch (r) {
	case PRR_CONTAINER_INSPECT:
		return json_object_get(json_object_get(o, "Config"), "Labels");
	case PRR_IMAGE_INSPECT:
		l = json_object_get(json_object_get(o, "Config"), "Labels");
		if (json_is_object(l) && json_object_size(l) > 0)
			return l;
		return json_object_get(json_object_get(o, "ContainerConfig"),
		    "Labels");
	case PRR_SERVICE_LIST:
	case PRR_SERVICE_INSPECT:
	case PRR_SECRET_LIST:
	case PRR_SECRET_INSPECT:
	case PRR_CONFIG_LIST:
	case PRR_CONFIG_INSPECT:
	case PRR_NODE_LIST:
	case PRR_NODE_INSPECT:
	case PRR_SWARM:
		return json_object_get(json_object_get(o, "Spec"), "Labels");
	case PRR_TASK_LIST:
	case PRR_TASK_INSPECT:
		l = json_object_get(o, "Labels");
		if (json_is_object(l) && json_object_size(l) > 0)
			return l;
		return json_object_get(json_object_get(json_object_get(o,
		    "Spec"), "ContainerSpec"), "Labels");
	default:
		return json_object_get(o, "Labels");
	}
}

static int
visible(const struct vis *vs, enum pol_rroute r, json_t *o)
{
	json_t	*names;

	if (!vs->labels && !vs->patterns)
		return 1;
	switch (r) {
	case PRR_CONTAINER_LIST:
		names = json_object_get(o, "Names");
		return container_visible(vs, labels_of(r, o),
		    str_of(json_array_get(names, 0)),
		    str_of(json_object_get(o, "Image")));
	case PRR_CONTAINER_INSPECT:
		return container_visible(vs, labels_of(r, o),
		    str_of(json_object_get(o, "Name")),
		    str_of(json_object_get(json_object_get(o, "Config"),
		    "Image")));
	case PRR_IMAGE_LIST:
	case PRR_IMAGE_INSPECT:
		return image_visible(vs, labels_of(r, o),
		    json_object_get(o, "RepoTags"));
	case PRR_PLUGIN_LIST:
	case PRR_PLUGIN_INSPECT:
	case PRR_SWARM_UNLOCKKEY:
	case PRR_INFO:
	case PRR_SYSTEM_DF:
		return 1;
	default:
		/* Other kinds: labels only (patterns name containers and images). */
		return labels_match(vs, labels_of(r, o));
	}
}

/* ---- dispatch ---- */

static int
redact_one(struct rctx *c, enum pol_rroute r, json_t *o)
{
	switch (r) {
	case PRR_CONTAINER_LIST:
		return red_container_item(c, o);
	case PRR_CONTAINER_INSPECT:
		return red_container_inspect(c, o);
	case PRR_NETWORK_LIST:
	case PRR_NETWORK_INSPECT:
		return red_network(c, o);
	case PRR_VOLUME_LIST:
	case PRR_VOLUME_INSPECT:
		return red_volume(c, o);
	case PRR_SERVICE_LIST:
	case PRR_SERVICE_INSPECT:
		return red_service(c, o);
	case PRR_TASK_LIST:
	case PRR_TASK_INSPECT:
		return red_task(c, o);
	case PRR_SECRET_LIST:
	case PRR_SECRET_INSPECT:
	case PRR_CONFIG_LIST:
	case PRR_CONFIG_INSPECT:
		return red_specdata(c, o);
	case PRR_PLUGIN_LIST:
	case PRR_PLUGIN_INSPECT:
		return red_plugin(c, o);
	case PRR_NODE_LIST:
	case PRR_NODE_INSPECT:
		return red_node(c, o);
	case PRR_SWARM:
		return red_swarm(c, o);
	case PRR_SWARM_UNLOCKKEY:
		if (c->o->redact_sensitive)
			red_str(c, o, "UnlockKey");
		return 0;
	case PRR_INFO:
		return red_info(c, o);
	case PRR_SYSTEM_DF:
		return red_system_df(c, o);
	default:
		return 0;
	}
}

static int
is_list(enum pol_rroute r)
{
	switch (r) {
	case PRR_CONTAINER_LIST:
	case PRR_IMAGE_LIST:
	case PRR_NETWORK_LIST:
	case PRR_SERVICE_LIST:
	case PRR_TASK_LIST:
	case PRR_SECRET_LIST:
	case PRR_CONFIG_LIST:
	case PRR_PLUGIN_LIST:
	case PRR_NODE_LIST:
		return 1;
	default:
		return 0;
	}
}

/* Filter and redact the items of a list array in place. */
static int
do_list(struct rctx *c, const struct vis *vs, enum pol_rroute r, json_t *a,
    const char *what)
{
	json_t	*e;
	size_t	 i;

	if (!json_is_array(a))
		return bad(c, what);
	for (i = 0; i < json_array_size(a); ) {
		e = json_array_get(a, i);
		if (!json_is_object(e))
			return bad(c, what);
		if (!visible(vs, r == PRR_VOLUME_LIST ? PRR_VOLUME_INSPECT : r,
		    e)) {
			json_array_remove(a, i);
			c->changed = 1;
			continue;
		}
		if (redact_one(c, r == PRR_VOLUME_LIST ? PRR_VOLUME_INSPECT :
		    r, e) == -1)
			return -1;
		i++;
	}
	return 0;
}


/*
 * ---- the container list without visibility: a streaming rewrite ----
 *
 * GET /containers/json is the hot read and, with the default switches,
 * every item has fields to replace.  Building a jansson tree for it
 * costs most of the filter's time, so this path validates the JSON in
 * one pass and copies Docker's bytes, writing a replacement only where
 * the tree path (red_container_item) would change a value, and refusing
 * exactly the shapes it refuses.  Keys are compared after unescaping.
 * tests/fuzz/fuzz_redact.c checks that both paths agree.
 */

#define FJ_DEPTH	64

enum fctx {
	FC_NONE = 0,	/* copied, only validated */
	FC_ITEM,	/* a list item */
	FC_MOUNTS,	/* item.Mounts: array of objects */
	FC_MOUNT,
	FC_HOSTCONFIG,
	FC_NETSET,	/* item.NetworkSettings */
	FC_NETWORKS,	/* NetworkSettings.Networks: object of objects */
	FC_EP
};

enum fact { FA_COPY, FA_STR, FA_NUM, FA_ARR, FA_DESCEND };

struct fj {
	const uint8_t	*p, *end;
	char		*out;
	size_t		 len, cap;
	const uint8_t	*mark;		/* input not yet copied */
	int		 changed;
	int		 bad;		/* a protected field is mistyped */
	const struct pol_resp *o;
};

static void
fj_put(struct fj *f, const void *b, size_t n)
{
	if (f->len + n + 2 > f->cap) {
		f->cap = (f->len + n + 2) * 2;
		f->out = xreallocarray(f->out, f->cap, 1);
	}
	memcpy(f->out + f->len, b, n);
	f->len += n;
}

/* Copy input up to q, then skip to r (the replaced bytes). */
static void
fj_replace(struct fj *f, const uint8_t *q, const uint8_t *r, const char *with)
{
	fj_put(f, f->mark, (size_t)(q - f->mark));
	fj_put(f, with, strlen(with));
	f->mark = r;
	f->changed = 1;
}

static void
fj_ws(struct fj *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' ||
	    *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

static int
fj_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Valid UTF-8 sequence at p (len left)? Its length, or 0. */
static size_t
fj_utf8(const uint8_t *p, size_t left)
{
	uint32_t	c;
	size_t		n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (left < n)
		return 0;
	c = p[0] & (0xff >> (n + 1));
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return n;
}

/*
 * A string at f->p ('"'); its ASCII value into key (when key != NULL,
 * "" when it holds anything else or is too long).  -1: malformed, or an
 * object key (key != NULL) holding \u0000, which jansson refuses.
 */
static int
fj_string(struct fj *f, char *key, size_t keysz)
{
	size_t	k = 0, n;
	int	ascii = 1, c, i, v;

	f->p++;
	while (f->p < f->end && *f->p != '"') {
		c = *f->p;
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (++f->p >= f->end)
				return -1;
			switch (*f->p) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				if (f->end - f->p < 5)
					return -1;
				for (v = 0, i = 1; i <= 4; i++) {
					if (fj_hex(f->p[i]) < 0)
						return -1;
					v = v * 16 + fj_hex(f->p[i]);
				}
				f->p += 4;
				if (v >= 0xd800 && v <= 0xdbff) {
					/* A high surrogate needs its low half. */
					if (f->end - f->p < 7 || f->p[1] != '\\' ||
					    f->p[2] != 'u')
						return -1;
					for (v = 0, i = 3; i <= 6; i++) {
						if (fj_hex(f->p[i]) < 0)
							return -1;
						v = v * 16 + fj_hex(f->p[i]);
					}
					if (v < 0xdc00 || v > 0xdfff)
						return -1;
					f->p += 6;
					ascii = 0;
				} else if (v >= 0xdc00 && v <= 0xdfff)
					return -1;
				else if (v == 0 && key != NULL)
					return -1;
				else if (v == 0 || v >= 0x80)
					ascii = 0;
				c = v;
				break;
			default:
				return -1;
			}
			f->p++;
		} else {
			if ((n = fj_utf8(f->p, (size_t)(f->end - f->p))) == 0)
				return -1;
			if (n > 1)
				ascii = 0;
			f->p += n;
		}
		if (key != NULL && ascii) {
			if (k + 1 < keysz)
				key[k++] = (char)c;
			else
				ascii = 0;
		}
	}
	if (f->p >= f->end)
		return -1;
	f->p++;
	if (key != NULL)
		key[ascii ? k : 0] = '\0';
	return 0;
}

/* A number: validated (JSON's grammar, jansson's 64-bit integers). */
static int
fj_number(struct fj *f, double *val)
{
	const uint8_t	*s = f->p;
	char		 buf[64], *txt = buf;
	size_t		 len;
	int		 real = 0, rc = 0;

	if (f->p < f->end && *f->p == '-')
		f->p++;
	if (f->p >= f->end || *f->p < '0' || *f->p > '9')
		return -1;
	if (*f->p == '0')
		f->p++;
	else
		while (f->p < f->end && *f->p >= '0' && *f->p <= '9')
			f->p++;
	if (f->p < f->end && *f->p == '.') {
		real = 1;
		if (++f->p >= f->end || *f->p < '0' || *f->p > '9')
			return -1;
		while (f->p < f->end && *f->p >= '0' && *f->p <= '9')
			f->p++;
	}
	if (f->p < f->end && (*f->p == 'e' || *f->p == 'E')) {
		real = 1;
		f->p++;
		if (f->p < f->end && (*f->p == '+' || *f->p == '-'))
			f->p++;
		if (f->p >= f->end || *f->p < '0' || *f->p > '9')
			return -1;
		while (f->p < f->end && *f->p >= '0' && *f->p <= '9')
			f->p++;
	}
	len = (size_t)(f->p - s);
	/* A real may have any number of digits, as jansson takes it. */
	if (len >= sizeof(buf))
		txt = xmalloc(len + 1);
	memcpy(txt, s, len);
	txt[len] = '\0';
	if (!real) {
		/* jansson refuses an integer beyond 64 bits: so do we. */
		char	*e;

		errno = 0;
		(void)strtoll(txt, &e, 10);
		if (errno == ERANGE)
			rc = -1;
	}
	if (rc == 0) {
		*val = strtod(txt, NULL);
		if (isinf(*val))
			rc = -1;	/* jansson refuses it too */
	}
	if (txt != buf)
		free(txt);
	return rc;
}

static int	fj_value(struct fj *, enum fctx, int, int *);

/* What a key in an object of context c does. */
static enum fact
fj_action(struct fj *f, enum fctx c, const char *k, enum fctx *sub)
{
	static const char *const ns_str[] = {
		"Bridge", "EndpointID", "Gateway", "GlobalIPv6Address",
		"IPAddress", "IPv6Gateway", "LinkLocalIPv6Address",
		"MacAddress", "SandboxID", "SandboxKey",
	};
	static const char *const ep_str[] = {
		"EndpointID", "Gateway", "GlobalIPv6Address", "IPAddress",
		"IPv6Gateway", "MacAddress", "NetworkID",
	};
	size_t	i;

	*sub = FC_NONE;
	switch (c) {
	case FC_ITEM:
		if (f->o->redact_mounts && strcmp(k, "Mounts") == 0)
			return *sub = FC_MOUNTS, FA_DESCEND;
		if (f->o->redact_net && strcmp(k, "HostConfig") == 0)
			return *sub = FC_HOSTCONFIG, FA_DESCEND;
		if (f->o->redact_net && strcmp(k, "NetworkSettings") == 0)
			return *sub = FC_NETSET, FA_DESCEND;
		return FA_COPY;
	case FC_MOUNT:
		return strcmp(k, "Source") == 0 ? FA_STR : FA_COPY;
	case FC_HOSTCONFIG:
		return strcmp(k, "NetworkMode") == 0 ? FA_STR : FA_COPY;
	case FC_NETSET:
		for (i = 0; i < nitems(ns_str); i++)
			if (strcmp(k, ns_str[i]) == 0)
				return FA_STR;
		if (!strcmp(k, "GlobalIPv6PrefixLen") ||
		    !strcmp(k, "IPPrefixLen") ||
		    !strcmp(k, "LinkLocalIPv6PrefixLen"))
			return FA_NUM;
		if (!strcmp(k, "SecondaryIPAddresses") ||
		    !strcmp(k, "SecondaryIPv6Addresses"))
			return FA_ARR;
		if (!strcmp(k, "Networks"))
			return *sub = FC_NETWORKS, FA_DESCEND;
		return FA_COPY;
	case FC_NETWORKS:
		return *sub = FC_EP, FA_DESCEND;
	case FC_EP:
		for (i = 0; i < nitems(ep_str); i++)
			if (strcmp(k, ep_str[i]) == 0)
				return FA_STR;
		if (!strcmp(k, "GlobalIPv6PrefixLen") ||
		    !strcmp(k, "IPPrefixLen"))
			return FA_NUM;
		return FA_COPY;
	default:
		return FA_COPY;
	}
}

/*
 * One value in context c.  *kind gets its type ('{', '[', '"', 'n'
 * null, 'b' bool, '0' number).  Contexts that need an object or an
 * array set f->bad on another type (null passes, as in the tree path,
 * except for a network endpoint, which must be an object).
 */
static int
fj_value(struct fj *f, enum fctx c, int depth, int *kind)
{
	char		 key[64];
	const uint8_t	*vs;
	enum fctx	 sub;
	enum fact	 a;
	double		 num;
	int		 vk, n;

	if (depth > FJ_DEPTH)
		return -1;
	fj_ws(f);
	if (f->p >= f->end)
		return -1;
	switch (*f->p) {
	case '{':
		*kind = '{';
		if (c == FC_MOUNTS)
			f->bad = 1;
		f->p++;
		fj_ws(f);
		if (f->p < f->end && *f->p == '}') {
			f->p++;
			return 0;
		}
		for (;;) {
			fj_ws(f);
			if (f->p >= f->end || *f->p != '"' ||
			    fj_string(f, key, sizeof(key)) == -1)
				return -1;
			fj_ws(f);
			if (f->p >= f->end || *f->p++ != ':')
				return -1;
			fj_ws(f);
			a = fj_action(f, c, key, &sub);
			vs = f->p;
			if (fj_value(f, sub, depth + 1, &vk) == -1)
				return -1;
			if (a == FA_STR && vk != 'n' && !(vk == '"' &&
			    f->p - vs == 12 && memcmp(vs, "\"<redacted>\"", 12) == 0))
				fj_replace(f, vs, f->p, "\"<redacted>\"");
			else if (a == FA_NUM && vk == '0') {
				f->p = vs;
				(void)fj_number(f, &num);
				if (num != 0)
					fj_replace(f, vs, f->p, "0");
			} else if (a == FA_ARR && vk == '[' && f->p - vs > 2) {
				/* A non-empty array (whitespace aside). */
				const uint8_t *q = vs + 1;

				while (*q == ' ' || *q == '\t' || *q == '\n' ||
				    *q == '\r')
					q++;
				if (*q != ']')
					fj_replace(f, vs, f->p, "[]");
			} else if (a == FA_DESCEND && sub == FC_EP &&
			    vk != '{')
				f->bad = 1;
			fj_ws(f);
			if (f->p >= f->end)
				return -1;
			if (*f->p == ',') {
				f->p++;
				continue;
			}
			if (*f->p++ != '}')
				return -1;
			return 0;
		}
	case '[':
		*kind = '[';
		if (c == FC_ITEM || c == FC_HOSTCONFIG || c == FC_NETSET ||
		    c == FC_NETWORKS || c == FC_MOUNT)
			f->bad = 1;
		f->p++;
		fj_ws(f);
		if (f->p < f->end && *f->p == ']') {
			f->p++;
			return 0;
		}
		for (;;) {
			/* Items of the list; mounts of Mounts. */
			sub = c == FC_MOUNTS ? FC_MOUNT : FC_NONE;
			if (fj_value(f, sub, depth + 1, &vk) == -1)
				return -1;
			if (c == FC_MOUNTS && vk != '{')
				f->bad = 1;
			fj_ws(f);
			if (f->p >= f->end)
				return -1;
			if (*f->p == ',') {
				f->p++;
				continue;
			}
			if (*f->p++ != ']')
				return -1;
			return 0;
		}
	case '"':
		*kind = '"';
		n = fj_string(f, NULL, 0);
		break;
	case 't':
	case 'f':
	case 'n':
		*kind = *f->p == 'n' ? 'n' : 'b';
		n = -1;
		if (f->end - f->p >= 4 && (memcmp(f->p, "true", 4) == 0 ||
		    memcmp(f->p, "null", 4) == 0)) {
			f->p += 4;
			n = 0;
		} else if (f->end - f->p >= 5 && memcmp(f->p, "false", 5) == 0) {
			f->p += 5;
			n = 0;
		}
		break;
	default:
		*kind = '0';
		n = fj_number(f, &num);
		break;
	}
	if (n == 0 && *kind != 'n' && c != FC_NONE && c != FC_EP)
		f->bad = 1;	/* a scalar where an object or array must be */
	if (n == 0 && *kind == 'n' && c == FC_EP)
		f->bad = 1;
	return n;
}

/* 1 done (*out set when changed), 0 not for this path, -1 reject. */
static int
fast_container_list(const struct pol_resp *o, const uint8_t *body,
    size_t len, char **out, size_t *outlen, char *why, size_t whysz)
{
	struct fj	f;
	int		vk;

	memset(&f, 0, sizeof(f));
	f.p = f.mark = body;
	f.end = body + len;
	f.o = o;
	fj_ws(&f);
	if (f.p >= f.end || *f.p != '[') {
		snprintf(why, whysz, "list has an unexpected type");
		return -1;
	}
	/* The root array's items are FC_ITEM: walk it here. */
	f.p++;
	fj_ws(&f);
	if (f.p < f.end && *f.p == ']')
		f.p++;
	else
		for (;;) {
			if (fj_value(&f, FC_ITEM, 1, &vk) == -1)
				goto malformed;
			if (vk != '{')
				f.bad = 1;
			fj_ws(&f);
			if (f.p >= f.end)
				goto malformed;
			if (*f.p == ',') {
				f.p++;
				continue;
			}
			if (*f.p++ != ']')
				goto malformed;
			break;
		}
	fj_ws(&f);
	if (f.p != f.end)
		goto malformed;
	if (f.bad) {
		free(f.out);
		snprintf(why, whysz, "list has an unexpected type");
		return -1;
	}
	if (!f.changed)
		return 1;
	fj_put(&f, f.mark, (size_t)(f.end - f.mark));
	/* Docker's answer ends with a newline already; keep it as sent. */
	f.out[f.len] = '\0';
	*out = f.out;
	*outlen = f.len;
	return 1;
malformed:
	free(f.out);
	snprintf(why, whysz, "not JSON");
	return -1;
}

enum pol_raction
pol_resp_filter(const struct policy *p, const struct pol_profile *pf,
    enum pol_rroute r, const uint8_t *body, size_t len, char **out,
    size_t *outlen, char *why, size_t whysz)
{
	struct rctx	 c;
	struct vis	 vs;
	json_error_t	 jerr;
	json_t		*root, *vols;
	enum pol_raction ret = PRA_PASS;
	char		*s;

	*out = NULL;
	*outlen = 0;
	why[0] = '\0';
	memset(&c, 0, sizeof(c));
	c.o = &p->resp;
	c.why = why;
	c.whysz = whysz;
	memset(&vs, 0, sizeof(vs));
	vs.v[0] = &p->vis;
	vs.v[1] = pf != NULL ? &pf->vis : NULL;
	vs.labels = vis_labels(p, pf);
	vs.patterns = vis_patterns(p, pf);
	if (r == PRR_NONE || r >= PRR_MAX)
		return PRA_PASS;
	if (len > POL_RESP_MAX) {
		snprintf(why, whysz, "answer larger than %d bytes",
		    POL_RESP_MAX);
		return PRA_REJECT;
	}
	if (r == PRR_CONTAINER_LIST && !vs.labels && !vs.patterns &&
	    !pol_resp_tree_only) {
		if (fast_container_list(&p->resp, body, len, out, outlen, why,
		    whysz) == -1)
			return PRA_REJECT;
		return *out != NULL ? PRA_REWRITE : PRA_PASS;
	}
	root = json_loadb((const char *)body, len, JSON_ALLOW_NUL, &jerr);
	if (root == NULL) {
		snprintf(why, whysz, "not JSON (line %d column %d)", jerr.line,
		    jerr.column);
		return PRA_REJECT;
	}
	if (is_list(r)) {
		if (do_list(&c, &vs, r, root, "list") == -1)
			goto reject;
	} else if (r == PRR_VOLUME_LIST) {
		if (!json_is_object(root)) {
			bad(&c, "volume list");
			goto reject;
		}
		vols = json_object_get(root, "Volumes");
		if (vols != NULL && !json_is_null(vols) &&
		    do_list(&c, &vs, r, vols, "Volumes") == -1)
			goto reject;
	} else {
		if (!json_is_object(root)) {
			bad(&c, "answer");
			goto reject;
		}
		if (!visible(&vs, r, root)) {
			snprintf(why, whysz, "visibility policy hid resource");
			json_decref(root);
			return PRA_HIDE;
		}
		if (redact_one(&c, r, root) == -1)
			goto reject;
	}
	if (c.changed) {
		/* Compact, ending with a newline as Docker's own answers. */
		if ((s = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    NULL) {
			snprintf(why, whysz, "cannot serialise the answer");
			goto reject;
		}
		*outlen = strlen(s);
		*out = xreallocarray(s, *outlen + 2, 1);
		(*out)[(*outlen)++] = '\n';
		(*out)[*outlen] = '\0';
		ret = PRA_REWRITE;
	}
	json_decref(root);
	return ret;
reject:
	json_decref(root);
	return PRA_REJECT;
}
