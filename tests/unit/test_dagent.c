/*
 * test_dagent.c: dockeragent's request checks and the Docker
 * configuration built from a create request (agent/dagentwire.c), and
 * its error envelope (common/dagent.c).
 */
#include "pwbuild.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dagent.h"
#include "dagentwire.h"

static const char *
field(struct da_call *c, const char *name)
{
	int	i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return c->value[i];
	return NULL;
}

static int
create(const char *body, struct da_call *c, struct da_result *r)
{
	memset(c, 0, sizeof(*c));
	return da_create(body, strlen(body), c, r);
}

START_TEST(test_create_checks)
{
	static const struct {
		const char	*body;
		const char	*msg;
	} bad[] = {
		{ "{}", "image is required" },
		{ "{\"image\":\"\"}", "image is required" },
		{ "{\"image\":\"x\",\"restart_policy\":{\"name\":\"sometimes\"}}",
		  "restart_policy.name must be one of: no, always, on-failure, "
		  "unless-stopped" },
		{ "{\"image\":\"x\",\"resources\":{\"cpus\":-1}}",
		  "resources.cpus cannot be negative" },
		{ "{\"image\":\"x\",\"resources\":{\"memory_mb\":-5}}",
		  "resources.memory_mb cannot be negative" },
		{ "{\"image\":\"x\",\"ports\":[{}]}",
		  "ports[].container_port is required" },
		{ "{\"image\":\"x\",\"ports\":[{\"container_port\":\"0\"}]}",
		  "ports[].container_port must be a number between 1 and 65535" },
		{ "{\"image\":\"x\",\"ports\":[{\"container_port\":\"65536\"}]}",
		  "ports[].container_port must be a number between 1 and 65535" },
		{ "{\"image\":\"x\",\"ports\":[{\"container_port\":\"http\"}]}",
		  "ports[].container_port must be a number between 1 and 65535" },
		{ "{\"image\":\"x\",\"ports\":[{\"container_port\":\"80\","
		  "\"host_port\":\"70000\"}]}",
		  "ports[].host_port must be a number between 1 and 65535" },
		{ "{\"image\":\"x\",\"volumes\":[{\"source\":\"/a\"}]}",
		  "volumes[].source and volumes[].target are required" },
		{ "{\"image\":\"x\",\"volumes\":[{\"source\":\"/a\",\"target\":"
		  "\"/b\",\"type\":\"nfs\"}]}",
		  "volumes[].type must be one of: bind, volume, tmpfs (or omitted)" },
	};
	struct da_call		c;
	struct da_result	r;
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(create(bad[i].body, &c, &r), -1);
		ck_assert_int_eq(r.status, 400);
		ck_assert_str_eq(r.msg, bad[i].msg);
		da_call_free(&c);
	}
	ck_assert_int_eq(create("not json", &c, &r), -1);
	ck_assert(strncmp(r.msg, "invalid JSON body: ", 19) == 0);
	ck_assert_int_eq(create("[]", &c, &r), -1);
	ck_assert(strncmp(r.msg, "invalid JSON body: ", 19) == 0);
	ck_assert_int_eq(create("{\"image\":5}", &c, &r), -1);
	ck_assert(strncmp(r.msg, "invalid JSON body: ", 19) == 0);
	ck_assert_int_eq(create("{\"image\":\"x\",\"cmd\":\"sh\"}", &c, &r), -1);
	ck_assert(strncmp(r.msg, "invalid JSON body: ", 19) == 0);
	ck_assert_int_eq(create("{\"image\":\"x\",\"name\":\"../etc\"}", &c, &r),
	    -1);
	ck_assert_int_eq(r.status, 400);
	ck_assert(strstr(r.msg, "Invalid container name") != NULL);
	/* A port's protocol Docker would not parse: dockeragent says 500. */
	ck_assert_int_eq(create("{\"image\":\"x\",\"ports\":[{\"container_port\":"
	    "\"80\",\"protocol\":\"quic\"}]}", &c, &r), -1);
	ck_assert_int_eq(r.status, 500);
	da_call_free(&c);
}
END_TEST

