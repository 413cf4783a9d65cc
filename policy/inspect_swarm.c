/*
 * inspect_swarm.c: body inspection for swarm services, the swarm itself,
 * secrets, configs and plugin privileges (policy reference §5.1, §5.10),
 * run in the policy process only, from pol_inspect (inspect.c) once the
 * body is decoded with Go's binding rules.
 *
 * Each inspector reads only the fields its knobs govern, with the types
 * Docker decodes them into: a field of another type is a malformed body
 * (403), as an undecodable body is.  The knobs live under
 * request_body.service, .swarm, .secret, .config and .plugin, with
 * sockguard's names and defaults (everything off except allow_official).
 *
 * Stricter than sockguard, on purpose: a bind mount of a service whose
 * source is not an absolute path is refused (Docker refuses it too, but
 * later); swarm init with EncryptionConfig.AutoLockManagers needs
 * allow_auto_lock_managers as swarm update does; a rotate* query value
 * is a rotation unless Go's strconv.ParseBool reads it as false (Docker
 * parses it that way); the plugin privileges "allow-all-devices",
 * "host pid namespace" and "host ipc namespace" need allow_all_devices,
 * allow_host_pid and allow_host_ipc.
 *
 * Not seen from here: a service network named by its ID rather than
 * "host" (resolving it needs Docker), and image trust.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "gojson.h"
#include "inspect.h"
#include "inspect_int.h"
#include "util.h"

#define SW_VAL_MAX	4096

#define R_MALFORMED	"malformed JSON request body"

struct swi {
	const struct pol_body	*b;
	struct pol_verdict	*v;
	const char		*what;	/* "service", "swarm join", ... */
};

/* ---- verdicts ---- */

static int
sw_deny(struct swi *s, const char *reason)
{
	s->v->status = 403;
	snprintf(s->v->reason, sizeof(s->v->reason), "%s: %s", s->what,
	    reason);
	return -1;
}

/* A reason naming a value from the body, made printable and cut. */
static int
sw_denyv(struct swi *s, const char *pre, const char *val, const char *post)
{
	char	safe[96];
	size_t	i;

	for (i = 0; val[i] != '\0' && i < sizeof(safe) - 4; i++)
		safe[i] = isprint((unsigned char)val[i]) ? val[i] : '?';
	safe[i] = '\0';
	if (val[i] != '\0')
		pw_strlcat(safe, "...", sizeof(safe));
	s->v->status = 403;
	snprintf(s->v->reason, sizeof(s->v->reason), "%s: %s%s%s", s->what,
	    pre, safe, post);
	return -1;
}

static int
sw_malformed(struct swi *s)
{
	s->v->status = 403;
	pw_strlcpy(s->v->reason, R_MALFORMED, sizeof(s->v->reason));
	return -1;
}

/* ---- typed readers: a type Go would refuse is a malformed body ---- */

static int
rbool(struct swi *s, json_t *o, const char *k, int *out)
{
	*out = 0;
	return o != NULL && gj_bool(o, k, out) == GJ_TYPE ? sw_malformed(s) : 0;
}

static int
rstr(struct swi *s, json_t *o, const char *k, const char **out)
{
	*out = "";
	if (o != NULL && gj_str(o, k, out) == GJ_TYPE)
		return sw_malformed(s);
	if (*out == NULL)
		*out = "";
	return 0;
}

static int
robj(struct swi *s, json_t *o, const char *k, json_t **out)
{
	*out = NULL;
	return o != NULL && gj_obj(o, k, out) == GJ_TYPE ? sw_malformed(s) : 0;
}

static int
rarr(struct swi *s, json_t *o, const char *k, json_t **out)
{
	*out = NULL;
	return o != NULL && gj_arr(o, k, out) == GJ_TYPE ? sw_malformed(s) : 0;
}

static int
rstrarr(struct swi *s, json_t *o, const char *k, json_t **out)
{
	*out = NULL;
	return o != NULL && gj_strarr(o, k, out) == GJ_TYPE ?
	    sw_malformed(s) : 0;
}

