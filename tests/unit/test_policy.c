/*
 * test_policy.c: the rule engine against the policy reference (§3, §4,
 * §8, §10.1): normalisation, the glob dialect, first-match decisions,
 * deny bodies, the YAML loader's errors and warnings, the startup
 * probes, Tecnativa variables and the bundled presets.  The body
 * settings come from policy/inspect_stub.c.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "policy.h"

static struct policy *
load(const char *yaml)
{
	struct policy	*p;
	char		 err[1024];

	p = policy_load_text("t.yaml", yaml, strlen(yaml), err, sizeof(err));
	ck_assert_msg(p != NULL, "load failed: %s", err);
	return p;
}

/* Loading fails with a message containing want. */
static void
load_fails(const char *yaml, const char *want)
{
	struct policy	*p;
	char		 err[1024];

	p = policy_load_text("t.yaml", yaml, strlen(yaml), err, sizeof(err));
	ck_assert_msg(p == NULL, "loaded, expected: %s", want);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want);
}

static int
has_warning(const struct policy *p, const char *want)
{
	size_t	i;

	for (i = 0; i < p->nwarnings; i++)
		if (strstr(p->warnings[i], want) != NULL)
			return 1;
	return 0;
}

/* Decide a raw (still encoded) request path; -1 when it is malformed. */
static int
judge(const struct pol_ruleset *rs, const char *method, const char *raw)
{
	struct pol_decision	 d;
	char			 np[POL_PATH_MAX], vp[64];
	const char		*why;
	char			*path, *q;
	int			 rc;

	path = xstrdup(raw);
	if ((q = strchr(path, '?')) != NULL)
		*q = '\0';
	rc = policy_normalize(path, strlen(path), np, sizeof(np), vp,
	    sizeof(vp), &why);
	free(path);
	if (rc == -1)
		return -1;
	policy_decide(rs, method, np, &d);
	return d.allow;
}

static const char p1_yaml[] =
    "rules:\n"
    "  - match: { method: GET, path: \"/containers/json\" }\n"
    "    action: allow\n"
    "  - match: { method: \"*\", path: \"/**\" }\n"
    "    action: deny\n"
    "    reason: no matching allow rule\n";

/* ---- §3.2 ---- */

