/*
 * test_redact.c: response filtering (policy/redact.c): routes, what each
 * setting makes the proxy hold, the rewrites of Docker's answers, the
 * visibility selectors, and the answers that must be rejected whole.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "policy.h"
#include "redact.h"
#include "util.h"

static struct policy *
load(const char *yaml)
{
	struct policy	*p;
	char		 err[1024];

	p = policy_load_text("t.yaml", yaml, strlen(yaml), err, sizeof(err));
	ck_assert_msg(p != NULL, "load: %s", err);
	return p;
}

/* Filter s on route r; *out (json) for PRA_REWRITE, else NULL. */
static enum pol_raction
run(const struct policy *p, const struct pol_profile *pf, enum pol_rroute r,
    const char *s, json_t **out)
{
	enum pol_raction a;
	char		 why[256], *o = NULL;
	size_t		 n = 0;

	a = pol_resp_filter(p, pf, r, (const uint8_t *)s, strlen(s), &o, &n,
	    why, sizeof(why));
	*out = NULL;
	if (a == PRA_REWRITE) {
		ck_assert_ptr_nonnull(o);
		*out = json_loadb(o, n, 0, NULL);
		ck_assert_ptr_nonnull(*out);
	} else
		ck_assert_ptr_null(o);
	if (a == PRA_REJECT || a == PRA_HIDE)
		ck_assert(why[0] != '\0');
	free(o);
	return a;
}

