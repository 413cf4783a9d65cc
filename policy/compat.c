/*
 * compat.c: Tecnativa / LinuxServer docker-socket-proxy variables (§4 of
 * the policy reference), and policy_resolve, which picks a policy the
 * way portwingd does: a preset name or a file, switched to the variables
 * when its rules are exactly the defaults and a variable is set (as
 * sockguard does).
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "polint.h"

extern char **environ;

/* Section variables, in the order their rules are generated (§4.2). */
static const struct {
	const char	*var;
	int		 on;		/* default */
	const char	*path;
	const char	*path2;
} sections[] = {
	{ "PING", 1, "/_ping", NULL },
	{ "VERSION", 1, "/version", NULL },
	{ "EVENTS", 1, "/events", NULL },
	{ "AUTH", 0, "/auth/**", NULL },
	{ "BUILD", 0, "/build/**", NULL },
	{ "COMMIT", 0, "/commit/**", NULL },
	{ "CONFIGS", 0, "/configs/**", NULL },
	{ "CONTAINERS", 0, "/containers/**", NULL },
	{ "DISTRIBUTION", 0, "/distribution/**", NULL },
	{ "EXEC", 0, "/exec/**", "/containers/*/exec" },
	{ "GRPC", 0, "/grpc/**", NULL },
	{ "IMAGES", 0, "/images/**", NULL },
	{ "INFO", 0, "/info", NULL },
	{ "NETWORKS", 0, "/networks/**", NULL },
	{ "NODES", 0, "/nodes/**", NULL },
	{ "PLUGINS", 0, "/plugins/**", NULL },
	{ "SECRETS", 0, "/secrets/**", NULL },
	{ "SERVICES", 0, "/services/**", NULL },
	{ "SESSION", 0, "/session/**", NULL },
	{ "SWARM", 0, "/swarm/**", NULL },
	{ "SYSTEM", 0, "/system/**", NULL },
	{ "TASKS", 0, "/tasks/**", NULL },
	{ "VOLUMES", 0, "/volumes/**", NULL },
};

/* Granular grants (§4.3): a rule when any of its variables is true. */
static const struct {
	const char	*vars[3];
	const char	*method;
	const char	*path;
} granular[] = {
	{ { "ALLOW_CREATE" }, "POST", "/containers/create" },
	{ { "ALLOW_DELETE" }, "DELETE", "/containers/*" },
	{ { "ALLOW_EXEC" }, "POST", "/containers/*/exec" },
	{ { "ALLOW_KILL", "ALLOW_RESTARTS", "ALLOW_RESTART" }, "POST",
	    "/containers/*/kill" },
	{ { "ALLOW_PAUSE" }, "POST", "/containers/*/pause" },
	{ { "ALLOW_PRUNE" }, "POST", "/containers/prune" },
	{ { "ALLOW_RESTARTS", "ALLOW_RESTART" }, "POST",
	    "/containers/*/restart" },
	{ { "ALLOW_START" }, "POST", "/containers/*/start" },
	{ { "ALLOW_STOP", "ALLOW_RESTARTS", "ALLOW_RESTART" }, "POST",
	    "/containers/*/stop" },
	{ { "ALLOW_UNPAUSE" }, "POST", "/containers/*/unpause" },
};

#define ACK_EXFIL	"SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION"
#define ACK_BLIND	"SOCKGUARD_INSECURE_ALLOW_BODY_BLIND_WRITES"

