/*
 * cli_request.c: "portwing request", one HTTP request to an agent with
 * libcurl, signed with an Ed25519 key (-k) or carrying the token from
 * PORTWING_TOKEN.  Also the URL splitting "connect" shares.
 *
 * A version-2 signature covers the request-target exactly as sent, so the
 * target is built here, escaped once, and handed to curl verbatim
 * (CURLOPT_REQUEST_TARGET): what is signed is what goes on the wire.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "http.h"
#include "log.h"
#include "pwcrypto.h"
#include "util.h"

struct req_opts {
	const char	*keyfile;
	const char	*cacert;
	int		 insecure;
	int		 verbose;
	struct cli_list	 hdrs;
	const char	*method;
	const char	*url;
	const char	*body;		/* operand as given, or NULL */
};

struct req_resp {
	struct curl_slist *bearer;	/* the token's header, wiped once sent */
	int	 verbose;
	char	 reason[128];	/* X-Portwing-Reason of the final response */
	int	 write_errno;	/* stdout failed: the transfer was stopped */
};

/* ---- URLs ---- */

static int
path_char_ok(int c)
{
	return c > 0x20 && c < 0x7f &&
	    (isalnum(c) || strchr("-._~!$&'()*+,;=:@/", c) != NULL);
}

/* Bytes Go would re-escape in a query, or that cannot travel raw. */
static int
query_char_ok(int c)
{
	return c > 0x20 && c < 0x7f && strchr("\"#<>\\^`{|}", c) == NULL;
}

/*
 * Copy s[0..n) to out, percent-encoding what may not appear raw in the
 * path (or query) and leaving well-formed escapes as they are: a URL that
 * is already encoded is sent, and signed, unchanged.
 */
static char *
escape_part(char *out, const char *s, size_t n, int query)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t	i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			*out++ = (char)c;
			continue;
		}
		if (c != '%' && (query ? query_char_ok(c) : path_char_ok(c))) {
			*out++ = (char)c;
			continue;
		}
		*out++ = '%';
		*out++ = hex[c >> 4];
		*out++ = hex[c & 15];
	}
	return out;
}

static int
url_split_authority(struct cli_url *u, const char *a, size_t n, char *err,
    size_t errsz)
{
	const char	*hs = a, *he, *colon;
	long long	 port;

	if (n == 0 || memchr(a, '@', n) != NULL) {
		snprintf(err, errsz, n == 0 ? "URL has no host" :
		    "credentials in the URL are not supported");
		return -1;
	}
	if (a[0] == '[') {
		if ((he = memchr(a, ']', n)) == NULL || he == a + 1) {
			snprintf(err, errsz, "bad IPv6 address in URL");
			return -1;
		}
		hs = a + 1;
		colon = he + 1 < a + n ? he + 1 : NULL;
		if (colon != NULL && *colon != ':') {
			snprintf(err, errsz, "bad IPv6 address in URL");
			return -1;
		}
	} else {
		colon = memchr(a, ':', n);
		he = colon != NULL ? colon : a + n;
	}
	u->host = xstrndup(hs, (size_t)(he - hs));
	if (*u->host == '\0' || strpbrk(u->host, " \t/\\%") != NULL ||
	    (a[0] != '[' && strchr(u->host, ':') != NULL)) {
		snprintf(err, errsz, "bad host in URL");
		return -1;
	}
	if (colon == NULL) {
		u->port = xstrdup(u->tls ? "443" : "80");
		return 0;
	}
	u->port = xstrndup(colon + 1, (size_t)(a + n - colon - 1));
	if (pw_strtonum(u->port, 1, 65535, &port) == -1 ||
	    !isdigit((unsigned char)u->port[0])) {
		snprintf(err, errsz, "bad port in URL");
		return -1;
	}
	return 0;
}

