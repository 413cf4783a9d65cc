/*
 * test_certsel.c: clients.client_certificate_profiles (policy/certsel.c
 * and its loader): selector parsing, fields ANDed, entries ORed in
 * order, pins with and without "sha256:", IPv4 and IPv6 addresses,
 * SPIFFE IDs against URI SANs, and clients.allowed_cidrs loading.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certsel.h"
#include "policy.h"

#define R	"[{ match: { method: GET, path: /_ping }, action: allow }]"
#define PIN_A	"80748ba8c44cc5295a4affcbfbae855a" \
		"3626e623768ad246766c769043397a6d"

static const char *const yaml_ok =
    "rules:\n"
    "  - match: { method: GET, path: /_ping }\n"
    "    action: allow\n"
    "clients:\n"
    "  allowed_cidrs: [10.0.0.0/8, \"2001:db8::/32\"]\n"
    "  client_certificate_profiles:\n"
    "    - profile: ops\n"
    "      common_names: [ops-admin, ops-backup]\n"
    "      spiffe_ids: [\"spiffe://example.org/ops\"]\n"
    "    - profile: pinned\n"
    "      public_key_sha256_pins: [\"sha256:" PIN_A "\"]\n"
    "    - profile: byaddr\n"
    "      ip_addresses: [192.0.2.7, \"2001:db8::7\"]\n"
    "      dns_names: [Host.Example]\n"
    "    - profile: byuri\n"
    "      uri_sans: [\"https://id.example/x\"]\n"
    "  profiles:\n"
    "    - { name: ops, rules: " R " }\n"
    "    - { name: pinned, rules: " R " }\n"
    "    - { name: byaddr, rules: " R " }\n"
    "    - { name: byuri, rules: " R " }\n";

static struct policy *
load(const char *y)
{
	struct policy	*p;
	char		 err[1024];

	p = policy_load_text("t.yaml", y, strlen(y), err, sizeof(err));
	ck_assert_msg(p != NULL, "load failed: %s", err);
	return p;
}

static void
load_fails(const char *sel, const char *want)
{
	struct policy	*p;
	char		 y[2048], err[1024];

	snprintf(y, sizeof(y), "rules: " R "\nclients:\n"
	    "  client_certificate_profiles:\n"
	    "    - profile: p\n%s"
	    "  profiles:\n    - { name: p, rules: " R " }\n", sel);
	p = policy_load_text("t.yaml", y, strlen(y), err, sizeof(err));
	ck_assert_msg(p == NULL, "loaded, expected: %s", want);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want);
}

static const char *
sel(const struct policy *p, const struct pol_cert_id *id)
{
	const char	*s = pol_cert_select(p->cert, p->ncert, id);

	return s != NULL ? s : "(none)";
}

static void
v4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	out[12] = a;
	out[13] = b;
	out[14] = c;
	out[15] = d;
}

START_TEST(test_load)
{
	struct policy	*p = load(yaml_ok);

	ck_assert_uint_eq(p->ncert, 4);
	ck_assert_uint_eq(p->cert[0].ncn, 2);
	ck_assert_uint_eq(p->cert[0].nspiffe, 1);
	ck_assert_uint_eq(p->cert[1].npin, 1);
	ck_assert_uint_eq(p->cert[1].pin[0][0], 0x80);
	ck_assert_uint_eq(p->cert[1].pin[0][31], 0x6d);
	ck_assert_uint_eq(p->cert[2].nip, 2);
	ck_assert_int_eq(p->nallowed, 2);
	ck_assert_uint_eq(p->nwarnings, 0);
	policy_free(p);
}
END_TEST

START_TEST(test_match)
{
	struct policy		*p = load(yaml_ok);
	struct pol_cert_id	 id;
	uint8_t			 pin[32];
	const char		*why;

	/* CN and SPIFFE ID both: ops. */
	memset(&id, 0, sizeof(id));
	id.cn[id.ncn++] = "ops-backup";
	id.uri[id.nuri++] = "spiffe://example.org/ops";
	ck_assert_str_eq(sel(p, &id), "ops");
	/* The CN alone is not enough: fields are ANDed. */
	id.nuri = 0;
	ck_assert_str_eq(sel(p, &id), "(none)");
	/* A SPIFFE ID must match exactly (no prefix, case-sensitive). */
	id.uri[id.nuri++] = "spiffe://example.org/ops/extra";
	ck_assert_str_eq(sel(p, &id), "(none)");
	id.uri[0] = "SPIFFE://example.org/ops";
	ck_assert_str_eq(sel(p, &id), "(none)");
	/* CN compares exactly. */
	id.uri[0] = "spiffe://example.org/ops";
	id.cn[0] = "OPS-ADMIN";
	ck_assert_str_eq(sel(p, &id), "(none)");

	/* The pin, with or without "sha256:", hex in either case. */
	memset(&id, 0, sizeof(id));
	ck_assert_int_eq(pol_cert_parse_pin(PIN_A, pin, &why), 0);
	memcpy(id.spki, pin, 32);
	ck_assert_str_eq(sel(p, &id), "pinned");
	id.spki[31] ^= 1;
	ck_assert_str_eq(sel(p, &id), "(none)");
	ck_assert_int_eq(pol_cert_parse_pin("SHA256:80748BA8C44CC5295A4AFFCBFB"
	    "AE855A3626E623768AD246766C769043397A6D", pin, &why), 0);
	ck_assert_int_eq(memcmp(pin, p->cert[1].pin[0], 32), 0);

	/* Entries in order: a leaf matching two takes the first. */
	memset(&id, 0, sizeof(id));
	memcpy(id.spki, p->cert[1].pin[0], 32);
	id.cn[id.ncn++] = "ops-admin";
	id.uri[id.nuri++] = "spiffe://example.org/ops";
	ck_assert_str_eq(sel(p, &id), "ops");

	/* IP and DNS: both needed; DNS is case-insensitive; v4 and v6. */
	memset(&id, 0, sizeof(id));
	v4(id.ip[id.nip++], 192, 0, 2, 7);
	ck_assert_str_eq(sel(p, &id), "(none)");
	id.dns[id.ndns++] = "host.example";
	ck_assert_str_eq(sel(p, &id), "byaddr");
	v4(id.ip[0], 192, 0, 2, 8);
	ck_assert_str_eq(sel(p, &id), "(none)");
	ck_assert_int_eq(pol_cert_parse_ip("2001:db8::7", id.ip[0], &why), 0);
	ck_assert_str_eq(sel(p, &id), "byaddr");

	/* A URI SAN. */
	memset(&id, 0, sizeof(id));
	id.uri[id.nuri++] = "https://id.example/x";
	ck_assert_str_eq(sel(p, &id), "byuri");

	/* A leaf with nothing matches nothing. */
	memset(&id, 0, sizeof(id));
	ck_assert_str_eq(sel(p, &id), "(none)");
	policy_free(p);
}
END_TEST