static const char *
elem(json_t *a, size_t i)
{
	const char	*v = json_string_value(json_array_get(a, i));

	return v == NULL ? "" : v;
}

/* An element of an array of structs: an object or null, else malformed. */
static int
elem_obj(struct swi *s, json_t *a, size_t i, json_t **out)
{
	json_t	*e = json_array_get(a, i);

	*out = NULL;
	if (json_is_null(e))
		return 0;
	if (!json_is_object(e))
		return sw_malformed(s);
	*out = e;
	return 0;
}

/* ---- small helpers ---- */

static void
trim(const char *in, char *out, size_t outsz)
{
	size_t	n;

	while (isspace((unsigned char)*in))
		in++;
	pw_strlcpy(out, in, outsz);
	n = strlen(out);
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		out[--n] = '\0';
}

static int
blank(const char *v)
{
	for (; *v != '\0'; v++)
		if (!isspace((unsigned char)*v))
			return 0;
	return 1;
}

static int
word_is(const char *v, const char *w)
{
	char	t[64];

	trim(v, t, sizeof(t));
	return strcasecmp(t, w) == 0;
}

static int
in_list(const struct pol_strlist *l, const char *v)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], v) == 0)
			return 1;
	return 0;
}

/* A cleaned absolute path under a list of cleaned absolute paths. */
static int
under_list(const struct pol_strlist *l, const char *p)
{
	size_t	i, n;

	for (i = 0; i < l->n; i++) {
		n = strlen(l->v[i]);
		if (strcmp(l->v[i], "/") == 0)
			return 1;
		if (strncmp(p, l->v[i], n) == 0 && (p[n] == '\0' ||
		    p[n] == '/'))
			return 1;
	}
	return 0;
}

/*
 * A host path from a body against an allowlist: 0 allowed, -1 denied
 * (the verdict is set).  Relative paths are refused.
 */
static int
check_path(struct swi *s, const struct pol_strlist *l, const char *raw,
    const char *what, const char *listname)
{
	char	t[SW_VAL_MAX], clean[SW_VAL_MAX + 2], post[96];

	/* Cut, a path could clean to somewhere it does not lead. */
	if (strlen(raw) >= sizeof(t))
		return sw_denyv(s, what, raw, " is too long");
	trim(raw, t, sizeof(t));
	if (t[0] != '/')
		return sw_denyv(s, what, t, " is not an absolute path");
	if (pol_path_clean(t, clean, sizeof(clean)) == -1)
		return sw_deny(s, "path too long");
	if (under_list(l, clean))
		return 0;
	snprintf(post, sizeof(post), " is not in %s", listname);
	return sw_denyv(s, what, clean, post);
}

static int
check_image(struct swi *s, const char *ref, int all, int official_ok,
    const struct pol_strlist *allowed)
{
	char	t[SW_VAL_MAX], reg[SW_VAL_MAX];
	int	official;

	if (strlen(ref) >= sizeof(t))
		return sw_deny(s, "image reference too long");
	trim(ref, t, sizeof(t));
	if (t[0] == '\0' || all)
		return 0;
	pol_image_registry(t, reg, sizeof(reg), &official);
	if ((official && official_ok) || in_list(allowed, reg))
		return 0;
	return sw_denyv(s, "registry ", reg, " is not in allowed_registries");
}

/* ---- services ---- */

static int
svc_networks(struct swi *s, json_t *o)
{
	json_t		*a, *n;
	const char	*t;
	size_t		 i;

	if (rarr(s, o, "Networks", &a) == -1)
		return -1;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		if (elem_obj(s, a, i, &n) == -1 ||
		    rstr(s, n, "Target", &t) == -1)
			return -1;
		if (!s->b->svc_allow_host_network && word_is(t, "host"))
			return sw_deny(s, "the host network is not allowed");
	}
	return 0;
}

