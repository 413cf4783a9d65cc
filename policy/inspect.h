/*
 * inspect.h: request-body inspection (§5 of the policy reference).  The
 * functions here parse JSON sent by clients, so they run only in the
 * policy process (policyd), never in a process that holds Docker
 * connections or key material.  Object keys are matched the way Go's
 * encoding/json binds them (case-insensitive, with Go's Unicode folding),
 * and an object that holds two keys which fold to the same name is
 * refused: Docker would take the last, a reader of the first could be
 * fooled.
 */
#ifndef PW_INSPECT_H
#define PW_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

struct pol_strlist {
	char	**v;
	size_t	  n;
};

/* exec.allowed_commands: argv templates, each token a glob. */
struct pol_argv {
	char	**tok;
	size_t	  n;
};

/*
 * request_body settings.  Every field defaults to the safe value
 * (pol_body_init); names follow the YAML keys.
 */
struct pol_body {
	/* request_body.container_create */
	int			allow_privileged;
	int			allow_host_network;
	int			allow_host_pid;
	int			allow_host_ipc;
	int			allow_host_userns;
	int			allow_host_cgroupns;
	int			restrict_namespace_sharing;
	struct pol_strlist	allowed_namespace_sharing_containers;
	int			deny_namespace_path_mode;
	int			allow_sysctls;
	struct pol_strlist	allowed_runtimes;
	int			allow_device_requests;
	int			allow_device_cgroup_rules;
	struct pol_strlist	allowed_device_cgroup_rules;
	int			allow_all_devices;
	struct pol_strlist	allowed_devices;
	struct pol_strlist	allowed_bind_mounts;
	int			allow_tmpfs_privileged_options;
	int			allow_all_capabilities;
	struct pol_strlist	allowed_capabilities;
	int			deny_unconfined_seccomp;
	struct pol_strlist	allowed_seccomp_profiles;
	int			deny_unconfined_apparmor;
	struct pol_strlist	allowed_apparmor_profiles;
	int			deny_selinux_disable;
	int			deny_selinux_label_override;
	int			deny_unconfined_system_paths;
	int			require_no_new_privileges;
	int			require_non_root_user;
	int			require_readonly_rootfs;
	int			require_drop_all_capabilities;
	int			require_memory_limit;
	int			require_cpu_limit;
	int			require_cpu_limit_hard;
	int			require_pids_limit;
	struct pol_strlist	required_labels;
	/* request_body.container_update */
	int			upd_allow_privileged;
	int			upd_allow_devices;
	int			upd_allow_capabilities;
	int			upd_allow_restart_policy;
	int			upd_allow_resource_updates;
	/* request_body.network */
	int			allow_endpoint_config;
	int			ep_allow_static_addressing;
	int			ep_allow_link_local_ips;
	int			ep_allow_mac_pinning;
	int			ep_allow_gw_priority;
	int			ep_allow_aliases;
	/* request_body.volume (POST /volumes/create) */
	int			vol_allow_custom_drivers;
	int			vol_allow_driver_opts;
	/* request_body.network: network create and disconnect */
	int			net_allow_custom_drivers;
	int			net_allow_swarm_scope;
	int			net_allow_ingress;
	int			net_allow_attachable;
	int			net_allow_config_only;
	int			net_allow_config_from;
	int			net_allow_custom_ipam_drivers;
	int			net_allow_custom_ipam_config;
	int			net_allow_ipam_options;
	int			net_allow_driver_options;
	int			net_allow_disconnect_force;
	int			net_allow_disable_ipv4;
	/* request_body.exec */
	int			exec_allow_privileged;
	int			exec_allow_root_user;
	struct pol_argv		*exec_allowed_commands;
	size_t			 exec_nallowed_commands;
	struct pol_strlist	exec_allowed_env_vars;
	struct pol_strlist	exec_denied_env_vars;
	struct pol_strlist	exec_allowed_env_values;
	/* request_body.image_pull */
	int			allow_imports;
	int			allow_all_registries;
	int			allow_official;
	struct pol_strlist	allowed_registries;
	/* request_body.service (services create and update) */
	int			svc_allow_host_network;
	struct pol_strlist	svc_allowed_bind_mounts;
	int			svc_allow_all_registries;
	int			svc_allow_official;
	struct pol_strlist	svc_allowed_registries;
	int			svc_allow_all_capabilities;
	struct pol_strlist	svc_allowed_capabilities;
	int			svc_allow_sysctls;
	int			svc_require_non_root_user;
	int			svc_require_no_new_privileges;
	int			svc_require_readonly_rootfs;
	int			svc_require_drop_all_capabilities;
	int			svc_deny_unconfined_seccomp;
	int			svc_deny_custom_seccomp_profiles;
	int			svc_deny_unconfined_apparmor;
	int			svc_deny_selinux_disable;
	int			svc_deny_selinux_label_override;
	/* request_body.swarm */
	int			sw_allow_force_new_cluster;
	int			sw_allow_external_ca;
	struct pol_strlist	sw_allowed_join_remote_addrs;
	int			sw_allow_token_rotation;
	int			sw_allow_manager_unlock_key_rotation;
	int			sw_allow_auto_lock_managers;
	int			sw_allow_signing_ca_update;
	int			sw_allow_unlock;
	/* request_body.secret and request_body.config */
	int			sec_allow_custom_drivers;
	int			sec_allow_template_drivers;
	int			cfg_allow_custom_drivers;
	int			cfg_allow_template_drivers;
	/* request_body.plugin (pull and upgrade privileges) */
	int			plg_allow_host_network;
	int			plg_allow_host_ipc;
	int			plg_allow_host_pid;
	int			plg_allow_all_devices;
	struct pol_strlist	plg_allowed_bind_mounts;
	struct pol_strlist	plg_allowed_devices;
	int			plg_allow_all_capabilities;
	struct pol_strlist	plg_allowed_capabilities;
	int			plg_allow_all_registries;
	int			plg_allow_official;
	struct pol_strlist	plg_allowed_registries;
	struct pol_strlist	plg_allowed_set_env_prefixes;
	/* request_body.build */
	int			build_allow_remote_context;
	int			build_allow_host_network;
	int			build_allow_run_instructions;
};

