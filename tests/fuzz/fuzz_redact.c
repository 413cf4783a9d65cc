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
	a = pol_resp_filter(p, pf, r, data + 1, size - 1, &out, &outlen, why,
	    sizeof(why));
	if (a == PRA_REWRITE) {
		if (out == NULL || outlen == 0 || out[outlen - 1] != '\n')
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
