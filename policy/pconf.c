/*
 * pconf.c: loading a policy from YAML (sockguard's schema, §2-§3 and
 * §7.3 of the policy reference) with libyaml's document API, and the
 * startup probes that refuse a rule set admitting dangerous endpoints
 * without the matching acknowledgement (§3.6, §5.10).  Runs where the
 * policy is loaded: portwingd's master and policy processes, and the
 * portwing CLI.
 *
 * Keys are matched case-insensitively, as sockguard's loader (Viper)
 * does.  portwing is stricter than sockguard about the rest: a key
 * outside sockguard's schema is an error; a key of the schema that
 * portwing does not implement is accepted and listed in the policy's
 * warnings.
 *
 * Ignored settings that would make sockguard STRICTER than portwing, so
 * that ignoring them weakens the policy the file describes.  Each gets a
 * warning that says so ("sockguard would enforce it"); the caller
 * decides whether such a policy may run:
 *	ownership (owner set): the parts of owner-label isolation not
 *	    built (policy/owner.c stamps creates)
 *	clients.container_labels.enabled (true): the label ACL
 *	clients.unix_peer_profiles[].pids with uids/gids: the PID condition
 *	response.redact_* (true): response redaction
 *	response.visible_resource_labels, name_patterns, image_patterns,
 *	    and the same under a profile (non-empty): visibility filters
 *	clients.profiles[].limits (present): rate and concurrency limits
 * sockguard's four redactions are on by default; a file that does not
 * mention them gets no warning, as that would flag every policy.
 */
#include "pwbuild.h"

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "certsel.h"
#include "util.h"
#include "polint.h"

struct lctx {
	yaml_document_t	*doc;
	const char	*file;		/* for messages */
	struct policy	*p;
	char		*err;
	size_t		 errlen;
	int		 has_rules;	/* the root rules key was present */
};

static int
ascii_casecmp(const char *a, const char *b)
{
	unsigned char	ca, cb;

	for (;; a++, b++) {
		ca = (unsigned char)*a;
		cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return ca - cb;
		if (ca == '\0')
			return 0;
	}
}

#define POL_KEY_MAX	256	/* a dotted key in a message */
#define POL_MAP_MAX	256	/* keys in one mapping */
#define POL_RULES_MAX	4096	/* rules in one list */
#define POL_LIST_MAX	1024	/* profiles, selectors, networks, ids */

/* A dotted key; a long one is cut, it only appears in messages. */
static void
keyf(char *dst, size_t sz, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(dst, sz, fmt, ap);
	va_end(ap);
}

static int
lerr(struct lctx *c, const yaml_node_t *n, const char *key, const char *fmt,
    ...)
	__attribute__((__format__(printf, 4, 5)));

static int
lerr(struct lctx *c, const yaml_node_t *n, const char *key, const char *fmt,
    ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL)
		snprintf(c->err, c->errlen, "%s:%lu: %s: %s", c->file,
		    (unsigned long)n->start_mark.line + 1, key, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s: %s", c->file, key, msg);
	return -1;
}

static yaml_node_t *
node(struct lctx *c, int i)
{
	return yaml_document_get_node(c->doc, i);
}

static const char *
scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* A plain "~", "null" or empty scalar. */
static int
is_null(const yaml_node_t *n)
{
	const char	*s = scalar(n);

	if (n == NULL)
		return 1;
	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static int
get_string(struct lctx *c, yaml_node_t *n, const char *key, const char **out)
{
	if ((*out = scalar(n)) == NULL)
		return lerr(c, n, key, "must be a string");
	return 0;
}

static int
get_bool(struct lctx *c, yaml_node_t *n, const char *key, int *out)
{
	const char	*s = scalar(n);

	if (s != NULL) {
		if (!ascii_casecmp(s, "true") || !ascii_casecmp(s, "yes") ||
		    !ascii_casecmp(s, "on")) {
			*out = 1;
			return 0;
		}
		if (!ascii_casecmp(s, "false") || !ascii_casecmp(s, "no") ||
		    !ascii_casecmp(s, "off")) {
			*out = 0;
			return 0;
		}
	}
	return lerr(c, n, key, "must be true or false");
}

/* A mapping whose keys are scalars, no two folding to the same name. */
static int
check_map(struct lctx *c, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t	*a, *b;
	const char		*ka, *kb;

	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return lerr(c, n, key, "must be a mapping");
	if (n->data.mapping.pairs.top - n->data.mapping.pairs.start >
	    POL_MAP_MAX)
		return lerr(c, n, key, "more than %d keys", POL_MAP_MAX);
	for (a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top;
	    a++) {
		if ((ka = scalar(node(c, a->key))) == NULL)
			return lerr(c, node(c, a->key), key,
			    "keys must be strings");
		for (b = n->data.mapping.pairs.start; b < a; b++) {
			kb = scalar(node(c, b->key));
			if (ascii_casecmp(ka, kb) == 0)
				return lerr(c, node(c, a->key), key,
				    "duplicate key %s", ka);
		}
	}
	return 0;
}

static int
seq_len(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return 0;
	return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static int
is_empty(const yaml_node_t *n)
{
	const char	*s;

	if (is_null(n))
		return 1;
	if (n->type == YAML_SEQUENCE_NODE)
		return seq_len(n) == 0;
	if (n->type == YAML_MAPPING_NODE)
		return n->data.mapping.pairs.top == n->data.mapping.pairs.start;
	s = scalar(n);
	return s == NULL || *s == '\0';
}

static int
is_true(const yaml_node_t *n)
{
	const char	*s = scalar(n);

	return s != NULL && (!ascii_casecmp(s, "true") ||
	    !ascii_casecmp(s, "yes") || !ascii_casecmp(s, "on"));
}

/* The value under a key of a mapping, or NULL. */
static yaml_node_t *
map_get(struct lctx *c, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t	*pr;
	const char		*ks;

	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++)
		if ((ks = scalar(node(c, pr->key))) != NULL &&
		    !ascii_casecmp(ks, key))
			return node(c, pr->value);
	return NULL;
}

static void
ignored(struct lctx *c, const char *key, int stricter)
{
	if (stricter)
		pol_warn(c->p, "%s: not implemented by portwing, ignored "
		    "(sockguard would enforce it: this policy is weaker under "
		    "portwing)", key);
	else
		pol_warn(c->p, "%s: not implemented by portwing, ignored", key);
}

/* ---- rules ---- */

static int
load_rule(struct lctx *c, yaml_node_t *n, const char *key,
    struct pol_ruleset *rs)
{
	yaml_node_pair_t	*pr;
	yaml_node_t		*k, *v, *match = NULL;
	const char		*ks, *method = NULL, *path = NULL;
	const char		*action = NULL, *reason = NULL;
	char			 sub[POL_KEY_MAX], msg[256];
	struct pol_rule		*r;
	int			 allow;

	if (check_map(c, n, key) == -1)
		return -1;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = node(c, pr->key);
		v = node(c, pr->value);
		ks = scalar(k);
		keyf(sub, sizeof(sub), "%s: %s", key, ks);
		if (!ascii_casecmp(ks, "match")) {
			if (check_map(c, v, sub) == -1)
				return -1;
			match = v;
		} else if (!ascii_casecmp(ks, "action")) {
			if (get_string(c, v, sub, &action) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "reason")) {
			if (!is_null(v) && get_string(c, v, sub, &reason) == -1)
				return -1;
		} else
			return lerr(c, k, sub, "unknown key");
	}
	if (match == NULL)
		return lerr(c, n, key, "match is required");
	for (pr = match->data.mapping.pairs.start;
	    pr < match->data.mapping.pairs.top; pr++) {
		k = node(c, pr->key);
		v = node(c, pr->value);
		ks = scalar(k);
		keyf(sub, sizeof(sub), "%s: match.%s", key, ks);
		if (!ascii_casecmp(ks, "method")) {
			if (get_string(c, v, sub, &method) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "path")) {
			if (get_string(c, v, sub, &path) == -1)
				return -1;
		} else
			return lerr(c, k, sub, "unknown key");
	}
	if (method == NULL)
		return lerr(c, n, key, "match.method is required");
	if (path == NULL)
		return lerr(c, n, key, "match.path is required");
	if (action == NULL)
		return lerr(c, n, key, "action is required");
	if (strcmp(action, "allow") == 0)
		allow = 1;
	else if (strcmp(action, "deny") == 0)
		allow = 0;
	else
		return lerr(c, n, key, "action must be allow or deny, not "
		    "\"%s\"", action);
	r = pol_ruleset_add(rs);
	if (pol_rule_init(r, method, path, allow, reason, msg,
	    sizeof(msg)) == -1) {
		rs->n--;
		return lerr(c, n, key, "%s", msg);
	}
	if (path[0] != '/')
		pol_warn(c->p, "%s:%lu: %s: match.path: %s does not start with "
		    "'/' and never matches", c->file,
		    (unsigned long)n->start_mark.line + 1, key, path);
	else if (pol_version_prefix_len(path) > 0)
		pol_warn(c->p, "%s:%lu: %s: match.path: %s starts with an API "
		    "version prefix and never matches (rules see paths "
		    "without it)", c->file,
		    (unsigned long)n->start_mark.line + 1, key, path);
	return 0;
}