static const char *
sget(json_t *o, const char *path)
{
	json_t	*v = json_object_get(o, path);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char inspect_json[] =
    "{\"Id\":\"abc\",\"Name\":\"/web\","
    "\"Config\":{\"Image\":\"nginx:1\",\"Env\":[\"PASS=hunter2\",\"X=1\"],"
    "\"Labels\":{\"team\":\"a\",\"tier\":\"web\"}},"
    "\"HostConfig\":{\"Binds\":[\"/srv/data:/data:ro\",\"named:/v\","
    "\"C:\\\\x:/w\"],\"NetworkMode\":\"bridge\",\"Mounts\":[{\"Type\":"
    "\"bind\",\"Source\":\"/etc/x\",\"Target\":\"/x\"}],"
    "\"MaskedPaths\":[\"/proc/kcore\"],\"ReadonlyPaths\":[\"/proc/sys\"]},"
    "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/srv/data\","
    "\"Destination\":\"/data\"},{\"Type\":\"volume\",\"Name\":\"named\","
    "\"Source\":\"/var/lib/docker/volumes/named/_data\"}],"
    "\"NetworkSettings\":{\"IPAddress\":\"172.17.0.2\",\"IPPrefixLen\":16,"
    "\"SandboxKey\":\"/var/run/docker/netns/x\",\"Ports\":{},"
    "\"Networks\":{\"bridge\":{\"IPAddress\":\"172.17.0.2\","
    "\"IPPrefixLen\":16,\"NetworkID\":\"n1\",\"Aliases\":null}}}}";

START_TEST(test_routes)
{
	ck_assert_int_eq(pol_resp_route("GET", "/containers/json"),
	    PRR_CONTAINER_LIST);
	ck_assert_int_eq(pol_resp_route("GET", "/containers/abc/json"),
	    PRR_CONTAINER_INSPECT);
	ck_assert_int_eq(pol_resp_route("GET", "/containers/abc/logs"),
	    PRR_NONE);
	ck_assert_int_eq(pol_resp_route("HEAD", "/containers/abc/json"),
	    PRR_NONE);
	ck_assert_int_eq(pol_resp_route("POST", "/containers/json"),
	    PRR_NONE);
	ck_assert_int_eq(pol_resp_route("GET", "/containers/a/b/json"),
	    PRR_NONE);
	ck_assert_int_eq(pol_resp_route("GET", "/images/reg.io/x/y:1/json"),
	    PRR_IMAGE_INSPECT);
	ck_assert_int_eq(pol_resp_route("GET", "/images/json"),
	    PRR_IMAGE_LIST);
	ck_assert_int_eq(pol_resp_route("GET", "/networks/n1"),
	    PRR_NETWORK_INSPECT);
	ck_assert_int_eq(pol_resp_route("GET", "/volumes"), PRR_VOLUME_LIST);
	ck_assert_int_eq(pol_resp_route("GET", "/swarm/unlockkey"),
	    PRR_SWARM_UNLOCKKEY);
	ck_assert_int_eq(pol_resp_route("GET", "/plugins/p/json"),
	    PRR_PLUGIN_INSPECT);
	ck_assert_int_eq(pol_resp_route("GET", "/events"), PRR_NONE);
	ck_assert_int_eq(pol_resp_route("GET", "/_ping"), PRR_NONE);
}
END_TEST

START_TEST(test_wanted)
{
	struct policy	*p = load("insecure_allow_read_exfiltration: true\n");
	struct policy	*pw;
	size_t		 len;
	const char	*t = policy_preset_text("portwing", &len);
	char		 err[512];

	/* sockguard's defaults: four redactions on, host topology off. */
	ck_assert(p->resp.redact_env && p->resp.redact_mounts &&
	    p->resp.redact_net && p->resp.redact_sensitive);
	ck_assert(!p->resp.redact_host && !p->resp.allow_attest);
	ck_assert(pol_resp_wanted(p, NULL, PRR_CONTAINER_LIST));
	ck_assert(pol_resp_wanted(p, NULL, PRR_CONTAINER_INSPECT));
	ck_assert(!pol_resp_wanted(p, NULL, PRR_IMAGE_LIST));
	ck_assert(!pol_resp_wanted(p, NULL, PRR_NONE));
	/* The portwing preset turns env, mounts and topology off. */
	ck_assert_ptr_nonnull(t);
	pw = policy_load_text("portwing", t, len, err, sizeof(err));
	ck_assert_msg(pw != NULL, "%s", err);
	ck_assert(!pol_resp_wanted(pw, NULL, PRR_CONTAINER_LIST));
	ck_assert(!pol_resp_wanted(pw, NULL, PRR_CONTAINER_INSPECT));
	ck_assert(pol_resp_wanted(pw, NULL, PRR_INFO));	/* sensitive on */
	policy_free(pw);
	/* Attestation statements. */
	ck_assert(pol_resp_attest_refused(p, "GET", "/images/x/attestations",
	    "statement=true"));
	ck_assert(pol_resp_attest_refused(p, "GET",
	    "/images/r.io/a/b/attestations", "a=1&statement=TRUE"));
	ck_assert(pol_resp_attest_refused(p, "GET", "/images/x/attestations",
	    "statement=%74rue"));
	ck_assert(!pol_resp_attest_refused(p, "GET", "/images/x/attestations",
	    "statement=false"));
	ck_assert(!pol_resp_attest_refused(p, "GET", "/images/x/attestations",
	    NULL));
	ck_assert(!pol_resp_attest_refused(p, "GET", "/images/x/json",
	    "statement=true"));
	policy_free(p);
	p = load("response:\n  allow_attestation_statements: true\n");
	ck_assert(!pol_resp_attest_refused(p, "GET", "/images/x/attestations",
	    "statement=true"));
	policy_free(p);
}
END_TEST

START_TEST(test_container_inspect)
{
	struct policy	*p = load("insecure_allow_read_exfiltration: true\n");
	json_t		*o, *hc, *b, *ns, *ep;

	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT, inspect_json, &o),
	    PRA_REWRITE);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(o,
	    "Config"), "Env")), 0);
	hc = json_object_get(o, "HostConfig");
	b = json_object_get(hc, "Binds");
	ck_assert_str_eq(json_string_value(json_array_get(b, 0)),
	    "<redacted>:/data:ro");
	ck_assert_str_eq(json_string_value(json_array_get(b, 1)), "named:/v");
	ck_assert_str_eq(json_string_value(json_array_get(b, 2)),
	    "<redacted>:/w");
	ck_assert_str_eq(sget(hc, "NetworkMode"), "<redacted>");
	ck_assert_str_eq(sget(json_array_get(json_object_get(hc, "Mounts"), 0),
	    "Source"), "<redacted>");
	ck_assert_int_eq(json_array_size(json_object_get(hc, "MaskedPaths")),
	    0);
	ck_assert_str_eq(sget(json_array_get(json_object_get(o, "Mounts"), 1),
	    "Source"), "<redacted>");
	ck_assert_str_eq(sget(json_array_get(json_object_get(o, "Mounts"), 1),
	    "Name"), "named");
	ns = json_object_get(o, "NetworkSettings");
	ck_assert_str_eq(sget(ns, "IPAddress"), "<redacted>");
	ck_assert_str_eq(sget(ns, "SandboxKey"), "<redacted>");
	ck_assert_int_eq(json_integer_value(json_object_get(ns, "IPPrefixLen")),
	    0);
	ep = json_object_get(json_object_get(ns, "Networks"), "bridge");
	ck_assert_str_eq(sget(ep, "NetworkID"), "<redacted>");
	ck_assert(json_is_null(json_object_get(ep, "Aliases")));
	/* What is not protected is Docker's. */
	ck_assert_str_eq(sget(o, "Name"), "/web");
	ck_assert_str_eq(sget(json_object_get(json_object_get(o, "Config"),
	    "Labels"), "team"), "a");
	json_decref(o);
	policy_free(p);

	/* Only env off: the values stay, the rest goes. */
	p = load("response:\n  redact_container_env: false\n");
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT, inspect_json, &o),
	    PRA_REWRITE);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(o,
	    "Config"), "Env")), 2);
	json_decref(o);
	policy_free(p);
}
END_TEST

