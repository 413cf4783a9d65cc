/*
 * pbody.c: the request_body section of a policy (reference §5): safe
 * defaults, and the loader from a libyaml document.  Runs wherever the
 * policy is loaded (the master, -n) and in the policy process.
 *
 * Keys are matched without regard to case.  A key of an implemented
 * subsection that is not known is an error naming the dotted key and
 * the line; the subsections (and the few keys) of sockguard's schema
 * that portwing does not inspect are accepted and reported back so the
 * loader can warn that they have no effect.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "inspect_int.h"
#include "util.h"

#define PB_ITEM_MAX	4096	/* list entries per key */

enum pb_kind {
	PB_BOOL,
	PB_LIST,		/* strings as written */
	PB_PATHS,		/* absolute paths, cleaned */
	PB_CAPS,		/* capability names, normalised */
	PB_CGRULES,		/* device cgroup rules */
	PB_REGISTRIES,		/* bare registry hosts, lower-cased */
	PB_COMMANDS,		/* exec argv templates */
	PB_IGNORED		/* sockguard key portwing does not use */
};

struct pb_key {
	const char	*name;
	enum pb_kind	 kind;
	size_t		 off;
};

#define B(f)	offsetof(struct pol_body, f)

static const struct pb_key pb_container_create[] = {
	{ "allow_privileged", PB_BOOL, B(allow_privileged) },
	{ "allow_host_network", PB_BOOL, B(allow_host_network) },
	{ "allow_host_pid", PB_BOOL, B(allow_host_pid) },
	{ "allow_host_ipc", PB_BOOL, B(allow_host_ipc) },
	{ "allow_host_userns", PB_BOOL, B(allow_host_userns) },
	{ "allow_host_cgroupns", PB_BOOL, B(allow_host_cgroupns) },
	{ "restrict_namespace_sharing", PB_BOOL, B(restrict_namespace_sharing) },
	{ "allowed_namespace_sharing_containers", PB_LIST,
	    B(allowed_namespace_sharing_containers) },
	{ "deny_namespace_path_mode", PB_BOOL, B(deny_namespace_path_mode) },
	{ "allow_sysctls", PB_BOOL, B(allow_sysctls) },
	{ "allowed_runtimes", PB_LIST, B(allowed_runtimes) },
	{ "allow_device_requests", PB_BOOL, B(allow_device_requests) },
	{ "allowed_device_requests", PB_IGNORED, 0 },
	{ "allow_device_cgroup_rules", PB_BOOL, B(allow_device_cgroup_rules) },
	{ "allowed_device_cgroup_rules", PB_CGRULES,
	    B(allowed_device_cgroup_rules) },
	{ "allow_all_devices", PB_BOOL, B(allow_all_devices) },
	{ "allowed_devices", PB_PATHS, B(allowed_devices) },
	{ "allowed_bind_mounts", PB_PATHS, B(allowed_bind_mounts) },
	{ "allow_tmpfs_privileged_options", PB_BOOL,
	    B(allow_tmpfs_privileged_options) },
	{ "allow_all_capabilities", PB_BOOL, B(allow_all_capabilities) },
	{ "allowed_capabilities", PB_CAPS, B(allowed_capabilities) },
	{ "deny_unconfined_seccomp", PB_BOOL, B(deny_unconfined_seccomp) },
	{ "allowed_seccomp_profiles", PB_LIST, B(allowed_seccomp_profiles) },
	{ "deny_unconfined_apparmor", PB_BOOL, B(deny_unconfined_apparmor) },
	{ "allowed_apparmor_profiles", PB_LIST, B(allowed_apparmor_profiles) },
	{ "deny_selinux_disable", PB_BOOL, B(deny_selinux_disable) },
	{ "deny_selinux_label_override", PB_BOOL,
	    B(deny_selinux_label_override) },
	{ "deny_unconfined_system_paths", PB_BOOL,
	    B(deny_unconfined_system_paths) },
	{ "require_no_new_privileges", PB_BOOL, B(require_no_new_privileges) },
	{ "require_non_root_user", PB_BOOL, B(require_non_root_user) },
	{ "require_readonly_rootfs", PB_BOOL, B(require_readonly_rootfs) },
	{ "require_drop_all_capabilities", PB_BOOL,
	    B(require_drop_all_capabilities) },
	{ "require_memory_limit", PB_BOOL, B(require_memory_limit) },
	{ "require_cpu_limit", PB_BOOL, B(require_cpu_limit) },
	{ "require_cpu_limit_hard", PB_BOOL, B(require_cpu_limit_hard) },
	{ "require_pids_limit", PB_BOOL, B(require_pids_limit) },
	{ "required_labels", PB_LIST, B(required_labels) },
	{ "image_trust", PB_IGNORED, 0 },
	{ NULL, PB_BOOL, 0 }
};

