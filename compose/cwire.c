/*
 * cwire.c (compose runner): POST /_portwing/compose's body, read and
 * checked without any I/O, and what running it takes: the compose
 * argument vector and the text of .env.drydock (reference §12).
 *
 * The checks and their messages are Portwing's (its compose validation,
 * in its order), so a client sees the same "error" text from either
 * agent.  Those messages quote values the way Go's %q does, and one of
 * them carries the error of Go's url.ParseRequestURI; both are
 * reproduced here from their documented behaviour.  Where Go iterates a
 * map in random order we go by sorted key, so the first failure reported
 * does not change from one request to the next.
 *
 * Paths are checked lexically and kept relative: the stack directory
 * relative to STACKS_DIR, each file relative to the stack directory.
 * Whoever opens them resolves them beneath a directory descriptor; no
 * ".." and no leading "/" survive compose_validate.
 */
#include "pwbuild.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cwire.h"
#include "util.h"

#define B64_PREFIX	"base64:"

/* How url.unescape is being asked to read a piece of a URL. */
enum uri_mode {
	URI_PATH,
	URI_HOST,
	URI_ZONE,
	URI_USER
};

static const char *const env_denied[] = {
	"LD_PRELOAD", "LD_LIBRARY_PATH", "PATH", "DOCKER_HOST",
	"DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY",
	"DOCKER_CONTEXT", "HOME", "SHELL", "BASH_ENV", "ENV", "CDPATH", "IFS",
};

static const char *const compose_ops[] = {
	"up", "down", "pull", "ps", "logs", "restart", "stop", "start",
};

/*
 * Code points above ASCII that Go's strconv.IsPrint calls unprintable
 * and %q therefore escapes: controls, spaces other than ' ', format
 * characters, private use and noncharacters.  Unassigned code points
 * (which Go also escapes) are not listed: that takes Unicode's tables,
 * and a name that holds one gets it back as it was sent.
 */
static const struct {
	long	lo, hi;
} unprintable[] = {
	{ 0x80, 0xa0 }, { 0xad, 0xad }, { 0x600, 0x605 }, { 0x61c, 0x61c },
	{ 0x6dd, 0x6dd }, { 0x70f, 0x70f }, { 0x890, 0x891 },
	{ 0x8e2, 0x8e2 }, { 0x1680, 0x1680 }, { 0x180e, 0x180e },
	{ 0x2000, 0x200f }, { 0x2028, 0x202f }, { 0x205f, 0x206f },
	{ 0x3000, 0x3000 }, { 0xd800, 0xf8ff }, { 0xfdd0, 0xfdef },
	{ 0xfeff, 0xfeff }, { 0xfff0, 0xfffb }, { 0x110bd, 0x110bd },
	{ 0x110cd, 0x110cd }, { 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 },
	{ 0x1d173, 0x1d17a }, { 0xe0000, 0xe00ff }, { 0xf0000, 0x10ffff },
};

static int
cw_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((__format__(printf, 3, 4)));

static int
cw_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * The rune at s and its width, as Go's utf8.DecodeRune reads it: a byte
 * that starts no well-formed sequence (overlong forms and surrogates
 * included) is a rune of its own, -1 here.
 */
static int
utf8_rune(const unsigned char *s, size_t n, long *r)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		w, i;
	long		v;

	*r = -1;
	if (s[0] < 0x80) {
		*r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		w = 2;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		w = 3;
		v = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		w = 4;
		v = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 1;
	if (w > n)
		return 1;
	for (i = 1; i < w; i++) {
		if (s[i] < lo || s[i] > hi)
			return 1;
		lo = 0x80;
		hi = 0xbf;
		v = v << 6 | (s[i] & 0x3f);
	}
	*r = v;
	return (int)w;
}

static int
rune_printable(long r)
{
	size_t	i;

	if (r < 0x80)
		return r >= 0x20 && r < 0x7f;
	if ((r & 0xfffe) == 0xfffe)
		return 0;
	for (i = 0; i < nitems(unprintable); i++)
		if (r >= unprintable[i].lo && r <= unprintable[i].hi)
			return 0;
	return 1;
}

/*
 * s quoted as Go's %q (strconv.Quote) prints it, in a new string: the
 * messages Portwing returns quote names that way, and a client may
 * compare them.
 */