START_TEST(test_lists_and_shapes)
{
	struct policy	*p = load("response:\n  redact_host_topology: true\n");
	json_t		*o, *v;

	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_LIST,
	    "[{\"Names\":[\"/a\"],\"Mounts\":[{\"Source\":\"/h\"}],"
	    "\"HostConfig\":{\"NetworkMode\":\"none\"}},{\"Names\":[\"/b\"],"
	    "\"Mounts\":[]}]", &o), PRA_REWRITE);
	ck_assert_int_eq(json_array_size(o), 2);
	ck_assert_str_eq(sget(json_array_get(json_object_get(json_array_get(o,
	    0), "Mounts"), 0), "Source"), "<redacted>");
	json_decref(o);
	/* Nothing protected in it: forwarded as Docker sent it. */
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_LIST, "[]", &o), PRA_PASS);
	ck_assert_int_eq(run(p, NULL, PRR_VOLUME_LIST,
	    "{\"Volumes\":[{\"Name\":\"v\",\"Mountpoint\":\"/var/lib/x\"}],"
	    "\"Warnings\":null}", &o), PRA_REWRITE);
	v = json_array_get(json_object_get(o, "Volumes"), 0);
	ck_assert_str_eq(sget(v, "Mountpoint"), "<redacted>");
	json_decref(o);
	ck_assert_int_eq(run(p, NULL, PRR_VOLUME_LIST,
	    "{\"Volumes\":null,\"Warnings\":null}", &o), PRA_PASS);
	ck_assert_int_eq(run(p, NULL, PRR_NETWORK_INSPECT,
	    "{\"Name\":\"n\",\"IPAM\":{\"Driver\":\"default\",\"Config\":"
	    "[{\"Subnet\":\"10.1.0.0/16\"}]},\"Containers\":{\"x\":{}},"
	    "\"Status\":{\"IPAM\":{}},\"Peers\":[{\"IP\":\"1.2.3.4\"}]}", &o),
	    PRA_REWRITE);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(o,
	    "IPAM"), "Config")), 0);
	ck_assert_int_eq(json_object_size(json_object_get(o, "Containers")), 0);
	ck_assert_int_eq(json_object_size(json_object_get(o, "Status")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(o, "Peers")), 0);
	json_decref(o);
	ck_assert_int_eq(run(p, NULL, PRR_SECRET_INSPECT,
	    "{\"ID\":\"s\",\"Spec\":{\"Name\":\"k\",\"Data\":\"c2VjcmV0\"}}",
	    &o), PRA_REWRITE);
	ck_assert_str_eq(sget(json_object_get(o, "Spec"), "Data"),
	    "<redacted>");
	json_decref(o);
	ck_assert_int_eq(run(p, NULL, PRR_SWARM_UNLOCKKEY,
	    "{\"UnlockKey\":\"SWMKEY-1-x\"}", &o), PRA_REWRITE);
	ck_assert_str_eq(sget(o, "UnlockKey"), "<redacted>");
	json_decref(o);
	ck_assert_int_eq(run(p, NULL, PRR_INFO,
	    "{\"Name\":\"h\",\"Containerd\":{\"Address\":\"/run/c.sock\"},"
	    "\"FirewallBackend\":{\"Driver\":\"nftables\"},\"Swarm\":"
	    "{\"NodeAddr\":\"10.0.0.1\",\"RemoteManagers\":[{\"Addr\":\"x\"}],"
	    "\"Cluster\":{\"TLSInfo\":{\"TrustRoot\":\"PEM\"}}}}", &o),
	    PRA_REWRITE);
	ck_assert_int_eq(json_object_size(json_object_get(o, "Containerd")), 0);
	ck_assert_str_eq(sget(json_object_get(o, "Swarm"), "NodeAddr"),
	    "<redacted>");
	ck_assert_str_eq(sget(json_object_get(json_object_get(json_object_get(o,
	    "Swarm"), "Cluster"), "TLSInfo"), "TrustRoot"), "<redacted>");
	ck_assert_str_eq(sget(o, "Name"), "h");
	json_decref(o);
	ck_assert_int_eq(run(p, NULL, PRR_PLUGIN_INSPECT,
	    "{\"Settings\":{\"Env\":[\"TOKEN=abc\",\"BARE\"],\"Mounts\":[],"
	    "\"Devices\":[{\"Path\":\"/dev/x\"}]},\"Config\":{\"Env\":"
	    "[{\"Name\":\"TOKEN\",\"Value\":\"abc\"}]}}", &o), PRA_REWRITE);
	v = json_object_get(json_object_get(o, "Settings"), "Env");
	ck_assert_str_eq(json_string_value(json_array_get(v, 0)),
	    "TOKEN=<redacted>");
	ck_assert_str_eq(json_string_value(json_array_get(v, 1)), "<redacted>");
	ck_assert_str_eq(sget(json_array_get(json_object_get(json_object_get(o,
	    "Config"), "Env"), 0), "Value"), "<redacted>");
	json_decref(o);
	ck_assert_int_eq(run(p, NULL, PRR_SERVICE_INSPECT,
	    "{\"Spec\":{\"TaskTemplate\":{\"ContainerSpec\":{\"Env\":[\"A=1\"],"
	    "\"Secrets\":[{\"SecretID\":\"i\",\"SecretName\":\"n\"}]}}},"
	    "\"PreviousSpec\":{\"TaskTemplate\":{\"ContainerSpec\":{\"Env\":"
	    "[\"A=0\"]}}},\"Endpoint\":{\"VirtualIPs\":[{\"NetworkID\":\"x\","
	    "\"Addr\":\"10.0.0.2/24\"}]}}", &o), PRA_REWRITE);
	v = json_object_get(json_object_get(json_object_get(o, "PreviousSpec"),
	    "TaskTemplate"), "ContainerSpec");
	ck_assert_int_eq(json_array_size(json_object_get(v, "Env")), 0);
	json_decref(o);
	policy_free(p);
}
END_TEST