void	pol_body_init(struct pol_body *);
void	pol_body_free(struct pol_body *);
/*
 * Load a request_body mapping (libyaml document API) over the defaults.
 * Keys of sockguard's schema that portwing does not inspect are accepted
 * and listed in *ignored (a NULL-terminated array the caller frees with
 * pol_strv_free) so the loader can warn; any other key, a wrong type or
 * a malformed entry fails with err naming the dotted key under prefix
 * and the line ("request_body.container_create.allowed_bind_mounts[0]
 * (line 12): must be an absolute path").  prefix is the dotted name of
 * the mapping (NULL: "request_body"); *ignored may already hold names
 * from an earlier call and is appended to (ignored may be NULL).  On
 * error the struct may be partly loaded: free it with pol_body_free.
 * Calling it again over a loaded struct replaces the lists it names.
 */
int	pol_body_load(struct pol_body *, yaml_document_t *, yaml_node_t *,
	    const char *, char ***, char *, size_t);
void	pol_strv_free(char **);

/* Which inspector a request goes to, by method and normalised path. */
enum pol_insp {
	PI_NONE = 0,		/* no body inspection */
	PI_CONTAINER_CREATE,	/* POST /containers/create, cap 1 MiB */
	PI_CONTAINER_UPDATE,	/* POST /containers/{id}/update, 1 MiB */
	PI_EXEC_CREATE,		/* POST /containers/{id}/exec, 64 KiB */
	PI_EXEC_START,		/* POST /exec/{id}/start, 64 KiB */
	PI_IMAGES_CREATE,	/* POST /images/create: query and X-Registry-Auth */
	PI_NETWORK_CONNECT,
	PI_VOLUME_CREATE,	/* POST /volumes/create, 1 MiB */
	PI_NETWORK_CREATE,	/* POST /networks/create, 1 MiB */
	PI_NETWORK_DISCONNECT,	/* POST /networks/{id}/disconnect, 1 MiB */
	PI_EXEC_STORED,		/* the exec a start would run, as Docker's
				   GET /exec/{id}/json tells it (8 MiB):
				   never chosen by pol_inspector_for */	/* POST /networks/{id}/connect, 1 MiB */
	PI_SERVICE,		/* POST /services/create, /services/{id}/
				   update, 1 MiB */
	PI_SWARM,		/* POST /swarm/{init,join,update,unlock},
				   256 KiB */
	PI_SECRET_CREATE,	/* POST /secrets/create, 1 MiB */
	PI_CONFIG_CREATE,	/* POST /configs/create, 1 MiB */
	PI_PLUGIN_PRIVS,	/* POST /plugins/pull, /plugins/{name}/
				   upgrade: query and privileges, 1 MiB */
	PI_BUILD,		/* POST /build: query, then the context
				   streamed (512 MiB; pol_build_*) */
	PI_PLUGIN_CREATE,	/* POST /plugins/create: a tar whose
				   config.json is judged (512 MiB) */
	PI_PLUGIN_SET,		/* POST /plugins/{name}/set, 1 MiB */
	PI_BLIND		/* a body-sensitive write portwing does not
				   inspect: refused unless insecure_allow_
				   body_blind_writes (§5.10) */
};