static char *
goq(const char *s, size_t n)
{
	static const char	 named[] = "\a\b\f\n\r\t\v";
	static const char	 names[] = "abfnrtv";
	const unsigned char	*p = (const unsigned char *)s;
	const char		*c;
	size_t			 i = 0, cap = 4 * n + 3, o = 0;
	char			*q;
	long			 r;
	int			 w;

	/*
	 * At most four characters out for each byte in: "\x00" for one,
	 * "\u0080" for two, "\U000e0001" for four.
	 */
	q = xmalloc(cap);
	q[o++] = '"';
	while (i < n) {
		w = utf8_rune(p + i, n - i, &r);
		if (r == -1)
			o += snprintf(q + o, cap - o, "\\x%02x", p[i]);
		else if (r == '"' || r == '\\') {
			q[o++] = '\\';
			q[o++] = (char)r;
		} else if (rune_printable(r)) {
			memcpy(q + o, p + i, w);
			o += w;
		} else if (r > 0 && r < 0x20 &&
		    (c = strchr(named, (int)r)) != NULL) {
			q[o++] = '\\';
			q[o++] = names[c - named];
		} else if (r < 0x20 || r == 0x7f)
			o += snprintf(q + o, cap - o, "\\x%02lx", r);
		else if (r < 0x10000)
			o += snprintf(q + o, cap - o, "\\u%04lx", r);
		else
			o += snprintf(q + o, cap - o, "\\U%08lx", r);
		i += w;
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

/* pre, then s quoted, then post. */
static int
cw_failq(char *err, size_t errlen, const char *pre, const char *s,
    const char *post)
{
	char	*q = goq(s, strlen(s));

	cw_fail(err, errlen, "%s%s%s", pre, q, post);
	free(q);
	return -1;
}

/*
 * ---- Go's url.ParseRequestURI, for registryAuth.server ----
 *
 * Each step below answers NULL when Go accepts its piece, or the text of
 * Go's error, which the caller puts after `parse "<url>": `.
 */

static char *
cw_strf(const char *fmt, ...) __attribute__((__format__(printf, 1, 2)));

static char *
cw_strf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1 || s == NULL) {
		va_end(ap);
		return xstrdup("out of memory");
	}
	va_end(ap);
	return s;
}

/* pre, s quoted, post, in a new string. */
static char *
cw_strq(const char *pre, const char *s, size_t n, const char *post)
{
	char	*q = goq(s, n), *r;

	r = cw_strf("%s%s%s", pre, q, post);
	free(q);
	return r;
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* A byte a host (or an IPv6 zone) may not hold unescaped. */
static int
host_escape(int c)
{
	return c == '\0' || (!is_alnum(c) &&
	    strchr("-_.~!$&'()*+,;=:[]<>\"", c) == NULL);
}

/*
 * Percent-decoding with Go's refusals: a malformed escape anywhere; in a
 * host, an escape of an ASCII byte (but "%25") and any byte a host may
 * not hold; in a zone, an escape of such a byte.  out, when given,
 * receives the decoded bytes (never more than n).
 */
static char *
uri_unescape(const char *s, size_t n, enum uri_mode mode, char *out,
    size_t *outlen)
{
	unsigned char	c, v;
	size_t		i = 0, o = 0;
	int		pct25;

	while (i < n) {
		c = (unsigned char)s[i];
		if (c != '%') {
			if ((mode == URI_HOST || mode == URI_ZONE) &&
			    c < 0x80 && host_escape(c))
				return cw_strq("invalid character ", s + i, 1,
				    " in host name");
			if (out != NULL)
				out[o++] = (char)c;
			i++;
			continue;
		}
		if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
			return cw_strq("invalid URL escape ", s + i,
			    n - i > 3 ? 3 : n - i, "");
		v = (unsigned char)(hex_val(s[i + 1]) << 4 | hex_val(s[i + 2]));
		pct25 = strncmp(s + i, "%25", 3) == 0;
		if ((mode == URI_HOST && hex_val(s[i + 1]) < 8 && !pct25) ||
		    (mode == URI_ZONE && !pct25 && v != ' ' && host_escape(v)))
			return cw_strq("invalid URL escape ", s + i, 3, "");
		if (out != NULL)
			out[o++] = (char)v;
		i += 3;
	}
	if (outlen != NULL)
		*outlen = o;
	return NULL;
}

/* "" or ":" and digits. */
static int
uri_port_ok(const char *p, size_t n)
{
	size_t	i;

	if (n == 0)
		return 1;
	if (p[0] != ':')
		return 0;
	for (i = 1; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

static char *
ip_err(const char *in, size_t n, const char *msg, const char *at,
    size_t atlen)
{
	char	*qi = goq(in, n), *qa, *r;

	if (at == NULL || atlen == 0)
		r = cw_strf("ParseAddr(%s): %s", qi, msg);
	else {
		qa = goq(at, atlen);
		r = cw_strf("ParseAddr(%s): %s (at %s)", qi, msg, qa);
		free(qa);
	}
	free(qi);
	return r;
}

/* netip's dotted-quad reader: four decimal octets, no leading zero. */
static char *
ip4_parse(const char *s, size_t n)
{
	size_t	i;
	int	val = 0, pos = 0, digits = 0;

	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && val == 0)
				return ip_err(s, n, "IPv4 field has octet with "
				    "leading zero", NULL, 0);
			val = val * 10 + s[i] - '0';
			digits++;
			if (val > 255)
				return ip_err(s, n, "IPv4 field has value >255",
				    NULL, 0);
		} else if (s[i] == '.') {
			if (i == 0 || i == n - 1 || s[i - 1] == '.')
				return ip_err(s, n, "IPv4 field must have at "
				    "least one digit", s + i, n - i);
			if (pos == 3)
				return ip_err(s, n, "IPv4 address too long",
				    NULL, 0);
			pos++;
			val = digits = 0;
		} else
			return ip_err(s, n, "unexpected character", s + i,
			    n - i);
	}
	if (pos < 3)
		return ip_err(s, n, "IPv4 address too short", NULL, 0);
	return NULL;
}

