/*
 * test_approval.c: approvals verify only for the exact request they were
 * minted for, and each is accepted once.
 */
#include "pwbuild.h"

#include <check.h>
#include <string.h>

#include "approval.h"

static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static void
mint(struct approval *a, uint64_t seq)
{
	memset(a, 0, sizeof(*a));
	a->gen = 3;
	a->worker = 1;
	a->seq = seq;
	a->expires_ms = 123456;
	strcpy(a->principal, "token");
	approval_sign(a, key, "GET", "/containers/json");
}

START_TEST(test_mac)
{
	struct approval	a, b;
	uint8_t		other[32] = { 9 };

	mint(&a, 1);
	ck_assert_int_eq(approval_check_mac(&a, key, "GET",
	    "/containers/json"), 0);
	ck_assert_int_eq(approval_check_mac(&a, key, "POST",
	    "/containers/json"), -1);
	ck_assert_int_eq(approval_check_mac(&a, key, "GET",
	    "/containers/json?all=1"), -1);
	ck_assert_int_eq(approval_check_mac(&a, other, "GET",
	    "/containers/json"), -1);
	b = a;
	b.worker = 2;
	ck_assert_int_eq(approval_check_mac(&b, key, "GET",
	    "/containers/json"), -1);
	b = a;
	b.seq = 2;
	ck_assert_int_eq(approval_check_mac(&b, key, "GET",
	    "/containers/json"), -1);
	b = a;
	strcpy(b.principal, "admin");
	ck_assert_int_eq(approval_check_mac(&b, key, "GET",
	    "/containers/json"), -1);
	b = a;
	b.expires_ms++;
	ck_assert_int_eq(approval_check_mac(&b, key, "GET",
	    "/containers/json"), -1);
	b = a;
	b.body_digest[5] ^= 1;
	ck_assert_int_eq(approval_check_mac(&b, key, "GET",
	    "/containers/json"), -1);
	/* Field boundaries are length-prefixed: no shifting across them. */
	ck_assert_int_eq(approval_check_mac(&a, key, "GET/",
	    "containers/json"), -1);
}
END_TEST

START_TEST(test_single_use)
{
	struct approval_replay	r;
	uint64_t		s;

	approval_replay_init(&r);
	ck_assert_int_eq(approval_replay_check(&r, 1, 5), 0);
	ck_assert_int_eq(approval_replay_check(&r, 1, 5), -1);
	/* Out of order inside the window is fine, once. */
	ck_assert_int_eq(approval_replay_check(&r, 1, 3), 0);
	ck_assert_int_eq(approval_replay_check(&r, 1, 3), -1);
	ck_assert_int_eq(approval_replay_check(&r, 1, 4), 0);
	/* Far ahead, then the old ones fall out of the window. */
	ck_assert_int_eq(approval_replay_check(&r, 1, 5 + APPROVAL_WINDOW), 0);
	ck_assert_int_eq(approval_replay_check(&r, 1, 4), -1);
	ck_assert_int_eq(approval_replay_check(&r, 1, 5), -1);
	/* Just inside the window and never used: accepted. */
	ck_assert_int_eq(approval_replay_check(&r, 1, 6), 0);
	/* Generations are independent. */
	ck_assert_int_eq(approval_replay_check(&r, 2, 5), 0);
	ck_assert_int_eq(approval_replay_check(&r, 2, 5), -1);
	/* Sequence 0 is never valid. */
	ck_assert_int_eq(approval_replay_check(&r, 2, 0), -1);
	/* A long run all accepted once. */
	for (s = 10; s < 20000; s++)
		ck_assert_int_eq(approval_replay_check(&r, 7, s), 0);
	for (s = 20000 - APPROVAL_WINDOW + 1; s < 20000; s++)
		ck_assert_int_eq(approval_replay_check(&r, 7, s), -1);
}
END_TEST

START_TEST(test_old_generation)
{
	struct approval_replay	r;
	uint32_t		g;

	approval_replay_init(&r);
	for (g = 10; g < 30; g++)
		ck_assert_int_eq(approval_replay_check(&r, g, 1), 0);
	/* Generations older than every tracked one are refused. */
	ck_assert_int_eq(approval_replay_check(&r, 5, 2), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("approval");
	TCase	*tc = tcase_create("approval");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_mac);
	tcase_add_test(tc, test_single_use);
	tcase_add_test(tc, test_old_generation);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