static const struct pb_key pb_container_update[] = {
	{ "allow_privileged", PB_BOOL, B(upd_allow_privileged) },
	{ "allow_devices", PB_BOOL, B(upd_allow_devices) },
	{ "allow_all_devices", PB_BOOL, B(upd_allow_devices) },
	{ "allow_capabilities", PB_BOOL, B(upd_allow_capabilities) },
	{ "allow_restart_policy", PB_BOOL, B(upd_allow_restart_policy) },
	{ "allow_resource_updates", PB_BOOL, B(upd_allow_resource_updates) },
	{ NULL, PB_BOOL, 0 }
};

static const struct pb_key pb_endpoint_config[] = {
	{ "allow_static_addressing", PB_BOOL, B(ep_allow_static_addressing) },
	{ "allow_link_local_ips", PB_BOOL, B(ep_allow_link_local_ips) },
	{ "allow_mac_pinning", PB_BOOL, B(ep_allow_mac_pinning) },
	{ "allow_gw_priority", PB_BOOL, B(ep_allow_gw_priority) },
	{ "allow_aliases", PB_BOOL, B(ep_allow_aliases) },
	{ NULL, PB_BOOL, 0 }
};

static const struct pb_key pb_exec[] = {
	{ "allow_privileged", PB_BOOL, B(exec_allow_privileged) },
	{ "allow_root_user", PB_BOOL, B(exec_allow_root_user) },
	{ "allowed_commands", PB_COMMANDS, 0 },
	{ "allowed_env_vars", PB_LIST, B(exec_allowed_env_vars) },
	{ "denied_env_vars", PB_LIST, B(exec_denied_env_vars) },
	{ "allowed_env_values", PB_LIST, B(exec_allowed_env_values) },
	{ NULL, PB_BOOL, 0 }
};

static const struct pb_key pb_image_pull[] = {
	{ "allow_imports", PB_BOOL, B(allow_imports) },
	{ "allow_all_registries", PB_BOOL, B(allow_all_registries) },
	{ "allow_official", PB_BOOL, B(allow_official) },
	{ "allowed_registries", PB_REGISTRIES, B(allowed_registries) },
	{ NULL, PB_BOOL, 0 }
};

static const struct pb_key pb_volume[] = {
	{ "allow_custom_drivers", PB_BOOL, B(vol_allow_custom_drivers) },
	{ "allow_driver_opts", PB_BOOL, B(vol_allow_driver_opts) },
	{ NULL, PB_BOOL, 0 }
};

/* request_body.network keys for network create and disconnect. */
static const struct pb_key pb_network_create[] = {
	{ "allow_custom_drivers", PB_BOOL, B(net_allow_custom_drivers) },
	{ "allow_swarm_scope", PB_BOOL, B(net_allow_swarm_scope) },
	{ "allow_ingress", PB_BOOL, B(net_allow_ingress) },
	{ "allow_attachable", PB_BOOL, B(net_allow_attachable) },
	{ "allow_config_only", PB_BOOL, B(net_allow_config_only) },
	{ "allow_config_from", PB_BOOL, B(net_allow_config_from) },
	{ "allow_custom_ipam_drivers", PB_BOOL, B(net_allow_custom_ipam_drivers) },
	{ "allow_custom_ipam_config", PB_BOOL, B(net_allow_custom_ipam_config) },
	{ "allow_ipam_options", PB_BOOL, B(net_allow_ipam_options) },
	{ "allow_driver_options", PB_BOOL, B(net_allow_driver_options) },
	{ "allow_disconnect_force", PB_BOOL, B(net_allow_disconnect_force) },
	{ "allow_disable_ipv4", PB_BOOL, B(net_allow_disable_ipv4) },
	{ NULL, PB_BOOL, 0 }
};

