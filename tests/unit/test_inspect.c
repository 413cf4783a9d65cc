/*
 * test_inspect.c: request-body inspection (policy reference §5 and the
 * acceptance cases of §10.3-10.5): Go's key binding and folding, the
 * refusal of keys that collide, type errors, the container-create rows,
 * the endpoint gate, exec, image pull and X-Registry-Auth, dispatch, the
 * request_body loader, and the cost on typical and hostile bodies.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "gojson.h"
#include "inspect.h"
#include "inspect_int.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define SPEED_LIMIT_US	2000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPEED_LIMIT_US	2000
#endif
#endif
#ifndef SPEED_LIMIT_US
#define SPEED_LIMIT_US	100
#endif

/* This thread's CPU time in microseconds: other load does not count. */
static uint64_t
cpu_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Load a request_body mapping written as YAML; 0 or -1 (err filled). */
static int
load_yaml(struct pol_body *b, const char *yaml, char ***ignored, char *err,
    size_t errsz)
{
	yaml_parser_t	 p;
	yaml_document_t	 doc;
	yaml_node_t	*root;
	int		 rc;

	pol_body_init(b);
	if (yaml == NULL)
		return 0;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml,
	    strlen(yaml));
	ck_assert_int_eq(yaml_parser_load(&p, &doc), 1);
	root = yaml_document_get_root_node(&doc);
	ck_assert_ptr_nonnull(root);
	rc = pol_body_load(b, &doc, root, "request_body", ignored, err, errsz);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return rc;
}

static void
must_load(struct pol_body *b, const char *yaml)
{
	char	err[512] = "";
	char	**ign = NULL;

	if (load_yaml(b, yaml, &ign, err, sizeof(err)) != 0)
		ck_abort_msg("policy did not load: %s", err);
	pol_strv_free(ign);
}

struct icase {
	const char	*name;
	enum pol_insp	 insp;
	const char	*policy;	/* request_body YAML, NULL: defaults */
	const char	*body;
	int		 status;
	const char	*reason;	/* a substring of the reason, or NULL */
};

#define CC	PI_CONTAINER_CREATE
#define EXEC_OK	"exec: {allowed_commands: [[ls], [node, 'dist/*.js']], " \
		"allow_root_user: false}"