/* The container list's streaming path and the jansson one agree. */
START_TEST(test_list_paths_agree)
{
	struct policy	*p = load("insecure_allow_read_exfiltration: true\n");
	static const char *const in[] = {
		"[{\"Names\":[\"/a\"],\"Mounts\":[{\"Source\":\"/h\","
		"\"Destination\":\"/d\"},{\"Source\":null}],\"HostConfig\":"
		"{\"NetworkMode\":\"none\"},\"NetworkSettings\":{\"Networks\":"
		"{\"none\":{\"IPAddress\":\"\",\"IPPrefixLen\":0,\"NetworkID\":"
		"\"abc\",\"Aliases\":null},\"b\":{\"IPPrefixLen\":24,"
		"\"MacAddress\":{\"x\":[1,2]}}},\"SecondaryIPAddresses\":[1]}},"
		"{\"Names\":[\"/b\"]}]\n",
		" [ { \"HostConfig\" : { \"Network\\u004dode\" : \"host\" } } ] ",
		"[{\"Mounts\":[{\"Source\":\"<redacted>\"}],\"NetworkSettings\":"
		"{\"IPPrefixLen\":0.0,\"SecondaryIPAddresses\":[ ]}}]",
		"[]", "[{}]",
		/* A real longer than any fixed buffer, as jansson takes it. */
		"[{\"Id\":\"x\",\"SizeRootFs\":77777777777777778."
		"777777777777777777777777777777777777777777777777,"
		"\"SizeRw\":-0.5e-3}]",
		/* \u0000 in a value. */
		"[{\"Command\":\"a\\u0000b\"}]",
	};
	static const char *const bad[] = {
		"{}", "[1]", "[null]", "[{\"Mounts\":{}}]", "[{\"Mounts\":[1]}]",
		"[{\"Mounts\":[null]}]", "[{\"HostConfig\":[]}]",
		"[{\"NetworkSettings\":{\"Networks\":{\"n\":null}}}]",
		"[{\"NetworkSettings\":{\"Networks\":[]}}]", "[{]", "[{}",
		"[{}] x", "[{\"a\":1e999}]", "[{\"a\":99999999999999999999}]",
		"[{\"a\":\"\\ud800\"}]", "[{\"a\":\"\xff\"}]", "[01]",
		/* jansson takes \u0000 in a value but not in a key. */
		"[{\"Host\\u0000\":1}]",
	};
	enum pol_raction a, t;
	json_t		*x, *y;
	size_t		 i;

	for (i = 0; i < nitems(in); i++) {
		pol_resp_tree_only = 0;
		a = run(p, NULL, PRR_CONTAINER_LIST, in[i], &x);
		pol_resp_tree_only = 1;
		t = run(p, NULL, PRR_CONTAINER_LIST, in[i], &y);
		pol_resp_tree_only = 0;
		ck_assert_msg(a != PRA_REJECT && t != PRA_REJECT, "%s", in[i]);
		if (x == NULL)
			x = json_loads(in[i], JSON_ALLOW_NUL, NULL);
		if (y == NULL)
			y = json_loads(in[i], JSON_ALLOW_NUL, NULL);
		ck_assert_msg(json_equal(x, y), "paths differ on %s", in[i]);
		json_decref(x);
		json_decref(y);
	}
	for (i = 0; i < nitems(bad); i++) {
		ck_assert_msg(run(p, NULL, PRR_CONTAINER_LIST, bad[i], &x) ==
		    PRA_REJECT, "streaming path took %s", bad[i]);
		pol_resp_tree_only = 1;
		ck_assert_msg(run(p, NULL, PRR_CONTAINER_LIST, bad[i], &x) ==
		    PRA_REJECT, "tree path took %s", bad[i]);
		pol_resp_tree_only = 0;
	}
	policy_free(p);
}
END_TEST