static int
svc_mounts(struct swi *s, json_t *cs)
{
	json_t		*a, *m;
	const char	*type, *src;
	size_t		 i;

	if (rarr(s, cs, "Mounts", &a) == -1)
		return -1;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		if (elem_obj(s, a, i, &m) == -1 ||
		    rstr(s, m, "Type", &type) == -1 ||
		    rstr(s, m, "Source", &src) == -1)
			return -1;
		if (!word_is(type, "bind"))
			continue;
		if (check_path(s, &s->b->svc_allowed_bind_mounts, src,
		    "bind mount source ", "allowed_bind_mounts") == -1)
			return -1;
	}
	return 0;
}

static int
svc_privileges(struct swi *s, json_t *cs)
{
	const struct pol_body	*b = s->b;
	json_t			*pv, *sc, *aa, *se, *prof;
	const char		*mode, *u, *r, *t, *l;
	int			 nnp, dis;

	if (robj(s, cs, "Privileges", &pv) == -1 ||
	    rbool(s, pv, "NoNewPrivileges", &nnp) == -1)
		return -1;
	if (b->svc_require_no_new_privileges && !nnp)
		return sw_deny(s, "no-new-privileges is required "
		    "(ContainerSpec.Privileges.NoNewPrivileges)");
	if (robj(s, pv, "Seccomp", &sc) == -1 ||
	    rstr(s, sc, "Mode", &mode) == -1)
		return -1;
	if (sc != NULL) {
		if (b->svc_deny_unconfined_seccomp &&
		    word_is(mode, "unconfined"))
			return sw_deny(s, "an unconfined seccomp mode is not "
			    "allowed");
		prof = gj_get(sc, "Profile");
		if (b->svc_deny_custom_seccomp_profiles &&
		    (word_is(mode, "custom") || (blank(mode) &&
		    prof != NULL && !json_is_null(prof))))
			return sw_deny(s, "a custom seccomp profile is not "
			    "allowed");
	}
	if (robj(s, pv, "AppArmor", &aa) == -1 ||
	    rstr(s, aa, "Mode", &mode) == -1)
		return -1;
	if (b->svc_deny_unconfined_apparmor && word_is(mode, "disabled"))
		return sw_deny(s, "a disabled AppArmor mode is not allowed");
	if (robj(s, pv, "SELinuxContext", &se) == -1 ||
	    rbool(s, se, "Disable", &dis) == -1 ||
	    rstr(s, se, "User", &u) == -1 || rstr(s, se, "Role", &r) == -1 ||
	    rstr(s, se, "Type", &t) == -1 || rstr(s, se, "Level", &l) == -1)
		return -1;
	if (b->svc_deny_selinux_disable && dis)
		return sw_deny(s, "disabling SELinux is not allowed");
	if (b->svc_deny_selinux_label_override && (!blank(u) || !blank(r) ||
	    !blank(t) || !blank(l)))
		return sw_deny(s, "an SELinux context override is not "
		    "allowed");
	return 0;
}