/* A rules list; messages number rules from 1, as sockguard's do. */
static int
load_rules(struct lctx *c, yaml_node_t *n, const char *key,
    struct pol_ruleset *rs)
{
	yaml_node_item_t	*it;
	char			 sub[POL_KEY_MAX];
	int			 i = 0;

	if (is_null(n) || (n->type == YAML_SEQUENCE_NODE && seq_len(n) == 0))
		return lerr(c, n, key, "the rule list is empty (leave the key "
		    "out for the default rules)");
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list of rules");
	if (seq_len(n) > POL_RULES_MAX)
		return lerr(c, n, key, "more than %d rules", POL_RULES_MAX);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		keyf(sub, sizeof(sub), "%s: rule %d", key, ++i);
		if (load_rule(c, node(c, *it), sub, rs) == -1)
			return -1;
	}
	return 0;
}

/* ---- request_body ---- */

static int
load_body(struct lctx *c, yaml_node_t *n, const char *key,
    struct pol_body *b)
{
	char	**ign = NULL, msg[512];
	size_t	  i;

	if (is_null(n))
		return 0;
	if (check_map(c, n, key) == -1)
		return -1;
	if (pol_body_load(b, c->doc, n, key, &ign, msg, sizeof(msg)) == -1) {
		snprintf(c->err, c->errlen, "%s: %s", c->file, msg);
		pol_strv_free(ign);
		return -1;
	}
	for (i = 0; ign != NULL && ign[i] != NULL; i++)
		ignored(c, ign[i], 0);
	pol_strv_free(ign);
	return 0;
}

/* ---- response ---- */

/*
 * response.visible_resource_labels: "key" or "key=value", blanks trimmed;
 * empty entries, commas, a missing key or value are errors (sockguard's
 * selector rules).  name_patterns / image_patterns: globs.
 */
static int
load_vis_list(struct lctx *c, yaml_node_t *n, const char *key,
    struct pol_vis *vis, int which)
{
	yaml_node_item_t	*it;
	const char		*s, *e, *eq;
	char			 sub[POL_KEY_MAX], msg[256], *t, *kv;
	struct pol_glob		*g;
	size_t			 i = 0, len;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list of strings");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++, i++) {
		keyf(sub, sizeof(sub), "%s[%zu]", key, i);
		if (get_string(c, node(c, *it), sub, &s) == -1)
			return -1;
		if (which != 0) {
			if (*s == '\0')
				return lerr(c, node(c, *it), sub,
				    "a pattern must not be empty");
			if ((g = pol_glob_compile(s, msg, sizeof(msg))) == NULL)
				return lerr(c, node(c, *it), sub, "%s", msg);
			if (which == 1) {
				vis->names = xreallocarray(vis->names,
				    vis->nnames + 1, sizeof(*vis->names));
				vis->names[vis->nnames++] = g;
			} else {
				vis->images = xreallocarray(vis->images,
				    vis->nimages + 1, sizeof(*vis->images));
				vis->images[vis->nimages++] = g;
			}
			continue;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		len = strlen(s);
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0)
			return lerr(c, node(c, *it), sub, "a label selector "
			    "must not be empty");
		if (memchr(s, ',', len) != NULL)
			return lerr(c, node(c, *it), sub, "a label selector "
			    "must not contain commas");
		t = xstrndup(s, len);
		if ((eq = strchr(t, '=')) != NULL) {
			/* Trim around '=' too: "key = value" is key=value. */
			char	*k = xstrndup(t, (size_t)(eq - t));
			size_t	 kl = strlen(k);

			while (kl > 0 && (k[kl - 1] == ' ' || k[kl - 1] ==
			    '\t'))
				k[--kl] = '\0';
			e = eq + 1;
			while (*e == ' ' || *e == '\t')
				e++;
			if (kl == 0 || *e == '\0') {
				free(k);
				free(t);
				return lerr(c, node(c, *it), sub, "label "
				    "selector is missing a %s",
				    kl == 0 ? "key" : "value");
			}
			if (asprintf(&kv, "%s=%s", k, e) == -1)
				abort();
			free(k);
			free(t);
			t = kv;
		}
		vis->labels.v = xreallocarray(vis->labels.v, vis->labels.n + 1,
		    sizeof(char *));
		vis->labels.v[vis->labels.n++] = t;
	}
	return 0;
}

static int
load_response(struct lctx *c, yaml_node_t *n, const char *key,
    struct pol_vis *vis)
{
	static const char *const vnames[] = {
		"visible_resource_labels", "name_patterns", "image_patterns",
	};
	struct {
		const char	*name;
		int		*flag;
	} sw[] = {
		{ "redact_container_env", &c->p->resp.redact_env },
		{ "redact_mount_paths", &c->p->resp.redact_mounts },
		{ "redact_network_topology", &c->p->resp.redact_net },
		{ "redact_sensitive_data", &c->p->resp.redact_sensitive },
		{ "redact_host_topology", &c->p->resp.redact_host },
		{ "allow_attestation_statements", &c->p->resp.allow_attest },
	};
	yaml_node_pair_t	*pr;
	yaml_node_t		*k, *v;
	const char		*ks, *s;
	char			 sub[POL_KEY_MAX];
	size_t			 i;
	int			 done, root = vis == &c->p->vis;

