/*
 * inspect.c: request-body inspection (policy reference §5), run in the
 * policy process only.  pol_inspector_for picks the inspector for a
 * method and normalised path; pol_inspect reads the exact bytes Docker
 * would receive and answers allowed, or a status and a static reason.
 *
 * Bodies are read with Go's binding rules (gojson.c): keys match field
 * names case-insensitively with Go's folding, a key that two spellings
 * would bind is refused, and a value of a type Go would not decode into
 * the field is a malformed body.  Deny reasons never carry environment
 * values or registry credentials; bind sources, device paths, capability
 * and variable names may appear, made printable and truncated.
 *
 * Stricter than sockguard 1.7.4, on purpose: two keys that fold equal
 * are refused (400) wherever a struct is decoded; host config fields at
 * the top of a create body are checked like HostConfig's (Docker up to
 * 24 reads them); local volumes mounted at create go through
 * allowed_bind_mounts when they bind a host path or mount a /dev node;
 * argv globs do not let '*' cross '/'; an images/create request with a
 * form body is refused (pol_query_body_refused).
 *
 * What the process cannot do: at POST /exec/{id}/start sockguard fetches
 * the stored exec (GET /exec/{id}/json) and checks it again.  The policy
 * process holds no Docker connection, so only the start body (Detach,
 * Tty) is checked here; the command was checked at exec create.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <stddef.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gojson.h"
#include "inspect.h"
#include "inspect_int.h"
#include "policy.h"
#include "util.h"

#define KIB		1024
#define MIB		(1024 * 1024)
#define REGAUTH_MAX	(8 * KIB)
#define QUERY_VAL_MAX	4096

#define R_MALFORMED	"malformed JSON request body"
#define R_DUP		"duplicate JSON keys that differ only in case"
#define R_TOO_LARGE	"request body too large"

struct insp {
	const struct pol_body	*b;
	struct pol_verdict	*v;
};

/* ---- dispatch ---- */

struct insp_route {
	const char	*method;
	const char	*pattern;	/* '*' is one non-empty segment */
	enum pol_insp	 insp;
};

static const struct insp_route insp_routes[] = {
	{ "POST", "/containers/create", PI_CONTAINER_CREATE },
	{ "POST", "/containers/*/update", PI_CONTAINER_UPDATE },
	{ "POST", "/containers/*/exec", PI_EXEC_CREATE },
	{ "POST", "/exec/*/start", PI_EXEC_START },
	{ "POST", "/libpod/containers/*/exec", PI_EXEC_CREATE },
	{ "POST", "/libpod/exec/*/start", PI_EXEC_START },
	{ "POST", "/images/create", PI_IMAGES_CREATE },
	{ "POST", "/networks/*/connect", PI_NETWORK_CONNECT },
	{ "POST", "/volumes/create", PI_VOLUME_CREATE },
	{ "POST", "/networks/create", PI_NETWORK_CREATE },
	{ "POST", "/networks/*/disconnect", PI_NETWORK_DISCONNECT },
	/* §5.1's inspected writes that portwing does not inspect. */
	{ "PUT", "/containers/*/archive", PI_BLIND },
	{ "POST", "/images/load", PI_BLIND },
	{ "POST", "/build", PI_BUILD },
	{ "POST", "/secrets/create", PI_SECRET_CREATE },
	{ "POST", "/configs/create", PI_CONFIG_CREATE },
	{ "POST", "/services/create", PI_SERVICE },
	{ "POST", "/services/*/update", PI_SERVICE },
	{ "POST", "/swarm/init", PI_SWARM },
	{ "POST", "/swarm/join", PI_SWARM },
	{ "POST", "/swarm/update", PI_SWARM },
	{ "POST", "/swarm/unlock", PI_SWARM },
	{ "POST", "/nodes/*/update", PI_BLIND },
	{ "POST", "/plugins/pull", PI_PLUGIN_PRIVS },
	{ "POST", "/plugins/*/upgrade", PI_PLUGIN_PRIVS },
	{ "POST", "/plugins/*/set", PI_PLUGIN_SET },
	{ "POST", "/plugins/create", PI_PLUGIN_CREATE },
	{ "POST", "/libpod/containers/create", PI_BLIND },
	{ "POST", "/libpod/containers/*/update", PI_BLIND },
	{ "POST", "/libpod/pods/create", PI_BLIND },
	{ "POST", "/libpod/volumes/create", PI_BLIND },
	{ "POST", "/libpod/networks/create", PI_BLIND },
	{ "POST", "/libpod/secrets/create", PI_BLIND },
	{ "POST", "/libpod/play/kube", PI_BLIND },
	{ "POST", "/libpod/kube/play", PI_BLIND },
	{ "POST", "/libpod/kube/apply", PI_BLIND },
	{ "POST", "/libpod/manifests/create", PI_BLIND },
	{ "POST", "/libpod/manifests/*", PI_BLIND },
	{ "PUT", "/libpod/manifests/*", PI_BLIND },
};

/* path against a pattern whose '*' stands for one non-empty segment. */
static int
insp_path_match(const char *pat, const char *path)
{
	while (*pat != '\0') {
		if (*pat == '*') {
			if (*path == '\0' || *path == '/')
				return 0;
			while (*path != '\0' && *path != '/')
				path++;
			pat++;
			continue;
		}
		if (*pat++ != *path++)
			return 0;
	}
	return *path == '\0';
}

enum pol_insp
pol_inspector_for(const char *method, const char *npath)
{
	size_t	i;

	if (method == NULL || npath == NULL)
		return PI_NONE;
	for (i = 0; i < nitems(insp_routes); i++) {
		if (strcmp(method, insp_routes[i].method) == 0 &&
		    insp_path_match(insp_routes[i].pattern, npath))
			return insp_routes[i].insp;
	}
	return PI_NONE;
}

/*
 * The most the caller buffers for inspection; 0 means the body is not
 * read (images/create is judged by its query and header, and its body
 * may be an image tarball).
 */
size_t
pol_inspector_cap(enum pol_insp insp)
{
	switch (insp) {
	case PI_CONTAINER_CREATE:
	case PI_CONTAINER_UPDATE:
	case PI_NETWORK_CONNECT:
	case PI_VOLUME_CREATE:
	case PI_NETWORK_CREATE:
	case PI_NETWORK_DISCONNECT:
	case PI_SERVICE:
	case PI_SECRET_CREATE:
	case PI_CONFIG_CREATE:
	case PI_PLUGIN_PRIVS:
	case PI_PLUGIN_SET:
		return MIB;
	case PI_SWARM:
		return 256 * KIB;
	case PI_BUILD:
	case PI_PLUGIN_CREATE:
		return 512 * MIB;
	case PI_EXEC_STORED:
		return 8 * MIB;
	case PI_EXEC_CREATE:
	case PI_EXEC_START:
		return 64 * KIB;
	case PI_NONE:
	case PI_IMAGES_CREATE:
	case PI_BLIND:
		break;
	}
	return 0;
}

const char *
pol_inspector_name(enum pol_insp insp)
{
	switch (insp) {
	case PI_NONE:
		return "none";
	case PI_CONTAINER_CREATE:
		return "container_create";
	case PI_CONTAINER_UPDATE:
		return "container_update";
	case PI_EXEC_CREATE:
		return "exec_create";
	case PI_EXEC_START:
		return "exec_start";
	case PI_IMAGES_CREATE:
		return "image_pull";
	case PI_NETWORK_CONNECT:
		return "network_connect";
	case PI_VOLUME_CREATE:
		return "volume_create";
	case PI_NETWORK_CREATE:
		return "network_create";
	case PI_NETWORK_DISCONNECT:
		return "network_disconnect";
	case PI_EXEC_STORED:
		return "exec_stored";
	case PI_SERVICE:
		return "service";
	case PI_SWARM:
		return "swarm";
	case PI_SECRET_CREATE:
		return "secret_create";
	case PI_CONFIG_CREATE:
		return "config_create";
	case PI_PLUGIN_PRIVS:
		return "plugin_privileges";
	case PI_PLUGIN_SET:
		return "plugin_set";
	case PI_BUILD:
		return "build";
	case PI_PLUGIN_CREATE:
		return "plugin_create";
	case PI_BLIND:
		return "body_blind";
	}
	return "unknown";
}

/* ---- verdicts and readers ---- */

static int
deny(struct insp *in, int status, const char *reason)
{
	in->v->status = status;
	pw_strlcpy(in->v->reason, reason, sizeof(in->v->reason));
	return -1;
}

/*
 * A reason that names a value from the body (never a secret): the value
 * is made printable and cut so the reason stays one short line.
 */
static int
denyf(struct insp *in, const char *pre, const char *val, const char *post)
{
	char	safe[96];
	size_t	i;

	for (i = 0; val[i] != '\0' && i < sizeof(safe) - 4; i++)
		safe[i] = isprint((unsigned char)val[i]) ? val[i] : '?';
	safe[i] = '\0';
	if (val[i] != '\0')
		pw_strlcat(safe, "...", sizeof(safe));
	in->v->status = 403;
	pw_strlcpy(in->v->reason, pre, sizeof(in->v->reason));
	pw_strlcat(in->v->reason, safe, sizeof(in->v->reason));
	pw_strlcat(in->v->reason, post, sizeof(in->v->reason));
	return -1;
}

static int
malformed(struct insp *in)
{
	return deny(in, 403, R_MALFORMED);
}

static int
rd_bool(struct insp *in, json_t *o, const char *name, int *out)
{
	return gj_bool(o, name, out) == GJ_TYPE ? malformed(in) : 0;
}