static const struct icase cases[] = {
	/* §10.3 24: case-insensitive, escaped and spaced keys bind. */
	{ "24 lower", CC, NULL, "{\"HostConfig\":{\"privileged\":true}}",
	    403, "privileged containers are not allowed" },
	{ "24 upper", CC, NULL, "{\"HostConfig\":{\"PRIVILEGED\":true}}",
	    403, "privileged" },
	{ "24 escape", CC, NULL,
	    "{\"HostConfig\":{\"\\u0050rivileged\":true}}", 403, "privileged" },
	{ "24 hostconfig", CC, NULL, "{\"hostconfig\":{\"Privileged\":true}}",
	    403, "privileged" },
	{ "24 spaces", CC, NULL,
	    " \r\n{ \"HostConfig\" :\t{ \"Privileged\" :\n true } }\n ",
	    403, "privileged" },
	/* 25, 26: duplicates refused whatever their order. */
	{ "25 dup leaf", CC, NULL,
	    "{\"HostConfig\":{\"Privileged\":false,\"Privileged\":true}}",
	    400, "duplicate JSON keys that differ only in case" },
	{ "25 dup object", CC, NULL, "{\"HostConfig\":{\"Privileged\":false},"
	    "\"HostConfig\":{\"Privileged\":true}}", 400, "duplicate" },
	{ "26 dup benign last", CC, NULL,
	    "{\"HostConfig\":{\"Privileged\":true,\"Privileged\":false}}",
	    400, "duplicate" },
	{ "25 dup folded", CC, NULL, "{\"HostConfig\":{\"Privileged\":false},"
	    "\"hostconfig\":{\"Privileged\":true}}", 400, "duplicate" },
	{ "32 reorder", CC, NULL, "{\"hostconfig\":{\"Privileged\":true},"
	    "\"HostConfig\":{\"Privileged\":false}}", 400, "duplicate" },
	{ "31 labels spoof", CC, NULL, "{\"Labels\":{},\"labels\":"
	    "{\"com.sockguard.owner\":\"victim\"}}", 400, "duplicate" },
	{ "33 image dup", CC, NULL,
	    "{\"Image\":\"signed:1\",\"image\":\"evil:1\"}", 400, "duplicate" },
	/* 27: type errors. */
	{ "27 string", CC, NULL, "{\"HostConfig\":{\"Privileged\":\"true\"}}",
	    403, "malformed JSON request body" },
	{ "27 number", CC, NULL, "{\"HostConfig\":{\"Privileged\":1}}",
	    403, "malformed" },
	{ "27 hostconfig array", CC, NULL, "{\"HostConfig\":[]}", 403,
	    "malformed" },
	{ "27 top array", CC, NULL, "[]", 403, "malformed" },
	{ "27 binds string", CC, NULL, "{\"HostConfig\":{\"Binds\":\"/:/h\"}}",
	    403, "malformed" },
	{ "27 memory real", CC, "container_create: {require_memory_limit: true}",
	    "{\"HostConfig\":{\"Memory\":1.5}}", 403, "malformed" },
	{ "27 memory string", CC,
	    "container_create: {require_memory_limit: true}",
	    "{\"HostConfig\":{\"Memory\":\"1g\"}}", 403, "malformed" },
	/* 28: trailing data. */
	{ "28 trailing", CC, NULL,
	    "{\"HostConfig\":{}}{\"HostConfig\":{\"Privileged\":true}}",
	    403, "malformed" },
	{ "28 trailing junk", CC, NULL, "{} x", 403, "malformed" },
	{ "not json", CC, NULL, "{\"HostConfig\":", 403, "malformed" },
	/*
	 * 29: what binds nothing is allowed.  Stricter than sockguard:
	 * host config fields at the top are checked too (Docker up to 24
	 * reads them as the host config when "HostConfig" is absent).
	 */
	{ "29 top privileged", CC, NULL, "{\"Privileged\":true}", 403,
	    "privileged" },
	{ "29 top privileged false", CC, NULL, "{\"Privileged\":false}", 0,
	    NULL },
	{ "legacy top binds", CC, NULL, "{\"HostConfig\":{},"
	    "\"Binds\":[\"/:/host\"]}", 403, "bind mount source /" },
	{ "legacy top caps", CC, NULL, "{\"capadd\":[\"SYS_ADMIN\"]}", 403,
	    "SYS_ADMIN" },
	{ "legacy top seccomp", CC,
	    "container_create: {allowed_seccomp_profiles: [default]}",
	    "{\"SecurityOpt\":[\"seccomp=unconfined\"]}", 403, "seccomp" },
	{ "legacy top memory", CC, "container_create: {require_memory_limit: true}",
	    "{\"Memory\":1048576}", 403, "memory limit" },
	{ "29 empty", CC, NULL, "{}", 0, NULL },
	{ "29 null hostconfig", CC, NULL, "{\"HostConfig\":null}", 0, NULL },
	{ "29 image", CC, NULL, "{\"Image\":\"nginx\"}", 0, NULL },
	{ "29 null body", CC, NULL, "null", 0, NULL },
	{ "empty body", CC, NULL, "", 0, NULL },
	/* 30: Go's two non-ASCII folds onto ASCII letters. */
	{ "30 long s", CC, NULL,
	    "{\"Ho\xc5\xbftConfig\":{\"Privileged\":true}}", 403, "privileged" },
	{ "30 kelvin", CC, NULL,
	    "{\"HostConfig\":{\"Networ\xe2\x84\xaaMode\":\"host\"}}", 403,
	    "host network" },
	{ "30 kelvin dup", CC, "container_create: {allow_host_network: true}",
	    "{\"HostConfig\":{\"NetworkMode\":\"bridge\","
	    "\"Networ\xe2\x84\xaaMode\":\"host\"}}", 400, "duplicate" },
	{ "30 other rune", CC, NULL,
	    "{\"HostConfig\":{\"Pr\xc3\xafvileged\":true}}", 0, NULL },
	/* Data maps keep case-sensitive keys; structs inside are checked. */
	{ "labels case", CC, NULL,
	    "{\"Labels\":{\"a\":\"1\",\"A\":\"2\"}}", 0, NULL },
	{ "logconfig config", CC, NULL, "{\"HostConfig\":{\"LogConfig\":"
	    "{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"1\","
	    "\"MAX-SIZE\":\"2\"}}}}", 0, NULL },
	{ "config elsewhere", CC, NULL, "{\"HostConfig\":{\"Config\":"
	    "{\"a\":1,\"A\":2}}}", 400, "duplicate" },
	{ "endpoints keys", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"net\":{},\"NET\":{}}}}", 0, NULL },
	{ "endpoint struct dup", CC, NULL, "{\"NetworkingConfig\":"
	    "{\"EndpointsConfig\":{\"net\":{\"Aliases\":[],\"aliases\":[]}}}}",
	    400, "duplicate" },
	/* §10.4 36-37: bind sources. */
	{ "36 root", CC, NULL, "{\"HostConfig\":{\"Binds\":[\"/:/host\"]}}",
	    403, "bind mount source / is not in allowed_bind_mounts" },
	{ "36 docker.sock", CC, NULL,
	    "{\"HostConfig\":{\"Binds\":[\"/var/run/docker.sock:/s\"]}}", 403,
	    "/var/run/docker.sock" },
	{ "36 dotdot", CC,
	    "container_create: {allowed_bind_mounts: [/srv/containers]}",
	    "{\"HostConfig\":{\"Binds\":[\"/srv/containers/../../etc:/x\"]}}",
	    403, "source /etc is" },
	{ "37 boundary", CC, "container_create: {allowed_bind_mounts: [/srv/data]}",
	    "{\"HostConfig\":{\"Binds\":[\"/srv/database:/x\"]}}", 403, "bind" },
	{ "37 sub", CC, "container_create: {allowed_bind_mounts: [/srv/data]}",
	    "{\"HostConfig\":{\"Binds\":[\"/srv/data/sub:/x:ro\"]}}", 0, NULL },
	{ "37 exact", CC, "container_create: {allowed_bind_mounts: [/srv/data/]}",
	    "{\"HostConfig\":{\"Binds\":[\"/srv//data/.:/x\"]}}", 0, NULL },
	{ "37 named volume", CC, NULL,
	    "{\"HostConfig\":{\"Binds\":[\"myvol:/data\",\"/anon\"]}}", 0, NULL },
	{ "36 slash allows all", CC, "container_create: {allowed_bind_mounts: [/]}",
	    "{\"HostConfig\":{\"Binds\":[\"/etc:/x\"]}}", 0, NULL },
	/* Local volumes that bind or mount host storage. */
	{ "local volume bind", CC, NULL, "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"Target\":\"/h\",\"VolumeOptions\":"
	    "{\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":"
	    "\"none\",\"o\":\"bind\",\"device\":\"/etc\"}}}}]}}", 403,
	    "bind mount source /etc" },
	{ "local volume rbind upper", CC,
	    "container_create: {allowed_bind_mounts: [/srv]}",
	    "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Options\":{\"O\":\"ro, RBIND\",\"Device\":\"/srv/../root\"}}}}]}}",
	    403, "bind mount source /root" },
	{ "local volume allowed", CC,
	    "container_create: {allowed_bind_mounts: [/srv]}",
	    "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Name\":\"local\",\"Options\":{\"type\":\"none\",\"o\":\"bind\","
	    "\"device\":\"/srv/data\"}}}}]}}", 0, NULL },
	{ "local volume both keys", CC,
	    "container_create: {allowed_bind_mounts: [/srv]}",
	    "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Options\":{\"type\":\"none\",\"o\":\"bind\","
	    "\"device\":\"/srv/data\",\"DEVICE\":\"/\"}}}}]}}", 403,
	    "bind mount source /" },
	{ "local volume relative", CC, NULL, "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Options\":{\"o\":\"bind\",\"device\":\"etc\"}}}}]}}", 403,
	    "bind mount source etc" },
	{ "local volume disk", CC, NULL, "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Options\":{\"type\":\"ext4\",\"device\":\"dev/sda1\"}}}}]}}",
	    403, "local volume device /dev/sda1" },
	{ "local volume o device", CC, NULL, "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Options\":{\"type\":\"btrfs\",\"o\":\"device=/dev/sdb\"}}}}]}}",
	    403, "/dev/sdb" },
	{ "local volume nfs", CC, NULL, "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Options\":{\"type\":\"nfs\",\"o\":\"addr=bind.example.com\","
	    "\"device\":\":/exports\"}}}}]}}", 0, NULL },
	{ "local volume tmpfs", CC, NULL, "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Options\":{\"type\":\"tmpfs\",\"device\":\"tmpfs\","
	    "\"o\":\"size=64m\"}}}}]}}", 0, NULL },
	{ "other volume driver", CC, NULL, "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Name\":\"rexray\",\"Options\":{\"o\":\"bind\","
	    "\"device\":\"/etc\"}}}}]}}", 0, NULL },
	{ "local volume option type", CC, NULL, "{\"HostConfig\":{\"Mounts\":[{"
	    "\"Type\":\"volume\",\"VolumeOptions\":{\"DriverConfig\":"
	    "{\"Options\":{\"o\":5}}}}]}}", 403, "malformed" },
	/* 38-40: mounts. */
	{ "38 mount bind", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"bind\",\"Source\":\"/etc\",\"Target\":\"/x\"}]}}",
	    403, "/etc" },
	{ "38 mount BIND", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"type\":\"BIND\",\"source\":\"/etc\"}]}}", 403, "/etc" },
	{ "39 npipe", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"npipe\",\"Source\":\"x\"}]}}", 403, "mount type" },
	{ "39 cluster", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"cluster\"}]}}", 403, "mount type" },
	{ "39 empty type", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Source\":\"v\"}]}}", 403, "mount type" },
	{ "39 volume ok", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/d\"}]}}",
	    0, NULL },
	{ "40 subpath up", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"volume\",\"VolumeOptions\":{\"Subpath\":\"../x\"}}]}}",
	    403, "subpath" },
	{ "40 subpath abs", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"image\",\"ImageOptions\":{\"Subpath\":\"/x\"}}]}}",
	    403, "subpath" },
	{ "40 subpath inner", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"volume\",\"VolumeOptions\":{\"Subpath\":\"a/../b\"}}]}}",
	    0, NULL },
	{ "40 subpath escape", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"volume\",\"VolumeOptions\":{\"Subpath\":\"a/../../b\"}}]}}",
	    403, "subpath" },
	{ "40 tmpfs exec", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"tmpfs\",\"TmpfsOptions\":{\"Options\":[[\"exec\"]]}}]}}",
	    403, "tmpfs option exec" },
	{ "40 tmpfs exec padded", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"tmpfs\",\"TmpfsOptions\":{\"Options\":[[\" SUID "
	    "                                                                 "
	    "                                                              \"]]}}]}}",
	    403, "tmpfs option SUID" },
	{ "40 tmpfs exec allowed", CC,
	    "container_create: {allow_tmpfs_privileged_options: true}",
	    "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"tmpfs\",\"TmpfsOptions\":"
	    "{\"Options\":[[\"exec\"]]}}]}}", 0, NULL },
	{ "25 tmpfs empty", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"tmpfs\",\"TmpfsOptions\":{\"Options\":[[]]}}]}}",
	    403, "malformed tmpfs option" },
	{ "25 tmpfs three", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"tmpfs\",\"TmpfsOptions\":{\"Options\":"
	    "[[\"a\",\"b\",\"c\"]]}}]}}", 403, "malformed tmpfs option" },
	{ "25 tmpfs blank", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"tmpfs\",\"TmpfsOptions\":{\"Options\":[[\" \"]]}}]}}",
	    403, "malformed tmpfs option" },
	{ "26 tmpfs mode ok", CC, NULL, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"tmpfs\",\"TmpfsOptions\":{\"Options\":"
	    "[[\"mode\",\"1777\"],[\"noexec\"]]}}]}}", 0, NULL },
	/* 41: always denied. */
	{ "41 volumesfrom", CC, "container_create: {allow_privileged: true}",
	    "{\"HostConfig\":{\"VolumesFrom\":[\"other\"]}}", 403, "VolumesFrom" },
	{ "41 uts", CC, NULL, "{\"HostConfig\":{\"UTSMode\":\"host\"}}", 403,
	    "UTS" },
	{ "41 cgroupparent", CC, NULL, "{\"HostConfig\":{\"CgroupParent\":\"x\"}}",
	    403, "CgroupParent" },
	{ "41 cgroupparent blank", CC, NULL,
	    "{\"HostConfig\":{\"CgroupParent\":\"  \"}}", 0, NULL },
	{ "41 groupadd", CC, NULL, "{\"HostConfig\":{\"GroupAdd\":[\"0\"]}}",
	    403, "GroupAdd" },
	{ "41 extrahosts", CC, NULL,
	    "{\"HostConfig\":{\"ExtraHosts\":[\"a:1.2.3.4\"]}}", 403, "ExtraHosts" },
	/* 42: host namespaces. */
	{ "42 network", CC, NULL, "{\"HostConfig\":{\"NetworkMode\":\" HOST \"}}",
	    403, "host network" },
	{ "42 network allowed", CC, "container_create: {allow_host_network: yes}",
	    "{\"HostConfig\":{\"NetworkMode\":\"host\"}}", 0, NULL },
	{ "42 network padded", CC, NULL, "{\"HostConfig\":{\"NetworkMode\":"
	    "\"host                                                          "
	    "                                                                 "
	    "                                                              \"}}",
	    403, "host network" },
	{ "42 pid", CC, NULL, "{\"HostConfig\":{\"PidMode\":\"host\"}}", 403,
	    "PID" },
	{ "42 ipc", CC, NULL, "{\"HostConfig\":{\"IpcMode\":\"host\"}}", 403,
	    "IPC" },
	{ "42 userns", CC, NULL, "{\"HostConfig\":{\"UsernsMode\":\"host\"}}",
	    403, "user namespace" },
	{ "42 cgroupns", CC, NULL, "{\"HostConfig\":{\"CgroupnsMode\":\"host\"}}",
	    403, "cgroup namespace" },
	{ "42 bridge", CC, NULL, "{\"HostConfig\":{\"NetworkMode\":\"hostile\"}}",
	    0, NULL },
	/* 9-10: namespace sharing. */
	{ "9 sharing default", CC, NULL,
	    "{\"HostConfig\":{\"PidMode\":\"container:abc\"}}", 0, NULL },
	{ "9 sharing restricted", CC,
	    "container_create: {restrict_namespace_sharing: true}",
	    "{\"HostConfig\":{\"PidMode\":\"container:abc\"}}", 403, "namespaces" },
	{ "9 sharing listed", CC, "container_create: {restrict_namespace_sharing: "
	    "true, allowed_namespace_sharing_containers: [abc]}",
	    "{\"HostConfig\":{\"NetworkMode\":\"container:abc\"}}", 0, NULL },
	{ "10 ns path", CC, "container_create: {deny_namespace_path_mode: true}",
	    "{\"HostConfig\":{\"NetworkMode\":\"ns:/proc/1/ns/net\"}}", 403,
	    "namespace path" },
	/* 43: runtimes. */
	{ "43 runsc", CC, NULL, "{\"HostConfig\":{\"Runtime\":\"runsc\"}}", 403,
	    "runtime runsc" },
	{ "43 runsc listed", CC, "container_create: {allowed_runtimes: [runsc]}",
	    "{\"HostConfig\":{\"Runtime\":\"runsc\"}}", 0, NULL },
	/* 44: sysctls, capabilities, devices. */
	{ "44 sysctls", CC, NULL,
	    "{\"HostConfig\":{\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"}}}", 403,
	    "sysctls" },
	{ "44 sysctls empty", CC, NULL, "{\"HostConfig\":{\"Sysctls\":{}}}", 0,
	    NULL },
	{ "44 cap", CC, NULL, "{\"HostConfig\":{\"CapAdd\":[\"CAP_SYS_ADMIN\"]}}",
	    403, "capability SYS_ADMIN" },
	{ "44 cap lower", CC, NULL, "{\"HostConfig\":{\"CapAdd\":[\"sys_admin\"]}}",
	    403, "SYS_ADMIN" },
	{ "44 cap listed", CC, "container_create: {allowed_capabilities: "
	    "[CAP_NET_BIND_SERVICE]}",
	    "{\"HostConfig\":{\"CapAdd\":[\"net_bind_service\"]}}", 0, NULL },
	{ "44 devices", CC, NULL, "{\"HostConfig\":{\"Devices\":"
	    "[{\"PathOnHost\":\"/dev/sda\"}]}}", 403, "device /dev/sda" },
	{ "44 devices listed", CC, "container_create: {allowed_devices: [/dev/fuse]}",
	    "{\"HostConfig\":{\"Devices\":[{\"PathOnHost\":\"/dev/fuse\"}]}}",
	    0, NULL },
	{ "44 device requests", CC, NULL, "{\"HostConfig\":{\"DeviceRequests\":"
	    "[{\"Driver\":\"nvidia\",\"Count\":-1}]}}", 403, "device requests" },
	{ "44 cgroup rules", CC, NULL,
	    "{\"HostConfig\":{\"DeviceCgroupRules\":[\"c 1:3 rwm\"]}}", 403,
	    "cgroup rule" },
	{ "19 cgroup listed", CC,
	    "container_create: {allowed_device_cgroup_rules: ['c 1:3 rw']}",
	    "{\"HostConfig\":{\"DeviceCgroupRules\":[\"c 1:3 r\"]}}", 0, NULL },
	{ "19 cgroup perms", CC,
	    "container_create: {allowed_device_cgroup_rules: ['c 1:3 rw']}",
	    "{\"HostConfig\":{\"DeviceCgroupRules\":[\"c 1:3 rwm\"]}}", 403,
	    "cgroup rule" },
	{ "19 cgroup wildcard", CC,
	    "container_create: {allowed_device_cgroup_rules: ['c 1:3 rw']}",
	    "{\"HostConfig\":{\"DeviceCgroupRules\":[\"c *:* r\"]}}", 403,
	    "cgroup rule" },
	{ "19 cgroup malformed", CC,
	    "container_create: {allowed_device_cgroup_rules: ['c 1:3 rw']}",
	    "{\"HostConfig\":{\"DeviceCgroupRules\":[\"c 1:3 rx\"]}}", 403,
	    "malformed device cgroup rule" },
	/* 45: endpoint settings at create, and the legacy MacAddress. */
	{ "45 ipv4", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"IPAMConfig\":{\"IPv4Address\":\"10.0.0.5\"}}}}}", 403,
	    "static IP" },
	{ "45 mac", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"MacAddress\":\"02:42:ac:11:00:02\"}}}}", 403, "MAC" },
	{ "45 links", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"Links\":[\"a:b\"]}}}}", 403, "links" },
	{ "45 driveropts", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"DriverOpts\":{\"k\":\"v\"}}}}}", 403, "driver options" },
	{ "45 gwpriority", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"GwPriority\":10}}}}", 403, "gateway priority" },
	{ "45 legacy ip", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"IPAddress\":\"10.0.0.5\"}}}}", 403, "static IP" },
	{ "45 link-local", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"IPAMConfig\":{\"LinkLocalIPs\":[\"169.254.0.1\"]}}}}}",
	    403, "link-local" },
	{ "45 top mac", CC, NULL, "{\"MacAddress\":\"02:42:ac:11:00:02\"}", 403,
	    "MAC" },
	{ "45 aliases", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"Aliases\":[\"web\"]}}}}", 0, NULL },
	{ "45 aliases denied", CC,
	    "network: {endpoint_config: {allow_aliases: false}}",
	    "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"Aliases\":[\"web\"]}}}}", 403, "aliases" },
	{ "45 allow all", CC, "network: {allow_endpoint_config: true}",
	    "{\"MacAddress\":\"m\",\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"IPAMConfig\":{\"IPv4Address\":\"10.0.0.5\"},"
	    "\"Links\":[\"a\"],\"GwPriority\":1}}}}", 0, NULL },
	{ "45 static allowed", CC,
	    "network: {endpoint_config: {allow_static_addressing: true}}",
	    "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"x\":{\"IPAMConfig\":{\"IPv4Address\":\"10.0.0.5\"}}}}}", 0, NULL },
	{ "45 sorted order", CC, NULL, "{\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"b\":{\"Links\":[\"a\"]},\"a\":{\"MacAddress\":\"m\"}}}}", 403,
	    "MAC" },
	/* 46: non-root rail. */
	{ "46 empty user", CC, "container_create: {require_non_root_user: true}",
	    "{\"User\":\"\"}", 403, "non-root" },
	{ "46 no user", CC, "container_create: {require_non_root_user: true}",
	    "{}", 403, "non-root" },
	{ "46 zero", CC, "container_create: {require_non_root_user: true}",
	    "{\"User\":\"0\"}", 403, "non-root" },
	{ "46 zeros", CC, "container_create: {require_non_root_user: true}",
	    "{\"User\":\"00\"}", 403, "non-root" },
	{ "46 zero group", CC, "container_create: {require_non_root_user: true}",
	    "{\"User\":\"0000:5\"}", 403, "non-root" },
	{ "46 ROOT", CC, "container_create: {require_non_root_user: true}",
	    "{\"User\":\"ROOT\"}", 403, "non-root" },
	{ "46 uid", CC, "container_create: {require_non_root_user: true}",
	    "{\"User\":\"1000:1000\"}", 0, NULL },
	{ "46 name", CC, "container_create: {require_non_root_user: true}",
	    "{\"User\":\"app\"}", 0, NULL },
	/* 47: explicit empty system path lists. */
	{ "47 masked", CC, "container_create: {deny_unconfined_system_paths: true}",
	    "{\"HostConfig\":{\"MaskedPaths\":[]}}", 403, "MaskedPaths" },
	{ "47 readonly", CC,
	    "container_create: {deny_unconfined_system_paths: true}",
	    "{\"HostConfig\":{\"ReadonlyPaths\":[]}}", 403, "ReadonlyPaths" },
	{ "47 off", CC, NULL, "{\"HostConfig\":{\"MaskedPaths\":[]}}", 0, NULL },
	{ "47 systempaths", CC,
	    "container_create: {deny_unconfined_system_paths: true}",
	    "{\"HostConfig\":{\"SecurityOpt\":[\"systempaths=unconfined\"]}}",
	    403, "system paths" },
	/* §5.6 SecurityOpt and the rails. */
	{ "seccomp unconfined", CC,
	    "container_create: {deny_unconfined_seccomp: true}",
	    "{\"HostConfig\":{\"SecurityOpt\":[\"seccomp:unconfined\"]}}", 403,
	    "seccomp" },
	{ "seccomp unconfined off", CC, NULL,
	    "{\"HostConfig\":{\"SecurityOpt\":[\"seccomp=unconfined\"]}}", 0, NULL },
	{ "seccomp list absent", CC,
	    "container_create: {allowed_seccomp_profiles: [strict]}", "{}", 403,
	    "default seccomp" },
	{ "seccomp list default", CC,
	    "container_create: {allowed_seccomp_profiles: [default]}", "{}", 0,
	    NULL },
	{ "apparmor unconfined", CC,
	    "container_create: {deny_unconfined_apparmor: true}",
	    "{\"HostConfig\":{\"SecurityOpt\":[\"APPARMOR = unconfined\"]}}", 403,
	    "AppArmor" },
	{ "label disable", CC, "container_create: {deny_selinux_disable: true}",
	    "{\"HostConfig\":{\"SecurityOpt\":[\"label=disable\"]}}", 403,
	    "SELinux" },
	{ "label override", CC,
	    "container_create: {deny_selinux_label_override: true}",
	    "{\"HostConfig\":{\"SecurityOpt\":[\"label:type:spc_t\"]}}", 403,
	    "SELinux label" },
	{ "nnp missing", CC, "container_create: {require_no_new_privileges: true}",
	    "{}", 403, "no-new-privileges" },
	{ "nnp bare", CC, "container_create: {require_no_new_privileges: true}",
	    "{\"HostConfig\":{\"SecurityOpt\":[\"no-new-privileges\"]}}", 0, NULL },
	{ "nnp true", CC, "container_create: {require_no_new_privileges: true}",
	    "{\"HostConfig\":{\"SecurityOpt\":[\"no-new-privileges:true\"]}}",
	    0, NULL },
	{ "nnp false", CC, "container_create: {require_no_new_privileges: true}",
	    "{\"HostConfig\":{\"SecurityOpt\":[\"no-new-privileges=false\"]}}",
	    403, "no-new-privileges" },
	{ "readonly rootfs", CC, "container_create: {require_readonly_rootfs: true}",
	    "{\"HostConfig\":{\"ReadonlyRootfs\":false}}", 403, "read-only" },
	{ "drop all", CC,
	    "container_create: {require_drop_all_capabilities: true}",
	    "{\"HostConfig\":{\"CapDrop\":[\"all\"]}}", 0, NULL },
	{ "drop some", CC,
	    "container_create: {require_drop_all_capabilities: true}",
	    "{\"HostConfig\":{\"CapDrop\":[\"NET_RAW\"]}}", 403, "dropping all" },
	/* 33-34: resources and labels. */
	{ "memory", CC, "container_create: {require_memory_limit: true}",
	    "{\"HostConfig\":{\"Memory\":0}}", 403, "memory limit" },
	{ "memory set", CC, "container_create: {require_memory_limit: true}",
	    "{\"HostConfig\":{\"Memory\":9007199254740993}}", 0, NULL },
	{ "cpu shares", CC, "container_create: {require_cpu_limit: true}",
	    "{\"HostConfig\":{\"CpuShares\":512}}", 0, NULL },
	{ "cpu hard", CC, "container_create: {require_cpu_limit_hard: true}",
	    "{\"HostConfig\":{\"CpuShares\":512}}", 403, "hard CPU" },
	{ "cpu hard nano", CC, "container_create: {require_cpu_limit_hard: true}",
	    "{\"HostConfig\":{\"NanoCpus\":500000000}}", 0, NULL },
	{ "pids", CC, "container_create: {require_pids_limit: true}",
	    "{\"HostConfig\":{\"PidsLimit\":-1}}", 403, "PIDs" },
	{ "labels required", CC, "container_create: {required_labels: [owner]}",
	    "{\"Labels\":{\"Owner\":\"x\"}}", 403, "required label owner" },
	{ "labels blank", CC, "container_create: {required_labels: [owner]}",
	    "{\"Labels\":{\"owner\":\" \"}}", 403, "required label" },
	{ "labels ok", CC, "container_create: {required_labels: [owner]}",
	    "{\"labels\":{\"owner\":\"team\"}}", 0, NULL },
	/* Container update: each group refused unless its knob allows it. */
	{ "update devices", PI_CONTAINER_UPDATE, NULL,
	    "{\"Devices\":[{\"PathOnHost\":\"/dev/mem\"}]}", 403,
	    "device changes" },
	{ "update devices allowed", PI_CONTAINER_UPDATE,
	    "container_update: {allow_devices: true}",
	    "{\"devicerequests\":null}", 0, NULL },
	{ "update memory", PI_CONTAINER_UPDATE, NULL, "{\"Memory\":1048576}",
	    403, "resource control" },
	{ "update memory allowed", PI_CONTAINER_UPDATE,
	    "container_update: {allow_resource_updates: true}",
	    "{\"Memory\":1048576,\"PidsLimit\":10}", 0, NULL },
	{ "update nested", PI_CONTAINER_UPDATE,
	    "container_update: {allow_resource_updates: true}",
	    "{\"HostConfig\":{\"Resources\":{\"capadd\":[\"ALL\"]}}}", 403,
	    "capability changes" },
	{ "update privileged", PI_CONTAINER_UPDATE, NULL,
	    "{\"hostconfig\":{\"Privileged\":false}}", 403, "privileged mode" },
	{ "update restart", PI_CONTAINER_UPDATE, NULL,
	    "{\"RestartPolicy\":{\"Name\":\"always\"}}", 403, "restart policy" },
	{ "update restart allowed", PI_CONTAINER_UPDATE,
	    "container_update: {allow_restart_policy: true}",
	    "{\"RestartPolicy\":{\"Name\":\"always\"}}", 0, NULL },
	{ "update empty", PI_CONTAINER_UPDATE, NULL, "{}", 0, NULL },
	{ "update dup", PI_CONTAINER_UPDATE,
	    "container_update: {allow_resource_updates: true}",
	    "{\"Memory\":1,\"memory\":2}", 400, "duplicate" },
	/* Network connect: the endpoint gate. */
	{ "connect static", PI_NETWORK_CONNECT, NULL, "{\"Container\":\"c\","
	    "\"EndpointConfig\":{\"IPAMConfig\":{\"IPv6Address\":\"fd00::5\"}}}",
	    403, "static IP" },
	{ "connect plain", PI_NETWORK_CONNECT, NULL, "{\"Container\":\"c\","
	    "\"EndpointConfig\":{\"Aliases\":[\"db\"]}}", 0, NULL },
	{ "connect type", PI_NETWORK_CONNECT, NULL, "{\"Container\":5}", 403,
	    "malformed" },
	/* §10.5 50-51: exec create. */
	{ "exec no allowlist", PI_EXEC_CREATE, NULL,
	    "{\"User\":\"app\",\"Cmd\":[\"ls\"]}", 403, "no commands are allowlisted" },
	{ "50 empty user", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"\",\"Cmd\":[\"ls\"]}", 403, "root" },
	{ "50 no user", PI_EXEC_CREATE, EXEC_OK, "{\"Cmd\":[\"ls\"]}", 403,
	    "root" },
	{ "50 zero", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"0\",\"Cmd\":[\"ls\"]}", 403, "root" },
	{ "50 zeros", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"00\",\"Cmd\":[\"ls\"]}", 403, "root" },
	{ "50 root allowed", PI_EXEC_CREATE,
	    "exec: {allowed_commands: [[ls]], allow_root_user: true}",
	    "{\"User\":\"0\",\"Cmd\":[\"ls\"]}", 0, NULL },
	{ "51 undecodable", PI_EXEC_CREATE, EXEC_OK, "{\"Cmd\":", 403,
	    "malformed" },
	{ "51 cmd number", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":5}", 403, "malformed" },
	{ "51 cmd element", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":[\"ls\",1]}", 403, "malformed" },
	{ "51 cmd missing", PI_EXEC_CREATE, EXEC_OK, "{\"User\":\"app\"}", 403,
	    "command is missing" },
	{ "51 cmd null", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":null}", 403, "command is missing" },
	{ "51 cmd empty", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":[]}", 403, "command is empty" },
	{ "51 cmd blank string", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":\"  \"}", 403, "command is empty" },
	{ "exec listed", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"cmd\":[\"node\",\"dist/run.js\"]}", 0, NULL },
	{ "exec string cmd", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":\" node  dist/run.js \"}", 0, NULL },
	{ "exec glob slash", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":[\"node\",\"dist/../../x.js\"]}", 403,
	    "allowed_commands" },
	{ "exec unlisted", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":[\"node\",\"evil.sh\"]}", 403,
	    "allowed_commands" },
	{ "exec extra arg", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":[\"ls\",\"-la\"]}", 403, "allowed_commands" },
	{ "exec privileged", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Privileged\":true,\"Cmd\":[\"ls\"]}", 403,
	    "privileged exec" },
	{ "exec dup", PI_EXEC_CREATE, EXEC_OK,
	    "{\"User\":\"app\",\"Cmd\":[\"ls\"],\"CMD\":[\"sh\"]}", 400,
	    "duplicate" },
	{ "exec empty body", PI_EXEC_CREATE, EXEC_OK, "", 0, NULL },
	{ "exec empty no allowlist", PI_EXEC_CREATE, NULL, "", 0, NULL },
	{ "exec start empty no allowlist", PI_EXEC_START, NULL, "", 403,
	    "no commands" },
	{ "exec denied env", PI_EXEC_CREATE,
	    "exec: {allowed_commands: [[ls]], denied_env_vars: [LD_PRELOAD]}",
	    "{\"User\":\"app\",\"Cmd\":[\"ls\"],\"Env\":"
	    "[\"LD_PRELOAD=/tmp/s3cr3t.so\"]}", 403, "LD_PRELOAD is denied" },
	{ "exec env pinned", PI_EXEC_CREATE,
	    "exec: {allowed_commands: [[ls]], allowed_env_vars: [URL], "
	    "allowed_env_values: ['URL=http://ok']}",
	    "{\"User\":\"app\",\"Cmd\":[\"ls\"],\"Env\":[\"URL=http://s3cr3t\"]}",
	    403, "allowed_env_values" },
	{ "exec env pin ok", PI_EXEC_CREATE,
	    "exec: {allowed_commands: [[ls]], allowed_env_vars: [URL, A], "
	    "allowed_env_values: ['URL=http://ok']}",
	    "{\"User\":\"app\",\"Cmd\":[\"ls\"],\"Env\":[\"URL=http://ok\","
	    "\"A=1\"]}", 0, NULL },
	{ "exec env unlisted", PI_EXEC_CREATE,
	    "exec: {allowed_commands: [[ls]], allowed_env_vars: [A]}",
	    "{\"User\":\"app\",\"Cmd\":[\"ls\"],\"Env\":[\"B=s3cr3t\"]}", 403,
	    "B is not in allowed_env_vars" },
	{ "exec start", PI_EXEC_START, EXEC_OK, "{\"Detach\":true,\"Tty\":false}",
	    0, NULL },
	{ "exec start type", PI_EXEC_START, EXEC_OK, "{\"Detach\":\"yes\"}", 403,
	    "malformed" },
	{ "exec start no allowlist", PI_EXEC_START, NULL, "{}", 403,
	    "no commands" },
	/* Blind writes. */
	{ "blind", PI_BLIND, NULL, "{}", 403, "not inspected" },
};

