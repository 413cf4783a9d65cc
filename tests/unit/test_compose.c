/*
 * test_compose.c: POST /_portwing/compose's body (compose/cwire.c): the
 * decoding, Portwing's checks with its messages and in its order, path
 * cleaning, and the compose command and .env.drydock built from it.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwire.h"

#define ESC_NUL	"\\u0000"

static char	err[4096];

static int
parse(const char *body, struct compose_req *req)
{
	err[0] = '\0';
	return compose_parse(body, strlen(body), req, err, sizeof(err));
}

/* Parsed and checked: -1 and the message, or 0 and the request kept. */
static int
check(const char *body, struct compose_req *req)
{
	if (parse(body, req) == -1)
		ck_abort_msg("parse failed: %s: %s", body, err);
	return compose_validate(req, err, sizeof(err));
}

static void
check_fails(const char *body, const char *msg)
{
	struct compose_req	req;

	if (check(body, &req) != -1)
		ck_abort_msg("validated: %s", body);
	if (strcmp(err, msg) != 0)
		ck_abort_msg("%s:\n got  %s\n want %s", body, err, msg);
	compose_req_free(&req);
}

static void
parse_fails(const char *body, const char *msg)
{
	struct compose_req	req;

	if (parse(body, &req) != -1)
		ck_abort_msg("parsed: %s", body);
	if (msg != NULL && strcmp(err, msg) != 0)
		ck_abort_msg("%s:\n got  %s\n want %s", body, err, msg);
	/* Nothing is left behind to free on a failure. */
	ck_assert_ptr_null(req.stack_name);
	ck_assert_ptr_null(req.files);
	compose_req_free(&req);
}

/* The stack dir compose_validate keeps for body. */
static void
stack_is(const char *body, const char *dir)
{
	struct compose_req	req;

	if (check(body, &req) != 0)
		ck_abort_msg("%s: %s", body, err);
	ck_assert_str_eq(req.stack_dir, dir);
	compose_req_free(&req);
}