START_TEST(test_create_config)
{
	struct da_call		c;
	struct da_result	r;
	json_t			*cfg, *hc;

	ck_assert_int_eq(create("{\"image\":\"nginx:latest\",\"name\":\"web\","
	    "\"cmd\":[\"nginx\"],\"env\":[\"A=1\"],\"labels\":{\"k\":\"v\"},"
	    "\"working_dir\":\"/w\",\"user\":\"1000\",\"hostname\":\"h\","
	    "\"ports\":[{\"container_port\":\"80\",\"host_port\":\"8080\","
	    "\"host_ip\":\"127.0.0.1\"},{\"container_port\":\"53\",\"protocol\":"
	    "\"udp\"}],\"networks\":[\"n1\"],\"network_mode\":\"bridge\","
	    "\"volumes\":[{\"source\":\"/srv\",\"target\":\"/data\",\"read_only\":"
	    "true},{\"source\":\"v1\",\"target\":\"/v\",\"type\":\"volume\"}],"
	    "\"restart_policy\":{\"name\":\"on-failure\",\"max_retry_count\":3},"
	    "\"resources\":{\"cpus\":1.5,\"memory_mb\":512,\"cpu_shares\":256},"
	    "\"unknown\":1}", &c, &r), 0);
	ck_assert_str_eq(field(&c, "Pw-Da-Name"), "web");
	cfg = json_loads(field(&c, "Pw-Da-Body"), 0, NULL);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(json_string_value(json_object_get(cfg, "Image")),
	    "nginx:latest");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(cfg,
	    "Env"), 0)), "A=1");
	ck_assert(json_object_get(json_object_get(cfg, "ExposedPorts"),
	    "53/udp") != NULL);
	hc = json_object_get(cfg, "HostConfig");
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "NanoCpus")),
	    1500000000);
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "Memory")),
	    512LL * 1024 * 1024);
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "CpuShares")),
	    256);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(hc, "PortBindings"), "80/tcp"), 0),
	    "HostPort")), "8080");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(hc, "Mounts"), 1), "Type")), "volume");
	ck_assert(json_is_true(json_object_get(json_array_get(json_object_get(hc,
	    "Mounts"), 0), "ReadOnly")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(hc,
	    "RestartPolicy"), "MaximumRetryCount")), 3);
	ck_assert(json_object_get(json_object_get(json_object_get(cfg,
	    "NetworkingConfig"), "EndpointsConfig"), "n1") != NULL);
	ck_assert_ptr_null(json_object_get(cfg, "unknown"));
	json_decref(cfg);
	da_call_free(&c);
	/* A DEL byte is escaped: the configuration travels in a field. */
	ck_assert_int_eq(create("{\"image\":\"x\",\"env\":[\"A=\x7f\"]}", &c,
	    &r), 0);
	ck_assert_ptr_null(strchr(field(&c, "Pw-Da-Body"), 0x7f));
	ck_assert_ptr_nonnull(strstr(field(&c, "Pw-Da-Body"), "\\u007f"));
	da_call_free(&c);
}
END_TEST