/* netip's IPv6 reader: 16-bit hex groups, one "::", a dotted quad last. */
static char *
ip6_parse(const char *in, size_t n)
{
	const char	*s = in, *pct;
	size_t		 sl = n, off;
	unsigned long	 acc;
	int		 i = 0, ellipsis = -1;
	char		*e, *r;

	if ((pct = memchr(in, '%', n)) != NULL) {
		sl = (size_t)(pct - in);
		if (sl + 1 == n)
			return ip_err(in, n, "zone must be a non-empty string",
			    NULL, 0);
	}
	if (sl >= 2 && s[0] == ':' && s[1] == ':') {
		ellipsis = 0;
		s += 2;
		sl -= 2;
		if (sl == 0)
			return NULL;
	}
	while (i < 16) {
		for (acc = 0, off = 0; off < sl && is_hex(s[off]); off++)
			if ((acc = acc << 4 | hex_val(s[off])) > 0xffff)
				return ip_err(in, n, "IPv6 field has value "
				    ">=2^16", s, sl);
		if (off == 0)
			return ip_err(in, n, "each colon-separated field must "
			    "have at least one digit", s, sl);
		if (off < sl && s[off] == '.') {
			if (ellipsis < 0 && i != 12)
				return ip_err(in, n, "embedded IPv4 address "
				    "must replace the final 2 fields of the "
				    "address", s, sl);
			if (i + 4 > 16)
				return ip_err(in, n, "too many hex fields to "
				    "fit an embedded IPv4 at the end of the "
				    "address", s, sl);
			if ((e = ip4_parse(s, sl)) != NULL) {
				r = ip_err(in, n, e, s, sl);
				free(e);
				return r;
			}
			sl = 0;
			i += 4;
			break;
		}
		i += 2;
		s += off;
		sl -= off;
		if (sl == 0)
			break;
		if (s[0] != ':')
			return ip_err(in, n, "unexpected character, want "
			    "colon", s, sl);
		if (sl == 1)
			return ip_err(in, n, "colon must be followed by more "
			    "characters", s, sl);
		s++;
		sl--;
		if (s[0] == ':') {
			if (ellipsis >= 0)
				return ip_err(in, n, "multiple :: in address",
				    s, sl);
			ellipsis = i;
			s++;
			sl--;
			if (sl == 0)
				break;
		}
	}
	if (sl != 0)
		return ip_err(in, n, "trailing garbage after address", s, sl);
	if (i < 16 && ellipsis < 0)
		return ip_err(in, n, "address string too short", NULL, 0);
	if (i == 16 && ellipsis >= 0)
		return ip_err(in, n, "the :: must expand to at least one field "
		    "of zeros", NULL, 0);
	return NULL;
}

/* netip.ParseAddr: the first '.', ':' or '%' says which reader. */
static char *
ip_parse(const char *s, size_t n, int *is4)
{
	size_t	i;

	*is4 = 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			*is4 = 1;
			return ip4_parse(s, n);
		}
		if (s[i] == ':')
			return ip6_parse(s, n);
		if (s[i] == '%')
			return ip_err(s, n, "missing IPv6 address", NULL, 0);
	}
	return ip_err(s, n, "unable to parse IP", NULL, 0);
}

static const char *
mem_last(const char *s, size_t n, int c)
{
	while (n > 0)
		if (s[--n] == c)
			return s + n;
	return NULL;
}

/* "[v6addr%25zone]:port": only an IPv6 address may be bracketed. */
static char *
uri_ip_literal(const char *h, size_t n)
{
	const char	*rb, *name, *zone;
	size_t		 nl, o1 = 0, o2 = 0;
	char		*buf, *e, *r;
	int		 is4;

	if ((rb = mem_last(h, n, ']')) == NULL)
		return xstrdup("missing ']' in host");
	if (!uri_port_ok(rb + 1, n - (size_t)(rb + 1 - h)))
		return cw_strq("invalid port ", rb + 1,
		    n - (size_t)(rb + 1 - h), " after host");
	name = h + 1;
	nl = (size_t)(rb - name);
	buf = xmalloc(nl + 1);
	zone = NULL;
	if (nl >= 3)
		zone = memmem(name, nl, "%25", 3);
	if (zone != NULL) {
		e = uri_unescape(name, (size_t)(zone - name), URI_HOST, buf,
		    &o1);
		if (e == NULL)
			e = uri_unescape(zone, nl - (size_t)(zone - name),
			    URI_ZONE, buf + o1, &o2);
	} else
		e = uri_unescape(name, nl, URI_HOST, buf, &o1);
	if (e != NULL) {
		free(buf);
		return e;
	}
	r = ip_parse(buf, o1 + o2, &is4);
	free(buf);
	if (r != NULL) {
		e = cw_strf("invalid host: %s", r);
		free(r);
		return e;
	}
	return is4 ? xstrdup("invalid IP-literal") : NULL;
}