START_TEST(test_rejects)
{
	struct policy	*p = load("insecure_allow_read_exfiltration: true\n");
	json_t		*o;

	/* Not JSON, the wrong top-level shape, a protected field mistyped. */
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT, "{\"Id\":", &o),
	    PRA_REJECT);
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT, "[]", &o),
	    PRA_REJECT);
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_LIST, "{}", &o),
	    PRA_REJECT);
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_LIST, "[1]", &o),
	    PRA_REJECT);
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT,
	    "{\"Mounts\":\"/x\"}", &o), PRA_REJECT);
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT,
	    "{\"HostConfig\":{\"Binds\":[1]}}", &o), PRA_REJECT);
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT,
	    "{\"NetworkSettings\":{\"Networks\":[]}}", &o), PRA_REJECT);
	ck_assert_int_eq(run(p, NULL, PRR_NETWORK_LIST,
	    "[{\"IPAM\":\"x\"}]", &o), PRA_REJECT);
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT,
	    "{\"Id\":\"a\"} trailing", &o), PRA_REJECT);
	/* Over sockguard's 8 MiB: refused without being read. */
	{
		char	why[256], *out = NULL;
		size_t	outlen;

		ck_assert_int_eq(pol_resp_filter(p, NULL, PRR_CONTAINER_LIST,
		    (const uint8_t *)"[]", POL_RESP_MAX + 1, &out, &outlen, why,
		    sizeof(why)), PRA_REJECT);
		ck_assert_ptr_null(out);
	}
	/* An integer beyond 64 bits is never altered: the answer is refused. */
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT,
	    "{\"Big\":184467440737095516150}", &o), PRA_REJECT);
	policy_free(p);
}
END_TEST

