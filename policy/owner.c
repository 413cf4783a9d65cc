/*
 * owner.c: owner-label stamping (see owner.h and DESIGN.md, "The policy
 * engine").  Runs in policyd only: it reads JSON written by clients.
 *
 * The body is first decoded whole with the inspectors' rules (gj_decode:
 * no trailing data, no two keys that fold equal outside data maps), so
 * the byte scanner below only ever walks valid JSON; it finds the
 * top-level members and their offsets, and the Labels member (whatever
 * its case) is replaced by a canonical one.  Nothing else is rewritten.
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "gojson.h"
#include "log.h"
#include "owner.h"
#include "util.h"

#define R_REQUIRED	"request body is required"

static int
ov_deny(struct pol_verdict *v, int status, const char *reason)
{
	v->status = status;
	pw_strlcpy(v->reason, reason, sizeof(v->reason));
	return status;
}

int
pol_owner_stamps(enum pol_insp insp, const char *npath)
{
	(void)npath;
	return insp == PI_CONTAINER_CREATE || insp == PI_NETWORK_CREATE ||
	    insp == PI_VOLUME_CREATE || insp == PI_SECRET_CREATE ||
	    insp == PI_CONFIG_CREATE;
}

size_t
pol_owner_cap(enum pol_insp insp, const char *npath)
{
	size_t	cap = pol_inspector_cap(insp);

	return cap == 0 && pol_owner_stamps(insp, npath) ? OWNER_BODY_MAX :
	    cap;
}

static size_t
sk_ws(const uint8_t *b, size_t len, size_t i)
{
	while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' ||
	    b[i] == '\r'))
		i++;
	return i;
}

/* b[i] is '"': the offset just past the closing quote, 0 on error. */
static size_t
sk_str(const uint8_t *b, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (b[i] == '\\')
			i++;
		else if (b[i] == '"')
			return i + 1;
	}
	return 0;
}