/*
 * pol_inspector_cap: the most body bytes the caller buffers for the
 * inspector; a longer body is a 413 (pol_inspect says so when given
 * len = cap + 1).  0: the body is not read at all (PI_NONE, PI_BLIND,
 * and PI_IMAGES_CREATE, whose body may be an image tarball and which
 * is judged by its query and X-Registry-Auth).
 */
enum pol_insp	pol_inspector_for(const char *, const char *);
size_t		pol_inspector_cap(enum pol_insp);
const char     *pol_inspector_name(enum pol_insp);

struct pol_verdict {
	int	status;		/* 0: allowed; else 400, 403 or 413 */
	char	reason[256];	/* static text: never echoes a body value */
};

/*
 * 1 when a request to a query-inspected endpoint (images/create) must be
 * refused (403) for its Content-Type: dockerd's form parsing would read
 * parameters from an application/x-www-form-urlencoded body before the
 * query the policy checked.  The argument is the Content-Type header,
 * NULL when absent.
 */
int	pol_query_body_refused(enum pol_insp, const char *);

/*
 * Inspect one request.  npath is the normalised path, query the raw
 * query without the '?' (may be NULL), regauth the X-Registry-Auth
 * header (may be NULL), body/len the exact bytes Docker would receive
 * (body may be NULL when len is 0).  blind_ack is the policy's
 * insecure_allow_body_blind_writes: it lets PI_BLIND through and lifts
 * only the exec argv allowlist (privileged, root and env still apply).
 * An empty body is allowed (Docker refuses it itself), except at exec
 * start, refused whatever its body while no command is allowlisted and
 * blind_ack is off.  At PI_EXEC_START only the start body (Detach, Tty)
 * is checked: this process cannot fetch the stored exec from Docker, so
 * sockguard's re-check at start is not done.  Statuses: 0 allowed, 400
 * duplicate keys that fold equal, 403 denied or malformed, 413 too large.
 */
void	pol_inspect(const struct pol_body *, enum pol_insp, const char *,
	    const char *, const char *, const uint8_t *, size_t, int,
	    struct pol_verdict *);

/*
 * POST /build, fed in pieces so a large context is never held whole
 * (inspect_build.c).  pol_build_begin judges the query; NULL when that
 * settles it (the verdict is then final: denied, or allowed because RUN
 * is not restricted).  pol_build_feed takes the body in order, -1 once
 * denied (stop feeding); pol_build_end judges what was fed, sets the
 * verdict and frees.  pol_inspect does all three for a whole body.
 */
struct pol_build;
struct pol_build *pol_build_begin(const struct pol_body *, const char *,
		    struct pol_verdict *);
int		 pol_build_feed(struct pol_build *, const uint8_t *, size_t);
void		 pol_build_end(struct pol_build *);
/* The same reader for POST /plugins/create (no query to judge). */
struct pol_build *pol_plugin_begin(const struct pol_body *,
		    struct pol_verdict *);

#endif
