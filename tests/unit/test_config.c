/*
 * test_config.c: settings from the environment and the KEY=value file,
 * their validation, and the role-filtered tables children receive.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char	dir[] = "/tmp/pwcfgXXXXXX";

static const char *const vars[] = {
	"PORT", "BIND_ADDRESS", "TLS_CERT", "TLS_KEY", "DOCKER_SOCKET",
	"DOCKER_HOST", "LOG_LEVEL", "LOG_FORMAT", "AGENT_ID", "AGENT_NAME",
	"REQUEST_TIMEOUT", "TOKEN", "TOKEN_FILE", "DD_AGENT_SECRET",
	"DD_AGENT_SECRET_FILE", "ALLOW_UNAUTHENTICATED",
	"ALLOW_UNAUTHENTICATED_REMOTE", "WORKERS", "MAX_CONNECTIONS",
	"MAX_CONNECTIONS_PER_ADDRESS",
	"HEADER_TIMEOUT", "IDLE_TIMEOUT", "MAX_HIJACKED", "UPSTREAM_IDLE_TIMEOUT",
};

static void
clean_env(void)
{
	size_t	i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("DOCKER_SOCKET", "/tmp/none.sock", 1);
}

static char *
write_file(const char *name, const char *content)
{
	static char	path[256];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	fputs(content, fp);
	fclose(fp);
	return path;
}

static int
load(struct pw_config *c, const char *file, char *err, size_t errsz)
{
	err[0] = '\0';
	return config_load(c, file, file != NULL, err, errsz);
}

START_TEST(test_defaults)
{
	struct pw_config	c;
	char			err[512];

	clean_env();
	setenv("TOKEN", "t", 1);
	ck_assert_int_eq(load(&c, "/nonexistent/optional", err,
	    sizeof(err)), -1);		/* -f names a file that must exist */
	ck_assert_int_eq(config_load(&c, write_file("empty", ""), 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.port, 3000);
	ck_assert_str_eq(c.bind, "0.0.0.0");
	ck_assert_int_eq(c.request_timeout, 30);
	ck_assert_int_eq(c.header_timeout, 10);
	ck_assert_int_eq(c.idle_timeout, 120);
	ck_assert_int_eq(c.max_hijacked, 100);
	ck_assert_int_eq(c.workers, (int)sysconf(_SC_NPROCESSORS_ONLN));
	ck_assert_str_eq(c.docker_path, "/tmp/none.sock");
	ck_assert(c.agent_id[0] != '\0');
	config_free(&c);
}
END_TEST

START_TEST(test_file_and_env)
{
	struct pw_config	c;
	char			err[512];
	const char		*f;

	clean_env();
	f = write_file("a.conf", "# comment\n\nPORT=4000\n  AGENT_NAME = \"edge one\" \n"
	    "TOKEN='from-file'\nWORKERS=3\n");
	ck_assert_int_eq(load(&c, f, err, sizeof(err)), 0);
	ck_assert_int_eq(c.port, 4000);
	ck_assert_str_eq(c.agent_name, "edge one");
	ck_assert_str_eq(c.token, "from-file");
	ck_assert_int_eq(c.workers, 3);
	config_free(&c);
	/* The environment wins over the file. */
	setenv("PORT", "4001", 1);
	ck_assert_int_eq(load(&c, f, err, sizeof(err)), 0);
	ck_assert_int_eq(c.port, 4001);
	ck_assert_str_eq(c.src[CK_PORT], "env");
	ck_assert_str_eq(c.src[CK_WORKERS], "file:6");
	config_free(&c);
	/* Token settings go as a group: an environment TOKEN beats a file's
	 * TOKEN_FILE, even though TOKEN_FILE normally overrides TOKEN. */
	f = write_file("g.conf", "TOKEN_FILE=/nonexistent/tok\n");
	setenv("TOKEN", "env-token", 1);
	ck_assert_int_eq(load(&c, f, err, sizeof(err)), 0);
	ck_assert_str_eq(c.token, "env-token");
	config_free(&c);
	unsetenv("TOKEN");
	ck_assert_int_eq(load(&c, f, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "TOKEN_FILE"));
}
END_TEST

