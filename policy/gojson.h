/*
 * gojson.h: JSON read the way Go's encoding/json binds it into Docker's
 * structs (policy process only).  jansson parses; these helpers find a
 * struct field by its Go name with Go's case folding, check the JSON type
 * Go would require, and refuse objects whose keys collide under folding.
 */
#ifndef PW_GOJSON_H
#define PW_GOJSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Results of the gj_ readers. */
#define GJ_OK		0	/* found, right type */
#define GJ_ABSENT	1	/* no such key, or null */
#define GJ_TYPE		-1	/* present with a type Go would refuse */

/* gj_decode results. */
#define GJ_DEC_OK	0
#define GJ_DEC_BAD	-1	/* not JSON, trailing data, too deep */
#define GJ_DEC_DUP	-2	/* two keys that are equal or fold equal */

/*
 * Decode a whole body (any JSON value; trailing data refused) and check
 * that no object outside the data maps holds two keys that fold equal.
 * On GJ_DEC_OK *out holds a reference the caller drops with json_decref.
 */
int	 gj_decode(const uint8_t *, size_t, json_t **);
/* Check an already decoded value the same way: 0, or GJ_DEC_DUP. */
int	 gj_check_dups(json_t *);

/* Go's fold equality between a JSON key and an ASCII field name. */
int	 gj_key_is(const char *, const char *);
/* The member of obj whose key folds equal to name, or NULL. */
json_t	*gj_get(json_t *, const char *);

int	 gj_bool(json_t *, const char *, int *);
int	 gj_str(json_t *, const char *, const char **);
int	 gj_int(json_t *, const char *, long long *);
int	 gj_obj(json_t *, const char *, json_t **);
int	 gj_arr(json_t *, const char *, json_t **);
/* An array of strings (null elements read as ""); GJ_TYPE otherwise. */
int	 gj_strarr(json_t *, const char *, json_t **);

#endif
