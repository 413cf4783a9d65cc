/*
 * test_generic.c: the generic adapter's model and event frames, and the
 * facts and status line of MCP's list_containers, on recorded Docker
 * answers (proxy/generic.c).
 */
#include "pwbuild.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proxy.h"

static const char inspect_json[] =
    "{\"Id\":\"3f4e0000000000000000000000000000000000000000000000000000000000aa\","
    "\"Name\":\"/web\",\"Created\":\"2026-06-01T10:00:00.123456789Z\","
    "\"Image\":\"sha256:9b1c\",\"Platform\":\"linux\","
    "\"State\":{\"Status\":\"running\",\"Running\":true,\"Paused\":false,"
    "\"Restarting\":false,\"Dead\":false,\"ExitCode\":0,"
    "\"StartedAt\":\"2026-06-01T10:00:01.5Z\","
    "\"FinishedAt\":\"0001-01-01T00:00:00Z\",\"Health\":{\"Status\":\"healthy\"}},"
    "\"Config\":{\"Image\":\"registry.example.com:5000/team/nginx:1.27\","
    "\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],"
    "\"Env\":[\"NGINX_VERSION=1.27.0\",\"PASSWORD=s3cret\",\"BARE\"],"
    "\"Labels\":{\"app\":\"web\"}},"
    "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/srv/web\","
    "\"Destination\":\"/usr/share/nginx/html\",\"RW\":false}],"
    "\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":\"172.17.0.2\","
    "\"Gateway\":\"172.17.0.1\"}}}}";

