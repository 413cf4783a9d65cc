/*
 * engine.c: the request rule engine (sockguard's rule layer, §3 of the
 * policy reference): path normalisation, the glob dialect, first-match
 * decisions, profile selection, deny bodies and the target forwarded to
 * Docker.  Decisions run in the policy process for every request: they
 * allocate nothing and never backtrack.
 */
#include "pwbuild.h"

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certsel.h"
#include "util.h"
#include "polint.h"

#define POL_GLOB_MAX	1024	/* bytes in a path pattern */

enum pg_kind {
	PG_LITERAL,		/* no '*': byte equality */
	PG_ALL,			/* slash, two stars: everything */
	PG_DEEP,		/* a prefix, slash, two stars; no other star */
	PG_NFA			/* anything else: a linear-time automaton */
};

enum pg_op {
	OP_CHAR,		/* one byte */
	OP_SEG,			/* '*': a run of non-'/' bytes */
	OP_ANY,			/* '**': a run of any bytes */
	OP_OPT			/* slash, two stars: the next two elements
				   are optional */
};

struct pg_el {
	uint8_t		op;
	uint8_t		c;
	uint16_t	jump;	/* OP_OPT: the element after the group */
};

struct pol_glob {
	enum pg_kind	 kind;
	char		*lit;	/* PG_LITERAL: the pattern; PG_DEEP: the prefix */
	size_t		 litlen;
	struct pg_el	*el;
	size_t		 nel;
};

static const struct {
	const char	*name;
	uint32_t	 bit;
} pol_methods[] = {
	{ "GET", POL_M_GET }, { "HEAD", POL_M_HEAD }, { "POST", POL_M_POST },
	{ "PUT", POL_M_PUT }, { "DELETE", POL_M_DELETE },
	{ "PATCH", POL_M_PATCH }, { "OPTIONS", POL_M_OPTIONS },
	{ "CONNECT", POL_M_CONNECT }, { "TRACE", POL_M_TRACE },
};

/* ASCII only: the locale must not change how a method compares. */
static int
ascii_casecmp(const char *a, const char *b)
{
	unsigned char	ca, cb;

	for (;; a++, b++) {
		ca = (unsigned char)*a;
		cb = (unsigned char)*b;
		if (ca >= 'a' && ca <= 'z')
			ca -= 'a' - 'A';
		if (cb >= 'a' && cb <= 'z')
			cb -= 'a' - 'A';
		if (ca != cb)
			return ca - cb;
		if (ca == '\0')
			return 0;
	}
}

static uint32_t
method_bit(const char *m)
{
	size_t	i;

	for (i = 0; i < nitems(pol_methods); i++)
		if (ascii_casecmp(m, pol_methods[i].name) == 0)
			return pol_methods[i].bit;
	return 0;
}

/* ---- globs (§3.3) ---- */

static int
glob_compile_nfa(struct pol_glob *g, const char *p, size_t n)
{
	size_t	i = 0, k = 0;

	g->el = xcalloc(n + 1, sizeof(*g->el));
	while (i < n) {
		if (p[i] == '/' && i + 2 < n && p[i + 1] == '*' &&
		    p[i + 2] == '*') {
			g->el[k].op = OP_OPT;
			g->el[k].jump = (uint16_t)(k + 3);
			g->el[k + 1].op = OP_CHAR;
			g->el[k + 1].c = '/';
			g->el[k + 2].op = OP_ANY;
			k += 3;
			i += 3;
		} else if (p[i] == '*' && i + 1 < n && p[i + 1] == '*') {
			g->el[k++].op = OP_ANY;
			i += 2;
		} else if (p[i] == '*') {
			g->el[k++].op = OP_SEG;
			i++;
		} else {
			g->el[k].op = OP_CHAR;
			g->el[k++].c = (uint8_t)p[i++];
		}
	}
	g->nel = k;
	return 0;
}

