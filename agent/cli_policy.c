/*
 * cli_policy.c: "portwing policy check" and "portwing policy test", the
 * offline view of a request policy (a file or a bundled preset): what it
 * allows, and how one request would be judged.  Run by an operator,
 * never by the daemon; loads the policy exactly as portwingd does,
 * startup probes and Tecnativa variables included.
 *
 * Exit status: check 0 valid, 1 invalid, 2 usage; test 0 allowed,
 * 1 denied, 2 usage or an invalid policy.
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certsel.h"
#include "cli.h"
#include "policy.h"
#include "util.h"

static void
policy_usage(void)
{
	const char *const	*n;

	fprintf(stderr,
	    "usage: portwing policy list\n"
	    "       portwing policy check file|preset\n"
	    "       portwing policy test [-profile name] file|preset method "
	    "path [body]\n"
	    "presets:");
	for (n = policy_preset_names(); *n != NULL; n++)
		fprintf(stderr, " %s", *n);
	fprintf(stderr, "\n");
}

/* A bare word names a preset when there is one; anything else is a file. */
static struct policy *
load(const char *spec)
{
	struct policy	*p;
	char		 err[1024], *path = NULL;

	if (strchr(spec, '/') == NULL && policy_preset_text(spec, NULL) == NULL)
		xasprintf(&path, "./%s", spec);
	p = policy_resolve(path != NULL ? path : spec, err, sizeof(err));
	free(path);
	if (p == NULL)
		fprintf(stderr, "policy: %s\n", err);
	return p;
}

static void
print_rules(const struct pol_ruleset *rs, const char *indent)
{
	const struct pol_rule	*r;
	size_t			 i;

	for (i = 0; i < rs->n; i++) {
		r = &rs->v[i];
		printf("%s%3zu  %-5s  %-12s %s%s%s%s\n", indent, i,
		    r->allow ? "allow" : "deny", r->methods_text, r->path,
		    r->reason != NULL ? "  (" : "",
		    r->reason != NULL ? r->reason : "",
		    r->reason != NULL ? ")" : "");
	}
}

static const char *
mode_name(enum pol_mode m)
{
	return m == POL_WARN ? "warn" : m == POL_AUDIT ? "audit" : "enforce";
}

static size_t
cert_values(const struct pol_cert_profile *c)
{
	return c->ncn + c->ndns + c->nip + c->nuri + c->nspiffe + c->npin;
}

static const char *
onoff(int v)
{
	return v ? "on" : "off";
}

/* Visibility selectors, when there are any. */
static void
print_vis(const char *indent, const struct pol_vis *v)
{
	size_t	i;

	if (v->labels.n + v->nnames + v->nimages == 0)
		return;
	printf("%svisibility: labels", indent);
	for (i = 0; i < v->labels.n; i++)
		printf(" %s", v->labels.v[i]);
	printf("%s; %zu name pattern(s), %zu image pattern(s)\n",
	    v->labels.n ? "" : " (none)", v->nnames, v->nimages);
}

static int
policy_check(int argc, char **argv)
{
	struct policy	*p;
	size_t		 i;

	if (argc != 2) {
		policy_usage();
		return 2;
	}
	if ((p = load(argv[1])) == NULL)
		return 1;
	printf("source: %s\n", p->source);
	printf("compat mode: %s\n", p->compat ? "yes (Tecnativa variables)" :
	    "no");
	printf("deny verbosity: %s\n", p->deny_verbose ? "verbose" :
	    "minimal");
	printf("insecure_allow_read_exfiltration: %s\n",
	    p->ack_read_exfil ? "true" : "false");
	printf("insecure_allow_body_blind_writes: %s\n",
	    p->ack_body_blind ? "true" : "false");
	printf("response redaction: env %s, mount paths %s, network topology "
	    "%s, sensitive data %s, host topology %s; attestation statements "
	    "%s\n", onoff(p->resp.redact_env), onoff(p->resp.redact_mounts),
	    onoff(p->resp.redact_net), onoff(p->resp.redact_sensitive),
	    onoff(p->resp.redact_host), p->resp.allow_attest ? "allowed" :
	    "refused");
	print_vis("", &p->vis);
	printf("rules:\n");
	print_rules(&p->rules, "  ");
	for (i = 0; i < p->nprofiles; i++) {
		printf("profile %s (%s)%s:\n", p->profiles[i].name,
		    mode_name(p->profiles[i].mode),
		    strcmp(p->profiles[i].name, p->default_profile) == 0 ?
		    " [default]" : "");
		print_vis("  ", &p->profiles[i].vis);
		print_rules(&p->profiles[i].rules, "  ");
	}
	if (p->nallowed > 0)
		printf("allowed_cidrs: %d network%s (every other client "
		    "address is refused)\n", p->nallowed,
		    p->nallowed == 1 ? "" : "s");
	for (i = 0; i < p->ncert; i++)
		printf("client certificate profile %zu -> %s (%zu selector "
		    "value%s)\n", i, p->cert[i].profile,
		    cert_values(&p->cert[i]),
		    cert_values(&p->cert[i]) == 1 ? "" : "s");
	for (i = 0; i < p->nwarnings; i++)
		printf("warning: %s\n", p->warnings[i]);
	printf("policy: %s: valid\n", p->source);
	policy_free(p);
	return 0;
}