	if (is_null(n))
		return 0;
	if (check_map(c, n, key) == -1)
		return -1;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = node(c, pr->key);
		v = node(c, pr->value);
		ks = scalar(k);
		keyf(sub, sizeof(sub), "%s.%s", key, ks);
		done = 0;
		if (root && !ascii_casecmp(ks, "deny_verbosity")) {
			if (get_string(c, v, sub, &s) == -1)
				return -1;
			if (strcmp(s, "minimal") == 0)
				c->p->deny_verbose = 0;
			else if (strcmp(s, "verbose") == 0)
				c->p->deny_verbose = 1;
			else
				return lerr(c, v, sub, "must be minimal or "
				    "verbose, not \"%s\"", s);
			continue;
		}
		/* Redaction is global in sockguard: a profile has none. */
		for (i = 0; root && !done && i < nitems(sw); i++)
			if (!ascii_casecmp(ks, sw[i].name)) {
				if (!is_null(v) && get_bool(c, v, sub,
				    sw[i].flag) == -1)
					return -1;
				done = 1;
			}
		for (i = 0; !done && i < nitems(vnames); i++)
			if (!ascii_casecmp(ks, vnames[i])) {
				if (load_vis_list(c, v, sub, vis, (int)i) == -1)
					return -1;
				done = 1;
			}
		if (!done)
			return lerr(c, k, sub, "unknown key");
	}
	if (vis->labels.n + vis->nnames + vis->nimages > 0)
		pol_warn(c->p, "%s: visibility hides resources from lists and "
		    "inspect answers only; logs, stats, archive and other "
		    "per-resource reads and /events are not narrowed by "
		    "portwing (sockguard would narrow them: this policy is "
		    "weaker under portwing)", key);
	return 0;
}

/* ---- clients ---- */

static int
copy_name(struct lctx *c, yaml_node_t *v, const char *key, char *dst)
{
	const char	*s;

	if (get_string(c, v, key, &s) == -1)
		return -1;
	if (*s == '\0')
		return lerr(c, v, key, "must not be empty");
	if (strlen(s) >= POL_NAME_MAX)
		return lerr(c, v, key, "longer than %d bytes", POL_NAME_MAX - 1);
	pw_strlcpy(dst, s, POL_NAME_MAX);
	return 0;
}

/* A positive number (YAML int or float), at most max. */
static int
get_number(struct lctx *c, yaml_node_t *n, const char *key, double max,
    double *out)
{
	const char	*s = scalar(n);
	char		*end;
	double		 d;

	if (s == NULL || *s == '\0')
		return lerr(c, n, key, "must be a number");
	errno = 0;
	d = strtod(s, &end);
	if (*end != '\0' || errno != 0 || !(d > 0) || d > max)
		return lerr(c, n, key, "must be a number above 0 and at most "
		    "%g", max);
	*out = d;
	return 0;
}

/* limits.rate.endpoint_costs[]: {path, methods, cost}. */
static int
load_costs(struct lctx *c, yaml_node_t *n, const char *key,
    struct pol_profile *pf)
{
	yaml_node_item_t	*it, *mi;
	yaml_node_pair_t	*pr;
	yaml_node_t		*e, *k, *v;
	const char		*ks, *path, *m;
	char			 sub[POL_KEY_MAX], sub2[POL_KEY_MAX], msg[256];
	char			 methods[256];
	struct pol_cost		*pc;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	pf->costs = xcalloc((size_t)seq_len(n) + 1, sizeof(*pf->costs));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		e = node(c, *it);
		keyf(sub, sizeof(sub), "%s[%zu]", key, pf->ncosts);
		if (check_map(c, e, sub) == -1)
			return -1;
		pc = &pf->costs[pf->ncosts];
		path = NULL;
		methods[0] = '\0';
		pc->cost = 0;
		for (pr = e->data.mapping.pairs.start;
		    pr < e->data.mapping.pairs.top; pr++) {
			k = node(c, pr->key);
			v = node(c, pr->value);
			ks = scalar(k);
			keyf(sub2, sizeof(sub2), "%s.%s", sub, ks);
			if (!ascii_casecmp(ks, "path")) {
				if (get_string(c, v, sub2, &path) == -1)
					return -1;
			} else if (!ascii_casecmp(ks, "cost")) {
				if (get_number(c, v, sub2, 65535, &pc->cost) ==
				    -1)
					return -1;
				if (pc->cost < 1)
					return lerr(c, v, sub2, "must be at "
					    "least 1");
			} else if (!ascii_casecmp(ks, "methods")) {
				if (is_null(v))
					continue;
				if (v->type != YAML_SEQUENCE_NODE)
					return lerr(c, v, sub2, "must be a list");
				for (mi = v->data.sequence.items.start;
				    mi < v->data.sequence.items.top; mi++) {
					if (get_string(c, node(c, *mi), sub2,
					    &m) == -1)
						return -1;
					if (methods[0] != '\0')
						pw_strlcat(methods, ",",
						    sizeof(methods));
					pw_strlcat(methods, m, sizeof(methods));
				}
			} else
				return lerr(c, k, sub2, "unknown key");
		}
		if (path == NULL)
			return lerr(c, e, sub, "path is required");
		if (pc->cost == 0)
			return lerr(c, e, sub, "cost is required");
		if (pol_rule_init(&pc->match, methods[0] ? methods : "*", path,
		    1, NULL, msg, sizeof(msg)) == -1)
			return lerr(c, e, sub, "%s", msg);
		pf->ncosts++;
	}
	return 0;
}

/*
 * limits: rate {tokens_per_second, burst, endpoint_costs}, concurrency
 * {max_inflight} (per client of the profile).  priority belongs to
 * clients.global_concurrency, which portwing does not have: a warning.
 */
static int
load_limits(struct lctx *c, yaml_node_t *n, const char *key,
    struct pol_profile *pf)
{
	yaml_node_pair_t	*pr, *pr2;
	yaml_node_t		*k, *v, *k2, *v2;
	const char		*ks, *ks2;
	char			 sub[POL_KEY_MAX], sub2[POL_KEY_MAX];
	double			 d;
	size_t			 i;