START_TEST(test_normalize)
{
	static const struct {
		const char	*in, *npath, *vp;
	} ok[] = {
		{ "/containers/json", "/containers/json", "" },
		{ "", "/", "" },
		{ "/", "/", "" },
		{ "/containers/json/", "/containers/json", "" },
		{ "//containers//json", "/containers/json", "" },
		{ "/a/./b/../c", "/a/c", "" },
		{ "/../../x", "/x", "" },
		{ "/..", "/", "" },
		{ "/v1.45/containers/json", "/containers/json", "/v1.45" },
		{ "/v1/_ping", "/_ping", "/v1" },
		{ "/v01.45/x", "/x", "/v01.45" },
		{ "/v0/x", "/x", "/v0" },
		{ "/v1.45.99/x", "/x", "/v1.45.99" },
		{ "/V1.45/x", "/V1.45/x", "" },
		{ "/v/x", "/v/x", "" },
		{ "/v1.45.99.1/x", "/v1.45.99.1/x", "" },
		{ "/v1./x", "/v1./x", "" },
		{ "/v1.45", "/v1.45", "" },
		{ "/v1.45/v1.46/x", "/v1.46/x", "/v1.45" },
		{ "/v1.45/../v1.44/x", "/x", "/v1.44" },
		{ "/containers/%6a%73%6f%6e", "/containers/json", "" },
		{ "/containers%2Fjson", "/containers/json", "" },
		{ "/containers/%252e/json", "/containers/%2e/json", "" },
		{ "/containers/json/%2e%2e/create", "/containers/create", "" },
		{ "/a%5cb", "/a\\b", "" },
		{ "/a;b=1", "/a;b=1", "" },
		{ "relative/./x", "relative/x", "" },
	};
	static const char *const bad[] = {
		"/x%", "/x%2", "/x%zz", "/x%00", "/x%0g",
	};
	char		 np[POL_PATH_MAX], vp[64], small[8];
	const char	*why;
	size_t		 i;

	for (i = 0; i < nitems(ok); i++) {
		ck_assert_msg(policy_normalize(ok[i].in, strlen(ok[i].in), np,
		    sizeof(np), vp, sizeof(vp), &why) == 0, "%s: %s", ok[i].in,
		    why);
		ck_assert_msg(strcmp(np, ok[i].npath) == 0, "%s -> %s, not %s",
		    ok[i].in, np, ok[i].npath);
		ck_assert_msg(strcmp(vp, ok[i].vp) == 0, "%s: prefix %s, not %s",
		    ok[i].in, vp, ok[i].vp);
	}
	for (i = 0; i < nitems(bad); i++) {
		why = NULL;
		ck_assert_msg(policy_normalize(bad[i], strlen(bad[i]), np,
		    sizeof(np), vp, sizeof(vp), &why) == -1, "%s accepted",
		    bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	/* The length is honoured: a NUL inside it is refused. */
	ck_assert_int_eq(policy_normalize("/a\0b", 4, np, sizeof(np), vp,
	    sizeof(vp), &why), -1);
	ck_assert_int_eq(policy_normalize("/a/b/c/d/e", 10, small,
	    sizeof(small), vp, sizeof(vp), &why), -1);
}
END_TEST

/* ---- §3.3 ---- */

START_TEST(test_glob)
{
	static const struct {
		const char	*pat, *path;
		int		 match;
	} t[] = {
		{ "/containers/json", "/containers/json", 1 },
		{ "/containers/json", "/containers/json/x", 0 },
		{ "/containers/json", "/Containers/json", 0 },
		{ "/containers/*", "/containers/abc", 1 },
		{ "/containers/*", "/containers/json", 1 },
		{ "/containers/*", "/containers", 0 },
		{ "/containers/*", "/containers/abc/start", 0 },
		{ "/containers/*", "/containers/", 1 },
		{ "/containers/**", "/containers", 1 },
		{ "/containers/**", "/containers/abc/logs", 1 },
		{ "/containers/**", "/containersX", 0 },
		{ "/containers/**", "/images/json", 0 },
		{ "/images/**/json", "/images/json", 1 },
		{ "/images/**/json", "/images/ghcr.io/o/r:tag/json", 1 },
		{ "/images/**/json", "/images/x/history", 0 },
		{ "/images/**/json", "/imagesjson", 0 },
		{ "/**", "/anything/at/all", 1 },
		{ "/**", "", 1 },
		{ "/**", "/", 1 },
		{ "/a*c/d", "/abbc/d", 1 },
		{ "/a*c/d", "/ab/c/d", 0 },
		{ "/a**z", "/a/b/z", 1 },
		{ "/a**z", "/a/b/y", 0 },
		{ "/a/**/b/**", "/a/b", 1 },
		{ "/a/**/b/**", "/a/x/y/b/z", 1 },
		{ "/a/**/b/**", "/a/x/y/bz", 0 },
		{ "/x.y+(z)", "/x.y+(z)", 1 },
		{ "/x.y", "/xzy", 0 },
		{ "/distribution/**/json", "/distribution/docker.io/library/a/json", 1 },
		{ "/containers/*/json", "/containers/abc?x/json", 1 },
	};
	struct pol_glob	*g;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		g = pol_glob_compile(t[i].pat, err, sizeof(err));
		ck_assert_msg(g != NULL, "%s: %s", t[i].pat, err);
		ck_assert_msg(pol_glob_match(g, t[i].path) == t[i].match,
		    "%s ~ %s should be %d", t[i].pat, t[i].path, t[i].match);
		pol_glob_free(g);
	}
	ck_assert_ptr_null(pol_glob_compile("/containers/%2e%2e", err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "%"));
	ck_assert_ptr_null(pol_glob_compile("", err, sizeof(err)));
}
END_TEST

/* Many "**" against a long path that never matches: no blow-up. */
START_TEST(test_glob_linear)
{
	struct pol_glob	*g;
	char		 err[256], *path;
	uint64_t	 t0;
	size_t		 i;

	g = pol_glob_compile("/**/a/**/a/**/a/**/a/**/a/**/a/**/a/**/b", err,
	    sizeof(err));
	ck_assert_ptr_nonnull(g);
	path = xmalloc(8001);
	for (i = 0; i < 8000; i += 2)
		memcpy(path + i, "/a", 2);
	path[8000] = '\0';
	t0 = pw_now_ms();
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(pol_glob_match(g, path), 0);
	ck_assert_uint_lt(pw_now_ms() - t0, 2000);
	path[7999] = 'b';
	ck_assert_int_eq(pol_glob_match(g, path), 1);
	free(path);
	pol_glob_free(g);
}
END_TEST

/* ---- §3.4 ---- */

START_TEST(test_decide)
{
	struct policy		*p;
	struct pol_decision	 d;

	p = load("rules:\n"
	    "  - match: { method: \"get, Head\", path: /a }\n"
	    "    action: allow\n"
	    "  - match: { method: purge, path: /a }\n"
	    "    action: allow\n"
	    "    reason: cache\n"
	    "  - match: { method: \"POST,*\", path: /b }\n"
	    "    action: deny\n"
	    "    reason: no b\n"
	    "  - match: { method: GET, path: /b }\n"
	    "    action: allow\n"
	    "  - match: { method: DELETE, path: /c }\n"
	    "    action: deny\n"
	    "    reason: no matching allow rule\n");
	policy_decide(&p->rules, "GET", "/a", &d);
	ck_assert_int_eq(d.allow, 1);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_str_eq(d.reason_code, "matched_allow_rule");
	ck_assert_ptr_null(d.reason);
	policy_decide(&p->rules, "head", "/a", &d);
	ck_assert_int_eq(d.allow, 1);
	policy_decide(&p->rules, "PURGE", "/a", &d);
	ck_assert_int_eq(d.rule, 1);
	ck_assert_str_eq(d.reason, "cache");
	policy_decide(&p->rules, "purge", "/a", &d);
	ck_assert_int_eq(d.rule, 1);
	policy_decide(&p->rules, "POST", "/a", &d);
	ck_assert_int_eq(d.allow, 0);
	ck_assert_int_eq(d.rule, -1);
	ck_assert_str_eq(d.reason, "no matching allow rule");
	ck_assert_str_eq(d.reason_code, "no_matching_allow_rule");
	/* First match: the deny for any method shadows the later allow. */
	policy_decide(&p->rules, "GET", "/b", &d);
	ck_assert_int_eq(d.allow, 0);
	ck_assert_int_eq(d.rule, 2);
	ck_assert_str_eq(d.reason_code, "matched_deny_rule");
	policy_decide(&p->rules, "WHATEVER", "/b", &d);
	ck_assert_int_eq(d.rule, 2);
	policy_decide(&p->rules, "DELETE", "/c", &d);
	ck_assert_int_eq(d.rule, 4);
	ck_assert_str_eq(d.reason_code, "no_matching_allow_rule");
	ck_assert_uint_eq(p->rules.v[0].methods, POL_M_GET | POL_M_HEAD);
	ck_assert_str_eq(p->rules.v[1].xmethods[0], "PURGE");
	ck_assert_int_eq(p->rules.v[2].any_method, 1);
	policy_free(p);
}
END_TEST

/* ---- §10.1, the rule layer, against P1 ---- */

START_TEST(test_acceptance_p1)
{
	static const struct {
		int		 n;
		const char	*method, *path;
		int		 allow;
	} t[] = {
		{ 1, "GET", "/v1.45/containers/json", 1 },
		{ 1, "GET", "/v1/containers/json", 1 },
		{ 1, "GET", "/v01.45/containers/json", 1 },
		{ 1, "GET", "/v0/containers/json", 1 },
		{ 1, "GET", "/v1.45.99/containers/json", 1 },
		{ 2, "GET", "/V1.45/containers/json", 0 },
		{ 2, "GET", "/v/containers/json", 0 },
		{ 2, "GET", "/v1.45.99.1/containers/json", 0 },
		{ 2, "GET", "/v1.45/v1.46/containers/json", 0 },
		{ 3, "GET", "/containers/json/", 1 },
		{ 3, "GET", "//containers/json", 1 },
		{ 3, "GET", "/containers//json", 1 },
		{ 3, "GET", "///containers/json", 1 },
		{ 3, "GET", "/./containers/json", 1 },
		{ 3, "GET", "/containers/./json", 1 },
		{ 3, "GET", "/containers/json/../json", 1 },
		{ 3, "GET", "/containers/create/../json", 1 },
		{ 3, "GET", "/containers/json/../../../containers/json", 1 },
		{ 4, "GET", "/containers/json/../create", 0 },
		{ 4, "POST", "/containers/json/../create", 0 },
		{ 4, "POST", "/containers/json/../../exec/abc/start", 0 },
		{ 5, "GET", "/Containers/json", 0 },
		{ 5, "GET", "/containers/JSON", 0 },
		{ 6, "GET", "/containers/json;ignore=1", 0 },
		{ 6, "GET", "/containers;x/json", 0 },
		{ 6, "GET", "/containers/json%20", 0 },
		{ 6, "GET", "/containers/json%09", 0 },
		{ 6, "GET", "/containers/json%0a", 0 },
		{ 6, "GET", "/containers/json%0d", 0 },
		{ 6, "GET", "/containers%5cjson", 0 },
		{ 7, "GET", "/containers/%6a%73%6f%6e", 1 },
		{ 7, "GET", "/containers%2Fjson", 1 },
		{ 8, "GET", "/containers/%256a%2573%256f%256e", 0 },
		{ 8, "GET", "/containers/%252e/json", 0 },
		{ 9, "POST", "/containers/json/%2e%2e/create", 0 },
		{ 9, "GET", "/containers/create/%2e%2e/json", 1 },
		{ 10, "GET", "/containers/json?all=1", 1 },
		{ 10, "POST", "/containers/json", 0 },
		/* 14: a lowercase method is judged upper-cased. */
		{ 14, "get", "/containers/json", 1 },
		{ 14, "post", "/containers/json", 0 },
	};
	struct policy	*p = load(p1_yaml);
	char		 np[64], vp[16];
	const char	*why;
	size_t		 i;

	for (i = 0; i < nitems(t); i++)
		ck_assert_msg(judge(&p->rules, t[i].method, t[i].path) ==
		    t[i].allow, "case %d: %s %s", t[i].n, t[i].method,
		    t[i].path);
	/* 6: an encoded NUL never reaches the rules. */
	ck_assert_int_eq(judge(&p->rules, "GET", "/containers/json%00"), -1);
	/* 11: inspectors see the normalised path, here the create route. */
	ck_assert_int_eq(policy_normalize("/v1.45//containers/./create", 27,
	    np, sizeof(np), vp, sizeof(vp), &why), 0);
	ck_assert_str_eq(np, "/containers/create");
	ck_assert_int_eq(pol_inspector_for("POST", np), PI_CONTAINER_CREATE);
	ck_assert_int_eq(policy_normalize("/containers%2Fcreate", 20, np,
	    sizeof(np), vp, sizeof(vp), &why), 0);
	ck_assert_int_eq(pol_inspector_for("POST", np), PI_CONTAINER_CREATE);
	policy_free(p);
	/* 12, 13 */
	load_fails("rules:\n  - match: { method: GET, path: "
	    "\"/containers/%2e%2e\" }\n    action: allow\n", "rule 1");
	p = load("rules:\n  - match: { method: GET, path: "
	    "\"/v1.45/containers/json\" }\n    action: allow\n");
	ck_assert(has_warning(p, "version prefix"));
	ck_assert_int_eq(judge(&p->rules, "GET", "/v1.45/containers/json"), 0);
	policy_free(p);
}
END_TEST

/* 15, and what is forwarded in general. */
START_TEST(test_forward)
{
	char		 np[POL_PATH_MAX], vp[64], *t;
	const char	*why;
	struct policy	*p;

	p = load("rules:\n  - match: { method: GET, path: "
	    "\"/containers/*/json\" }\n    action: allow\n");
	ck_assert_int_eq(judge(&p->rules, "GET", "/containers/abc%3Fx/json"),
	    1);
	policy_free(p);
	ck_assert_int_eq(policy_normalize("/containers/abc%3Fx/json", 24, np,
	    sizeof(np), vp, sizeof(vp), &why), 0);
	t = policy_forward_target(vp, np, NULL);
	ck_assert_str_eq(t, "/containers/abc%3Fx/json");
	free(t);
	ck_assert_int_eq(policy_normalize("/v1.45//containers/./a%2525%20b#/",
	    33, np, sizeof(np), vp, sizeof(vp), &why), 0);
	t = policy_forward_target(vp, np, "all=1&x=%20");
	ck_assert_str_eq(t, "/v1.45/containers/a%2525%20b%23?all=1&x=%20");
	free(t);
	t = policy_forward_target("", "/a\x01\xc3\xa9", "");
	ck_assert_str_eq(t, "/a%01%C3%A9");
	free(t);
}
END_TEST

/* ---- §3.5 ---- */

START_TEST(test_deny_body)
{
	struct policy	*p;
	char		*b;

	p = load(p1_yaml);
	b = policy_deny_body(p, "GET", "/x", "no");
	ck_assert_str_eq(b, "{\"message\":\"request denied by sockguard "
	    "policy\"}\n");
	free(b);
	policy_free(p);
	p = load("response:\n  deny_verbosity: verbose\n");
	ck_assert_int_eq(p->deny_verbose, 1);
	b = policy_deny_body(p, "POST", "/v1.45/containers/create", "nope");
	ck_assert_str_eq(b, "{\"message\":\"request denied by sockguard "
	    "policy\",\"method\":\"POST\",\"path\":\"/v1.45/containers/create\","
	    "\"reason\":\"nope\"}\n");
	free(b);
	b = policy_deny_body(p, "GET", "/v1.45/secrets/abc", NULL);
	ck_assert_str_eq(b, "{\"message\":\"request denied by sockguard "
	    "policy\",\"method\":\"GET\",\"path\":\"/v1.45/secrets/<redacted>\"}\n");
	free(b);
	b = policy_deny_body(p, "GET", "//swarm/./unlockkey", "");
	ck_assert_ptr_nonnull(strstr(b, "\"path\":\"/swarm/<redacted>\"}"));
	free(b);
	b = policy_deny_body(p, "GET", "/secrets", "r");
	ck_assert_ptr_nonnull(strstr(b, "\"path\":\"/secrets\""));
	free(b);
	b = policy_deny_body(p, "GET", "/x\xff", "r");
	ck_assert_ptr_nonnull(strstr(b, "\"path\":\"/x\xef\xbf\xbd\""));
	free(b);
	policy_free(p);
}
END_TEST

/* ---- YAML loading (§2) ---- */

START_TEST(test_load_defaults)
{
	struct policy	*p = load("# nothing\n");

	ck_assert_uint_eq(p->rules.n, 5);
	ck_assert_int_eq(judge(&p->rules, "HEAD", "/_ping"), 1);
	ck_assert_int_eq(judge(&p->rules, "GET", "/events"), 1);
	ck_assert_int_eq(judge(&p->rules, "GET", "/info"), 0);
	ck_assert_str_eq(p->source, "t.yaml");
	ck_assert_int_eq(p->compat, 0);
	policy_free(p);
	p = load("");
	ck_assert_uint_eq(p->rules.n, 5);
	policy_free(p);
}
END_TEST

START_TEST(test_load_errors)
{
	load_fails("rules: []\n", "t.yaml:1: rules");
	load_fails("rules:\n", "empty");
	load_fails("bogus: 1\n", "t.yaml:1: bogus: unknown key");
	load_fails("response:\n  deny_verbosity: minimal\n  colour: red\n",
	    "t.yaml:3: response.colour: unknown key");
	load_fails("RULES:\n  - match: { method: GET, path: /a }\n"
	    "    action: allow\n  - match: { method: GET, path: /b }\n"
	    "    action: permit\n", "t.yaml:4: rules: rule 2: action must be");
	load_fails("rules:\n  - match: { path: /a }\n    action: allow\n",
	    "rule 1: match.method is required");
	load_fails("rules:\n  - match: { method: GET }\n    action: allow\n",
	    "rule 1: match.path is required");
	load_fails("rules:\n  - match: { method: \" , \", path: /a }\n"
	    "    action: allow\n", "method");
	load_fails("rules:\n  - match: { method: GET, path: /a, host: x }\n"
	    "    action: allow\n", "rules: rule 1: match.host: unknown key");
	load_fails("response:\n  deny_verbosity: loud\n", "minimal or verbose");
	load_fails("rules: {}\n", "list of rules");
	load_fails("insecure_allow_read_exfiltration: maybe\n", "true or false");
	load_fails("rules:\n  - match: { method: GET, path: /a }\n"
	    "    action: allow\n    Action: deny\n", "duplicate key");
	load_fails("clients:\n  default_profile: nope\n", "no profile named");
	load_fails("clients:\n  profiles:\n"
	    "    - name: a\n      rules:\n        - match: { method: GET, path: /a }\n"
	    "          action: allow\n"
	    "    - name: a\n      rules:\n        - match: { method: GET, path: /a }\n"
	    "          action: allow\n", "duplicate profile name");
	load_fails("clients:\n  profiles:\n    - name: a\n", "rules is required");
	load_fails("clients:\n  profiles:\n"
	    "    - name: a\n      mode: loud\n      rules:\n"
	    "        - match: { method: GET, path: /a }\n"
	    "          action: allow\n", "enforce, warn or audit");
	load_fails("clients:\n  profiles:\n"
	    "    - name: a\n      rules:\n        - match: { method: GET, path: /a }\n"
	    "          action: allow\n"
	    "  unix_peer_profiles:\n    - profile: a\n      pids: [1]\n",
	    "PID alone");
	load_fails("clients:\n  unix_peer_profiles:\n    - profile: b\n"
	    "      uids: [1]\n", "no profile named \"b\"");
	load_fails("clients:\n  profiles:\n"
	    "    - name: a\n      rules:\n        - match: { method: GET, path: /a }\n"
	    "          action: allow\n"
	    "  source_ip_profiles:\n    - profile: a\n      cidrs: [10.0.0.0/33]\n",
	    "not a network");
	load_fails("rules: [\n", "YAML");
	load_fails("response: {}\n---\nrules: []\n", "more than one YAML");
	/* ownership: strict, the key named. */
	load_fails("ownership:\n  ownr: x\n", "ownership.ownr");
	load_fails("ownership:\n  owner: [x]\n", "ownership.owner");
	load_fails("ownership:\n  owner: x\n  label_key: \"a=b\"\n",
	    "ownership.label_key");
	load_fails("ownership:\n  owner: x\n  label_key: \"\"\n",
	    "ownership.label_key");
	load_fails("ownership:\n  allow_unowned_images: maybe\n",
	    "ownership.allow_unowned_images");
	load_fails("ownership:\n  allow_cross_owner_namespace_sharing: 2\n",
	    "ownership.allow_cross_owner_namespace_sharing");
	load_fails("ownership: [a]\n", "ownership");
	load_fails("response:\n  redact_mount_paths: maybe\n",
	    "response.redact_mount_paths");
	load_fails("response:\n  visible_resource_labels: [\"a,b\"]\n",
	    "commas");
	load_fails("response:\n  visible_resource_labels: [\"=x\"]\n",
	    "missing a key");
	load_fails("response:\n  visible_resource_labels: [\"k=\"]\n",
	    "missing a value");
	load_fails("response:\n  name_patterns: [\"\"]\n", "must not be empty");
	load_fails("response:\n  redact_nothing: true\n", "unknown key");
}
END_TEST

START_TEST(test_load_warnings)
{
	struct policy	*p;

	p = load("listen:\n  socket: /x\nupstream:\n  socket: /y\n"
	    "Log:\n  level: debug\nmetrics: {}\n"
	    "response:\n  redact_mount_paths: false\n"
	    "  redact_container_env: true\n"
	    "ownership:\n  owner: team-a\n"
	    "clients:\n  allowed_cidrs: [10.0.0.0/8]\n  container_labels:\n"
	    "    enabled: false\n");
	ck_assert(has_warning(p, "listen: not implemented by portwing, ignored"));
	ck_assert(has_warning(p, "upstream: not implemented"));
	ck_assert(has_warning(p, "log: not implemented"));
	ck_assert(has_warning(p, "metrics: not implemented"));
	/* Response settings are enforced now: loaded, no warning. */
	ck_assert(!has_warning(p, "response."));
	ck_assert_int_eq(p->resp.redact_mounts, 0);
	ck_assert_int_eq(p->resp.redact_env, 1);
	ck_assert_int_eq(p->resp.redact_net, 1);
	ck_assert_int_eq(p->resp.redact_host, 0);
	ck_assert_str_eq(p->owner, "team-a");
	ck_assert_str_eq(p->owner_key, "com.sockguard.owner");
	ck_assert_int_eq(p->owner_unowned_images, 1);
	ck_assert_int_eq(p->owner_ns_sharing, 0);
	ck_assert(has_warning(p, "ownership: portwing stamps the owner label"));
	/* allowed_cidrs is enforced (proxy/pgate.c): no warning. */
	ck_assert(!has_warning(p, "clients.allowed_cidrs"));
	ck_assert_int_eq(p->nallowed, 1);
	ck_assert(!has_warning(p, "clients.container_labels: not implemented "
	    "by portwing, ignored (sockguard"));
	ck_assert_ptr_null(p->warnings[p->nwarnings]);
	policy_free(p);
	p = load("rules:\n  - match: { method: GET, path: containers }\n"
	    "    action: allow\n");
	ck_assert(has_warning(p, "never matches"));
	policy_free(p);
}
END_TEST

START_TEST(test_load_file)
{
	struct policy	*p;
	char		 path[] = "/tmp/test_policy.XXXXXX", err[512], *big;
	FILE		*fp;
	int		 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	fputs(p1_yaml, fp);
	fclose(fp);
	p = policy_load_file(path, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_str_eq(p->source, path);
	ck_assert_int_eq(judge(&p->rules, "GET", "/containers/json"), 1);
	policy_free(p);
	p = policy_resolve(path, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(p->compat, 0);
	policy_free(p);
	/* Larger than POL_FILE_MAX: refused before parsing. */
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	big = xcalloc(1, POL_FILE_MAX + 2);
	memset(big, '#', POL_FILE_MAX + 1);
	fputs(big, fp);
	fclose(fp);
	free(big);
	ck_assert_ptr_null(policy_load_file(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "larger than"));
	unlink(path);
	ck_assert_ptr_null(policy_load_file(path, err, sizeof(err)));
	ck_assert_ptr_null(policy_load_text("t", "a: 1\0", 5, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
}
END_TEST

static const char profiles_yaml[] =
    "clients:\n"
    "  default_profile: base\n"
    "  profiles:\n"
    "    - name: base\n"
    "      rules:\n"
    "        - match: { method: GET, path: /base }\n"
    "          action: allow\n"
    "    - name: ci\n"
    "      mode: warn\n"
    "      rules:\n"
    "        - match: { method: GET, path: /ci }\n"
    "          action: allow\n"
    "    - name: ops\n"
    "      mode: audit\n"
    "      rules:\n"
    "        - match: { method: GET, path: /ops }\n"
    "          action: allow\n"
    "  source_ip_profiles:\n"
    "    - profile: ci\n"
    "      cidrs: [10.1.0.0/16, \"2001:db8::/32\"]\n"
    "  unix_peer_profiles:\n"
    "    - profile: ops\n"
    "      uids: [1001]\n"
    "      gids: [50]\n"
    "    - profile: ci\n"
    "      gids: [60]\n";

START_TEST(test_select)
{
	const struct pol_profile	*pr;
	struct policy			*p = load(profiles_yaml);
	int				 un;

	ck_assert_uint_eq(p->nprofiles, 3);
	ck_assert_int_eq(p->profiles[1].mode, POL_WARN);
	ck_assert_int_eq(p->profiles[2].mode, POL_AUDIT);
	pr = policy_select(p, "ops", "10.1.2.3", 0, 0, 0, &un);
	ck_assert_str_eq(pr->name, "ops");
	pr = policy_select(p, "nope", NULL, 0, 0, 0, &un);
	ck_assert_ptr_null(pr);
	ck_assert_int_eq(un, 1);
	pr = policy_select(p, NULL, "10.1.2.3", 0, 0, 0, &un);
	ck_assert_str_eq(pr->name, "ci");
	ck_assert_int_eq(un, 0);
	pr = policy_select(p, NULL, "2001:db8::1", 0, 0, 0, &un);
	ck_assert_str_eq(pr->name, "ci");
	pr = policy_select(p, NULL, "10.2.0.1", 0, 0, 0, &un);
	ck_assert_str_eq(pr->name, "base");
	/* uids and gids both given: both must match. */
	pr = policy_select(p, NULL, NULL, 1, 1001, 50, &un);
	ck_assert_str_eq(pr->name, "ops");
	pr = policy_select(p, NULL, NULL, 1, 1001, 51, &un);
	ck_assert_str_eq(pr->name, "base");
	pr = policy_select(p, NULL, NULL, 1, 7, 60, &un);
	ck_assert_str_eq(pr->name, "ci");
	ck_assert_int_eq(judge(policy_rules(p, pr), "GET", "/ci"), 1);
	ck_assert_int_eq(judge(policy_rules(p, pr), "GET", "/base"), 0);
	ck_assert_ptr_eq(policy_rules(p, NULL), &p->rules);
	ck_assert_ptr_eq(policy_body(p, pr), &pr->body);
	policy_free(p);
}
END_TEST

/* ---- startup probes (§3.6, §5.10) ---- */

START_TEST(test_probes)
{
	struct policy	*p;

	load_fails("rules:\n  - match: { method: GET, path: /containers/** }\n"
	    "    action: allow\n", "GET /containers/sockguard-test/archive");
	p = load("insecure_allow_read_exfiltration: true\nrules:\n"
	    "  - match: { method: GET, path: /containers/** }\n    action: allow\n");
	policy_free(p);
	load_fails("rules:\n  - match: { method: GET, path: /libpod/generate/* }\n"
	    "    action: allow\n", "insecure_allow_read_exfiltration");
	load_fails("insecure_allow_read_exfiltration: true\n"
	    "insecure_allow_body_blind_writes: true\nrules:\n"
	    "  - match: { method: POST, path: /grpc }\n    action: allow\n",
	    "BuildKit mediation is not implemented");
	load_fails("rules:\n  - match: { method: \"*\", path: "
	    "/moby.buildkit.v1.Control/* }\n    action: allow\n", "BuildKit");
	load_fails("rules:\n  - match: { method: POST, path: /containers/*/exec }\n"
	    "    action: allow\n", "exec.allowed_commands");
	load_fails("rules:\n  - match: { method: POST, path: /exec/*/start }\n"
	    "    action: allow\n", "insecure_allow_body_blind_writes");
	p = load("insecure_allow_body_blind_writes: true\nrules:\n"
	    "  - match: { method: POST, path: /containers/*/exec }\n"
	    "    action: allow\n");
	policy_free(p);
	p = load("request_body:\n  exec:\n    allowed_commands: [[ls]]\nrules:\n"
	    "  - match: { method: POST, path: /containers/*/exec }\n"
	    "    action: allow\n");
	policy_free(p);
	/* Profiles are probed too, with the global acknowledgements. */
	load_fails("clients:\n  profiles:\n    - name: x\n      rules:\n"
	    "        - match: { method: GET, path: /images/get }\n"
	    "          action: allow\n", "profile x rules admit GET /images/get");
	/* An allowlist in the root body does not cover a profile. */
	load_fails("request_body:\n  exec:\n    allowed_commands: [[ls]]\n"
	    "clients:\n  profiles:\n    - name: x\n      rules:\n"
	    "        - match: { method: POST, path: /exec/*/start }\n"
	    "          action: allow\n", "profile x rules admit POST");
	/* A deny before the broad allow keeps the probe out. */
	p = load("rules:\n  - match: { method: GET, path: /containers/*/logs }\n"
	    "    action: deny\n"
	    "  - match: { method: GET, path: /containers/*/json }\n"
	    "    action: allow\n");
	policy_free(p);
}
END_TEST

/* ---- Tecnativa variables (§4) ---- */

static void
rule_is(const struct pol_rule *r, const char *m, const char *path, int allow)
{
	ck_assert_str_eq(r->methods_text, m);
	ck_assert_str_eq(r->path, path);
	ck_assert_int_eq(r->allow, allow);
}

START_TEST(test_compat)
{
	char		*env1[] = { "HOME=/", "CONTAINERS=1", "ALLOW_START=yes",
	    "SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION=true", NULL };
	char		*env2[] = { "HOME=/", NULL };
	char		*env3[] = { "CONTAINERS=1", NULL };
	char		*env4[] = { "PING=maybe", "POST=TRUE", "INFO=1",
	    "ALLOW_RESTART=1", "EXEC=0", NULL };
	char		*env5[] = { "POST=1", "GRPC=1", NULL };
	char		*env6[] = { "EXEC=1", "POST=1", "ALLOW_EXEC=1",
	    "SOCKGUARD_INSECURE_ALLOW_BODY_BLIND_WRITES=1", NULL };
	char		 err[512];
	struct policy	*p;

	p = policy_from_env(env1, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(p->compat, 1);
	ck_assert_str_eq(p->source, "environment");
	ck_assert_uint_eq(p->rules.n, 6);
	rule_is(&p->rules.v[0], "GET,HEAD", "/_ping", 1);
	rule_is(&p->rules.v[1], "GET,HEAD", "/version", 1);
	rule_is(&p->rules.v[2], "GET,HEAD", "/events", 1);
	rule_is(&p->rules.v[3], "GET,HEAD", "/containers/**", 1);
	rule_is(&p->rules.v[4], "POST", "/containers/*/start", 1);
	rule_is(&p->rules.v[5], "*", "/**", 0);
	ck_assert_str_eq(p->rules.v[5].reason, "no matching allow rule");
	ck_assert_int_eq(judge(&p->rules, "GET", "/containers"), 1);
	ck_assert_int_eq(judge(&p->rules, "POST", "/containers/x/stop"), 0);
	policy_free(p);

	ck_assert_ptr_null(policy_from_env(env2, err, sizeof(err)));
	ck_assert_str_eq(err, "");
	/* CONTAINERS=1 admits logs and archives: the exfiltration probe. */
	ck_assert_ptr_null(policy_from_env(env3, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "insecure_allow_read_exfiltration"));

	p = policy_from_env(env4, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_uint_eq(p->rules.n, 7);
	/* PING=maybe counts as false, with a warning. */
	rule_is(&p->rules.v[0], "*", "/version", 1);
	rule_is(&p->rules.v[1], "*", "/events", 1);
	rule_is(&p->rules.v[2], "*", "/info", 1);
	rule_is(&p->rules.v[3], "POST", "/containers/*/kill", 1);
	rule_is(&p->rules.v[4], "POST", "/containers/*/restart", 1);
	rule_is(&p->rules.v[5], "POST", "/containers/*/stop", 1);
	ck_assert(has_warning(p, "PING=maybe"));
	ck_assert_int_eq(judge(&p->rules, "GET", "/_ping"), 0);
	ck_assert_int_eq(judge(&p->rules, "DELETE", "/info"), 1);
	policy_free(p);

	ck_assert_ptr_null(policy_from_env(env5, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "BuildKit"));

	p = policy_from_env(env6, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	rule_is(&p->rules.v[3], "*", "/exec/**", 1);
	rule_is(&p->rules.v[4], "*", "/containers/*/exec", 1);
	rule_is(&p->rules.v[5], "POST", "/containers/*/exec", 1);
	ck_assert_int_eq(p->ack_body_blind, 1);
	policy_free(p);
}
END_TEST

START_TEST(test_resolve)
{
	struct policy	*p;
	char		 err[512];

	unsetenv("CONTAINERS");
	p = policy_resolve("sockguard", err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(p->compat, 0);
	ck_assert_str_eq(p->source, "preset sockguard");
	policy_free(p);
	/* The default rules plus a variable switch to compat mode. */
	setenv("INFO", "1", 1);
	p = policy_resolve("sockguard", err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(p->compat, 1);
	ck_assert_int_eq(judge(&p->rules, "GET", "/info"), 1);
	policy_free(p);
	p = policy_resolve(NULL, err, sizeof(err));
	ck_assert_int_eq(p->compat, 1);
	policy_free(p);
	/* Explicit rules disable it. */
	p = policy_resolve("autoheal", err, sizeof(err));
	ck_assert_int_eq(p->compat, 0);
	ck_assert_int_eq(judge(&p->rules, "GET", "/info"), 0);
	policy_free(p);
	unsetenv("INFO");
	ck_assert_ptr_null(policy_resolve("no-such-preset", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "no such preset"));
	ck_assert_ptr_null(policy_resolve("/nonexistent/x.yaml", err,
	    sizeof(err)));
}
END_TEST

/* ---- presets (§8) ---- */

struct pcase {
	const char	*method, *path;
	int		 allow;
};

static void
preset_check(const char *name, const struct pcase *c, size_t n)
{
	struct policy	*p;
	char		 err[512];
	size_t		 i;

	p = policy_load_preset(name, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s: %s", name, err);
	for (i = 0; i < n; i++)
		ck_assert_msg(judge(&p->rules, c[i].method, c[i].path) ==
		    c[i].allow, "%s: %s %s should be %s", name, c[i].method,
		    c[i].path, c[i].allow ? "allowed" : "denied");
	policy_free(p);
}

#define PRESET(name, ...) do {						\
	static const struct pcase _c[] = { __VA_ARGS__ };		\
	preset_check(name, _c, nitems(_c));				\
} while (0)

START_TEST(test_presets_load)
{
	const char *const	*n;
	struct policy		*p;
	char			 err[512];
	size_t			 count = 0;

	for (n = policy_preset_names(); *n != NULL; n++, count++) {
		p = policy_load_preset(*n, err, sizeof(err));
		ck_assert_msg(p != NULL, "%s: %s", *n, err);
		ck_assert_msg(!has_warning(p, "sockguard would enforce"),
		    "%s weaker than its description", *n);
		/* Every preset ends with a catch-all deny. */
		ck_assert_str_eq(p->rules.v[p->rules.n - 1].path, "/**");
		ck_assert_int_eq(p->rules.v[p->rules.n - 1].allow, 0);
		policy_free(p);
	}
	ck_assert_uint_eq(count, 22);
	ck_assert_ptr_null(policy_preset_text("nope", NULL));
	ck_assert_ptr_null(policy_load_preset("nope", err, sizeof(err)));
}
END_TEST

START_TEST(test_presets_decisions)
{
	PRESET("sockguard", { "GET", "/_ping", 1 }, { "HEAD", "/_ping", 1 },
	    { "GET", "/version", 1 }, { "GET", "/events", 1 },
	    { "GET", "/info", 0 }, { "POST", "/_ping", 0 });
	PRESET("drydock", { "GET", "/info", 1 },
	    { "GET", "/v1.45/containers/json", 1 },
	    { "GET", "/containers/a/top", 1 },
	    { "POST", "/containers/a/rename", 1 },
	    { "POST", "/containers/a/wait", 1 },
	    { "DELETE", "/containers/a", 1 },
	    { "POST", "/containers/create", 1 },
	    { "GET", "/images/json", 1 },
	    { "GET", "/images/ghcr.io/o/r:1/json", 1 },
	    { "DELETE", "/images/ghcr.io/o/r:1", 1 },
	    { "POST", "/networks/n/connect", 1 },
	    { "GET", "/distribution/docker.io/x/json", 1 },
	    { "GET", "/services/s", 1 },
	    { "GET", "/containers/a/logs", 0 },
	    { "POST", "/containers/a/exec", 0 },
	    { "POST", "/networks/create", 0 },
	    { "POST", "/build", 0 }, { "HEAD", "/version", 0 });
	PRESET("drydock-with-compose", { "POST", "/networks/create", 1 },
	    { "DELETE", "/volumes/v", 1 },
	    { "POST", "/networks/n/disconnect", 1 }, { "POST", "/build", 0 });
	PRESET("drydock-with-build", { "POST", "/build", 1 },
	    { "POST", "/volumes/create", 1 });
	PRESET("drydock-with-selfupdate", { "POST", "/containers/a/exec", 1 },
	    { "POST", "/exec/e/start", 1 }, { "GET", "/exec/e/json", 1 },
	    { "POST", "/exec/e/resize", 0 });
	PRESET("portwing", { "GET", "/containers/a/logs", 1 },
	    { "POST", "/networks/n/connect", 0 },
	    { "POST", "/containers/create", 1 });
	PRESET("portwing-with-exec", { "POST", "/exec/e/resize", 1 },
	    { "POST", "/containers/a/exec", 1 },
	    { "POST", "/networks/n/connect", 0 });
	PRESET("portwing-with-compose", { "POST", "/networks/n/connect", 1 },
	    { "POST", "/volumes/create", 1 }, { "POST", "/build", 0 });
	PRESET("portwing-with-build", { "POST", "/build", 1 });
	PRESET("traefik", { "GET", "/tasks/t", 1 },
	    { "GET", "/containers/a/logs", 1 }, { "GET", "/images/json", 0 },
	    { "POST", "/containers/a/start", 0 });
	PRESET("portainer", { "PUT", "/_ping", 1 },
	    { "POST", "/containers/a/exec", 1 }, { "GET", "/system/df", 1 },
	    { "POST", "/system/prune", 0 }, { "POST", "/commit", 1 },
	    { "DELETE", "/secrets/s", 1 }, { "POST", "/tasks/t", 0 });
	PRESET("watchtower", { "DELETE", "/images/x", 1 },
	    { "DELETE", "/images/x/y", 0 },
	    { "POST", "/networks/n/disconnect", 1 },
	    { "GET", "/distribution/a/b/json", 1 },
	    { "POST", "/containers/a/pause", 0 });
	PRESET("homepage", { "GET", "/services/s", 1 },
	    { "GET", "/networks", 0 });
	PRESET("homarr", { "POST", "/containers/a/restart", 1 },
	    { "POST", "/containers/a/kill", 0 });
	PRESET("diun", { "GET", "/images/x/json", 1 }, { "GET", "/info", 0 },
	    { "GET", "/events", 0 });
	PRESET("autoheal", { "POST", "/containers/a/restart", 1 },
	    { "GET", "/containers/a/logs", 0 }, { "GET", "/events", 1 });
	PRESET("readonly", { "HEAD", "/_ping", 1 }, { "GET", "/anything", 1 },
	    { "HEAD", "/version", 0 }, { "POST", "/containers/create", 0 });
	PRESET("cis-docker-benchmark", { "POST", "/containers/a/wait", 1 },
	    { "POST", "/containers/a/rename", 0 }, { "GET", "/events", 1 },
	    { "GET", "/services", 0 });
	PRESET("github-actions-runner", { "POST", "/containers/a/attach", 1 },
	    { "GET", "/containers/a/logs", 1 }, { "DELETE", "/networks/n", 1 },
	    { "GET", "/containers/a/top", 0 }, { "DELETE", "/images/x", 0 });
	PRESET("gitlab-runner", { "GET", "/containers/a/top", 1 },
	    { "DELETE", "/images/x", 1 }, { "GET", "/images/x/history", 1 });
	PRESET("podman-readonly", { "GET", "/libpod/pods/json", 1 },
	    { "GET", "/libpod/containers/a/logs", 0 },
	    { "GET", "/containers/a/changes", 1 },
	    { "POST", "/libpod/containers/create", 0 });
	PRESET("multi-listener", { "GET", "/_ping", 0 });
}
END_TEST

START_TEST(test_preset_profiles)
{
	const struct pol_profile	*pr;
	struct policy			*p;
	char				 err[512];
	int				 un;

	p = policy_load_preset("multi-listener", err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	pr = policy_select(p, NULL, NULL, 1, 1000, 1000, &un);
	ck_assert_str_eq(pr->name, "ci");
	ck_assert_int_eq(judge(&pr->rules, "POST", "/containers/create"), 1);
	ck_assert_int_eq(judge(&pr->rules, "GET", "/info"), 0);
	pr = policy_select(p, NULL, NULL, 1, 1001, 1001, &un);
	ck_assert_str_eq(pr->name, "ops");
	ck_assert_int_eq(judge(&pr->rules, "GET", "/info"), 1);
	ck_assert_ptr_null(policy_select(p, NULL, NULL, 1, 5, 5, &un));
	ck_assert_int_eq(un, 0);
	policy_free(p);
	p = policy_load_preset("portwing", err, sizeof(err));
	ck_assert_int_eq(p->deny_verbose, 1);
	ck_assert_int_eq(p->ack_read_exfil, 1);
	ck_assert_int_eq(p->ack_body_blind, 0);
	policy_free(p);
}
END_TEST

/* ---- speed: the hot path stays under a microsecond ---- */

START_TEST(test_speed)
{
	struct pol_decision	 d;
	struct policy		*p;
	char			 err[512];
	uint64_t		 t0, us;
	int			 i, n = 1000000, allowed = 0;

	p = policy_load_preset("drydock", err, sizeof(err));
	ck_assert_ptr_nonnull(p);
	t0 = pw_now_us();
	for (i = 0; i < n; i++) {
		policy_decide(&p->rules, "GET", i & 1 ? "/_ping" :
		    "/containers/json", &d);
		allowed += d.allow;
	}
	us = pw_now_us() - t0;
	/* (check's assertions are slow: one after the loop.) */
	ck_assert_int_eq(allowed, n);
	/* Under a microsecond each, sanitizer builds included. */
	ck_assert_msg(us < 1000000, "%llu us for %d decisions",
	    (unsigned long long)us, n);
	policy_free(p);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_normalize);
	tcase_add_test(tc, test_glob);
	tcase_add_test(tc, test_glob_linear);
	tcase_add_test(tc, test_decide);
	tcase_add_test(tc, test_acceptance_p1);
	tcase_add_test(tc, test_forward);
	tcase_add_test(tc, test_deny_body);
	tcase_add_test(tc, test_load_defaults);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_load_warnings);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_select);
	tcase_add_test(tc, test_probes);
	tcase_add_test(tc, test_compat);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_presets_load);
	tcase_add_test(tc, test_presets_decisions);
	tcase_add_test(tc, test_preset_profiles);
	tcase_add_test(tc, test_speed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(policy_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
