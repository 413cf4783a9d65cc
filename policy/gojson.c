/*
 * gojson.c: Go encoding/json binding rules over jansson, for the body
 * inspectors of the policy process.
 *
 * Go matches an object key to a struct field when the two are equal
 * under Unicode simple case folding.  Docker's field names are ASCII, and
 * the only non-ASCII runes that fold onto ASCII letters are U+017F (long
 * s, onto 's') and U+212A (Kelvin sign, onto 'k'), so a key is compared
 * as a sequence of units: ASCII letters upper-cased, those two runes
 * turned into 'S' and 'K', every other byte kept as it is (such a byte
 * can never equal a byte of an ASCII name).
 *
 * Go keeps the last of two keys that bind the same field and merges two
 * objects given for one field; a reader that looked at the first would
 * be fooled, so an object that holds two keys folding to the same name
 * is refused outright, except at the key level of the maps Docker keeps
 * as case-sensitive data (labels, options...).
 */
#include "pwbuild.h"

#include <stdlib.h>
#include <string.h>

#include "gojson.h"
#include "util.h"

/* Objects this small are checked pairwise; larger ones are sorted. */
#define GJ_SMALL	8

/* Keys whose value is a map of data: its own keys are case-sensitive. */
static const char *const gj_datamaps[] = {
	"Labels", "Annotations", "Volumes", "ExposedPorts", "PortBindings",
	"Sysctls", "StorageOpt", "Tmpfs", "EndpointsConfig", "Options",
	"DriverOpts", "Opts", "AuxiliaryAddresses",
};

/* Next folded unit of *p, or -1 at the end. */
static int
gj_unit(const unsigned char **p)
{
	const unsigned char	*s = *p;
	int			 c = s[0];

	if (c == '\0')
		return -1;
	if (c == 0xc5 && s[1] == 0xbf) {		/* U+017F */
		*p = s + 2;
		return 'S';
	}
	if (c == 0xe2 && s[1] == 0x84 && s[2] == 0xaa) {	/* U+212A */
		*p = s + 3;
		return 'K';
	}
	*p = s + 1;
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 'A';
	return c;
}

static int
gj_foldcmp(const char *a, const char *b)
{
	const unsigned char	*p = (const unsigned char *)a;
	const unsigned char	*q = (const unsigned char *)b;
	int			 x, y;

	for (;;) {
		x = gj_unit(&p);
		y = gj_unit(&q);
		if (x != y)
			return x < y ? -1 : 1;
		if (x == -1)
			return 0;
	}
}

static int
gj_qcmp(const void *a, const void *b)
{
	return gj_foldcmp(*(const char *const *)a, *(const char *const *)b);
}

int
gj_key_is(const char *key, const char *name)
{
	return gj_foldcmp(key, name) == 0;
}

json_t *
gj_get(json_t *obj, const char *name)
{
	const char	*k;
	json_t		*v;

	if (!json_is_object(obj))
		return NULL;
	/* The exact spelling is the common case and a hash lookup. */
	if ((v = json_object_get(obj, name)) != NULL)
		return v;
	json_object_foreach(obj, k, v) {
		if (gj_key_is(k, name))
			return v;
	}
	return NULL;
}

/* 1 when two keys of obj fold equal. */
static int
gj_obj_has_dup(json_t *obj)
{
	const char	**keys, *k, *k2;
	json_t		 *v;
	void		 *it, *it2;
	size_t		  n, i;
	int		  dup = 0;

	n = json_object_size(obj);
	if (n < 2)
		return 0;
	if (n <= GJ_SMALL) {
		for (it = json_object_iter(obj); it != NULL;
		    it = json_object_iter_next(obj, it)) {
			k = json_object_iter_key(it);
			for (it2 = json_object_iter_next(obj, it); it2 != NULL;
			    it2 = json_object_iter_next(obj, it2)) {
				k2 = json_object_iter_key(it2);
				if (gj_foldcmp(k, k2) == 0)
					return 1;
			}
		}
		return 0;
	}
	keys = xreallocarray(NULL, n, sizeof(*keys));
	i = 0;
	json_object_foreach(obj, k, v) {
		if (i < n)
			keys[i++] = k;
	}
	qsort(keys, i, sizeof(*keys), gj_qcmp);
	for (n = 1; n < i && !dup; n++)
		dup = gj_foldcmp(keys[n - 1], keys[n]) == 0;
	free(keys);
	return dup;
}