static const char *
body_str(const struct icase *c)
{
	return c->body;
}

START_TEST(test_cases)
{
	const struct icase	*c = &cases[_i];
	struct pol_body		 b;
	struct pol_verdict	 v;
	const char		*body = body_str(c);

	must_load(&b, c->policy);
	pol_inspect(&b, c->insp, "/x", NULL, NULL, (const uint8_t *)body,
	    strlen(body), 0, &v);
	ck_assert_msg(v.status == c->status, "%s: status %d, want %d (%s)",
	    c->name, v.status, c->status, v.reason);
	if (c->reason != NULL)
		ck_assert_msg(strstr(v.reason, c->reason) != NULL,
		    "%s: reason \"%s\" lacks \"%s\"", c->name, v.reason,
		    c->reason);
	if (c->status == 0)
		ck_assert_str_eq(v.reason, "");
	/* Secrets from the body never reach the reason. */
	ck_assert_ptr_null(strstr(v.reason, "s3cr3t"));
	pol_body_free(&b);
}
END_TEST

/* inspect_swarm.c: services, swarm, secrets, configs, plugin privileges. */
struct scase {
	const char	*name;
	enum pol_insp	 insp;
	const char	*npath;
	const char	*query;
	const char	*policy;
	const char	*body;
	int		 status;
	const char	*reason;
};

