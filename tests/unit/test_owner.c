/*
 * test_owner.c: owner-label isolation (policy reference §6, acceptance
 * cases 31, 32, 34, 59-62): stamping keeps every byte but the Labels
 * member, the filter rewrite, the addressed resource of a path, the
 * verdict on Docker's inspect answers, and the references of a create.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "owner.h"
#include "util.h"

#define KEY	"com.sockguard.owner"

/* Stamp s; the status, and the result in out (or ""). */
static int
stamp(const char *s, char *out, size_t outsz)
{
	struct pol_verdict	 v;
	uint8_t			*o;
	size_t			 n;
	int			 r;

	out[0] = '\0';
	r = pol_owner_stamp(KEY, "team-a", (const uint8_t *)s, strlen(s), &o,
	    &n, &v);
	if (r == 0) {
		ck_assert_uint_lt(n, outsz);
		memcpy(out, o, n);
		out[n] = '\0';
		free(o);
	} else
		ck_assert_str_ne(v.reason, "");
	return r;
}

START_TEST(test_stamp)
{
	char	o[4096];

	/* 31: two case variants of Labels; 32: of HostConfig. */
	ck_assert_int_eq(stamp("{\"Labels\":{},\"labels\":{\"" KEY
	    "\":\"victim\"}}", o, sizeof(o)), 400);
	ck_assert_int_eq(stamp("{\"HostConfig\":{\"Privileged\":false},"
	    "\"hostconfig\":{\"Privileged\":true}}", o, sizeof(o)), 400);
	/* A lone variant is the canonical Labels, the owner's value ours. */
	ck_assert_int_eq(stamp("{\"Image\":\"x\", \"lAbels\" : {\"a\":\"b\","
	    "\"" KEY "\":\"victim\"} ,\"Cmd\":null}", o, sizeof(o)), 0);
	ck_assert_str_eq(o, "{\"Image\":\"x\", \"Labels\":{\"a\":\"b\",\""
	    KEY "\":\"team-a\"} ,\"Cmd\":null}");
	/* 34: numbers are never re-encoded. */
	ck_assert_int_eq(stamp("{\"HostConfig\":{\"Memory\":9007199254740993,"
	    "\"CpuPeriod\":1.50e3}}", o, sizeof(o)), 0);
	ck_assert_str_eq(o, "{\"Labels\":{\"" KEY "\":\"team-a\"},"
	    "\"HostConfig\":{\"Memory\":9007199254740993,\"CpuPeriod\":"
	    "1.50e3}}");
	ck_assert_int_eq(stamp(" { } ", o, sizeof(o)), 0);
	ck_assert_str_eq(o, " { \"Labels\":{\"" KEY "\":\"team-a\"}} ");
	ck_assert_int_eq(stamp("{\"Labels\":null}", o, sizeof(o)), 0);
	ck_assert_str_eq(o, "{\"Labels\":{\"" KEY "\":\"team-a\"}}");
	/* Keys with escapes and strings holding braces and quotes. */
	ck_assert_int_eq(stamp("{\"a\":\"}\\\"{\",\"\\u004cabels\":{}}", o,
	    sizeof(o)), 0);
	ck_assert_str_eq(o, "{\"a\":\"}\\\"{\",\"Labels\":{\"" KEY
	    "\":\"team-a\"}}");
	/* What cannot be stamped. */
	ck_assert_int_eq(stamp("", o, sizeof(o)), 400);
	ck_assert_int_eq(stamp("null", o, sizeof(o)), 400);
	ck_assert_int_eq(stamp("[]", o, sizeof(o)), 400);
	ck_assert_int_eq(stamp("{\"Labels\":[]}", o, sizeof(o)), 400);
	ck_assert_int_eq(stamp("{\"Labels\":{\"a\":1}}", o, sizeof(o)), 400);
	ck_assert_int_eq(stamp("{\"Labels\":{}}x", o, sizeof(o)), 403);
	ck_assert_int_eq(stamp("{\"Labels\":{", o, sizeof(o)), 403);
	/* Which endpoints are stamped, and how much body is held. */
	ck_assert_int_eq(pol_owner_stamps(PI_CONTAINER_CREATE, "/x"), 1);
	ck_assert_int_eq(pol_owner_stamps(PI_SECRET_CREATE, "/secrets/create"), 1);
	ck_assert_int_eq(pol_owner_stamps(PI_CONFIG_CREATE, "/configs/create"), 1);
	ck_assert_int_eq(pol_owner_stamps(PI_BLIND, "/nodes/x/update"), 0);
	ck_assert_int_eq(pol_owner_stamps(PI_BLIND, "/build"), 0);
	ck_assert_int_eq(pol_owner_stamps(PI_EXEC_CREATE, "/x"), 0);
	ck_assert_uint_eq(pol_owner_cap(PI_CONFIG_CREATE, "/configs/create"),
	    pol_inspector_cap(PI_CONFIG_CREATE));
	ck_assert_uint_ne(pol_owner_cap(PI_CONFIG_CREATE, "/configs/create"), 0);
	ck_assert_uint_eq(pol_owner_cap(PI_BLIND, "/nodes/x/update"), 0);
	ck_assert_uint_eq(pol_owner_cap(PI_BLIND, "/build"), 0);
}
END_TEST