static int
gj_is_datamap(const char *key, int in_logconfig)
{
	size_t	i;

	if (in_logconfig && gj_key_is(key, "Config"))
		return 1;
	for (i = 0; i < nitems(gj_datamaps); i++)
		if (gj_key_is(key, gj_datamaps[i]))
			return 1;
	return 0;
}

/*
 * datamap: v is a data map (its keys are data); logcfg: v is the value
 * of a LogConfig field.  jansson bounds the nesting depth.
 */
static int
gj_walk(json_t *v, int datamap, int logcfg)
{
	const char	*k;
	json_t		*e;
	size_t		 i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (gj_walk(e, 0, 0) == -1)
				return -1;
		}
		return 0;
	}
	if (!json_is_object(v))
		return 0;
	if (!datamap && gj_obj_has_dup(v))
		return -1;
	json_object_foreach(v, k, e) {
		if (datamap) {
			if (gj_walk(e, 0, 0) == -1)
				return -1;
			continue;
		}
		if (gj_walk(e, gj_is_datamap(k, logcfg),
		    gj_key_is(k, "LogConfig")) == -1)
			return -1;
	}
	return 0;
}

int
gj_check_dups(json_t *v)
{
	return gj_walk(v, 0, 0) == -1 ? GJ_DEC_DUP : GJ_DEC_OK;
}

int
gj_decode(const uint8_t *buf, size_t len, json_t **out)
{
	json_error_t	 err;
	json_t		*v;

	*out = NULL;
	/*
	 * Any value at the top (Go accepts null for a struct), trailing data
	 * refused (jansson's default end-of-input check), integers kept as
	 * integers, NUL in strings refused, invalid UTF-8 refused.
	 */
	v = json_loadb((const char *)buf, len,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
	if (v == NULL)
		return json_error_code(&err) == json_error_duplicate_key ?
		    GJ_DEC_DUP : GJ_DEC_BAD;
	if (gj_check_dups(v) != GJ_DEC_OK) {
		json_decref(v);
		return GJ_DEC_DUP;
	}
	*out = v;
	return GJ_DEC_OK;
}

/* The member for name; GJ_ABSENT for a missing key or a null. */
static int
gj_member(json_t *obj, const char *name, json_t **out)
{
	json_t	*v;

	*out = NULL;
	if ((v = gj_get(obj, name)) == NULL || json_is_null(v))
		return GJ_ABSENT;
	*out = v;
	return GJ_OK;
}

int
gj_bool(json_t *obj, const char *name, int *out)
{
	json_t	*v;
	int	 r;

	*out = 0;
	if ((r = gj_member(obj, name, &v)) != GJ_OK)
		return r;
	if (!json_is_boolean(v))
		return GJ_TYPE;
	*out = json_is_true(v);
	return GJ_OK;
}

int
gj_str(json_t *obj, const char *name, const char **out)
{
	json_t	*v;
	int	 r;

	*out = "";
	if ((r = gj_member(obj, name, &v)) != GJ_OK)
		return r;
	if (!json_is_string(v))
		return GJ_TYPE;
	*out = json_string_value(v);
	return GJ_OK;
}

int
gj_int(json_t *obj, const char *name, long long *out)
{
	json_t	*v;
	int	 r;

	*out = 0;
	if ((r = gj_member(obj, name, &v)) != GJ_OK)
		return r;
	/* Go refuses 1.0 or 1e3 for an integer field. */
	if (!json_is_integer(v))
		return GJ_TYPE;
	*out = (long long)json_integer_value(v);
	return GJ_OK;
}

int
gj_obj(json_t *obj, const char *name, json_t **out)
{
	int	r;

	if ((r = gj_member(obj, name, out)) != GJ_OK)
		return r;
	if (!json_is_object(*out)) {
		*out = NULL;
		return GJ_TYPE;
	}
	return GJ_OK;
}

int
gj_arr(json_t *obj, const char *name, json_t **out)
{
	int	r;

	if ((r = gj_member(obj, name, out)) != GJ_OK)
		return r;
	if (!json_is_array(*out)) {
		*out = NULL;
		return GJ_TYPE;
	}
	return GJ_OK;
}

int
gj_strarr(json_t *obj, const char *name, json_t **out)
{
	json_t	*e;
	size_t	 i;
	int	 r;

	if ((r = gj_arr(obj, name, out)) != GJ_OK)
		return r;
	json_array_foreach(*out, i, e) {
		if (!json_is_string(e) && !json_is_null(e)) {
			*out = NULL;
			return GJ_TYPE;
		}
	}
	return GJ_OK;
}