#define SVC	PI_SERVICE
#define SVCP	"/services/create"
static const struct scase swarm_cases[] = {
	{ "svc plain", SVC, SVCP, NULL, NULL,
	    "{\"Name\":\"w\",\"TaskTemplate\":{\"ContainerSpec\":"
	    "{\"Image\":\"nginx:1\"}}}", 0, NULL },
	/* §10.5 case 56. */
	{ "svc task host net", SVC, SVCP, NULL, NULL,
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"nginx\"},"
	    "\"Networks\":[{\"Target\":\"host\"}]}}", 403, "host network" },
	{ "svc task host net folded", SVC, "/services/abc/update", NULL, NULL,
	    "{\"tasktemplate\":{\"networks\":[{\"target\":\" HOST \"}]}}", 403,
	    "host network" },
	{ "svc top host net", SVC, SVCP, NULL, NULL,
	    "{\"Networks\":[{\"Target\":\"host\"}]}", 403, "host network" },
	{ "svc host net allowed", SVC, SVCP, NULL,
	    "service: {allow_host_network: true}",
	    "{\"TaskTemplate\":{\"Networks\":[{\"Target\":\"host\"}]}}", 0,
	    NULL },
	{ "svc other net", SVC, SVCP, NULL, NULL,
	    "{\"TaskTemplate\":{\"Networks\":[{\"Target\":\"backend\"}]}}", 0,
	    NULL },
	{ "svc net wrong type", SVC, SVCP, NULL, NULL,
	    "{\"TaskTemplate\":{\"Networks\":[\"host\"]}}", 403, "malformed" },
	{ "svc bind", SVC, SVCP, NULL, NULL,
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Mounts\":[{\"Type\":"
	    "\"bind\",\"Source\":\"/etc\",\"Target\":\"/x\"}]}}}", 403,
	    "/etc is not in allowed_bind_mounts" },
	{ "svc bind listed", SVC, SVCP, NULL,
	    "service: {allowed_bind_mounts: [/srv]}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Mounts\":[{\"Type\":"
	    "\"bind\",\"Source\":\"/srv/a/../b\"}]}}}", 0, NULL },
	{ "svc bind escape", SVC, SVCP, NULL,
	    "service: {allowed_bind_mounts: [/srv]}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Mounts\":[{\"Type\":"
	    "\"bind\",\"Source\":\"/srv/../etc\"}]}}}", 403, "/etc" },
	{ "svc volume mount", SVC, SVCP, NULL, NULL,
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Mounts\":[{\"Type\":"
	    "\"volume\",\"Source\":\"data\"}]}}}", 0, NULL },
	{ "svc cap", SVC, SVCP, NULL, NULL,
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"CapabilityAdd\":"
	    "[\"CAP_SYS_ADMIN\"]}}}", 403, "SYS_ADMIN" },
	{ "svc cap listed", SVC, SVCP, NULL,
	    "service: {allowed_capabilities: [net_admin]}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"CapabilityAdd\":"
	    "[\"CAP_NET_ADMIN\"]}}}", 0, NULL },
	{ "svc sysctl", SVC, SVCP, NULL, NULL,
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Sysctls\":"
	    "{\"net.ipv4.ip_forward\":\"1\"}}}}", 403, "sysctls" },
	{ "svc registry", SVC, SVCP, NULL, NULL,
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":"
	    "\"evil.example/x:1\"}}}", 403, "evil.example" },
	{ "svc registry listed", SVC, SVCP, NULL,
	    "service: {allowed_registries: [ghcr.io]}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":"
	    "\"ghcr.io/o/x@sha256:00\"}}}", 0, NULL },
	{ "svc root", SVC, SVCP, NULL, "service: {require_non_root_user: true}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"User\":\"0:0\"}}}", 403,
	    "non-root" },
	{ "svc nnp", SVC, SVCP, NULL,
	    "service: {require_no_new_privileges: true}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Privileges\":"
	    "{\"NoNewPrivileges\":true}}}}", 0, NULL },
	{ "svc nnp missing", SVC, SVCP, NULL,
	    "service: {require_no_new_privileges: true}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{}}}", 403,
	    "no-new-privileges" },
	{ "svc seccomp custom blob", SVC, SVCP, NULL,
	    "service: {deny_custom_seccomp_profiles: true}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Privileges\":{\"Seccomp\":"
	    "{\"Profile\":\"e30=\"}}}}}", 403, "custom seccomp" },
	{ "svc seccomp null blob", SVC, SVCP, NULL,
	    "service: {deny_custom_seccomp_profiles: true}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Privileges\":{\"Seccomp\":"
	    "{\"Profile\":null}}}}}", 0, NULL },
	{ "svc apparmor", SVC, SVCP, NULL,
	    "service: {deny_unconfined_apparmor: true}",
	    "{\"TaskTemplate\":{\"ContainerSpec\":{\"Privileges\":{\"AppArmor\":"
	    "{\"Mode\":\"Disabled\"}}}}}", 403, "AppArmor" },
	{ "svc dup", SVC, SVCP, NULL, NULL,
	    "{\"TaskTemplate\":{},\"taskTemplate\":{}}", 400, "duplicate" },
	{ "svc not object", SVC, SVCP, NULL, NULL, "[1]", 403, "malformed" },
	{ "svc bad json", SVC, SVCP, NULL, NULL, "{\"TaskTemplate\":", 403,
	    "malformed" },
	/* Swarm; §10.5 case 58. */
	{ "unlock bad", PI_SWARM, "/swarm/unlock", NULL,
	    "swarm: {allow_unlock: true}", "{\"UnlockKey\":", 403,
	    "malformed" },
	{ "unlock wrong type", PI_SWARM, "/swarm/unlock", NULL,
	    "swarm: {allow_unlock: true}", "{\"UnlockKey\":5}", 403,
	    "malformed" },
	{ "unlock off", PI_SWARM, "/swarm/unlock", NULL, NULL,
	    "{\"UnlockKey\":\"SWMKEY-1-s3cr3t\"}", 403, "unlocking" },
	{ "unlock null off", PI_SWARM, "/swarm/unlock", NULL, NULL, "null", 403,
	    "unlocking" },
	{ "unlock on", PI_SWARM, "/swarm/unlock", NULL,
	    "swarm: {allow_unlock: true}",
	    "{\"UnlockKey\":\"SWMKEY-1-s3cr3t\"}", 0, NULL },
	{ "init plain", PI_SWARM, "/swarm/init", NULL, NULL,
	    "{\"ListenAddr\":\"0.0.0.0:2377\"}", 0, NULL },
	{ "init fnc", PI_SWARM, "/swarm/init", NULL, NULL,
	    "{\"ForceNewCluster\":true}", 403, "new cluster" },
	{ "init ext ca", PI_SWARM, "/swarm/init", NULL, NULL,
	    "{\"Spec\":{\"CAConfig\":{\"ExternalCAs\":[{\"URL\":\"x\"}]}}}", 403,
	    "external CAs" },
	{ "init signing", PI_SWARM, "/swarm/init", NULL, NULL,
	    "{\"Spec\":{\"CAConfig\":{\"ForceRotate\":1}}}", 403, "signing CA" },
	{ "init autolock", PI_SWARM, "/swarm/init", NULL, NULL,
	    "{\"Spec\":{\"EncryptionConfig\":{\"AutoLockManagers\":true}}}", 403,
	    "automatically" },
	{ "init garbage", PI_SWARM, "/swarm/init", NULL, NULL, "nope", 403,
	    "malformed" },
	{ "join unlisted", PI_SWARM, "/swarm/join", NULL, NULL,
	    "{\"RemoteAddrs\":[\"10.0.0.9:2377\"],\"JoinToken\":\"s3cr3t\"}", 403,
	    "10.0.0.9:2377 is not in allowed_join_remote_addrs" },
	{ "join listed", PI_SWARM, "/swarm/join", NULL,
	    "swarm: {allowed_join_remote_addrs: ['Mgr.Example:2377']}",
	    "{\"RemoteAddrs\":[\" mgr.example:2377 \"]}", 0, NULL },
	{ "update rotate", PI_SWARM, "/swarm/update",
	    "version=3&rotateWorkerToken=1", NULL, "{}", 403, "join tokens" },
	{ "update rotate false", PI_SWARM, "/swarm/update",
	    "version=3&rotateWorkerToken=false", NULL, "{}", 0, NULL },
	{ "update rotate odd", PI_SWARM, "/swarm/update",
	    "rotateManagerUnlockKey=yes", NULL, "{}", 403, "unlock key" },
	{ "update rotate allowed", PI_SWARM, "/swarm/update",
	    "rotateManagerToken=true", "swarm: {allow_token_rotation: true}",
	    "{}", 0, NULL },
	{ "update autolock", PI_SWARM, "/swarm/update", "version=3", NULL,
	    "{\"EncryptionConfig\":{\"AutoLockManagers\":true}}", 403,
	    "automatically" },
	{ "update signing key", PI_SWARM, "/swarm/update", "version=3", NULL,
	    "{\"CAConfig\":{\"SigningCAKey\":\"s3cr3t\"}}", 403, "signing CA" },
	/* Secrets and configs. */
	{ "secret plain", PI_SECRET_CREATE, "/secrets/create", NULL, NULL,
	    "{\"Name\":\"s\",\"Data\":\"czNjcjN0\"}", 0, NULL },
	{ "secret driver", PI_SECRET_CREATE, "/secrets/create", NULL, NULL,
	    "{\"Name\":\"s\",\"Driver\":{\"Name\":\"vault\"}}", 403,
	    "driver vault" },
	{ "secret driver string", PI_SECRET_CREATE, "/secrets/create", NULL,
	    NULL, "{\"Driver\":\"vault\"}", 403, "malformed" },
	{ "secret template", PI_SECRET_CREATE, "/secrets/create", NULL, NULL,
	    "{\"Templating\":{\"Name\":\"golang\"}}", 403, "template driver" },
	{ "secret template allowed", PI_SECRET_CREATE, "/secrets/create", NULL,
	    "secret: {allow_template_drivers: true}",
	    "{\"Templating\":{\"Name\":\"golang\"}}", 0, NULL },
	{ "config template", PI_CONFIG_CREATE, "/configs/create", NULL,
	    "secret: {allow_template_drivers: true}",
	    "{\"Templating\":{\"Name\":\"golang\"}}", 403, "config create" },
	/* Plugin privileges. */
	{ "plugin plain", PI_PLUGIN_PRIVS, "/plugins/pull",
	    "remote=vieux/sshfs:latest",
	    "plugin: {allowed_registries: [docker.io]}",
	    "[{\"Name\":\"network\",\"Value\":[\"bridge\"]}]", 0, NULL },
	{ "plugin host net", PI_PLUGIN_PRIVS, "/plugins/pull",
	    "remote=sshfs", NULL,
	    "[{\"Name\":\"network\",\"Value\":[\"host\"]}]", 403,
	    "host network" },
	{ "plugin mount", PI_PLUGIN_PRIVS, "/plugins/p/upgrade",
	    NULL, NULL,
	    "[{\"Name\":\"mount\",\"Value\":[\"/var/lib/docker/plugins/\"]}]",
	    403, "/var/lib/docker/plugins is not in allowed_bind_mounts" },
	{ "plugin device", PI_PLUGIN_PRIVS, "/plugins/pull", NULL,
	    "plugin: {allowed_devices: [/dev/fuse]}",
	    "[{\"Name\":\"device\",\"Value\":[\"/dev/fuse\"]},"
	    "{\"Name\":\"capabilities\",\"Value\":[\"CAP_SYS_ADMIN\"]}]", 403,
	    "capability SYS_ADMIN" },
	{ "plugin caps listed", PI_PLUGIN_PRIVS, "/plugins/pull", NULL,
	    "plugin: {allowed_devices: [/dev/fuse], "
	    "allowed_capabilities: [sys_admin]}",
	    "[{\"Name\":\"device\",\"Value\":[\"/dev/fuse\"]},"
	    "{\"Name\":\"capabilities\",\"Value\":[\"CAP_SYS_ADMIN\"]}]", 0,
	    NULL },
	{ "plugin all devices", PI_PLUGIN_PRIVS, "/plugins/pull", NULL, NULL,
	    "[{\"Name\":\"allow-all-devices\",\"Value\":[\"true\"]}]", 403,
	    "all devices" },
	{ "plugin pid", PI_PLUGIN_PRIVS, "/plugins/pull", NULL, NULL,
	    "[{\"Name\":\"host pid namespace\",\"Value\":[\"true\"]}]", 403,
	    "PID" },
	{ "plugin registry", PI_PLUGIN_PRIVS, "/plugins/pull",
	    "remote=evil.example/p:1", NULL, "", 403, "evil.example" },
	{ "plugin registry listed", PI_PLUGIN_PRIVS, "/plugins/pull",
	    "remote=evil.example/p:1",
	    "plugin: {allowed_registries: [evil.example]}", "[]", 0, NULL },
	{ "plugin not array", PI_PLUGIN_PRIVS, "/plugins/pull", NULL, NULL,
	    "{\"Name\":\"network\"}", 403, "malformed" },
	{ "plugin value type", PI_PLUGIN_PRIVS, "/plugins/pull", NULL, NULL,
	    "[{\"Name\":\"network\",\"Value\":\"host\"}]", 403, "malformed" },
	/* Plugin set. */
	{ "set env", PI_PLUGIN_SET, "/plugins/p/set", NULL,
	    "plugin: {allowed_set_env_prefixes: ['DEBUG=']}",
	    "[\"DEBUG=1\"]", 0, NULL },
	{ "set env unlisted", PI_PLUGIN_SET, "/plugins/p/set", NULL,
	    "plugin: {allowed_set_env_prefixes: ['DEBUG=']}",
	    "[\"DEBUG=1\",\"TOKEN=s3cr3t\"]", 403,
	    "TOKEN is not allowed" },
	{ "set env none listed", PI_PLUGIN_SET, "/plugins/p/set", NULL, NULL,
	    "[\"DEBUG=1\"]", 403, "allowed_set_env_prefixes" },
	{ "set mount", PI_PLUGIN_SET, "/plugins/p/set", NULL,
	    "plugin: {allowed_set_env_prefixes: ['DEBUG=']}",
	    "[\"mymount.source=/etc\"]", 403, "/etc" },
	{ "set mount listed", PI_PLUGIN_SET, "/plugins/p/set", NULL,
	    "plugin: {allowed_set_env_prefixes: ['DEBUG='], "
	    "allowed_bind_mounts: [/srv]}",
	    "[\"mymount.source=/srv/x\",\"state=/srv/y\"]", 0, NULL },
	{ "set device", PI_PLUGIN_SET, "/plugins/p/set", NULL,
	    "plugin: {allowed_set_env_prefixes: ['DEBUG=']}",
	    "[\"dev.path=/dev/sda\"]", 403, "/dev/sda" },
	{ "set no equals", PI_PLUGIN_SET, "/plugins/p/set", NULL,
	    "plugin: {allowed_set_env_prefixes: ['DEBUG=']}",
	    "[\"DEBUG\"]", 403, "key=value" },
	{ "set not array", PI_PLUGIN_SET, "/plugins/p/set", NULL,
	    "plugin: {allowed_set_env_prefixes: ['DEBUG=']}",
	    "{\"DEBUG\":1}", 403, "malformed" },
};

START_TEST(test_swarm)
{
	const struct scase	*c = &swarm_cases[_i];
	struct pol_body		 b;
	struct pol_verdict	 v;

	must_load(&b, c->policy);
	pol_inspect(&b, c->insp, c->npath, c->query, NULL,
	    (const uint8_t *)c->body, strlen(c->body), 0, &v);
	ck_assert_msg(v.status == c->status, "%s: status %d, want %d (%s)",
	    c->name, v.status, c->status, v.reason);
	if (c->reason != NULL)
		ck_assert_msg(strstr(v.reason, c->reason) != NULL,
		    "%s: reason \"%s\" lacks \"%s\"", c->name, v.reason,
		    c->reason);
	if (c->status == 0)
		ck_assert_str_eq(v.reason, "");
	ck_assert_ptr_null(strstr(v.reason, "s3cr3t"));
	/* The acknowledgement does not lift these inspectors. */
	if (c->status != 0) {
		pol_inspect(&b, c->insp, c->npath, c->query, NULL,
		    (const uint8_t *)c->body, strlen(c->body), 1, &v);
		ck_assert_int_eq(v.status, c->status);
	}
	pol_body_free(&b);
}
END_TEST