/* request_body.service: the task template of services create/update. */
static const struct pb_key pb_service[] = {
	{ "allow_host_network", PB_BOOL, B(svc_allow_host_network) },
	{ "allowed_bind_mounts", PB_PATHS, B(svc_allowed_bind_mounts) },
	{ "allow_all_registries", PB_BOOL, B(svc_allow_all_registries) },
	{ "allow_official", PB_BOOL, B(svc_allow_official) },
	{ "allowed_registries", PB_REGISTRIES, B(svc_allowed_registries) },
	{ "allow_all_capabilities", PB_BOOL, B(svc_allow_all_capabilities) },
	{ "allowed_capabilities", PB_CAPS, B(svc_allowed_capabilities) },
	{ "allow_sysctls", PB_BOOL, B(svc_allow_sysctls) },
	{ "require_non_root_user", PB_BOOL, B(svc_require_non_root_user) },
	{ "require_no_new_privileges", PB_BOOL,
	    B(svc_require_no_new_privileges) },
	{ "require_readonly_rootfs", PB_BOOL, B(svc_require_readonly_rootfs) },
	{ "require_drop_all_capabilities", PB_BOOL,
	    B(svc_require_drop_all_capabilities) },
	{ "deny_unconfined_seccomp", PB_BOOL, B(svc_deny_unconfined_seccomp) },
	{ "deny_custom_seccomp_profiles", PB_BOOL,
	    B(svc_deny_custom_seccomp_profiles) },
	{ "deny_unconfined_apparmor", PB_BOOL, B(svc_deny_unconfined_apparmor) },
	{ "deny_selinux_disable", PB_BOOL, B(svc_deny_selinux_disable) },
	{ "deny_selinux_label_override", PB_BOOL,
	    B(svc_deny_selinux_label_override) },
	{ "image_trust", PB_IGNORED, 0 },
	{ "require_cpu_limit", PB_IGNORED, 0 },
	{ "require_cpu_limit_hard", PB_IGNORED, 0 },
	{ NULL, PB_BOOL, 0 }
};

static const struct pb_key pb_swarm[] = {
	{ "allow_force_new_cluster", PB_BOOL, B(sw_allow_force_new_cluster) },
	{ "allow_external_ca", PB_BOOL, B(sw_allow_external_ca) },
	{ "allowed_join_remote_addrs", PB_LIST,
	    B(sw_allowed_join_remote_addrs) },
	{ "allow_token_rotation", PB_BOOL, B(sw_allow_token_rotation) },
	{ "allow_manager_unlock_key_rotation", PB_BOOL,
	    B(sw_allow_manager_unlock_key_rotation) },
	{ "allow_auto_lock_managers", PB_BOOL, B(sw_allow_auto_lock_managers) },
	{ "allow_signing_ca_update", PB_BOOL, B(sw_allow_signing_ca_update) },
	{ "allow_unlock", PB_BOOL, B(sw_allow_unlock) },
	{ NULL, PB_BOOL, 0 }
};

static const struct pb_key pb_secret[] = {
	{ "allow_custom_drivers", PB_BOOL, B(sec_allow_custom_drivers) },
	{ "allow_template_drivers", PB_BOOL, B(sec_allow_template_drivers) },
	{ NULL, PB_BOOL, 0 }
};

static const struct pb_key pb_config[] = {
	{ "allow_custom_drivers", PB_BOOL, B(cfg_allow_custom_drivers) },
	{ "allow_template_drivers", PB_BOOL, B(cfg_allow_template_drivers) },
	{ NULL, PB_BOOL, 0 }
};

