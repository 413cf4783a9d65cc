/*
 * test_pwcrypto.c: key IDs, canonical strings, signatures, PEM and Argon2id
 * PHC strings against the reference's published vectors.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pwcrypto.h"

static EVP_PKEY *
seed_key(void)
{
	uint8_t	seed[32];
	int	i;

	for (i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
}

START_TEST(test_key_vectors)
{
	EVP_PKEY	*pk = seed_key();
	uint8_t		 raw[32], back[32];
	char		 b64[64], id[17], *pem, *line;

	ck_assert_int_eq(pwc_raw_public(pk, raw), 0);
	pwc_b64_encode(raw, 32, b64, sizeof(b64));
	ck_assert_str_eq(b64, "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=");
	pwc_key_id(raw, id);
	ck_assert_str_eq(id, "56475aa75463474c");
	pem = pwc_private_pem(pk);
	ck_assert_str_eq(pem, "-----BEGIN PRIVATE KEY-----\n"
	    "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
	    "-----END PRIVATE KEY-----\n");
	line = pwc_authorized_line(pk, "my-comment");
	ck_assert_str_eq(line, "ed25519 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg= my-comment");
	free(line);
	line = pwc_authorized_line(pk, NULL);
	ck_assert_str_eq(line, "ed25519 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=");
	free(line);
	{
		char err[128];
		EVP_PKEY *again = pwc_private_from_pem(pem, strlen(pem), err,
		    sizeof(err));
		ck_assert_ptr_nonnull(again);
		EVP_PKEY_free(again);
		ck_assert_ptr_null(pwc_private_from_pem("junk", 4, err,
		    sizeof(err)));
	}
	free(pem);
	/* Strict public-key base64: canonical 44 chars only. */
	ck_assert_int_eq(pwc_b64_decode_exact(b64, 44, back, 32), 0);
	ck_assert(memcmp(back, raw, 32) == 0);
	ck_assert_int_eq(pwc_b64_decode_exact(
	    "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbh=", 44, back, 32), -1);
	ck_assert_int_eq(pwc_b64_decode_exact(
	    "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg", 43, back, 32), -1);
	ck_assert_int_eq(pwc_b64_decode_exact(
	    "AAAAC3NzaC1lZDI1NTE5AAAAIA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg",
	    68, back, 32), -1);
	EVP_PKEY_free(pk);
}
END_TEST

static void
check_sig(const char *method, const char *target, const char *body,
    const char *want)
{
	EVP_PKEY	*pk = seed_key();
	char		 bh[65], *canon, sig64[100];
	uint8_t		 sig[64], dec[64], raw[32];
	EVP_PKEY	*pub;

	pwc_sha256_hex(body, strlen(body), bh);
	canon = pwc_canonical(method, target, bh, "1750000000",
	    "00112233445566778899aabbccddeeff");
	ck_assert_int_eq(pwc_sign(pk, canon, strlen(canon), sig), 0);
	pwc_b64url_encode_nopad(sig, 64, sig64, sizeof(sig64));
	ck_assert_str_eq(sig64, want);
	ck_assert_int_eq(pwc_b64url_decode_nopad_exact(want, strlen(want), dec,
	    64), 0);
	pwc_raw_public(pk, raw);
	pub = pwc_pubkey_from_raw(raw);
	ck_assert_int_eq(pwc_verify(pub, canon, strlen(canon), dec), 0);
	canon[0] ^= 1;
	ck_assert_int_eq(pwc_verify(pub, canon, strlen(canon), dec), -1);
	free(canon);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pk);
}

