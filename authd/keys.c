/*
 * keys.c (authd; also the master and the CLI, to validate): the
 * authorized_keys registry.
 *
 * Line grammar, after trimming; empty lines and lines starting with '#'
 * are skipped:
 *
 *     [options] ed25519 BASE64 [comment...]
 *
 * BASE64 is the standard padded encoding of the raw 32-byte public key.
 * options is a comma-separated list in OpenSSH's style:
 *     from="CIDR,..."        the client address must be in one of them
 *     expiry-time="YYYYMMDD[HHMM[SS]][Z]"   UTC; the key stops working then
 *     policy="NAME"          policy profile carried with the principal
 * Anything else on a line (unknown option, other key type, bad encoding)
 * rejects the file with that line's number: a key the operator meant to
 * add is never silently dropped.  Duplicate key IDs keep the first line.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "authd.h"
#include "log.h"
#include "pwcrypto.h"
#include "util.h"

#define KEYS_LINE_MAX	(64 * 1024)

static int
errf_line(char *err, size_t errsz, int line, const char *msg)
{
	snprintf(err, errsz, "line %d: %s", line, msg);
	return -1;
}

static int
digits(const char *d, size_t off, size_t len)
{
	int	v = 0;
	size_t	i;

	for (i = 0; i < len; i++)
		v = v * 10 + (d[off + i] - '0');
	return v;
}

/* YYYYMMDD[HHMM[SS]][Z], always UTC. */
static int
parse_expiry(const char *s, int64_t *out)
{
	struct tm	tm;
	size_t		n = strlen(s), i;
	char		d[15];

	if (n > 0 && (s[n - 1] == 'Z' || s[n - 1] == 'z'))
		n--;
	if (n != 8 && n != 12 && n != 14)
		return -1;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	memset(d, '0', sizeof(d));
	memcpy(d, s, n);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(d, 0, 4) - 1900;
	tm.tm_mon = digits(d, 4, 2) - 1;
	tm.tm_mday = digits(d, 6, 2);
	tm.tm_hour = digits(d, 8, 2);
	tm.tm_min = digits(d, 10, 2);
	tm.tm_sec = digits(d, 12, 2);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60 || tm.tm_year < 70)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/*
 * Parse the options prefix at *pp (up to the first unquoted whitespace)
 * into k.  Returns -1 with a message on anything unexpected.
 */
static int
parse_options(char **pp, struct authkey *k, const char **why)
{
	char	*p = *pp, *name, *val, *q;

	for (;;) {
		name = p;
		while (*p == '-' || isalpha((unsigned char)*p))
			p++;
		if (p == name || *p != '=' || p[1] != '"') {
			*why = "malformed option (expected name=\"value\")";
			return -1;
		}
		*p = '\0';
		val = p + 2;
		if ((q = strchr(val, '"')) == NULL) {
			*why = "unterminated option value";
			return -1;
		}
		*q = '\0';
		p = q + 1;
		if (strcmp(name, "from") == 0) {
			char cerr[128];
			if (k->from != NULL) {
				*why = "from given twice";
				return -1;
			}
			if (cidr_parse_list(val, &k->from, &k->nfrom, cerr,
			    sizeof(cerr)) == -1 || k->nfrom == 0) {
				*why = "from=\"...\" needs IP addresses or CIDR "
				    "networks";
				return -1;
			}
		} else if (strcmp(name, "expiry-time") == 0) {
			if (parse_expiry(val, &k->expiry) == -1) {
				*why = "expiry-time must be YYYYMMDD[HHMM[SS]]";
				return -1;
			}
		} else if (strcmp(name, "policy") == 0) {
			if (*val == '\0' || strlen(val) >= sizeof(k->policy) ||
			    strspn(val, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
			    strlen(val)) {
				*why = "policy must be a name of letters, digits, "
				    "'-', '_' or '.'";
				return -1;
			}
			pw_strlcpy(k->policy, val, sizeof(k->policy));
		} else {
			*why = "unknown option";
			return -1;
		}
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p != ' ' && *p != '\t') {
			*why = "options must be followed by a space";
			return -1;
		}
		*pp = p;
		return 0;
	}
}

static void
key_clear(struct authkey *k)
{
	free(k->from);
	memset(k, 0, sizeof(*k));
}