struct pol_glob *
pol_glob_compile(const char *p, char *err, size_t errlen)
{
	struct pol_glob	*g;
	size_t		 n = strlen(p);
	const char	*star;

	if (n == 0) {
		snprintf(err, errlen, "empty path pattern");
		return NULL;
	}
	if (n > POL_GLOB_MAX) {
		snprintf(err, errlen, "path pattern longer than %d bytes",
		    POL_GLOB_MAX);
		return NULL;
	}
	if (strchr(p, '%') != NULL) {
		snprintf(err, errlen, "path pattern contains a literal '%%' "
		    "(patterns match decoded paths; write the byte itself)");
		return NULL;
	}
	g = xcalloc(1, sizeof(*g));
	star = strchr(p, '*');
	if (star == NULL) {
		g->kind = PG_LITERAL;
		g->lit = xstrdup(p);
		g->litlen = n;
	} else if (strcmp(p, "/**") == 0) {
		g->kind = PG_ALL;
	} else if (n > 3 && strcmp(p + n - 3, "/**") == 0 &&
	    star == p + n - 2) {
		g->kind = PG_DEEP;
		g->lit = xstrndup(p, n - 3);
		g->litlen = n - 3;
	} else {
		g->kind = PG_NFA;
		glob_compile_nfa(g, p, n);
	}
	return g;
}

void
pol_glob_free(struct pol_glob *g)
{
	if (g == NULL)
		return;
	free(g->lit);
	free(g->el);
	free(g);
}

/* Follow the empty moves; they only go forward, so one pass suffices. */
static void
nfa_closure(const struct pol_glob *g, uint8_t *set)
{
	size_t	s;

	for (s = 0; s < g->nel; s++) {
		if (!set[s])
			continue;
		switch (g->el[s].op) {
		case OP_SEG:
		case OP_ANY:
			set[s + 1] = 1;
			break;
		case OP_OPT:
			set[s + 1] = 1;
			set[g->el[s].jump] = 1;
			break;
		default:
			break;
		}
	}
}

/*
 * A set-of-states simulation: time is O(len(path) * len(pattern)) in the
 * worst case, whatever the pattern, with no recursion and no allocation.
 */
static int
nfa_match(const struct pol_glob *g, const char *path)
{
	uint8_t		 a[POL_GLOB_MAX + 2], b[POL_GLOB_MAX + 2];
	uint8_t		*cur = a, *nxt = b, *t;
	size_t		 s;
	int		 live;
	unsigned char	 c;

	memset(cur, 0, g->nel + 1);
	cur[0] = 1;
	nfa_closure(g, cur);
	for (; *path != '\0'; path++) {
		c = (unsigned char)*path;
		memset(nxt, 0, g->nel + 1);
		live = 0;
		for (s = 0; s < g->nel; s++) {
			if (!cur[s])
				continue;
			switch (g->el[s].op) {
			case OP_CHAR:
				if (g->el[s].c == c) {
					nxt[s + 1] = 1;
					live = 1;
				}
				break;
			case OP_SEG:
				if (c != '/') {
					nxt[s] = 1;
					live = 1;
				}
				break;
			case OP_ANY:
				nxt[s] = 1;
				live = 1;
				break;
			default:
				break;
			}
		}
		if (!live)
			return 0;
		nfa_closure(g, nxt);
		t = cur;
		cur = nxt;
		nxt = t;
	}
	return cur[g->nel];
}

int
pol_glob_match(const struct pol_glob *g, const char *path)
{
	switch (g->kind) {
	case PG_LITERAL:
		return strcmp(g->lit, path) == 0;
	case PG_ALL:
		return 1;
	case PG_DEEP:
		return strncmp(path, g->lit, g->litlen) == 0 &&
		    (path[g->litlen] == '\0' || path[g->litlen] == '/');
	case PG_NFA:
		return nfa_match(g, path);
	}
	return 0;
}