/* A path too long to keep whole is refused, not cut and cleaned. */
START_TEST(test_swarm_long)
{
	struct pol_body		 b;
	struct pol_verdict	 v;
	char			*body, *p;
	size_t			 i;

	must_load(&b, "service: {allowed_bind_mounts: [/srv]}");
	body = xmalloc(12000);
	p = body + snprintf(body, 12000, "{\"TaskTemplate\":{\"ContainerSpec\""
	    ":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/srv/");
	for (i = 0; i < 5000; i++)
		*p++ = 'a';
	pw_strlcpy(p, "/../../../etc\"}]}}}", 12000 - (size_t)(p - body));
	pol_inspect(&b, PI_SERVICE, "/services/create", NULL, NULL,
	    (const uint8_t *)body, strlen(body), 0, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "too long"));
	free(body);
	pol_body_free(&b);
}
END_TEST

/* ---- POST /build (inspect_build.c) ---- */

struct tarbuf {
	uint8_t	*b;
	size_t	 n;
};

static void
tar_raw(struct tarbuf *t, const char *name, char type, const char *data,
    size_t len, const char *prefix)
{
	uint8_t		h[512];
	unsigned int	sum = 0;
	size_t		i, pad = (512 - len % 512) % 512;

	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name) > 100 ? 100 : strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	{
		char	sz[32];

		snprintf(sz, sizeof(sz), "%011llo", (unsigned long long)len);
		memcpy(h + 124, sz, 11);
	}
	memcpy(h + 136, "00000000000", 11);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	if (prefix != NULL)
		memcpy(h + 345, prefix, strlen(prefix));
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	t->b = realloc(t->b, t->n + 512 + len + pad + 1024);
	ck_assert_ptr_nonnull(t->b);
	memcpy(t->b + t->n, h, 512);
	t->n += 512;
	if (len > 0)
		memcpy(t->b + t->n, data, len);
	t->n += len;
	memset(t->b + t->n, 0, pad);
	t->n += pad;
}

static void
tar_add(struct tarbuf *t, const char *name, const char *data)
{
	tar_raw(t, name, '0', data, strlen(data), NULL);
}

static void
tar_end(struct tarbuf *t)
{
	memset(t->b + t->n, 0, 1024);
	t->n += 1024;
}

static uint8_t *
gzip_buf(const uint8_t *in, size_t n, size_t *outn)
{
	z_stream	z;
	uint8_t		*out;
	size_t		 cap = n / 2 + 1024;

	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&z, n);
	out = xmalloc(cap);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outn = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

static void
build_judge(const char *policy, const char *query, const uint8_t *body,
    size_t len, struct pol_verdict *v)
{
	struct pol_body	b;

	must_load(&b, policy);
	pol_inspect(&b, PI_BUILD, "/build", query, NULL, body, len, 1, v);
	pol_body_free(&b);
}

static void
df_expect(const char *df, int status, const char *reason)
{
	struct pol_verdict	v;

	memset(&v, 0, sizeof(v));
	(void)pol_dockerfile_check(df, strlen(df), &v);
	ck_assert_msg(v.status == status, "Dockerfile %s: status %d (%s)", df,
	    v.status, v.reason);
	if (reason != NULL)
		ck_assert_msg(strstr(v.reason, reason) != NULL, "%s: %s", df,
		    v.reason);
}

/* §10.5 case 54: the parser. */
START_TEST(test_dockerfile)
{
	df_expect("FROM alpine\nCOPY . /x\nCMD [\"sh\"]\n", 0, NULL);
	df_expect("FROM alpine\nRUN id\n", 403, "RUN");
	df_expect("FROM alpine\n  run id\n", 403, "RUN");
	df_expect("FROM alpine\nRUN[\"id\"]\n", 403, "RUN");
	df_expect("FROM alpine\nR\\\nUN id\n", 403, "RUN");
	df_expect("FROM alpine\nR\\  \r\nUN id\r\n", 403, "RUN");
	df_expect("FROM alpine\nR\\\n# a comment\n\nUN id\n", 403, "RUN");
	df_expect("FROM alpine\nR\\\n  UN id\n", 403, "RUN");
	df_expect("FROM alpine\nONBUILD RUN id\n", 403, "RUN");
	df_expect("FROM alpine\nonbuild \\\n run id\n", 403, "RUN");
	df_expect("# escape=`\nFROM alpine\nR`\nUN id\n", 403, "RUN");
	/* Whatever the escape directive says, both joins are judged. */
	df_expect("  # escape=`\nFROM alpine\nR\\\nUN id\n", 403, "RUN");
	df_expect("# syntax=docker/dockerfile:1\nFROM alpine\n", 403,
	    "syntax");
	df_expect("#Syntax = evil/frontend\nFROM alpine\n", 403, "syntax");
	df_expect("\xef\xbb\xbf# syntax=x\nFROM alpine\n", 403, "syntax");
	df_expect("FROM alpine\nLABEL a=RUN\nENV X=\"RUN id\"\n", 0, NULL);
	df_expect("FROM alpine\n# RUN id\n", 0, NULL);
	df_expect("FROM alpine\nRUNX id\n", 0, NULL);
	df_expect("FROM alpine\nRUN", 403, "RUN");
	{
		struct pol_verdict	v;

		memset(&v, 0, sizeof(v));
		ck_assert_int_eq(pol_dockerfile_check("FROM a\0RUN", 10, &v),
		    -1);
		ck_assert_ptr_nonnull(strstr(v.reason, "NUL"));
	}
}
END_TEST

/* §10.5 cases 53 and 55, and the query. */
START_TEST(test_build)
{
	struct tarbuf		 t = { NULL, 0 };
	struct pol_verdict	 v;
	uint8_t			*gz, *big;
	size_t			 gzn, i;
	const char		*ok = "FROM alpine\nCOPY . /\n";

	/* The query. */
	build_judge(NULL, "networkmode=host", NULL, 0, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "host network"));
	build_judge("build: {allow_host_network: true}", "networkmode=host",
	    NULL, 0, &v);
	ck_assert_int_eq(v.status, 0);
	build_judge(NULL, "remote=https://example.com/ctx.tar", NULL, 0, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "remote"));
	build_judge("build: {allow_remote_context: true}",
	    "remote=https://example.com/ctx.tar", NULL, 0, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "RUN is restricted"));
	build_judge("build: {allow_remote_context: true, "
	    "allow_run_instructions: true}", "remote=https://e.x/c.tar", NULL,
	    0, &v);
	ck_assert_int_eq(v.status, 0);

	/* A plain tar. */
	tar_add(&t, "Dockerfile", ok);
	tar_add(&t, "app/main.c", "int main;\n");
	tar_end(&t);
	build_judge(NULL, NULL, t.b, t.n, &v);
	ck_assert_msg(v.status == 0, "%s", v.reason);
	/* Fed one byte at a time, the same. */
	{
		struct pol_body		 b;
		struct pol_build	*pb;

		pol_body_init(&b);
		pb = pol_build_begin(&b, NULL, &v);
		ck_assert_ptr_nonnull(pb);
		for (i = 0; i < t.n; i++)
			ck_assert_int_eq(pol_build_feed(pb, t.b + i, 1), 0);
		pol_build_end(pb);
		ck_assert_int_eq(v.status, 0);
	}
	/* Gzipped. */
	gz = gzip_buf(t.b, t.n, &gzn);
	build_judge(NULL, NULL, gz, gzn, &v);
	ck_assert_msg(v.status == 0, "%s", v.reason);
	free(gz);
	free(t.b);
	t.b = NULL;
	t.n = 0;

	/* 53: two entries naming the Dockerfile, the benign one first. */
	tar_add(&t, "Dockerfile", ok);
	tar_add(&t, "./Dockerfile", "FROM alpine\nRUN id\n");
	tar_end(&t);
	build_judge(NULL, NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "two tar entries"));
	gz = gzip_buf(t.b, t.n, &gzn);
	build_judge(NULL, NULL, gz, gzn, &v);
	ck_assert_int_eq(v.status, 403);
	free(gz);
	free(t.b);
	t.b = NULL;
	t.n = 0;

	/* A dockerfile parameter, and the ustar prefix. */
	tar_raw(&t, "Dockerfile.dev", '0', "FROM a\nRUN id\n", 14, "sub");
	tar_add(&t, "Dockerfile", ok);
	tar_end(&t);
	build_judge(NULL, NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 0);
	build_judge(NULL, "dockerfile=./sub/Dockerfile.dev", t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "RUN"));
	build_judge("build: {allow_run_instructions: true}",
	    "dockerfile=sub/Dockerfile.dev", t.b, t.n, &v);
	ck_assert_int_eq(v.status, 0);
	build_judge(NULL, "dockerfile=nothere", t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "no nothere in the archive"));
	free(t.b);
	t.b = NULL;
	t.n = 0;

	/* Docker's lower-case fallback is judged too. */
	tar_add(&t, "dockerfile", "FROM a\nRUN id\n");
	tar_end(&t);
	build_judge(NULL, NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	free(t.b);
	t.b = NULL;
	t.n = 0;

	/* A symlink named Dockerfile after a benign one. */
	tar_add(&t, "Dockerfile", ok);
	tar_raw(&t, "Dockerfile", '2', "", 0, NULL);
	tar_end(&t);
	build_judge(NULL, NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	free(t.b);
	t.b = NULL;
	t.n = 0;

	/* A GNU long name and a PAX path naming the Dockerfile. */
	tar_add(&t, "Dockerfile", ok);
	tar_raw(&t, "././@LongLink", 'L', "./Dockerfile", 12, NULL);
	tar_add(&t, "innocent", "FROM a\nRUN id\n");
	tar_end(&t);
	build_judge(NULL, NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "two tar entries"));
	free(t.b);
	t.b = NULL;
	t.n = 0;
	tar_raw(&t, "PaxHeaders/x", 'x', "19 path=Dockerfile\n", 19, NULL);
	tar_add(&t, "innocent", "FROM a\nRUN id\n");
	tar_end(&t);
	build_judge(NULL, NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "RUN"));
	free(t.b);
	t.b = NULL;
	t.n = 0;

	/* An old-style entry named like a directory, with data. */
	tar_raw(&t, "hide/", '\0', "abc", 3, NULL);
	tar_add(&t, "Dockerfile", ok);
	tar_end(&t);
	build_judge(NULL, NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "ambiguous"));
	free(t.b);
	t.b = NULL;
	t.n = 0;

	/* After the end of the archive Docker reads nothing: neither do we. */
	tar_add(&t, "Dockerfile", ok);
	tar_end(&t);
	tar_add(&t, "Dockerfile", "FROM a\nRUN id\n");
	build_judge(NULL, NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 0);
	/* Truncated, not a tar, other compressions. */
	build_judge(NULL, NULL, t.b, 700, &v);
	ck_assert_int_eq(v.status, 403);
	build_judge(NULL, NULL, (const uint8_t *)ok, strlen(ok), &v);
	ck_assert_int_eq(v.status, 403);
	build_judge(NULL, NULL, (const uint8_t *)"BZh91AY&SY", 10, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "bzip2"));
	gz = gzip_buf(t.b, t.n, &gzn);
	build_judge(NULL, NULL, gz, gzn - 9, &v);
	ck_assert_int_eq(v.status, 403);
	gz[gzn / 2] ^= 0x55;
	build_judge(NULL, NULL, gz, gzn, &v);
	ck_assert_int_eq(v.status, 403);
	free(gz);
	free(t.b);
	t.b = NULL;
	t.n = 0;

	/* 55: a gzip bomb (a tar of zeros past 1 GiB inflated). */
	big = xcalloc(1, 64 * 1024 * 1024);
	tar_add(&t, "Dockerfile", ok);
	tar_raw(&t, "zeros", '0', "", 0, NULL);
	memcpy(t.b + t.n - 512 + 124, "20000000000", 11);	/* 2 GiB */
	{
		unsigned int	sum = 0;
		uint8_t		*h = t.b + t.n - 512;

		memset(h + 148, ' ', 8);
		for (i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *)h + 148, 8, "%06o", sum);
		h[155] = ' ';
	}
	{
		struct pol_body		 b;
		struct pol_build	*pb;
		z_stream		 z;
		uint8_t			 out[1 << 16];
		int			 r = 0, k;

		pol_body_init(&b);
		pb = pol_build_begin(&b, NULL, &v);
		memset(&z, 0, sizeof(z));
		ck_assert_int_eq(deflateInit2(&z, 1, Z_DEFLATED,
		    16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
		/* The header, then 17 x 64 MiB of zeros, streamed. */
		for (k = 0; k <= 17 && r == 0; k++) {
			z.next_in = k == 0 ? t.b : big;
			z.avail_in = k == 0 ? (uInt)t.n : 64 * 1024 * 1024;
			do {
				z.next_out = out;
				z.avail_out = sizeof(out);
				deflate(&z, k == 17 ? Z_FINISH : Z_NO_FLUSH);
				if (r == 0)
					r = pol_build_feed(pb, out,
					    sizeof(out) - z.avail_out);
			} while (z.avail_out == 0 && r == 0);
		}
		deflateEnd(&z);
		pol_build_end(pb);
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(v.status, 403);
		ck_assert_ptr_nonnull(strstr(v.reason, "1 GiB"));
	}
	free(big);
	free(t.b);
}
END_TEST

/* §10.5 case 57: plugin create, a bare tar whose config.json is judged. */
static void
plugin_judge(const char *policy, const uint8_t *body, size_t len,
    struct pol_verdict *v)
{
	struct pol_body	b;

	must_load(&b, policy);
	pol_inspect(&b, PI_PLUGIN_CREATE, "/plugins/create", NULL, NULL, body,
	    len, 1, v);
	pol_body_free(&b);
}

START_TEST(test_plugin_create)
{
	static const struct {
		const char	*policy;
		const char	*config;
		int		 status;
		const char	*reason;
	} c[] = {
		{ NULL, "{\"Entrypoint\":[\"/p\"],\"Network\":{\"Type\":"
		    "\"bridge\"}}", 0, NULL },
		{ NULL, "{\"Network\":{\"Type\":\"host\"}}", 403,
		    "host network" },
		{ NULL, "{\"PidHost\":true}", 403, "PID" },
		{ NULL, "{\"IpcHost\":true}", 403, "IPC" },
		{ NULL, "{\"PropagatedMount\":\"/var/lib/x\"}", 403,
		    "propagated mount /var/lib/x" },
		{ NULL, "{\"Mounts\":[{\"Source\":\"/etc\"}]}", 403, "/etc" },
		{ "plugin: {allowed_bind_mounts: [/srv]}",
		    "{\"Mounts\":[{\"Source\":\"/srv/p\"},{\"Source\":\"\"}]}", 0,
		    NULL },
		{ NULL, "{\"Linux\":{\"Capabilities\":[\"CAP_SYS_ADMIN\"]}}",
		    403, "SYS_ADMIN" },
		{ NULL, "{\"Linux\":{\"AllowAllDevices\":true}}", 403,
		    "all devices" },
		{ NULL, "{\"Linux\":{\"Devices\":[{\"Path\":\"/dev/sda\"}]}}",
		    403, "/dev/sda" },
		{ NULL, "{\"Network\":", 403, "cannot be decoded" },
		{ NULL, "{\"Network\":\"host\"}", 403, "cannot be decoded" },
		{ NULL, "{\"PidHost\":true,\"pidhost\":false}", 403,
		    "cannot be decoded" },
	};
	struct tarbuf		 t = { NULL, 0 };
	struct pol_verdict	 v;
	uint8_t			*gz;
	size_t			 i, gzn;

	for (i = 0; i < nitems(c); i++) {
		tar_add(&t, "rootfs/bin/p", "x");
		tar_add(&t, "./config.json", c[i].config);
		tar_end(&t);
		plugin_judge(c[i].policy, t.b, t.n, &v);
		ck_assert_msg(v.status == c[i].status, "%s: %d %s",
		    c[i].config, v.status, v.reason);
		if (c[i].reason != NULL)
			ck_assert_msg(strstr(v.reason, c[i].reason) != NULL,
			    "%s: %s", c[i].config, v.reason);
		free(t.b);
		t.b = NULL;
		t.n = 0;
	}
	/* Two config.json (Docker keeps the last), none, gzip, multipart. */
	tar_add(&t, "config.json", "{}");
	tar_add(&t, "config.json", "{\"PidHost\":true}");
	tar_end(&t);
	plugin_judge(NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "two tar entries"));
	free(t.b);
	t.b = NULL;
	t.n = 0;
	tar_add(&t, "rootfs/x", "x");
	tar_end(&t);
	plugin_judge(NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "no config.json"));
	free(t.b);
	t.b = NULL;
	t.n = 0;
	tar_add(&t, "config.json", "{}");
	tar_end(&t);
	plugin_judge(NULL, t.b, t.n, &v);
	ck_assert_int_eq(v.status, 0);
	gz = gzip_buf(t.b, t.n, &gzn);
	plugin_judge(NULL, gz, gzn, &v);
	ck_assert_int_eq(v.status, 403);
	free(gz);
	free(t.b);
	{
		static const char mp[] = "--xyz\r\nContent-Disposition: "
		    "form-data; name=\"config.json\"\r\n\r\n{}\r\n--xyz--\r\n";

		plugin_judge(NULL, (const uint8_t *)mp, sizeof(mp) - 1, &v);
		ck_assert_int_eq(v.status, 403);
	}
}
END_TEST