/*
 * host[:port].  For http and https a second colon is an error (Go 1.26's
 * strict colons); other schemes take the last colon as the port's.
 */
static char *
uri_host(const char *scheme, const char *h, size_t n)
{
	const char	*lb, *colon, *last;
	size_t		 pl;

	if ((lb = mem_last(h, n, '[')) != NULL && lb != h)
		return xstrdup("invalid IP-literal");
	if (lb == h)
		return uri_ip_literal(h, n);
	if ((colon = memchr(h, ':', n)) != NULL) {
		last = mem_last(h, n, ':');
		if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
			colon = last;
		pl = n - (size_t)(colon - h);
		if (!uri_port_ok(colon, pl))
			return cw_strq("invalid port ", colon, pl,
			    " after host");
	}
	return uri_unescape(h, n, URI_HOST, NULL, NULL);
}

/* RFC 3986's userinfo characters, '@' and '%' included. */
static int
uri_userinfo_ok(const char *s, size_t n)
{
	size_t	i = 0;
	long	r;

	while (i < n) {
		i += utf8_rune((const unsigned char *)s + i, n - i, &r);
		if (r < 0 || r >= 0x80 || (!is_alnum((int)r) &&
		    strchr("-._:~!$&'()*+,;=%@", (int)r) == NULL) || r == 0)
			return 0;
	}
	return 1;
}

/* [userinfo@]host[:port]: the host is read first, as Go does. */
static char *
uri_authority(const char *scheme, const char *a, size_t n)
{
	const char	*at, *h, *colon;
	size_t		 ul;
	char		*e;

	at = mem_last(a, n, '@');
	h = at != NULL ? at + 1 : a;
	if ((e = uri_host(scheme, h, n - (size_t)(h - a))) != NULL ||
	    at == NULL)
		return e;
	ul = (size_t)(at - a);
	if (!uri_userinfo_ok(a, ul))
		return xstrdup("net/url: invalid userinfo");
	if ((colon = memchr(a, ':', ul)) == NULL)
		return uri_unescape(a, ul, URI_USER, NULL, NULL);
	if ((e = uri_unescape(a, (size_t)(colon - a), URI_USER, NULL,
	    NULL)) != NULL)
		return e;
	return uri_unescape(colon + 1, ul - (size_t)(colon - a) - 1, URI_USER,
	    NULL, NULL);
}

/*
 * url.ParseRequestURI(raw): NULL and the scheme, lowercased, in *schemep
 * when Go accepts it; else Go's error after `parse "raw": `.
 */
static char *
uri_check(const char *raw, char **schemep)
{
	const char	*rest = raw, *q, *a, *slash;
	size_t		 n = strlen(raw), i, sl = 0, rl;
	char		*scheme, *e = NULL;

	*schemep = NULL;
	for (i = 0; i < n; i++)
		if ((unsigned char)raw[i] < 0x20 || raw[i] == 0x7f)
			return xstrdup("net/url: invalid control character "
			    "in URL");
	if (n == 0)
		return xstrdup("empty url");
	if (strcmp(raw, "*") == 0) {
		*schemep = xstrdup("");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((raw[i] >= 'a' && raw[i] <= 'z') ||
		    (raw[i] >= 'A' && raw[i] <= 'Z'))
			continue;
		if ((raw[i] >= '0' && raw[i] <= '9') || raw[i] == '+' ||
		    raw[i] == '-' || raw[i] == '.') {
			if (i == 0)
				break;
			continue;
		}
		if (raw[i] == ':') {
			if (i == 0)
				return xstrdup("missing protocol scheme");
			sl = i;
			rest = raw + i + 1;
		}
		break;
	}
	scheme = xstrndup(raw, sl);
	for (i = 0; i < sl; i++)
		if (scheme[i] >= 'A' && scheme[i] <= 'Z')
			scheme[i] += 'a' - 'A';
	/* The query is cut off unread (a lone trailing '?' the same way). */
	rl = strlen(rest);
	if ((q = memchr(rest, '?', rl)) != NULL)
		rl = (size_t)(q - rest);
	if (rl == 0 || rest[0] != '/') {
		if (sl == 0) {
			free(scheme);
			return xstrdup("invalid URI for request");
		}
		*schemep = scheme;	/* "scheme:opaque" */
		return NULL;
	}
	if (sl > 0 && rl >= 2 && rest[1] == '/') {
		a = rest + 2;
		slash = memchr(a, '/', rl - 2);
		e = uri_authority(scheme, a, slash != NULL ?
		    (size_t)(slash - a) : rl - 2);
		rl = slash != NULL ? rl - (size_t)(slash - rest) : 0;
		rest = slash;
	}
	if (e == NULL && rl > 0)
		e = uri_unescape(rest, rl, URI_PATH, NULL, NULL);
	if (e != NULL) {
		free(scheme);
		return e;
	}
	*schemep = scheme;
	return NULL;
}