/* ---- normalisation (§3.2) ---- */

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One decoding pass, as the HTTP layer of dockerd and sockguard does. */
static int
pct_decode(const char *in, size_t len, char *out, size_t outsz, size_t *olen,
    const char **why)
{
	size_t	i, o = 0;
	int	h, l;
	char	c;

	for (i = 0; i < len; i++) {
		c = in[i];
		if (c == '%') {
			if (i + 2 >= len ||
			    (h = hexval((unsigned char)in[i + 1])) < 0 ||
			    (l = hexval((unsigned char)in[i + 2])) < 0) {
				*why = "invalid percent escape";
				return -1;
			}
			c = (char)(h << 4 | l);
			i += 2;
			if (c == '\0') {
				*why = "encoded NUL in path";
				return -1;
			}
		} else if (c == '\0') {
			*why = "NUL in path";
			return -1;
		}
		if (o + 1 >= outsz) {
			*why = "path too long";
			return -1;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	*olen = o;
	return 0;
}

/*
 * Go's path.Clean, in place (the write index never passes the read
 * index): collapse '/', drop ".", resolve ".." without climbing above the
 * root, drop a trailing '/'.  An empty result is ".".
 */
size_t
policy_path_clean(char *p, size_t n)
{
	size_t	r = 0, w = 0, dotdot = 0;
	int	rooted;

	if (n == 0) {
		p[0] = '.';
		p[1] = '\0';
		return 1;
	}
	rooted = p[0] == '/';
	if (rooted) {
		w = 1;
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/')
			r++;
		else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/'))
			r++;
		else if (p[r] == '.' && p[r + 1] == '.' &&
		    (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && p[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					p[w++] = '/';
				p[w++] = '.';
				p[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				p[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				p[w++] = p[r];
		}
	}
	if (w == 0)
		p[w++] = '.';
	p[w] = '\0';
	return w;
}

/*
 * The length of a leading "/v<digits>[.<digits>[.<digits>]]" that is
 * followed by '/', or 0.
 */
int
pol_version_prefix_len(const char *p)
{
	size_t	i = 2, parts = 0, d;

	if (p[0] != '/' || p[1] != 'v')
		return 0;
	for (;;) {
		for (d = 0; p[i] >= '0' && p[i] <= '9'; i++)
			d++;
		if (d == 0)
			return 0;
		if (p[i] == '/')
			return (int)i;
		if (p[i] != '.' || ++parts > 2)
			return 0;
		i++;
	}
}

int
policy_normalize(const char *in, size_t len, char *npath, size_t npathsz,
    char *vprefix, size_t vprefixsz, const char **why)
{
	size_t	n;
	int	v;

	*why = NULL;
	if (npathsz < 2 || vprefixsz < 1) {
		*why = "buffer too small";
		return -1;
	}
	vprefix[0] = '\0';
	if (pct_decode(in, len, npath, npathsz, &n, why) == -1)
		return -1;
	if (n == 0) {
		npath[0] = '/';
		npath[1] = '\0';
		return 0;
	}
	n = policy_path_clean(npath, n);
	if ((v = pol_version_prefix_len(npath)) > 0) {
		if ((size_t)v >= vprefixsz) {
			*why = "version prefix too long";
			return -1;
		}
		memcpy(vprefix, npath, (size_t)v);
		vprefix[v] = '\0';
		memmove(npath, npath + v, n - (size_t)v + 1);
	}
	return 0;
}

static int
needs_escape(unsigned char c)
{
	return c == '%' || c == '?' || c == '#' || c == ' ' || c < 0x20 ||
	    c >= 0x7f;
}

static void
append_escaped(char **pp, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*p = *pp;
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (needs_escape(c)) {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		} else
			*p++ = (char)c;
	}
	*pp = p;
}

char *
policy_forward_target(const char *vprefix, const char *npath,
    const char *query)
{
	size_t	 n;
	char	*t, *p;

	if (vprefix == NULL)
		vprefix = "";
	n = 3 * (strlen(vprefix) + strlen(npath)) + 1;
	if (query != NULL && *query != '\0')
		n += 1 + strlen(query);
	t = p = xmalloc(n);
	append_escaped(&p, vprefix);
	append_escaped(&p, npath);
	if (query != NULL && *query != '\0') {
		*p++ = '?';
		memcpy(p, query, strlen(query));
		p += strlen(query);
	}
	*p = '\0';
	return t;
}

/* ---- rules (§3.1, §3.4) ---- */

static int
method_add(struct pol_rule *r, char *tok, size_t *nx)
{
	uint32_t	 bit;
	char		*q;

	if (strcmp(tok, "*") == 0) {
		r->any_method = 1;
		return 0;
	}
	if ((bit = method_bit(tok)) != 0) {
		r->methods |= bit;
		return 0;
	}
	for (q = tok; *q != '\0'; q++)
		if (*q >= 'a' && *q <= 'z')
			*q -= 'a' - 'A';
	r->xmethods = xreallocarray(r->xmethods, *nx + 2, sizeof(char *));
	r->xmethods[(*nx)++] = xstrdup(tok);
	r->xmethods[*nx] = NULL;
	return 0;
}

/*
 * A rule from its YAML fields.  The method list is comma-separated,
 * blanks around each word ignored, "*" anywhere meaning any method.
 */
int
pol_rule_init(struct pol_rule *r, const char *methods, const char *path,
    int allow, const char *reason, char *err, size_t errlen)
{
	char	*copy, *tok, *save = NULL;
	size_t	 nx = 0;
	int	 any = 0;

	memset(r, 0, sizeof(*r));
	copy = xstrdup(methods);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		tok = pw_trim(tok);
		if (*tok == '\0')
			continue;
		method_add(r, tok, &nx);
		any = 1;
	}
	free(copy);
	if (!any) {
		snprintf(err, errlen, "match.method is required");
		pol_rule_free(r);
		return -1;
	}
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "match.path is required");
		pol_rule_free(r);
		return -1;
	}
	if ((r->glob = pol_glob_compile(path, err, errlen)) == NULL) {
		pol_rule_free(r);
		return -1;
	}
	r->methods_text = xstrdup(methods);
	r->path = xstrdup(path);
	r->allow = allow;
	r->reason = reason != NULL && *reason != '\0' ? xstrdup(reason) : NULL;
	return 0;
}

void
pol_rule_free(struct pol_rule *r)
{
	size_t	i;

	if (r->xmethods != NULL)
		for (i = 0; r->xmethods[i] != NULL; i++)
			free(r->xmethods[i]);
	free(r->xmethods);
	free(r->methods_text);
	free(r->path);
	free(r->reason);
	pol_glob_free(r->glob);
	memset(r, 0, sizeof(*r));
}

void
pol_ruleset_free(struct pol_ruleset *rs)
{
	size_t	i;

	for (i = 0; i < rs->n; i++)
		pol_rule_free(&rs->v[i]);
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

struct pol_rule *
pol_ruleset_add(struct pol_ruleset *rs)
{
	rs->v = xreallocarray(rs->v, rs->n + 1, sizeof(*rs->v));
	memset(&rs->v[rs->n], 0, sizeof(rs->v[0]));
	return &rs->v[rs->n++];
}

static const struct {
	const char	*method, *path;
	int		 allow;
	const char	*reason;
} pol_defaults[] = {
	{ "GET", "/_ping", 1, NULL },
	{ "HEAD", "/_ping", 1, NULL },
	{ "GET", "/version", 1, NULL },
	{ "GET", "/events", 1, NULL },
	{ "*", "/**", 0, POL_DEFAULT_DENY },
};

/* The built-in rules used when a policy has no rules key (§3.1). */
int
pol_ruleset_default(struct pol_ruleset *rs)
{
	char	err[128];
	size_t	i;

	for (i = 0; i < nitems(pol_defaults); i++)
		if (pol_rule_init(pol_ruleset_add(rs), pol_defaults[i].method,
		    pol_defaults[i].path, pol_defaults[i].allow,
		    pol_defaults[i].reason, err, sizeof(err)) == -1)
			return -1;
	return 0;
}

/* Same methods, paths, actions, reasons and order as the defaults (§4.1). */
int
pol_ruleset_is_default(const struct pol_ruleset *rs)
{
	const struct pol_rule	*r;
	const char		*a, *b;
	size_t			 i;

	if (rs->n != nitems(pol_defaults))
		return 0;
	for (i = 0; i < rs->n; i++) {
		r = &rs->v[i];
		a = r->reason != NULL ? r->reason : "";
		b = pol_defaults[i].reason != NULL ? pol_defaults[i].reason : "";
		if (r->any_method != (pol_defaults[i].method[0] == '*') ||
		    r->xmethods != NULL ||
		    r->methods != method_bit(pol_defaults[i].method) ||
		    strcmp(r->path, pol_defaults[i].path) != 0 ||
		    r->allow != pol_defaults[i].allow || strcmp(a, b) != 0)
			return 0;
	}
	return 1;
}

static int
rule_method_matches(const struct pol_rule *r, uint32_t bit, const char *m)
{
	size_t	i;

	if (r->any_method || (bit & r->methods) != 0)
		return 1;
	if (bit != 0 || r->xmethods == NULL)
		return 0;
	for (i = 0; r->xmethods[i] != NULL; i++)
		if (ascii_casecmp(r->xmethods[i], m) == 0)
			return 1;
	return 0;
}

/*
 * First match wins (§3.4).  The request method is compared upper-cased,
 * so "post" is judged as "POST"; the proxy forwards the method it
 * judged, upper-cased too (§10.1 case 14), so inspectors and Docker see
 * the same word the rules saw.
 */
double
policy_cost(const struct pol_profile *pf, const char *method,
    const char *npath)
{
	uint32_t	bit = method_bit(method);
	size_t		i;

	for (i = 0; pf != NULL && i < pf->ncosts; i++)
		if (rule_method_matches(&pf->costs[i].match, bit, method) &&
		    pol_glob_match(pf->costs[i].match.glob, npath))
			return pf->costs[i].cost;
	return 1.0;
}

void
policy_decide(const struct pol_ruleset *rs, const char *method,
    const char *npath, struct pol_decision *d)
{
	const struct pol_rule	*r;
	uint32_t		 bit = method_bit(method);
	size_t			 i;

	for (i = 0; i < rs->n; i++) {
		r = &rs->v[i];
		if (!rule_method_matches(r, bit, method) ||
		    !pol_glob_match(r->glob, npath))
			continue;
		d->allow = r->allow;
		d->rule = (int)i;
		d->reason = r->reason;
		if (r->allow)
			d->reason_code = "matched_allow_rule";
		else if (r->reason != NULL &&
		    strcmp(r->reason, POL_DEFAULT_DENY) == 0)
			d->reason_code = "no_matching_allow_rule";
		else
			d->reason_code = "matched_deny_rule";
		return;
	}
	d->allow = 0;
	d->rule = -1;
	d->reason = POL_DEFAULT_DENY;
	d->reason_code = "no_matching_allow_rule";
}

/*
 * ---- profiles (§7.3) ----
 * A unix peer entry with both uids and gids needs both to match (the
 * stricter reading); entries are tried in order.
 */

const struct pol_profile *
pol_profile_find(const struct policy *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->nprofiles; i++)
		if (strcmp(p->profiles[i].name, name) == 0)
			return &p->profiles[i];
	return NULL;
}

static const char *
select_peer(const struct policy *p, uid_t uid, gid_t gid)
{
	const struct pol_peer_profile	*pp;
	size_t				 i, j;
	int				 uok, gok;

	for (i = 0; i < p->npeer; i++) {
		pp = &p->peer[i];
		uok = pp->nuids == 0;
		gok = pp->ngids == 0;
		for (j = 0; j < pp->nuids; j++)
			if (pp->uids[j] == uid)
				uok = 1;
		for (j = 0; j < pp->ngids; j++)
			if (pp->gids[j] == gid)
				gok = 1;
		if (uok && gok)
			return pp->profile;
	}
	return NULL;
}

static const char *
select_source(const struct policy *p, const char *addr)
{
	size_t	i;

	if (addr == NULL || *addr == '\0')
		return NULL;
	for (i = 0; i < p->nsrc; i++)
		if (cidr_match(p->src[i].nets, p->src[i].nnets, addr))
			return p->src[i].profile;
	return NULL;
}

const struct pol_profile *
policy_select(const struct policy *p, const char *bound, const char *addr,
    int peer, uid_t uid, gid_t gid, int *unresolved)
{
	const struct pol_profile	*pr;
	const char			*name = NULL;

	*unresolved = 0;
	if (bound != NULL && *bound != '\0')
		name = bound;
	if (name == NULL && peer)
		name = select_peer(p, uid, gid);
	if (name == NULL && !peer)
		name = select_source(p, addr);
	if (name == NULL && p->default_profile[0] != '\0')
		name = p->default_profile;
	if (name == NULL)
		return NULL;
	if ((pr = pol_profile_find(p, name)) == NULL)
		*unresolved = 1;
	return pr;
}

const struct pol_ruleset *
policy_rules(const struct policy *p, const struct pol_profile *pr)
{
	return pr != NULL ? &pr->rules : &p->rules;
}

const struct pol_body *
policy_body(const struct policy *p, const struct pol_profile *pr)
{
	return pr != NULL ? &pr->body : &p->body;
}

/* ---- deny bodies (§3.5) ---- */

#define POL_DENY_TEXT	"request denied by sockguard policy"

/* Invalid UTF-8 becomes U+FFFD, as Go's encoder writes it. */
static char *
utf8_sanitize(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*out, *o;
	size_t			 need, i;

	out = o = xmalloc(3 * strlen(s) + 1);
	while (*u != '\0') {
		if (*u < 0x80) {
			*o++ = (char)*u++;
			continue;
		}
		need = (*u & 0xe0) == 0xc0 && *u >= 0xc2 ? 1 :
		    (*u & 0xf0) == 0xe0 ? 2 :
		    (*u & 0xf8) == 0xf0 && *u <= 0xf4 ? 3 : 0;
		for (i = 1; need != 0 && i <= need; i++)
			if ((u[i] & 0xc0) != 0x80)
				need = 0;
		if (need == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			u++;
			continue;
		}
		memcpy(o, u, need + 1);
		o += need + 1;
		u += need + 1;
	}
	*o = '\0';
	return out;
}

static void
obj_set_str(json_t *o, const char *k, const char *v)
{
	char	*s;

	s = utf8_sanitize(v);
	json_object_set_new(o, k, json_string(s));
	free(s);
}

/*
 * The path as a verbose body shows it: secrets and the swarm unlock key
 * are redacted after normalisation, keeping the version prefix; any other
 * path is echoed as received.
 */
static char *
deny_path(const char *path)
{
	char		 npath[POL_PATH_MAX], vp[64];
	const char	*why;
	char		*s = NULL;

	if (policy_normalize(path, strlen(path), npath, sizeof(npath), vp,
	    sizeof(vp), &why) == 0) {
		if (strncmp(npath, "/secrets/", 9) == 0)
			xasprintf(&s, "%s/secrets/<redacted>", vp);
		else if (strcmp(npath, "/swarm/unlockkey") == 0)
			xasprintf(&s, "%s/swarm/<redacted>", vp);
	}
	return s != NULL ? s : xstrdup(path);
}

char *
policy_deny_body(const struct policy *p, const char *method,
    const char *path, const char *reason)
{
	json_t	*o;
	char	*s, *out, *dp;

	if (p == NULL || !p->deny_verbose)
		return xstrdup("{\"message\":\"" POL_DENY_TEXT "\"}\n");
	if ((o = json_object()) == NULL)
		abort();
	json_object_set_new(o, "message", json_string(POL_DENY_TEXT));
	if (method != NULL && *method != '\0')
		obj_set_str(o, "method", method);
	if (path != NULL && *path != '\0') {
		dp = deny_path(path);
		obj_set_str(o, "path", dp);
		free(dp);
	}
	if (reason != NULL && *reason != '\0')
		obj_set_str(o, "reason", reason);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		abort();
	xasprintf(&out, "%s\n", s);
	free(s);
	return out;
}

/* ---- the policy object ---- */

struct policy *
pol_new(const char *source)
{
	struct policy	*p;

	p = xcalloc(1, sizeof(*p));
	pw_strlcpy(p->source, source, sizeof(p->source));
	pol_body_init(&p->body);
	pw_strlcpy(p->owner_key, "com.sockguard.owner", sizeof(p->owner_key));
	p->owner_unowned_images = 1;
	/* sockguard's response defaults: four redactions on. */
	p->resp.redact_env = p->resp.redact_mounts = p->resp.redact_net =
	    p->resp.redact_sensitive = 1;
	p->warnings = xcalloc(1, sizeof(char *));
	return p;
}

void
pol_vis_free(struct pol_vis *v)
{
	size_t	i;

	for (i = 0; i < v->labels.n; i++)
		free(v->labels.v[i]);
	free(v->labels.v);
	for (i = 0; i < v->nnames; i++)
		pol_glob_free(v->names[i]);
	free(v->names);
	for (i = 0; i < v->nimages; i++)
		pol_glob_free(v->images[i]);
	free(v->images);
	memset(v, 0, sizeof(*v));
}

void
pol_warn(struct policy *p, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	p->warnings = xreallocarray(p->warnings, p->nwarnings + 2,
	    sizeof(char *));
	p->warnings[p->nwarnings++] = s;
	p->warnings[p->nwarnings] = NULL;
}

void
policy_free(struct policy *p)
{
	size_t	i, j;

	if (p == NULL)
		return;
	pol_ruleset_free(&p->rules);
	pol_body_free(&p->body);
	pol_vis_free(&p->vis);
	for (i = 0; i < p->nprofiles; i++) {
		pol_vis_free(&p->profiles[i].vis);
		pol_ruleset_free(&p->profiles[i].rules);
		pol_body_free(&p->profiles[i].body);
		for (j = 0; j < p->profiles[i].ncosts; j++)
			pol_rule_free(&p->profiles[i].costs[j].match);
		free(p->profiles[i].costs);
	}
	free(p->profiles);
	for (i = 0; i < p->nsrc; i++)
		free(p->src[i].nets);
	free(p->src);
	for (i = 0; i < p->npeer; i++) {
		free(p->peer[i].uids);
		free(p->peer[i].gids);
	}
	free(p->peer);
	pol_cert_profiles_free(p->cert, p->ncert);
	free(p->allowed);
	for (i = 0; i < p->nwarnings; i++)
		free(p->warnings[i]);
	free(p->warnings);
	free(p);
}
