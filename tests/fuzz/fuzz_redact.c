/*
 * fuzz_redact.c: libFuzzer harness for response filtering
 * (policy/redact.c): Docker's answers as policyd reads them.
 *
 * The first byte selects the route (its low 7 bits modulo PRR_MAX, 0
 * meaning the container list) and, in bit 7, a
 * policy with every redaction on and visibility selectors (labels, name
 * and image globs, in the root and in a profile) instead of the
 * defaults.  The rest is the answer, with its exact length.  A rewritten
 * answer must be JSON again, and filtering it a second time must leave it
 * as it is (the rewrite is idempotent).
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy.h"
#include "redact.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char visyaml[] =
    "insecure_allow_read_exfiltration: true\n"
    "response:\n"
    "  redact_host_topology: true\n"
    "  visible_resource_labels: [team, \"tier=web\"]\n"
    "clients:\n"
    "  profiles:\n"
    "    - name: p\n"
    "      response:\n"
    "        name_patterns: [\"web-*\", \"**/x\"]\n"
    "        image_patterns: [\"nginx:*\"]\n"
    "      rules:\n"
    "        - match: { method: GET, path: \"/**\" }\n"
    "          action: allow\n";

/*
 * The container list's streaming path against the jansson one: never
 * more lenient, and the same JSON when both rewrite.  The streaming path
 * may refuse where the tree accepts only for a duplicate key (jansson
 * keeps the last, the stream checks each) or a raw NUL byte.
 */
static void
same_as_tree(const struct policy *p, const uint8_t *b, size_t n,
    enum pol_raction a, const char *out, size_t outlen)
{
	enum pol_raction t;
	char		 why[256], *tout = NULL;
	size_t		 toutlen;
	json_t		*x, *y, *in;

	pol_resp_tree_only = 1;
	t = pol_resp_filter(p, NULL, PRR_CONTAINER_LIST, b, n, &tout,
	    &toutlen, why, sizeof(why));
	pol_resp_tree_only = 0;
	if (t == PRA_REJECT && a != PRA_REJECT)
		abort();
	if (a == PRA_REJECT && t != PRA_REJECT) {
		in = json_loadb((const char *)b, n, JSON_ALLOW_NUL |
		    JSON_REJECT_DUPLICATES, NULL);
		/*
		 * jansson also takes a raw NUL between tokens, which JSON
		 * (and Docker) do not have; the stream refuses it.
		 */
		if (in != NULL && memchr(b, 0, n) == NULL)
			abort();	/* no duplicate key: should agree */
		json_decref(in);
		free(tout);
		return;
	}
	if (a != PRA_REJECT) {
		x = a == PRA_REWRITE ? json_loadb(out, outlen, JSON_ALLOW_NUL,
		    NULL) : json_loadb((const char *)b, n, JSON_ALLOW_NUL, NULL);
		y = t == PRA_REWRITE ? json_loadb(tout, toutlen,
		    JSON_ALLOW_NUL, NULL) : json_loadb((const char *)b, n,
		    JSON_ALLOW_NUL, NULL);
		if (x == NULL || y == NULL || !json_equal(x, y))
			abort();
		json_decref(x);
		json_decref(y);
	}
	free(tout);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy	*def, *vis;
	const struct pol_profile *pf = NULL;
	const struct policy	*p;
	enum pol_raction	 a, a2;
	enum pol_rroute		 r;
	char			 err[512], why[256], *out = NULL, *out2 = NULL;
	size_t			 outlen, outlen2;
	int			 unres;

	if (def == NULL) {
		static const char defyaml[] =
		    "insecure_allow_read_exfiltration: true\n";

		def = policy_load_text("def", defyaml, sizeof(defyaml) - 1, err,
		    sizeof(err));
		vis = policy_load_text("vis", visyaml, sizeof(visyaml) - 1, err,
		    sizeof(err));
		if (def == NULL || vis == NULL)
			abort();
	}
	if (size < 1)
		return 0;
	r = (enum pol_rroute)((data[0] & 0x7f) % PRR_MAX);
	if (r == PRR_NONE)
		r = PRR_CONTAINER_LIST;
	p = (data[0] & 0x80) ? vis : def;
	if (p == vis)
		pf = policy_select(vis, "p", NULL, 0, 0, 0, &unres);
	pol_resp_tree_only = 0;
	a = pol_resp_filter(p, pf, r, data + 1, size - 1, &out, &outlen, why,
	    sizeof(why));
	if (r == PRR_CONTAINER_LIST && p == def)
		same_as_tree(p, data + 1, size - 1, a, out, outlen);
	if (a == PRA_REWRITE) {
		if (out == NULL || outlen == 0)
			abort();
		a2 = pol_resp_filter(p, pf, r, (const uint8_t *)out, outlen,
		    &out2, &outlen2, why, sizeof(why));
		/* Visibility can only drop what it dropped already. */
		if (a2 == PRA_REJECT || a2 == PRA_HIDE || (a2 == PRA_REWRITE &&
		    (outlen2 != outlen || memcmp(out, out2, outlen) != 0)))
			abort();
	} else if (out != NULL)
		abort();
	free(out);
	free(out2);
	return 0;
}