/* ---- paths ---- */

/*
 * Go's path.Clean for a relative path (the caller refused a leading
 * '/'): empty and "." elements go, each ".." takes the element before it
 * with it, a leading ".." stays, and nothing left is ".".
 */
static char *
path_clean(const char *p)
{
	const char	*s = p, *e;
	size_t		 n = strlen(p), o = 0, keep = 0, len, j;
	char		*out;

	out = xmalloc(n + 2);
	while (*s != '\0') {
		e = strchr(s, '/');
		len = e != NULL ? (size_t)(e - s) : strlen(s);
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (o > keep) {
				for (j = o; j > keep && out[j - 1] != '/'; j--)
					;
				o = j > keep ? j - 1 : keep;
			} else {
				if (o > 0)
					out[o++] = '/';
				memcpy(out + o, "..", 2);
				keep = o += 2;
			}
		} else if (len > 0 && !(len == 1 && s[0] == '.')) {
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, s, len);
			o += len;
		}
		s += len;
		if (*s == '/')
			s++;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

static int
path_escapes(const char *clean)
{
	return strcmp(clean, "..") == 0 || strncmp(clean, "../", 3) == 0;
}

/* ---- the body ---- */

/*
 * Standard base64 as Go's StdEncoding reads it: CR and LF skipped, '='
 * only as the last one or two characters of a whole number of quads,
 * nothing else outside the alphabet.  OpenSSL decodes; the checks before
 * it exist because EVP_DecodeBlock is laxer ('=' anywhere, leading and
 * trailing blanks) and pads its output.
 */
static int
b64_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	size_t	 i, m = 0, pad = 0;
	char	*t;
	uint8_t	*d;
	int	 r;

	t = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			t[m++] = s[i];
	while (pad < 2 && pad < m && t[m - pad - 1] == '=')
		pad++;
	for (i = 0; i < m - pad; i++)
		if (!is_alnum((unsigned char)t[i]) && t[i] != '+' &&
		    t[i] != '/')
			break;
	if (m % 4 != 0 || i != m - pad || m > INT_MAX) {
		free(t);
		return -1;
	}
	d = xmalloc(m / 4 * 3 + 1);
	r = m == 0 ? 0 : EVP_DecodeBlock(d, (unsigned char *)t, (int)m);
	free(t);
	if (r < 0 || (size_t)r != m / 4 * 3) {
		free(d);
		return -1;
	}
	*outlen = m / 4 * 3 - pad;
	d[*outlen] = '\0';
	*out = d;
	return 0;
}

/* A string member: absent or null leaves "", as Go leaves a zero value. */
static int
get_str(json_t *o, const char *name, const char *label, char **out,
    char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL || json_is_null(v)) {
		*out = xstrdup("");
		return 0;
	}
	if (!json_is_string(v))
		return cw_fail(err, errlen, "%s must be a string", label);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return cw_fail(err, errlen, "%s must not contain NUL", label);
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int
get_bool(json_t *o, const char *name, int *out, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return cw_fail(err, errlen, "%s must be a boolean", name);
	*out = json_is_true(v);
	return 0;
}

/* Go's int: an integer literal (1.0 and 1e2 are refused there too). */
static int
get_int(json_t *o, const char *name, long long *out, char *err,
    size_t errlen)
{
	json_t	*v = json_object_get(o, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return cw_fail(err, errlen, "%s must be an integer", name);
	*out = json_integer_value(v);
	return 0;
}

static int
get_services(json_t *o, struct compose_req *req, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, "services"), *s;
	size_t	 i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return cw_fail(err, errlen, "services must be an array of "
		    "strings");
	req->services = xcalloc(json_array_size(v) + 1, sizeof(char *));
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) && !json_is_null(s))
			return cw_fail(err, errlen, "services must be an "
			    "array of strings");
		if (json_is_string(s) &&
		    strlen(json_string_value(s)) != json_string_length(s))
			return cw_fail(err, errlen, "services must not "
			    "contain NUL");
		req->services[req->nservices++] = xstrdup(json_is_string(s) ?
		    json_string_value(s) : "");
	}
	return 0;
}

static int
env_cmp(const void *a, const void *b)
{
	return strcmp(((const struct compose_env *)a)->key,
	    ((const struct compose_env *)b)->key);
}

static int
file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct compose_file *)a)->path,
	    ((const struct compose_file *)b)->path);
}

/*
 * envVars.  jansson refuses a NUL in an object key while decoding; a NUL
 * in a value is kept, for compose_validate to refuse in Portwing's words.
 * A null value is "", as Go stores it in a map.
 */