/* request_body.plugin: plugin pull, upgrade, create and set. */
static const struct pb_key pb_plugin[] = {
	{ "allow_host_network", PB_BOOL, B(plg_allow_host_network) },
	{ "allow_host_ipc", PB_BOOL, B(plg_allow_host_ipc) },
	{ "allow_host_pid", PB_BOOL, B(plg_allow_host_pid) },
	{ "allow_all_devices", PB_BOOL, B(plg_allow_all_devices) },
	{ "allowed_bind_mounts", PB_PATHS, B(plg_allowed_bind_mounts) },
	{ "allowed_devices", PB_PATHS, B(plg_allowed_devices) },
	{ "allow_all_capabilities", PB_BOOL, B(plg_allow_all_capabilities) },
	{ "allowed_capabilities", PB_CAPS, B(plg_allowed_capabilities) },
	{ "allow_all_registries", PB_BOOL, B(plg_allow_all_registries) },
	{ "allow_official", PB_BOOL, B(plg_allow_official) },
	{ "allowed_registries", PB_REGISTRIES, B(plg_allowed_registries) },
	{ "allowed_set_env_prefixes", PB_LIST,
	    B(plg_allowed_set_env_prefixes) },
	{ NULL, PB_BOOL, 0 }
};

static const struct pb_key pb_build[] = {
	{ "allow_remote_context", PB_BOOL, B(build_allow_remote_context) },
	{ "allow_host_network", PB_BOOL, B(build_allow_host_network) },
	{ "allow_run_instructions", PB_BOOL,
	    B(build_allow_run_instructions) },
	{ NULL, PB_BOOL, 0 }
};

#undef B

/* Subsections of sockguard's request_body that portwing does not inspect. */
static const char *const pb_unimplemented[] = {
	"node", "archive", "container_archive", "image_load", "libpod",
	"buildkit", "image_trust", "image_push", "libpod_network",
	"libpod_container_create", "libpod_volume", "libpod_secret",
	"libpod_pod",
};


struct pb_ctx {
	struct pol_body	 *b;
	yaml_document_t	 *doc;
	char		***ignored;
	size_t		   nignored;
	char		 *err;
	size_t		  errsz;
};

void
pol_body_init(struct pol_body *b)
{
	memset(b, 0, sizeof(*b));
	b->allow_official = 1;
	b->ep_allow_aliases = 1;
	b->svc_allow_official = 1;
	b->plg_allow_official = 1;
}