static int
svc_spec(struct swi *s, json_t *cs)
{
	const struct pol_body	*b = s->b;
	json_t			*a, *sys;
	const char		*user, *img;
	char			 cap[128];
	size_t			 i;
	int			 ro, all;

	if (svc_mounts(s, cs) == -1 || svc_privileges(s, cs) == -1)
		return -1;
	if (rstr(s, cs, "User", &user) == -1)
		return -1;
	if (b->svc_require_non_root_user && pol_user_is_root(user))
		return sw_deny(s, "a non-root user is required "
		    "(ContainerSpec.User)");
	if (rbool(s, cs, "ReadOnly", &ro) == -1)
		return -1;
	if (b->svc_require_readonly_rootfs && !ro)
		return sw_deny(s, "a read-only root filesystem is required "
		    "(ContainerSpec.ReadOnly)");
	if (rstrarr(s, cs, "CapabilityDrop", &a) == -1)
		return -1;
	for (all = 0, i = 0; a != NULL && i < json_array_size(a); i++) {
		pol_cap_norm(elem(a, i), cap, sizeof(cap));
		all |= strcmp(cap, "ALL") == 0;
	}
	if (b->svc_require_drop_all_capabilities && !all)
		return sw_deny(s, "dropping all capabilities is required "
		    "(ContainerSpec.CapabilityDrop)");
	if (rstrarr(s, cs, "CapabilityAdd", &a) == -1)
		return -1;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		pol_cap_norm(elem(a, i), cap, sizeof(cap));
		if (!b->svc_allow_all_capabilities &&
		    !in_list(&b->svc_allowed_capabilities, cap))
			return sw_denyv(s, "capability ", cap,
			    " is not in allowed_capabilities");
	}
	if (robj(s, cs, "Sysctls", &sys) == -1)
		return -1;
	if (sys != NULL) {
		const char	*k;
		json_t		*val;

		json_object_foreach(sys, k, val)
			if (!json_is_string(val) && !json_is_null(val))
				return sw_malformed(s);
		if (json_object_size(sys) > 0 && !b->svc_allow_sysctls)
			return sw_deny(s, "setting sysctls is not allowed");
	}
	if (rstr(s, cs, "Image", &img) == -1)
		return -1;
	return check_image(s, img, b->svc_allow_all_registries,
	    b->svc_allow_official, &b->svc_allowed_registries);
}

/* POST /services/create and /services/{id}/update: a ServiceSpec. */
static void
inspect_service(struct swi *s, json_t *top)
{
	json_t	*tt, *cs;

	s->what = "service";
	if (svc_networks(s, top) == -1 || robj(s, top, "TaskTemplate",
	    &tt) == -1 || svc_networks(s, tt) == -1 ||
	    robj(s, tt, "ContainerSpec", &cs) == -1)
		return;
	if (cs != NULL)
		(void)svc_spec(s, cs);
}

/* ---- swarm ---- */

static int
ca_config(struct swi *s, json_t *ca)
{
	json_t		*ext;
	const char	*cert, *key;
	long long	 rot = 0;

	if (rarr(s, ca, "ExternalCAs", &ext) == -1 ||
	    rstr(s, ca, "SigningCACert", &cert) == -1 ||
	    rstr(s, ca, "SigningCAKey", &key) == -1)
		return -1;
	if (ca != NULL && gj_int(ca, "ForceRotate", &rot) == GJ_TYPE)
		return sw_malformed(s);
	if (!s->b->sw_allow_external_ca && ext != NULL &&
	    json_array_size(ext) > 0)
		return sw_deny(s, "external CAs are not allowed");
	if (!s->b->sw_allow_signing_ca_update && (!blank(cert) ||
	    !blank(key) || rot != 0))
		return sw_deny(s, "changing the signing CA is not allowed");
	return 0;
}

static int
autolock(struct swi *s, json_t *spec)
{
	json_t	*enc;
	int	 on;

	if (robj(s, spec, "EncryptionConfig", &enc) == -1 ||
	    rbool(s, enc, "AutoLockManagers", &on) == -1)
		return -1;
	if (on && !s->b->sw_allow_auto_lock_managers)
		return sw_deny(s, "locking managers automatically is not "
		    "allowed");
	return 0;
}

/* A query flag Docker reads with strconv.ParseBool: 1 set, 0 not, -1 bad. */
static int
query_flag(const char *query, const char *key)
{
	static const char *const no[] = {
		"", "0", "f", "F", "false", "FALSE", "False"
	};
	char	val[64];
	size_t	i;
	int	r;

	if (query == NULL)
		return 0;
	if ((r = pol_query_get(query, key, val, sizeof(val))) <= 0)
		return r;
	for (i = 0; i < nitems(no); i++)
		if (strcmp(val, no[i]) == 0)
			return 0;
	return 1;
}