	if (is_null(n))
		return 0;
	if (check_map(c, n, key) == -1)
		return -1;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = node(c, pr->key);
		v = node(c, pr->value);
		ks = scalar(k);
		keyf(sub, sizeof(sub), "%s.%s", key, ks);
		if (!ascii_casecmp(ks, "priority")) {
			/* Only clients.global_concurrency reads it. */
			ignored(c, sub, 0);
			continue;
		}
		if (ascii_casecmp(ks, "rate") && ascii_casecmp(ks,
		    "concurrency"))
			return lerr(c, k, sub, "unknown key");
		if (is_null(v))
			continue;
		if (check_map(c, v, sub) == -1)
			return -1;
		for (pr2 = v->data.mapping.pairs.start;
		    pr2 < v->data.mapping.pairs.top; pr2++) {
			k2 = node(c, pr2->key);
			v2 = node(c, pr2->value);
			ks2 = scalar(k2);
			keyf(sub2, sizeof(sub2), "%s.%s", sub, ks2);
			if (!ascii_casecmp(ks, "concurrency") &&
			    !ascii_casecmp(ks2, "max_inflight")) {
				if (get_number(c, v2, sub2, 1000000, &d) == -1)
					return -1;
				if (d != (double)(long)d)
					return lerr(c, v2, sub2, "must be a "
					    "whole number");
				pf->max_inflight = (long)d;
			} else if (!ascii_casecmp(ks, "rate") &&
			    !ascii_casecmp(ks2, "tokens_per_second")) {
				if (get_number(c, v2, sub2, 1e6,
				    &pf->rate) == -1)
					return -1;
			} else if (!ascii_casecmp(ks, "rate") &&
			    !ascii_casecmp(ks2, "burst")) {
				if (get_number(c, v2, sub2, 65535,
				    &pf->burst) == -1)
					return -1;
			} else if (!ascii_casecmp(ks, "rate") &&
			    !ascii_casecmp(ks2, "endpoint_costs")) {
				if (load_costs(c, v2, sub2, pf) == -1)
					return -1;
			} else
				return lerr(c, k2, sub2, "unknown key");
		}
	}
	if (pf->rate == 0 && (pf->burst > 0 || pf->ncosts > 0))
		return lerr(c, n, key, "rate.tokens_per_second is required with "
		    "burst or endpoint_costs");
	if (pf->rate > 0 && pf->burst == 0)
		pf->burst = pf->rate > 65535 ? 65535 : pf->rate;
	if (pf->rate > 0 && pf->burst < pf->rate)
		return lerr(c, n, key, "rate.burst (%g) is below "
		    "rate.tokens_per_second (%g)", pf->burst, pf->rate);
	for (i = 0; i < pf->ncosts; i++)
		if (pf->costs[i].cost > pf->burst)
			return lerr(c, n, key, "rate.endpoint_costs[%zu].cost "
			    "(%g) is above the burst (%g): such a request could "
			    "never pass", i, pf->costs[i].cost, pf->burst);
	return 0;
}

static int
load_profile(struct lctx *c, yaml_node_t *n, const char *key,
    struct pol_profile *pf)
{
	yaml_node_pair_t	*pr;
	yaml_node_t		*k, *v;
	const char		*ks, *s;
	char			 sub[POL_KEY_MAX];
	int			 have_rules = 0;

	if (check_map(c, n, key) == -1)
		return -1;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = node(c, pr->key);
		v = node(c, pr->value);
		ks = scalar(k);
		keyf(sub, sizeof(sub), "%s.%s", key, ks);
		if (!ascii_casecmp(ks, "name")) {
			if (copy_name(c, v, sub, pf->name) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "mode")) {
			if (get_string(c, v, sub, &s) == -1)
				return -1;
			if (strcmp(s, "enforce") == 0 || *s == '\0')
				pf->mode = POL_ENFORCE;
			else if (strcmp(s, "warn") == 0)
				pf->mode = POL_WARN;
			else if (strcmp(s, "audit") == 0)
				pf->mode = POL_AUDIT;
			else
				return lerr(c, v, sub, "must be enforce, warn "
				    "or audit, not \"%s\"", s);
		} else if (!ascii_casecmp(ks, "rules")) {
			if (load_rules(c, v, sub, &pf->rules) == -1)
				return -1;
			have_rules = 1;
		} else if (!ascii_casecmp(ks, "request_body")) {
			if (load_body(c, v, sub, &pf->body) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "response")) {
			if (load_response(c, v, sub, &pf->vis) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "limits")) {
			if (load_limits(c, v, sub, pf) == -1)
				return -1;
		} else
			return lerr(c, k, sub, "unknown key");
	}
	if (pf->name[0] == '\0')
		return lerr(c, n, key, "name is required");
	if (!have_rules)
		return lerr(c, n, key, "rules is required");
	return 0;
}

static int
load_profiles(struct lctx *c, yaml_node_t *n, const char *key)
{
	struct policy		*p = c->p;
	yaml_node_item_t	*it;
	char			 sub[POL_KEY_MAX];
	size_t			 i;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	p->profiles = xcalloc((size_t)seq_len(n) + 1, sizeof(*p->profiles));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		keyf(sub, sizeof(sub), "%s[%zu]", key, p->nprofiles);
		pol_body_init(&p->profiles[p->nprofiles].body);
		p->nprofiles++;
		if (load_profile(c, node(c, *it), sub,
		    &p->profiles[p->nprofiles - 1]) == -1)
			return -1;
		for (i = 0; i + 1 < p->nprofiles; i++)
			if (strcmp(p->profiles[i].name,
			    p->profiles[p->nprofiles - 1].name) == 0)
				return lerr(c, node(c, *it), sub,
				    "duplicate profile name \"%s\"",
				    p->profiles[i].name);
	}
	return 0;
}

static int
load_cidrs(struct lctx *c, yaml_node_t *n, const char *key,
    struct pol_src_profile *sp)
{
	yaml_node_item_t	*it;
	const char		*s;
	char			 sub[POL_KEY_MAX];

	if (n->type != YAML_SEQUENCE_NODE || seq_len(n) == 0)
		return lerr(c, n, key, "must be a non-empty list of networks");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	sp->nets = xcalloc((size_t)seq_len(n), sizeof(*sp->nets));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		keyf(sub, sizeof(sub), "%s[%d]", key, sp->nnets);
		if (get_string(c, node(c, *it), sub, &s) == -1)
			return -1;
		if (cidr_parse(s, &sp->nets[sp->nnets]) == -1)
			return lerr(c, node(c, *it), sub, "not a network: %s",
			    s);
		sp->nnets++;
	}
	return 0;
}

static int
load_src_profiles(struct lctx *c, yaml_node_t *n, const char *key)
{
	struct policy		*p = c->p;
	struct pol_src_profile	*sp;
	yaml_node_item_t	*it;
	yaml_node_pair_t	*pr;
	yaml_node_t		*e, *k, *v;
	const char		*ks;
	char			 sub[POL_KEY_MAX], sub2[POL_KEY_MAX];

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	p->src = xcalloc((size_t)seq_len(n) + 1, sizeof(*p->src));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		e = node(c, *it);
		keyf(sub, sizeof(sub), "%s[%zu]", key, p->nsrc);
		sp = &p->src[p->nsrc++];
		if (check_map(c, e, sub) == -1)
			return -1;
		for (pr = e->data.mapping.pairs.start;
		    pr < e->data.mapping.pairs.top; pr++) {
			k = node(c, pr->key);
			v = node(c, pr->value);
			ks = scalar(k);
			keyf(sub2, sizeof(sub2), "%s.%s", sub, ks);
			if (!ascii_casecmp(ks, "profile")) {
				if (copy_name(c, v, sub2, sp->profile) == -1)
					return -1;
			} else if (!ascii_casecmp(ks, "cidrs")) {
				if (load_cidrs(c, v, sub2, sp) == -1)
					return -1;
			} else
				return lerr(c, k, sub2, "unknown key");
		}
		if (sp->profile[0] == '\0' || sp->nnets == 0)
			return lerr(c, e, sub, "profile and cidrs are required");
	}
	return 0;
}