/* §10.3 35 and the other caps: one byte over is 413, at the cap is read. */
START_TEST(test_caps)
{
	struct pol_body		 b;
	struct pol_verdict	 v;
	uint8_t			*buf;
	size_t			 cap = 1024 * 1024;

	pol_body_init(&b);
	ck_assert_uint_eq(pol_inspector_cap(PI_CONTAINER_CREATE), cap);
	ck_assert_uint_eq(pol_inspector_cap(PI_CONTAINER_UPDATE), cap);
	ck_assert_uint_eq(pol_inspector_cap(PI_NETWORK_CONNECT), cap);
	ck_assert_uint_eq(pol_inspector_cap(PI_EXEC_CREATE), 64 * 1024);
	ck_assert_uint_eq(pol_inspector_cap(PI_EXEC_START), 64 * 1024);
	ck_assert_uint_eq(pol_inspector_cap(PI_IMAGES_CREATE), 0);
	buf = xmalloc(cap + 1);
	memset(buf, ' ', cap + 1);
	memcpy(buf, "{}", 2);
	pol_inspect(&b, PI_CONTAINER_CREATE, "/containers/create", NULL, NULL,
	    buf, cap + 1, 0, &v);
	ck_assert_int_eq(v.status, 413);
	ck_assert_str_eq(v.reason, "request body too large");
	pol_inspect(&b, PI_CONTAINER_CREATE, "/containers/create", NULL, NULL,
	    buf, cap, 0, &v);
	ck_assert_int_eq(v.status, 0);
	pol_inspect(&b, PI_NETWORK_CONNECT, "/networks/n/connect", NULL, NULL,
	    buf, cap + 1, 0, &v);
	ck_assert_int_eq(v.status, 413);
	b.exec_allow_root_user = 1;
	pol_inspect(&b, PI_EXEC_CREATE, "/containers/c/exec", NULL, NULL,
	    buf, 64 * 1024 + 1, 1, &v);
	ck_assert_int_eq(v.status, 413);
	free(buf);
}
END_TEST

START_TEST(test_dispatch)
{
	static const struct {
		const char	*m, *p;
		enum pol_insp	 want;
	} t[] = {
		{ "POST", "/containers/create", PI_CONTAINER_CREATE },
		{ "GET", "/containers/create", PI_NONE },
		{ "POST", "/containers/abc/update", PI_CONTAINER_UPDATE },
		{ "POST", "/containers/abc/exec", PI_EXEC_CREATE },
		{ "POST", "/containers//exec", PI_NONE },
		{ "POST", "/containers/a/b/exec", PI_NONE },
		{ "POST", "/exec/abc/start", PI_EXEC_START },
		{ "POST", "/exec/abc/resize", PI_NONE },
		{ "POST", "/images/create", PI_IMAGES_CREATE },
		{ "POST", "/networks/n1/connect", PI_NETWORK_CONNECT },
		{ "POST", "/networks/n1/disconnect", PI_NETWORK_DISCONNECT },
		{ "POST", "/networks/create", PI_NETWORK_CREATE },
		{ "PUT", "/containers/abc/archive", PI_BLIND },
		{ "GET", "/containers/abc/archive", PI_NONE },
		{ "POST", "/build", PI_BUILD },
		{ "POST", "/images/load", PI_BLIND },
		{ "POST", "/volumes/create", PI_VOLUME_CREATE },
		{ "POST", "/secrets/create", PI_SECRET_CREATE },
		{ "POST", "/configs/create", PI_CONFIG_CREATE },
		{ "POST", "/services/create", PI_SERVICE },
		{ "POST", "/services/s/update", PI_SERVICE },
		{ "POST", "/swarm/init", PI_SWARM },
		{ "POST", "/swarm/join", PI_SWARM },
		{ "POST", "/swarm/update", PI_SWARM },
		{ "POST", "/swarm/unlock", PI_SWARM },
		{ "POST", "/swarm/leave", PI_NONE },
		{ "POST", "/nodes/n/update", PI_BLIND },
		{ "POST", "/plugins/pull", PI_PLUGIN_PRIVS },
		{ "POST", "/plugins/p/upgrade", PI_PLUGIN_PRIVS },
		{ "POST", "/plugins/p/set", PI_PLUGIN_SET },
		{ "POST", "/plugins/create", PI_PLUGIN_CREATE },
		{ "POST", "/libpod/containers/create", PI_BLIND },
		{ "POST", "/libpod/play/kube", PI_BLIND },
		{ "PUT", "/libpod/manifests/m", PI_BLIND },
		{ "POST", "/libpod/containers/c/exec", PI_EXEC_CREATE },
		{ "POST", "/containers/json", PI_NONE },
	};
	static const char	ok[] = "{\"User\":\"app\",\"Cmd\":[\"x\"]}";
	static const char	root[] = "{\"User\":\"0\",\"Cmd\":[\"x\"]}";
	struct pol_body		b;
	struct pol_verdict	v;
	size_t			i;

	for (i = 0; i < nitems(t); i++)
		ck_assert_msg(pol_inspector_for(t[i].m, t[i].p) == t[i].want,
		    "%s %s", t[i].m, t[i].p);
	ck_assert_str_eq(pol_inspector_name(PI_CONTAINER_CREATE),
	    "container_create");
	ck_assert_str_eq(pol_inspector_name(PI_BLIND), "body_blind");
	pol_body_init(&b);
	pol_inspect(&b, PI_BLIND, "/images/load", NULL, NULL, NULL, 0, 0, &v);
	ck_assert_int_eq(v.status, 403);
	pol_inspect(&b, PI_BLIND, "/images/load", NULL, NULL, NULL, 0, 1, &v);
	ck_assert_int_eq(v.status, 0);
	pol_inspect(&b, PI_NONE, "/x", NULL, NULL, NULL, 0, 0, &v);
	ck_assert_int_eq(v.status, 0);
	/* The ack lifts only the argv allowlist, not the other exec gates. */
	pol_inspect(&b, PI_EXEC_CREATE, "/containers/c/exec", NULL, NULL,
	    (const uint8_t *)ok, strlen(ok), 1, &v);
	ck_assert_int_eq(v.status, 0);
	pol_inspect(&b, PI_EXEC_CREATE, "/containers/c/exec", NULL, NULL,
	    (const uint8_t *)root, strlen(root), 1, &v);
	ck_assert_int_eq(v.status, 403);
	pol_inspect(&b, PI_EXEC_CREATE, "/containers/c/exec", NULL, NULL,
	    (const uint8_t *)ok, strlen(ok), 0, &v);
	ck_assert_int_eq(v.status, 403);
}
END_TEST


/* Volume and network writes (compose): what reaches the host is refused. */
struct vcase {
	enum pol_insp	 insp;
	const char	*body;
	int		 status;
};

static const struct vcase vn_cases[] = {
	{ PI_VOLUME_CREATE, "{\"Name\":\"v\",\"Driver\":\"local\","
	    "\"DriverOpts\":{},\"Labels\":{\"com.docker.compose.project\":\"p\"}}", 0 },
	{ PI_VOLUME_CREATE, "{\"Name\":\"v\"}", 0 },
	{ PI_VOLUME_CREATE, "{\"Name\":\"v\",\"DriverOpts\":{\"type\":\"none\","
	    "\"o\":\"bind\",\"device\":\"/\"}}", 403 },
	{ PI_VOLUME_CREATE, "{\"Name\":\"v\",\"driveropts\":{\"type\":\"nfs\"}}", 403 },
	{ PI_VOLUME_CREATE, "{\"Name\":\"v\",\"Driver\":\"rexray\"}", 403 },
	{ PI_VOLUME_CREATE, "{\"Name\":\"v\",\"ClusterVolumeSpec\":{}}", 403 },
	{ PI_VOLUME_CREATE, "{\"Name\":\"v\",\"DriverOpts\":[]}", 403 },
	{ PI_VOLUME_CREATE, "{\"Driver\":\"local\",\"driver\":\"x\"}", 400 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"CheckDuplicate\":true,"
	    "\"Driver\":\"bridge\",\"Internal\":false,\"Attachable\":false,"
	    "\"Ingress\":false,\"IPAM\":{\"Driver\":\"default\",\"Config\":[],"
	    "\"Options\":{}},\"EnableIPv6\":false,\"Options\":{},\"Labels\":{}}", 0 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\"}", 0 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"Driver\":\"macvlan\"}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"Driver\":\"host\"}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"Ingress\":true}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"ConfigOnly\":true}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"ConfigFrom\":{\"Network\":\"c\"}}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"Scope\":\"swarm\"}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"EnableIPv4\":false}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"Options\":{"
	    "\"com.docker.network.bridge.name\":\"docker0\"}}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"IPAM\":{\"Config\":[{"
	    "\"Subnet\":\"10.0.0.0/8\"}]}}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"IPAM\":{\"Driver\":\"x\"}}", 403 },
	{ PI_NETWORK_CREATE, "{\"Name\":\"n\",\"Ingress\":\"yes\"}", 403 },
	{ PI_NETWORK_DISCONNECT, "{\"Container\":\"c\"}", 0 },
	{ PI_NETWORK_DISCONNECT, "{\"Container\":\"c\",\"Force\":false}", 0 },
	{ PI_NETWORK_DISCONNECT, "{\"Container\":\"c\",\"force\":true}", 403 },
};

START_TEST(test_volume_network)
{
	static const char	att[] = "{\"Name\":\"n\",\"Driver\":\"overlay\","
				    "\"Attachable\":true}";
	static const char	attb[] = "{\"Name\":\"n\",\"Attachable\":true}";
	static const char	opts[] = "{\"Name\":\"v\",\"DriverOpts\":"
				    "{\"type\":\"tmpfs\"}}";
	struct pol_body		b;
	struct pol_verdict	v;
	size_t			i;

	pol_body_init(&b);
	for (i = 0; i < nitems(vn_cases); i++) {
		pol_inspect(&b, vn_cases[i].insp, "/x", NULL, NULL,
		    (const uint8_t *)vn_cases[i].body, strlen(vn_cases[i].body),
		    0, &v);
		ck_assert_msg(v.status == vn_cases[i].status, "%s: %d (%s)",
		    vn_cases[i].body, v.status, v.reason);
	}
	/* Attachable on a local bridge changes nothing: allowed. */
	pol_inspect(&b, PI_NETWORK_CREATE, "/x", NULL, NULL,
	    (const uint8_t *)attb, strlen(attb), 0, &v);
	ck_assert_int_eq(v.status, 0);
	/* The knobs open what they name, and only that. */
	b.net_allow_custom_drivers = 1;
	pol_inspect(&b, PI_NETWORK_CREATE, "/x", NULL, NULL,
	    (const uint8_t *)att, strlen(att), 0, &v);
	ck_assert_int_eq(v.status, 403);
	b.net_allow_attachable = 1;
	pol_inspect(&b, PI_NETWORK_CREATE, "/x", NULL, NULL,
	    (const uint8_t *)att, strlen(att), 0, &v);
	ck_assert_int_eq(v.status, 0);
	pol_inspect(&b, PI_VOLUME_CREATE, "/x", NULL, NULL,
	    (const uint8_t *)opts, strlen(opts), 0, &v);
	ck_assert_int_eq(v.status, 403);
	b.vol_allow_driver_opts = 1;
	pol_inspect(&b, PI_VOLUME_CREATE, "/x", NULL, NULL,
	    (const uint8_t *)opts, strlen(opts), 0, &v);
	ck_assert_int_eq(v.status, 0);
	pol_body_free(&b);
}
END_TEST

