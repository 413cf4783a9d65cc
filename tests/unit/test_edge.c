/*
 * test_edge.c: edge mode's pieces that need no connection: how hello
 * rejections are classified, and DRYDOCK_URL and the edge settings as a
 * child re-reads them.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "edge.h"
#include "util.h"

START_TEST(test_reject_classes)
{
	static const char *const terminal[] = {
		"ed25519-required", "unknown-key", "bad-signature",
		"protocol-mismatch", "no-auth", "invalid-agent-name",
		"parse-error", "expected-hello", "agent-name-claimed",
	};
	static const char *const retry[] = {
		"timestamp-skew", "bad-nonce", "replay", "internal-error",
		"rate-limited", "registry-full", "agent-already-connected",
		"something-new", "", "UNKNOWN-KEY",
	};
	size_t	i;

	for (i = 0; i < sizeof(terminal) / sizeof(terminal[0]); i++)
		ck_assert_msg(edge_reject_class(terminal[i]) == EDGE_TERMINAL,
		    "%s should be terminal", terminal[i]);
	for (i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		ck_assert_msg(edge_reject_class(retry[i]) == EDGE_RETRY,
		    "%s should be retried", retry[i]);
	ck_assert(edge_reject_class(NULL) == EDGE_RETRY);
}
END_TEST

/* The controller's rule, which both sides must share (8.2). */
START_TEST(test_streaming)
{
	static const char *const yes[] = {
		"/containers/x/logs", "/containers/x/logs?follow=1",
		"/containers/x/attach?stream=1", "/events", "/events?since=1",
		"/build", "/images/create?fromImage=a", "/images/push",
		"/exec/abc/start", "/exec/abc/start?x=1", "/v1.41/exec/1/start",
	};
	static const char *const no[] = {
		"/containers/json", "/containers/logs/json", "/_ping",
		"/images/create/x", "/exec/abc/json", "/containers/x/start",
		"/eventsx", "/logsy", "",
		/* Docker's push path does not end with /images/push; the
		   controller's rule calls it non-streaming, and so must we. */
		"/images/a/push",
	};
	size_t	i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(edge_streaming_target(yes[i]), "%s", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!edge_streaming_target(no[i]), "%s", no[i]);
}
END_TEST

/* Invalid UTF-8 becomes U+FFFD; valid text is left alone. */
START_TEST(test_utf8)
{
	static const struct {
		const char	*in;
		size_t		 n;
		const char	*out;
	} c[] = {
		{ "plain", 5, "plain" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "a\xff" "b", 3, "a\xef\xbf\xbd" "b" },
		{ "\xc0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "\xed\xa0\x80", 3,				/* surrogate */
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "x\xe2\x82", 3, "x\xef\xbf\xbd\xef\xbf\xbd" },	/* cut */
		{ "\xf4\x90\x80\x80", 4,			/* > U+10FFFF */
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "nul\0in", 6, "nul\0in" },
	};
	size_t	i, n;
	char	*o;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		o = pw_utf8_mend((const unsigned char *)c[i].in, c[i].n, &n);
		ck_assert_msg(n == strlen(c[i].out) + (i == 7 ? 3 : 0) &&
		    memcmp(o, c[i].out, n) == 0, "case %zu", i);
		free(o);
	}
}
END_TEST

