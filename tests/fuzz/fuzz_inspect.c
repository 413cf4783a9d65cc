/*
 * fuzz_inspect.c: libFuzzer harness for request-body inspection
 * (policy/inspect.c, policy/gojson.c) and the request_body loader
 * (policy/pbody.c).
 *
 * The first byte selects what runs:
 *   bits 7-6 10  the rest is YAML, loaded as a request_body mapping
 *   bits 0-2     the inspector (PI_NONE .. PI_BLIND)
 *   bit 3        a permissive policy (allowlists, knobs on) instead of
 *                the defaults, so the deeper checks run
 *   bit 4        insecure_allow_body_blind_writes
 *   bit 5        bits 0-2 and 6 pick from inspect_swarm.c's endpoints
 *                instead (swarm_eps below); for swarm update and plugin
 *                pull the rest is "query\nbody"
 *   bits 7-6 11  ownership (policy/owner.c): the body is stamped (the
 *                result must decode, keep its length bound and carry
 *                the owner label once), its references listed, it is
 *                judged as an inspect answer of kind (bits 0-2) + 1,
 *                and as a query it goes through the filter rewrite
 * For images/create the rest is "query\nX-Registry-Auth"; otherwise it
 * is the body, passed with its exact length (NUL bytes included).
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "gojson.h"
#include "inspect.h"
#include "owner.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char permissive[] =
    "container_create:\n"
    "  restrict_namespace_sharing: true\n"
    "  allowed_namespace_sharing_containers: [db]\n"
    "  deny_namespace_path_mode: true\n"
    "  allowed_runtimes: [runc, runsc]\n"
    "  allowed_device_cgroup_rules: ['c 1:* rw', 'b *:* m']\n"
    "  allowed_devices: [/dev/fuse, /dev/snd]\n"
    "  allowed_bind_mounts: [/srv/data, /var/run/docker.sock]\n"
    "  allowed_capabilities: [NET_ADMIN, chown]\n"
    "  deny_unconfined_seccomp: true\n"
    "  allowed_seccomp_profiles: [default, strict]\n"
    "  deny_unconfined_apparmor: true\n"
    "  allowed_apparmor_profiles: [docker-default]\n"
    "  deny_selinux_disable: true\n"
    "  deny_selinux_label_override: true\n"
    "  deny_unconfined_system_paths: true\n"
    "  require_no_new_privileges: true\n"
    "  require_non_root_user: true\n"
    "  require_readonly_rootfs: true\n"
    "  require_drop_all_capabilities: true\n"
    "  require_memory_limit: true\n"
    "  require_cpu_limit: true\n"
    "  require_pids_limit: true\n"
    "  required_labels: [owner]\n"
    "network:\n"
    "  endpoint_config: {allow_static_addressing: true, allow_aliases: false}\n"
    "exec:\n"
    "  allowed_commands: [[sh, -c, 'echo *'], [ls]]\n"
    "  allowed_env_vars: [A, B]\n"
    "  denied_env_vars: [LD_PRELOAD]\n"
    "  allowed_env_values: ['A=1']\n"
    "image_pull:\n"
    "  allowed_registries: [ghcr.io, localhost:5000]\n"
    "service:\n"
    "  allowed_bind_mounts: [/srv]\n"
    "  allowed_registries: [ghcr.io]\n"
    "  allowed_capabilities: [NET_ADMIN]\n"
    "  require_non_root_user: true\n"
    "  require_no_new_privileges: true\n"
    "  deny_custom_seccomp_profiles: true\n"
    "  deny_unconfined_apparmor: true\n"
    "  deny_selinux_label_override: true\n"
    "swarm:\n"
    "  allowed_join_remote_addrs: [10.0.0.1:2377]\n"
    "  allow_unlock: true\n"
    "plugin:\n"
    "  allowed_bind_mounts: [/srv]\n"
    "  allowed_devices: [/dev/fuse]\n"
    "  allowed_capabilities: [SYS_ADMIN]\n"
    "  allowed_registries: [localhost:5000]\n"
    "  allowed_set_env_prefixes: [DEBUG=]\n";

static const struct {
	enum pol_insp	 insp;
	const char	*path;
	int		 query;		/* "query\nbody" */
} swarm_eps[16] = {
	{ PI_SERVICE, "/services/create", 0 },
	{ PI_SWARM, "/swarm/init", 0 },
	{ PI_SWARM, "/swarm/join", 0 },
	{ PI_SWARM, "/swarm/update", 1 },
	{ PI_SWARM, "/swarm/unlock", 0 },
	{ PI_SECRET_CREATE, "/secrets/create", 0 },
	{ PI_CONFIG_CREATE, "/configs/create", 0 },
	{ PI_PLUGIN_PRIVS, "/plugins/pull", 1 },
	{ PI_PLUGIN_SET, "/plugins/p/set", 0 },
	{ PI_SERVICE, "/services/s/update", 0 },
	{ PI_PLUGIN_PRIVS, "/plugins/p/upgrade", 1 },
	{ PI_PLUGIN_SET, "/plugins/p/set", 0 },
	{ PI_SWARM, "/swarm/unlock", 0 },
	{ PI_SECRET_CREATE, "/secrets/create", 0 },
	{ PI_PLUGIN_SET, "/plugins/p/set", 0 },
	{ PI_SWARM, "/swarm/join", 0 },
};