static int
swarm_update(struct swi *s, json_t *spec, const char *query)
{
	json_t	*ca;
	int	 w, m, u;

	w = query_flag(query, "rotateWorkerToken");
	m = query_flag(query, "rotateManagerToken");
	u = query_flag(query, "rotateManagerUnlockKey");
	if (w == -1 || m == -1 || u == -1)
		return sw_deny(s, "malformed query");
	if ((w || m) && !s->b->sw_allow_token_rotation)
		return sw_deny(s, "rotating join tokens is not allowed");
	if (u && !s->b->sw_allow_manager_unlock_key_rotation)
		return sw_deny(s, "rotating the unlock key is not allowed");
	if (spec == NULL)
		return 0;
	if (robj(s, spec, "CAConfig", &ca) == -1 || ca_config(s, ca) == -1)
		return -1;
	return autolock(s, spec);
}

static int
swarm_join(struct swi *s, json_t *top)
{
	json_t	*a;
	char	 t[SW_VAL_MAX];
	size_t	 i, j;

	if (rstrarr(s, top, "RemoteAddrs", &a) == -1)
		return -1;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		trim(elem(a, i), t, sizeof(t));
		if (t[0] == '\0')
			continue;
		for (j = 0; j < s->b->sw_allowed_join_remote_addrs.n; j++)
			if (strcasecmp(s->b->sw_allowed_join_remote_addrs.v[j],
			    t) == 0)
				break;
		if (j == s->b->sw_allowed_join_remote_addrs.n)
			return sw_denyv(s, "remote address ", t,
			    " is not in allowed_join_remote_addrs");
	}
	return 0;
}

static void
inspect_swarm(struct swi *s, const char *npath, const char *query,
    json_t *top)
{
	json_t		*spec, *ca;
	const char	*key;
	int		 fnc;

	if (top != NULL && !json_is_object(top)) {
		sw_malformed(s);
		return;
	}
	if (strcmp(npath, "/swarm/init") == 0) {
		s->what = "swarm init";
		if (rbool(s, top, "ForceNewCluster", &fnc) == -1)
			return;
		if (fnc && !s->b->sw_allow_force_new_cluster) {
			sw_deny(s, "forcing a new cluster is not allowed");
			return;
		}
		if (robj(s, top, "Spec", &spec) == -1 ||
		    robj(s, spec, "CAConfig", &ca) == -1 ||
		    ca_config(s, ca) == -1)
			return;
		(void)autolock(s, spec);
	} else if (strcmp(npath, "/swarm/join") == 0) {
		s->what = "swarm join";
		(void)swarm_join(s, top);
	} else if (strcmp(npath, "/swarm/update") == 0) {
		s->what = "swarm update";
		(void)swarm_update(s, top, query);
	} else if (strcmp(npath, "/swarm/unlock") == 0) {
		s->what = "swarm unlock";
		if (rstr(s, top, "UnlockKey", &key) == -1)
			return;
		if (!s->b->sw_allow_unlock)
			sw_deny(s, "unlocking the swarm is not allowed");
	} else
		sw_deny(s, "unknown swarm endpoint");
}

/* ---- secrets and configs ---- */

static void
inspect_driver_create(struct swi *s, json_t *top, int custom, int tmpl)
{
	json_t		*d, *t;
	const char	*dn, *tn;
	char		 v[SW_VAL_MAX];

	if (robj(s, top, "Driver", &d) == -1 || rstr(s, d, "Name", &dn) == -1 ||
	    robj(s, top, "Templating", &t) == -1 ||
	    rstr(s, t, "Name", &tn) == -1)
		return;
	trim(dn, v, sizeof(v));
	if (v[0] != '\0' && !custom) {
		sw_denyv(s, "driver ", v, " is not allowed "
		    "(allow_custom_drivers is off)");
		return;
	}
	trim(tn, v, sizeof(v));
	if (v[0] != '\0' && !tmpl)
		sw_denyv(s, "template driver ", v, " is not allowed "
		    "(allow_template_drivers is off)");
}

/* ---- plugin privileges ---- */