static int
load_ids(struct lctx *c, yaml_node_t *n, const char *key, uint32_t **out,
    size_t *nout)
{
	yaml_node_item_t	*it;
	const char		*s;
	char			 sub[POL_KEY_MAX];
	long long		 v;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list of numbers");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	*out = xcalloc((size_t)seq_len(n) + 1, sizeof(**out));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		keyf(sub, sizeof(sub), "%s[%zu]", key, *nout);
		s = scalar(node(c, *it));
		if (s == NULL || pw_strtonum(s, 0, UINT32_MAX - 1, &v) == -1)
			return lerr(c, node(c, *it), sub, "must be a number "
			    "from 0 to %u", UINT32_MAX - 1);
		(*out)[(*nout)++] = (uint32_t)v;
	}
	return 0;
}

static int
load_peer_profiles(struct lctx *c, yaml_node_t *n, const char *key)
{
	struct policy		*p = c->p;
	struct pol_peer_profile	*pp;
	yaml_node_item_t	*it;
	yaml_node_pair_t	*pr;
	yaml_node_t		*e, *k, *v;
	const char		*ks;
	char			 sub[POL_KEY_MAX], sub2[POL_KEY_MAX];
	uint32_t		*pids;
	size_t			 npids;
	int			 rc;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	p->peer = xcalloc((size_t)seq_len(n) + 1, sizeof(*p->peer));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		e = node(c, *it);
		keyf(sub, sizeof(sub), "%s[%zu]", key, p->npeer);
		pp = &p->peer[p->npeer++];
		npids = 0;
		if (check_map(c, e, sub) == -1)
			return -1;
		for (pr = e->data.mapping.pairs.start;
		    pr < e->data.mapping.pairs.top; pr++) {
			k = node(c, pr->key);
			v = node(c, pr->value);
			ks = scalar(k);
			keyf(sub2, sizeof(sub2), "%s.%s", sub, ks);
			rc = 0;
			pids = NULL;
			if (!ascii_casecmp(ks, "profile"))
				rc = copy_name(c, v, sub2, pp->profile);
			else if (!ascii_casecmp(ks, "uids"))
				rc = load_ids(c, v, sub2,
				    (uint32_t **)&pp->uids, &pp->nuids);
			else if (!ascii_casecmp(ks, "gids"))
				rc = load_ids(c, v, sub2,
				    (uint32_t **)&pp->gids, &pp->ngids);
			else if (!ascii_casecmp(ks, "pids")) {
				rc = load_ids(c, v, sub2, &pids, &npids);
				free(pids);
			} else
				return lerr(c, k, sub2, "unknown key");
			if (rc == -1)
				return -1;
		}
		if (pp->profile[0] == '\0')
			return lerr(c, e, sub, "profile is required");
		if (pp->nuids == 0 && pp->ngids == 0)
			return lerr(c, e, sub, npids ? "selecting a profile by "
			    "PID alone is refused (PIDs are recycled)" :
			    "uids or gids is required");
		if (npids)
			ignored(c, sub, 1);
	}
	return 0;
}

/*
 * clients.allowed_cidrs: the source-address gate (§7.1).  An empty list
 * (or none) admits every client.
 */
static int
load_allowed(struct lctx *c, yaml_node_t *n, const char *key)
{
	struct pol_src_profile	sp;

	if (is_null(n) || is_empty(n))
		return 0;
	memset(&sp, 0, sizeof(sp));
	if (load_cidrs(c, n, key, &sp) == -1) {
		free(sp.nets);
		return -1;
	}
	c->p->allowed = sp.nets;
	c->p->nallowed = sp.nnets;
	return 0;
}

/* A list of strings for one certificate selector, checked by kind. */
#define CSEL_STR	0
#define CSEL_DNS	1
#define CSEL_URI	2
#define CSEL_SPIFFE	3
static int
load_cert_strs(struct lctx *c, yaml_node_t *n, const char *key, int kind,
    char ***out, size_t *nout)
{
	yaml_node_item_t	*it;
	const char		*s, *why;
	char			 sub[POL_KEY_MAX];

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list of strings");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	*out = xcalloc((size_t)seq_len(n) + 1, sizeof(**out));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		keyf(sub, sizeof(sub), "%s[%zu]", key, *nout);
		if (get_string(c, node(c, *it), sub, &s) == -1)
			return -1;
		if (*s == '\0' || strlen(s) > 1024)
			return lerr(c, node(c, *it), sub, "must be a "
			    "non-empty string of at most 1024 bytes");
		if (kind == CSEL_SPIFFE && pol_cert_check_spiffe(s, &why) == -1)
			return lerr(c, node(c, *it), sub, "%s", why);
		if (kind == CSEL_URI && strchr(s, ':') == NULL)
			return lerr(c, node(c, *it), sub, "not a URI");
		if (kind == CSEL_DNS && (strpbrk(s, " /:@") != NULL))
			return lerr(c, node(c, *it), sub, "not a DNS name");
		(*out)[(*nout)++] = xstrdup(s);
	}
	return 0;
}

static int
load_cert_bytes(struct lctx *c, yaml_node_t *n, const char *key, int pins,
    struct pol_cert_profile *cp)
{
	yaml_node_item_t	*it;
	const char		*s, *why;
	char			 sub[POL_KEY_MAX];
	size_t			*np = pins ? &cp->npin : &cp->nip;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list of strings");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	if (pins)
		cp->pin = xcalloc((size_t)seq_len(n) + 1, sizeof(*cp->pin));
	else
		cp->ip = xcalloc((size_t)seq_len(n) + 1, sizeof(*cp->ip));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		keyf(sub, sizeof(sub), "%s[%zu]", key, *np);
		if (get_string(c, node(c, *it), sub, &s) == -1)
			return -1;
		if ((pins ? pol_cert_parse_pin(s, cp->pin[*np], &why) :
		    pol_cert_parse_ip(s, cp->ip[*np], &why)) == -1)
			return lerr(c, node(c, *it), sub, "%s", why);
		(*np)++;
	}
	return 0;
}

/*
 * clients.client_certificate_profiles[]: selectors on the verified
 * client certificate of the mTLS listener (LISTEN_MTLS).
 */