START_TEST(test_parse_errors)
{
	static const struct {
		const char	*body, *msg;
	} bad[] = {
		{ "[]", "expected a JSON object" },
		{ "\"web\"", "expected a JSON object" },
		{ "42", "expected a JSON object" },
		{ "true", "expected a JSON object" },
		{ "{\"operation\":1}", "operation must be a string" },
		{ "{\"stackName\":[]}", "stackName must be a string" },
		{ "{\"stackDir\":{}}", "stackDir must be a string" },
		{ "{\"services\":\"web\"}",
		  "services must be an array of strings" },
		{ "{\"services\":[\"a\",1]}",
		  "services must be an array of strings" },
		{ "{\"build\":1}", "build must be a boolean" },
		{ "{\"forceRecreate\":\"true\"}",
		  "forceRecreate must be a boolean" },
		{ "{\"noDeps\":0}", "noDeps must be a boolean" },
		{ "{\"removeVolumes\":[]}", "removeVolumes must be a boolean" },
		{ "{\"tail\":\"10\"}", "tail must be an integer" },
		{ "{\"tail\":1.5}", "tail must be an integer" },
		{ "{\"tail\":1e2}", "tail must be an integer" },
		{ "{\"envVars\":[]}", "envVars must be an object of strings" },
		{ "{\"envVars\":{\"A\":1}}",
		  "envVars must be an object of strings" },
		{ "{\"files\":\"x\"}", "files must be an object of strings" },
		{ "{\"files\":{\"a\":true}}",
		  "files must be an object of strings" },
		{ "{\"registryAuth\":\"https://x\"}",
		  "registryAuth must be an object" },
		{ "{\"registryAuth\":{\"server\":5}}",
		  "registryAuth.server must be a string" },
		{ "{\"registryAuth\":{\"password\":false}}",
		  "registryAuth.password must be a string" },
		/* A NUL is refused wherever it would cut a name short. */
		{ "{\"stackName\":\"a" ESC_NUL "b\"}",
		  "stackName must not contain NUL" },
		{ "{\"stackDir\":\"a" ESC_NUL "/../..\"}",
		  "stackDir must not contain NUL" },
		{ "{\"operation\":\"up" ESC_NUL "x\"}",
		  "operation must not contain NUL" },
		{ "{\"services\":[\"web" ESC_NUL "\"]}",
		  "services must not contain NUL" },
		{ "{\"registryAuth\":{\"username\":\"u" ESC_NUL "\"}}",
		  "registryAuth.username must not contain NUL" },
		{ "{\"registryAuth\":{\"password\":\"p" ESC_NUL "\"}}",
		  "registryAuth.password must not contain NUL" },
		{ "{\"registryAuth\":{\"server\":\"" ESC_NUL "\"}}",
		  "registryAuth.server must not contain NUL" },
		/* timeout: 1..COMPOSE_TIMEOUT_MAX, or 0. */
		{ "{\"timeout\":-1}",
		  "timeout must be from 1 to 86400 seconds, or 0 for the "
		  "default" },
		{ "{\"timeout\":86401}",
		  "timeout must be from 1 to 86400 seconds, or 0 for the "
		  "default" },
		{ "{\"timeout\":\"60\"}", "timeout must be an integer" },
		{ "{\"timeout\":60.0}", "timeout must be an integer" },
		/* The first failing field, in the order they are read. */
		{ "{\"build\":1,\"operation\":2}",
		  "operation must be a string" },
		/* base64 content that does not decode names its file. */
		{ "{\"files\":{\"a.yml\":\"base64:aGVsbG8\"}}",
		  "file \"a.yml\" has invalid base64 content" },
		{ "{\"files\":{\"a\":\"base64:aGV=bG8=\"}}",
		  "file \"a\" has invalid base64 content" },
		{ "{\"files\":{\"a\":\"base64:aGVsbG8= \"}}",
		  "file \"a\" has invalid base64 content" },
		{ "{\"files\":{\"a\":\"base64: aGVsbG8=\"}}",
		  "file \"a\" has invalid base64 content" },
		{ "{\"files\":{\"a\":\"base64:a===\"}}",
		  "file \"a\" has invalid base64 content" },
		{ "{\"files\":{\"a\":\"base64:====\"}}",
		  "file \"a\" has invalid base64 content" },
		{ "{\"files\":{\"a\":\"base64:QQ==QQ==\"}}",
		  "file \"a\" has invalid base64 content" },
		{ "{\"files\":{\"a\":\"base64:-_-_\"}}",
		  "file \"a\" has invalid base64 content" },
		{ "{\"files\":{\"a\":\"base64:AA" ESC_NUL "A\"}}",
		  "file \"a\" has invalid base64 content" },
		{ "{\"files\":{\"ok\":\"x\",\"z\\n\":\"base64:!\"}}",
		  "file \"z\\n\" has invalid base64 content" },
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_fails(bad[i].body, bad[i].msg);

	/* jansson's own words after the runner's "invalid request: ". */
	parse_fails("not json", "invalid token near 'not'");
	parse_fails("", NULL);
	ck_assert(strstr(err, "end of file") != NULL);
	parse_fails("{\"stackName\":", NULL);
	ck_assert(strncmp(err, "invalid request", 15) != 0 && err[0] != '\0');
	parse_fails("{\"tail\":99999999999999999999}", NULL);
	ck_assert(strstr(err, "too big integer") != NULL);
	/* A NUL in an object key: jansson refuses it while decoding. */
	parse_fails("{\"envVars\":{\"A" ESC_NUL "\":\"x\"}}", NULL);
	ck_assert(strstr(err, "NUL byte in object key") != NULL);
	parse_fails("{\"files\":{\"a" ESC_NUL "/../../x\":\"x\"}}", NULL);
	ck_assert(strstr(err, "NUL byte in object key") != NULL);
}
END_TEST

START_TEST(test_parse_fields)
{
	struct compose_req	req;
	const char		*b;

	b = "{\"operation\":\"up\",\"stackName\":\"web\","
	    "\"stackDir\":\"apps/web\","
	    "\"services\":[\"web\",null,\"db\"],\"build\":true,"
	    "\"forceRecreate\":false,\"noDeps\":true,\"removeVolumes\":true,"
	    "\"tail\":25,\"timeout\":600,\"unknown\":{\"x\":[1,2]},"
	    "\"envVars\":{\"B\":\"2\",\"A\":null,\"C\":\"x" ESC_NUL "y\"},"
	    "\"files\":{\"z.yml\":\"zz\",\"a.yml\":null,\"bin\":"
	    "\"x" ESC_NUL "y\"},"
	    "\"registryAuth\":{\"server\":\"https://ghcr.io\",\"username\":"
	    "\"me\",\"password\":\"s3cret\"}} and then some garbage";
	ck_assert_int_eq(parse(b, &req), 0);
	ck_assert_str_eq(req.operation, "up");
	ck_assert_str_eq(req.stack_name, "web");
	ck_assert_str_eq(req.stack_dir, "apps/web");
	ck_assert_uint_eq(req.nservices, 3);
	ck_assert_str_eq(req.services[0], "web");
	ck_assert_str_eq(req.services[1], "");	/* null: Go's "" */
	ck_assert_str_eq(req.services[2], "db");
	ck_assert_int_eq(req.build, 1);
	ck_assert_int_eq(req.force_recreate, 0);
	ck_assert_int_eq(req.no_deps, 1);
	ck_assert_int_eq(req.remove_volumes, 1);
	ck_assert_int_eq(req.tail, 25);
	ck_assert_int_eq(req.timeout, 600);
	/* Sorted by key; a NUL in a value is kept for the checks. */
	ck_assert_uint_eq(req.nenv, 3);
	ck_assert_str_eq(req.env[0].key, "A");
	ck_assert_str_eq(req.env[0].value, "");
	ck_assert_str_eq(req.env[1].key, "B");
	ck_assert_str_eq(req.env[1].value, "2");
	ck_assert_str_eq(req.env[2].key, "C");
	ck_assert_uint_eq(req.env[2].vlen, 3);
	ck_assert(memcmp(req.env[2].value, "x\0y", 3) == 0);
	ck_assert_int_eq(req.has_files, 1);
	ck_assert_uint_eq(req.nfiles, 3);
	ck_assert_str_eq(req.files[0].path, "a.yml");
	ck_assert_uint_eq(req.files[0].len, 0);
	ck_assert_str_eq(req.files[1].path, "bin");
	ck_assert_uint_eq(req.files[1].len, 3);
	ck_assert(memcmp(req.files[1].data, "x\0y", 3) == 0);
	ck_assert_str_eq(req.files[2].path, "z.yml");
	ck_assert_str_eq((char *)req.files[2].data, "zz");
	ck_assert_int_eq(req.has_auth, 1);
	ck_assert_str_eq(req.auth_server, "https://ghcr.io");
	ck_assert_str_eq(req.auth_username, "me");
	ck_assert_str_eq(req.auth_password, "s3cret");
	compose_req_free(&req);
	compose_req_free(&req);		/* zeroed: a second free is harmless */

	/* Absent and null fields are Go's zero values. */
	ck_assert_int_eq(parse("{\"stackName\":\"s\",\"files\":null,"
	    "\"registryAuth\":null,\"envVars\":null,\"services\":null,"
	    "\"tail\":null,\"timeout\":null,\"build\":null}", &req), 0);
	ck_assert_str_eq(req.operation, "");
	ck_assert_str_eq(req.stack_dir, "");
	ck_assert_int_eq(req.has_files, 0);
	ck_assert_int_eq(req.has_auth, 0);
	ck_assert_uint_eq(req.nservices, 0);
	ck_assert_int_eq(req.timeout, 0);
	compose_req_free(&req);
	/* "files": {} is there (the runner writes .env.drydock then). */
	ck_assert_int_eq(parse("{\"files\":{},\"registryAuth\":{}}", &req),
	    0);
	ck_assert_int_eq(req.has_files, 1);
	ck_assert_uint_eq(req.nfiles, 0);
	ck_assert_int_eq(req.has_auth, 1);
	ck_assert_str_eq(req.auth_server, "");
	compose_req_free(&req);
	/* Top-level null is Go's zero request: it fails the checks. */
	ck_assert_int_eq(parse("null", &req), 0);
	ck_assert_int_eq(compose_validate(&req, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "stack name is required");
	compose_req_free(&req);
	/* Only the first value counts: the second object is never read. */
	ck_assert_int_eq(parse("{\"stackName\":\"a\"}{\"stackName\":7}",
	    &req), 0);
	ck_assert_str_eq(req.stack_name, "a");
	compose_req_free(&req);
	/* The last of a repeated key wins, as in Go. */
	ck_assert_int_eq(parse("{\"stackName\":\"a\",\"stackName\":\"b\"}",
	    &req), 0);
	ck_assert_str_eq(req.stack_name, "b");
	compose_req_free(&req);
	/* timeout's bounds. */
	ck_assert_int_eq(parse("{\"timeout\":1}", &req), 0);
	ck_assert_int_eq(req.timeout, 1);
	compose_req_free(&req);
	ck_assert_int_eq(parse("{\"timeout\":86400}", &req), 0);
	ck_assert_int_eq(req.timeout, COMPOSE_TIMEOUT_MAX);
	compose_req_free(&req);
	ck_assert_int_eq(parse("{\"timeout\":0}", &req), 0);
	ck_assert_int_eq(req.timeout, 0);
	compose_req_free(&req);
	/* A negative tail is read; only the argument vector ignores it. */
	ck_assert_int_eq(parse("{\"tail\":-3}", &req), 0);
	ck_assert_int_eq(req.tail, -3);
	compose_req_free(&req);
}
END_TEST

START_TEST(test_body_limit)
{
	struct compose_req	 req;
	const char		*head = "{\"stackName\":\"big\"}";
	size_t			 n = COMPOSE_BODY_MAX + 100;
	char			*b = malloc(n);

	ck_assert_ptr_nonnull(b);
	/* A value that ends within the limit: what follows is not read. */
	memset(b, ' ', n);
	memcpy(b, head, strlen(head));
	ck_assert_int_eq(compose_parse(b, n, &req, err, sizeof(err)), 0);
	ck_assert_str_eq(req.stack_name, "big");
	compose_req_free(&req);
	/* One that needs bytes beyond it. */
	memset(b, 'a', n);
	memcpy(b, "{\"stackName\":\"", 14);
	memcpy(b + n - 2, "\"}", 2);
	ck_assert_int_eq(compose_parse(b, n, &req, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "request body too large");
	/* At the limit exactly it is an ordinary body. */
	memcpy(b + COMPOSE_BODY_MAX - 2, "\"}", 2);
	ck_assert_int_eq(compose_parse(b, COMPOSE_BODY_MAX, &req, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(strlen(req.stack_name), COMPOSE_BODY_MAX - 16);
	compose_req_free(&req);
	free(b);
}
END_TEST

static void
file_is(const char *content, const void *want, size_t wantlen)
{
	struct compose_req	req;
	char			body[512];

	snprintf(body, sizeof(body), "{\"files\":{\"f\":\"%s\"}}", content);
	if (parse(body, &req) != 0)
		ck_abort_msg("%s: %s", body, err);
	ck_assert_uint_eq(req.nfiles, 1);
	ck_assert_uint_eq(req.files[0].len, wantlen);
	ck_assert(memcmp(req.files[0].data, want, wantlen) == 0);
	ck_assert_int_eq(req.files[0].data[wantlen], '\0');
	compose_req_free(&req);
}

START_TEST(test_base64)
{
	file_is("base64:aGVsbG8=", "hello", 5);
	file_is("base64:aGVsbA==", "hell", 4);
	file_is("base64:aGVs", "hel", 3);
	file_is("base64:", "", 0);
	/* NUL bytes survive decoding. */
	file_is("base64:AAEA/w==", "\0\1\0\377", 4);
	file_is("base64:AA==", "\0", 1);
	/* Go's decoder skips CR and LF anywhere, padding included. */
	file_is("base64:aGVs\\r\\nbG8=\\n", "hello", 5);
	file_is("base64:aGVsbA=\\n=", "hell", 4);
	/* Non-zero padding bits are accepted, as Go's non-strict mode. */
	file_is("base64:QR==", "A", 1);
	/* Without the exact prefix, the text is the content. */
	file_is("Base64:aGVsbG8=", "Base64:aGVsbG8=", 15);
	file_is("base64", "base64", 6);
	file_is("x\\u0000y", "x\0y", 3);
	file_is("services:\\n  web:\\n", "services:\n  web:\n", 17);
}
END_TEST

START_TEST(test_validate_rules)
{
	static const struct {
		const char	*body, *msg;
	} bad[] = {
		/* 1 */
		{ "{}", "stack name is required" },
		{ "{\"stackName\":\"\",\"stackDir\":\"web\"}",
		  "stack name is required" },
		/* 2 */
		{ "{\"stackName\":\"s\",\"envVars\":{\"1A\":\"x\"}}",
		  "invalid env var key: \"1A\"" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"\":\"x\"}}",
		  "invalid env var key: \"\"" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"A-B\":\"x\"}}",
		  "invalid env var key: \"A-B\"" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"A\\nB\":\"x\"}}",
		  "invalid env var key: \"A\\nB\"" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"\\u00e9\":\"x\"}}",
		  "invalid env var key: \"\xc3\xa9\"" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"PATH\":\"/bin\"}}",
		  "env var \"PATH\" is not allowed" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"LD_PRELOAD\":\"\"}}",
		  "env var \"LD_PRELOAD\" is not allowed" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"IFS\":\"\"}}",
		  "env var \"IFS\" is not allowed" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"DOCKER_HOST\":\"x\"}}",
		  "env var \"DOCKER_HOST\" is not allowed" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"A\":\"1\\n2\"}}",
		  "env var \"A\" value contains invalid characters (newline, "
		  "carriage return, or null)" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"A\":\"1\\r\"}}",
		  "env var \"A\" value contains invalid characters (newline, "
		  "carriage return, or null)" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"_a9\":\"" ESC_NUL "\"}}",
		  "env var \"_a9\" value contains invalid characters (newline, "
		  "carriage return, or null)" },
		/* In key order: B's value before PATH, A-B before Z. */
		{ "{\"stackName\":\"s\",\"envVars\":{\"PATH\":\"x\","
		  "\"B\":\"\\n\",\"A\":\"ok\"}}",
		  "env var \"B\" value contains invalid characters (newline, "
		  "carriage return, or null)" },
		{ "{\"stackName\":\"s\",\"envVars\":{\"Z\":\"\\n\","
		  "\"A-B\":\"x\"}}",
		  "invalid env var key: \"A-B\"" },
		/* 3 */
		{ "{\"stackName\":\"s\",\"services\":[\"web\",\"-d\"]}",
		  "invalid service name: \"-d\"" },
		{ "{\"stackName\":\"s\",\"services\":[\"--volumes\",\"-x\"]}",
		  "invalid service name: \"--volumes\"" },
		/* 4 */
		{ "{\"stackName\":\"s\",\"registryAuth\":{}}",
		  "registryAuth.server is required and must be an https URI" },
		{ "{\"stackName\":\"s\",\"registryAuth\":{\"server\":null}}",
		  "registryAuth.server is required and must be an https URI" },
		{ "{\"stackName\":\"s\",\"registryAuth\":{\"server\":"
		  "\"ghcr.io\"}}",
		  "registryAuth.server is not a valid URI: parse \"ghcr.io\": "
		  "invalid URI for request" },
		{ "{\"stackName\":\"s\",\"registryAuth\":{\"server\":"
		  "\"http://ghcr.io\"}}",
		  "registryAuth.server must use https scheme, got \"http\"" },
		{ "{\"stackName\":\"s\",\"registryAuth\":{\"server\":"
		  "\"/v2/\"}}",
		  "registryAuth.server must use https scheme, got \"\"" },
		/* 5 */
		{ "{\"stackName\":\"s\",\"stackDir\":\"/srv/x\"}",
		  "invalid stack path: stack path \"/srv/x\" must be "
		  "relative" },
		{ "{\"stackName\":\"/abs\"}",
		  "invalid stack path: stack path \"/abs\" must be relative" },
		{ "{\"stackName\":\"../x\"}",
		  "invalid stack path: stack path \"../x\" escapes stacks "
		  "directory" },
		{ "{\"stackName\":\"s\",\"stackDir\":\"a/../../x\"}",
		  "invalid stack path: stack path \"a/../../x\" escapes stacks "
		  "directory" },
		{ "{\"stackName\":\"s\",\"stackDir\":\"..\"}",
		  "invalid stack path: stack path \"..\" escapes stacks "
		  "directory" },
		{ "{\"stackName\":\"s\",\"stackDir\":\"./a/../..//b/\"}",
		  "invalid stack path: stack path \"./a/../..//b/\" escapes "
		  "stacks directory" },
		/* 6 */
		{ "{\"stackName\":\"s\",\"files\":{\"/etc/passwd\":\"x\"}}",
		  "invalid stack file path \"/etc/passwd\": path "
		  "\"/etc/passwd\" must be relative" },
		{ "{\"stackName\":\"s\",\"files\":{\"x/../../y\":\"x\"}}",
		  "invalid stack file path \"x/../../y\": path \"x/../../y\" "
		  "escapes stack directory" },
		{ "{\"stackName\":\"s\",\"files\":{\"..\":\"x\"}}",
		  "invalid stack file path \"..\": path \"..\" escapes stack "
		  "directory" },
		/* Above its stack even while still inside STACKS_DIR. */
		{ "{\"stackName\":\"s\",\"files\":{\"../t/compose.yaml\":"
		  "\"\"}}",
		  "invalid stack file path \"../t/compose.yaml\": path "
		  "\"../t/compose.yaml\" escapes stack directory" },
		/* A key that names the stack directory itself. */
		{ "{\"stackName\":\"s\",\"files\":{\".\":\"x\"}}",
		  "writing stack files: resolving path \".\": path \".\" is "
		  "not a file below stacks directory" },
		{ "{\"stackName\":\"s\",\"files\":{\"\":\"x\"}}",
		  "writing stack files: resolving path \"\": path \"\" is not "
		  "a file below stacks directory" },
		{ "{\"stackName\":\"s\",\"files\":{\"a/..//./\":\"x\"}}",
		  "writing stack files: resolving path \"a/..//./\": path "
		  "\"a/..//./\" is not a file below stacks directory" },
		/* ... refused only after every key passed rule 6. */
		{ "{\"stackName\":\"s\",\"files\":{\".\":\"\",\"z/../../x\":"
		  "\"\"}}",
		  "invalid stack file path \"z/../../x\": path \"z/../../x\" "
		  "escapes stack directory" },
		/* Sorted keys: "/b" before "a/../../c". */
		{ "{\"stackName\":\"s\",\"files\":{\"a/../../c\":\"\",\"/b\":"
		  "\"\"}}",
		  "invalid stack file path \"/b\": path \"/b\" must be "
		  "relative" },
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_fails(bad[i].body, bad[i].msg);
}
END_TEST

/* Two failures in one request: the earlier rule's message. */
START_TEST(test_validate_order)
{
	check_fails("{\"stackName\":\"\",\"envVars\":{\"PATH\":\"x\"},"
	    "\"services\":[\"-x\"]}", "stack name is required");
	check_fails("{\"stackName\":\"s\",\"envVars\":{\"PATH\":\"x\"},"
	    "\"services\":[\"-x\"]}", "env var \"PATH\" is not allowed");
	check_fails("{\"stackName\":\"s\",\"services\":[\"-x\"],"
	    "\"registryAuth\":{}}", "invalid service name: \"-x\"");
	check_fails("{\"stackName\":\"../s\",\"registryAuth\":"
	    "{\"server\":\"ftp://x\"}}",
	    "registryAuth.server must use https scheme, got \"ftp\"");
	check_fails("{\"stackName\":\"../s\",\"files\":{\"/x\":\"\"}}",
	    "invalid stack path: stack path \"../s\" escapes stacks "
	    "directory");
	/* stackDir, when given, is the one checked, not stackName. */
	check_fails("{\"stackName\":\"ok\",\"stackDir\":\"../s\"}",
	    "invalid stack path: stack path \"../s\" escapes stacks "
	    "directory");
	stack_is("{\"stackName\":\"../s\",\"stackDir\":\"ok\"}", "ok");
	/* The operation is not checked here (the runner does, last). */
	stack_is("{\"stackName\":\"s\",\"operation\":\"bogus\"}", "s");
}
END_TEST

START_TEST(test_registry_server)
{
	static const struct {
		const char	*server, *msg;	/* NULL: accepted */
	} t[] = {
		{ "https://ghcr.io", NULL },
		{ "HTTPS://ghcr.io", NULL },
		{ "https://ghcr.io:443/v2/?x=%zz#frag", NULL },
		{ "https://user:p%40ss@registry.example:5000", NULL },
		{ "https://a@b@host", NULL },
		{ "https://[::1]:5000", NULL },
		{ "https://[fe80::1%25en0]", NULL },
		{ "https://[::ffff:1.2.3.4]", NULL },
		{ "https:///v2", NULL },
		{ "https:opaque", NULL },
		{ "https://\xc3\xa9.example", NULL },
		{ "https://h/%41", NULL },
		{ "*", "registryAuth.server must use https scheme, got \"\"" },
		{ "ftp://x", "registryAuth.server must use https scheme, got "
		  "\"ftp\"" },
		{ "//ghcr.io", "registryAuth.server must use https scheme, got "
		  "\"\"" },
		{ ":x", "registryAuth.server is not a valid URI: parse \":x\": "
		  "missing protocol scheme" },
		{ "ghcr.io:5000", "registryAuth.server must use https scheme, "
		  "got \"ghcr.io\"" },
		{ "1ghcr.io:5000", "registryAuth.server is not a valid URI: "
		  "parse \"1ghcr.io:5000\": invalid URI for request" },
		{ "https://a b", "registryAuth.server is not a valid URI: "
		  "parse \"https://a b\": invalid character \" \" in host "
		  "name" },
		{ "https://x\x01", "registryAuth.server is not a valid URI: "
		  "parse \"https://x\\x01\": net/url: invalid control "
		  "character in URL" },
		{ "https://a:80:80", "registryAuth.server is not a valid URI: "
		  "parse \"https://a:80:80\": invalid port \":80:80\" after "
		  "host" },
		{ "https://a:x", "registryAuth.server is not a valid URI: "
		  "parse \"https://a:x\": invalid port \":x\" after host" },
		/* Colons are strict only for http and https. */
		{ "ftp://a:80:80", "registryAuth.server must use https scheme, "
		  "got \"ftp\"" },
		{ "https://%zz", "registryAuth.server is not a valid URI: "
		  "parse \"https://%zz\": invalid URL escape \"%zz\"" },
		{ "https://%4", "registryAuth.server is not a valid URI: "
		  "parse \"https://%4\": invalid URL escape \"%4\"" },
		{ "https://%41", "registryAuth.server is not a valid URI: "
		  "parse \"https://%41\": invalid URL escape \"%41\"" },
		{ "https://h/%zz", "registryAuth.server is not a valid URI: "
		  "parse \"https://h/%zz\": invalid URL escape \"%zz\"" },
		{ "https://\xc3\xa9@h", "registryAuth.server is not a valid "
		  "URI: parse \"https://\xc3\xa9@h\": net/url: invalid "
		  "userinfo" },
		{ "https://u%zz@h", "registryAuth.server is not a valid URI: "
		  "parse \"https://u%zz@h\": invalid URL escape \"%zz\"" },
		{ "https://x[::1]", "registryAuth.server is not a valid URI: "
		  "parse \"https://x[::1]\": invalid IP-literal" },
		{ "https://[::1", "registryAuth.server is not a valid URI: "
		  "parse \"https://[::1\": missing ']' in host" },
		{ "https://[::1]x", "registryAuth.server is not a valid URI: "
		  "parse \"https://[::1]x\": invalid port \"x\" after host" },
		{ "https://[1.2.3.4]", "registryAuth.server is not a valid "
		  "URI: parse \"https://[1.2.3.4]\": invalid IP-literal" },
		{ "https://[1.2.3]", "registryAuth.server is not a valid URI: "
		  "parse \"https://[1.2.3]\": invalid host: "
		  "ParseAddr(\"1.2.3\"): IPv4 address too short" },
		{ "https://[::1x]", "registryAuth.server is not a valid URI: "
		  "parse \"https://[::1x]\": invalid host: "
		  "ParseAddr(\"::1x\"): unexpected character, want colon (at "
		  "\"x\")" },
		{ "https://[host]", "registryAuth.server is not a valid URI: "
		  "parse \"https://[host]\": invalid host: "
		  "ParseAddr(\"host\"): unable to parse IP" },
		{ "https://[1::2::3]", "registryAuth.server is not a valid "
		  "URI: parse \"https://[1::2::3]\": invalid host: "
		  "ParseAddr(\"1::2::3\"): multiple :: in address (at "
		  "\":3\")" },
		{ "https://[::1.2.3.04]", "registryAuth.server is not a valid "
		  "URI: parse \"https://[::1.2.3.04]\": invalid host: "
		  "ParseAddr(\"::1.2.3.04\"): ParseAddr(\"1.2.3.04\"): IPv4 "
		  "field has octet with leading zero (at \"1.2.3.04\")" },
		{ "https://[fe80::1%25]", "registryAuth.server is not a valid "
		  "URI: parse \"https://[fe80::1%25]\": invalid host: "
		  "ParseAddr(\"fe80::1%\"): zone must be a non-empty string" },
		{ "https://[1:2:3:4:5:6:7]", "registryAuth.server is not a "
		  "valid URI: parse \"https://[1:2:3:4:5:6:7]\": invalid host: "
		  "ParseAddr(\"1:2:3:4:5:6:7\"): address string too short" },
		{ "https://[12345::]", "registryAuth.server is not a valid "
		  "URI: parse \"https://[12345::]\": invalid host: "
		  "ParseAddr(\"12345::\"): IPv6 field has value >=2^16 (at "
		  "\"12345::\")" },
	};
	struct compose_req	req;
	char			body[512];
	size_t			i, j, o;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* The server as a JSON string: control bytes escaped. */
		o = (size_t)snprintf(body, sizeof(body), "{\"stackName\":\"s\","
		    "\"registryAuth\":{\"server\":\"");
		for (j = 0; t[i].server[j] != '\0'; j++) {
			if ((unsigned char)t[i].server[j] < 0x20)
				o += (size_t)snprintf(body + o,
				    sizeof(body) - o, "\\u%04x",
				    t[i].server[j]);
			else
				body[o++] = t[i].server[j];
		}
		snprintf(body + o, sizeof(body) - o, "\"}}");
		if (t[i].msg != NULL) {
			check_fails(body, t[i].msg);
			continue;
		}
		if (check(body, &req) != 0)
			ck_abort_msg("%s: %s", t[i].server, err);
		compose_req_free(&req);
	}
}
END_TEST

START_TEST(test_clean)
{
	struct compose_req	req;

	stack_is("{\"stackName\":\"web\"}", "web");
	stack_is("{\"stackName\":\"s\",\"stackDir\":\"a/./b/\"}", "a/b");
	stack_is("{\"stackName\":\"s\",\"stackDir\":\"./\"}", ".");
	stack_is("{\"stackName\":\".\"}", ".");
	stack_is("{\"stackName\":\"s\",\"stackDir\":\"a/../b\"}", "b");
	stack_is("{\"stackName\":\"s\",\"stackDir\":\"a//b///c\"}", "a/b/c");
	stack_is("{\"stackName\":\"s\",\"stackDir\":\"a/b/../..\"}", ".");
	stack_is("{\"stackName\":\"s\",\"stackDir\":\"a/b/../../c/./d/..\"}",
	    "c");
	stack_is("{\"stackName\":\"..a\"}", "..a");
	stack_is("{\"stackName\":\"a/...\"}", "a/...");

	/* Files: cleaned, relative to the stack dir, in key order. */
	ck_assert_int_eq(check("{\"stackName\":\"s\",\"stackDir\":\"x/y\","
	    "\"files\":{\"./a/\":\"1\",\"c/../b\":\"2\",\"d//e/./f\":\"3\","
	    "\"g/..\\/h\":\"4\"}}", &req), 0);
	ck_assert_str_eq(req.stack_dir, "x/y");
	ck_assert_uint_eq(req.nfiles, 4);
	ck_assert_str_eq(req.files[0].path, "a");
	ck_assert_str_eq((char *)req.files[0].data, "1");
	ck_assert_str_eq(req.files[1].path, "b");
	ck_assert_str_eq((char *)req.files[1].data, "2");
	ck_assert_str_eq(req.files[2].path, "d/e/f");
	ck_assert_str_eq(req.files[3].path, "h");
	compose_req_free(&req);
	/* A failure leaves the paths as they were sent. */
	ck_assert_int_eq(check("{\"stackName\":\"s\",\"files\":{\"./a\":\"\","
	    "\"b/../..\":\"\"}}", &req), -1);
	ck_assert_str_eq(req.files[0].path, "./a");
	compose_req_free(&req);
}
END_TEST

START_TEST(test_quoting)
{
	/* Go's %q: escapes, printable UTF-8 as is, the rest as \u. */
	check_fails("{\"stackName\":\"s\",\"services\":[\"-\\u00e9\\n\\t"
	    "\\\"\\\\\\u0080\\u00a0\\u200b\\ud83d\\ude00\\u0007\\u007f\\uffff"
	    "\\udb40\\udc01\"]}",
	    "invalid service name: \"-\xc3\xa9\\n\\t\\\"\\\\\\u0080\\u00a0"
	    "\\u200b\xf0\x9f\x98\x80\\a\\x7f\\uffff\\U000e0001\"");
	check_fails("{\"stackName\":\"s\",\"services\":[\"-\\u0001\\u001b\"]}",
	    "invalid service name: \"-\\x01\\x1b\"");
}
END_TEST

START_TEST(test_operation)
{
	char	msg[256];

	ck_assert_int_eq(compose_op_known("up"), 1);
	ck_assert_int_eq(compose_op_known("down"), 1);
	ck_assert_int_eq(compose_op_known("pull"), 1);
	ck_assert_int_eq(compose_op_known("ps"), 1);
	ck_assert_int_eq(compose_op_known("logs"), 1);
	ck_assert_int_eq(compose_op_known("restart"), 1);
	ck_assert_int_eq(compose_op_known("stop"), 1);
	ck_assert_int_eq(compose_op_known("start"), 1);
	ck_assert_int_eq(compose_op_known(""), 0);
	ck_assert_int_eq(compose_op_known("UP"), 0);
	ck_assert_int_eq(compose_op_known("build"), 0);
	ck_assert_int_eq(compose_op_known(NULL), 0);
	compose_op_unsupported("build", msg, sizeof(msg));
	ck_assert_str_eq(msg, "unsupported compose operation: \"build\"");
	compose_op_unsupported("", msg, sizeof(msg));
	ck_assert_str_eq(msg, "unsupported compose operation: \"\"");
	compose_op_unsupported("a\"b\n", msg, sizeof(msg));
	ck_assert_str_eq(msg, "unsupported compose operation: \"a\\\"b\\n\"");
}
END_TEST

START_TEST(test_env_text)
{
	struct compose_req	 req;
	char			*t;
	size_t			 n;

	ck_assert_int_eq(check("{\"stackName\":\"s\",\"envVars\":{\"B\":\"2\","
	    "\"A\":\"1\",\"C_\":\"\",\"a\":\"x=y z\",\"_\":null}}", &req), 0);
	t = compose_env_text(&req, &n);
	ck_assert_str_eq(t, "A=1\nB=2\nC_=\n_=\na=x=y z\n");
	ck_assert_uint_eq(n, strlen(t));
	free(t);
	compose_req_free(&req);
	ck_assert_int_eq(check("{\"stackName\":\"s\"}", &req), 0);
	t = compose_env_text(&req, &n);
	ck_assert_str_eq(t, "");
	ck_assert_uint_eq(n, 0);
	free(t);
	compose_req_free(&req);
}
END_TEST

/* The vector joined with single spaces, for comparing. */
static char *
joined(char **av)
{
	static char	buf[1024];
	size_t		i, o = 0;

	buf[0] = '\0';
	for (i = 0; av[i] != NULL && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s",
		    i > 0 ? " " : "", av[i]);
	return buf;
}

static void
argv_is(const char *body, int v1, const char *env, const char *want)
{
	static const char *const	 v2bin[] = { "docker", "compose" };
	static const char *const	 v1bin[] = { "docker-compose" };
	struct compose_req		 req;
	char				**av;

	if (check(body, &req) != 0)
		ck_abort_msg("%s: %s", body, err);
	av = compose_argv(&req, v1 ? v1bin : v2bin, v1 ? 1 : 2,
	    "/srv/stacks/web", env);
	if (want == NULL)
		ck_assert_ptr_null(av);
	else {
		ck_assert_ptr_nonnull(av);
		ck_assert_str_eq(joined(av), want);
	}
	compose_argv_free(av);
	compose_req_free(&req);
}

#define ENVF	"/srv/stacks/web/.env.drydock"
#define V2	"docker compose --project-directory /srv/stacks/web "
#define V2E	V2 "--env-file " ENVF " "

START_TEST(test_argv)
{
	argv_is("{\"stackName\":\"web\",\"operation\":\"up\"}", 0, NULL,
	    V2 "up -d --remove-orphans");
	argv_is("{\"stackName\":\"web\",\"operation\":\"up\",\"build\":true,"
	    "\"forceRecreate\":true,\"noDeps\":true,\"removeVolumes\":true,"
	    "\"tail\":5,\"services\":[\"web\",\"db\"]}", 0, ENVF,
	    V2E "up -d --remove-orphans --build --force-recreate --no-deps "
	    "web db");
	argv_is("{\"stackName\":\"web\",\"operation\":\"up\","
	    "\"forceRecreate\":true}", 1, ENVF,
	    "docker-compose --project-directory /srv/stacks/web --env-file "
	    ENVF " up -d --remove-orphans --force-recreate");
	/* down: services ignored. */
	argv_is("{\"stackName\":\"web\",\"operation\":\"down\","
	    "\"services\":[\"web\"]}", 0, NULL,
	    V2 "down --remove-orphans");
	argv_is("{\"stackName\":\"web\",\"operation\":\"down\","
	    "\"removeVolumes\":true,\"build\":true}", 0, ENVF,
	    V2E "down --remove-orphans --volumes");
	argv_is("{\"stackName\":\"web\",\"operation\":\"pull\"}", 0, NULL,
	    V2 "pull");
	argv_is("{\"stackName\":\"web\",\"operation\":\"pull\","
	    "\"services\":[\"a\",\"b\"]}", 0, ENVF, V2E "pull a b");
	/* ps: services ignored too. */
	argv_is("{\"stackName\":\"web\",\"operation\":\"ps\","
	    "\"services\":[\"a\"]}", 0, NULL, V2 "ps --format json");
	argv_is("{\"stackName\":\"web\",\"operation\":\"logs\"}", 0, NULL,
	    V2 "logs");
	argv_is("{\"stackName\":\"web\",\"operation\":\"logs\",\"tail\":100,"
	    "\"services\":[\"web\"]}", 0, ENVF, V2E "logs --tail 100 web");
	argv_is("{\"stackName\":\"web\",\"operation\":\"logs\",\"tail\":-1,"
	    "\"services\":[\"web\"]}", 0, NULL, V2 "logs web");
	argv_is("{\"stackName\":\"web\",\"operation\":\"logs\","
	    "\"tail\":9223372036854775807}", 0, NULL,
	    V2 "logs --tail 9223372036854775807");
	argv_is("{\"stackName\":\"web\",\"operation\":\"restart\","
	    "\"services\":[\"a\"]}", 0, NULL, V2 "restart a");
	argv_is("{\"stackName\":\"web\",\"operation\":\"stop\"}", 0, ENVF,
	    V2E "stop");
	argv_is("{\"stackName\":\"web\",\"operation\":\"start\","
	    "\"services\":[\"a\",\"b\",\"c\"],\"noDeps\":true}", 1, NULL,
	    "docker-compose --project-directory /srv/stacks/web start a b c");
	/* Unknown operations build nothing. */
	argv_is("{\"stackName\":\"web\",\"operation\":\"build\"}", 0, NULL,
	    NULL);
	argv_is("{\"stackName\":\"web\"}", 0, ENVF, NULL);
	argv_is("{\"stackName\":\"web\",\"operation\":\"Up\"}", 0, NULL, NULL);
	compose_argv_free(NULL);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("compose");
	TCase	*tc = tcase_create("compose");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_parse_fields);
	tcase_add_test(tc, test_body_limit);
	tcase_add_test(tc, test_base64);
	tcase_add_test(tc, test_validate_rules);
	tcase_add_test(tc, test_validate_order);
	tcase_add_test(tc, test_registry_server);
	tcase_add_test(tc, test_clean);
	tcase_add_test(tc, test_quoting);
	tcase_add_test(tc, test_operation);
	tcase_add_test(tc, test_env_text);
	tcase_add_test(tc, test_argv);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