static int
plg_values(struct swi *s, const char *name, json_t *vals)
{
	const struct pol_body	*b = s->b;
	char			 cap[128];
	const char		*v;
	size_t			 i;

	if (strcasecmp(name, "network") == 0) {
		for (i = 0; !b->plg_allow_host_network && vals != NULL &&
		    i < json_array_size(vals); i++)
			if (word_is(elem(vals, i), "host"))
				return sw_deny(s, "the host network is not "
				    "allowed");
	} else if (strcasecmp(name, "mount") == 0) {
		for (i = 0; vals != NULL && i < json_array_size(vals); i++) {
			v = elem(vals, i);
			if (blank(v))
				continue;
			if (check_path(s, &b->plg_allowed_bind_mounts, v,
			    "bind mount source ", "allowed_bind_mounts") == -1)
				return -1;
		}
	} else if (strcasecmp(name, "device") == 0) {
		for (i = 0; !b->plg_allow_all_devices && vals != NULL &&
		    i < json_array_size(vals); i++) {
			v = elem(vals, i);
			if (blank(v))
				continue;
			if (check_path(s, &b->plg_allowed_devices, v,
			    "device ", "allowed_devices") == -1)
				return -1;
		}
	} else if (strcasecmp(name, "capabilities") == 0) {
		for (i = 0; !b->plg_allow_all_capabilities && vals != NULL &&
		    i < json_array_size(vals); i++) {
			pol_cap_norm(elem(vals, i), cap, sizeof(cap));
			if (cap[0] != '\0' &&
			    !in_list(&b->plg_allowed_capabilities, cap))
				return sw_denyv(s, "capability ", cap,
				    " is not in allowed_capabilities");
		}
	} else if (strcasecmp(name, "allow-all-devices") == 0) {
		if (!b->plg_allow_all_devices)
			return sw_deny(s, "access to all devices is not "
			    "allowed");
	} else if (strcasecmp(name, "host pid namespace") == 0) {
		if (!b->plg_allow_host_pid)
			return sw_deny(s, "the host PID namespace is not "
			    "allowed");
	} else if (strcasecmp(name, "host ipc namespace") == 0) {
		if (!b->plg_allow_host_ipc)
			return sw_deny(s, "the host IPC namespace is not "
			    "allowed");
	}
	return 0;
}

static void
inspect_plugin_privs(struct swi *s, json_t *top)
{
	json_t		*p, *vals;
	const char	*name, *desc;
	char		 t[128];
	size_t		 i;

	if (top == NULL)
		return;
	if (!json_is_array(top)) {
		sw_malformed(s);
		return;
	}
	for (i = 0; i < json_array_size(top); i++) {
		if (elem_obj(s, top, i, &p) == -1 ||
		    rstr(s, p, "Name", &name) == -1 ||
		    rstr(s, p, "Description", &desc) == -1 ||
		    rstrarr(s, p, "Value", &vals) == -1)
			return;
		trim(name, t, sizeof(t));
		if (plg_values(s, t, vals) == -1)
			return;
	}
}

/*
 * A plugin's config.json (POST /plugins/create), read the way Docker
 * decodes it into its PluginConfig: host namespaces, propagated and
 * bind mounts, capabilities and devices under request_body.plugin.
 */