static int
load_cert_profiles(struct lctx *c, yaml_node_t *n, const char *key)
{
	struct policy		*p = c->p;
	struct pol_cert_profile	*cp;
	yaml_node_item_t	*it;
	yaml_node_pair_t	*pr;
	yaml_node_t		*e, *k, *v;
	const char		*ks;
	char			 sub[POL_KEY_MAX], sub2[POL_KEY_MAX];
	int			 rc;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, n, key, "must be a list");
	if (seq_len(n) > POL_LIST_MAX)
		return lerr(c, n, key, "more than %d entries", POL_LIST_MAX);
	p->cert = xcalloc((size_t)seq_len(n) + 1, sizeof(*p->cert));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		e = node(c, *it);
		keyf(sub, sizeof(sub), "%s[%zu]", key, p->ncert);
		cp = &p->cert[p->ncert++];
		if (check_map(c, e, sub) == -1)
			return -1;
		for (pr = e->data.mapping.pairs.start;
		    pr < e->data.mapping.pairs.top; pr++) {
			k = node(c, pr->key);
			v = node(c, pr->value);
			ks = scalar(k);
			keyf(sub2, sizeof(sub2), "%s.%s", sub, ks);
			if (!ascii_casecmp(ks, "profile"))
				rc = copy_name(c, v, sub2, cp->profile);
			else if (!ascii_casecmp(ks, "common_names"))
				rc = load_cert_strs(c, v, sub2, CSEL_STR,
				    &cp->cn, &cp->ncn);
			else if (!ascii_casecmp(ks, "dns_names"))
				rc = load_cert_strs(c, v, sub2, CSEL_DNS,
				    &cp->dns, &cp->ndns);
			else if (!ascii_casecmp(ks, "uri_sans"))
				rc = load_cert_strs(c, v, sub2, CSEL_URI,
				    &cp->uri, &cp->nuri);
			else if (!ascii_casecmp(ks, "spiffe_ids"))
				rc = load_cert_strs(c, v, sub2, CSEL_SPIFFE,
				    &cp->spiffe, &cp->nspiffe);
			else if (!ascii_casecmp(ks, "ip_addresses"))
				rc = load_cert_bytes(c, v, sub2, 0, cp);
			else if (!ascii_casecmp(ks, "public_key_sha256_pins"))
				rc = load_cert_bytes(c, v, sub2, 1, cp);
			else
				return lerr(c, k, sub2, "unknown key");
			if (rc == -1)
				return -1;
		}
		if (cp->profile[0] == '\0')
			return lerr(c, e, sub, "profile is required");
		if (cp->ncn == 0 && cp->ndns == 0 && cp->nip == 0 &&
		    cp->nuri == 0 && cp->nspiffe == 0 && cp->npin == 0)
			return lerr(c, e, sub, "at least one selector is "
			    "required (common_names, dns_names, ip_addresses, "
			    "uri_sans, spiffe_ids, public_key_sha256_pins)");
	}
	return 0;
}

static int
load_clients(struct lctx *c, yaml_node_t *n)
{
	yaml_node_pair_t	*pr;
	yaml_node_t		*k, *v;
	const char		*ks;
	char			 sub[POL_KEY_MAX];

	if (is_null(n))
		return 0;
	if (check_map(c, n, "clients") == -1)
		return -1;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = node(c, pr->key);
		v = node(c, pr->value);
		ks = scalar(k);
		keyf(sub, sizeof(sub), "clients.%s", ks);
		if (!ascii_casecmp(ks, "profiles")) {
			if (load_profiles(c, v, sub) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "default_profile")) {
			if (!is_null(v) && !is_empty(v) && copy_name(c, v, sub,
			    c->p->default_profile) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "source_ip_profiles")) {
			if (load_src_profiles(c, v, sub) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "unix_peer_profiles")) {
			if (load_peer_profiles(c, v, sub) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "allowed_cidrs")) {
			if (load_allowed(c, v, sub) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "client_certificate_profiles")) {
			if (load_cert_profiles(c, v, sub) == -1)
				return -1;
		} else if (!ascii_casecmp(ks, "container_labels")) {
			ignored(c, sub, is_true(map_get(c, v, "enabled")));
		} else if (!ascii_casecmp(ks, "label_prefix")) {
			ignored(c, sub, 0);
		} else
			return lerr(c, k, sub, "unknown key");
	}
	return 0;
}

/* ---- the top level ---- */

/*
 * ownership: a label value or key may not hold controls (they would
 * reach Docker and the logs); a key may not hold '=' (the label filter
 * "key=value" splits at the first one) nor be empty.
 */
static int
owner_text(struct lctx *c, yaml_node_t *v, const char *key, char *dst,
    int is_key)
{
	const char	*s;
	size_t		 i;

	if (get_string(c, v, key, &s) == -1)
		return -1;
	if (strlen(s) >= POL_OWNER_MAX)
		return lerr(c, v, key, "longer than %d bytes",
		    POL_OWNER_MAX - 1);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    (is_key && (s[i] == '=' || s[i] == ' ')))
			return lerr(c, v, key, is_key ? "must not contain "
			    "'=', spaces or control characters" : "must not "
			    "contain control characters");
	if (is_key && *s == '\0')
		return lerr(c, v, key, "must not be empty");
	pw_strlcpy(dst, s, POL_OWNER_MAX);
	return 0;
}

static int
load_ownership(struct lctx *c, yaml_node_t *n)
{
	yaml_node_pair_t	*pr;
	yaml_node_t		*k, *v;
	const char		*ks;
	char			 sub[POL_KEY_MAX];
	int			 rc;

	if (is_null(n))
		return 0;
	if (check_map(c, n, "ownership") == -1)
		return -1;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = node(c, pr->key);
		v = node(c, pr->value);
		ks = scalar(k);
		keyf(sub, sizeof(sub), "ownership.%s", ks);
		if (!ascii_casecmp(ks, "owner"))
			rc = is_null(v) ? 0 : owner_text(c, v, sub,
			    c->p->owner, 0);
		else if (!ascii_casecmp(ks, "label_key"))
			rc = is_null(v) ? 0 : owner_text(c, v, sub,
			    c->p->owner_key, 1);
		else if (!ascii_casecmp(ks, "allow_unowned_images"))
			rc = get_bool(c, v, sub, &c->p->owner_unowned_images);
		else if (!ascii_casecmp(ks,
		    "allow_cross_owner_namespace_sharing"))
			rc = get_bool(c, v, sub, &c->p->owner_ns_sharing);
		else
			return lerr(c, k, sub, "unknown key");
		if (rc == -1)
			return -1;
	}
	if (c->p->owner[0] != '\0')
		pol_warn(c->p, "ownership: portwing stamps the owner label on "
		    "container, network, volume, secret and config creates only "
		    "(not services, nodes, swarm, build) and does not check "
		    "libpod paths or service references (sockguard would: this "
		    "policy is weaker under portwing)");
	return 0;
}