static json_t *
load(const char *s)
{
	json_t	*o = json_loads(s, 0, NULL);

	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(test_model)
{
	json_t	*in = load(inspect_json), *img = load(
	    "{\"Created\":\"2026-05-01T00:00:00Z\"}"), *m, *d;

	m = generic_model(in, img, "host-a");
	ck_assert_str_eq(jstr(m, "name"), "web");
	ck_assert_str_eq(jstr(m, "displayName"), "web");
	ck_assert_str_eq(jstr(m, "status"), "running");
	ck_assert_str_eq(jstr(m, "agent"), "host-a");
	ck_assert_str_eq(jstr(m, "watcher"), "docker");
	ck_assert_str_eq(jstr(m, "updateKind"), "unknown");
	ck_assert_str_eq(jstr(m, "image.registry"), "registry.example.com:5000");
	ck_assert_str_eq(jstr(m, "image.name"), "team/nginx");
	ck_assert_str_eq(jstr(m, "image.tag"), "1.27");
	ck_assert_str_eq(jstr(m, "image.created"), "2026-05-01T00:00:00Z");
	d = json_object_get(m, "details");
	ck_assert_str_eq(jstr(d, "command"), "nginx -g daemon off;");
	ck_assert_str_eq(jstr(d, "health"), "healthy");
	ck_assert_str_eq(jstr(d, "started"), "2026-06-01T10:00:01.5Z");
	ck_assert_int_eq(json_array_size(json_object_get(d, "env")), 3);
	ck_assert_str_eq(jstr(json_array_get(json_object_get(d, "env"), 2),
	    "value"), "");
	ck_assert(json_is_true(json_object_get(json_array_get(
	    json_object_get(d, "volumes"), 0), "readOnly")));
	ck_assert_str_eq(jstr(json_array_get(json_object_get(d, "network"), 0),
	    "ipAddress"), "172.17.0.2");
	json_decref(m);
	/* Never started, no labels, no mounts: those members are left out. */
	json_object_set_new(json_object_get(in, "State"), "StartedAt",
	    json_string("0001-01-01T00:00:00Z"));
	json_object_del(json_object_get(in, "Config"), "Labels");
	json_object_del(in, "Mounts");
	m = generic_model(in, NULL, "h");
	d = json_object_get(m, "details");
	ck_assert_ptr_null(json_object_get(d, "started"));
	ck_assert_ptr_null(json_object_get(d, "volumes"));
	ck_assert_ptr_null(json_object_get(m, "labels"));
	ck_assert_ptr_null(json_object_get(json_object_get(m, "image"),
	    "created"));
	json_decref(m);
	json_decref(in);
	json_decref(img);
}
END_TEST

static char *
frame_of(const char *event)
{
	json_t	*e = load(event);
	char	*out = NULL;
	size_t	 n;

	if (generic_event_frame(e, &out, &n) == -1)
		out = NULL;
	else
		ck_assert_uint_eq(n, strlen(out));
	json_decref(e);
	return out;
}

START_TEST(test_events)
{
	char	*f;
	json_t	*o;

	f = frame_of("{\"Type\":\"container\",\"Action\":\"start\",\"time\":1781172000,"
	    "\"Actor\":{\"ID\":\"abc\",\"Attributes\":{\"name\":\"web\",\"image\":"
	    "\"nginx:1.27\",\"app\":\"web\",\"exitCode\":\"0\","
	    "\"org.opencontainers.image.version\":\"1\",\"maintainer\":\"x\"}}}");
	ck_assert_ptr_nonnull(f);
	ck_assert(strncmp(f, "data: ", 6) == 0);
	ck_assert(strcmp(f + strlen(f) - 2, "\n\n") == 0);
	o = load(f + 6);
	ck_assert_str_eq(jstr(o, "ts"), "2026-06-11T10:00:00Z");
	ck_assert_str_eq(jstr(o, "action"), "start");
	ck_assert_str_eq(jstr(o, "containerId"), "abc");
	ck_assert_str_eq(jstr(o, "name"), "web");
	ck_assert_str_eq(jstr(o, "image"), "nginx:1.27");
	ck_assert_int_eq(json_object_size(json_object_get(o, "labels")), 1);
	ck_assert_str_eq(jstr(o, "labels.app"), "web");
	json_decref(o);
	free(f);
	/* Health: forwarded with its state, no labels member when none. */
	f = frame_of("{\"Type\":\"container\",\"Action\":\"health_status: unhealthy\","
	    "\"time\":1,\"Actor\":{\"ID\":\"abc\",\"Attributes\":{\"name\":\"w\"}}}");
	ck_assert_ptr_nonnull(f);
	o = load(f + 6);
	ck_assert_str_eq(jstr(o, "action"), "health_status");
	ck_assert_str_eq(jstr(o, "health"), "unhealthy");
	ck_assert_ptr_null(json_object_get(o, "labels"));
	json_decref(o);
	free(f);
	/* Not forwarded: exec events, other types, no actor. */
	ck_assert_ptr_null(frame_of("{\"Type\":\"container\",\"Action\":"
	    "\"exec_start: sh\",\"Actor\":{\"ID\":\"abc\"}}"));
	ck_assert_ptr_null(frame_of("{\"Type\":\"container\",\"Action\":"
	    "\"attach\",\"Actor\":{\"ID\":\"abc\"}}"));
	ck_assert_ptr_null(frame_of("{\"Type\":\"network\",\"Action\":"
	    "\"create\",\"Actor\":{\"ID\":\"abc\"}}"));
	ck_assert_ptr_null(frame_of("{\"Type\":\"container\",\"Action\":"
	    "\"start\"}"));
	ck_assert_ptr_null(frame_of("{\"Type\":\"container\",\"Action\":"
	    "\"health_status: \",\"Actor\":{\"ID\":\"abc\"}}"));
}
END_TEST

START_TEST(test_times)
{
	ck_assert(docker_time_ns("0001-01-01T00:00:00Z") == 0);
	ck_assert(docker_time_ns("") == 0);
	ck_assert(docker_time_ns("garbage") == 0);
	ck_assert(docker_time_ns("1970-01-01T00:00:01.5Z") == 1500000000LL);
	ck_assert(docker_time_ns("2026-06-01T10:00:00.123456789Z") ==
	    docker_time_ns("2026-06-01T12:00:00.123456789+02:00"));
}
END_TEST

static const char *
status_of(const char *state, int64_t now_s)
{
	static char	buf[160];
	json_t		*st = load(state);

	docker_status_line(st, now_s * 1000000000LL, buf, sizeof(buf));
	json_decref(st);
	return buf;
}

START_TEST(test_status_line)
{
	/* Started at t=100 s (1970-01-01T00:01:40Z). */
	const char *up = "{\"Running\":true,\"StartedAt\":\"1970-01-01T00:01:40Z\"}";

	ck_assert_str_eq(status_of(up, 100), "Up Less than a second");
	ck_assert_str_eq(status_of(up, 101), "Up 1 second");
	ck_assert_str_eq(status_of(up, 159), "Up 59 seconds");
	ck_assert_str_eq(status_of(up, 160), "Up About a minute");
	ck_assert_str_eq(status_of(up, 100 + 45 * 60), "Up 45 minutes");
	ck_assert_str_eq(status_of(up, 100 + 3600), "Up About an hour");
	ck_assert_str_eq(status_of(up, 100 + 5 * 3600), "Up 5 hours");
	ck_assert_str_eq(status_of(up, 100 + 3 * 86400), "Up 3 days");
	ck_assert_str_eq(status_of(up, 100 + 21 * 86400), "Up 3 weeks");
	ck_assert_str_eq(status_of(up, 100 + 90 * 86400), "Up 3 months");
	ck_assert_str_eq(status_of(up, 100 + 3 * 365 * 86400), "Up 3 years");
	ck_assert_str_eq(status_of("{\"Running\":true,\"Paused\":true,"
	    "\"StartedAt\":\"1970-01-01T00:01:40Z\"}", 110),
	    "Up 10 seconds (Paused)");
	ck_assert_str_eq(status_of("{\"Running\":true,\"Health\":\"starting\","
	    "\"StartedAt\":\"1970-01-01T00:01:40Z\"}", 110),
	    "Up 10 seconds (health: starting)");
	ck_assert_str_eq(status_of("{\"Running\":true,\"Health\":\"healthy\","
	    "\"StartedAt\":\"1970-01-01T00:01:40Z\"}", 110),
	    "Up 10 seconds (healthy)");
	ck_assert_str_eq(status_of("{\"Running\":false,\"ExitCode\":137,"
	    "\"StartedAt\":\"1970-01-01T00:01:40Z\","
	    "\"FinishedAt\":\"1970-01-01T00:02:00Z\"}", 125),
	    "Exited (137) 5 seconds ago");
	ck_assert_str_eq(status_of("{\"Running\":false,"
	    "\"StartedAt\":\"0001-01-01T00:00:00Z\"}", 125), "Created");
	ck_assert_str_eq(status_of("{\"Dead\":true,"
	    "\"StartedAt\":\"1970-01-01T00:01:40Z\"}", 125), "Dead");
}
END_TEST

START_TEST(test_mcp_list)
{
	json_t	*in = load(inspect_json), *f[2], *list, *e;
	char	*s;

	f[0] = mcp_facts(in);
	json_object_set_new(json_object_get(in, "Config"), "Labels",
	    json_object());
	json_object_set_new(in, "Id", json_string("newer"));
	json_object_set_new(in, "Created",
	    json_string("2026-06-02T00:00:00Z"));
	f[1] = mcp_facts(in);
	s = mcp_list_text(f, 2, docker_time_ns("2026-06-01T10:00:11.5Z"));
	/* Nothing of the environment reaches the answer. */
	ck_assert_ptr_null(strstr(s, "s3cret"));
	ck_assert_ptr_null(strstr(s, "NGINX_VERSION"));
	list = load(s);
	ck_assert_int_eq(json_array_size(list), 2);
	e = json_array_get(list, 0);
	ck_assert_str_eq(jstr(e, "id"), "newer");
	ck_assert_ptr_null(json_object_get(e, "labels"));
	e = json_array_get(list, 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e,
	    "names"), 0)), "/web");
	ck_assert_str_eq(jstr(e, "image"),
	    "registry.example.com:5000/team/nginx:1.27");
	ck_assert_str_eq(jstr(e, "state"), "running");
	ck_assert_str_eq(jstr(e, "status"), "Up 10 seconds (healthy)");
	ck_assert_str_eq(jstr(e, "labels.app"), "web");
	json_decref(list);
	json_decref(f[0]);
	json_decref(f[1]);
	json_decref(in);
	free(s);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("generic");
	TCase	*tc = tcase_create("generic");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_model);
	tcase_add_test(tc, test_events);
	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_status_line);
	tcase_add_test(tc, test_mcp_list);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