/* http[s]://host[:port][/path][?query][#fragment]; the fragment is dropped. */
int
cli_url_parse(const char *url, struct cli_url *u, char *err, size_t errsz)
{
	const char	*p, *auth, *rest, *frag;
	char		*t;
	size_t		 alen;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8) == 0) {
		u->tls = 1;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0)
		auth = url + 7;
	else {
		snprintf(err, errsz, "URL must start with http:// or https://");
		return -1;
	}
	alen = strcspn(auth, "/?#");
	if (url_split_authority(u, auth, alen, err, errsz) == -1)
		goto fail;
	u->authority = xstrndup(auth, alen);
	xasprintf(&u->origin, "%s://%s/", u->tls ? "https" : "http",
	    u->authority);
	rest = auth + alen;
	frag = rest + strcspn(rest, "#");
	t = u->target = xmalloc(3 * (size_t)(frag - rest) + 2);
	if (*rest != '/')
		*t++ = '/';
	p = rest + strcspn(rest, "?#");
	t = escape_part(t, rest, (size_t)(p - rest), 0);
	if (*p == '?') {
		*t++ = '?';
		t = escape_part(t, p + 1, (size_t)(frag - p - 1), 1);
	}
	*t = '\0';
	if (!http_valid_target(u->target, strlen(u->target))) {
		snprintf(err, errsz, "cannot form a request target from the "
		    "URL");
		goto fail;
	}
	return 0;
 fail:
	cli_url_free(u);
	return -1;
}

void
cli_url_free(struct cli_url *u)
{
	free(u->host);
	free(u->port);
	free(u->authority);
	free(u->origin);
	free(u->target);
	memset(u, 0, sizeof(*u));
}

/* ---- the request body ---- */