static int
load_top(struct lctx *c, yaml_node_t *root)
{
	static const char *const skip[] = {
		"listen", "listeners", "upstream", "log", "health", "metrics",
		"admin", "reload", "policy_bundle", "mutations",
		"insecure_accept_opaque_buildkit_tunnels",
	};
	yaml_node_pair_t	*pr;
	yaml_node_t		*k, *v;
	const char		*ks;
	size_t			 i;
	int			 rc, done;

	if (check_map(c, root, "(top level)") == -1)
		return -1;
	for (pr = root->data.mapping.pairs.start;
	    pr < root->data.mapping.pairs.top; pr++) {
		k = node(c, pr->key);
		v = node(c, pr->value);
		ks = scalar(k);
		rc = 0;
		done = 1;
		if (!ascii_casecmp(ks, "rules")) {
			c->has_rules = 1;
			rc = load_rules(c, v, "rules", &c->p->rules);
		} else if (!ascii_casecmp(ks, "response"))
			rc = load_response(c, v, "response", &c->p->vis);
		else if (!ascii_casecmp(ks, "request_body"))
			rc = load_body(c, v, "request_body", &c->p->body);
		else if (!ascii_casecmp(ks, "clients"))
			rc = load_clients(c, v);
		else if (!ascii_casecmp(ks, "ownership"))
			rc = load_ownership(c, v);
		else if (!ascii_casecmp(ks, "insecure_allow_body_blind_writes"))
			rc = get_bool(c, v, "insecure_allow_body_blind_writes",
			    &c->p->ack_body_blind);
		else if (!ascii_casecmp(ks, "insecure_allow_read_exfiltration"))
			rc = get_bool(c, v, "insecure_allow_read_exfiltration",
			    &c->p->ack_read_exfil);
		else
			done = 0;
		for (i = 0; !done && i < nitems(skip); i++)
			if (!ascii_casecmp(ks, skip[i])) {
				ignored(c, skip[i], 0);
				done = 1;
			}
		if (!done)
			return lerr(c, k, ks, "unknown key");
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* Every profile a selector or default_profile names must exist. */
static int
check_refs(struct lctx *c)
{
	struct policy	*p = c->p;
	size_t		 i;

	if (p->default_profile[0] != '\0' &&
	    pol_profile_find(p, p->default_profile) == NULL)
		return lerr(c, NULL, "clients.default_profile",
		    "no profile named \"%s\"", p->default_profile);
	for (i = 0; i < p->nsrc; i++)
		if (pol_profile_find(p, p->src[i].profile) == NULL) {
			char	k[POL_KEY_MAX];

			keyf(k, sizeof(k), "clients.source_ip_profiles[%zu]",
			    i);
			return lerr(c, NULL, k, "no profile named \"%s\"",
			    p->src[i].profile);
		}
	for (i = 0; i < p->npeer; i++)
		if (pol_profile_find(p, p->peer[i].profile) == NULL) {
			char	k[POL_KEY_MAX];

			keyf(k, sizeof(k), "clients.unix_peer_profiles[%zu]",
			    i);
			return lerr(c, NULL, k, "no profile named \"%s\"",
			    p->peer[i].profile);
		}
	for (i = 0; i < p->ncert; i++)
		if (pol_profile_find(p, p->cert[i].profile) == NULL) {
			char	k[POL_KEY_MAX];

			keyf(k, sizeof(k),
			    "clients.client_certificate_profiles[%zu]", i);
			return lerr(c, NULL, k, "no profile named \"%s\"",
			    p->cert[i].profile);
		}
	return 0;
}

static int
parse_doc(struct lctx *c, const char *text, size_t len)
{
	yaml_parser_t	 parser;
	yaml_document_t	 extra;
	yaml_node_t	*root;
	int		 rc = -1, more;

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, c->doc)) {
		snprintf(c->err, c->errlen, "%s:%lu: YAML: %s", c->file,
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem != NULL ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return -1;
	}
	/* One document: a second one would be ignored, so refuse it. */
	more = yaml_parser_load(&parser, &extra);
	if (more) {
		more = yaml_document_get_root_node(&extra) != NULL;
		yaml_document_delete(&extra);
	}
	yaml_parser_delete(&parser);
	if (more) {
		snprintf(c->err, c->errlen, "%s: more than one YAML document",
		    c->file);
		yaml_document_delete(c->doc);
		return -1;
	}
	root = yaml_document_get_root_node(c->doc);
	if (root == NULL || is_null(root))
		rc = 0;
	else
		rc = load_top(c, root);
	yaml_document_delete(c->doc);
	return rc;
}

/*
 * Load without running the probes (policy_resolve may still replace the
 * rules with Tecnativa ones).
 */
struct policy *
pol_load(const char *name, const char *source, const char *text, size_t len,
    char *err, size_t errlen)
{
	yaml_document_t	 doc;
	struct lctx	 c;

	memset(&c, 0, sizeof(c));
	c.doc = &doc;
	c.file = name;
	c.err = err;
	c.errlen = errlen;
	c.p = pol_new(source);
	err[0] = '\0';
	if (len > POL_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", name,
		    POL_FILE_MAX);
		goto fail;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", name);
		goto fail;
	}
	if (parse_doc(&c, text, len) == -1)
		goto fail;
	if (!c.has_rules && pol_ruleset_default(&c.p->rules) == -1) {
		snprintf(err, errlen, "%s: default rules", name);
		goto fail;
	}
	if (check_refs(&c) == -1)
		goto fail;
	return c.p;
 fail:
	policy_free(c.p);
	return NULL;
}

static struct policy *
load_probed(const char *name, const char *source, const char *text,
    size_t len, char *err, size_t errlen)
{
	struct policy	*p;

	if ((p = pol_load(name, source, text, len, err, errlen)) == NULL)
		return NULL;
	if (pol_probe(p, err, errlen) == -1) {
		policy_free(p);
		return NULL;
	}
	return p;
}

struct policy *
policy_load_text(const char *name, const char *text, size_t len, char *err,
    size_t errlen)
{
	return load_probed(name, name, text, len, err, errlen);
}

struct policy *
policy_load_file(const char *path, char *err, size_t errlen)
{
	struct policy	*p;
	char		*buf;
	ssize_t		 n;

	if ((n = pw_read_file(path, &buf, POL_FILE_MAX, err, errlen)) == -1)
		return NULL;
	p = load_probed(path, path, buf, (size_t)n, err, errlen);
	free(buf);
	return p;
}

struct policy *
policy_load_preset(const char *name, char *err, size_t errlen)
{
	const char	*text;
	char		 src[128];
	size_t		 len;

	if ((text = policy_preset_text(name, &len)) == NULL) {
		snprintf(err, errlen, "preset %s: no such preset", name);
		return NULL;
	}
	snprintf(src, sizeof(src), "preset %s", name);
	return load_probed(src, src, text, len, err, errlen);
}

/* ---- startup probes (§3.6, §5.10) ---- */

static const char *const probe_exfil[][2] = {
	{ "GET", "/containers/" POL_PROBE_ID "/archive" },
	{ "GET", "/containers/" POL_PROBE_ID "/export" },
	{ "GET", "/containers/" POL_PROBE_ID "/logs" },
	{ "GET", "/containers/" POL_PROBE_ID "/attach/ws" },
	{ "POST", "/containers/" POL_PROBE_ID "/attach" },
	{ "GET", "/services/" POL_PROBE_ID "/logs" },
	{ "GET", "/tasks/" POL_PROBE_ID "/logs" },
	{ "GET", "/images/get" },
	{ "GET", "/images/" POL_PROBE_ID "/get" },
	{ "POST", "/images/" POL_PROBE_ID "/push" },
	{ "POST", "/plugins/" POL_PROBE_ID "/push" },
	{ "GET", "/libpod/containers/" POL_PROBE_ID "/archive" },
	{ "GET", "/libpod/containers/" POL_PROBE_ID "/export" },
	{ "GET", "/libpod/containers/" POL_PROBE_ID "/logs" },
	{ "POST", "/libpod/containers/" POL_PROBE_ID "/attach" },
	{ "GET", "/libpod/images/export" },
	{ "GET", "/libpod/images/" POL_PROBE_ID "/get" },
	{ "POST", "/libpod/images/" POL_PROBE_ID "/push" },
	{ "GET", "/libpod/generate/kube" },
	{ "POST", "/libpod/manifests/" POL_PROBE_ID "/registry/"
	    POL_PROBE_ID },
	{ "POST", "/libpod/manifests/" POL_PROBE_ID "/push" },
};

