/*
 * test_stats.c: the shared counter segment (buckets, method and status
 * mapping, reason names) and audit records on the wire (round trip,
 * refusal of malformed payloads, the timestamp format).
 */
#include "pwbuild.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditrec.h"
#include "ipc.h"
#include "stats.h"

START_TEST(test_segment)
{
	struct st_worker	*w;
	int			 fd = stats_create();

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(stats_map(fd), 0);
	ck_assert_uint_eq(pw_stats->magic, ST_MAGIC);
	w = &pw_stats->worker[3];
	stats_request(3, "GET", 200, 500000);		/* 0.5 ms */
	stats_request(3, "GET", 200, 1000000);		/* 1 ms: le 0.001 */
	stats_request(3, "POST", 404, 7000000);		/* 7 ms: le 0.01 */
	stats_request(3, "BREW", 418, 20000000000ULL);	/* 20 s: +Inf */
	stats_request(3, "GET", 42, 1);			/* no such status */
	ck_assert_uint_eq(w->req[STM_GET][200 - ST_CODE_MIN], 2);
	ck_assert_uint_eq(w->req[STM_POST][404 - ST_CODE_MIN], 1);
	ck_assert_uint_eq(w->req[STM_OTHER][418 - ST_CODE_MIN], 1);
	ck_assert_uint_eq(w->req[STM_GET][500 - ST_CODE_MIN], 1);
	ck_assert_uint_eq(w->bucket[0], 3);
	ck_assert_uint_eq(w->bucket[2], 1);
	ck_assert_uint_eq(w->bucket[ST_NBUCKETS - 1], 1);
	ck_assert_uint_eq(w->count, 5);
	ck_assert_uint_eq(w->sum_ns, 500000 + 1000000 + 7000000 +
	    20000000000ULL + 1);
	/* Out-of-range slots are ignored, not written past the end. */
	stats_request(ST_MAX_WORKERS, "GET", 200, 1);
	ck_assert_int_eq(stats_method("PATCH"), STM_PATCH);
	ck_assert_int_eq(stats_method("get"), STM_OTHER);
	ck_assert_int_eq(stats_reason("bad_token"), STR_BAD_TOKEN);
	ck_assert_int_eq(stats_reason("invalid-signature"),
	    STR_INVALID_SIGNATURE);
	ck_assert_int_eq(stats_reason(""), -1);
}
END_TEST

START_TEST(test_audit_rec)
{
	struct audit_rec	 a, b;
	struct ipc_wr		 wr;
	struct ipc_msg		 m;
	struct ipc_rd		 rd;

	audit_rec_init(&a, "api_request", "203.0.113.7", "GET",
	    "/v1.44/containers/a%20b/json?all=1", "allowed");
	ck_assert_str_eq(a.path, "/v1.44/containers/a b/json");
	a.status = 404;
	a.has_duration = 1;
	a.duration_ms = 3.25;
	ipc_wr_init(&wr);
	audit_rec_put(&wr, &a);
	memset(&m, 0, sizeof(m));
	m.data = wr.buf;
	m.hdr.len = (uint32_t)wr.len;
	ipc_rd_init(&rd, &m);
	ck_assert_int_eq(audit_rec_get(&rd, &b), 0);
	ck_assert_str_eq(b.event, "api_request");
	ck_assert_str_eq(b.actor, "203.0.113.7");
	ck_assert_str_eq(b.path, a.path);
	ck_assert_int_eq(b.status, 404);
	ck_assert(b.has_duration && b.duration_ms == 3.25);
	ck_assert_uint_eq(b.ts_ns, a.ts_ns);
	/* A payload cut short is refused. */
	m.hdr.len = (uint32_t)wr.len - 3;
	ipc_rd_init(&rd, &m);
	ck_assert_int_eq(audit_rec_get(&rd, &b), -1);
	ipc_wr_free(&wr);
}
END_TEST

START_TEST(test_audit_time)
{
	char	buf[64];

	audit_time(1768472625123456789ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-01-15T10:23:45.123456789Z");
	audit_time(1768472630001000000ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-01-15T10:23:50.001Z");
	audit_time(1768472630000000000ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-01-15T10:23:50Z");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("stats");
	TCase	*tc = tcase_create("stats");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_segment);
	tcase_add_test(tc, test_audit_rec);
	tcase_add_test(tc, test_audit_time);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