START_TEST(test_stop_remove_logs)
{
	struct da_call		c = { 0 };
	struct da_result	r;

	ck_assert_int_eq(da_stop("", 0, &c, &r), 0);
	ck_assert_int_eq(c.n, 0);
	ck_assert_int_eq(da_stop("{\"signal\":\"sigkill\",\"timeout\":3}", 32,
	    &c, &r), 0);
	ck_assert_str_eq(field(&c, "Pw-Da-Signal"), "SIGKILL");
	ck_assert_str_eq(field(&c, "Pw-Da-Timeout"), "3");
	da_call_free(&c);
	ck_assert_int_eq(da_stop("{\"signal\":\"SIGFOO\"}", 19, &c, &r), -1);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.msg, "signal must be a valid POSIX signal name "
	    "(e.g., SIGTERM, SIGKILL)");
	ck_assert_int_eq(da_stop("{", 1, &c, &r), -1);
	ck_assert_int_eq(r.status, 400);
	ck_assert_int_eq(da_remove("force=true&v=1", &c, &r), 0);
	ck_assert_str_eq(field(&c, "Pw-Da-Force"), "1");
	ck_assert_str_eq(field(&c, "Pw-Da-V"), "1");
	da_call_free(&c);
	ck_assert_int_eq(da_remove("force=yes", &c, &r), -1);
	ck_assert_str_eq(r.msg, "invalid query parameters");
	ck_assert_int_eq(da_logs("tail=10&since=2026-01-01T00%3A00%3A00Z"
	    "&follow=1", &c, &r), 0);
	ck_assert_str_eq(field(&c, "Pw-Da-Tail"), "10");
	ck_assert_str_eq(field(&c, "Pw-Da-Since"), "2026-01-01T00:00:00Z");
	ck_assert_str_eq(field(&c, "Pw-Da-Follow"), "1");
	da_call_free(&c);
	ck_assert_int_eq(da_logs("", &c, &r), 0);
	ck_assert_str_eq(field(&c, "Pw-Da-Tail"), "all");
	da_call_free(&c);
	ck_assert_int_eq(da_logs("timestamps=perhaps", &c, &r), -1);
	ck_assert_int_eq(da_list("all=true", &c), 0);
	ck_assert_str_eq(field(&c, "Pw-Da-All"), "1");
	da_call_free(&c);
	ck_assert_int_eq(da_list("all=1", &c), 0);	/* only "true" */
	ck_assert_str_eq(field(&c, "Pw-Da-All"), "0");
	da_call_free(&c);
}
END_TEST

START_TEST(test_files)
{
	struct da_call		 c = { 0 };
	struct da_result	 r;
	char			 out[DA_PATH_MAX], *content;
	size_t			 clen;
	const char		*b;

	ck_assert_int_eq(dagent_path_clean("/a//b/./c", out, sizeof(out)),
	    DA_PATH_OK);
	ck_assert_str_eq(out, "/a/b/c");
	ck_assert_int_eq(dagent_path_clean("/a/b/", out, sizeof(out)),
	    DA_PATH_OK);
	ck_assert_str_eq(out, "/a/b");
	ck_assert_int_eq(dagent_path_clean("", out, sizeof(out)),
	    DA_PATH_EMPTY);
	ck_assert_int_eq(dagent_path_clean("a/b", out, sizeof(out)),
	    DA_PATH_RELATIVE);
	ck_assert_int_eq(dagent_path_clean("/a/../b", out, sizeof(out)),
	    DA_PATH_DOTDOT);
	ck_assert_int_eq(dagent_path_clean("/..", out, sizeof(out)),
	    DA_PATH_DOTDOT);
	ck_assert_int_eq(dagent_path_clean("/a/..", out, sizeof(out)),
	    DA_PATH_DOTDOT);
	ck_assert_int_eq(dagent_path_clean("/a/b..c/...", out, sizeof(out)),
	    DA_PATH_OK);
	ck_assert_str_eq(out, "/a/b..c/...");
	ck_assert_int_eq(dagent_path_clean("//./", out, sizeof(out)),
	    DA_PATH_ROOT);
	ck_assert_int_eq(dagent_path_clean("/abc", out, 4), DA_PATH_LONG);
	ck_assert(dagent_path_allowed("/etc/x", NULL));
	ck_assert(dagent_path_allowed("/etc/nginx", "/srv\0/etc/nginx\0"));
	ck_assert(dagent_path_allowed("/etc/nginx/a", "/srv\0/etc/nginx\0"));
	ck_assert(!dagent_path_allowed("/etc/nginx2", "/srv\0/etc/nginx\0"));
	ck_assert(!dagent_path_allowed("/etc", "/srv\0/etc/nginx\0"));

	b = "{\"path\":\"/x//y.conf\",\"content\":\"a\\u0000b\","
	    "\"permission\":\"600\"}";
	ck_assert_int_eq(da_files(b, strlen(b), NULL, &c, &r, &content,
	    &clen), 0);
	ck_assert_str_eq(field(&c, "Pw-Da-Path"), "/x/y.conf");
	ck_assert_str_eq(field(&c, "Pw-Da-Mode"), "0600");
	ck_assert_uint_eq(clen, 3);
	ck_assert(memcmp(content, "a\0b", 3) == 0);
	free(content);
	da_call_free(&c);
	b = "{\"path\":\"/e\"}";
	ck_assert_int_eq(da_files(b, strlen(b), NULL, &c, &r, &content,
	    &clen), 0);
	ck_assert_str_eq(field(&c, "Pw-Da-Mode"), "0644");
	ck_assert_ptr_null(content);
	ck_assert_uint_eq(clen, 0);
	da_call_free(&c);
	b = "{\"path\":\"/e\",\"permission\":\"2755\"}";
	ck_assert_int_eq(da_files(b, strlen(b), NULL, &c, &r, &content,
	    &clen), -1);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.msg, "permission must not set the setuid, setgid "
	    "or sticky bit");
	da_call_free(&c);
	b = "{\"path\":\"/e\",\"permission\":\"17777\"}";
	ck_assert_int_eq(da_files(b, strlen(b), NULL, &c, &r, &content,
	    &clen), -1);
	ck_assert_str_eq(r.msg, "permission must be a valid octal string "
	    "(e.g., \"0644\")");
	da_call_free(&c);
	b = "{\"path\":\"/etc/app\"}";
	ck_assert_int_eq(da_files(b, strlen(b), "/srv\0", &c, &r, &content,
	    &clen), -1);
	ck_assert_int_eq(r.status, 403);
	da_call_free(&c);
	b = "{\"path\":\"/a\\u0000/../etc/x\"}";
	ck_assert_int_eq(da_files(b, strlen(b), NULL, &c, &r, &content,
	    &clen), -1);
	ck_assert_int_eq(r.status, 400);
	da_call_free(&c);
	b = "{\"path\":\"/a/../b\",\"permission\":\"zz\"}";
	ck_assert_int_eq(da_files(b, strlen(b), NULL, &c, &r, &content,
	    &clen), -1);
	ck_assert_str_eq(r.msg, "path must not contain '..'");
	da_call_free(&c);
}
END_TEST