static void
strlist_free(struct pol_strlist *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
commands_free(struct pol_body *b)
{
	size_t	i, j;

	for (i = 0; i < b->exec_nallowed_commands; i++) {
		for (j = 0; j < b->exec_allowed_commands[i].n; j++)
			free(b->exec_allowed_commands[i].tok[j]);
		free(b->exec_allowed_commands[i].tok);
	}
	free(b->exec_allowed_commands);
	b->exec_allowed_commands = NULL;
	b->exec_nallowed_commands = 0;
}

void
pol_body_free(struct pol_body *b)
{
	if (b == NULL)
		return;
	strlist_free(&b->allowed_namespace_sharing_containers);
	strlist_free(&b->allowed_runtimes);
	strlist_free(&b->allowed_device_cgroup_rules);
	strlist_free(&b->allowed_devices);
	strlist_free(&b->allowed_bind_mounts);
	strlist_free(&b->allowed_capabilities);
	strlist_free(&b->allowed_seccomp_profiles);
	strlist_free(&b->allowed_apparmor_profiles);
	strlist_free(&b->required_labels);
	strlist_free(&b->exec_allowed_env_vars);
	strlist_free(&b->exec_denied_env_vars);
	strlist_free(&b->exec_allowed_env_values);
	strlist_free(&b->allowed_registries);
	strlist_free(&b->svc_allowed_bind_mounts);
	strlist_free(&b->svc_allowed_registries);
	strlist_free(&b->svc_allowed_capabilities);
	strlist_free(&b->sw_allowed_join_remote_addrs);
	strlist_free(&b->plg_allowed_bind_mounts);
	strlist_free(&b->plg_allowed_devices);
	strlist_free(&b->plg_allowed_capabilities);
	strlist_free(&b->plg_allowed_registries);
	strlist_free(&b->plg_allowed_set_env_prefixes);
	commands_free(b);
	pol_body_init(b);
}

void
pol_strv_free(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* dst = a "." b (cut to sz). */
static void
pb_join(char *dst, size_t sz, const char *a, const char *b)
{
	pw_strlcpy(dst, a, sz);
	pw_strlcat(dst, ".", sz);
	pw_strlcat(dst, b, sz);
}

/* dst = key "[" i "]" (cut to sz). */
static void
pb_index(char *dst, size_t sz, const char *key, size_t i)
{
	char	num[32];

	snprintf(num, sizeof(num), "[%zu]", i);
	pw_strlcpy(dst, key, sz);
	pw_strlcat(dst, num, sz);
}

static int
pb_err(struct pb_ctx *c, const char *key, yaml_node_t *n, const char *msg)
{
	snprintf(c->err, c->errsz, "%s (line %lu): %s", key,
	    n == NULL ? 0UL : (unsigned long)n->start_mark.line + 1, msg);
	return -1;
}

static yaml_node_t *
pb_node(struct pb_ctx *c, int i)
{
	return yaml_document_get_node(c->doc, i);
}

static const char *
pb_scalar(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ?
	    (const char *)n->data.scalar.value : NULL;
}

/* An empty value, ~ or null, unquoted. */
static int
pb_is_null(yaml_node_t *n)
{
	const char	*s = pb_scalar(n);

	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return *s == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

static void
pb_ignore(struct pb_ctx *c, const char *dotted)
{
	if (c->ignored == NULL)
		return;
	*c->ignored = xreallocarray(*c->ignored, c->nignored + 2,
	    sizeof(char *));
	(*c->ignored)[c->nignored++] = xstrdup(dotted);
	(*c->ignored)[c->nignored] = NULL;
}

/*
 * A section portwing does not implement: ignored with a warning, except
 * image trust in enforce mode, which is refused: ignoring it would admit
 * the unverified images the operator asked to keep out.
 */
static int
pb_unsupported(struct pb_ctx *c, const char *key, yaml_node_t *v)
{
	yaml_node_pair_t	*p;
	const char		*name, *val;
	char			 mkey[256];

	if (v != NULL && v->type == YAML_MAPPING_NODE &&
	    strstr(key, "image_trust") != NULL)
		for (p = v->data.mapping.pairs.start;
		    p < v->data.mapping.pairs.top; p++) {
			name = pb_scalar(pb_node(c, p->key));
			val = pb_scalar(pb_node(c, p->value));
			if (name == NULL || strcasecmp(name, "mode") != 0 ||
			    val == NULL || strcasecmp(val, "enforce") != 0)
				continue;
			pb_join(mkey, sizeof(mkey), key, "mode");
			return pb_err(c, mkey, pb_node(c, p->value),
			    "enforce is not implemented by portwing (no "
			    "signature verification); use mode off or remove "
			    "the section");
		}
	pb_ignore(c, key);
	return 0;
}

static int
pb_bool(struct pb_ctx *c, const char *key, yaml_node_t *n, int *out)
{
	const char	*s = pb_scalar(n);

	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    pw_parse_bool(s, out) == -1)
		return pb_err(c, key, n, "must be true or false");
	return 0;
}

/* One list entry, checked and normalised for its kind; NULL on error. */
static char *
pb_item(struct pb_ctx *c, enum pb_kind kind, const char *key, yaml_node_t *n)
{
	const char	*s = pb_scalar(n);
	char		 buf[4096];
	struct cgrule	 r;
	size_t		 i;

	if (s == NULL || pb_is_null(n) || n->data.scalar.length != strlen(s)) {
		pb_err(c, key, n, "must be a non-empty string");
		return NULL;
	}
	switch (kind) {
	case PB_PATHS:
		if (s[0] != '/' || pol_path_clean(s, buf, sizeof(buf)) == -1) {
			pb_err(c, key, n, "must be an absolute path");
			return NULL;
		}
		return xstrdup(buf);
	case PB_CAPS:
		pol_cap_norm(s, buf, sizeof(buf));
		if (buf[0] == '\0') {
			pb_err(c, key, n, "must be a capability name");
			return NULL;
		}
		return xstrdup(buf);
	case PB_CGRULES:
		if (pol_cgrule_parse(s, &r) == -1) {
			pb_err(c, key, n, "must be a device cgroup rule "
			    "(\"c 1:3 rwm\")");
			return NULL;
		}
		return xstrdup(s);
	case PB_REGISTRIES:
		for (i = 0; s[i] != '\0'; i++)
			if (s[i] == '/' || isspace((unsigned char)s[i]) ||
			    !isprint((unsigned char)s[i]))
				break;
		if (s[i] != '\0' || strlen(s) >= 256) {
			pb_err(c, key, n, "must be a bare registry host "
			    "(no scheme or path)");
			return NULL;
		}
		pw_strlcpy(buf, s, sizeof(buf));
		for (i = 0; buf[i] != '\0'; i++)
			buf[i] = (char)tolower((unsigned char)buf[i]);
		if (strcmp(buf, "index.docker.io") == 0)
			pw_strlcpy(buf, "docker.io", sizeof(buf));
		return xstrdup(buf);
	default:
		return xstrdup(s);
	}
}

static int
pb_list(struct pb_ctx *c, enum pb_kind kind, const char *key, yaml_node_t *n,
    struct pol_strlist *l)
{
	yaml_node_item_t	*it;
	char			 ikey[512];
	char			*v;
	size_t			 i, cnt;

	strlist_free(l);
	if (pb_is_null(n))
		return 0;
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return pb_err(c, key, n, "must be a list");
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt > PB_ITEM_MAX)
		return pb_err(c, key, n, "too many entries");
	l->v = xreallocarray(NULL, cnt + 1, sizeof(char *));
	for (i = 0, it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++, i++) {
		pb_index(ikey, sizeof(ikey), key, i);
		if ((v = pb_item(c, kind, ikey, pb_node(c, *it))) == NULL)
			return -1;
		l->v[l->n++] = v;
	}
	return 0;
}

static int
pb_commands(struct pb_ctx *c, const char *key, yaml_node_t *n)
{
	struct pol_body		*b = c->b;
	yaml_node_item_t	*it, *jt;
	yaml_node_t		*t;
	struct pol_argv		*a;
	char			 ikey[512];
	size_t			 cnt, i;

	commands_free(b);
	if (pb_is_null(n))
		return 0;
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return pb_err(c, key, n, "must be a list of argv lists");
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt > PB_ITEM_MAX)
		return pb_err(c, key, n, "too many entries");
	b->exec_allowed_commands = xcalloc(cnt + 1, sizeof(*a));
	for (i = 0, it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++, i++) {
		pb_index(ikey, sizeof(ikey), key, i);
		t = pb_node(c, *it);
		if (t == NULL || t->type != YAML_SEQUENCE_NODE ||
		    t->data.sequence.items.top == t->data.sequence.items.start)
			return pb_err(c, ikey, t, "must be a non-empty argv list");
		a = &b->exec_allowed_commands[b->exec_nallowed_commands++];
		a->tok = xcalloc((size_t)(t->data.sequence.items.top -
		    t->data.sequence.items.start), sizeof(char *));
		for (jt = t->data.sequence.items.start;
		    jt < t->data.sequence.items.top; jt++) {
			char	tkey[600];

			pb_index(tkey, sizeof(tkey), ikey, a->n);
			if ((a->tok[a->n] = pb_item(c, PB_LIST, tkey,
			    pb_node(c, *jt))) == NULL)
				return -1;
			a->n++;
		}
	}
	return 0;
}