static const char *
envget(char *const *envp, const char *name)
{
	size_t	n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* Whether any compat variable is set, whatever its value. */
int
pol_compat_present(char *const *envp)
{
	size_t	i, j;

	if (envget(envp, "POST") != NULL)
		return 1;
	for (i = 0; i < nitems(sections); i++)
		if (envget(envp, sections[i].var) != NULL)
			return 1;
	for (i = 0; i < nitems(granular); i++)
		for (j = 0; j < 3 && granular[i].vars[j] != NULL; j++)
			if (envget(envp, granular[i].vars[j]) != NULL)
				return 1;
	return 0;
}

/*
 * 1|true|yes and 0|false|no, any case.  Anything else counts as false,
 * even for a section that is on by default, with a warning (fail closed).
 */
static int
env_bool(struct policy *p, char *const *envp, const char *var, int dflt)
{
	const char	*v = envget(envp, var);
	int		 b;

	if (v == NULL)
		return dflt;
	if (pw_parse_bool(v, &b) == 0)
		return b;
	pol_warn(p, "%s=%s: not a boolean (1, true, yes, 0, false, no), "
	    "treated as false", var, v);
	return 0;
}

static int
add_rule(struct policy *p, const char *method, const char *path, int allow,
    const char *reason, char *err, size_t errlen)
{
	struct pol_rule	*r = pol_ruleset_add(&p->rules);

	if (pol_rule_init(r, method, path, allow, reason, err, errlen) == -1) {
		p->rules.n--;
		return -1;
	}
	return 0;
}

/* Replace the policy's rules with the ones the variables describe. */
int
pol_compat_apply(struct policy *p, char *const *envp, char *err,
    size_t errlen)
{
	const char	*m;
	size_t		 i, j;
	int		 on;

	pol_ruleset_free(&p->rules);
	p->compat = 1;
	m = env_bool(p, envp, "POST", 0) ? "*" : "GET,HEAD";
	for (i = 0; i < nitems(sections); i++) {
		if (!env_bool(p, envp, sections[i].var, sections[i].on))
			continue;
		if (add_rule(p, m, sections[i].path, 1, NULL, err,
		    errlen) == -1)
			return -1;
		if (sections[i].path2 != NULL && add_rule(p, m,
		    sections[i].path2, 1, NULL, err, errlen) == -1)
			return -1;
		if (!strcmp(sections[i].var, "GRPC") ||
		    !strcmp(sections[i].var, "SESSION"))
			pol_warn(p, "%s: portwing does not mediate BuildKit "
			    "tunnels; with POST the policy is refused",
			    sections[i].var);
	}
	for (i = 0; i < nitems(granular); i++) {
		for (on = 0, j = 0; j < 3 && granular[i].vars[j] != NULL; j++)
			if (env_bool(p, envp, granular[i].vars[j], 0))
				on = 1;
		if (on && add_rule(p, granular[i].method, granular[i].path, 1,
		    NULL, err, errlen) == -1)
			return -1;
	}
	if (add_rule(p, "*", "/**", 0, POL_DEFAULT_DENY, err, errlen) == -1)
		return -1;
	if (envget(envp, ACK_EXFIL) != NULL)
		p->ack_read_exfil = env_bool(p, envp, ACK_EXFIL, 0);
	if (envget(envp, ACK_BLIND) != NULL)
		p->ack_body_blind = env_bool(p, envp, ACK_BLIND, 0);
	return 0;
}

struct policy *
policy_from_env(char *const *envp, char *err, size_t errlen)
{
	struct policy	*p;

	err[0] = '\0';
	if (!pol_compat_present(envp))
		return NULL;
	p = pol_new("environment");
	if (pol_compat_apply(p, envp, err, errlen) == -1 ||
	    pol_probe(p, err, errlen) == -1) {
		policy_free(p);
		return NULL;
	}
	return p;
}

/*
 * spec: a preset name (no '/'), a file path, or NULL / "" for the
 * default rules.  In every case the Tecnativa variables in the process
 * environment take over when the rules are exactly the defaults.
 */
struct policy *
policy_resolve(const char *spec, char *err, size_t errlen)
{
	struct policy	*p;
	const char	*text;
	char		*buf = NULL, src[300];
	size_t		 len;
	ssize_t		 n;

	err[0] = '\0';
	if (spec == NULL || *spec == '\0') {
		p = pol_new("defaults");
		if (pol_ruleset_default(&p->rules) == -1)
			abort();
	} else if (strchr(spec, '/') != NULL) {
		if ((n = pw_read_file(spec, &buf, POL_FILE_MAX, err,
		    errlen)) == -1)
			return NULL;
		p = pol_load(spec, spec, buf, (size_t)n, err, errlen);
		free(buf);
	} else {
		snprintf(src, sizeof(src), "preset %s", spec);
		if ((text = policy_preset_text(spec, &len)) == NULL) {
			snprintf(err, errlen, "%s: no such preset", src);
			return NULL;
		}
		p = pol_load(src, src, text, len, err, errlen);
	}
	if (p == NULL)
		return NULL;
	if (pol_ruleset_is_default(&p->rules) && pol_compat_present(environ) &&
	    pol_compat_apply(p, environ, err, errlen) == -1)
		goto fail;
	if (pol_probe(p, err, errlen) == -1)
		goto fail;
	return p;
 fail:
	policy_free(p);
	return NULL;
}
