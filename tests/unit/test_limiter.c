/*
 * test_limiter.c: the failed-attempt limiter keeps its worst offenders
 * when a flood of addresses fills it, spends a global budget on what it
 * had to forget, and counts keys apart from addresses.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdio.h>

#include "authd.h"

static void
addr(int i, char *buf, size_t sz)
{
	snprintf(buf, sz, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255,
	    i & 255);
}

static void
fail_n(const char *ip, int n)
{
	while (n-- > 0)
		limiter_fail(ip);
}

/* One failure from each of this many addresses, numbered from first. */
static void
flood(int first, int n)
{
	char	buf[32];
	int	i;

	for (i = first; i < first + n; i++) {
		addr(i, buf, sizeof(buf));
		limiter_fail(buf);
	}
}

START_TEST(test_limit)
{
	fail_n("192.0.2.1", 9);
	ck_assert_int_eq(limiter_blocked("192.0.2.1"), 0);
	limiter_fail("192.0.2.1");
	ck_assert_int_eq(limiter_blocked("192.0.2.1"), LIM_ADDRESS);
	ck_assert_int_eq(limiter_blocked("192.0.2.2"), 0);
}
END_TEST

START_TEST(test_flood_keeps_offenders)
{
	fail_n("192.0.2.1", 10);
	fail_n("192.0.2.2", 5);
	flood(0, 10050);
	/* The table forgot single failures, not the worst offenders. */
	ck_assert_int_eq(limiter_blocked("192.0.2.1"), LIM_ADDRESS);
	fail_n("192.0.2.2", 5);
	ck_assert_int_eq(limiter_blocked("192.0.2.2"), LIM_ADDRESS);
	/* A fresh address after the flood is still counted. */
	fail_n("192.0.2.3", 9);
	ck_assert_int_eq(limiter_blocked("192.0.2.3"), 0);
	limiter_fail("192.0.2.3");
	ck_assert_int_eq(limiter_blocked("192.0.2.3"), LIM_ADDRESS);
	/* 50 forgotten failures are far from the global budget. */
	ck_assert_int_eq(limiter_blocked("198.51.100.1"), 0);
}
END_TEST

START_TEST(test_global_budget)
{
	flood(0, 10000);
	ck_assert_int_eq(limiter_blocked("198.51.100.1"), 0);
	/* 10,000 more: as many forgotten, and the budget is spent. */
	flood(20000, 10000);
	ck_assert_int_eq(limiter_blocked("198.51.100.1"), LIM_GLOBAL);
	ck_assert_int_eq(limiter_abuse_blocked("198.51.100.1"), 1);
	/* Tracked addresses keep their own count. */
	fail_n("192.0.2.9", 2);
	ck_assert_int_eq(limiter_blocked("192.0.2.9"), 0);
}
END_TEST

START_TEST(test_keys)
{
	int	i;

	for (i = 0; i < 9; i++)
		limiter_key_fail("56475aa75463474c");
	ck_assert_int_eq(limiter_key_blocked("56475aa75463474c"), 0);
	limiter_key_fail("56475aa75463474c");
	ck_assert_int_eq(limiter_key_blocked("56475aa75463474c"), 1);
	ck_assert_int_eq(limiter_key_blocked("0123456789abcdef"), 0);
	/* Keys and addresses are counted apart. */
	ck_assert_int_eq(limiter_blocked("56475aa75463474c"), 0);
}
END_TEST

START_TEST(test_inflight)
{
	ck_assert_int_eq(limiter_acquire("192.0.2.5"), 1);
	ck_assert_int_eq(limiter_acquire("192.0.2.5"), 1);
	ck_assert_int_eq(limiter_acquire("192.0.2.5"), 0);
	limiter_release("192.0.2.5");
	ck_assert_int_eq(limiter_acquire("192.0.2.5"), 1);
	/* A flood never drops an entry with a verification in flight. */
	flood(0, 10050);
	limiter_release("192.0.2.5");
	limiter_release("192.0.2.5");
	ck_assert_int_eq(limiter_acquire("192.0.2.5"), 1);
	ck_assert_int_eq(limiter_acquire("192.0.2.5"), 1);
	ck_assert_int_eq(limiter_acquire("192.0.2.5"), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("limiter");
	TCase	*tc = tcase_create("limiter");
	SRunner	*sr;
	int	 nf;

	/* Each test runs in its own process (check's default): a fresh table. */
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_flood_keeps_offenders);
	tcase_add_test(tc, test_global_budget);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_inflight);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
