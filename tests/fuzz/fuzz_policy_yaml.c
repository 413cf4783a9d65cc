/*
 * fuzz_policy_yaml.c: libFuzzer harness for the policy loader
 * (policy/pconf.c, policy_load_text): the input is a policy file.  What
 * loads is exercised a little (a decision per rule set, a verbose deny
 * body) and freed, so leaks and double frees show.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_decision	 d;
	struct policy		*p;
	char			 err[512], *b;
	size_t			 i;

	p = policy_load_text("fuzz.yaml", (const char *)data, size, err,
	    sizeof(err));
	if (p == NULL)
		return 0;
	policy_decide(&p->rules, "GET", "/containers/json", &d);
	for (i = 0; i < p->nprofiles; i++)
		policy_decide(&p->profiles[i].rules, "post", "/x", &d);
	b = policy_deny_body(p, "GET", "/v1.45/secrets/x", d.reason);
	free(b);
	policy_free(p);
	return 0;
}