static int
filter(const char *path, const char *q, char *out, size_t outsz)
{
	struct pol_verdict	 v;
	char			*o;
	int			 r;

	out[0] = '\0';
	if ((r = pol_owner_filter(KEY, "team-a", path, q, &o, &v)) == 0) {
		pw_strlcpy(out, o, outsz);
		free(o);
	}
	return r;
}

START_TEST(test_filter)
{
	char	o[4096], *big;
	const char *own = "%22label%22%3A%5B%22com.sockguard.owner%3D"
	    "team-a%22%5D";
	char	want[512];

	/* 59: the client's label filter is replaced; keys sorted. */
	ck_assert_int_eq(filter("/containers/json", "z=1&filters=%7B%22label"
	    "%22%3A%5B%22" KEY "%3Dvictim%22%5D%7D&all=1", o, sizeof(o)), 0);
	snprintf(want, sizeof(want), "all=1&filters=%%7B%s%%7D&z=1", own);
	ck_assert_str_eq(o, want);
	/* None: one is added.  /nodes: node.label. */
	ck_assert_int_eq(filter("/volumes", "", o, sizeof(o)), 0);
	snprintf(want, sizeof(want), "filters=%%7B%s%%7D", own);
	ck_assert_str_eq(o, want);
	ck_assert_int_eq(filter("/nodes", NULL, o, sizeof(o)), 0);
	ck_assert_str_eq(o, "filters=%7B%22node.label%22%3A%5B%22"
	    "com.sockguard.owner%3Dteam-a%22%5D%7D");
	/* 60: the legacy form, names sorted; '+' is a space. */
	ck_assert_int_eq(filter("/containers/json", "filters={\"status\":"
	    "{\"b+c\":true,\"a\":false}}", o, sizeof(o)), 0);
	snprintf(want, sizeof(want), "filters=%%7B%s%%2C%%22status%%22%%3A"
	    "%%5B%%22a%%22%%2C%%22b+c%%22%%5D%%7D", own);
	ck_assert_str_eq(o, want);
	/* Other shapes, bad escapes, semicolons, > 64 KiB: 400. */
	ck_assert_int_eq(filter("/containers/json", "filters=[]", o,
	    sizeof(o)), 400);
	ck_assert_int_eq(filter("/containers/json", "filters={\"a\":\"b\"}",
	    o, sizeof(o)), 400);
	ck_assert_int_eq(filter("/containers/json", "filters={\"a\":{\"b\":1}"
	    "}", o, sizeof(o)), 400);
	ck_assert_int_eq(filter("/containers/json", "a=%zz", o, sizeof(o)),
	    400);
	ck_assert_int_eq(filter("/containers/json", "a=1;b=2", o, sizeof(o)),
	    400);
	big = xmalloc(70 * 1024);
	memset(big, 'a', 70 * 1024 - 1);
	memcpy(big, "filters=", 8);
	big[70 * 1024 - 1] = '\0';
	ck_assert_int_eq(filter("/containers/json", big, o, sizeof(o)), 400);
	free(big);
	ck_assert_int_eq(pol_owner_filters("/events"), 1);
	ck_assert_int_eq(pol_owner_filters("/containers/x/json"), 0);
}
END_TEST

