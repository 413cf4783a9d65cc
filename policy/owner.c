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

#include <jansson.h>

#include "gojson.h"
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
pol_owner_stamps(enum pol_insp insp)
{
	return insp == PI_CONTAINER_CREATE || insp == PI_NETWORK_CREATE ||
	    insp == PI_VOLUME_CREATE;
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
	int	 r;

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