static const char *const probe_buildkit[][2] = {
	{ "POST", "/session" },
	{ "POST", "/grpc" },
	{ "POST", "/moby.buildkit.v1.Control/Solve" },
};

/* Exec: inspected only with an exec.allowed_commands list. */
static const char *const probe_exec[][2] = {
	{ "POST", "/containers/" POL_PROBE_ID "/exec" },
	{ "POST", "/exec/" POL_PROBE_ID "/start" },
	{ "POST", "/libpod/containers/" POL_PROBE_ID "/exec" },
	{ "POST", "/libpod/exec/" POL_PROBE_ID "/start" },
};

/*
 * Every other body-carrying write sockguard inspects or refuses to run
 * blind; it is blind here when portwing has no inspector for it
 * (pol_inspector_for answers PI_BLIND).
 */
static const char *const probe_writes[][2] = {
	{ "POST", "/containers/create" },
	{ "POST", "/containers/" POL_PROBE_ID "/update" },
	{ "PUT", "/containers/" POL_PROBE_ID "/archive" },
	{ "POST", "/images/create" },
	{ "POST", "/images/load" },
	{ "POST", "/build" },
	{ "POST", "/volumes/create" },
	{ "POST", "/networks/create" },
	{ "POST", "/networks/" POL_PROBE_ID "/connect" },
	{ "POST", "/networks/" POL_PROBE_ID "/disconnect" },
	{ "POST", "/secrets/create" },
	{ "POST", "/configs/create" },
	{ "POST", "/services/create" },
	{ "POST", "/services/" POL_PROBE_ID "/update" },
	{ "POST", "/swarm/init" },
	{ "POST", "/swarm/join" },
	{ "POST", "/swarm/update" },
	{ "POST", "/swarm/unlock" },
	{ "POST", "/nodes/" POL_PROBE_ID "/update" },
	{ "POST", "/plugins/pull" },
	{ "POST", "/plugins/" POL_PROBE_ID "/upgrade" },
	{ "POST", "/plugins/" POL_PROBE_ID "/set" },
	{ "POST", "/plugins/create" },
	{ "POST", "/libpod/containers/create" },
	{ "POST", "/libpod/pods/create" },
	{ "POST", "/libpod/volumes/create" },
	{ "POST", "/libpod/networks/create" },
	{ "POST", "/libpod/secrets/create" },
	{ "POST", "/libpod/play/kube" },
	{ "POST", "/libpod/kube/play" },
	{ "POST", "/libpod/kube/apply" },
	{ "POST", "/libpod/manifests/create" },
	{ "POST", "/libpod/manifests/" POL_PROBE_ID },
	{ "PUT", "/libpod/manifests/" POL_PROBE_ID },
};

static int
probe_set(const struct policy *p, const char *where,
    const struct pol_ruleset *rs, const struct pol_body *b, char *err,
    size_t errlen)
{
	struct pol_decision	d;
	enum pol_insp		pi;
	size_t			i;

#define ADMITS(m, u)	(policy_decide(rs, (m), (u), &d), d.allow)
	for (i = 0; i < nitems(probe_buildkit); i++)
		if (ADMITS(probe_buildkit[i][0], probe_buildkit[i][1])) {
			snprintf(err, errlen, "%s: %s admit %s %s: BuildKit "
			    "mediation is not implemented by portwing", p->source,
			    where, probe_buildkit[i][0], probe_buildkit[i][1]);
			return -1;
		}
	for (i = 0; !p->ack_read_exfil && i < nitems(probe_exfil); i++)
		if (ADMITS(probe_exfil[i][0], probe_exfil[i][1])) {
			snprintf(err, errlen, "%s: %s admit %s %s, which can "
			    "read container data out; set "
			    "insecure_allow_read_exfiltration: true to accept",
			    p->source, where, probe_exfil[i][0],
			    probe_exfil[i][1]);
			return -1;
		}
	if (p->ack_body_blind)
		return 0;
	for (i = 0; b->exec_nallowed_commands == 0 && i < nitems(probe_exec);
	    i++)
		if (ADMITS(probe_exec[i][0], probe_exec[i][1])) {
			snprintf(err, errlen, "%s: %s admit %s %s without "
			    "request_body.exec.allowed_commands; set "
			    "insecure_allow_body_blind_writes: true to accept",
			    p->source, where, probe_exec[i][0], probe_exec[i][1]);
			return -1;
		}
	for (i = 0; i < nitems(probe_writes); i++) {
		if (!ADMITS(probe_writes[i][0], probe_writes[i][1]))
			continue;
		pi = pol_inspector_for(probe_writes[i][0], probe_writes[i][1]);
		/* §5.10: a join is inspected only against an allowlist. */
		if (pi == PI_SWARM && strcmp(probe_writes[i][1],
		    "/swarm/join") == 0 &&
		    b->sw_allowed_join_remote_addrs.n == 0) {
			snprintf(err, errlen, "%s: %s admit POST /swarm/join "
			    "without request_body.swarm."
			    "allowed_join_remote_addrs; set "
			    "insecure_allow_body_blind_writes: true to accept",
			    p->source, where);
			return -1;
		}
		if (pi == PI_PLUGIN_SET &&
		    b->plg_allowed_set_env_prefixes.n == 0) {
			snprintf(err, errlen, "%s: %s admit POST "
			    "/plugins/{name}/set without request_body.plugin."
			    "allowed_set_env_prefixes; set "
			    "insecure_allow_body_blind_writes: true to accept",
			    p->source, where);
			return -1;
		}
		if (pi != PI_BLIND)
			continue;
		snprintf(err, errlen, "%s: %s admit %s %s, whose body portwing "
		    "does not inspect; set insecure_allow_body_blind_writes: "
		    "true to accept", p->source, where, probe_writes[i][0],
		    probe_writes[i][1]);
		return -1;
	}
#undef ADMITS
	return 0;
}

/* The root rules and every profile's, with the global acknowledgements. */
int
pol_probe(const struct policy *p, char *err, size_t errlen)
{
	char	where[POL_NAME_MAX + 40];
	size_t	i;

	if (probe_set(p, "rules", &p->rules, &p->body, err, errlen) == -1)
		return -1;
	for (i = 0; i < p->nprofiles; i++) {
		snprintf(where, sizeof(where), "profile %s rules",
		    p->profiles[i].name);
		if (probe_set(p, where, &p->profiles[i].rules,
		    &p->profiles[i].body, err, errlen) == -1)
			return -1;
	}
	return 0;
}