START_TEST(test_target)
{
	static const struct {
		const char	*path;
		int		 kind;
		const char	*id;
		int		 claim;
	} t[] = {
		{ "/containers/abc/json", OWK_CONTAINER, "abc", 0 },
		{ "/containers/abc", OWK_CONTAINER, "abc", 0 },
		{ "/containers/create", OWK_NONE, "", 0 },
		{ "/containers/json", OWK_NONE, "", 0 },
		{ "/containers/prune", OWK_NONE, "", 0 },
		{ "/images/ghcr.io/a/b:1/attestations", OWK_IMAGE,
		    "ghcr.io/a/b:1", 0 },
		{ "/images/x:1/get", OWK_IMAGE, "x:1", 0 },
		{ "/images/x", OWK_IMAGE, "x", 0 },
		{ "/images/get", OWK_NONE, "", 0 },
		{ "/images/json", OWK_NONE, "", 0 },
		{ "/images/search", OWK_NONE, "", 0 },
		{ "/networks/n1/connect", OWK_NETWORK, "n1", 0 },
		{ "/networks/create", OWK_NONE, "", 0 },
		{ "/volumes/v", OWK_VOLUME, "v", 0 },
		{ "/volumes/prune", OWK_NONE, "", 0 },
		{ "/nodes/n/update", OWK_NODE, "n", 1 },
		{ "/swarm/update", OWK_SWARM, "", 1 },
		{ "/swarm", OWK_SWARM, "", 0 },
		{ "/secrets/create", OWK_NONE, "", 0 },
		{ "/tasks/t", OWK_TASK, "t", 0 },
		{ "/exec/e1/start", OWK_EXEC, "e1", 0 },
		{ "/_ping", OWK_NONE, "", 0 },
	};
	char	id[256], lp[300];
	size_t	i;
	int	claim;

	for (i = 0; i < nitems(t); i++) {
		ck_assert_msg(pol_owner_target("GET", t[i].path, id,
		    sizeof(id), &claim) == t[i].kind, "%s", t[i].path);
		ck_assert_str_eq(id, t[i].id);
		ck_assert_int_eq(claim, t[i].claim);
	}
	pol_owner_lookup_path(OWK_IMAGE, "a/b:1", lp, sizeof(lp));
	ck_assert_str_eq(lp, "/images/a/b:1/json");
	pol_owner_lookup_path(OWK_NETWORK, "n", lp, sizeof(lp));
	ck_assert_str_eq(lp, "/networks/n");
	pol_owner_lookup_path(OWK_SECRET, "s", lp, sizeof(lp));
	ck_assert_str_eq(lp, "/secrets/s");
}
END_TEST

static int
judge(int kind, int claim, int unowned, const char *ans)
{
	struct pol_verdict	v;

	return pol_owner_judge(KEY, "team-a", unowned, kind, claim,
	    (const uint8_t *)ans, strlen(ans), &v);
}

