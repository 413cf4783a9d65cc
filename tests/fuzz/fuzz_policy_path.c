/*
 * fuzz_policy_path.c: libFuzzer harness for the policy engine's path
 * handling (policy/engine.c): policy_normalize, policy_forward_target and
 * the glob matcher.
 *
 * Input: an optional "PATTERN\n" line, then a request path as it
 * arrives (percent-encoded).  Checked properties:
 *   - a normalised path that is forwarded and normalised again gives the
 *     same path and version prefix (Docker routes what was judged);
 *   - the glob matcher agrees with a slow recursive reading of the
 *     dialect (§3.3) on short inputs.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The dialect read literally: exponential, so only for short inputs. */
static int
ref_match(const char *p, const char *s)
{
	size_t	i;

	if (*p == '\0')
		return *s == '\0';
	if (p[0] == '/' && p[1] == '*' && p[2] == '*') {
		if (ref_match(p + 3, s))
			return 1;
		if (*s != '/')
			return 0;
		for (i = 1; i <= strlen(s); i++)
			if (ref_match(p + 3, s + i))
				return 1;
		return 0;
	}
	if (p[0] == '*' && p[1] == '*') {
		for (i = 0; i <= strlen(s); i++)
			if (ref_match(p + 2, s + i))
				return 1;
		return 0;
	}
	if (*p == '*') {
		for (i = 0;; i++) {
			if (ref_match(p + 1, s + i))
				return 1;
			if (s[i] == '\0' || s[i] == '/')
				return 0;
		}
	}
	return *p == *s && ref_match(p + 1, s + 1);
}

static void
check_glob(const char *pat, const char *path)
{
	struct pol_glob	*g;
	char		 err[256];
	int		 m;

	if ((g = pol_glob_compile(pat, err, sizeof(err))) == NULL)
		return;
	m = pol_glob_match(g, path);
	/* A pattern of "/" and two stars alone matches anything at all. */
	if (strlen(pat) <= 12 && strlen(path) <= 40 &&
	    m != (strcmp(pat, "/**") == 0 || ref_match(pat, path))) {
		fprintf(stderr, "glob %s ~ %s: %d\n", pat, path, m);
		abort();
	}
	pol_glob_free(g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 np[POL_PATH_MAX], vp[64], np2[POL_PATH_MAX], vp2[64];
	char		*in, *pat = NULL, *path, *nl, *fwd;
	const char	*why;

	if (size > 16384)
		return 0;
	in = xmalloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	path = in;
	if ((nl = memchr(in, '\n', size)) != NULL) {
		*nl = '\0';
		pat = in;
		path = nl + 1;
		size -= (size_t)(path - in);
	}
	if (policy_normalize(path, size, np, sizeof(np), vp, sizeof(vp),
	    &why) == 0) {
		if (pat != NULL && *pat != '\0')
			check_glob(pat, np);
		fwd = policy_forward_target(vp, np, NULL);
		if (policy_normalize(fwd, strlen(fwd), np2, sizeof(np2), vp2,
		    sizeof(vp2), &why) != 0 || strcmp(np, np2) != 0 ||
		    strcmp(vp, vp2) != 0) {
			fprintf(stderr, "round trip: %s%s -> %s -> %s%s\n", vp,
			    np, fwd, vp2, np2);
			abort();
		}
		free(fwd);
	}
	free(in);
	return 0;
}