START_TEST(test_visibility)
{
	struct policy	*p;
	const struct pol_profile *pf;
	json_t		*o;
	int		 unres = 0;
	static const char list[] =
	    "[{\"Names\":[\"/web-1\"],\"Image\":\"nginx:1\",\"Labels\":"
	    "{\"team\":\"a\"}},{\"Names\":[\"/db\"],\"Image\":\"pg:16\","
	    "\"Labels\":{\"team\":\"a\"}},{\"Names\":[\"/web-2\"],\"Image\":"
	    "\"nginx:1\",\"Labels\":{\"team\":\"b\"}},{\"Names\":[\"/web-3\"],"
	    "\"Image\":\"nginx:1\",\"Labels\":null}]";

	p = load("insecure_allow_read_exfiltration: true\n"
	    "response:\n  redact_mount_paths: false\n"
	    "  redact_network_topology: false\n"
	    "  visible_resource_labels: [\" team = a \"]\n"
	    "clients:\n  profiles:\n    - name: web\n      response:\n"
	    "        name_patterns: [\"web-*\"]\n"
	    "        image_patterns: [\"nginx:*\"]\n      rules:\n"
	    "        - match: { method: GET, path: \"/**\" }\n"
	    "          action: allow\n");
	ck_assert_str_eq(p->vis.labels.v[0], "team=a");
	/* Root: labels only. */
	ck_assert(pol_resp_wanted(p, NULL, PRR_CONTAINER_LIST));
	ck_assert(pol_resp_wanted(p, NULL, PRR_NETWORK_LIST));
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_LIST, list, &o),
	    PRA_REWRITE);
	ck_assert_int_eq(json_array_size(o), 2);
	json_decref(o);
	/* The profile adds its globs to the root's labels. */
	pf = policy_select(p, "web", NULL, 0, 0, 0, &unres);
	ck_assert_ptr_nonnull(pf);
	ck_assert_int_eq(run(p, pf, PRR_CONTAINER_LIST, list, &o),
	    PRA_REWRITE);
	ck_assert_int_eq(json_array_size(o), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(
	    json_array_get(o, 0), "Names"), 0)), "/web-1");
	json_decref(o);
	/* Inspect: hidden or passed unchanged. */
	ck_assert_int_eq(run(p, pf, PRR_CONTAINER_INSPECT,
	    "{\"Name\":\"/db\",\"Config\":{\"Image\":\"pg:16\",\"Env\":[],"
	    "\"Labels\":{\"team\":\"a\"}}}", &o), PRA_HIDE);
	ck_assert_int_eq(run(p, NULL, PRR_CONTAINER_INSPECT,
	    "{\"Name\":\"/db\",\"Config\":{\"Image\":\"pg:16\",\"Env\":[],"
	    "\"Labels\":{\"team\":\"a\"}}}", &o), PRA_PASS);
	ck_assert_int_eq(run(p, NULL, PRR_NETWORK_INSPECT,
	    "{\"Name\":\"n\",\"Labels\":{}}", &o), PRA_HIDE);
	ck_assert_int_eq(run(p, NULL, PRR_SERVICE_INSPECT,
	    "{\"Spec\":{\"Labels\":{\"team\":\"a\"}}}", &o), PRA_PASS);
	/* Images: names against the last path element of a tag. */
	ck_assert_int_eq(run(p, pf, PRR_IMAGE_LIST,
	    "[{\"RepoTags\":[\"reg.io/x/web-img:1\"],\"Labels\":{\"team\":"
	    "\"a\"}},{\"RepoTags\":[\"nginx:1\"],\"Labels\":{\"team\":\"a\"}}]",
	    &o), PRA_REWRITE);
	ck_assert_int_eq(json_array_size(o), 0);
	json_decref(o);
	policy_free(p);
}
END_TEST

/* The cost of one list rewrite (20 containers), for DESIGN.md. */
START_TEST(test_speed)
{
	struct policy	*p = load("insecure_allow_read_exfiltration: true\n");
	struct timespec	 a, b;
	char		*s, *out, why[256];
	size_t		 n, outlen;
	int		 i, iters = 2000;
	json_t		*arr = json_array(), *one;

	one = json_loads(inspect_json, 0, NULL);
	for (i = 0; i < 20; i++)
		json_array_append(arr, one);
	s = json_dumps(arr, JSON_COMPACT);
	n = strlen(s);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < iters; i++) {
		ck_assert_int_eq(pol_resp_filter(p, NULL, PRR_CONTAINER_LIST,
		    (uint8_t *)s, n, &out, &outlen, why, sizeof(why)),
		    PRA_REWRITE);
		free(out);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("# container list of 20 (%zu bytes): %.1f us per rewrite\n", n,
	    ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 /
	    iters);
	free(s);
	json_decref(one);
	json_decref(arr);
	policy_free(p);
}
END_TEST

static Suite *
redact_suite(void)
{
	Suite	*s = suite_create("redact");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_wanted);
	tcase_add_test(tc, test_container_inspect);
	tcase_add_test(tc, test_lists_and_shapes);
	tcase_add_test(tc, test_list_paths_agree);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_visibility);
	tcase_add_test(tc, test_speed);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(redact_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