static int
plg_config(struct swi *s, json_t *top)
{
	const struct pol_body	*b = s->b;
	json_t			*net, *a, *m, *lx;
	const char		*t;
	char			 cap[128];
	size_t			 i;
	int			 on;

	if (robj(s, top, "Network", &net) == -1 ||
	    rstr(s, net, "Type", &t) == -1)
		return -1;
	if (!b->plg_allow_host_network && word_is(t, "host"))
		return sw_deny(s, "the host network is not allowed");
	if (rbool(s, top, "IpcHost", &on) == -1)
		return -1;
	if (on && !b->plg_allow_host_ipc)
		return sw_deny(s, "the host IPC namespace is not allowed");
	if (rbool(s, top, "PidHost", &on) == -1)
		return -1;
	if (on && !b->plg_allow_host_pid)
		return sw_deny(s, "the host PID namespace is not allowed");
	if (rstr(s, top, "PropagatedMount", &t) == -1)
		return -1;
	if (!blank(t) && check_path(s, &b->plg_allowed_bind_mounts, t,
	    "propagated mount ", "allowed_bind_mounts") == -1)
		return -1;
	if (rarr(s, top, "Mounts", &a) == -1)
		return -1;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		if (elem_obj(s, a, i, &m) == -1 ||
		    rstr(s, m, "Source", &t) == -1)
			return -1;
		if (!blank(t) && check_path(s, &b->plg_allowed_bind_mounts, t,
		    "bind mount source ", "allowed_bind_mounts") == -1)
			return -1;
	}
	if (robj(s, top, "Linux", &lx) == -1 ||
	    rstrarr(s, lx, "Capabilities", &a) == -1)
		return -1;
	for (i = 0; !b->plg_allow_all_capabilities && a != NULL &&
	    i < json_array_size(a); i++) {
		pol_cap_norm(elem(a, i), cap, sizeof(cap));
		if (cap[0] != '\0' && !in_list(&b->plg_allowed_capabilities, cap))
			return sw_denyv(s, "capability ", cap,
			    " is not in allowed_capabilities");
	}
	if (rbool(s, lx, "AllowAllDevices", &on) == -1)
		return -1;
	if (on && !b->plg_allow_all_devices)
		return sw_deny(s, "access to all devices is not allowed");
	if (rarr(s, lx, "Devices", &a) == -1)
		return -1;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		if (elem_obj(s, a, i, &m) == -1 ||
		    rstr(s, m, "Path", &t) == -1)
			return -1;
		if (!b->plg_allow_all_devices && !blank(t) &&
		    check_path(s, &b->plg_allowed_devices, t, "device ",
		    "allowed_devices") == -1)
			return -1;
	}
	return 0;
}

void
pol_plugin_config_check(const struct pol_body *b, const uint8_t *cfg,
    size_t len, struct pol_verdict *v)
{
	struct swi	 s = { b, v, "plugin create" };
	json_t		*top = NULL;

	if (gj_decode(cfg, len, &top) != GJ_DEC_OK || !json_is_object(top)) {
		json_decref(top);
		sw_deny(&s, "config.json cannot be decoded");
		return;
	}
	(void)plg_config(&s, top);
	if (v->status != 0 && strcmp(v->reason, R_MALFORMED) == 0)
		snprintf(v->reason, sizeof(v->reason), "plugin create: "
		    "config.json cannot be decoded");
	json_decref(top);
}

/*
 * POST /plugins/{name}/set: an array of "key=value".  A key ending in
 * ".source" or ".path", or a lower-case key whose value is an absolute
 * path, sets a mount source or a device (judged against the allowlists);
 * anything else is an environment setting and needs one of
 * allowed_set_env_prefixes as a prefix of the whole "key=value".
 */