START_TEST(test_errors)
{
	load_fails("      public_key_sha256_pins: [abcd]\n",
	    "client_certificate_profiles[0].public_key_sha256_pins[0]: must be "
	    "64 hex digits");
	load_fails("      public_key_sha256_pins: [\"sha256:" PIN_A "00\"]\n",
	    "public_key_sha256_pins[0]");
	load_fails("      spiffe_ids: [\"spiffe:///ops\"]\n",
	    "spiffe_ids[0]: a SPIFFE ID needs a trust domain");
	load_fails("      spiffe_ids: [\"https://example.org/ops\"]\n",
	    "spiffe_ids[0]: a SPIFFE ID starts with spiffe://");
	load_fails("      ip_addresses: [10.0.0.0/8]\n",
	    "ip_addresses[0]: not an IPv4 or IPv6 address");
	load_fails("      dns_names: [\"a b\"]\n",
	    "dns_names[0]: not a DNS name");
	load_fails("      uri_sans: [nocolon]\n", "uri_sans[0]: not a URI");
	load_fails("      common_names: [\"\"]\n", "common_names[0]: must be a "
	    "non-empty string");
	load_fails("      common_names: []\n", "at least one selector");
	load_fails("      common_names: x\n", "common_names: must be a list");
	load_fails("      cns: [x]\n", "client_certificate_profiles[0].cns: "
	    "unknown key");
	/* A profile that does not exist. */
	{
		const char *y = "rules: " R "\nclients:\n"
		    "  client_certificate_profiles:\n"
		    "    - { profile: ghost, common_names: [x] }\n";
		char err[512];
		ck_assert_ptr_null(policy_load_text("t.yaml", y, strlen(y), err,
		    sizeof(err)));
		ck_assert_msg(strstr(err, "client_certificate_profiles[0]: no "
		    "profile named \"ghost\"") != NULL, "%s", err);
	}
	/* allowed_cidrs: a network, named by index when wrong. */
	{
		const char *y = "rules: " R "\nclients:\n"
		    "  allowed_cidrs: [10.0.0.0/33]\n";
		char err[512];
		ck_assert_ptr_null(policy_load_text("t.yaml", y, strlen(y), err,
		    sizeof(err)));
		ck_assert_msg(strstr(err, "clients.allowed_cidrs[0]") != NULL,
		    "%s", err);
	}
}
END_TEST

START_TEST(test_allowed)
{
	struct policy	*p = load(yaml_ok);

	ck_assert(cidr_match(p->allowed, p->nallowed, "10.1.2.3"));
	ck_assert(cidr_match(p->allowed, p->nallowed, "::ffff:10.1.2.3"));
	ck_assert(cidr_match(p->allowed, p->nallowed, "2001:db8::1"));
	ck_assert(!cidr_match(p->allowed, p->nallowed, "127.0.0.1"));
	/* What the approval names for a unix caller is no address. */
	ck_assert(!cidr_match(p->allowed, p->nallowed, "unix:uid=0,gid=0"));
	ck_assert(!cidr_match(p->allowed, p->nallowed, ""));
	policy_free(p);
}
END_TEST

static Suite *
certsel_suite(void)
{
	Suite	*s = suite_create("certsel");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_allowed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(certsel_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