static int
get_env(json_t *o, struct compose_req *req, char *err, size_t errlen)
{
	json_t		*v = json_object_get(o, "envVars"), *val;
	const char	*key;
	struct compose_env *e;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return cw_fail(err, errlen, "envVars must be an object of "
		    "strings");
	req->env = xcalloc(json_object_size(v) + 1, sizeof(*req->env));
	json_object_foreach(v, key, val) {
		if (!json_is_string(val) && !json_is_null(val))
			return cw_fail(err, errlen, "envVars must be an "
			    "object of strings");
		e = &req->env[req->nenv++];
		e->key = xstrdup(key);
		e->vlen = json_is_string(val) ? json_string_length(val) : 0;
		e->value = xmalloc(e->vlen + 1);
		if (e->vlen > 0)
			memcpy(e->value, json_string_value(val), e->vlen);
		e->value[e->vlen] = '\0';
	}
	qsort(req->env, req->nenv, sizeof(*req->env), env_cmp);
	return 0;
}

/* One files entry: "base64:" content is decoded, any other kept as is. */
static int
get_file(struct compose_file *f, const char *key, json_t *val, char *err,
    size_t errlen)
{
	const char	*s = json_is_string(val) ? json_string_value(val) : "";
	size_t		 n = json_is_string(val) ? json_string_length(val) : 0;
	size_t		 pl = strlen(B64_PREFIX);

	f->path = xstrdup(key);
	if (n >= pl && memcmp(s, B64_PREFIX, pl) == 0) {
		if (b64_decode(s + pl, n - pl, &f->data, &f->len) == -1)
			return cw_failq(err, errlen, "file ", key,
			    " has invalid base64 content");
		return 0;
	}
	f->data = xmalloc(n + 1);
	memcpy(f->data, s, n);
	f->data[n] = '\0';
	f->len = n;
	return 0;
}

static int
get_files(json_t *o, struct compose_req *req, char *err, size_t errlen)
{
	json_t		*v = json_object_get(o, "files"), *val;
	const char	*key;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return cw_fail(err, errlen, "files must be an object of "
		    "strings");
	req->has_files = 1;
	req->files = xcalloc(json_object_size(v) + 1, sizeof(*req->files));
	json_object_foreach(v, key, val) {
		if (!json_is_string(val) && !json_is_null(val))
			return cw_fail(err, errlen, "files must be an object "
			    "of strings");
		if (get_file(&req->files[req->nfiles++], key, val, err,
		    errlen) == -1)
			return -1;
	}
	qsort(req->files, req->nfiles, sizeof(*req->files), file_cmp);
	return 0;
}

static int
get_auth(json_t *o, struct compose_req *req, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, "registryAuth");

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return cw_fail(err, errlen, "registryAuth must be an "
		    "object");
	req->has_auth = 1;
	if (get_str(v, "server", "registryAuth.server", &req->auth_server,
	    err, errlen) == -1 ||
	    get_str(v, "username", "registryAuth.username",
	    &req->auth_username, err, errlen) == -1 ||
	    get_str(v, "password", "registryAuth.password",
	    &req->auth_password, err, errlen) == -1)
		return -1;
	return 0;
}

static int
get_fields(json_t *o, struct compose_req *req, char *err, size_t errlen)
{
	long long	t;

	if (get_str(o, "operation", "operation", &req->operation, err,
	    errlen) == -1 ||
	    get_str(o, "stackName", "stackName", &req->stack_name, err,
	    errlen) == -1 ||
	    get_str(o, "stackDir", "stackDir", &req->stack_dir, err,
	    errlen) == -1 ||
	    get_services(o, req, err, errlen) == -1 ||
	    get_bool(o, "build", &req->build, err, errlen) == -1 ||
	    get_bool(o, "forceRecreate", &req->force_recreate, err,
	    errlen) == -1 ||
	    get_bool(o, "noDeps", &req->no_deps, err, errlen) == -1 ||
	    get_bool(o, "removeVolumes", &req->remove_volumes, err,
	    errlen) == -1 ||
	    get_int(o, "tail", &req->tail, err, errlen) == -1 ||
	    get_int(o, "timeout", &t, err, errlen) == -1)
		return -1;
	if (t < 0 || t > COMPOSE_TIMEOUT_MAX)
		return cw_fail(err, errlen, "timeout must be from 1 to %d "
		    "seconds, or 0 for the default", COMPOSE_TIMEOUT_MAX);
	req->timeout = (int)t;
	if (get_env(o, req, err, errlen) == -1 ||
	    get_files(o, req, err, errlen) == -1 ||
	    get_auth(o, req, err, errlen) == -1)
		return -1;
	return 0;
}

/*
 * The first JSON value of the body; what follows it is ignored, as by
 * Go's json.Decoder.  Over COMPOSE_BODY_MAX, the value must end within
 * the limit: Go's reader stops there.  Top-level null decodes into Go's
 * zero request, so it reads as {} here.
 */
int
compose_parse(const char *buf, size_t len, struct compose_req *req,
    char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*root;
	int		 rc;

	memset(req, 0, sizeof(*req));
	root = json_loadb(buf, len > COMPOSE_BODY_MAX ? COMPOSE_BODY_MAX : len,
	    JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &je);
	if (root == NULL) {
		if (len > COMPOSE_BODY_MAX)
			return cw_fail(err, errlen, "request body too "
			    "large");
		return cw_fail(err, errlen, "%s", je.text);
	}
	if (json_is_null(root)) {
		json_decref(root);
		root = json_object();
	}
	if (!json_is_object(root))
		rc = cw_fail(err, errlen, "expected a JSON object");
	else
		rc = get_fields(root, req, err, errlen);
	json_decref(root);
	if (rc == -1)
		compose_req_free(req);
	return rc;
}