START_TEST(test_resources_range)
{
	struct da_call		 c = { 0 };
	struct da_result	 r;
	const char		*b;

	b = "{\"image\":\"x\",\"resources\":{\"cpus\":5e72}}";
	ck_assert_int_eq(da_create(b, strlen(b), &c, &r), -1);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.msg, "resources.cpus is out of range");
	da_call_free(&c);
	b = "{\"image\":\"x\",\"resources\":{\"memory_mb\":"
	    "9000000000000000}}";
	ck_assert_int_eq(da_create(b, strlen(b), &c, &r), -1);
	ck_assert_str_eq(r.msg, "resources.memory_mb is out of range");
	da_call_free(&c);
	b = "{\"image\":\"x\",\"resources\":{\"cpus\":1.5,"
	    "\"memory_mb\":512}}";
	ck_assert_int_eq(da_create(b, strlen(b), &c, &r), 0);
	da_call_free(&c);
}
END_TEST

START_TEST(test_envelope)
{
	size_t	n;
	char	*s = dagent_envelope_text(413, "too big", &n);

	ck_assert_str_eq(s, "{\"error\":\"Request Entity Too Large\","
	    "\"message\":\"too big\",\"status\":413}\n");
	ck_assert_uint_eq(n, strlen(s));
	free(s);
	s = dagent_envelope_text(401, "missing or invalid API key", &n);
	ck_assert_ptr_nonnull(strstr(s, "\"error\":\"unauthorized\""));
	free(s);
	ck_assert_int_eq(dagent_docker_status(404), 404);
	ck_assert_int_eq(dagent_docker_status(409), 409);
	ck_assert_int_eq(dagent_docker_status(502), 500);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("dagent");
	TCase	*tc = tcase_create("dagent");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_create_checks);
	tcase_add_test(tc, test_create_config);
	tcase_add_test(tc, test_stop_remove_logs);
	tcase_add_test(tc, test_envelope);
	tcase_add_test(tc, test_resources_range);
	tcase_add_test(tc, test_files);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