/* A mapping's keys, refusing a key given twice (in any case). */
static int
pb_dupkeys(struct pb_ctx *c, const char *prefix, yaml_node_t *map)
{
	yaml_node_pair_t	*p, *q;
	const char		*k1, *k2;
	char			 key[512];

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		if ((k1 = pb_scalar(pb_node(c, p->key))) == NULL)
			return pb_err(c, prefix, pb_node(c, p->key),
			    "keys must be strings");
		for (q = p + 1; q < map->data.mapping.pairs.top; q++) {
			k2 = pb_scalar(pb_node(c, q->key));
			if (k2 != NULL && strcasecmp(k1, k2) == 0) {
				pb_join(key, sizeof(key), prefix, k2);
				return pb_err(c, key, pb_node(c, q->key),
				    "key given twice");
			}
		}
	}
	return 0;
}

/* A mapping node (or nothing); -1 with err for any other value. */
static int
pb_mapping(struct pb_ctx *c, const char *prefix, yaml_node_t *n, int *empty)
{
	*empty = 0;
	if (pb_is_null(n)) {
		*empty = 1;
		return 0;
	}
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return pb_err(c, prefix, n, "must be a mapping");
	/* Bounded: a policy file is at most a MiB. */
	return pb_dupkeys(c, prefix, n);
}