/* ---- checks ---- */

static int
env_key_ok(const char *k)
{
	size_t	i;

	if (!(k[0] == '_' || (k[0] >= 'a' && k[0] <= 'z') ||
	    (k[0] >= 'A' && k[0] <= 'Z')))
		return 0;
	for (i = 1; k[i] != '\0'; i++)
		if (k[i] != '_' && !is_alnum((unsigned char)k[i]))
			return 0;
	return 1;
}

/* 2: each key's form, then the denylist, then the value. */
static int
check_env(const struct compose_req *req, char *err, size_t errlen)
{
	const struct compose_env	*e;
	size_t				 i, j;

	for (i = 0; i < req->nenv; i++) {
		e = &req->env[i];
		if (!env_key_ok(e->key))
			return cw_failq(err, errlen, "invalid env var key: ",
			    e->key, "");
		for (j = 0; j < nitems(env_denied); j++)
			if (strcmp(e->key, env_denied[j]) == 0)
				return cw_failq(err, errlen, "env var ",
				    e->key, " is not allowed");
		if (memchr(e->value, '\n', e->vlen) != NULL ||
		    memchr(e->value, '\r', e->vlen) != NULL ||
		    memchr(e->value, '\0', e->vlen) != NULL)
			return cw_failq(err, errlen, "env var ", e->key,
			    " value contains invalid characters (newline, "
			    "carriage return, or null)");
	}
	return 0;
}

/* 4: an absolute URI whose scheme is https (any case). */
static int
check_auth(const struct compose_req *req, char *err, size_t errlen)
{
	char	*scheme, *e, *q;
	int	 rc = 0;

	if (!req->has_auth)
		return 0;
	if (req->auth_server == NULL || req->auth_server[0] == '\0')
		return cw_fail(err, errlen, "registryAuth.server is required "
		    "and must be an https URI");
	if ((e = uri_check(req->auth_server, &scheme)) != NULL) {
		q = goq(req->auth_server, strlen(req->auth_server));
		rc = cw_fail(err, errlen, "registryAuth.server is not a valid "
		    "URI: parse %s: %s", q, e);
		free(q);
		free(e);
		return rc;
	}
	if (strcmp(scheme, "https") != 0)
		rc = cw_failq(err, errlen, "registryAuth.server must use https "
		    "scheme, got ", scheme, "");
	free(scheme);
	return rc;
}

/* 5: stackDir (else stackName), relative and not above STACKS_DIR. */
static int
check_stack(struct compose_req *req, char *err, size_t errlen)
{
	const char	*sd;
	char		*clean;

	sd = req->stack_dir != NULL && req->stack_dir[0] != '\0' ?
	    req->stack_dir : req->stack_name;
	if (sd[0] == '/')
		return cw_failq(err, errlen, "invalid stack path: stack path ",
		    sd, " must be relative");
	clean = path_clean(sd);
	if (path_escapes(clean)) {
		free(clean);
		return cw_failq(err, errlen, "invalid stack path: stack path ",
		    sd, " escapes stacks directory");
	}
	free(req->stack_dir);
	req->stack_dir = clean;
	return 0;
}

static int
file_fail(char *err, size_t errlen, const char *pre, const char *path,
    const char *mid, const char *post)
{
	char	*q = goq(path, strlen(path));

	cw_fail(err, errlen, "%s%s%s%s%s", pre, q, mid, q, post);
	free(q);
	return -1;
}

/*
 * 6: every files key relative and not above the stack directory; then,
 * once all passed, none that names the directory itself ("", "." and
 * the like), which Portwing refuses only when it comes to write it.
 */
static int
check_files(struct compose_req *req, char *err, size_t errlen)
{
	char	**clean;
	size_t	  i;
	int	  rc = 0;

	clean = xcalloc(req->nfiles + 1, sizeof(*clean));
	for (i = 0; i < req->nfiles && rc == 0; i++) {
		if (req->files[i].path[0] == '/')
			rc = file_fail(err, errlen, "invalid stack file path ",
			    req->files[i].path, ": path ", " must be relative");
		else if (path_escapes(clean[i] =
		    path_clean(req->files[i].path)))
			rc = file_fail(err, errlen, "invalid stack file path ",
			    req->files[i].path, ": path ",
			    " escapes stack directory");
	}
	for (i = 0; i < req->nfiles && rc == 0; i++)
		if (strcmp(clean[i], ".") == 0)
			rc = file_fail(err, errlen, "writing stack files: "
			    "resolving path ", req->files[i].path, ": path ",
			    " is not a file below stacks directory");
	for (i = 0; i < req->nfiles; i++) {
		if (rc == 0) {
			free(req->files[i].path);
			req->files[i].path = clean[i];
		} else
			free(clean[i]);
	}
	free(clean);
	return rc;
}