/* The offset just past the value at b[i], 0 on error. */
static size_t
sk_value(const uint8_t *b, size_t len, size_t i)
{
	size_t	depth = 0;

	if (i >= len)
		return 0;
	if (b[i] == '"')
		return sk_str(b, len, i);
	if (b[i] != '{' && b[i] != '[') {
		while (i < len && b[i] != ',' && b[i] != '}' && b[i] != ']' &&
		    b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r')
			i++;
		return i;
	}
	while (i < len) {
		if (b[i] == '"') {
			if ((i = sk_str(b, len, i)) == 0)
				return 0;
			continue;
		}
		if (b[i] == '{' || b[i] == '[')
			depth++;
		else if (b[i] == '}' || b[i] == ']') {
			if (depth == 0)
				return 0;
			if (--depth == 0)
				return i + 1;
		}
		i++;
	}
	return 0;
}

/* Is the JSON string literal b[s..e) a key that folds to "Labels"? */
static int
key_is_labels(const uint8_t *b, size_t s, size_t e)
{
	json_t	*k;
	char	 buf[64];
	int	 r;

	if (e - s < sizeof(buf) && memchr(b + s, '\\', e - s) == NULL) {
		/* No escapes: the literal between the quotes is the key. */
		memcpy(buf, b + s + 1, e - s - 2);
		buf[e - s - 2] = '\0';
		return gj_key_is(buf, "Labels");
	}
	if ((k = json_loadb((const char *)b + s, e - s, JSON_DECODE_ANY,
	    NULL)) == NULL)
		return -1;
	r = json_is_string(k) && gj_key_is(json_string_value(k), "Labels");
	json_decref(k);
	return r;
}

/*
 * Find the top-level Labels member: *ks and *ve delimit "key": value, or
 * *ks = 0 when there is none (*first is then the offset of the first
 * member, or of the closing brace).  -1 on a scan error.
 */
static int
find_labels(const uint8_t *b, size_t len, size_t *ks, size_t *ve,
    size_t *first, int *empty)
{
	size_t	i, ke, vs;
	int	r;

	*ks = 0;
	i = sk_ws(b, len, 0);
	if (i >= len || b[i] != '{')
		return -1;
	i = sk_ws(b, len, i + 1);
	*first = i;
	*empty = i < len && b[i] == '}';
	while (i < len && b[i] != '}') {
		if (b[i] != '"' || (ke = sk_str(b, len, i)) == 0)
			return -1;
		vs = sk_ws(b, len, ke);
		if (vs >= len || b[vs] != ':')
			return -1;
		vs = sk_ws(b, len, vs + 1);
		if ((*ve = sk_value(b, len, vs)) == 0)
			return -1;
		if ((r = key_is_labels(b, i, ke)) == -1)
			return -1;
		if (r) {
			*ks = i;
			return 0;
		}
		i = sk_ws(b, len, *ve);
		if (i < len && b[i] == ',')
			i = sk_ws(b, len, i + 1);
	}
	return i < len ? 0 : -1;
}

int
pol_owner_stamp(const char *key, const char *owner, const uint8_t *body,
    size_t len, uint8_t **out, size_t *outlen, struct pol_verdict *v)
{
	json_t		*top = NULL, *labels, *nl = NULL, *val;
	const char	*k;
	char		*lt = NULL;
	size_t		 ks, ve, first, lsz, n;
	uint8_t		*o;
	int		 r, empty;

	memset(v, 0, sizeof(*v));
	*out = NULL;
	*outlen = 0;
	if (len == 0)
		return ov_deny(v, 400, R_REQUIRED);
	if ((r = gj_decode(body, len, &top)) != GJ_DEC_OK)
		return r == GJ_DEC_DUP ? ov_deny(v, 400, "duplicate JSON keys "
		    "that differ only in case") : ov_deny(v, 403,
		    "malformed JSON request body");
	if (json_is_null(top)) {
		json_decref(top);
		return ov_deny(v, 400, R_REQUIRED);
	}
	if (!json_is_object(top)) {
		json_decref(top);
		return ov_deny(v, 400, "request body must be a JSON object");
	}
	nl = json_object();
	if ((labels = gj_get(top, "Labels")) != NULL &&
	    !json_is_null(labels)) {
		if (!json_is_object(labels)) {
			r = ov_deny(v, 400, "Labels must be a JSON object");
			goto out;
		}
		json_object_foreach(labels, k, val) {
			if (!json_is_string(val)) {
				r = ov_deny(v, 400, "Labels values must be "
				    "strings");
				goto out;
			}
			if (strcmp(k, key) != 0)
				json_object_set(nl, k, val);
		}
	}
	json_object_set_new(nl, key, json_string(owner));
	if ((lt = json_dumps(nl, JSON_COMPACT)) == NULL ||
	    find_labels(body, len, &ks, &ve, &first, &empty) == -1) {
		r = ov_deny(v, 403, "unable to stamp the owner label");
		goto out;
	}
	lsz = strlen(lt);
	n = len + lsz + sizeof("\"Labels\":,");
	o = xmalloc(n);
	if (ks != 0) {
		/* "labels": {...}  ->  "Labels":{...,"key":"owner"} */
		memcpy(o, body, ks);
		n = ks;
		memcpy(o + n, "\"Labels\":", 9);
		n += 9;
		memcpy(o + n, lt, lsz);
		n += lsz;
		memcpy(o + n, body + ve, len - ve);
		n += len - ve;
	} else {
		memcpy(o, body, first);
		n = first;
		memcpy(o + n, "\"Labels\":", 9);
		n += 9;
		memcpy(o + n, lt, lsz);
		n += lsz;
		if (!empty)
			o[n++] = ',';
		memcpy(o + n, body + first, len - first);
		n += len - first;
	}
	*out = o;
	*outlen = n;
	r = 0;
out:
	free(lt);
	json_decref(nl);
	json_decref(top);
	return r;
}

/* ---- filter injection on lists, prunes and events (§6.2) ---- */

static const char *const owner_filter_paths[] = {
	"/events", "/containers/json", "/containers/prune", "/images/json",
	"/images/prune", "/networks", "/networks/prune", "/volumes",
	"/volumes/prune", "/services", "/tasks", "/secrets", "/configs",
	"/nodes",
};

int
pol_owner_filters(const char *npath)
{
	size_t	i;

	for (i = 0; i < nitems(owner_filter_paths); i++)
		if (strcmp(npath, owner_filter_paths[i]) == 0)
			return 1;
	return 0;
}

struct qpair {
	char	*k;
	char	*v;
	size_t	 pos;		/* order of arrival: a stable sort */
};

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Go's QueryUnescape of s[0..n): '+' is a space; NULL on a bad escape. */
static char *
q_unescape(const char *s, size_t n)
{
	char	*o = xmalloc(n + 1);
	size_t	 i, j = 0;
	int	 h, l;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n) {
				free(o);
				return NULL;
			}
			if ((h = hexv((unsigned char)s[i + 1])) == -1 ||
			    (l = hexv((unsigned char)s[i + 2])) == -1) {
				free(o);
				return NULL;
			}
			o[j++] = (char)(h << 4 | l);
			i += 2;
		} else if (s[i] == '+')
			o[j++] = ' ';
		else
			o[j++] = s[i];
	}
	o[j] = '\0';
	return o;
}