START_TEST(test_file_errors)
{
	struct pw_config	c;
	char			err[512];

	clean_env();
	setenv("TOKEN", "t", 1);
	ck_assert_int_eq(load(&c, write_file("b.conf", "PORT=1\nBOGUS=1\n"),
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "b.conf:2: unknown setting \"BOGUS\""));
	ck_assert_int_eq(load(&c, write_file("c.conf", "PORT=1\nPORT=2\n"),
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "c.conf:2: PORT set twice"));
	ck_assert_int_eq(load(&c, write_file("d.conf", "just words\n"), err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "d.conf:1: expected KEY=value"));
	ck_assert_int_eq(load(&c, write_file("e.conf", "_APPROVAL_KEY=00\n"),
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown setting"));
}
END_TEST

START_TEST(test_value_errors)
{
	static const struct {
		const char *var, *val, *needle;
	} cases[] = {
		{ "PORT", "70000", "PORT=\"70000\"" },
		{ "PORT", "abc", "expected an integer" },
		{ "WORKERS", "0", "WORKERS" },
		{ "REQUEST_TIMEOUT", "-1", "REQUEST_TIMEOUT" },
		{ "LOG_LEVEL", "trace", "LOG_LEVEL" },
		{ "LOG_FORMAT", "xml", "LOG_FORMAT" },
		{ "BIND_ADDRESS", "example.com", "BIND_ADDRESS" },
		{ "ALLOW_UNAUTHENTICATED", "maybe", "expected true or false" },
		{ "DOCKER_HOST", "ssh://host", "only unix:// and tcp://" },
		{ "TLS_CERT", "/x.pem", "TLS_CERT and TLS_KEY" },
	};
	struct pw_config	c;
	char			err[512];
	size_t			i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clean_env();
		setenv("TOKEN", "t", 1);
		if (strcmp(cases[i].var, "DOCKER_HOST") == 0)
			unsetenv("DOCKER_SOCKET");
		setenv(cases[i].var, cases[i].val, 1);
		ck_assert_msg(load(&c, NULL, err, sizeof(err)) == -1,
		    "%s=%s accepted", cases[i].var, cases[i].val);
		ck_assert_msg(strstr(err, cases[i].needle) != NULL,
		    "%s: error \"%s\" lacks \"%s\"", cases[i].var, err,
		    cases[i].needle);
	}
}
END_TEST

START_TEST(test_credentials)
{
	struct pw_config	c;
	char			err[512];

	clean_env();
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no credential configured"));
	setenv("ALLOW_UNAUTHENTICATED", "true", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "ALLOW_UNAUTHENTICATED_REMOTE"));
	setenv("BIND_ADDRESS", "127.0.0.1", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	config_free(&c);
	setenv("BIND_ADDRESS", "[::1]", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(c.bind, "::1");
	config_free(&c);
	setenv("BIND_ADDRESS", "0.0.0.0", 1);
	setenv("ALLOW_UNAUTHENTICATED_REMOTE", "yes", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	config_free(&c);
}
END_TEST

START_TEST(test_token_sources)
{
	struct pw_config	c;
	char			err[512];

	clean_env();
	setenv("DD_AGENT_SECRET", "dd", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(c.token, "dd");
	config_free(&c);
	setenv("TOKEN", " inline ", 1);		/* inline values are not trimmed */
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(c.token, " inline ");
	config_free(&c);
	setenv("TOKEN_FILE", write_file("tok", "\n  from-file \n\n"), 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(c.token, "from-file");
	config_free(&c);
	setenv("TOKEN_FILE", "/nonexistent/token", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "TOKEN_FILE"));
	/* An empty token file means no token at all. */
	setenv("TOKEN_FILE", write_file("empty-tok", "  \n"), 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no credential"));
}
END_TEST

START_TEST(test_docker_endpoint)
{
	struct pw_config	c;
	char			err[512];

	clean_env();
	setenv("TOKEN", "t", 1);
	unsetenv("DOCKER_SOCKET");
	setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	ck_assert(c.docker_tcp);
	ck_assert_str_eq(c.docker_host, "127.0.0.1");
	ck_assert_str_eq(c.docker_port, "2375");
	config_free(&c);
	setenv("DOCKER_HOST", "tcp://[::1]:2375", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(c.docker_host, "::1");
	config_free(&c);
	setenv("DOCKER_HOST", "unix:///run/x.sock", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	ck_assert(!c.docker_tcp);
	ck_assert_str_eq(c.docker_path, "/run/x.sock");
	config_free(&c);
	/* DOCKER_SOCKET wins over DOCKER_HOST. */
	setenv("DOCKER_SOCKET", "/run/y.sock", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(c.docker_path, "/run/y.sock");
	config_free(&c);
	setenv("DOCKER_SOCKET", "relative.sock", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_role_tables)
{
	struct pw_config	c, w, a;
	char			err[512], *kvw, *kva;

	clean_env();
	setenv("TOKEN", "s3cret-token", 1);
	setenv("PORT", "4444", 1);
	ck_assert_int_eq(load(&c, NULL, err, sizeof(err)), 0);
	c.val[CK__APPROVAL_KEY] = strdup(
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	kvw = config_to_kv(&c, ROLE_WORKER);
	kva = config_to_kv(&c, ROLE_AUTHD);
	/* Workers never see credentials or the approval key. */
	ck_assert_ptr_null(strstr(kvw, "s3cret-token"));
	ck_assert_ptr_null(strstr(kvw, "_APPROVAL_KEY"));
	ck_assert_ptr_nonnull(strstr(kva, "TOKEN=s3cret-token"));
	ck_assert_ptr_nonnull(strstr(kva, "_APPROVAL_KEY="));
	ck_assert_int_eq(config_from_kv(&w, kvw, err, sizeof(err)), 0);
	ck_assert_int_eq(w.port, 4444);
	ck_assert_ptr_null(w.token);
	ck_assert(!w.have_approval_key);
	ck_assert_int_eq(config_from_kv(&a, kva, err, sizeof(err)), 0);
	ck_assert_str_eq(a.token, "s3cret-token");
	ck_assert(a.have_approval_key);
	ck_assert_uint_eq(a.approval_key[1], 0x11);
	config_free(&a);
	config_free(&w);
	config_free(&c);
	ck_assert_int_eq(config_from_kv(&a, "NOPE=1\n", err, sizeof(err)), -1);
	ck_assert_int_eq(config_from_kv(&a, "PORT=1", err, sizeof(err)), -1);
	free(kvw);
	free(kva);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("config");
	SRunner	*sr;
	int	 nf;

	if (mkdtemp(dir) == NULL)
		return 1;
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_and_env);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_value_errors);
	tcase_add_test(tc, test_credentials);
	tcase_add_test(tc, test_token_sources);
	tcase_add_test(tc, test_docker_endpoint);
	tcase_add_test(tc, test_role_tables);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
