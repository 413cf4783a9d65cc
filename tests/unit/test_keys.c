/*
 * test_keys.c: the authorized_keys parser (authd/keys.c) keeps what a
 * line says and nothing more, and refuses bad lines by number.
 */
#include "pwbuild.h"

#include <check.h>
#include <string.h>

#include "authd.h"
#include "util.h"

#define PUB	"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="

START_TEST(test_options)
{
	struct keyset	 ks;
	char		 err[128];
	const char	*text = "# ops\n\nfrom=\"10.0.0.0/8,::1\",policy=\"ci\","
	    "expiry-time=\"29990101\" ed25519 " PUB "  build  host \n";

	ck_assert_int_eq(keys_parse(text, strlen(text), &ks, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(ks.n, 1);
	ck_assert_int_eq(ks.keys[0].nfrom, 2);
	ck_assert_str_eq(ks.keys[0].policy, "ci");
	ck_assert_str_eq(ks.keys[0].comment, "build host");
	ck_assert(ks.keys[0].expiry > 0);
	ck_assert_ptr_eq(keys_find(&ks, ks.keys[0].id), &ks.keys[0]);
	keys_free(&ks);
}
END_TEST

START_TEST(test_rejects)
{
	struct keyset	 ks;
	char		 err[128];

	ck_assert_int_eq(keys_parse("\nssh-ed25519 AAAA x\n", 20, &ks, err,
	    sizeof(err)), -1);
	ck_assert(strncmp(err, "line 2:", 7) == 0);
	ck_assert_int_eq(keys_parse("ed25519 " PUB "\0x\n", 55, &ks, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "line 1: NUL byte");
	ck_assert_int_eq(keys_parse("nope=\"1\" ed25519 " PUB "\n", 62, &ks,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "line 1: unknown option");
}
END_TEST

/*
 * A comment of many words longer than the comment buffer is cut at the
 * buffer, and the fields after it in struct authkey stay untouched (found
 * by tests/fuzz/fuzz_keys: the joining code wrote past the buffer).
 */
START_TEST(test_long_comment)
{
	struct keyset	 ks;
	char		 text[2048], err[128];
	size_t		 i;

	memset(text, 0, sizeof(text));
	pw_strlcpy(text, "ed25519 " PUB, sizeof(text));
	for (i = 0; i < 150; i++)
		pw_strlcat(text, " abcdefgh", sizeof(text));
	pw_strlcat(text, "\n", sizeof(text));
	ck_assert_int_eq(keys_parse(text, strlen(text), &ks, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(ks.n, 1);
	ck_assert_uint_eq(strlen(ks.keys[0].comment),
	    sizeof(ks.keys[0].comment) - 1);
	ck_assert(strncmp(ks.keys[0].comment, "abcdefgh abcdefgh", 17) == 0);
	ck_assert_ptr_null(ks.keys[0].from);
	ck_assert_int_eq(ks.keys[0].nfrom, 0);
	ck_assert(ks.keys[0].expiry == 0);
	ck_assert_str_eq(ks.keys[0].policy, "");
	keys_free(&ks);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("keys");
	TCase	*tc = tcase_create("keys");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_long_comment);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