void
keys_free(struct keyset *ks)
{
	int	i;

	for (i = 0; i < ks->n; i++)
		key_clear(&ks->keys[i]);
	free(ks->keys);
	memset(ks, 0, sizeof(*ks));
}

static int
parse_line(char *line, int lineno, struct authkey *k, char *err,
    size_t errsz)
{
	const char	*why = NULL;
	char		*p = line, *b64, *comment;
	EVP_PKEY	*pkey;
	size_t		 n;

	memset(k, 0, sizeof(*k));
	if (strncmp(p, "ed25519", 7) != 0 || (p[7] != ' ' && p[7] != '\t')) {
		if (strncmp(p, "ssh-ed25519", 11) == 0)
			return errf_line(err, errsz, lineno, "OpenSSH key lines "
			    "are not accepted: use \"ed25519 <base64 of the raw "
			    "32-byte key>\" (portwing keygen prints one)");
		if (parse_options(&p, k, &why) == -1) {
			key_clear(k);
			return errf_line(err, errsz, lineno, why);
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "ed25519", 7) != 0 ||
		    (p[7] != ' ' && p[7] != '\t')) {
			key_clear(k);
			return errf_line(err, errsz, lineno, "expected key type "
			    "\"ed25519\"");
		}
	}
	p += 7;
	while (*p == ' ' || *p == '\t')
		p++;
	b64 = p;
	n = strcspn(p, " \t");
	comment = p + n;
	if (pwc_b64_decode_exact(b64, n, k->pub, 32) == -1) {
		key_clear(k);
		return errf_line(err, errsz, lineno, "the key must be the "
		    "standard base64 of exactly 32 bytes");
	}
	while (*comment == ' ' || *comment == '\t')
		comment++;
	/*
	 * Comment words joined by single spaces, cut at the buffer.  strlcat
	 * keeps the cut safe: adding up snprintf's return values overran
	 * the buffer once it was full.
	 */
	{
		char	*w, *save = NULL;
		for (w = strtok_r(comment, " \t", &save); w != NULL;
		    w = strtok_r(NULL, " \t", &save)) {
			if (k->comment[0] != '\0')
				pw_strlcat(k->comment, " ", sizeof(k->comment));
			pw_strlcat(k->comment, w, sizeof(k->comment));
		}
	}
	pwc_key_id(k->pub, k->id);
	/* Only checked here: sig.c verifies with the raw key (libsodium). */
	if ((pkey = pwc_pubkey_from_raw(k->pub)) == NULL) {
		key_clear(k);
		return errf_line(err, errsz, lineno, "not a valid Ed25519 key");
	}
	EVP_PKEY_free(pkey);
	return 0;
}

/*
 * Parse a whole authorized_keys text.  On error nothing is kept and err
 * names the line.
 */
int
keys_parse(const char *text, size_t len, struct keyset *out, char *err,
    size_t errsz)
{
	struct keyset	 ks;
	struct authkey	 k;
	const char	*p = text, *end = text + len, *nl;
	char		*line;
	int		 lineno = 0, i, dup;

	memset(&ks, 0, sizeof(ks));
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl - p > KEYS_LINE_MAX) {
			keys_free(&ks);
			return errf_line(err, errsz, lineno, "longer than 64 KiB");
		}
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL) {
			keys_free(&ks);
			return errf_line(err, errsz, lineno, "NUL byte");
		}
		line = xstrndup(p, (size_t)(nl - p));
		p = nl + 1;
		{
			char *t = pw_trim(line);
			if (*t == '\0' || *t == '#') {
				free(line);
				continue;
			}
			if (parse_line(t, lineno, &k, err, errsz) == -1) {
				free(line);
				keys_free(&ks);
				return -1;
			}
		}
		free(line);
		dup = 0;
		for (i = 0; i < ks.n; i++)
			if (strcmp(ks.keys[i].id, k.id) == 0)
				dup = 1;
		if (dup) {
			key_clear(&k);
			continue;	/* the first line for a key wins */
		}
		ks.keys = xreallocarray(ks.keys, (size_t)ks.n + 1,
		    sizeof(*ks.keys));
		ks.keys[ks.n++] = k;
	}
	*out = ks;
	return 0;
}

const struct authkey *
keys_find(const struct keyset *ks, const char *id)
{
	int	i;

	for (i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i].id, id) == 0)
			return &ks->keys[i];
	return NULL;
}