/* Image pull: query and registry policy (§5.9). */
struct pcase {
	const char	*policy;
	const char	*query;
	int		 status;
};

static const struct pcase pull_cases[] = {
	{ NULL, "fromImage=nginx&tag=latest", 0 },
	{ NULL, "fromImage=library%2Fnginx%3A1.25", 0 },
	{ NULL, "fromImage=docker.io/library/nginx", 0 },
	{ NULL, "fromImage=index.docker.io/nginx", 0 },
	{ NULL, "fromImage=bitnami/redis", 403 },
	{ NULL, "fromImage=ghcr.io/o/r:1", 403 },
	{ NULL, "fromImage=localhost/r", 403 },
	{ NULL, "fromImage=localhost:5000/r", 403 },
	{ NULL, "fromImage=Evil/r", 403 },
	{ NULL, "fromImage=ghcr.io%2Fo%2Fr", 403 },
	{ NULL, "fromImage=nginx&fromImage=ghcr.io/o/r", 0 },
	{ NULL, "fromImage=ghcr.io/o/r&fromImage=nginx", 403 },
	{ NULL, "fromImage=%zz", 403 },
	{ NULL, "fromImage=nginx;x=1", 403 },
	{ NULL, "fromImage=nginx%00.evil", 403 },
	{ NULL, "fromSrc=-&repo=x", 403 },
	{ NULL, "fromSrc=http%3A%2F%2Fevil%2Fx.tar", 403 },
	{ NULL, "fromSrc=&fromImage=nginx", 0 },
	{ NULL, "", 0 },
	{ "image_pull: {allow_imports: true}", "fromSrc=-", 0 },
	{ "image_pull: {allowed_registries: [GHCR.io]}", "fromImage=ghcr.io/o/r:1",
	    0 },
	{ "image_pull: {allowed_registries: [ghcr.io]}",
	    "fromImage=GHCR.IO/o/r@sha256:abcd", 0 },
	{ "image_pull: {allowed_registries: [ghcr.io]}",
	    "fromImage=ghcr.io.evil.com/o/r", 403 },
	{ "image_pull: {allowed_registries: [docker.io]}",
	    "fromImage=bitnami/redis", 0 },
	{ "image_pull: {allow_official: false}", "fromImage=nginx", 403 },
	{ "image_pull: {allow_official: false}", "fromImage=library/nginx", 403 },
	{ "image_pull: {allow_all_registries: true}", "fromImage=quay.io/x/y", 0 },
};

START_TEST(test_pull)
{
	const struct pcase	*c = &pull_cases[_i];
	struct pol_body		 b;
	struct pol_verdict	 v;

	must_load(&b, c->policy);
	pol_inspect(&b, PI_IMAGES_CREATE, "/images/create", c->query, NULL,
	    NULL, 0, 0, &v);
	ck_assert_msg(v.status == c->status, "%s / %s: %d (%s)",
	    c->policy ? c->policy : "defaults", c->query, v.status, v.reason);
	pol_body_free(&b);
}
END_TEST