START_TEST(test_judge)
{
	const char *mine = "{\"Config\":{\"Labels\":{\"" KEY "\":\"team-a\"}}}";
	const char *theirs = "{\"Config\":{\"Labels\":{\"" KEY "\":\"b\"}}}";
	const char *bare = "{\"Config\":{\"Labels\":null}}";

	ck_assert_int_eq(judge(OWK_CONTAINER, 0, 1, mine), 0);
	ck_assert_int_eq(judge(OWK_CONTAINER, 0, 1, theirs), 403);
	ck_assert_int_eq(judge(OWK_CONTAINER, 0, 1, bare), 403);
	ck_assert_int_eq(judge(OWK_IMAGE, 0, 1, bare), 0);
	ck_assert_int_eq(judge(OWK_IMAGE, 0, 0, bare), 403);
	ck_assert_int_eq(judge(OWK_IMAGE, 0, 1, theirs), 403);
	ck_assert_int_eq(judge(OWK_NETWORK, 0, 1, "{\"Labels\":{\"" KEY
	    "\":\"team-a\"}}"), 0);
	ck_assert_int_eq(judge(OWK_NETWORK, 0, 1, mine), 403);
	ck_assert_int_eq(judge(OWK_NODE, 1, 1, "{\"Spec\":{}}"), 0);
	ck_assert_int_eq(judge(OWK_NODE, 0, 1, "{\"Spec\":{}}"), 403);
	ck_assert_int_eq(judge(OWK_NODE, 1, 1, "{\"Spec\":{\"Labels\":{\""
	    KEY "\":\"b\"}}}"), 403);
	ck_assert_int_eq(judge(OWK_CONTAINER, 0, 1, "not json"), 502);
}
END_TEST

START_TEST(test_refs)
{
	static struct owner_ref	 r[OWNER_REFS_MAX];
	const char		*b = "{\"Image\":\"img\",\"HostConfig\":{"
	    "\"Binds\":[\"/h:/x\",\"vol1:/y:ro\",\"vol1:/z\"],\"Mounts\":[{"
	    "\"Type\":\"VOLUME\",\"Source\":\"vol2\"},{\"Type\":\"bind\","
	    "\"Source\":\"/s\"}],\"NetworkMode\":\"net1\",\"PidMode\":"
	    "\" container: c1 \",\"IpcMode\":\"host\"},\"NetworkingConfig\":{"
	    "\"EndpointsConfig\":{\"bridge\":{},\"net2\":{\"NetworkID\":"
	    "\"nid\"}}}}";
	size_t			 n;

	ck_assert_int_eq(pol_owner_refs((const uint8_t *)b, strlen(b), 0, r,
	    &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(r[0].kind, OWK_IMAGE);
	ck_assert_str_eq(r[0].id, "img");
	ck_assert_str_eq(r[1].id, "vol1");
	ck_assert_str_eq(r[2].id, "vol2");
	ck_assert_int_eq(r[3].kind, OWK_NETWORK);
	ck_assert_str_eq(r[3].id, "net1");
	ck_assert_int_eq(r[4].kind, OWK_CONTAINER);
	ck_assert_int_eq(r[4].flags, OWNER_REF_NS);
	ck_assert_str_eq(r[4].id, "c1");
	ck_assert_str_eq(r[5].id, "net2");
	ck_assert_str_eq(r[6].id, "nid");
	/* allow_cross_owner_namespace_sharing: no namespace targets. */
	ck_assert_int_eq(pol_owner_refs((const uint8_t *)b, strlen(b), 1, r,
	    &n), 0);
	ck_assert_uint_eq(n, 6);
	/* An exec: its container, which may be gone. */
	ck_assert_int_eq(pol_owner_exec_ref((const uint8_t *)
	    "{\"ContainerID\":\"c9\"}", 20, &r[0]), 0);
	ck_assert_int_eq(r[0].kind, OWK_CONTAINER);
	ck_assert_int_eq(r[0].flags, OWNER_REF_NS);
	ck_assert_str_eq(r[0].id, "c9");
	ck_assert_int_eq(pol_owner_exec_ref((const uint8_t *)"{}", 2, &r[0]),
	    -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("owner");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_stamp);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_target);
	tcase_add_test(tc, test_judge);
	tcase_add_test(tc, test_refs);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