int
compose_validate(struct compose_req *req, char *err, size_t errlen)
{
	size_t	i;

	if (req->stack_name == NULL || req->stack_name[0] == '\0')
		return cw_fail(err, errlen, "stack name is required");
	if (check_env(req, err, errlen) == -1)
		return -1;
	for (i = 0; i < req->nservices; i++)
		if (req->services[i][0] == '-')
			return cw_failq(err, errlen, "invalid service name: ",
			    req->services[i], "");
	if (check_auth(req, err, errlen) == -1 ||
	    check_stack(req, err, errlen) == -1 ||
	    check_files(req, err, errlen) == -1)
		return -1;
	return 0;
}

int
compose_op_known(const char *op)
{
	size_t	i;

	for (i = 0; op != NULL && i < nitems(compose_ops); i++)
		if (strcmp(op, compose_ops[i]) == 0)
			return 1;
	return 0;
}

void
compose_op_unsupported(const char *op, char *err, size_t errlen)
{
	cw_failq(err, errlen, "unsupported compose operation: ",
	    op != NULL ? op : "", "");
}

/* ---- what the runner needs ---- */

char *
compose_env_text(const struct compose_req *req, size_t *lenp)
{
	const struct compose_env	*e;
	size_t				 i, n = 0, o = 0;
	char				*t;

	for (i = 0; i < req->nenv; i++)
		n += strlen(req->env[i].key) + req->env[i].vlen + 2;
	t = xmalloc(n + 1);
	for (i = 0; i < req->nenv; i++) {
		e = &req->env[i];
		memcpy(t + o, e->key, strlen(e->key));
		o += strlen(e->key);
		t[o++] = '=';
		memcpy(t + o, e->value, e->vlen);
		o += e->vlen;
		t[o++] = '\n';
	}
	t[o] = '\0';
	if (lenp != NULL)
		*lenp = o;
	return t;
}

static void
av_add(char **av, size_t *n, const char *s)
{
	av[(*n)++] = xstrdup(s);
}

/*
 * Services follow the flags with no "--" before them: compose v1 may not
 * take it, and compose_validate refused names that start with '-'.
 */
char **
compose_argv(const struct compose_req *req, const char *const *bin,
    size_t nbin, const char *absdir, const char *envfile)
{
	const char	*op = req->operation;
	char		**av, tail[32];
	size_t		  n = 0, i;
	int		  services = 1;

	if (!compose_op_known(op))
		return NULL;
	/* bin, 2 for the directory, 2 for the env file, op and 5 flags. */
	av = xcalloc(nbin + 10 + req->nservices + 1, sizeof(*av));
	for (i = 0; i < nbin; i++)
		av_add(av, &n, bin[i]);
	av_add(av, &n, "--project-directory");
	av_add(av, &n, absdir);
	if (envfile != NULL) {
		av_add(av, &n, "--env-file");
		av_add(av, &n, envfile);
	}
	av_add(av, &n, op);
	if (strcmp(op, "up") == 0) {
		av_add(av, &n, "-d");
		av_add(av, &n, "--remove-orphans");
		if (req->build)
			av_add(av, &n, "--build");
		if (req->force_recreate)
			av_add(av, &n, "--force-recreate");
		if (req->no_deps)
			av_add(av, &n, "--no-deps");
	} else if (strcmp(op, "down") == 0) {
		av_add(av, &n, "--remove-orphans");
		if (req->remove_volumes)
			av_add(av, &n, "--volumes");
		services = 0;
	} else if (strcmp(op, "ps") == 0) {
		av_add(av, &n, "--format");
		av_add(av, &n, "json");
		services = 0;
	} else if (strcmp(op, "logs") == 0 && req->tail > 0) {
		snprintf(tail, sizeof(tail), "%lld", req->tail);
		av_add(av, &n, "--tail");
		av_add(av, &n, tail);
	}
	for (i = 0; services && i < req->nservices; i++)
		av_add(av, &n, req->services[i]);
	av[n] = NULL;
	return av;
}

void
compose_argv_free(char **av)
{
	size_t	i;

	if (av == NULL)
		return;
	for (i = 0; av[i] != NULL; i++)
		free(av[i]);
	free(av);
}

void
compose_req_free(struct compose_req *req)
{
	size_t	i;

	if (req == NULL)
		return;
	free(req->operation);
	free(req->stack_name);
	free(req->stack_dir);
	for (i = 0; i < req->nservices; i++)
		free(req->services[i]);
	free(req->services);
	for (i = 0; i < req->nfiles; i++) {
		free(req->files[i].path);
		free(req->files[i].data);
	}
	free(req->files);
	/* Values may be secrets (tokens passed to the stack). */
	for (i = 0; i < req->nenv; i++) {
		free(req->env[i].key);
		freezero(req->env[i].value, req->env[i].vlen);
	}
	free(req->env);
	free(req->auth_server);
	free(req->auth_username);
	freezero_str(req->auth_password);
	memset(req, 0, sizeof(*req));
}
