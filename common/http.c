/*
 * http.c: strict HTTP/1.1 head parsing (RFC 9112) and chunked decoding.
 * Anything ambiguous is refused rather than guessed at, because the heads
 * parsed here are re-serialised towards the Docker Engine and a lenient
 * parser is how request smuggling starts.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "util.h"

void
http_limits_default(struct http_limits *l)
{
	l->max_line = HTTP_MAX_REQLINE;
	l->max_head = HTTP_MAX_HEAD;
	l->max_headers = HTTP_MAX_HEADERS;
}

void
http_scan_init(struct http_scan *s)
{
	memset(s, 0, sizeof(*s));
}

/*
 * Look for the end of a head in buf[0..len), continuing where the last call
 * stopped.  Returns the head length (through the empty line), 0 when more
 * bytes are needed, or a negative HTTP status.
 */
int
http_scan(struct http_scan *s, const struct http_limits *l,
    const uint8_t *buf, size_t len, int request, const char **why)
{
	size_t	linelen;

	for (; s->pos < len; s->pos++) {
		uint8_t c = buf[s->pos];

		if (c == '\0') {
			*why = "NUL byte in message head";
			return -400;
		}
		if (c == '\r') {
			if (s->pos + 1 == len)
				break;		/* wait for the next byte */
			if (buf[s->pos + 1] != '\n') {
				*why = "bare CR in message head";
				return -400;
			}
			continue;
		}
		if (c != '\n') {
			if (s->lines == 0 && s->pos - s->line_start >= l->max_line) {
				*why = request ? "request line too long" :
				    "status line too long";
				return request ? -414 : -502;
			}
			if (s->pos >= l->max_head) {
				*why = "request header fields too large";
				return -431;
			}
			continue;
		}
		if (s->pos == 0 || buf[s->pos - 1] != '\r') {
			*why = "bare LF in message head";
			return -400;
		}
		linelen = s->pos - 1 - s->line_start;
		if (linelen == 0) {
			if (s->lines == 0) {
				*why = "empty request line";
				return -400;
			}
			return (int)(s->pos + 1);
		}
		if (s->lines > l->max_headers) {
			*why = "too many header fields";
			return -431;
		}
		s->lines++;
		s->line_start = s->pos + 1;
	}
	if (s->pos >= l->max_head) {
		*why = "request header fields too large";
		return -431;
	}
	return 0;
}

int
http_is_tchar(int c)
{
	if (c >= 0x80 || c <= 0x20)
		return 0;
	if (isalnum(c))
		return 1;
	return strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int
http_valid_method(const char *m)
{
	size_t	n = 0;

	for (; m[n] != '\0'; n++)
		if (!http_is_tchar((unsigned char)m[n]))
			return 0;
	return n > 0 && n <= HTTP_MAX_METHOD;
}

static int
is_pchar(int c)
{
	if (c >= 0x80 || c <= 0x20)
		return 0;
	if (isalnum(c))
		return 1;
	return strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

/*
 * Origin-form target: '/' then RFC 3986 path characters with well-formed
 * percent escapes, then optionally '?' and a query of visible ASCII.
 */
int
http_valid_target(const char *t, size_t n)
{
	size_t	i;
	int	inquery = 0;

	if (n == 0 || t[0] != '/')
		return 0;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)t[i];
		if (c == '%') {
			if (i + 2 >= n)
				return 0;
			if (!isxdigit((unsigned char)t[i + 1]) ||
			    !isxdigit((unsigned char)t[i + 2]))
				return 0;
			i += 2;
			continue;
		}
		if (!inquery && c == '?') {
			inquery = 1;
			continue;
		}
		if (inquery) {
			if (c <= 0x20 || c >= 0x7f || c == '#')
				return 0;
		} else if (!is_pchar(c))
			return 0;
	}
	return 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode %XX escapes into out (size outsz); returns the decoded length. */
size_t
http_percent_decode(const char *in, size_t n, char *out, size_t outsz)
{
	size_t	i, o = 0;

	for (i = 0; i < n && o + 1 < outsz; i++) {
		if (in[i] == '%' && i + 2 < n &&
		    hexval((unsigned char)in[i + 1]) >= 0 &&
		    hexval((unsigned char)in[i + 2]) >= 0) {
			out[o++] = (char)(hexval((unsigned char)in[i + 1]) * 16 +
			    hexval((unsigned char)in[i + 2]));
			i += 2;
		} else
			out[o++] = in[i];
	}
	out[o] = '\0';
	return o;
}

/* Is token (case-insensitive) an element of the comma-separated list? */
int
http_token_list_has(const char *v, size_t n, const char *token)
{
	size_t	tl = strlen(token), i = 0, s, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
			return 1;
	}
	return 0;
}

