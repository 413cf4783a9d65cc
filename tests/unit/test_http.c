/*
 * test_http.c: the strict HTTP/1.1 parser, case by case.  Every rejection
 * the worker relies on has a row here.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http.h"

struct req_case {
	const char	*name;
	const char	*raw;
	int		 want;		/* 0 = parses; else HTTP status */
};

static const struct req_case req_cases[] = {
	{ "simple GET", "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", 0 },
	{ "HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 0 },
	{ "versioned path with query",
	  "GET /v1.41/containers/json?all=1&filters=%7B%7D HTTP/1.1\r\nHost: x\r\n\r\n", 0 },
	{ "chunked body announced",
	  "POST /build HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 0 },
	{ "bare LF line end", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400 },
	{ "bare LF in header", "GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n", 400 },
	{ "bare CR in header", "GET / HTTP/1.1\r\nHost: x\rA: b\r\n\r\n", 400 },
	{ "obsolete line folding",
	  "GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", 400 },
	{ "CL and TE together",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "duplicate CL, same value",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400 },
	{ "conflicting CL",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400 },
	{ "CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n", 400 },
	{ "negative CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400 },
	{ "CL with sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400 },
	{ "huge CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400 },
	{ "CL 2^63-1", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\n", 0 },
	{ "CL 2^63", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n", 400 },
	{ "CL 19 nines", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999999999999\r\n\r\n", 400 },
	{ "CL 2^64-1", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n", 400 },
	{ "TE gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
	{ "duplicate TE",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },
	{ "invalid header name", "GET / HTTP/1.1\r\nHost: x\r\nBad(Name): 1\r\n\r\n", 400 },
	{ "empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400 },
	{ "header without colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400 },
	{ "control char in value", "GET / HTTP/1.1\r\nHost: x\r\nA: b\x01c\r\n\r\n", 400 },
	{ "missing Host", "GET / HTTP/1.1\r\n\r\n", 400 },
	{ "duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
	{ "junk version", "GET / HTTQ/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "absolute form", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "asterisk form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "bad percent escape", "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "truncated percent escape", "GET /a%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "invalid method char", "GE(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	{ "unknown expectation", "PUT / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417 },
	{ "NUL in head", "GET / HTTP/1.1\r\nHost: x\0\r\n\r\n", 400 },
};

/* Run scan + parse over a complete raw head: 0 or the status. */
static int
parse_raw(const char *raw, size_t len, struct http_head *h)
{
	struct http_scan	s;
	struct http_limits	l;
	const char		*why = NULL;
	int			r;

	http_limits_default(&l);
	http_scan_init(&s);
	r = http_scan(&s, &l, (const uint8_t *)raw, len, 1, &why);
	if (r < 0)
		return -r;
	if (r == 0)
		return -1;
	return http_parse_request(h, raw, (size_t)r);
}

START_TEST(test_request_cases)
{
	const struct req_case	*c = &req_cases[_i];
	struct http_head	 h;
	size_t			 len = strlen(c->raw);
	int			 r;

	if (strcmp(c->name, "NUL in head") == 0)
		len = sizeof("GET / HTTP/1.1\r\nHost: x\0\r\n\r\n") - 1;
	memset(&h, 0, sizeof(h));
	r = parse_raw(c->raw, len, &h);
	ck_assert_msg(r == c->want, "%s: got %d, want %d (%s)", c->name, r,
	    c->want, h.error ? h.error : "");
	http_head_free(&h);
}
END_TEST

START_TEST(test_request_fields)
{
	const char	*raw = "POST /v1.41/containers/create?name=a%20b HTTP/1.1\r\n"
	    "Host: docker\r\nContent-Length:  12 \r\nConnection: close\r\n"
	    "X-Empty:\r\n\r\n";
	struct http_head h;

	ck_assert_int_eq(parse_raw(raw, strlen(raw), &h), 0);
	ck_assert_str_eq(h.method, "POST");
	ck_assert_str_eq(h.path, "/v1.41/containers/create");
	ck_assert_str_eq(h.query, "name=a%20b");
	ck_assert(h.has_cl);
	ck_assert_uint_eq(h.content_length, 12);
	ck_assert(h.conn_close);
	ck_assert(!h.keepalive);
	ck_assert_str_eq(http_header(&h, "x-empty")->value, "");
	http_head_free(&h);
}
END_TEST

START_TEST(test_keepalive_rules)
{
	struct http_head h;
	const char	*r10 = "GET / HTTP/1.0\r\n\r\n";
	const char	*r10k = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	const char	*r11 = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	ck_assert_int_eq(parse_raw(r10, strlen(r10), &h), 0);
	ck_assert(!h.keepalive);
	http_head_free(&h);
	ck_assert_int_eq(parse_raw(r10k, strlen(r10k), &h), 0);
	ck_assert(h.keepalive);
	http_head_free(&h);
	ck_assert_int_eq(parse_raw(r11, strlen(r11), &h), 0);
	ck_assert(h.keepalive);
	http_head_free(&h);
}
END_TEST

START_TEST(test_limits)
{
	struct http_scan	 s;
	struct http_limits	 l;
	const char		*why;
	char			*buf;
	size_t			 n;
	int			 i;

	http_limits_default(&l);
	/* Request line longer than the limit: 414 before the line ends. */
	buf = malloc(HTTP_MAX_REQLINE + 100);
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', HTTP_MAX_REQLINE + 50);
	http_scan_init(&s);
	ck_assert_int_eq(http_scan(&s, &l, (uint8_t *)buf,
	    HTTP_MAX_REQLINE + 55, 1, &why), -414);
	free(buf);

	/* Too many header lines: 431. */
	buf = malloc(64 * 1024);
	n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS + 5; i++)
		n += (size_t)sprintf(buf + n, "X-%d: v\r\n", i);
	n += (size_t)sprintf(buf + n, "\r\n");
	http_scan_init(&s);
	ck_assert_int_eq(http_scan(&s, &l, (uint8_t *)buf, n, 1, &why), -431);
	free(buf);

	/* Header block larger than the limit: 431 even without an end. */
	buf = malloc(HTTP_MAX_HEAD + 4096);
	n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nX-Big: ");
	memset(buf + n, 'b', HTTP_MAX_HEAD + 100);
	n += HTTP_MAX_HEAD + 100;
	http_scan_init(&s);
	ck_assert_int_eq(http_scan(&s, &l, (uint8_t *)buf, n, 1, &why), -431);
	free(buf);
}
END_TEST

START_TEST(test_incremental_scan)
{
	const char		*raw = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_scan	 s;
	struct http_limits	 l;
	const char		*why;
	size_t			 i, n = strlen(raw);
	int			 r = 0;

	http_limits_default(&l);
	http_scan_init(&s);
	/* Byte by byte, as a slow client would send it. */
	for (i = 1; i <= n; i++) {
		r = http_scan(&s, &l, (const uint8_t *)raw, i, 1, &why);
		if (i < n)
			ck_assert_int_eq(r, 0);
	}
	ck_assert_int_eq(r, (int)n);
}
END_TEST

START_TEST(test_response)
{
	const char	*raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	const char	*bad = "HTTP/1.1 2000 OK\r\n\r\n";
	struct http_head h;

	ck_assert_int_eq(http_parse_response(&h, raw, strlen(raw)), 0);
	ck_assert_int_eq(h.status, 200);
	ck_assert(h.chunked);
	http_head_free(&h);
	ck_assert_int_eq(http_parse_response(&h, bad, strlen(bad)), 502);
	http_head_free(&h);
}
END_TEST

/* Decode a chunked body fed in pieces of size step. */
static int
chunked(const char *in, size_t len, size_t step, char *out, size_t outsz)
{
	struct http_chunked	 c;
	struct evbuffer		*src = evbuffer_new(), *dst = evbuffer_new();
	const char		*why = NULL;
	size_t			 off = 0, n;
	int			 r = 0;

	http_chunked_init(&c);
	while (off < len && r == 0) {
		n = len - off < step ? len - off : step;
		evbuffer_add(src, in + off, n);
		off += n;
		/* Small max per call: exercises resumption mid-chunk. */
		for (;;) {
			size_t bs = evbuffer_get_length(src);
			size_t bd = evbuffer_get_length(dst);
			r = http_chunked_step(&c, src, dst, 7, &why);
			if (r != 0 || (evbuffer_get_length(src) == bs &&
			    evbuffer_get_length(dst) == bd))
				break;
		}
	}
	n = evbuffer_get_length(dst);
	if (n >= outsz)
		n = outsz - 1;
	evbuffer_remove(dst, out, n);
	out[n] = '\0';
	evbuffer_free(src);
	evbuffer_free(dst);
	return r;
}

START_TEST(test_chunked_ok)
{
	const char	*body = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
	char		 out[64];
	size_t		 step;

	for (step = 1; step <= strlen(body); step++) {
		ck_assert_int_eq(chunked(body, strlen(body), step, out,
		    sizeof(out)), 1);
		ck_assert_str_eq(out, "hello, world");
	}
}
END_TEST

START_TEST(test_chunked_bad)
{
	static const char *const bad[] = {
		"x\r\nhello\r\n0\r\n\r\n",		/* not hex */
		"5\nhello\r\n0\r\n\r\n",		/* bare LF after size */
		"5\r\nhelloXX0\r\n\r\n",		/* no CRLF after data */
		"fffffffffffffffff\r\n",		/* size overflow */
		"5\r\nhello\r\n0\r\n\n",		/* bare LF at the end */
		"-5\r\nhello\r\n0\r\n\r\n",		/* sign */
	};
	char	out[64];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(chunked(bad[i], strlen(bad[i]), 64, out,
		    sizeof(out)) == -1, "case %zu accepted", i);
}
END_TEST

START_TEST(test_forwardable)
{
	ck_assert(!http_header_forwardable("authorization"));
	ck_assert(!http_header_forwardable("X-Portwing-Token"));
	ck_assert(!http_header_forwardable("x-portwing-signature"));
	ck_assert(!http_header_forwardable("X-Dd-Agent-Secret"));
	ck_assert(!http_header_forwardable("X-Forwarded-For"));
	ck_assert(!http_header_forwardable("Connection"));
	ck_assert(!http_header_forwardable("Host"));
	ck_assert(http_header_forwardable("Content-Type"));
	ck_assert(http_header_forwardable("X-Registry-Auth"));
	ck_assert(!http_header_forwardable("X-Lookout-Token"));
	ck_assert(!http_header_forwardable("x-lookout-signature"));
}
END_TEST

START_TEST(test_path_alias)
{
	static const char *const c[][2] = {
		{ "/_lookout/metrics", "/_portwing/metrics" },
		{ "/_lookout/audit/export", "/_portwing/audit/export" },
		{ "/_lookout", "/_portwing" },
		{ "/_lookout/", "/_portwing/" },
		{ "/_lookoutx/info", "/_lookoutx/info" },
		{ "/x/_lookout/info", "/x/_lookout/info" },
		{ "/_portwing/info", "/_portwing/info" },
	};
	char	p[64];
	size_t	i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(p, sizeof(p), "%s", c[i][0]);
		http_path_alias(p, sizeof(p));
		ck_assert_str_eq(p, c[i][1]);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("parser");
	SRunner	*sr;
	int	 nf;

	tcase_add_loop_test(tc, test_request_cases, 0,
	    sizeof(req_cases) / sizeof(req_cases[0]));
	tcase_add_test(tc, test_request_fields);
	tcase_add_test(tc, test_keepalive_rules);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_incremental_scan);
	tcase_add_test(tc, test_response);
	tcase_add_test(tc, test_chunked_ok);
	tcase_add_test(tc, test_chunked_bad);
	tcase_add_test(tc, test_forwardable);
	tcase_add_test(tc, test_path_alias);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