static void
plg_set(struct swi *s, json_t *top)
{
	const struct pol_body	*b = s->b;
	const char		*e, *eq;
	char			 key[256], val[SW_VAL_MAX], lk[256];
	size_t			 i, j, n;
	int			 mount = 0, dev = 0, upper = 1;

	s->what = "plugin set";
	if (top == NULL)
		return;
	if (!json_is_array(top)) {
		sw_malformed(s);
		return;
	}
	for (i = 0; i < json_array_size(top); i++) {
		json_t	*el = json_array_get(top, i);

		if (!json_is_string(el) && !json_is_null(el)) {
			sw_malformed(s);
			return;
		}
		e = json_is_null(el) ? "" : json_string_value(el);
		if ((eq = strchr(e, '=')) == NULL) {
			sw_denyv(s, "setting ", e, " is not a key=value "
			    "assignment");
			return;
		}
		n = (size_t)(eq - e);
		if (n >= sizeof(key) || strlen(eq + 1) >= sizeof(val)) {
			sw_deny(s, "a setting is too long");
			return;
		}
		memcpy(key, e, n);
		key[n] = '\0';
		trim(key, lk, sizeof(lk));
		trim(eq + 1, val, sizeof(val));
		mount = dev = 0;
		upper = 1;
		for (j = 0; lk[j] != '\0'; j++) {
			if (islower((unsigned char)lk[j]))
				upper = 0;
			lk[j] = (char)tolower((unsigned char)lk[j]);
		}
		n = strlen(lk);
		if (lk[0] != '\0' && val[0] != '\0') {
			if (n > 7 && strcmp(lk + n - 7, ".source") == 0)
				mount = 1;
			else if (n > 5 && strcmp(lk + n - 5, ".path") == 0)
				dev = 1;
			else if (!upper && strncmp(val, "/dev/", 5) == 0)
				dev = 1;
			else if (!upper && val[0] == '/')
				mount = 1;
		}
		if (mount && check_path(s, &b->plg_allowed_bind_mounts, val,
		    "bind mount source ", "allowed_bind_mounts") == -1)
			return;
		if (dev && !b->plg_allow_all_devices &&
		    check_path(s, &b->plg_allowed_devices, val, "device ",
		    "allowed_devices") == -1)
			return;
		if (mount || dev)
			continue;
		for (j = 0; j < b->plg_allowed_set_env_prefixes.n; j++)
			if (strncmp(e, b->plg_allowed_set_env_prefixes.v[j],
			    strlen(b->plg_allowed_set_env_prefixes.v[j])) == 0)
				break;
		if (j == b->plg_allowed_set_env_prefixes.n) {
			sw_denyv(s, "setting ", key, " is not allowed by "
			    "allowed_set_env_prefixes");
			return;
		}
	}
}

/* ---- entry points ---- */

void
pol_inspect_plugin_query(const struct pol_body *b, const char *npath,
    const char *query, struct pol_verdict *v)
{
	struct swi	s = { b, v, NULL };
	char		remote[SW_VAL_MAX];
	int		r;

	s.what = strcmp(npath, "/plugins/pull") == 0 ? "plugin pull" :
	    "plugin upgrade";
	if (query == NULL)
		return;
	if ((r = pol_query_get(query, "remote", remote, sizeof(remote))) == -1) {
		sw_deny(&s, "malformed query");
		return;
	}
	if (r == 1)
		(void)check_image(&s, remote, b->plg_allow_all_registries,
		    b->plg_allow_official, &b->plg_allowed_registries);
}

void
pol_inspect_swarm(const struct pol_body *b, enum pol_insp insp,
    const char *npath, const char *query, json_t *top, struct pol_verdict *v)
{
	struct swi	s = { b, v, "request" };

	if (json_is_null(top))
		top = NULL;		/* Go leaves the value empty. */
	switch (insp) {
	case PI_SERVICE:
		if (top != NULL && !json_is_object(top)) {
			sw_malformed(&s);
			return;
		}
		inspect_service(&s, top);
		break;
	case PI_SWARM:
		inspect_swarm(&s, npath, query, top);
		break;
	case PI_SECRET_CREATE:
	case PI_CONFIG_CREATE:
		if (top != NULL && !json_is_object(top)) {
			sw_malformed(&s);
			return;
		}
		s.what = insp == PI_SECRET_CREATE ? "secret create" :
		    "config create";
		inspect_driver_create(&s, top,
		    insp == PI_SECRET_CREATE ? b->sec_allow_custom_drivers :
		    b->cfg_allow_custom_drivers,
		    insp == PI_SECRET_CREATE ? b->sec_allow_template_drivers :
		    b->cfg_allow_template_drivers);
		break;
	case PI_PLUGIN_PRIVS:
		s.what = strcmp(npath, "/plugins/pull") == 0 ? "plugin pull" :
		    "plugin upgrade";
		inspect_plugin_privs(&s, top);
		break;
	case PI_PLUGIN_SET:
		plg_set(&s, top);
		break;
	default:
		break;
	}
}