static int
policy_test(int argc, char **argv)
{
	struct cli_opt			 opts[] = {
		{ "profile", CLI_OPT_STR, NULL },
		{ NULL, 0, NULL },
	};
	const struct pol_profile	*pr = NULL;
	const struct pol_rule		*r;
	struct pol_decision		 d;
	struct policy			*p;
	const char			*profile = NULL, *why, *q;
	char				*method, *raw, *fwd, *s;
	char				 npath[POL_PATH_MAX], vp[64];
	enum pol_insp			 pi;
	size_t				 i;
	int				 next, rc;

	opts[0].dst = &profile;
	if ((rc = cli_parse_opts("policy test", argc, argv, opts,
	    &next)) != 0) {
		if (rc == 1)
			policy_usage();
		return 2;
	}
	if (argc - next != 3 && argc - next != 4) {
		policy_usage();
		return 2;
	}
	if ((p = load(argv[next])) == NULL)
		return 2;
	if (profile != NULL) {
		for (i = 0; i < p->nprofiles; i++)
			if (strcmp(p->profiles[i].name, profile) == 0)
				pr = &p->profiles[i];
		if (pr == NULL) {
			fprintf(stderr, "policy: %s: no profile named %s\n",
			    p->source, profile);
			policy_free(p);
			return 2;
		}
	}
	method = xstrdup(argv[next + 1]);
	for (s = method; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'z')
			*s -= 'a' - 'A';
	raw = xstrdup(argv[next + 2]);
	q = NULL;
	if ((s = strchr(raw, '?')) != NULL) {
		*s = '\0';
		q = s + 1;
	}
	printf("method: %s\npath: %s\n", method, argv[next + 2]);
	printf("profile: %s\n", pr != NULL ? pr->name : "(root rules)");
	if (policy_normalize(raw, strlen(raw), npath, sizeof(npath), vp,
	    sizeof(vp), &why) == -1) {
		printf("decision: deny\nreason: malformed path: %s\n", why);
		rc = 1;
		goto out;
	}
	policy_decide(policy_rules(p, pr), method, npath, &d);
	fwd = policy_forward_target(vp, npath, q);
	printf("normalized_path: %s\n", npath);
	if (vp[0] != '\0')
		printf("version_prefix: %s\n", vp);
	printf("forward: %s\n", fwd);
	free(fwd);
	printf("decision: %s\n", d.allow ? "allow" : "deny");
	if (d.rule >= 0) {
		r = &policy_rules(p, pr)->v[d.rule];
		printf("rule: %d (%s %s %s)\n", d.rule,
		    r->allow ? "allow" : "deny", r->methods_text, r->path);
	} else
		printf("rule: none\n");
	if (d.reason != NULL)
		printf("reason: %s\n", d.reason);
	printf("reason_code: %s\n", d.reason_code);
	pi = pol_inspector_for(method, npath);
	if (d.allow && pi != PI_NONE && argc - next == 4)
		printf("body: inspected by policyd (%s)\n",
		    pol_inspector_name(pi));
	rc = d.allow ? 0 : 1;
 out:
	free(method);
	free(raw);
	policy_free(p);
	return rc;
}

int
cli_policy(int argc, char **argv)
{
	const char *const	*n;

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		for (n = policy_preset_names(); *n != NULL; n++)
			printf("%s\n", *n);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return policy_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "test") == 0)
		return policy_test(argc - 1, argv + 1);
	policy_usage();
	return 2;
}