static int
pb_section(struct pb_ctx *c, const char *prefix, yaml_node_t *map,
    const struct pb_key *keys)
{
	yaml_node_pair_t	*p;
	const struct pb_key	*k;
	yaml_node_t		*v;
	const char		*name;
	char			 key[512];
	int			 empty;

	if (pb_mapping(c, prefix, map, &empty) == -1)
		return -1;
	if (empty)
		return 0;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		name = pb_scalar(pb_node(c, p->key));
		v = pb_node(c, p->value);
		pb_join(key, sizeof(key), prefix, name);
		for (k = keys; k->name != NULL; k++)
			if (strcasecmp(k->name, name) == 0)
				break;
		if (k->name == NULL)
			return pb_err(c, key, pb_node(c, p->key), "unknown key");
		pb_join(key, sizeof(key), prefix, k->name);
		switch (k->kind) {
		case PB_BOOL:
			if (pb_bool(c, key, v,
			    (int *)(void *)((char *)c->b + k->off)) == -1)
				return -1;
			break;
		case PB_COMMANDS:
			if (pb_commands(c, key, v) == -1)
				return -1;
			break;
		case PB_IGNORED:
			if (pb_unsupported(c, key, v) == -1)
				return -1;
			break;
		default:
			if (pb_list(c, k->kind, key, v, (struct pol_strlist *)
			    (void *)((char *)c->b + k->off)) == -1)
				return -1;
			break;
		}
	}
	return 0;
}

static int
pb_in(const char *const *v, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v[i], name) == 0)
			return 1;
	return 0;
}

/* The key of a table, by name (case-insensitive, as Viper reads YAML). */
static const struct pb_key *
pb_find(const struct pb_key *t, const char *name)
{
	for (; t->name != NULL; t++)
		if (strcasecmp(t->name, name) == 0)
			return t;
	return NULL;
}

static int
pb_network(struct pb_ctx *c, const char *prefix, yaml_node_t *map)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*v, *epnode = NULL;
	const struct pb_key	*k;
	const char		*name;
	char			 key[512];
	int			 empty;

	if (pb_mapping(c, prefix, map, &empty) == -1)
		return -1;
	if (empty)
		return 0;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		name = pb_scalar(pb_node(c, p->key));
		v = pb_node(c, p->value);
		if (strcasecmp(name, "allow_endpoint_config") == 0) {
			pb_join(key, sizeof(key), prefix, "allow_endpoint_config");
			if (pb_bool(c, key, v, &c->b->allow_endpoint_config) == -1)
				return -1;
		} else if (strcasecmp(name, "endpoint_config") == 0) {
			pb_join(key, sizeof(key), prefix, "endpoint_config");
			if (pb_section(c, key, v, pb_endpoint_config) == -1)
				return -1;
			if (!pb_is_null(v))
				epnode = pb_node(c, p->key);
		} else if ((k = pb_find(pb_network_create, name)) != NULL) {
			pb_join(key, sizeof(key), prefix, name);
			if (pb_bool(c, key, v, (int *)((char *)c->b +
			    k->off)) == -1)
				return -1;
		} else {
			pb_join(key, sizeof(key), prefix, name);
			return pb_err(c, key, pb_node(c, p->key), "unknown key");
		}
	}
	/* Even an empty block: which of the two governs would be a guess. */
	if (c->b->allow_endpoint_config && epnode != NULL) {
		pb_join(key, sizeof(key), prefix, "endpoint_config");
		return pb_err(c, key, epnode, "cannot be set together with "
		    "allow_endpoint_config: true");
	}
	return 0;
}