/* Go's QueryEscape, appended to the growing buffer *b (*len, *cap). */
static void
q_escape(char **b, size_t *len, size_t *cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	c;

	for (; *s != '\0'; s++) {
		if (*len + 4 > *cap) {
			*cap = *cap * 2 + 64;
			*b = xreallocarray(*b, *cap, 1);
		}
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			(*b)[(*len)++] = (char)c;
		else if (c == ' ')
			(*b)[(*len)++] = '+';
		else {
			(*b)[(*len)++] = '%';
			(*b)[(*len)++] = hex[c >> 4];
			(*b)[(*len)++] = hex[c & 15];
		}
	}
	(*b)[*len] = '\0';
}

static int
qpair_cmp(const void *a, const void *b)
{
	const struct qpair	*x = a, *y = b;
	int			 r;

	if ((r = strcmp(x->k, y->k)) != 0)
		return r;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The client's filters (the first value) as a modern-form object with
 * the label entry replaced; NULL and a 400 reason on a bad shape.
 */
static json_t *
owner_filter_json(const char *key, const char *owner, const char *npath,
    const char *fv, struct pol_verdict *v)
{
	json_t		*in = NULL, *out, *val, *e, *arr;
	const char	*k, *lk, **keys;
	char		*lab;
	size_t		 i, n;

	lk = strcmp(npath, "/nodes") == 0 ? "node.label" : "label";
	out = json_object();
	if (fv != NULL && *fv != '\0') {
		if ((in = json_loads(fv, JSON_REJECT_DUPLICATES, NULL)) ==
		    NULL || !json_is_object(in)) {
			ov_deny(v, 400, "filters must be a JSON object");
			goto bad;
		}
		json_object_foreach(in, k, val) {
			arr = json_array();
			if (json_is_array(val)) {
				json_array_foreach(val, i, e) {
					if (!json_is_string(e)) {
						json_decref(arr);
						goto shape;
					}
					json_array_append(arr, e);
				}
			} else if (json_is_object(val)) {
				/* Legacy {"v":true}: the names, sorted. */
				n = json_object_size(val);
				keys = xcalloc(n + 1, sizeof(*keys));
				i = 0;
				{
					const char	*vk;
					json_t		*vv;

					json_object_foreach(val, vk, vv) {
						if (!json_is_boolean(vv)) {
							free(keys);
							json_decref(arr);
							goto shape;
						}
						keys[i++] = vk;
					}
				}
				qsort(keys, i, sizeof(*keys), strp_cmp);
				for (n = 0; n < i; n++)
					json_array_append_new(arr,
					    json_string(keys[n]));
				free(keys);
			} else {
				json_decref(arr);
				goto shape;
			}
			json_object_set_new(out, k, arr);
		}
	}
	if (asprintf(&lab, "%s=%s", key, owner) == -1)
		fatal("asprintf");
	arr = json_array();
	json_array_append_new(arr, json_string(lab));
	free(lab);
	json_object_set_new(out, lk, arr);
	json_decref(in);
	return out;
shape:
	ov_deny(v, 400, "filters must map names to lists of strings (or "
	    "to objects of booleans)");
bad:
	json_decref(in);
	json_decref(out);
	return NULL;
}

int
pol_owner_filter(const char *key, const char *owner, const char *npath,
    const char *query, char **outq, struct pol_verdict *v)
{
	struct qpair	*p = NULL;
	json_t		*f = NULL;
	const char	*s, *amp, *eq;
	char		*fv = NULL, *fj = NULL, *b = NULL;
	size_t		 np = 0, i, len = 0, cap = 0, klen;
	int		 r = 0, have = 0;

	memset(v, 0, sizeof(*v));
	*outq = NULL;
	/* url.ParseQuery: pairs split at '&', key and value unescaped. */
	for (s = query != NULL ? query : ""; *s != '\0'; s = amp) {
		if ((amp = strchr(s, '&')) == NULL)
			amp = s + strlen(s);
		klen = (size_t)(amp - s);
		if (*amp == '&')
			amp++;
		if (klen == 0)
			continue;
		if (memchr(s, ';', klen) != NULL) {
			r = ov_deny(v, 400, "a semicolon in the query");
			goto out;
		}
		p = xreallocarray(p, np + 1, sizeof(*p));
		eq = memchr(s, '=', klen);
		p[np].k = q_unescape(s, eq != NULL ? (size_t)(eq - s) : klen);
		p[np].v = eq != NULL ? q_unescape(eq + 1, klen -
		    (size_t)(eq - s) - 1) : xstrdup("");
		p[np].pos = np;
		np++;
		if (p[np - 1].k == NULL || p[np - 1].v == NULL) {
			r = ov_deny(v, 400, "invalid escape in the query");
			goto out;
		}
		if (!have && strcmp(p[np - 1].k, "filters") == 0) {
			have = 1;
			fv = p[np - 1].v;
		}
	}
	if (fv != NULL && strlen(fv) > 64 * 1024) {
		r = ov_deny(v, 400, "filters longer than 64 KiB");
		goto out;
	}
	if ((f = owner_filter_json(key, owner, npath, fv, v)) == NULL) {
		r = v->status;
		goto out;
	}
	if ((fj = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = ov_deny(v, 400, "filters cannot be encoded");
		goto out;
	}
	/* url.Values.Encode: keys sorted, the one filters value replaced. */
	p = xreallocarray(p, np + 1, sizeof(*p));
	p[np].k = xstrdup("filters");
	p[np].v = NULL;
	p[np].pos = np;
	np++;
	qsort(p, np, sizeof(*p), qpair_cmp);
	cap = 256;
	b = xmalloc(cap);
	b[0] = '\0';
	for (i = 0; i < np; i++) {
		if (strcmp(p[i].k, "filters") == 0 && p[i].v != NULL)
			continue;	/* the client's */
		if (len + 2 > cap) {
			cap = cap * 2;
			b = xreallocarray(b, cap, 1);
		}
		if (len > 0)
			b[len++] = '&';
		b[len] = '\0';
		q_escape(&b, &len, &cap, p[i].k);
		if (len + 2 > cap) {
			cap = cap * 2;
			b = xreallocarray(b, cap, 1);
		}
		b[len++] = '=';
		b[len] = '\0';
		q_escape(&b, &len, &cap, p[i].v != NULL ? p[i].v : fj);
	}
	*outq = b;
	b = NULL;
out:
	for (i = 0; i < np; i++) {
		free(p[i].k);
		free(p[i].v);
	}
	free(p);
	free(b);
	free(fj);
	json_decref(f);
	return r;
}

/* ---- cross-owner checks on addressed resources (§6.3) ---- */

static const char *const owner_kinds[] = {
	"", "container", "image", "network", "volume", "service", "secret",
	"config", "task", "node", "swarm", "exec",
};

const char *
pol_owner_kind_name(int kind)
{
	if (kind <= OWK_NONE || kind >= (int)nitems(owner_kinds))
		return "resource";
	return owner_kinds[kind];
}

/* seg is the first segment after the prefix: one of the words? */
static int
seg_is(const char *seg, size_t n, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strlen(*words) == n && memcmp(seg, *words, n) == 0)
			return 1;
	return 0;
}

/* path ends with "/" suffix: its length without it, else 0. */
static size_t
strip_suffix(const char *p, size_t n, const char *suffix)
{
	size_t	sl = strlen(suffix);

	if (n > sl + 1 && p[n - sl - 1] == '/' &&
	    memcmp(p + n - sl, suffix, sl) == 0)
		return n - sl - 1;
	return 0;
}

int
pol_owner_target(const char *method, const char *npath, char *id,
    size_t idsz, int *claim)
{
	static const char *const c_ex[] = { "create", "json", "prune", NULL };
	static const char *const nv_ex[] = { "create", "prune", NULL };
	static const char *const i_ex[] = { "json", "create", "search",
	    "get", "load", "prune", NULL };
	static const char *const s_ex[] = { "create", NULL };
	static const char *const none[] = { NULL };
	static const char *const i_sfx[] = { "json", "history", "push",
	    "tag", "get", "attestations", NULL };
	static const struct {
		const char		*prefix;
		int			 kind;
		const char *const	*ex;
	} t[] = {
		{ "/containers/", OWK_CONTAINER, c_ex },
		{ "/networks/", OWK_NETWORK, nv_ex },
		{ "/volumes/", OWK_VOLUME, nv_ex },
		{ "/images/", OWK_IMAGE, i_ex },
		{ "/services/", OWK_SERVICE, s_ex },
		{ "/secrets/", OWK_SECRET, s_ex },
		{ "/configs/", OWK_CONFIG, s_ex },
		{ "/tasks/", OWK_TASK, none },
		{ "/nodes/", OWK_NODE, none },
		{ "/exec/", OWK_EXEC, none },
	};
	const char	*p;
	size_t		 i, j, n, m;

	*claim = 0;
	id[0] = '\0';
	if (strcmp(npath, "/swarm") == 0 || strcmp(npath, "/swarm/update") ==
	    0) {
		*claim = strcmp(npath, "/swarm/update") == 0;
		return OWK_SWARM;
	}
	for (i = 0; i < nitems(t); i++) {
		if (strncmp(npath, t[i].prefix, strlen(t[i].prefix)) != 0)
			continue;
		p = npath + strlen(t[i].prefix);
		n = strlen(p);
		if (t[i].kind == OWK_IMAGE) {
			/* Names may hold '/': strip a known trailing verb. */
			if (seg_is(p, strcspn(p, "/"), t[i].ex))
				return OWK_NONE;
			for (j = 0; i_sfx[j] != NULL; j++)
				if ((m = strip_suffix(p, n, i_sfx[j])) != 0) {
					n = m;
					break;
				}
		} else {
			n = strcspn(p, "/");
			if (seg_is(p, n, t[i].ex))
				return OWK_NONE;
			if (t[i].kind == OWK_NODE && strcmp(p + n, "/update") ==
			    0)
				*claim = 1;
		}
		if (n == 0 || n >= idsz)
			return OWK_NONE;
		memcpy(id, p, n);
		id[n] = '\0';
		(void)method;
		return t[i].kind;
	}
	return OWK_NONE;
}

/* Docker's inspect path for a resource ("" when there is none). */
void
pol_owner_lookup_path(int kind, const char *id, char *out, size_t outsz)
{
	switch (kind) {
	case OWK_CONTAINER:
		snprintf(out, outsz, "/containers/%s/json", id);
		break;
	case OWK_IMAGE:
		snprintf(out, outsz, "/images/%s/json", id);
		break;
	case OWK_SWARM:
		snprintf(out, outsz, "/swarm");
		break;
	case OWK_EXEC:
		snprintf(out, outsz, "/exec/%s/json", id);
		break;
	case OWK_NONE:
		out[0] = '\0';
		break;
	default:
		snprintf(out, outsz, "/%ss/%s", pol_owner_kind_name(kind), id);
		break;
	}
}

int
pol_owner_judge(const char *key, const char *owner, int unowned_images,
    int kind, int claim, const uint8_t *ans, size_t len,
    struct pol_verdict *v)
{
	json_t		*top, *o = NULL, *lab;
	const char	*val = NULL;
	char		 msg[128];

	memset(v, 0, sizeof(*v));
	if ((top = json_loadb((const char *)ans, len, 0, NULL)) == NULL ||
	    !json_is_object(top)) {
		json_decref(top);
		return ov_deny(v, 502, "owner_policy_lookup_failed");
	}
	switch (kind) {
	case OWK_CONTAINER:
	case OWK_IMAGE:
		o = json_object_get(top, "Config");
		break;
	case OWK_NETWORK:
	case OWK_VOLUME:
	case OWK_TASK:
		o = top;
		break;
	default:
		o = json_object_get(top, "Spec");
		break;
	}
	if (json_is_object(o) && json_is_object(lab = json_object_get(o,
	    "Labels")) && json_is_string(json_object_get(lab, key)))
		val = json_string_value(json_object_get(lab, key));
	snprintf(msg, sizeof(msg), "owner policy denied access to %s",
	    pol_owner_kind_name(kind));
	if (val != NULL && *val != '\0') {
		if (strcmp(val, owner) != 0)
			ov_deny(v, 403, msg);
	} else if (!(kind == OWK_IMAGE && unowned_images) && !claim)
		ov_deny(v, 403, msg);
	json_decref(top);
	return v->status;
}

/* ---- references inside create bodies (§6.4) ---- */

static int
ref_add(struct owner_ref *refs, size_t *n, int kind, int flags,
    const char *id)
{
	size_t	i;

	if (*id == '\0')
		return 0;
	if (strlen(id) >= sizeof(refs[0].id))
		return -1;
	for (i = 0; i < *n; i++)
		if (refs[i].kind == kind && refs[i].flags == flags &&
		    strcmp(refs[i].id, id) == 0)
			return 0;
	if (*n == OWNER_REFS_MAX)
		return -1;
	refs[*n].kind = kind;
	refs[*n].flags = flags;
	pw_strlcpy(refs[*n].id, id, sizeof(refs[0].id));
	(*n)++;
	return 0;
}

/* A network name Docker provides itself (never owned). */
static int
builtin_network(const char *s)
{
	static const char *const b[] = { "", "default", "bridge", "host",
	    "none", "ingress", "docker_gwbridge", NULL };
	size_t	i;

	for (i = 0; b[i] != NULL; i++)
		if (strcmp(s, b[i]) == 0)
			return 1;
	return 0;
}

/* "container:<ref>" (any case, spaces trimmed): the ref, else NULL. */
static const char *
ns_container(const char *s, char *buf, size_t bufsz)
{
	size_t	n;

	while (*s == ' ' || *s == '\t')
		s++;
	if (strncasecmp(s, "container:", 10) != 0)
		return NULL;
	s += 10;
	while (*s == ' ' || *s == '\t')
		s++;
	pw_strlcpy(buf, s, bufsz);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	return buf;
}

int
pol_owner_refs(const uint8_t *body, size_t len, int ns_sharing,
    struct owner_ref *refs, size_t *nrefs)
{
	static const char *const nsf[] = { "NetworkMode", "PidMode",
	    "IpcMode", "UTSMode", "UsernsMode" };
	json_t		*top = NULL, *hc, *a, *e, *nc, *ec, *ep;
	const char	*s, *k;
	char		 buf[OWNER_REF_MAX];
	size_t		 i, n;
	int		 rc = -1;

	*nrefs = 0;
	if (len == 0 || gj_decode(body, len, &top) != GJ_DEC_OK ||
	    !json_is_object(top))
		goto out;
	if (gj_str(top, "Image", &s) == GJ_OK && ref_add(refs, nrefs,
	    OWK_IMAGE, 0, s) == -1)
		goto out;
	if (gj_obj(top, "HostConfig", &hc) != GJ_OK)
		hc = NULL;
	if (hc != NULL && gj_arr(hc, "Binds", &a) == GJ_OK)
		json_array_foreach(a, i, e) {
			if (!json_is_string(e))
				continue;
			s = json_string_value(e);
			n = strcspn(s, ":");
			if (n == 0 || s[0] == '/' || s[n] != ':' ||
			    n >= sizeof(buf))
				continue;
			memcpy(buf, s, n);
			buf[n] = '\0';
			if (ref_add(refs, nrefs, OWK_VOLUME, 0, buf) == -1)
				goto out;
		}
	if (hc != NULL && gj_arr(hc, "Mounts", &a) == GJ_OK)
		json_array_foreach(a, i, e) {
			if (gj_str(e, "Type", &s) != GJ_OK ||
			    strcasecmp(s, "volume") != 0 ||
			    gj_str(e, "Source", &s) != GJ_OK)
				continue;
			if (ref_add(refs, nrefs, OWK_VOLUME, 0, s) == -1)
				goto out;
		}
	for (i = 0; hc != NULL && i < nitems(nsf); i++) {
		if (gj_str(hc, nsf[i], &s) != GJ_OK)
			continue;
		if (ns_container(s, buf, sizeof(buf)) != NULL) {
			if (!ns_sharing && ref_add(refs, nrefs, OWK_CONTAINER,
			    OWNER_REF_NS, buf) == -1)
				goto out;
		} else if (i == 0 && !builtin_network(s) &&
		    strncasecmp(s, "ns:", 3) != 0 &&
		    ref_add(refs, nrefs, OWK_NETWORK, 0, s) == -1)
			goto out;
	}
	if (gj_obj(top, "NetworkingConfig", &nc) == GJ_OK &&
	    gj_obj(nc, "EndpointsConfig", &ec) == GJ_OK)
		json_object_foreach(ec, k, ep) {
			if (!builtin_network(k) && ref_add(refs, nrefs,
			    OWK_NETWORK, 0, k) == -1)
				goto out;
			if (json_is_object(ep) && gj_str(ep, "NetworkID", &s) ==
			    GJ_OK && ref_add(refs, nrefs, OWK_NETWORK, 0, s) ==
			    -1)
				goto out;
		}
	rc = 0;
out:
	json_decref(top);
	return rc;
}

int
pol_owner_exec_ref(const uint8_t *ans, size_t len, struct owner_ref *ref)
{
	json_t		*top;
	const char	*cid;
	int		 rc = -1;

	if ((top = json_loadb((const char *)ans, len, 0, NULL)) == NULL)
		return -1;
	if (json_is_object(top) && (cid = json_string_value(
	    json_object_get(top, "ContainerID"))) != NULL && *cid != '\0' &&
	    strlen(cid) < sizeof(ref->id)) {
		ref->kind = OWK_CONTAINER;
		ref->flags = OWNER_REF_NS;
		pw_strlcpy(ref->id, cid, sizeof(ref->id));
		rc = 0;
	}
	json_decref(top);
	return rc;
}