START_TEST(test_signature_vectors)
{
	char	bh[65], t[256];

	pwc_sha256_hex("{\"operation\":\"ps\",\"stackName\":\"web\"}", 36, bh);
	ck_assert_str_eq(bh,
	    "c88f409f498f863ce9cfd6835134a9ebbfe3ba9502de2a3396aa7f5f37d3e8ae");
	pwc_sha256_hex("", 0, bh);
	ck_assert_str_eq(bh,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sig("POST", "/_portwing/compose",
	    "{\"operation\":\"ps\",\"stackName\":\"web\"}",
	    "U3J8zxjsS2kn-OHkx76Is9jHXXLqRNFGxizxNiZ4D74DzYvZaMda-L63Rk2Cd79KGwwyll4Bk10IZ0-U0VwBAA");
	check_sig("GET", "/v1.44/containers/json?all=1&filters=%7B%22status%22%3A%5B%22running%22%5D%7D",
	    "", "-O6tvNcEMd1VQUF4LxO-CVEr4ApItAN64ja4NArGEN7uBtqPeOgZmwS381IWxEnkWXqle_ZOVPFShYKs5uOBCw");
	ck_assert_int_eq(pwc_target_v2("/a", "x=1", 0, t, sizeof(t)), 0);
	ck_assert_str_eq(t, "/a?x=1");
	ck_assert_int_eq(pwc_target_v2("/a", NULL, 1, t, sizeof(t)), 0);
	ck_assert_str_eq(t, "/a?");
	ck_assert_int_eq(pwc_target_v2("", NULL, 0, t, sizeof(t)), 0);
	ck_assert_str_eq(t, "/");
}
END_TEST

START_TEST(test_b64url_strict)
{
	uint8_t	sig[64];
	const char *good = "U3J8zxjsS2kn-OHkx76Is9jHXXLqRNFGxizxNiZ4D74DzYvZaMda-L63Rk2Cd79KGwwyll4Bk10IZ0-U0VwBAA";
	char	bad[100];

	ck_assert_int_eq(pwc_b64url_decode_nopad_exact(good, 86, sig, 64), 0);
	snprintf(bad, sizeof(bad), "%s==", good);
	ck_assert_int_eq(pwc_b64url_decode_nopad_exact(bad, 88, sig, 64), -1);
	strcpy(bad, good);
	bad[10] = '+';
	ck_assert_int_eq(pwc_b64url_decode_nopad_exact(bad, 86, sig, 64), -1);
	ck_assert_int_eq(pwc_b64url_decode_nopad_exact(good, 85, sig, 64), -1);
}
END_TEST

START_TEST(test_phc)
{
	const char	*v = "$argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ";
	struct pwc_phc	 ph;
	char		 err[128], *h;
	static const char *const bad[] = {
		"$argon2i$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
		"$argon2id$v=16$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
		"$argon2id$v=19$m=19456,t=2$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
		"$argon2id$v=19$m=19456,t=0,p=1$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
		"$argon2id$v=19$m=8,t=1,p=2$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
		"$argon2id$v=19$m=19456,t=2,p=256$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
		"$argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw==$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
		"$argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ$",
		"argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
		"$argon2id$v=19$m=19456,t=2,t=2$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
		"$argon2id$v=19$m=19456,t=2,p=1$$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
	};
	size_t	i;

	ck_assert_int_eq(pwc_phc_parse(v, &ph, err, sizeof(err)), 0);
	ck_assert_uint_eq(ph.m, 19456);
	ck_assert_uint_eq(ph.saltlen, 16);
	ck_assert_uint_eq(ph.hashlen, 32);
	ck_assert_int_eq(pwc_phc_verify(&ph, "s3cret", 6), 0);
	ck_assert_int_eq(pwc_phc_verify(&ph, "s3creu", 6), -1);
	/* Parameters in any order. */
	ck_assert_int_eq(pwc_phc_parse("$argon2id$v=19$p=1,t=2,m=19456$AAECAwQFBgcICQoLDA0ODw$I2si0d0KiERhhp6i5d5X2kYf/sm4NX7PEoaLbSatzjQ",
	    &ph, err, sizeof(err)), 0);
	ck_assert_int_eq(pwc_phc_verify(&ph, "s3cret", 6), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pwc_phc_parse(bad[i], &ph, err, sizeof(err)) == -1,
		    "accepted bad PHC %zu", i);
	h = pwc_phc_hash("tok", 3);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
	ck_assert_uint_eq(strlen(h), 31 + 22 + 1 + 43);
	ck_assert_int_eq(pwc_phc_parse(h, &ph, err, sizeof(err)), 0);
	ck_assert_int_eq(pwc_phc_verify(&ph, "tok", 3), 0);
	free(h);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("pwcrypto");
	TCase	*tc = tcase_create("pwcrypto");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_key_vectors);
	tcase_add_test(tc, test_signature_vectors);
	tcase_add_test(tc, test_b64url_strict);
	tcase_add_test(tc, test_phc);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