static int
read_all(int fd, const char *what, char **out, size_t *len)
{
	char	*buf = NULL;
	size_t	 n = 0, cap = 0;
	ssize_t	 r;

	for (;;) {
		if (n == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cli_errx("reading %s: %s", what, strerror(errno));
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* BODY is a literal, "@file" or "-" for stdin; *owned says free it. */
static int
load_body(const char *arg, char **out, size_t *len, int *owned)
{
	int	fd, rc;

	*owned = 0;
	if (arg == NULL) {
		*out = NULL;
		*len = 0;
		return 0;
	}
	if (strcmp(arg, "-") == 0) {
		*owned = 1;
		return read_all(STDIN_FILENO, "stdin", out, len);
	}
	if (arg[0] != '@') {
		*out = (char *)arg;
		*len = strlen(arg);
		return 0;
	}
	if ((fd = open(arg + 1, O_RDONLY | O_CLOEXEC)) == -1) {
		cli_errx("%s: %s", arg + 1, strerror(errno));
		return -1;
	}
	rc = read_all(fd, arg + 1, out, len);
	close(fd);
	*owned = rc == 0;
	return rc;
}

/* ---- headers ---- */

/* "Name: value": a token, a colon, a value without control characters. */
static int
header_ok(const char *h, size_t *nlen)
{
	const char	*colon = strchr(h, ':'), *p;

	if (colon == NULL || colon == h)
		return 0;
	for (p = h; p < colon; p++)
		if (!http_is_tchar((unsigned char)*p))
			return 0;
	for (p = colon + 1; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	*nlen = (size_t)(colon - h);
	return 1;
}

static int
header_is(const char *h, size_t nlen, const char *name)
{
	return strlen(name) == nlen && strncasecmp(h, name, nlen) == 0;
}

static struct curl_slist *
slist_add(struct curl_slist *l, const char *s, int *failed)
{
	struct curl_slist	*n;

	if ((n = curl_slist_append(l, s)) == NULL)
		*failed = 1;
	return n != NULL ? n : l;
}

/*
 * The caller's -H headers.  curl reads "Name:" as "remove the header", so
 * an empty value is sent as curl's "Name;" instead.  With -k the
 * signature headers are ours alone.
 */
static struct curl_slist *
user_headers(const struct req_opts *o, int *has_auth, int *has_ctype,
    int *failed)
{
	struct curl_slist	*l = NULL;
	const char		*h, *v;
	char			*tmp;
	size_t			 nlen, i;

	for (i = 0; i < o->hdrs.n && !*failed; i++) {
		h = o->hdrs.v[i];
		if (!header_ok(h, &nlen)) {
			cli_errx("request: bad header \"%s\": use "
			    "'Name: value'", h);
			*failed = 1;
			break;
		}
		if (o->keyfile != NULL &&
		    strncasecmp(h, "X-Portwing-", 11) == 0) {
			cli_errx("request: -H %.*s conflicts with -k", (int)nlen,
			    h);
			*failed = 1;
			break;
		}
		*has_auth |= header_is(h, nlen, "Authorization");
		*has_ctype |= header_is(h, nlen, "Content-Type");
		for (v = h + nlen + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (*v != '\0') {
			l = slist_add(l, h, failed);
			continue;
		}
		xasprintf(&tmp, "%.*s;", (int)nlen, h);
		l = slist_add(l, tmp, failed);
		free(tmp);
	}
	return l;
}

static struct curl_slist *
sig_headers(struct curl_slist *l, const struct cli_sig *s, int *failed)
{
	char	buf[256];

	snprintf(buf, sizeof(buf), "X-Portwing-Key-ID: %s", s->keyid);
	l = slist_add(l, buf, failed);
	snprintf(buf, sizeof(buf), "X-Portwing-Timestamp: %s", s->ts);
	l = slist_add(l, buf, failed);
	snprintf(buf, sizeof(buf), "X-Portwing-Nonce: %s", s->nonce);
	l = slist_add(l, buf, failed);
	snprintf(buf, sizeof(buf), "X-Portwing-Signature: %s", s->sig);
	l = slist_add(l, buf, failed);
	return slist_add(l, "X-Portwing-Signature-Version: 2", failed);
}

/*
 * PORTWING_TOKEN, taken out of the environment: the value is copied and
 * then wiped where it was (the process's environment block, which
 * /proc/PID/environ also shows).  NULL when unset or empty.
 */
static char *
take_env_token(void)
{
	char	*v = getenv("PORTWING_TOKEN"), *tok;

	if (v == NULL || *v == '\0')
		return NULL;
	tok = xstrdup(v);
	explicit_bzero(v, strlen(v));
	(void)unsetenv("PORTWING_TOKEN");
	return tok;
}

static struct curl_slist *
bearer_header(struct curl_slist *l, const char *tok, struct req_resp *r,
    int *failed)
{
	struct curl_slist	*p;
	char			*h;

	if (tok == NULL)
		return l;
	xasprintf(&h, "Authorization: Bearer %s", tok);
	l = slist_add(l, h, failed);
	freezero_str(h);
	for (p = l; p != NULL && !*failed; p = p->next)
		if (p->next == NULL)
			r->bearer = p;
	return l;
}

/* curl_slist_free_all, wiping the strings first (one may be a token). */
static void
slist_free_wipe(struct curl_slist *l)
{
	struct curl_slist	*p;

	for (p = l; p != NULL; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static char *
wipe_strdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*d;

	if ((d = malloc(n)) != NULL)
		memcpy(d, s, n);
	return d;
}

static void *
wipe_calloc(size_t n, size_t sz)
{
	return calloc(n, sz);
}

/* ---- the transfer ---- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct req_resp	*r = arg;

	if (n > 0 && fwrite(p, size, n, stdout) != n) {
		r->write_errno = errno != 0 ? errno : EIO;
		return 0;
	}
	return n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct req_resp	*r = arg;
	size_t		 len = size * n, l = len;
	char		 vis[LOG_VIS_MAX];

	/*
	 * A response has begun, so the request went out: its token header
	 * is not needed again (no redirects are followed), wipe it now
	 * rather than when a long stream ends.
	 */
	if (r->bearer != NULL) {
		OPENSSL_cleanse(r->bearer->data, strlen(r->bearer->data));
		r->bearer = NULL;
	}
	while (l > 0 && (p[l - 1] == '\n' || p[l - 1] == '\r'))
		l--;
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		r->reason[0] = '\0';	/* a new (possibly final) response */
	if (l > 18 && strncasecmp(p, "X-Portwing-Reason:", 18) == 0) {
		const char *v = p + 18;
		while (v < p + l && (*v == ' ' || *v == '\t'))
			v++;
		log_vis(r->reason, sizeof(r->reason), v, (size_t)(p + l - v));
	}
	if (r->verbose && l > 0)
		fprintf(stderr, "< %s\n", log_vis(vis, sizeof(vis), p, l));
	return len;
}

/* Methods whose requests carry a body, so an empty one says "length 0". */
static int
method_wants_body(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "PATCH") == 0;
}

static int
setup_curl(CURL *c, const struct req_opts *o, const struct cli_url *u,
    const char *body, size_t blen, struct req_resp *resp, char *errbuf)
{
	int	bad = 0;

#define SET(opt, val) bad |= curl_easy_setopt(c, opt, val) != CURLE_OK
	SET(CURLOPT_URL, u->origin);
	SET(CURLOPT_REQUEST_TARGET, u->target);
	SET(CURLOPT_CUSTOMREQUEST, o->method);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* Through a proxy, tunnel: the target must stay in origin form. */
	SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, 30L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, resp);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, resp);
	if (strcmp(o->method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (body != NULL || method_wants_body(o->method)) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
		SET(CURLOPT_POSTFIELDS, body != NULL ? body : "");
	}
	if (o->cacert != NULL)
		SET(CURLOPT_CAINFO, o->cacert);
	if (o->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
#undef SET
	return bad ? -1 : 0;
}

static struct curl_slist *
build_headers(const struct req_opts *o, EVP_PKEY *pk, const char *target,
    const char *body, size_t blen, const char *tok, struct req_resp *resp)
{
	struct curl_slist	*l;
	struct cli_sig		 sig;
	char			 hex[PWC_SHA256_HEX_LEN + 1];
	int			 has_auth = 0, has_ctype = 0, failed = 0;

	l = user_headers(o, &has_auth, &has_ctype, &failed);
	/* No form-encoding guess and no 100-continue round trip. */
	if (!has_ctype)
		l = slist_add(l, "Content-Type:", &failed);
	l = slist_add(l, "Expect:", &failed);
	if (pk != NULL) {
		pwc_sha256_hex(body != NULL ? body : "", blen, hex);
		if (cli_sign(pk, o->method, target, hex, &sig) == -1) {
			cli_errx("request: signing failed");
			failed = 1;
		} else if (!failed) {
			l = sig_headers(l, &sig, &failed);
			if (o->verbose)
				fprintf(stderr, "* signed %s %s with key ID "
				    "%s\n", o->method, target, sig.keyid);
		}
	} else if (!has_auth)
		l = bearer_header(l, tok, resp, &failed);
	if (failed) {
		slist_free_wipe(l);
		return NULL;
	}
	return l;
}

static int
report(CURL *c, CURLcode res, const struct req_resp *resp, const char *eb)
{
	long	code = 0;

	if (resp->write_errno != 0) {
		cli_errx("request: writing the response: %s",
		    strerror(resp->write_errno));
		return 1;
	}
	if (res != CURLE_OK) {
		cli_errx("request: %s", *eb != '\0' ? eb :
		    curl_easy_strerror(res));
		return 1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 400)
		return 0;
	if (code == 401 && resp->reason[0] != '\0')
		cli_errx("HTTP %ld (X-Portwing-Reason: %s)", code,
		    resp->reason);
	else
		cli_errx("HTTP %ld", code);
	return 1;
}

static int
do_request(const struct req_opts *o, const struct cli_url *u, EVP_PKEY *pk,
    char *tok)
{
	struct req_resp		 resp;
	struct curl_slist	*hdrs = NULL;
	CURL			*c = NULL;
	CURLcode		 res;
	char			*body = NULL, errbuf[CURL_ERROR_SIZE] = "";
	size_t			 blen = 0;
	int			 owned = 0, rc = 1;

	memset(&resp, 0, sizeof(resp));
	resp.verbose = o->verbose;
	if (load_body(o->body, &body, &blen, &owned) == -1)
		return 1;
	hdrs = build_headers(o, pk, u->target, body, blen, tok, &resp);
	/* The header list holds the only copy the transfer needs. */
	if (tok != NULL)
		explicit_bzero(tok, strlen(tok));
	if (hdrs == NULL)
		goto out;
	if ((c = curl_easy_init()) == NULL ||
	    setup_curl(c, o, u, body, blen, &resp, errbuf) == -1 ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK) {
		cli_errx("request: cannot set up libcurl");
		goto out;
	}
	res = curl_easy_perform(c);
	fflush(stdout);
	rc = report(c, res, &resp, errbuf);
 out:
	if (c != NULL)
		curl_easy_cleanup(c);
	slist_free_wipe(hdrs);
	if (owned)
		free(body);
	return rc;
}

static void
usage_request(void)
{
	fprintf(stderr,
	    "usage: portwing request [-k keyfile] [-H 'Name: value']... "
	    "[-cacert file]\n"
	    "           [-insecure] [-v] method url [body | @file | -]\n"
	    "  without -k, PORTWING_TOKEN (if set) is sent as a Bearer "
	    "token\n");
}

static int
request_args(int argc, char **argv, struct req_opts *o)
{
	struct cli_opt	opts[] = {
		{ "k", CLI_OPT_STR, &o->keyfile },
		{ "H", CLI_OPT_LIST, &o->hdrs },
		{ "cacert", CLI_OPT_STR, &o->cacert },
		{ "insecure", CLI_OPT_BOOL, &o->insecure },
		{ "v", CLI_OPT_BOOL, &o->verbose },
		{ NULL, CLI_OPT_BOOL, NULL },
	};
	int		next, r;

	if ((r = cli_parse_opts("request", argc, argv, opts, &next)) != 0 ||
	    argc - next < 2 || argc - next > 3) {
		if (r == 0)
			cli_errx("request: expected METHOD URL [BODY]");
		usage_request();
		return -1;
	}
	o->method = argv[next];
	o->url = argv[next + 1];
	o->body = argc - next == 3 ? argv[next + 2] : NULL;
	if (!http_valid_method(o->method)) {
		cli_errx("request: invalid method \"%s\"", o->method);
		return -1;
	}
	return 0;
}

int
cli_request(int argc, char **argv)
{
	struct req_opts	 o;
	struct cli_url	 u;
	EVP_PKEY	*pk = NULL;
	char		 err[256], *tok = take_env_token();
	int		 rc;

	memset(&o, 0, sizeof(o));
	if (request_args(argc, argv, &o) == -1) {
		cli_list_free(&o.hdrs);
		freezero_str(tok);
		return 2;
	}
	if (cli_url_parse(o.url, &u, err, sizeof(err)) == -1) {
		cli_errx("request: %s", err);
		cli_list_free(&o.hdrs);
		freezero_str(tok);
		return 2;
	}
	if (o.keyfile != NULL && (pk = cli_load_key(o.keyfile)) == NULL) {
		cli_url_free(&u);
		cli_list_free(&o.hdrs);
		freezero_str(tok);
		return 1;
	}
	/* A closed stdout is an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	/* libcurl builds the request (with the token) in memory it frees. */
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, pw_wipe_malloc,
	    pw_wipe_free, pw_wipe_realloc, wipe_strdup, wipe_calloc) !=
	    CURLE_OK) {
		cli_errx("request: cannot initialise libcurl");
		rc = 1;
	} else {
		rc = do_request(&o, &u, pk, tok);
		curl_global_cleanup();
	}
	freezero_str(tok);
	EVP_PKEY_free(pk);
	cli_url_free(&u);
	cli_list_free(&o.hdrs);
	return rc;
}