static int
rd_str(struct insp *in, json_t *o, const char *name, const char **out)
{
	return gj_str(o, name, out) == GJ_TYPE ? malformed(in) : 0;
}

static int
rd_int(struct insp *in, json_t *o, const char *name, long long *out)
{
	return gj_int(o, name, out) == GJ_TYPE ? malformed(in) : 0;
}

static int
rd_obj(struct insp *in, json_t *o, const char *name, json_t **out)
{
	return gj_obj(o, name, out) == GJ_TYPE ? malformed(in) : 0;
}

static int
rd_arr(struct insp *in, json_t *o, const char *name, json_t **out)
{
	return gj_arr(o, name, out) == GJ_TYPE ? malformed(in) : 0;
}

static int
rd_strarr(struct insp *in, json_t *o, const char *name, json_t **out)
{
	return gj_strarr(o, name, out) == GJ_TYPE ? malformed(in) : 0;
}

/* An element of a string array read by rd_strarr (null is ""). */
static const char *
elem_str(json_t *a, size_t i)
{
	const char	*s = json_string_value(json_array_get(a, i));

	return s == NULL ? "" : s;
}

/* ---- string helpers ---- */

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/* s trimmed into buf (cut to bufsz); returns buf. */
static char *
trim_to(const char *s, char *buf, size_t bufsz)
{
	size_t	n;

	while (is_space((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space((unsigned char)s[n - 1]))
		n--;
	if (n >= bufsz)
		n = bufsz - 1;
	memmove(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static int
is_blank(const char *s)
{
	while (is_space((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* s equal to word once trimmed, ignoring case (any length of blanks). */
static int
mode_is(const char *s, const char *word)
{
	size_t	n = strlen(word);

	while (is_space((unsigned char)*s))
		s++;
	if (strncasecmp(s, word, n) != 0)
		return 0;
	return is_blank(s + n);
}

/* s[0..n) equal to word once trimmed, ignoring case. */
static int
span_is(const char *s, size_t n, const char *word)
{
	size_t	wn = strlen(word);

	while (n > 0 && is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_space((unsigned char)s[n - 1]))
		n--;
	return n == wn && strncasecmp(s, word, n) == 0;
}

static int
list_has(const struct pol_strlist *l, const char *s)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/*
 * Go's path.Clean: collapse '//', drop '.', resolve '..' lexically (at
 * the root it stays at the root), no trailing '/'.  -1 when out is too
 * small.
 */
int
pol_path_clean(const char *in, char *out, size_t outsz)
{
	size_t	n = strlen(in);

	if (outsz < n + 2)
		return -1;
	memcpy(out, in, n + 1);
	(void)policy_path_clean(out, n);
	return 0;
}

/* A cleaned absolute path under an allowlist of cleaned absolute paths. */
static int
path_allowed(const struct pol_strlist *l, const char *p)
{
	size_t	i, n;

	for (i = 0; i < l->n; i++) {
		n = strlen(l->v[i]);
		if (strcmp(l->v[i], "/") == 0)
			return 1;
		if (strncmp(p, l->v[i], n) == 0 &&
		    (p[n] == '\0' || p[n] == '/'))
			return 1;
	}
	return 0;
}

/*
 * Root for the non-root rails: empty or blank, "root" in any case, or
 * a number that is zero ("0", "00", "+0"), before any ':'.
 */
int
pol_user_is_root(const char *user)
{
	const char	*p, *e;

	for (p = user; is_space((unsigned char)*p); p++)
		;
	for (e = p; *e != '\0' && *e != ':'; e++)
		;
	while (e > p && is_space((unsigned char)e[-1]))
		e--;
	if (e == p)
		return 1;
	if ((size_t)(e - p) == 4 && strncasecmp(p, "root", 4) == 0)
		return 1;
	if (*p == '+' || *p == '-')
		p++;
	if (p == e)
		return 0;
	for (; p < e; p++)
		if (*p != '0')
			return 0;
	return 1;
}

/* ---- shared checks ---- */

/* §5.7: one EndpointSettings object (create and network connect). */
static int
check_endpoint(struct insp *in, json_t *ep)
{
	const struct pol_body	*b = in->b;
	static const char *const legacy_str[] = {
		"Gateway", "IPAddress", "IPv6Gateway", "GlobalIPv6Address",
	};
	static const char *const legacy_int[] = {
		"IPPrefixLen", "GlobalIPv6PrefixLen",
	};
	json_t		*ipam, *a;
	const char	*s;
	long long	 n;
	size_t		 i;
	int		 stat = 0;

	/* allow_endpoint_config admits the whole EndpointSettings. */
	if (b->allow_endpoint_config)
		return 0;
	if (rd_obj(in, ep, "IPAMConfig", &ipam) == -1)
		return -1;
	if (ipam != NULL) {
		if (rd_str(in, ipam, "IPv4Address", &s) == -1)
			return -1;
		stat |= *s != '\0';
		if (rd_str(in, ipam, "IPv6Address", &s) == -1)
			return -1;
		stat |= *s != '\0';
		if (rd_strarr(in, ipam, "LinkLocalIPs", &a) == -1)
			return -1;
		if (a != NULL && json_array_size(a) > 0 &&
		    !b->ep_allow_link_local_ips)
			return deny(in, 403,
			    "link-local IP addresses in endpoint config "
			    "are not allowed");
	}
	for (i = 0; i < nitems(legacy_str); i++) {
		if (rd_str(in, ep, legacy_str[i], &s) == -1)
			return -1;
		stat |= *s != '\0';
	}
	for (i = 0; i < nitems(legacy_int); i++) {
		if (rd_int(in, ep, legacy_int[i], &n) == -1)
			return -1;
		stat |= n != 0;
	}
	if (stat && !b->ep_allow_static_addressing)
		return deny(in, 403,
		    "static IP addressing in endpoint config is not allowed");
	if (rd_str(in, ep, "MacAddress", &s) == -1)
		return -1;
	if (*s != '\0' && !b->ep_allow_mac_pinning)
		return deny(in, 403,
		    "MAC address in endpoint config is not allowed");
	if (rd_int(in, ep, "GwPriority", &n) == -1)
		return -1;
	if (n != 0 && !b->ep_allow_gw_priority)
		return deny(in, 403,
		    "gateway priority in endpoint config is not allowed");
	if (rd_strarr(in, ep, "Links", &a) == -1)
		return -1;
	if (a != NULL && json_array_size(a) > 0)
		return deny(in, 403,
		    "links in endpoint config are not allowed");
	if (rd_obj(in, ep, "DriverOpts", &a) == -1)
		return -1;
	if (a != NULL && json_object_size(a) > 0)
		return deny(in, 403,
		    "driver options in endpoint config are not allowed");
	if (rd_strarr(in, ep, "Aliases", &a) == -1)
		return -1;
	if (a != NULL && json_array_size(a) > 0 &&
	    !b->ep_allow_aliases)
		return deny(in, 403,
		    "aliases in endpoint config are not allowed");
	return 0;
}

static int
cgrule_num(const char *s, size_t n, char *out, size_t outsz)
{
	size_t	i;

	if (n == 0 || n >= outsz)
		return -1;
	if (!(n == 1 && s[0] == '*'))
		for (i = 0; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* Parse "<type> <major>:<minor> <perms>"; -1 when malformed. */
int
pol_cgrule_parse(const char *s, struct cgrule *r)
{
	const char	*c, *sp;
	size_t		 i, n;

	memset(r, 0, sizeof(*r));
	while (is_space((unsigned char)*s))
		s++;
	if (*s != 'a' && *s != 'b' && *s != 'c')
		return -1;
	r->type = *s++;
	if (*s++ != ' ')
		return -1;
	if ((c = strchr(s, ':')) == NULL || (sp = strchr(c, ' ')) == NULL)
		return -1;
	if (cgrule_num(s, (size_t)(c - s), r->major, sizeof(r->major)) == -1 ||
	    cgrule_num(c + 1, (size_t)(sp - c - 1), r->minor,
	    sizeof(r->minor)) == -1)
		return -1;
	s = sp + 1;
	n = strlen(s);
	while (n > 0 && is_space((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n > 3)
		return -1;
	for (i = 0; i < n; i++) {
		if (strchr("rwm", s[i]) == NULL ||
		    strchr(r->perms, s[i]) != NULL)
			return -1;
		r->perms[i] = s[i];
	}
	return 0;
}

/* A request number against an entry number: '*' only where the entry has it. */
static int
cgrule_num_ok(const char *want, const char *have)
{
	if (strcmp(have, "*") == 0)
		return 1;
	return strcmp(want, have) == 0;
}

static int
cgrule_allowed(const struct pol_strlist *l, const struct cgrule *req)
{
	struct cgrule	e;
	size_t		i, j;

	for (i = 0; i < l->n; i++) {
		if (pol_cgrule_parse(l->v[i], &e) == -1)
			continue;
		if (e.type != req->type && e.type != 'a')
			continue;
		if (!cgrule_num_ok(req->major, e.major) ||
		    !cgrule_num_ok(req->minor, e.minor))
			continue;
		for (j = 0; req->perms[j] != '\0'; j++)
			if (strchr(e.perms, req->perms[j]) == NULL)
				break;
		if (req->perms[j] == '\0')
			return 1;
	}
	return 0;
}

/* Rows 18-20: device requests, cgroup rules, devices (create, update). */
static int
check_devices(struct insp *in, json_t *hc)
{
	const struct pol_body	*b = in->b;
	struct cgrule		 r;
	json_t			*a, *e;
	const char		*s;
	char			 clean[4096];
	size_t			 i;

	if (rd_arr(in, hc, "DeviceRequests", &a) == -1)
		return -1;
	if (a != NULL && json_array_size(a) > 0) {
		json_array_foreach(a, i, e) {
			if (!json_is_object(e) && !json_is_null(e))
				return malformed(in);
		}
		if (!b->allow_device_requests)
			return deny(in, 403, "device requests are not allowed");
	}
	if (rd_strarr(in, hc, "DeviceCgroupRules", &a) == -1)
		return -1;
	if (a != NULL && json_array_size(a) > 0 &&
	    !b->allow_device_cgroup_rules) {
		for (i = 0; i < json_array_size(a); i++) {
			if (pol_cgrule_parse(elem_str(a, i), &r) == -1)
				return deny(in, 403,
				    "malformed device cgroup rule");
			if (!cgrule_allowed(&b->allowed_device_cgroup_rules,
			    &r))
				return denyf(in, "device cgroup rule ",
			    elem_str(a, i),
			    " is not in allowed_device_cgroup_rules");
		}
	}
	if (rd_arr(in, hc, "Devices", &a) == -1)
		return -1;
	json_array_foreach(a, i, e) {
		if (json_is_null(e))
			continue;
		if (!json_is_object(e))
			return malformed(in);
		if (rd_str(in, e, "PathOnHost", &s) == -1)
			return -1;
		if (b->allow_all_devices)
			continue;
		if (*s != '/' || pol_path_clean(s, clean, sizeof(clean)) == -1)
			return deny(in, 403, "device path must be absolute");
		if (!path_allowed(&b->allowed_devices, clean))
			return denyf(in, "device ",
			    clean, " is not in allowed_devices");
	}
	return 0;
}

/* ---- container create ---- */

/* Rows 3-8 and 13: host namespaces and privileged. */
static int
cc_host_modes(struct insp *in, json_t *hc)
{
	const struct pol_body	*b = in->b;
	static const struct {
		const char	*field;
		size_t		 off;
		const char	*reason;
	} modes[] = {
		{ "NetworkMode", offsetof(struct pol_body, allow_host_network),
		    "host network mode is not allowed" },
		{ "PidMode", offsetof(struct pol_body, allow_host_pid),
		    "host PID mode is not allowed" },
		{ "IpcMode", offsetof(struct pol_body, allow_host_ipc),
		    "host IPC mode is not allowed" },
		{ "UsernsMode", offsetof(struct pol_body, allow_host_userns),
		    "host user namespace mode is not allowed" },
		{ "CgroupnsMode", offsetof(struct pol_body, allow_host_cgroupns),
		    "host cgroup namespace mode is not allowed" },
	};
	const char	*s;
	size_t		 i;
	int		 priv;

	if (rd_bool(in, hc, "Privileged", &priv) == -1)
		return -1;
	if (priv && !b->allow_privileged)
		return deny(in, 403, "privileged containers are not allowed");
	for (i = 0; i < nitems(modes); i++) {
		if (rd_str(in, hc, modes[i].field, &s) == -1)
			return -1;
		if (mode_is(s, "host") &&
		    !*(const int *)((const char *)b + modes[i].off))
			return deny(in, 403, modes[i].reason);
	}
	return 0;
}

/* Rows 9-10: joining another container's namespaces, ns: paths. */
static int
cc_ns_sharing(struct insp *in, json_t *hc)
{
	static const char *const fields[] = {
		"NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode",
	};
	const struct pol_body	*b = in->b;
	const char		*s;
	char			 buf[1024], ref[1024];
	size_t			 i;

	for (i = 0; i < nitems(fields); i++) {
		if (rd_str(in, hc, fields[i], &s) == -1)
			return -1;
		if (!b->restrict_namespace_sharing)
			continue;
		trim_to(s, buf, sizeof(buf));
		if (strncasecmp(buf, "container:", 10) != 0)
			continue;
		trim_to(buf + 10, ref, sizeof(ref));
		if (strlen(s) >= sizeof(buf) ||
		    !list_has(&b->allowed_namespace_sharing_containers, ref))
			return deny(in, 403, "sharing the namespaces of another "
			    "container is not allowed");
	}
	if (rd_str(in, hc, "NetworkMode", &s) == -1)
		return -1;
	trim_to(s, buf, sizeof(buf));
	if (b->deny_namespace_path_mode && strncasecmp(buf, "ns:", 3) == 0)
		return deny(in, 403,
		    "namespace path network mode is not allowed");
	return 0;
}

/* Rows 11-17. */
static int
cc_fixed(struct insp *in, json_t *hc)
{
	static const char *const lists[] = {
		"VolumesFrom", "GroupAdd", "ExtraHosts",
	};
	static const char *const list_reasons[] = {
		"VolumesFrom is not allowed", "GroupAdd is not allowed",
		"ExtraHosts is not allowed",
	};
	const struct pol_body	*b = in->b;
	json_t			*o, *a;
	const char		*s;
	size_t			 i;

	if (rd_obj(in, hc, "Sysctls", &o) == -1)
		return -1;
	if (o != NULL && json_object_size(o) > 0 && !b->allow_sysctls)
		return deny(in, 403, "sysctls are not allowed");
	for (i = 0; i < nitems(lists); i++) {
		if (rd_strarr(in, hc, lists[i], &a) == -1)
			return -1;
		if (a != NULL && json_array_size(a) > 0)
			return deny(in, 403, list_reasons[i]);
		if (i == 0) {
			/* Rows 13-14 come between VolumesFrom and GroupAdd. */
			if (rd_str(in, hc, "UTSMode", &s) == -1)
				return -1;
			if (mode_is(s, "host"))
				return deny(in, 403,
				    "host UTS mode is not allowed");
			if (rd_str(in, hc, "CgroupParent", &s) == -1)
				return -1;
			if (!is_blank(s))
				return deny(in, 403,
				    "CgroupParent is not allowed");
		}
	}
	if (rd_str(in, hc, "Runtime", &s) == -1)
		return -1;
	if (*s != '\0' && !list_has(&b->allowed_runtimes, s))
		return denyf(in, "runtime ",
			    s, " is not in allowed_runtimes");
	return 0;
}

static int	cc_local_volume(struct insp *, json_t *);

/*
 * Row 21: bind sources of Binds, of Mounts of type bind, and the host
 * paths of local volumes mounted at create.
 */
static int
cc_binds(struct insp *in, json_t *hc)
{
	const struct pol_body	*b = in->b;
	json_t			*a, *e;
	const char		*s, *c;
	char			 src[4096], clean[4096];
	size_t			 i, n;

	if (rd_strarr(in, hc, "Binds", &a) == -1)
		return -1;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		s = elem_str(a, i);
		if ((c = strchr(s, ':')) == NULL || s[0] != '/')
			continue;
		n = (size_t)(c - s);
		if (n >= sizeof(src))
			return deny(in, 403, "bind mount source too long");
		memcpy(src, s, n);
		src[n] = '\0';
		if (pol_path_clean(src, clean, sizeof(clean)) == -1)
			return deny(in, 403, "bind mount source too long");
		if (!path_allowed(&b->allowed_bind_mounts, clean))
			return denyf(in, "bind mount source ",
			    clean, " is not in allowed_bind_mounts");
	}
	if (rd_arr(in, hc, "Mounts", &a) == -1)
		return -1;
	json_array_foreach(a, i, e) {
		if (json_is_null(e))
			continue;
		if (!json_is_object(e))
			return malformed(in);
		if (rd_str(in, e, "Type", &s) == -1)
			return -1;
		if (mode_is(s, "volume") && cc_local_volume(in, e) == -1)
			return -1;
		if (!mode_is(s, "bind"))
			continue;
		if (rd_str(in, e, "Source", &s) == -1)
			return -1;
		if (s[0] != '/')
			continue;
		if (pol_path_clean(s, clean, sizeof(clean)) == -1)
			return deny(in, 403, "bind mount source too long");
		if (!path_allowed(&b->allowed_bind_mounts, clean))
			return denyf(in, "bind mount source ",
			    clean, " is not in allowed_bind_mounts");
	}
	return 0;
}

/*
 * A volume mount can reach the host too: the built-in "local" driver
 * hands its type, o and device options to mount(2), so type none or
 * o=bind with a device binds any host path, and a disk filesystem type
 * over a /dev node mounts the host's own storage.  Both go through
 * allowed_bind_mounts, like a bind.  Option keys are matched in any
 * case (all spellings are checked); other drivers are left alone.
 */
struct localvol {
	int		 bind;		/* type none/bind, or o has bind/rbind */
	int		 hostfs;	/* a type other than network or tmpfs */
	int		 ntypes;
};

static int
lv_type(struct localvol *lv, const char *v)
{
	static const char *const remote[] = {
		"nfs", "nfs4", "cifs", "smb3", "tmpfs",
	};
	size_t	i;

	lv->ntypes++;
	if (mode_is(v, "none") || mode_is(v, "bind"))
		lv->bind = 1;
	for (i = 0; i < nitems(remote); i++)
		if (mode_is(v, remote[i]))
			return 0;
	lv->hostfs = 1;
	return 0;
}

/* One device path: as a bind source, and as a /dev node to mount. */
static int
lv_device(struct insp *in, const struct localvol *lv, const char *dev)
{
	char	buf[4096], clean[4096];

	while (is_space((unsigned char)*dev))
		dev++;
	if (*dev == '\0')
		return 0;
	if (strlen(dev) + 2 > sizeof(buf))
		return deny(in, 403, "volume device path too long");
	trim_to(dev, buf + 1, sizeof(buf) - 1);
	if (lv->bind) {
		if (buf[1] != '/')
			return denyf(in, "bind mount source ", buf + 1,
			    " is not in allowed_bind_mounts");
		if (pol_path_clean(buf + 1, clean, sizeof(clean)) == -1 ||
		    !path_allowed(&in->b->allowed_bind_mounts, clean))
			return denyf(in, "bind mount source ", clean,
			    " is not in allowed_bind_mounts");
	}
	if (!lv->hostfs && lv->ntypes > 0)
		return 0;
	/* mount(2) resolves a relative device from the daemon's "/". */
	buf[0] = '/';
	if (pol_path_clean(buf[1] == '/' ? buf + 1 : buf, clean,
	    sizeof(clean)) == -1)
		return deny(in, 403, "volume device path too long");
	if ((strcmp(clean, "/dev") == 0 || strncmp(clean, "/dev/", 5) == 0) &&
	    !path_allowed(&in->b->allowed_bind_mounts, clean))
		return denyf(in, "local volume device ", clean,
		    " is not in allowed_bind_mounts");
	return 0;
}

/* Each "device" option, and each device= token of each "o" option. */
static int
lv_devices(struct insp *in, const struct localvol *lv, json_t *opts)
{
	const char	*k, *v, *tok, *end, *eq;
	json_t		*e;
	char		 dev[4096];
	size_t		 n;

	json_object_foreach(opts, k, e) {
		v = json_string_value(e);
		if (mode_is(k, "device") && lv_device(in, lv, v) == -1)
			return -1;
		if (!mode_is(k, "o"))
			continue;
		for (tok = v; *tok != '\0'; tok = *end ? end + 1 : end) {
			end = tok + strcspn(tok, ",");
			n = (size_t)(end - tok);
			if ((eq = memchr(tok, '=', n)) == NULL ||
			    !span_is(tok, (size_t)(eq - tok), "device"))
				continue;
			if (n >= sizeof(dev))
				return deny(in, 403,
				    "volume device path too long");
			memcpy(dev, eq + 1, (size_t)(end - eq - 1));
			dev[end - eq - 1] = '\0';
			if (lv_device(in, lv, dev) == -1)
				return -1;
		}
	}
	return 0;
}

static int
cc_local_volume(struct insp *in, json_t *m)
{
	struct localvol	 lv;
	json_t		*vo, *dc, *opts, *e;
	const char	*name, *k, *v, *tok, *end;
	size_t		 n;

	memset(&lv, 0, sizeof(lv));
	if (rd_obj(in, m, "VolumeOptions", &vo) == -1)
		return -1;
	if (vo == NULL)
		return 0;
	if (rd_obj(in, vo, "DriverConfig", &dc) == -1)
		return -1;
	if (dc == NULL)
		return 0;
	if (rd_str(in, dc, "Name", &name) == -1 ||
	    rd_obj(in, dc, "Options", &opts) == -1)
		return -1;
	if (opts == NULL || json_object_size(opts) == 0 ||
	    !(is_blank(name) || mode_is(name, "local")))
		return 0;
	json_object_foreach(opts, k, e) {
		if (!json_is_string(e))
			return malformed(in);
		v = json_string_value(e);
		if (mode_is(k, "type"))
			lv_type(&lv, v);
		if (!mode_is(k, "o"))
			continue;
		for (tok = v; *tok != '\0'; tok = *end ? end + 1 : end) {
			end = tok + strcspn(tok, ",");
			n = (size_t)(end - tok);
			if (span_is(tok, n, "bind") || span_is(tok, n, "rbind"))
				lv.bind = 1;
		}
	}
	return lv_devices(in, &lv, opts);
}

/* Row 24: a subpath must stay inside its volume or image. */
static int
subpath_ok(const char *s)
{
	char	clean[4096];

	if (*s == '\0')
		return 1;
	if (*s == '/' || pol_path_clean(s, clean, sizeof(clean)) == -1)
		return 0;
	return !(strcmp(clean, "..") == 0 || strncmp(clean, "../", 3) == 0);
}

/* Rows 25-26: TmpfsOptions.Options, a list of [name] or [name, value]. */
static int
cc_tmpfs_opts(struct insp *in, json_t *m)
{
	json_t		*t, *opts, *o;
	const char	*name;
	char		 buf[64];
	size_t		 i, j;

	if (rd_obj(in, m, "TmpfsOptions", &t) == -1)
		return -1;
	if (t == NULL)
		return 0;
	if (rd_arr(in, t, "Options", &opts) == -1)
		return -1;
	json_array_foreach(opts, i, o) {
		if (json_is_null(o))
			return deny(in, 403, "malformed tmpfs option");
		if (!json_is_array(o))
			return malformed(in);
		for (j = 0; j < json_array_size(o); j++)
			if (!json_is_string(json_array_get(o, j)) &&
			    !json_is_null(json_array_get(o, j)))
				return malformed(in);
		if (json_array_size(o) == 0 || json_array_size(o) > 2 ||
		    is_blank(elem_str(o, 0)))
			return deny(in, 403, "malformed tmpfs option");
		name = elem_str(o, 0);
		if ((mode_is(name, "exec") || mode_is(name, "dev") ||
		    mode_is(name, "suid")) &&
		    !in->b->allow_tmpfs_privileged_options)
			return denyf(in, "tmpfs option ",
			    trim_to(name, buf, sizeof(buf)), " is not allowed");
	}
	return 0;
}

/* Rows 23-26: mount types, subpaths, tmpfs options. */
static int
cc_mounts(struct insp *in, json_t *hc)
{
	static const char *const sub[] = { "VolumeOptions", "ImageOptions" };
	json_t		*a, *m, *o;
	const char	*s;
	size_t		 i, k;

	if (rd_arr(in, hc, "Mounts", &a) == -1)
		return -1;
	json_array_foreach(a, i, m) {
		if (json_is_null(m))
			continue;
		if (rd_str(in, m, "Type", &s) == -1)
			return -1;
		if (!mode_is(s, "bind") && !mode_is(s, "volume") &&
		    !mode_is(s, "tmpfs") && !mode_is(s, "image"))
			return deny(in, 403, "mount type is not allowed");
	}
	json_array_foreach(a, i, m) {
		if (json_is_null(m))
			continue;
		for (k = 0; k < nitems(sub); k++) {
			if (rd_obj(in, m, sub[k], &o) == -1)
				return -1;
			if (o == NULL)
				continue;
			if (rd_str(in, o, "Subpath", &s) == -1)
				return -1;
			if (!subpath_ok(s))
				return deny(in, 403, "mount subpath must be "
				    "relative and stay inside the mount");
		}
	}
	json_array_foreach(a, i, m) {
		if (!json_is_null(m) && cc_tmpfs_opts(in, m) == -1)
			return -1;
	}
	return 0;
}

static int
keycmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Rows 27-28: endpoint settings (sorted by network name), MacAddress. */
static int
cc_network(struct insp *in, json_t *top)
{
	const struct pol_body	*b = in->b;
	json_t			*nc, *eps, *ep;
	const char		**keys, *k, *s;
	size_t			  n, i;
	int			  rc = 0;

	if (rd_obj(in, top, "NetworkingConfig", &nc) == -1)
		return -1;
	if (nc != NULL) {
		if (rd_obj(in, nc, "EndpointsConfig", &eps) == -1)
			return -1;
		if (eps != NULL && (n = json_object_size(eps)) > 0) {
			keys = xreallocarray(NULL, n, sizeof(*keys));
			i = 0;
			json_object_foreach(eps, k, ep) {
				if (i < n)
					keys[i++] = k;
			}
			qsort(keys, i, sizeof(*keys), keycmp);
			for (n = 0; n < i && rc == 0; n++) {
				ep = json_object_get(eps, keys[n]);
				if (json_is_null(ep))
					continue;
				if (!json_is_object(ep))
					rc = malformed(in);
				else
					rc = check_endpoint(in, ep);
			}
			free(keys);
			if (rc == -1)
				return -1;
		}
	}
	if (rd_str(in, top, "MacAddress", &s) == -1)
		return -1;
	if (*s != '\0' && !b->allow_endpoint_config && !b->ep_allow_mac_pinning)
		return deny(in, 403, "container MAC address is not allowed");
	return 0;
}

/* §5.6: split at the first '=' or ':'; key lower-cased, both trimmed. */
static int
secopt_split(const char *opt, char *key, size_t ksz, char *val, size_t vsz)
{
	size_t	n, i;
	char	tmp[256];

	n = strcspn(opt, "=:");
	if (opt[n] == '\0')
		return -1;
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, opt, n);
	tmp[n] = '\0';
	trim_to(tmp, key, ksz);
	for (i = 0; key[i] != '\0'; i++)
		key[i] = (char)tolower((unsigned char)key[i]);
	trim_to(opt + strcspn(opt, "=:") + 1, val, vsz);
	return 0;
}

static int
profile_listed(const struct pol_strlist *l, const char *p)
{
	return list_has(l, p);
}

/* Row 29 (and the no-new-privileges rail of row 32). */
static int
cc_secopt(struct insp *in, json_t *hc, int *nnp)
{
	const struct pol_body	*b = in->b;
	json_t			*a;
	const char		*opt;
	char			 key[64], val[4096], bare[64];
	size_t			 i;
	int			 seen_seccomp = 0, seen_apparmor = 0;

	*nnp = 0;
	if (rd_strarr(in, hc, "SecurityOpt", &a) == -1)
		return -1;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		opt = elem_str(a, i);
		if (secopt_split(opt, key, sizeof(key), val, sizeof(val)) == -1) {
			if (strlen(opt) < sizeof(bare) && strcasecmp(trim_to(opt,
			    bare, sizeof(bare)), "no-new-privileges") == 0)
				*nnp = 1;
			continue;
		}
		if (strcmp(key, "no-new-privileges") == 0 &&
		    strcasecmp(val, "true") == 0)
			*nnp = 1;
		if (strcmp(key, "seccomp") == 0) {
			seen_seccomp = 1;
			if (b->deny_unconfined_seccomp &&
			    strcmp(val, "unconfined") == 0)
				return deny(in, 403,
				    "unconfined seccomp is not allowed");
			if (b->allowed_seccomp_profiles.n > 0 &&
			    !profile_listed(&b->allowed_seccomp_profiles, val))
				return deny(in, 403, "seccomp profile is not in "
				    "allowed_seccomp_profiles");
		} else if (strcmp(key, "apparmor") == 0) {
			seen_apparmor = 1;
			if (b->deny_unconfined_apparmor &&
			    strcmp(val, "unconfined") == 0)
				return deny(in, 403,
				    "unconfined AppArmor is not allowed");
			if (b->allowed_apparmor_profiles.n > 0 &&
			    !profile_listed(&b->allowed_apparmor_profiles, val))
				return deny(in, 403, "AppArmor profile is not in "
				    "allowed_apparmor_profiles");
		} else if (strcmp(key, "label") == 0) {
			if (strcmp(val, "disable") == 0) {
				if (b->deny_selinux_disable)
					return deny(in, 403, "disabling SELinux "
					    "labelling is not allowed");
			} else if (b->deny_selinux_label_override)
				return deny(in, 403,
				    "SELinux label overrides are not allowed");
		} else if (strcmp(key, "systempaths") == 0) {
			if (b->deny_unconfined_system_paths &&
			    strcmp(val, "unconfined") == 0)
				return deny(in, 403,
				    "unconfined system paths are not allowed");
		}
	}
	if (!seen_seccomp && b->allowed_seccomp_profiles.n > 0 &&
	    !list_has(&b->allowed_seccomp_profiles, "default"))
		return deny(in, 403,
		    "the default seccomp profile is not in "
		    "allowed_seccomp_profiles");
	if (!seen_apparmor && b->allowed_apparmor_profiles.n > 0 &&
	    !list_has(&b->allowed_apparmor_profiles, "default") &&
	    !list_has(&b->allowed_apparmor_profiles, "docker-default") &&
	    !list_has(&b->allowed_apparmor_profiles, "runtime/default"))
		return deny(in, 403, "the default AppArmor profile is not in "
		    "allowed_apparmor_profiles");
	return 0;
}

/* Upper-cased, trimmed, without a CAP_ prefix. */
void
pol_cap_norm(const char *in, char *out, size_t outsz)
{
	size_t	i;
	char	tmp[128];

	trim_to(in, tmp, sizeof(tmp));
	for (i = 0; tmp[i] != '\0'; i++)
		tmp[i] = (char)toupper((unsigned char)tmp[i]);
	pw_strlcpy(out, strncmp(tmp, "CAP_", 4) == 0 ? tmp + 4 : tmp, outsz);
}

/* Rows 30-31. */
static int
cc_caps(struct insp *in, json_t *hc)
{
	const struct pol_body	*b = in->b;
	json_t			*a;
	char			 cap[128];
	size_t			 i;

	if (rd_strarr(in, hc, "MaskedPaths", &a) == -1)
		return -1;
	if (a != NULL && json_array_size(a) == 0 &&
	    b->deny_unconfined_system_paths)
		return deny(in, 403, "empty MaskedPaths is not allowed");
	if (rd_strarr(in, hc, "ReadonlyPaths", &a) == -1)
		return -1;
	if (a != NULL && json_array_size(a) == 0 &&
	    b->deny_unconfined_system_paths)
		return deny(in, 403, "empty ReadonlyPaths is not allowed");
	if (rd_strarr(in, hc, "CapAdd", &a) == -1)
		return -1;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		pol_cap_norm(elem_str(a, i), cap, sizeof(cap));
		if (!b->allow_all_capabilities &&
		    !list_has(&b->allowed_capabilities, cap))
			return denyf(in, "capability ",
			    cap, " is not in allowed_capabilities");
	}
	return 0;
}

/* Row 32: the rails. */
static int
cc_rails(struct insp *in, json_t *top, json_t *hc, int nnp)
{
	const struct pol_body	*b = in->b;
	json_t			*a;
	const char		*s;
	char			 cap[128];
	size_t			 i;
	int			 ro, all;

	if (b->require_no_new_privileges && !nnp)
		return deny(in, 403, "no-new-privileges is required");
	if (rd_str(in, top, "User", &s) == -1)
		return -1;
	if (b->require_non_root_user && pol_user_is_root(s))
		return deny(in, 403, "a non-root user is required");
	if (rd_bool(in, hc, "ReadonlyRootfs", &ro) == -1)
		return -1;
	if (b->require_readonly_rootfs && !ro)
		return deny(in, 403, "a read-only root filesystem is required");
	if (rd_strarr(in, hc, "CapDrop", &a) == -1)
		return -1;
	all = 0;
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		pol_cap_norm(elem_str(a, i), cap, sizeof(cap));
		all |= strcmp(cap, "ALL") == 0;
	}
	if (b->require_drop_all_capabilities && !all)
		return deny(in, 403, "dropping all capabilities is required");
	return 0;
}

/* Rows 33-34. */
static int
cc_resources_labels(struct insp *in, json_t *top, json_t *hc)
{
	const struct pol_body	*b = in->b;
	long long		 mem, nano, quota, period, shares, pids;
	json_t			*labels, *v;
	size_t			 i;

	if (rd_int(in, hc, "Memory", &mem) == -1 ||
	    rd_int(in, hc, "NanoCpus", &nano) == -1 ||
	    rd_int(in, hc, "CpuQuota", &quota) == -1 ||
	    rd_int(in, hc, "CpuPeriod", &period) == -1 ||
	    rd_int(in, hc, "CpuShares", &shares) == -1 ||
	    rd_int(in, hc, "PidsLimit", &pids) == -1)
		return -1;
	if (b->require_memory_limit && mem <= 0)
		return deny(in, 403, "a memory limit is required");
	if (b->require_cpu_limit && nano <= 0 && quota <= 0 && period <= 0 &&
	    shares <= 0)
		return deny(in, 403, "a CPU limit is required");
	if (b->require_cpu_limit_hard && nano <= 0 && quota <= 0)
		return deny(in, 403, "a hard CPU limit is required");
	if (b->require_pids_limit && pids <= 0)
		return deny(in, 403, "a PIDs limit is required");
	if (rd_obj(in, top, "Labels", &labels) == -1)
		return -1;
	for (i = 0; i < b->required_labels.n; i++) {
		v = labels == NULL ? NULL :
		    json_object_get(labels, b->required_labels.v[i]);
		if (v != NULL && !json_is_string(v) && !json_is_null(v))
			return malformed(in);
		if (v == NULL || json_is_null(v) ||
		    is_blank(json_string_value(v)))
			return denyf(in, "required label ",
			    b->required_labels.v[i], " is missing");
	}
	return 0;
}

/*
 * The checks of rows 3-31 that a host config at the top of the body
 * must also pass.  Docker up to 24 (Debian 12 ships 20.10) embeds a
 * deprecated HostConfig in its create wrapper: without a "HostConfig"
 * object the top-level fields are the host config, with one some still
 * merge in.  Newer daemons ignore them.  Checking them costs a normal
 * body nothing (the keys are absent) and closes that door.
 */
static int
cc_top_hostconfig(struct insp *in, json_t *top)
{
	int	nnp;

	if (cc_host_modes(in, top) == -1 || cc_ns_sharing(in, top) == -1 ||
	    cc_fixed(in, top) == -1 || check_devices(in, top) == -1 ||
	    cc_binds(in, top) == -1 || cc_mounts(in, top) == -1 ||
	    cc_caps(in, top) == -1)
		return -1;
	/* The absence rules of SecurityOpt speak of the real host config. */
	if (gj_get(top, "SecurityOpt") != NULL &&
	    cc_secopt(in, top, &nnp) == -1)
		return -1;
	return 0;
}

static int
inspect_container_create(struct insp *in, json_t *top)
{
	json_t	*hc, *empty = NULL;
	int	 nnp, rc = -1;

	if (rd_obj(in, top, "HostConfig", &hc) == -1)
		return -1;
	if (hc == NULL)
		hc = empty = json_object();
	if (hc == NULL)
		return deny(in, 403, R_MALFORMED);
	if (cc_host_modes(in, hc) == -1 || cc_ns_sharing(in, hc) == -1 ||
	    cc_fixed(in, hc) == -1 || check_devices(in, hc) == -1 ||
	    cc_binds(in, hc) == -1 || cc_mounts(in, hc) == -1 ||
	    cc_network(in, top) == -1 || cc_secopt(in, hc, &nnp) == -1 ||
	    cc_caps(in, hc) == -1 || cc_top_hostconfig(in, top) == -1 ||
	    cc_rails(in, top, hc, nnp) == -1 ||
	    cc_resources_labels(in, top, hc) == -1)
		goto out;
	rc = 0;
 out:
	json_decref(empty);
	return rc;
}

/*
 * POST /containers/{id}/update.  Fields are looked for where a client
 * may put them (the top, HostConfig, Resources, HostConfig.Resources),
 * whatever Docker makes of them: a field that is present, even null,
 * is a change.  Each group is refused unless its knob allows it.
 */
static const char *const upd_privileged[] = { "Privileged", NULL };
static const char *const upd_devices[] = {
	"Devices", "DeviceCgroupRules", "DeviceRequests", NULL
};
static const char *const upd_caps[] = {
	"CapAdd", "CapDrop", "Capabilities", "NoNewPrivileges", "SecurityOpt",
	NULL
};
static const char *const upd_restart[] = { "RestartPolicy", NULL };
static const char *const upd_resources[] = {
	"BlkioDeviceReadBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteBps",
	"BlkioDeviceWriteIOps", "BlkioWeight", "BlkioWeightDevice",
	"CgroupParent", "CgroupnsMode", "CpuCount", "CpuPercent", "CpuPeriod",
	"CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpuShares",
	"CpusetCpus", "CpusetMems", "IOMaximumBandwidth", "IOMaximumIOps",
	"KernelMemory", "KernelMemoryTCP", "Memory", "MemoryReservation",
	"MemorySwap", "MemorySwappiness", "NanoCpus", "OomKillDisable",
	"PidsLimit", "Resources", "Ulimits", NULL
};

static int
upd_has(json_t *const *objs, size_t n, const char *const *fields)
{
	size_t	i, j;

	for (i = 0; i < n; i++)
		for (j = 0; fields[j] != NULL; j++)
			if (gj_get(objs[i], fields[j]) != NULL)
				return 1;
	return 0;
}

static int
inspect_container_update(struct insp *in, json_t *top)
{
	const struct pol_body	*b = in->b;
	json_t			*objs[4], *hc, *res;
	size_t			 n = 0;

	objs[n++] = top;
	hc = gj_get(top, "HostConfig");
	if (json_is_object(hc))
		objs[n++] = hc;
	res = gj_get(top, "Resources");
	if (json_is_object(res))
		objs[n++] = res;
	res = json_is_object(hc) ? gj_get(hc, "Resources") : NULL;
	if (json_is_object(res))
		objs[n++] = res;
	if (!b->upd_allow_privileged && upd_has(objs, n, upd_privileged))
		return deny(in, 403, "privileged mode changes are not allowed");
	if (!b->upd_allow_devices && upd_has(objs, n, upd_devices))
		return deny(in, 403, "device changes are not allowed");
	if (!b->upd_allow_capabilities && upd_has(objs, n, upd_caps))
		return deny(in, 403, "capability changes are not allowed");
	if (!b->upd_allow_restart_policy && upd_has(objs, n, upd_restart))
		return deny(in, 403, "restart policy changes are not allowed");
	if (!b->upd_allow_resource_updates && upd_has(objs, n, upd_resources))
		return deny(in, 403,
		    "resource control changes are not allowed");
	return 0;
}

/* ---- exec ---- */

static int
env_check(struct insp *in, const char *entry)
{
	const struct pol_body	*b = in->b;
	char			 name[256];
	size_t			 n, i;
	int			 pinned = 0;

	n = strcspn(entry, "=");
	if (n >= sizeof(name))
		return deny(in, 403, "environment variable name too long");
	memcpy(name, entry, n);
	name[n] = '\0';
	if (list_has(&b->exec_denied_env_vars, name))
		return denyf(in, "environment variable ",
			    name, " is denied");
	if (b->exec_allowed_env_vars.n == 0 &&
	    b->exec_allowed_env_values.n == 0)
		return 0;
	/* A variable with pinned values may carry only those. */
	for (i = 0; i < b->exec_allowed_env_values.n; i++) {
		const char *p = b->exec_allowed_env_values.v[i];

		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			pinned = 1;
			if (strcmp(p, entry) == 0)
				return 0;
		}
	}
	if (pinned)
		return denyf(in, "value of environment variable ",
			    name, " is not in allowed_env_values");
	if (list_has(&b->exec_allowed_env_vars, name))
		return 0;
	return denyf(in, "environment variable ",
			    name, " is not in allowed_env_vars");
}

/* Cmd as argv: a non-empty string array, or a string split on blanks. */
static int
exec_argv(struct insp *in, json_t *top, char ***argvp, size_t *argcp)
{
	json_t		*cmd;
	char		**argv = NULL, *dup, *tok, *save;
	size_t		  argc = 0, i;

	*argvp = NULL;
	*argcp = 0;
	cmd = gj_get(top, "Cmd");
	if (cmd == NULL || json_is_null(cmd))
		return deny(in, 403, "exec command is missing");
	if (json_is_string(cmd)) {
		dup = xstrdup(json_string_value(cmd));
		argv = xreallocarray(NULL, strlen(dup) / 2 + 2, sizeof(*argv));
		for (tok = strtok_r(dup, " \t\n\r\v\f", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t\n\r\v\f", &save))
			argv[argc++] = xstrdup(tok);
		free(dup);
	} else if (json_is_array(cmd)) {
		argv = xreallocarray(NULL, json_array_size(cmd) + 1,
		    sizeof(*argv));
		for (i = 0; i < json_array_size(cmd); i++) {
			json_t *e = json_array_get(cmd, i);

			if (!json_is_string(e) && !json_is_null(e)) {
				while (argc > 0)
					free(argv[--argc]);
				free(argv);
				return malformed(in);
			}
			argv[argc++] = xstrdup(elem_str(cmd, i));
		}
	} else
		return malformed(in);
	if (argc == 0) {
		free(argv);
		return deny(in, 403, "exec command is empty");
	}
	*argvp = argv;
	*argcp = argc;
	return 0;
}

static int
argv_allowed(const struct pol_body *b, char **argv, size_t argc)
{
	const struct pol_argv	*t;
	size_t			 i, j;

	for (i = 0; i < b->exec_nallowed_commands; i++) {
		t = &b->exec_allowed_commands[i];
		if (t->n != argc)
			continue;
		for (j = 0; j < argc; j++)
			if (fnmatch(t->tok[j], argv[j], FNM_PATHNAME) != 0)
				break;
		if (j == argc)
			return 1;
	}
	return 0;
}

static int
inspect_exec_create(struct insp *in, json_t *top, int blind_ack)
{
	const struct pol_body	*b = in->b;
	json_t			*env;
	const char		*user;
	char			**argv;
	size_t			  argc, i;
	int			  priv, rc;

	if (rd_bool(in, top, "Privileged", &priv) == -1)
		return -1;
	if (priv && !b->exec_allow_privileged)
		return deny(in, 403, "privileged exec is not allowed");
	if (rd_str(in, top, "User", &user) == -1)
		return -1;
	if (!b->exec_allow_root_user && pol_user_is_root(user))
		return deny(in, 403, "exec as root is not allowed");
	if (rd_strarr(in, top, "Env", &env) == -1)
		return -1;
	for (i = 0; env != NULL && i < json_array_size(env); i++)
		if (env_check(in, elem_str(env, i)) == -1)
			return -1;
	if (exec_argv(in, top, &argv, &argc) == -1)
		return -1;
	rc = 0;
	if (b->exec_nallowed_commands > 0 || !blind_ack)
		if (!argv_allowed(b, argv, argc))
			rc = deny(in, 403,
			    "exec command is not in allowed_commands");
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return rc;
}

/*
 * The exec a start is about to run, as Docker stores it (GET
 * /exec/{id}/json, fetched by the proxy after the start body passed):
 * ProcessConfig's privileged, user, entrypoint and arguments are judged
 * again, so an exec created around the policy (or before it, or under
 * another profile) is not started.  Its environment is not in that
 * answer, so env rules apply at create only.
 */
static int
inspect_exec_stored(struct insp *in, json_t *top, int blind_ack)
{
	const struct pol_body	*b = in->b;
	json_t			*pc, *args;
	const char		*user = NULL, *ep = NULL;
	char			**argv;
	size_t			  argc = 0, i, n;
	int			  priv = 0, rc = 0;

	if (rd_obj(in, top, "ProcessConfig", &pc) == -1)
		return -1;
	if (pc == NULL)
		return deny(in, 403, "the stored exec has no process to judge");
	if (rd_bool(in, pc, "privileged", &priv) == -1 ||
	    rd_str(in, pc, "user", &user) == -1 ||
	    rd_str(in, pc, "entrypoint", &ep) == -1 ||
	    rd_strarr(in, pc, "arguments", &args) == -1)
		return -1;
	if (priv && !b->exec_allow_privileged)
		return deny(in, 403, "privileged exec is not allowed");
	if (!b->exec_allow_root_user && pol_user_is_root(user))
		return deny(in, 403, "exec as root is not allowed");
	if (b->exec_nallowed_commands == 0 && blind_ack)
		return 0;
	n = args != NULL ? json_array_size(args) : 0;
	argv = xcalloc(n + 1, sizeof(*argv));
	if (ep != NULL && *ep != '\0')
		argv[argc++] = xstrdup(ep);
	for (i = 0; i < n; i++)
		argv[argc++] = xstrdup(elem_str(args, i));
	if (argc == 0 || !argv_allowed(b, argv, argc))
		rc = deny(in, 403, "exec command is not in allowed_commands");
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return rc;
}

/*
 * POST /exec/{id}/start: the start body (Detach, Tty) is judged here;
 * the stored exec follows as PI_EXEC_STORED.
 */
static int
inspect_exec_start(struct insp *in, json_t *top)
{
	int	x;

	if (rd_bool(in, top, "Detach", &x) == -1 ||
	    rd_bool(in, top, "Tty", &x) == -1)
		return -1;
	return 0;
}

static int
inspect_network_connect(struct insp *in, json_t *top)
{
	json_t		*ep;
	const char	*s;

	if (rd_str(in, top, "Container", &s) == -1 ||
	    rd_obj(in, top, "EndpointConfig", &ep) == -1)
		return -1;
	if (ep == NULL)
		return 0;
	return check_endpoint(in, ep);
}

/*
 * Volume and network writes compose makes.  By default what is refused
 * is what reaches the host from a volume or network definition; each has
 * sockguard's knob (request_body.volume, request_body.network).  POST /volumes/create: only the local driver, without
 * driver options (type=none,o=bind,device=/ is a bind mount of the
 * host's root by another name; nfs, cifs and devices likewise), and no
 * cluster volume.
 */
static int
inspect_volume_create(struct insp *in, json_t *top)
{
	const char	*s = NULL;
	json_t		*o = NULL;

	if (rd_str(in, top, "Driver", &s) == -1)
		return -1;
	if (s != NULL && *s != '\0' && strcmp(s, "local") != 0 &&
	    !in->b->vol_allow_custom_drivers)
		return denyf(in, "volume driver ", s, " is not allowed (local "
		    "only)");
	if (rd_obj(in, top, "DriverOpts", &o) == -1)
		return -1;
	if (o != NULL && json_object_size(o) > 0 &&
	    !in->b->vol_allow_driver_opts)
		return deny(in, 403, "volume driver options are not allowed "
		    "(they can mount host paths and devices)");
	if (rd_obj(in, top, "ClusterVolumeSpec", &o) == -1)
		return -1;
	if (o != NULL)
		return deny(in, 403, "cluster volumes are not allowed");
	if (rd_obj(in, top, "Labels", &o) == -1)
		return -1;
	return 0;
}

/*
 * POST /networks/create: a local bridge network.  Other drivers (host,
 * macvlan, ipvlan, overlay, plugins) reach the host's interfaces or the
 * swarm; driver options can rename or reuse a host bridge; custom IPAM
 * (subnets, gateways, options) can shadow the host's routes; ingress and
 * config-only networks are swarm plumbing; EnableIPv4 false is refused as
 * sockguard does.
 */
static int
inspect_network_create(struct insp *in, json_t *top)
{
	const struct pol_body	*b = in->b;
	const char	*s = NULL;
	json_t		*o = NULL, *ipam = NULL, *a = NULL;
	int		 x, local_bridge = 1;

	if (rd_str(in, top, "Driver", &s) == -1)
		return -1;
	if (s != NULL && *s != '\0' && strcmp(s, "bridge") != 0)
		local_bridge = 0;
	if (s != NULL && *s != '\0' && strcmp(s, "bridge") != 0 &&
	    !b->net_allow_custom_drivers)
		return denyf(in, "network driver ", s, " is not allowed (bridge "
		    "only)");
	s = NULL;
	if (rd_str(in, top, "Scope", &s) == -1)
		return -1;
	if (s != NULL && *s != '\0' && strcmp(s, "local") != 0) {
		local_bridge = 0;
		if (!b->net_allow_swarm_scope)
			return denyf(in, "network scope ", s, " is not "
			    "allowed");
	}
	x = 0;
	if (rd_bool(in, top, "Ingress", &x) == -1)
		return -1;
	if (x && !b->net_allow_ingress)
		return deny(in, 403, "ingress networks are not allowed");
	x = 0;
	if (rd_bool(in, top, "Attachable", &x) == -1)
		return -1;
	/*
	 * Attachable means something only for swarm-scoped networks (manual
	 * attachment of standalone containers): on a local bridge it changes
	 * nothing, and docker-compose v1 sets it there, so only the others
	 * need allow_attachable (sockguard refuses it on any network).
	 */
	if (x && !local_bridge && !b->net_allow_attachable)
		return deny(in, 403, "attachable networks are not allowed");
	x = 0;
	if (rd_bool(in, top, "ConfigOnly", &x) == -1)
		return -1;
	if (x && !b->net_allow_config_only)
		return deny(in, 403, "config-only networks are not allowed");
	if (rd_obj(in, top, "ConfigFrom", &o) == -1)
		return -1;
	if (o != NULL && json_object_size(o) > 0 && !b->net_allow_config_from)
		return deny(in, 403, "networks made from a config network are "
		    "not allowed");
	x = 0;
	if (rd_bool(in, top, "EnableIPv4", &x) == -1)
		return -1;
	if (!x && gj_get(top, "EnableIPv4") != NULL &&
	    !json_is_null(gj_get(top, "EnableIPv4")) &&
	    !b->net_allow_disable_ipv4)
		return deny(in, 403, "EnableIPv4 false is not allowed");
	o = NULL;
	if (rd_obj(in, top, "Options", &o) == -1)
		return -1;
	if (o != NULL && json_object_size(o) > 0 && !b->net_allow_driver_options)
		return deny(in, 403, "network driver options are not allowed");
	if (rd_obj(in, top, "IPAM", &ipam) == -1)
		return -1;
	if (ipam == NULL)
		return 0;
	s = NULL;
	if (rd_str(in, ipam, "Driver", &s) == -1)
		return -1;
	if (s != NULL && *s != '\0' && strcmp(s, "default") != 0 &&
	    !b->net_allow_custom_ipam_drivers)
		return denyf(in, "IPAM driver ", s, " is not allowed");
	o = NULL;
	if (rd_obj(in, ipam, "Options", &o) == -1 ||
	    rd_arr(in, ipam, "Config", &a) == -1)
		return -1;
	if (o != NULL && json_object_size(o) > 0 && !b->net_allow_ipam_options)
		return deny(in, 403, "IPAM options are not allowed");
	if (a != NULL && json_array_size(a) > 0 &&
	    !b->net_allow_custom_ipam_config)
		return deny(in, 403, "custom IPAM configuration (subnets, "
		    "gateways) is not allowed");
	return 0;
}

/* POST /networks/{id}/disconnect: Force is refused. */
static int
inspect_network_disconnect(struct insp *in, json_t *top)
{
	const char	*s;
	int		 x = 0;

	if (rd_str(in, top, "Container", &s) == -1 ||
	    rd_bool(in, top, "Force", &x) == -1)
		return -1;
	if (x && !in->b->net_allow_disconnect_force)
		return deny(in, 403, "forced network disconnects are not "
		    "allowed");
	return 0;
}

/* ---- image pull ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Go's QueryUnescape of s[0..n) into out; -1 on a bad escape or NUL. */
static int
qs_unescape(const char *s, size_t n, char *out, size_t outsz)
{
	size_t	i, w = 0;
	int	hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (c == '\0' || w + 1 >= outsz)
			return -1;
		out[w++] = (char)c;
	}
	out[w] = '\0';
	return 0;
}

/* Every '%' of s[0..n) starts a valid escape. */
static int
qs_escapes_ok(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (s[i] != '%')
			continue;
		if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
			return 0;
		i += 2;
	}
	return 1;
}

/*
 * The first value of key in a raw query.  1 found, 0 absent, -1 when the
 * query is one Go's parser would refuse (bad escape, ';') or a value is
 * too long.
 */
int
pol_query_get(const char *q, const char *key, char *out, size_t outsz)
{
	const char	*p, *amp, *eq;
	char		 k[256];
	int		 found = 0;
	size_t		 n;

	out[0] = '\0';
	if (*q == '?')
		q++;
	for (p = q; p != NULL && *p != '\0'; p = amp == NULL ? NULL : amp + 1) {
		amp = strchr(p, '&');
		n = amp == NULL ? strlen(p) : (size_t)(amp - p);
		if (n == 0)
			continue;
		if (memchr(p, ';', n) != NULL)
			return -1;
		eq = memchr(p, '=', n);
		if (qs_unescape(p, eq == NULL ? n : (size_t)(eq - p), k,
		    sizeof(k)) == -1) {
			if (eq == NULL || (size_t)(eq - p) < sizeof(k))
				return -1;
			continue;	/* a key this long is not ours */
		}
		if (strcmp(k, key) != 0 || found) {
			/* Still refuse what Go would refuse. */
			if (eq != NULL && !qs_escapes_ok(eq + 1,
			    n - (size_t)(eq - p) - 1))
				return -1;
			continue;
		}
		found = 1;
		if (eq != NULL && qs_unescape(eq + 1, n - (size_t)(eq - p) - 1,
		    out, outsz) == -1)
			return -1;
	}
	return found;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/*
 * Registry of an image reference (digest and tag removed): the first of
 * several '/'-segments when it has '.' or ':', is localhost, or has an
 * upper-case letter (Docker's reference parser takes it as a domain
 * then); docker.io otherwise.  *official: docker.io and one segment or
 * library/<name>.
 */
void
pol_image_registry(const char *ref, char *reg, size_t regsz, int *official)
{
	char	 buf[QUERY_VAL_MAX], *slash, *c, *rest;
	size_t	 i;
	int	 dom = 0;

	pw_strlcpy(buf, ref, sizeof(buf));
	if ((c = strchr(buf, '@')) != NULL)
		*c = '\0';
	slash = strrchr(buf, '/');
	if ((c = strrchr(buf, ':')) != NULL && (slash == NULL || c > slash))
		*c = '\0';
	rest = buf;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		if (strpbrk(buf, ".:") != NULL ||
		    strcasecmp(buf, "localhost") == 0)
			dom = 1;
		for (i = 0; buf[i] != '\0'; i++)
			if (isupper((unsigned char)buf[i]))
				dom = 1;
		if (dom) {
			pw_strlcpy(reg, buf, regsz);
			rest = slash + 1;
		} else
			*slash = '/';
	}
	if (!dom)
		pw_strlcpy(reg, "docker.io", regsz);
	lower(reg);
	if (strcmp(reg, "index.docker.io") == 0)
		pw_strlcpy(reg, "docker.io", regsz);
	*official = strcmp(reg, "docker.io") == 0 &&
	    (strchr(rest, '/') == NULL || (strncmp(rest, "library/", 8) == 0 &&
	    strchr(rest + 8, '/') == NULL));
}

static int
registry_allowed(const struct pol_body *b, const char *reg, int official)
{
	if (b->allow_all_registries)
		return 1;
	if (official && b->allow_official)
		return 1;
	return list_has(&b->allowed_registries, reg);
}

/* Standard or URL-safe base64, padded or not (Go's four encodings). */
static uint8_t *
regauth_b64(const char *s, size_t *outlen)
{
	size_t	 n = strlen(s), i, pad = 0;
	char	*t;
	uint8_t	*out;
	int	 r;

	while (n > 0 && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (n == 0 || n % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0))
		return NULL;
	t = xmalloc(n + 4);
	for (i = 0; i < n; i++) {
		int	c = (unsigned char)s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!isalnum(c) && c != '+' && c != '/') {
			free(t);
			return NULL;
		}
		t[i] = (char)c;
	}
	pad = 0;
	while ((n + pad) % 4 != 0)
		t[n + pad++] = '=';
	t[n + pad] = '\0';
	out = xmalloc(n + pad);
	r = EVP_DecodeBlock(out, (unsigned char *)t, (int)(n + pad));
	free(t);
	if (r < 0 || (size_t)r < pad) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)r - pad;
	return out;
}

/* Host of a serveraddress: scheme and path dropped, lower-cased. */
static void
server_host(const char *addr, char *host, size_t hostsz)
{
	if (strncasecmp(addr, "https://", 8) == 0)
		addr += 8;
	else if (strncasecmp(addr, "http://", 7) == 0)
		addr += 7;
	pw_strlcpy(host, addr, hostsz);
	host[strcspn(host, "/")] = '\0';
	lower(host);
	if (strcmp(host, "index.docker.io") == 0)
		pw_strlcpy(host, "docker.io", hostsz);
}

static int
check_regauth(struct insp *in, const char *hdr)
{
	const struct pol_body	*b = in->b;
	uint8_t			*raw;
	size_t			 rawlen;
	json_t			*v = NULL;
	const char		*addr;
	char			 host[256];
	int			 rc = -1;

	if (hdr == NULL || *hdr == '\0')
		return 0;
	if (strlen(hdr) > REGAUTH_MAX)
		return deny(in, 403, "X-Registry-Auth header too large");
	if ((raw = regauth_b64(hdr, &rawlen)) == NULL)
		return deny(in, 403, "X-Registry-Auth is not valid base64");
	if (gj_decode(raw, rawlen, &v) != GJ_DEC_OK ||
	    !(json_is_object(v) || json_is_null(v))) {
		deny(in, 403, "X-Registry-Auth is not a JSON object");
		goto out;
	}
	if (gj_str(v, "serveraddress", &addr) == GJ_TYPE) {
		deny(in, 403, "X-Registry-Auth is not a JSON object");
		goto out;
	}
	if (*addr != '\0' && !b->allow_all_registries &&
	    b->allowed_registries.n > 0) {
		server_host(addr, host, sizeof(host));
		if (!list_has(&b->allowed_registries, host) &&
		    !(strcmp(host, "docker.io") == 0 && b->allow_official)) {
			deny(in, 403, "X-Registry-Auth server address is not "
			    "in allowed_registries");
			goto out;
		}
	}
	rc = 0;
 out:
	json_decref(v);
	freezero(raw, rawlen);
	return rc;
}

static int
inspect_images_create(struct insp *in, const char *query, const char *regauth)
{
	const struct pol_body	*b = in->b;
	char			 val[QUERY_VAL_MAX], reg[QUERY_VAL_MAX];
	int			 r, official;

	if (query != NULL) {
		if ((r = pol_query_get(query, "fromSrc", val,
		    sizeof(val))) == -1)
			return deny(in, 403, "malformed query");
		if (r == 1 && *val != '\0' && !b->allow_imports)
			return deny(in, 403,
			    "image import (fromSrc) is not allowed");
		if ((r = pol_query_get(query, "fromImage", val,
		    sizeof(val))) == -1)
			return deny(in, 403, "malformed query");
		if (r == 1 && *val != '\0') {
			pol_image_registry(val, reg, sizeof(reg), &official);
			if (!registry_allowed(b, reg, official))
				return denyf(in, "registry ",
			    reg, " is not in allowed_registries");
		}
	}
	return check_regauth(in, regauth);
}

/* ---- entry ---- */

/*
 * Go's ParseForm, which dockerd calls before reading query parameters,
 * also reads an application/x-www-form-urlencoded POST body into the
 * same form, and body values come first: a pull whose query names an
 * allowed image could carry another fromImage in its body.  For an
 * endpoint judged by its query such a body is refused.
 */
int
pol_query_body_refused(enum pol_insp insp, const char *ctype)
{
	char	buf[128];
	size_t	n;

	if (insp != PI_IMAGES_CREATE || ctype == NULL)
		return 0;
	n = strcspn(ctype, ";");
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, ctype, n);
	buf[n] = '\0';
	return strcasecmp(trim_to(buf, buf, sizeof(buf)),
	    "application/x-www-form-urlencoded") == 0;
}

void
pol_inspect(const struct pol_body *b, enum pol_insp insp, const char *npath,
    const char *query, const char *regauth, const uint8_t *body, size_t len,
    int blind_ack, struct pol_verdict *v)
{
	struct insp	 in = { b, v };
	json_t		*top = NULL;
	size_t		 cap;
	int		 r;

	memset(v, 0, sizeof(*v));
	switch (insp) {
	case PI_NONE:
		return;
	case PI_BLIND:
		if (!blind_ack)
			deny(&in, 403, "request body of this endpoint is not "
			    "inspected (insecure_allow_body_blind_writes "
			    "is off)");
		return;
	case PI_IMAGES_CREATE:
		inspect_images_create(&in, query, regauth);
		return;
	case PI_EXEC_STORED:
		if (len == 0) {
			deny(&in, 403, "the stored exec has no process to "
			    "judge");
			return;
		}
		break;
	case PI_BUILD:
		if (len > pol_inspector_cap(insp)) {
			deny(&in, 413, R_TOO_LARGE);
			return;
		}
		pol_inspect_build(b, query, body, len, v);
		return;
	case PI_PLUGIN_CREATE:
		if (len > pol_inspector_cap(insp)) {
			deny(&in, 413, R_TOO_LARGE);
			return;
		}
		pol_inspect_plugin_create(b, body, len, v);
		return;
	case PI_PLUGIN_PRIVS:
		/* The remote reference is judged whatever the body. */
		pol_inspect_plugin_query(b, npath, query, v);
		if (v->status != 0)
			return;
		break;
	case PI_EXEC_START:
		/* The start of an exec no allowlist could have admitted. */
		if (b->exec_nallowed_commands == 0 && !blind_ack) {
			deny(&in, 403, "no commands are allowlisted");
			return;
		}
		break;
	default:
		break;
	}
	cap = pol_inspector_cap(insp);
	if (len > cap) {
		deny(&in, 413, R_TOO_LARGE);
		return;
	}
	if (len == 0)
		return;		/* Docker refuses it itself. */
	if (insp == PI_EXEC_CREATE && b->exec_nallowed_commands == 0 &&
	    !blind_ack) {
		deny(&in, 403, "no commands are allowlisted");
		return;
	}
	if ((r = gj_decode(body, len, &top)) != GJ_DEC_OK) {
		deny(&in, r == GJ_DEC_DUP ? 400 : 403,
		    r == GJ_DEC_DUP ? R_DUP : R_MALFORMED);
		return;
	}
	if ((insp >= PI_SERVICE && insp <= PI_PLUGIN_PRIVS) ||
	    insp == PI_PLUGIN_SET) {
		pol_inspect_swarm(b, insp, npath, query, top, v);
		json_decref(top);
		return;
	}
	if (json_is_null(top)) {
		json_decref(top);
		return;		/* Go leaves the struct empty. */
	}
	if (!json_is_object(top)) {
		json_decref(top);
		malformed(&in);
		return;
	}
	switch (insp) {
	case PI_CONTAINER_CREATE:
		inspect_container_create(&in, top);
		break;
	case PI_CONTAINER_UPDATE:
		inspect_container_update(&in, top);
		break;
	case PI_EXEC_CREATE:
		inspect_exec_create(&in, top, blind_ack);
		break;
	case PI_EXEC_START:
		inspect_exec_start(&in, top);
		break;
	case PI_NETWORK_CONNECT:
		inspect_network_connect(&in, top);
		break;
	case PI_VOLUME_CREATE:
		inspect_volume_create(&in, top);
		break;
	case PI_NETWORK_CREATE:
		inspect_network_create(&in, top);
		break;
	case PI_NETWORK_DISCONNECT:
		inspect_network_disconnect(&in, top);
		break;
	case PI_EXEC_STORED:
		inspect_exec_stored(&in, top, blind_ack);
		break;
	default:
		break;
	}
	json_decref(top);
}