static char *
b64(const char *s, int url, int pad)
{
	size_t	 n = strlen(s), i;
	char	*out = xmalloc(4 * (n / 3 + 1) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	for (i = 0; out[i] != '\0'; i++) {
		if (url && out[i] == '+')
			out[i] = '-';
		if (url && out[i] == '/')
			out[i] = '_';
	}
	if (!pad)
		while (i > 0 && out[i - 1] == '=')
			out[--i] = '\0';
	return out;
}

/* X-Registry-Auth: size, encoding, JSON, server address. */
START_TEST(test_regauth)
{
	static const struct {
		const char	*json;
		int		 url, pad;
		int		 status;
	} t[] = {
		{ "{\"username\":\"u\",\"password\":\"s3cr3t\","
		    "\"serveraddress\":\"ghcr.io\"}", 0, 1, 0 },
		{ "{\"username\":\"u\",\"password\":\"s3cr3t?>\","
		    "\"serveraddress\":\"https://ghcr.io/v2/\"}", 1, 0, 0 },
		{ "{\"password\":\"s3cr3t\",\"serveraddress\":\"evil.io\"}",
		    0, 0, 403 },
		{ "{\"serveraddress\":\"https://index.docker.io/v1/\"}", 1, 1, 0 },
		{ "{}", 0, 1, 0 },
		{ "{}", 1, 0, 0 },
		{ "null", 0, 1, 0 },
		{ "not json s3cr3t", 0, 1, 403 },
		{ "[\"s3cr3t\"]", 0, 1, 403 },
		{ "{\"serveraddress\":5}", 0, 1, 403 },
		{ "{\"serveraddress\":\"ghcr.io\",\"ServerAddress\":\"evil.io\"}",
		    0, 1, 403 },
	};
	struct pol_body		 b;
	struct pol_verdict	 v;
	char			*h, *big;
	size_t			 i;

	must_load(&b, "image_pull: {allowed_registries: [ghcr.io]}");
	for (i = 0; i < nitems(t); i++) {
		h = b64(t[i].json, t[i].url, t[i].pad);
		pol_inspect(&b, PI_IMAGES_CREATE, "/images/create",
		    "fromImage=nginx", h, NULL, 0, 0, &v);
		ck_assert_msg(v.status == t[i].status, "%s: %d (%s)",
		    t[i].json, v.status, v.reason);
		ck_assert_ptr_null(strstr(v.reason, "s3cr3t"));
		free(h);
	}
	pol_inspect(&b, PI_IMAGES_CREATE, "/images/create", "fromImage=nginx",
	    "!!!not-base64", NULL, 0, 0, &v);
	ck_assert_int_eq(v.status, 403);
	pol_inspect(&b, PI_IMAGES_CREATE, "/images/create", "fromImage=nginx",
	    "e30=e30=", NULL, 0, 0, &v);
	ck_assert_int_eq(v.status, 403);
	pol_inspect(&b, PI_IMAGES_CREATE, "/images/create", "fromImage=nginx",
	    "", NULL, 0, 0, &v);
	ck_assert_int_eq(v.status, 0);
	/* 8 KiB of header is the most. */
	big = xmalloc(9000);
	memset(big, 'A', 8999);
	big[8999] = '\0';
	pol_inspect(&b, PI_IMAGES_CREATE, "/images/create", "fromImage=nginx",
	    big, NULL, 0, 0, &v);
	ck_assert_int_eq(v.status, 403);
	ck_assert_ptr_nonnull(strstr(v.reason, "too large"));
	free(big);
	pol_body_free(&b);
	/* Without an allowlist any server address passes. */
	must_load(&b, NULL);
	h = b64("{\"serveraddress\":\"evil.io\"}", 0, 1);
	pol_inspect(&b, PI_IMAGES_CREATE, "/images/create", "fromImage=nginx",
	    h, NULL, 0, 0, &v);
	ck_assert_int_eq(v.status, 0);
	free(h);
	pol_body_free(&b);
}
END_TEST

START_TEST(test_helpers)
{
	static const char *const clean[][2] = {
		{ "/", "/" }, { "//a//b/", "/a/b" }, { "/a/./b/..", "/a" },
		{ "/../..", "/" }, { "/srv/containers/../../etc", "/etc" },
		{ "a/../..", ".." }, { "a/../../b", "../b" }, { "", "." },
		{ "./a", "a" }, { "a/..", "." }, { "/a/b/../../..", "/" },
		{ "../../x", "../../x" }, { "/..a/b", "/..a/b" },
	};
	char	buf[64], reg[64], *long_q;
	int	off;
	size_t	i;

	for (i = 0; i < nitems(clean); i++) {
		ck_assert_int_eq(pol_path_clean(clean[i][0], buf, sizeof(buf)), 0);
		ck_assert_msg(strcmp(buf, clean[i][1]) == 0, "%s -> %s, want %s",
		    clean[i][0], buf, clean[i][1]);
	}
	ck_assert_int_eq(pol_user_is_root(" root:root "), 1);
	ck_assert_int_eq(pol_user_is_root("+0"), 1);
	ck_assert_int_eq(pol_user_is_root("10"), 0);
	ck_assert_int_eq(pol_user_is_root("rooter"), 0);
	ck_assert_int_eq(pol_user_is_root(" : "), 1);
	ck_assert_int_eq(pol_user_is_root(":1000"), 1);
	ck_assert_int_eq(pol_user_is_root("-"), 0);
	ck_assert_int_eq(pol_user_is_root("1000:0"), 0);
	long_q = xmalloc(1000);
	memset(long_q, ' ', 999);
	long_q[0] = '0';
	long_q[999] = '\0';
	ck_assert_int_eq(pol_user_is_root(long_q), 1);
	free(long_q);
	pol_image_registry("ghcr.io/o/r:1@sha256:ab", reg, sizeof(reg), &off);
	ck_assert_str_eq(reg, "ghcr.io");
	ck_assert_int_eq(off, 0);
	pol_image_registry("library/busybox:1", reg, sizeof(reg), &off);
	ck_assert_str_eq(reg, "docker.io");
	ck_assert_int_eq(off, 1);
	pol_image_registry("library/a/b", reg, sizeof(reg), &off);
	ck_assert_int_eq(off, 0);
	ck_assert_int_eq(pol_query_get("a=1&b=x+y%21&b=2", "b", buf,
	    sizeof(buf)), 1);
	ck_assert_str_eq(buf, "x y!");
	ck_assert_int_eq(pol_query_get("a=1", "b", buf, sizeof(buf)), 0);
	ck_assert_int_eq(pol_query_get("a=%4", "b", buf, sizeof(buf)), -1);
	ck_assert_int_eq(pol_query_get("b=1&b=%zz", "b", buf, sizeof(buf)), -1);
	long_q = xmalloc(10000);
	memset(long_q, 'x', 9999);
	memcpy(long_q, "changes=", 8);
	long_q[9999] = '\0';
	ck_assert_int_eq(pol_query_get(long_q, "b", buf, sizeof(buf)), 0);
	free(long_q);
	ck_assert_int_eq(pol_query_get("?b=2", "b", buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "2");
	ck_assert_int_eq(pol_query_body_refused(PI_IMAGES_CREATE,
	    " Application/X-WWW-Form-Urlencoded ; charset=utf-8"), 1);
	ck_assert_int_eq(pol_query_body_refused(PI_IMAGES_CREATE,
	    "application/x-tar"), 0);
	ck_assert_int_eq(pol_query_body_refused(PI_IMAGES_CREATE, NULL), 0);
	ck_assert_int_eq(pol_query_body_refused(PI_CONTAINER_CREATE,
	    "application/x-www-form-urlencoded"), 0);
	ck_assert_int_eq(gj_key_is("Ho\xc5\xbftconfig", "HostConfig"), 1);
	ck_assert_int_eq(gj_key_is("HostConfi", "HostConfig"), 0);
	ck_assert_int_eq(gj_key_is("H\xc3\xb6stConfig", "HostConfig"), 0);
}
END_TEST

/* The request_body loader. */
START_TEST(test_load)
{
	struct pol_body	  b;
	char		  err[512];
	char		**ign = NULL;

	ck_assert_int_eq(load_yaml(&b,
	    "Container_Create:\n"
	    "  Allow_Privileged: YES\n"
	    "  allowed_bind_mounts: [/srv/data/, '/var//run/docker.sock']\n"
	    "  allowed_capabilities: [cap_net_admin]\n"
	    "  allowed_device_requests: [{driver: nvidia}]\n"
	    "network:\n"
	    "  endpoint_config: {allow_aliases: 0, allow_mac_pinning: On}\n"
	    "exec:\n"
	    "  allowed_commands: [[node, 'dist/*.js'], [ls]]\n"
	    "image_pull: {allowed_registries: [Index.Docker.IO, ghcr.io]}\n"
	    "build: {allow_remote_context: true}\n"
	    "swarm: {}\n", &ign, err, sizeof(err)), -1);
	/* "On" is not one of the accepted words. */
	ck_assert_ptr_nonnull(strstr(err,
	    "request_body.network.endpoint_config.allow_mac_pinning (line 7)"));
	pol_body_free(&b);
	pol_strv_free(ign);
	ign = NULL;
	ck_assert_int_eq(load_yaml(&b,
	    "Container_Create:\n"
	    "  Allow_Privileged: YES\n"
	    "  allowed_bind_mounts: [/srv/data/, '/var//run/docker.sock']\n"
	    "  allowed_capabilities: [cap_net_admin]\n"
	    "  allowed_device_requests: [{driver: nvidia}]\n"
	    "network:\n"
	    "  endpoint_config: {allow_aliases: 0, allow_mac_pinning: true}\n"
	    "  allow_ingress: true\n"
	    "exec:\n"
	    "  allowed_commands: [[node, 'dist/*.js'], [ls]]\n"
	    "image_pull: {allowed_registries: [Index.Docker.IO, ghcr.io]}\n"
	    "build: {allow_remote_context: true}\n"
	    "swarm: {}\n"
	    "plugin: {allowed_set_env_prefixes: [DEBUG=]}\n"
	    "container_update: {allow_restart_policy: true}\n"
	    "container_archive: {allowed_paths: [/tmp]}\n",
	    &ign, err, sizeof(err)), 0);
	ck_assert_int_eq(b.upd_allow_restart_policy, 1);
	ck_assert_int_eq(b.upd_allow_devices, 0);
	ck_assert_int_eq(b.allow_privileged, 1);
	ck_assert_uint_eq(b.allowed_bind_mounts.n, 2);
	ck_assert_str_eq(b.allowed_bind_mounts.v[0], "/srv/data");
	ck_assert_str_eq(b.allowed_bind_mounts.v[1], "/var/run/docker.sock");
	ck_assert_str_eq(b.allowed_capabilities.v[0], "NET_ADMIN");
	ck_assert_int_eq(b.ep_allow_aliases, 0);
	ck_assert_int_eq(b.ep_allow_mac_pinning, 1);
	ck_assert_int_eq(b.allow_official, 1);
	ck_assert_uint_eq(b.exec_nallowed_commands, 2);
	ck_assert_uint_eq(b.exec_allowed_commands[0].n, 2);
	ck_assert_str_eq(b.exec_allowed_commands[0].tok[1], "dist/*.js");
	ck_assert_str_eq(b.allowed_registries.v[0], "docker.io");
	ck_assert_ptr_nonnull(ign);
	ck_assert_str_eq(ign[0],
	    "request_body.container_create.allowed_device_requests");
	ck_assert_int_eq(b.net_allow_ingress, 1);
	ck_assert_str_eq(ign[1], "request_body.container_archive");
	ck_assert_ptr_null(ign[2]);
	ck_assert_str_eq(b.plg_allowed_set_env_prefixes.v[0], "DEBUG=");
	ck_assert_int_eq(b.build_allow_remote_context, 1);
	ck_assert_int_eq(b.build_allow_run_instructions, 0);
	ck_assert_int_eq(b.svc_allow_official, 1);
	ck_assert_int_eq(b.plg_allow_official, 1);
	pol_strv_free(ign);
	pol_body_free(&b);
	ck_assert_int_eq(b.allowed_bind_mounts.n, 0);
}
END_TEST

/* No list for ignored names, no prefix, an empty mapping, a reload. */
START_TEST(test_load_edges)
{
	yaml_parser_t	 p;
	yaml_document_t	 doc;
	struct pol_body	 b;
	char		 err[256];
	char		**ign;
	static const char y[] =
	    "build: {}\nexec: {allowed_commands: [[a], [b]]}\n";

	ck_assert_int_eq(load_yaml(&b, "{}", NULL, err, sizeof(err)), 0);
	pol_body_free(&b);
	ck_assert_int_eq(load_yaml(&b, "~", NULL, err, sizeof(err)), 0);
	pol_body_free(&b);
	pol_body_init(&b);
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)y,
	    sizeof(y) - 1);
	ck_assert_int_eq(yaml_parser_load(&p, &doc), 1);
	ck_assert_int_eq(pol_body_load(&b, &doc,
	    yaml_document_get_root_node(&doc), NULL, NULL, err,
	    sizeof(err)), 0);
	/* Loading again replaces the lists instead of appending. */
	ck_assert_int_eq(pol_body_load(&b, &doc,
	    yaml_document_get_root_node(&doc), NULL, NULL, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(b.exec_nallowed_commands, 2);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	pol_body_free(&b);
	ck_assert_uint_eq(b.exec_nallowed_commands, 0);
	ck_assert_int_eq(b.allow_official, 1);
	ck_assert_int_eq(load_yaml(&b, "exec: {allow_root_user: true}\n"
	    "bogus: 1\n", NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "request_body.bogus (line 2): unknown key");
	pol_body_free(&b);
	/* Image trust off or warn: ignored, and named as such. */
	ign = NULL;
	ck_assert_int_eq(load_yaml(&b, "image_trust: {mode: warn}\n"
	    "container_create: {image_trust: {mode: 'off'}}\n", &ign, err,
	    sizeof(err)), 0);
	ck_assert_ptr_nonnull(ign);
	ck_assert_str_eq(ign[0], "request_body.image_trust");
	ck_assert_str_eq(ign[1], "request_body.container_create.image_trust");
	ck_assert_ptr_null(ign[2]);
	pol_strv_free(ign);
	pol_body_free(&b);
}
END_TEST

struct lcase {
	const char	*yaml;
	const char	*err;
};

static const struct lcase load_errors[] = {
	{ "container_create:\n  alow_privileged: true\n",
	    "request_body.container_create.alow_privileged (line 2): unknown key" },
	{ "container_create:\n  allowed_bind_mounts:\n    - /ok\n    - srv\n",
	    "request_body.container_create.allowed_bind_mounts[1] (line 4): "
	    "must be an absolute path" },
	{ "container_create: {allowed_devices: ['']}",
	    "allowed_devices[0]" },
	{ "container_create: {allow_privileged: maybe}",
	    "allow_privileged (line 1): must be true or false" },
	{ "container_create: {allow_privileged: 'true'}",
	    "must be true or false" },
	{ "container_create: {allowed_runtimes: runsc}", "must be a list" },
	{ "container_create: {allowed_device_cgroup_rules: ['c 1:3 rwx']}",
	    "allowed_device_cgroup_rules[0]" },
	{ "image_pull: {allowed_registries: ['https://ghcr.io']}",
	    "request_body.image_pull.allowed_registries[0] (line 1): must be a "
	    "bare registry host" },
	{ "image_pull: {allowed_registries: [ghcr.io/org]}", "bare registry" },
	{ "network:\n  allow_endpoint_config: true\n  endpoint_config:\n"
	    "    allow_aliases: true\n",
	    "request_body.network.endpoint_config (line 3): cannot be set" },
	{ "network: {endpoint_config: {}, allow_endpoint_config: yes}",
	    "request_body.network.endpoint_config (line 1): cannot be set" },
	{ "network: {endpoint_config: {allow_everything: true}}",
	    "request_body.network.endpoint_config.allow_everything" },
	{ "network: {allow_network_create: true}",
	    "request_body.network.allow_network_create (line 1): unknown key" },
	{ "exec: {allowed_commands: [ls]}", "allowed_commands[0]" },
	{ "exec: {allowed_commands: [[]]}", "must be a non-empty argv list" },
	{ "exec: {allow_root: true}", "request_body.exec.allow_root" },
	{ "container_update: {allow_everything: true}",
	    "request_body.container_update.allow_everything (line 1)" },
	{ "containers_create: {}", "request_body.containers_create (line 1)" },
	{ "exec: {allow_privileged: true, Allow_Privileged: false}",
	    "key given twice" },
	{ "exec: [1]", "request_body.exec (line 1): must be a mapping" },
	/* Image trust is not implemented: enforce mode is refused. */
	{ "image_trust:\n  mode: enforce\n",
	    "request_body.image_trust.mode (line 2): enforce is not "
	    "implemented" },
	{ "container_create: {image_trust: {mode: Enforce}}",
	    "request_body.container_create.image_trust.mode (line 1)" },
	{ "service: {image_trust: {mode: enforce}}",
	    "request_body.service.image_trust.mode" },
};

START_TEST(test_load_errors)
{
	const struct lcase	*c = &load_errors[_i];
	struct pol_body		 b;
	char			 err[512] = "";
	char			**ign = NULL;

	ck_assert_int_eq(load_yaml(&b, c->yaml, &ign, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, c->err) != NULL, "%s: \"%s\" lacks \"%s\"",
	    c->yaml, err, c->err);
	pol_strv_free(ign);
	pol_body_free(&b);
}
END_TEST

/* A typical create body, checked many times: the cost per request. */
START_TEST(test_speed)
{
	static const char body[] =
	    "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"1000\","
	    "\"AttachStdin\":false,\"AttachStdout\":true,\"AttachStderr\":true,"
	    "\"ExposedPorts\":{\"80/tcp\":{}},\"Tty\":false,\"OpenStdin\":false,"
	    "\"StdinOnce\":false,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:"
	    "/usr/sbin:/usr/bin:/sbin:/bin\",\"NGINX_VERSION=1.25.3\"],"
	    "\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],\"Image\":\"nginx:1.25\","
	    "\"Volumes\":{\"/data\":{}},\"WorkingDir\":\"\",\"Entrypoint\":null,"
	    "\"Labels\":{\"owner\":\"team\",\"com.example.app\":\"web\"},"
	    "\"StopSignal\":\"SIGQUIT\",\"HostConfig\":{\"Binds\":"
	    "[\"/srv/data/web:/usr/share/nginx/html:ro\",\"cache:/var/cache\"],"
	    "\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"json-file\","
	    "\"Config\":{\"max-size\":\"10m\"}},\"NetworkMode\":\"bridge\","
	    "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":"
	    "\"8080\"}]},\"RestartPolicy\":{\"Name\":\"unless-stopped\","
	    "\"MaximumRetryCount\":0},\"AutoRemove\":false,\"VolumeDriver\":\"\","
	    "\"VolumesFrom\":null,\"CapAdd\":[\"NET_BIND_SERVICE\"],\"CapDrop\":"
	    "[\"ALL\"],\"CgroupnsMode\":\"private\",\"Dns\":[],\"DnsOptions\":[],"
	    "\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":"
	    "\"private\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,"
	    "\"PidMode\":\"\",\"Privileged\":false,\"PublishAllPorts\":false,"
	    "\"ReadonlyRootfs\":true,\"SecurityOpt\":[\"no-new-privileges:true\"],"
	    "\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":67108864,"
	    "\"ConsoleSize\":[0,0],\"Isolation\":\"\",\"CpuShares\":0,"
	    "\"Memory\":268435456,\"NanoCpus\":500000000,\"CgroupParent\":\"\","
	    "\"BlkioWeight\":0,\"CpuPeriod\":0,\"CpuQuota\":0,\"Devices\":[],"
	    "\"DeviceCgroupRules\":null,\"DeviceRequests\":null,"
	    "\"MemoryReservation\":0,\"MemorySwap\":0,\"PidsLimit\":256,"
	    "\"Ulimits\":[],\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/tmp\","
	    "\"TmpfsOptions\":{\"SizeBytes\":65536,\"Options\":[[\"noexec\"]]}}],"
	    "\"MaskedPaths\":null,\"ReadonlyPaths\":null},\"NetworkingConfig\":"
	    "{\"EndpointsConfig\":{\"bridge\":{\"Aliases\":[\"web\"]}}}}";
	struct pol_body		 b;
	struct pol_verdict	 v;
	uint64_t		 t0, us, best = UINT64_MAX;
	int			 i, round, n = 500;

	must_load(&b, "container_create:\n"
	    "  allowed_bind_mounts: [/srv/data]\n"
	    "  allowed_capabilities: [NET_BIND_SERVICE]\n"
	    "  require_non_root_user: true\n"
	    "  require_no_new_privileges: true\n"
	    "  require_readonly_rootfs: true\n"
	    "  require_drop_all_capabilities: true\n"
	    "  require_memory_limit: true\n"
	    "  require_cpu_limit_hard: true\n"
	    "  require_pids_limit: true\n"
	    "  required_labels: [owner]\n");
	/* The best of several rounds, in CPU time: the machine may be shared. */
	for (round = 0; round < 10; round++) {
		t0 = cpu_us();
		for (i = 0; i < n; i++) {
			pol_inspect(&b, PI_CONTAINER_CREATE,
			    "/containers/create", NULL, NULL,
			    (const uint8_t *)body, sizeof(body) - 1, 0, &v);
			ck_assert_msg(v.status == 0, "%s", v.reason);
		}
		us = (cpu_us() - t0) / (uint64_t)n;
		if (us < best)
			best = us;
	}
	fprintf(stderr, "test_inspect: %zu-byte create body: %llu us each\n",
	    sizeof(body) - 1, (unsigned long long)best);
	/*
	 * jansson's parse is most of it (20-40 us here, -O2).  Under the
	 * sanitizers every allocation is intercepted (300 us here), so only
	 * a gross regression is caught there.
	 */
	ck_assert_uint_lt(best, SPEED_LIMIT_US);
	pol_body_free(&b);
}
END_TEST

/* 50k keys in one object (1 MiB): no quadratic duplicate check. */
START_TEST(test_wide_object)
{
	struct pol_body		 b;
	struct pol_verdict	 v;
	char			*buf;
	size_t			 cap = 1024 * 1024, len = 0;
	uint64_t		 t0;
	int			 i, n = 50000;

	pol_body_init(&b);
	buf = xmalloc(cap);
	len += (size_t)snprintf(buf + len, cap - len, "{\"HostConfig\":{");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s\"k%07d\":0",
		    i ? "," : "", i);
	len += (size_t)snprintf(buf + len, cap - len, "}}");
	ck_assert_uint_lt(len, cap);
	t0 = pw_now_us();
	pol_inspect(&b, PI_CONTAINER_CREATE, "/containers/create", NULL, NULL,
	    (const uint8_t *)buf, len, 0, &v);
	ck_assert_int_eq(v.status, 0);
	/* The same with one key repeated in another case at the end. */
	len -= 2;
	len += (size_t)snprintf(buf + len, cap - len, ",\"K0000007\":1}}");
	pol_inspect(&b, PI_CONTAINER_CREATE, "/containers/create", NULL, NULL,
	    (const uint8_t *)buf, len, 0, &v);
	ck_assert_int_eq(v.status, 400);
	/* The same keys at the top, where host config fields are sought. */
	len = 0;
	len += (size_t)snprintf(buf + len, cap - len, "{");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s\"k%07d\":0",
		    i ? "," : "", i);
	len += (size_t)snprintf(buf + len, cap - len, "}");
	pol_inspect(&b, PI_CONTAINER_CREATE, "/containers/create", NULL, NULL,
	    (const uint8_t *)buf, len, 0, &v);
	ck_assert_int_eq(v.status, 0);
	ck_assert_uint_lt(pw_now_us() - t0, 3000000);
	free(buf);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("inspect");
	TCase	*tc = tcase_create("inspect");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cases, 0, (int)nitems(cases));
	tcase_add_test(tc, test_caps);
	tcase_add_loop_test(tc, test_swarm, 0, (int)nitems(swarm_cases));
	tcase_add_test(tc, test_swarm_long);
	tcase_add_test(tc, test_dockerfile);
	tcase_add_test(tc, test_build);
	tcase_add_test(tc, test_plugin_create);
	tcase_add_test(tc, test_dispatch);
	tcase_add_test(tc, test_volume_network);
	tcase_add_loop_test(tc, test_pull, 0, (int)nitems(pull_cases));
	tcase_add_test(tc, test_regauth);
	tcase_add_test(tc, test_helpers);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_load_edges);
	tcase_add_loop_test(tc, test_load_errors, 0, (int)nitems(load_errors));
	tcase_add_test(tc, test_speed);
	tcase_add_test(tc, test_wide_object);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