START_TEST(test_cid)
{
	static const char *const ok[] = { "a", "web-1", "My_app.2", "0abc" };
	static const char *const bad[] = {
		"", "-a", ".a", "_a", "a/b", "a b", "a?x", "a%2f", "../x",
	};
	char	long_id[140];
	size_t	i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(edge_cid_ok(ok[i]), "%s", ok[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!edge_cid_ok(bad[i]), "%s", bad[i]);
	memset(long_id, 'a', 128);
	long_id[128] = '\0';
	ck_assert(edge_cid_ok(long_id));
	long_id[128] = 'a';
	long_id[129] = '\0';
	ck_assert(!edge_cid_ok(long_id));
}
END_TEST

/* A child's table: validated with the same rules (no files read). */
static int
load(struct pw_config *c, const char *extra, char *err, size_t errsz)
{
	char	kv[2048];

	snprintf(kv, sizeof(kv), "_DOCKER=unix:///tmp/none.sock\n"
	    "AGENT_ID=agent-1\n%s", extra);
	return config_from_kv(c, kv, err, errsz);
}

START_TEST(test_urls)
{
	static const struct {
		const char	*url;
		int		 tls, port;
		const char	*host, *path;
	} good[] = {
		{ "https://dd.example.com", 1, 443, "dd.example.com",
		  "/api/portwing/ws" },
		{ "https://dd.example.com/", 1, 443, "dd.example.com",
		  "/api/portwing/ws" },
		{ "http://192.0.2.1:3000/drydock//", 0, 3000, "192.0.2.1",
		  "/drydock/api/portwing/ws" },
		{ "WSS://[2001:db8::1]:8443", 1, 8443, "2001:db8::1",
		  "/api/portwing/ws" },
		{ "ws://h", 0, 80, "h", "/api/portwing/ws" },
	};
	static const char *const bad[] = {
		"ftp://dd", "dd.example.com", "https://", "https://:443",
		"https://u:p@dd", "https://dd?x=1", "https://dd/#f",
		"https://dd:0", "https://dd:65536", "https://dd:x",
		"https://[::1", "https://[nothost]", "https://d d",
		"https://dd/a b", "https://dd/a\"b",
	};
	struct pw_config	c;
	char			kv[512], err[512];
	size_t			i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(kv, sizeof(kv), "DRYDOCK_URL=%s\n", good[i].url);
		ck_assert_msg(load(&c, kv, err, sizeof(err)) == 0, "%s: %s",
		    good[i].url, err);
		ck_assert(c.edge);
		ck_assert_int_eq(c.edge_tls, good[i].tls);
		ck_assert_int_eq(c.edge_port, good[i].port);
		ck_assert_str_eq(c.edge_host, good[i].host);
		ck_assert_str_eq(c.edge_path, good[i].path);
		/* Edge mode's listener is loopback unless told otherwise. */
		ck_assert_str_eq(c.bind, "127.0.0.1");
		config_free(&c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(kv, sizeof(kv), "DRYDOCK_URL=%s\n", bad[i]);
		ck_assert_msg(load(&c, kv, err, sizeof(err)) == -1,
		    "%s accepted", bad[i]);
		ck_assert_msg(strstr(err, "DRYDOCK_URL") != NULL, "%s", err);
	}
}
END_TEST

START_TEST(test_settings)
{
	static const char *const bad[] = {
		"HEARTBEAT_INTERVAL=0\n", "HEARTBEAT_INTERVAL=x\n",
		"WELCOME_TIMEOUT=0\n", "RECONNECT_DELAY=-1\n",
		"MAX_RECONNECT_DELAY=86401\n",
		"RECONNECT_DELAY=10\nMAX_RECONNECT_DELAY=5\n",
		"TLS_SKIP_VERIFY=maybe\n", "CA_CERT=relative.pem\n",
		"CA_CERT=/ca.pem\nTLS_SKIP_VERIFY=true\n",
	};
	struct pw_config	c;
	char			kv[512], err[512];
	size_t			i;

	ck_assert_int_eq(load(&c, "DRYDOCK_URL=https://h\n", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.heartbeat, 30);
	ck_assert_int_eq(c.welcome_timeout, 30);
	ck_assert_int_eq(c.reconnect_delay, 1);
	ck_assert_int_eq(c.max_reconnect_delay, 60);
	ck_assert_int_eq(c.tls_skip_verify, 0);
	config_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(kv, sizeof(kv), "DRYDOCK_URL=https://h\n%s", bad[i]);
		ck_assert_msg(load(&c, kv, err, sizeof(err)) == -1,
		    "%s accepted", bad[i]);
	}
	/* Edge settings without DRYDOCK_URL are mistakes, named. */
	ck_assert_int_eq(load(&c, "WELCOME_TIMEOUT=5\n", err, sizeof(err)),
	    -1);
	ck_assert(strstr(err, "WELCOME_TIMEOUT") != NULL &&
	    strstr(err, "without DRYDOCK_URL") != NULL);
	/* What the controller's hello checks would refuse. */
	ck_assert_int_eq(config_from_kv(&c, "_DOCKER=unix:///x.sock\n"
	    "AGENT_ID=a.b\nDRYDOCK_URL=https://h\n", err, sizeof(err)), -1);
	ck_assert(strstr(err, "AGENT_ID") != NULL);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("edge");
	TCase	*tc = tcase_create("edge");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_reject_classes);
	tcase_add_test(tc, test_streaming);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_cid);
	tcase_add_test(tc, test_urls);
	tcase_add_test(tc, test_settings);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