const struct http_hdr *
http_header(const struct http_head *h, const char *name)
{
	int	i;

	for (i = 0; i < h->nhdrs; i++)
		if (strcasecmp(h->hdrs[i].name, name) == 0)
			return &h->hdrs[i];
	return NULL;
}

void
http_head_free(struct http_head *h)
{
	if (h->buf != NULL)
		freezero(h->buf, h->len + 1);
	free(h->pathbuf);
	memset(h, 0, sizeof(*h));
}

static int
fail(struct http_head *h, int status, const char *why)
{
	h->error = why;
	return status;
}

/*
 * A Content-Length is 1*DIGIT and at most 2^63-1: nothing downstream
 * (off_t, Docker's int64, the proxy's framing) can hold more, so a larger
 * value is refused here instead of wrapping or truncating later.
 */
static int
parse_content_length(const char *v, size_t n, uint64_t *out)
{
	uint64_t	x = 0, d;
	size_t		i;

	if (n == 0 || n > 19)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		d = (uint64_t)(v[i] - '0');
		if (x > ((uint64_t)INT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/*
 * Parse header field lines in buf (NUL-terminated lines already split on
 * CRLF by the caller: each line ends in "\r\n", the block ends with an
 * empty line).  Fills hdrs and the framing flags.
 */
int
http_parse_fields(struct http_head *h, char *p, size_t len)
{
	char	*end = p + len, *eol, *colon, *v, *ve;
	int	 host = 0, te = 0;
	const struct http_hdr *hd;

	while (p < end) {
		if ((eol = memchr(p, '\r', (size_t)(end - p))) == NULL ||
		    eol + 1 >= end || eol[1] != '\n')
			return fail(h, 400, "malformed header line");
		if (eol == p)
			break;			/* empty line: end of head */
		*eol = '\0';
		if (*p == ' ' || *p == '\t')
			return fail(h, 400, "obsolete line folding");
		if ((colon = strchr(p, ':')) == NULL)
			return fail(h, 400, "header line without a colon");
		if (colon == p)
			return fail(h, 400, "empty header name");
		for (v = p; v < colon; v++)
			if (!http_is_tchar((unsigned char)*v))
				return fail(h, 400, "invalid header name");
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		ve = v + strlen(v);
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			*--ve = '\0';
		for (char *q = v; q < ve; q++) {
			unsigned char c = (unsigned char)*q;
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail(h, 400, "invalid header value");
		}
		if (h->nhdrs >= HTTP_MAX_HEADERS)
			return fail(h, 431, "too many header fields");
		h->hdrs[h->nhdrs].name = p;
		h->hdrs[h->nhdrs].nlen = (size_t)(colon - p);
		h->hdrs[h->nhdrs].value = v;
		h->hdrs[h->nhdrs].vlen = (size_t)(ve - v);
		hd = &h->hdrs[h->nhdrs++];

		if (strcasecmp(hd->name, "Content-Length") == 0) {
			if (h->has_cl)
				return fail(h, 400, "duplicate Content-Length");
			if (parse_content_length(hd->value, hd->vlen,
			    &h->content_length) == -1)
				return fail(h, 400, "invalid Content-Length");
			h->has_cl = 1;
		} else if (strcasecmp(hd->name, "Transfer-Encoding") == 0) {
			if (te++)
				return fail(h, 400,
				    "duplicate Transfer-Encoding");
			if (strcasecmp(hd->value, "chunked") != 0)
				return fail(h, 501,
				    "unsupported Transfer-Encoding");
			h->chunked = 1;
		} else if (strcasecmp(hd->name, "Host") == 0) {
			host++;
		} else if (strcasecmp(hd->name, "Connection") == 0) {
			if (http_token_list_has(hd->value, hd->vlen, "close"))
				h->conn_close = 1;
			if (http_token_list_has(hd->value, hd->vlen,
			    "keep-alive"))
				h->conn_keepalive = 1;
			if (http_token_list_has(hd->value, hd->vlen, "upgrade"))
				h->conn_upgrade = 1;
		} else if (strcasecmp(hd->name, "Upgrade") == 0) {
			h->upgrade = hd->value;
		} else if (strcasecmp(hd->name, "Expect") == 0) {
			if (strcasecmp(hd->value, "100-continue") != 0)
				return fail(h, 417, "unsupported expectation");
			h->expect_continue = 1;
		}
		p = eol + 2;
	}
	if (h->has_cl && h->chunked)
		return fail(h, 400, "both Content-Length and Transfer-Encoding");
	if (h->method != NULL) {
		if (h->minor == 1 && host != 1)
			return fail(h, 400, host ? "duplicate Host header" :
			    "missing Host header");
		if (host > 1)
			return fail(h, 400, "duplicate Host header");
		if (h->minor == 0 && h->chunked)
			return fail(h, 400, "Transfer-Encoding in HTTP/1.0");
	}
	if (h->minor == 1)
		h->keepalive = !h->conn_close;
	else
		h->keepalive = h->conn_keepalive && !h->conn_close;
	return 0;
}

/* Split "HTTP/1.x": 0 or 1 into *minor, -1 other valid version, -2 junk. */
static int
parse_version(const char *v, int *minor)
{
	if (strlen(v) != 8 || strncmp(v, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)v[5]) || v[6] != '.' ||
	    !isdigit((unsigned char)v[7]))
		return -2;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return -1;
	*minor = v[7] - '0';
	return 0;
}

static char *
head_copy(struct http_head *h, const char *buf, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->buf = xmalloc(len + 1);
	memcpy(h->buf, buf, len);
	h->buf[len] = '\0';
	h->len = len;
	return h->buf;
}

/* Parse a complete request head as found by http_scan. */
int
http_parse_request(struct http_head *h, const char *buf, size_t len)
{
	char	*p, *eol, *sp1, *sp2, *q, *path;
	int	 r;

	p = head_copy(h, buf, len);
	if ((eol = strstr(p, "\r\n")) == NULL)
		return fail(h, 400, "malformed request line");
	*eol = '\0';
	if ((sp1 = strchr(p, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' '))
		return fail(h, 400, "malformed request line");
	*sp1 = *sp2 = '\0';
	if (!http_valid_method(p))
		return fail(h, 400, "invalid method");
	r = parse_version(sp2 + 1, &h->minor);
	if (r == -1)
		return fail(h, 505, "HTTP version not supported");
	if (r == -2)
		return fail(h, 400, "malformed HTTP version");
	if (strlen(sp1 + 1) == 0 || !http_valid_target(sp1 + 1,
	    strlen(sp1 + 1)))
		return fail(h, 400, "invalid request target");
	h->method = p;
	h->target = sp1 + 1;
	path = xstrdup(h->target);
	if ((q = strchr(path, '?')) != NULL) {
		*q = '\0';
		if (q[1] != '\0')
			h->query = h->target + (q - path) + 1;
		else
			h->bare_qmark = 1;
	}
	h->pathbuf = path;
	h->path = path;
	r = http_parse_fields(h, eol + 2, (size_t)(p + len - (eol + 2)));
	return r;
}

/* Parse a complete response head (from the Docker Engine). */
int
http_parse_response(struct http_head *h, const char *buf, size_t len)
{
	char	*p, *eol, *sp;
	long	 st;
	int	 r;

	p = head_copy(h, buf, len);
	if ((eol = strstr(p, "\r\n")) == NULL)
		return fail(h, 502, "malformed status line");
	*eol = '\0';
	if ((sp = strchr(p, ' ')) == NULL)
		return fail(h, 502, "malformed status line");
	*sp = '\0';
	if (parse_version(p, &h->minor) != 0)
		return fail(h, 502, "bad HTTP version from upstream");
	if (!isdigit((unsigned char)sp[1]) || !isdigit((unsigned char)sp[2]) ||
	    !isdigit((unsigned char)sp[3]) ||
	    (sp[4] != '\0' && sp[4] != ' '))
		return fail(h, 502, "bad status code from upstream");
	st = strtol(sp + 1, NULL, 10);
	if (st < 100 || st > 599)
		return fail(h, 502, "bad status code from upstream");
	h->status = (int)st;
	r = http_parse_fields(h, eol + 2, (size_t)(p + len - (eol + 2)));
	if (r != 0)
		return fail(h, 502, h->error);
	return 0;
}

/*
 * May a client's header reach the Docker Engine?  Hop-by-hop headers,
 * framing (re-derived by the proxy), forwarding claims from clients and
 * every credential header stay behind.
 */
int
http_header_forwardable(const char *name)
{
	static const char *const drop[] = {
		"Connection", "Keep-Alive", "Transfer-Encoding", "TE",
		"Trailer", "Upgrade", "Proxy-Authorization",
		"Proxy-Authenticate", "Proxy-Connection", "Host",
		"Content-Length", "Expect", "Authorization", "X-Dd-Agent-Secret",
		"X-Api-Key", "X-Forwarded-For", "X-Forwarded-Host",
		"X-Forwarded-Proto", "X-Real-IP", "Forwarded",
	};
	size_t	i;

	/* X-Lookout-*: Portwing's earlier name, same credentials. */
	if (strncasecmp(name, "X-Portwing-", 11) == 0 ||
	    strncasecmp(name, "X-Lookout-", 10) == 0)
		return 0;
	for (i = 0; i < nitems(drop); i++)
		if (strcasecmp(name, drop[i]) == 0)
			return 0;
	return 1;
}

/*
 * Lookout v0.2 (Portwing's earlier name) served /_lookout/...: map a
 * decoded path onto /_portwing/... in place, so both answer the same.
 */
void
http_path_alias(char *path, size_t size)
{
	char	tmp[HTTP_MAX_REQLINE];

	if (strncmp(path, "/_lookout", 9) != 0 ||
	    (path[9] != '\0' && path[9] != '/'))
		return;
	snprintf(tmp, sizeof(tmp), "/_portwing%s", path + 9);
	pw_strlcpy(path, tmp, size);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

/* ---- chunked transfer coding ---- */

enum {
	CH_SIZE = 0,	/* reading hex digits */
	CH_EXT,		/* chunk extension up to CR */
	CH_SIZE_LF,	/* expecting LF after the size line's CR */
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER,	/* start of a trailer line (or the final CRLF) */
	CH_TRAILER_LINE,
	CH_TRAILER_LF,
	CH_FINAL_LF,
	CH_DONE,
};

void
http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
}

/*
 * Move decoded body bytes from in to out, at most max bytes per call.
 * Returns 1 when the last chunk and trailers have been consumed, 0 when
 * more input is needed (or max was reached), -1 on a framing error.
 */
int
http_chunked_step(struct http_chunked *c, struct evbuffer *in,
    struct evbuffer *out, size_t max, const char **why)
{
	unsigned char	ch;
	size_t		n, moved = 0;
	int		v;

	while (c->state != CH_DONE) {
		if (c->state == CH_DATA) {
			if (c->remaining == 0) {
				c->state = CH_DATA_CR;
				continue;
			}
			n = evbuffer_get_length(in);
			if (n == 0 || moved >= max)
				return 0;
			if (n > c->remaining)
				n = (size_t)c->remaining;
			if (n > max - moved)
				n = max - moved;
			if (evbuffer_remove_buffer(in, out, n) != (int)n) {
				*why = "chunk copy failed";
				return -1;
			}
			c->remaining -= n;
			moved += n;
			continue;
		}
		if (evbuffer_remove(in, &ch, 1) != 1)
			return 0;
		switch (c->state) {
		case CH_SIZE:
			if ((v = hexval(ch)) >= 0) {
				if (++c->ndigits > 15) {
					*why = "chunk size too large";
					return -1;
				}
				c->remaining = c->remaining * 16 + (uint64_t)v;
			} else if (c->ndigits == 0) {
				*why = "invalid chunk size";
				return -1;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				c->state = CH_EXT;
				c->linelen = 0;
			} else if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else {
				*why = "invalid chunk size";
				return -1;
			}
			break;
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == '\n' || ch == 0 ||
			    ++c->linelen > HTTP_MAX_CHUNK_EXT) {
				*why = "invalid chunk extension";
				return -1;
			}
			break;
		case CH_SIZE_LF:
			if (ch != '\n') {
				*why = "bare CR in chunk size line";
				return -1;
			}
			c->ndigits = 0;
			c->state = c->remaining == 0 ? CH_TRAILER : CH_DATA;
			break;
		case CH_DATA_CR:
			if (ch != '\r') {
				*why = "missing CRLF after chunk data";
				return -1;
			}
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n') {
				*why = "missing CRLF after chunk data";
				return -1;
			}
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
			if (ch == '\r') {
				c->state = CH_FINAL_LF;
				break;
			}
			c->state = CH_TRAILER_LINE;
			/* FALLTHROUGH */
		case CH_TRAILER_LINE:
			if (++c->trailer > HTTP_MAX_TRAILER || ch == '\n' ||
			    ch == 0) {
				*why = "invalid trailer section";
				return -1;
			}
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n') {
				*why = "bare CR in trailer";
				return -1;
			}
			c->state = CH_TRAILER;
			break;
		case CH_FINAL_LF:
			if (ch != '\n') {
				*why = "bare CR after last chunk";
				return -1;
			}
			c->state = CH_DONE;
			break;
		}
	}
	return 1;
}