/* The sections inspect_swarm.c and inspect_build.c read: 0 or -1 when
 * name is one, else 1. */
static int
pb_swarm_sections(struct pb_ctx *c, const char *prefix, const char *name,
    yaml_node_t *v)
{
	static const struct {
		const char		*name;
		const struct pb_key	*keys;
	} t[] = {
		{ "service", pb_service }, { "swarm", pb_swarm },
		{ "secret", pb_secret }, { "config", pb_config },
		{ "plugin", pb_plugin }, { "build", pb_build },
	};
	char	key[512];
	size_t	i;

	for (i = 0; i < nitems(t); i++)
		if (strcasecmp(name, t[i].name) == 0) {
			pb_join(key, sizeof(key), prefix, t[i].name);
			return pb_section(c, key, v, t[i].keys);
		}
	return 1;
}

int
pol_body_load(struct pol_body *b, yaml_document_t *doc, yaml_node_t *map,
    const char *prefix, char ***ignored, char *err, size_t errsz)
{
	struct pb_ctx		 c;
	yaml_node_pair_t	*p;
	yaml_node_t		*v;
	const char		*name;
	char			 key[512];
	int			 empty, r;

	memset(&c, 0, sizeof(c));
	c.b = b;
	c.doc = doc;
	c.ignored = ignored;
	c.err = err;
	c.errsz = errsz;
	if (ignored != NULL && *ignored != NULL)
		while ((*ignored)[c.nignored] != NULL)
			c.nignored++;
	if (prefix == NULL)
		prefix = "request_body";
	if (pb_mapping(&c, prefix, map, &empty) == -1)
		return -1;
	if (empty)
		return 0;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		name = pb_scalar(pb_node(&c, p->key));
		v = pb_node(&c, p->value);
		pb_join(key, sizeof(key), prefix, name);
		if (strcasecmp(name, "container_create") == 0) {
			pb_join(key, sizeof(key), prefix, "container_create");
			r = pb_section(&c, key, v, pb_container_create);
		} else if (strcasecmp(name, "container_update") == 0) {
			pb_join(key, sizeof(key), prefix, "container_update");
			r = pb_section(&c, key, v, pb_container_update);
		} else if (strcasecmp(name, "network") == 0) {
			pb_join(key, sizeof(key), prefix, "network");
			r = pb_network(&c, key, v);
		} else if (strcasecmp(name, "exec") == 0) {
			pb_join(key, sizeof(key), prefix, "exec");
			r = pb_section(&c, key, v, pb_exec);
		} else if (strcasecmp(name, "volume") == 0) {
			pb_join(key, sizeof(key), prefix, "volume");
			r = pb_section(&c, key, v, pb_volume);
		} else if (strcasecmp(name, "image_pull") == 0) {
			pb_join(key, sizeof(key), prefix, "image_pull");
			r = pb_section(&c, key, v, pb_image_pull);
		} else if ((r = pb_swarm_sections(&c, prefix, name, v)) != 1) {
			/* service, swarm, secret, config, plugin */
		} else if (pb_in(pb_unimplemented, nitems(pb_unimplemented),
		    name)) {
			r = pb_unsupported(&c, key, v);
		} else
			r = pb_err(&c, key, pb_node(&c, p->key), "unknown key");
		if (r == -1)
			return -1;
	}
	return 0;
}