static int
load(struct pol_body *b, const char *text, size_t len)
{
	yaml_parser_t	 p;
	yaml_document_t	 doc;
	yaml_node_t	*root;
	char		 err[512], **ign = NULL;
	int		 rc = -1;

	pol_body_init(b);
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (yaml_parser_load(&p, &doc)) {
		if ((root = yaml_document_get_root_node(&doc)) != NULL)
			rc = pol_body_load(b, &doc, root, "request_body", &ign,
			    err, sizeof(err));
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&p);
	pol_strv_free(ign);
	return rc;
}

static void
fuzz_owner(uint8_t sel, const uint8_t *data, size_t size)
{
	static struct owner_ref	 refs[OWNER_REFS_MAX];
	struct pol_verdict	 v;
	json_t			*top, *lab;
	uint8_t			*out;
	char			*q, *oq;
	size_t			 outlen, n;

	if (pol_owner_stamp("com.sockguard.owner", "team-a", data, size, &out,
	    &outlen, &v) == 0) {
		if (gj_decode(out, outlen, &top) != GJ_DEC_OK)
			abort();
		if ((lab = gj_get(top, "Labels")) == NULL ||
		    strcmp(json_string_value(json_object_get(lab,
		    "com.sockguard.owner")), "team-a") != 0)
			abort();
		json_decref(top);
		(void)pol_owner_refs(out, outlen, sel & 0x08, refs, &n);
		free(out);
	} else if (v.status != 400 && v.status != 403)
		abort();
	(void)pol_owner_judge("com.sockguard.owner", "team-a", sel & 0x10,
	    (sel & 0x07) + 1, sel & 0x08, data, size, &v);
	q = xmalloc(size + 1);
	memcpy(q, data, size);
	q[size] = '\0';
	if (pol_owner_filter("com.sockguard.owner", "team-a",
	    (sel & 1) ? "/nodes" : "/containers/json", q, &oq, &v) == 0) {
		if (strpbrk(oq, " \r\n#") != NULL)
			abort();
		free(oq);
	}
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pol_body	 lax;
	static int		 ready;
	struct pol_body		 strict, *b;
	struct pol_verdict	 v;
	enum pol_insp		 insp;
	char			*text, *nl;
	uint8_t			 sel;

	if (size == 0 || size > 2 * 1024 * 1024)
		return 0;
	if (!ready) {
		if (load(&lax, permissive, sizeof(permissive) - 1) == -1)
			abort();
		ready = 1;
	}
	sel = data[0];
	data++;
	size--;
	if ((sel & 0xc0) == 0xc0) {
		fuzz_owner(sel, data, size);
		return 0;
	}
	if (sel & 0x80) {
		if (load(&strict, (const char *)data, size) == 0 &&
		    strict.allowed_bind_mounts.n > 0 &&
		    strict.allowed_bind_mounts.v[0][0] != '/')
			abort();
		pol_body_free(&strict);
		return 0;
	}
	pol_body_init(&strict);
	b = (sel & 0x08) ? &lax : &strict;
	insp = (enum pol_insp)(sel & 0x07);
	if (sel & 0x20) {
		unsigned int	 ep = (sel & 0x07) | ((sel & 0x40) >> 3);

		insp = swarm_eps[ep].insp;
		text = NULL;
		nl = NULL;
		if (swarm_eps[ep].query) {
			text = xmalloc(size + 1);
			memcpy(text, data, size);
			text[size] = '\0';
			if ((nl = memchr(text, '\n', size)) != NULL)
				*nl++ = '\0';
		}
		if (nl != NULL)
			pol_inspect(b, insp, swarm_eps[ep].path, text,
			    NULL, (const uint8_t *)nl, size - (size_t)(nl -
			    text), (sel & 0x10) != 0, &v);
		else
			pol_inspect(b, insp, swarm_eps[ep].path,
			    text, NULL, text != NULL ? NULL : data,
			    text != NULL ? 0 : size, (sel & 0x10) != 0, &v);
		free(text);
	} else if (insp == PI_IMAGES_CREATE) {
		text = xmalloc(size + 1);
		memcpy(text, data, size);
		text[size] = '\0';
		nl = strchr(text, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		pol_inspect(b, insp, "/images/create", text, nl, NULL, 0,
		    (sel & 0x10) != 0, &v);
		free(text);
	} else
		pol_inspect(b, insp, "/x", NULL, NULL, data, size,
		    (sel & 0x10) != 0, &v);
	/* A verdict is allowed, or a status with a reason. */
	if (v.status != 0 && v.status != 400 && v.status != 403 &&
	    v.status != 413)
		abort();
	if ((v.status == 0) != (v.reason[0] == '\0'))
		abort();
	return 0;
}
