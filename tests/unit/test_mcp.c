/*
 * test_mcp.c: the MCP server's messages (agent/mcpwire.c): what each
 * JSON-RPC message is answered, which become tool calls and with what
 * arguments, and the transport's header checks.
 */
#include "pwbuild.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp.h"

static enum mcp_kind
msg(const char *body, json_t **answer, struct mcp_call *call)
{
	return mcp_message(body, strlen(body), answer, call);
}

/* The error code of an answer, 0 for a result. */
static int
code_of(json_t *a)
{
	return (int)json_integer_value(json_object_get(json_object_get(a,
	    "error"), "code"));
}

static const char *
text_of(json_t *a)
{
	return json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(a, "result"), "content"), 0),
	    "text"));
}

static int
is_error(json_t *a)
{
	return json_is_true(json_object_get(json_object_get(a, "result"),
	    "isError"));
}

START_TEST(test_errors)
{
	static const char *const parse[] = {
		"", "{", "[1]", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
		"42", "\"x\"", "null", "{\"a\":1} trailing",
	};
	json_t		*a;
	struct mcp_call	 c;
	size_t		 i;

	for (i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
		ck_assert_int_eq(msg(parse[i], &a, &c), MCP_ANSWER);
		ck_assert_int_eq(code_of(a), -32700);
		ck_assert(json_is_null(json_object_get(a, "id")));
		json_decref(a);
	}
	ck_assert_int_eq(msg("{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"ping\"}",
	    &a, &c), MCP_ANSWER);
	ck_assert_int_eq(code_of(a), -32600);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "id")), 7);
	json_decref(a);
	ck_assert_int_eq(msg("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
	    &a, &c), MCP_ANSWER);
	ck_assert_int_eq(code_of(a), -32600);
	json_decref(a);
	ck_assert_int_eq(msg("{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":"
	    "\"resources/list\"}", &a, &c), MCP_ANSWER);
	ck_assert_int_eq(code_of(a), -32601);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
	    "error"), "message")), "method not found: resources/list");
	ck_assert_str_eq(json_string_value(json_object_get(a, "id")), "q");
	json_decref(a);
	ck_assert_int_eq(msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
	    &a, &c), MCP_ANSWER);
	ck_assert_int_eq(code_of(a), -32600);
	json_decref(a);
}
END_TEST

START_TEST(test_notifications)
{
	json_t		*a;
	struct mcp_call	 c;

	ck_assert_int_eq(msg("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/initialized\"}", &a, &c), MCP_ACCEPTED);
	ck_assert_int_eq(msg("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/cancelled\",\"params\":{\"requestId\":1}}", &a, &c),
	    MCP_ACCEPTED);
	/* A client's response to a request. */
	ck_assert_int_eq(msg("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}", &a,
	    &c), MCP_ACCEPTED);
	ck_assert_ptr_null(a);
}
END_TEST

START_TEST(test_initialize)
{
	json_t		*a, *r;
	struct mcp_call	 c;

	msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
	    "{\"protocolVersion\":\"2025-06-18\"}}", &a, &c);
	r = json_object_get(a, "result");
	ck_assert_str_eq(json_string_value(json_object_get(r,
	    "protocolVersion")), "2025-06-18");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r,
	    "serverInfo"), "name")), "portwing");
	ck_assert(json_is_object(json_object_get(json_object_get(r,
	    "capabilities"), "tools")));
	json_decref(a);
	/* An unknown version, or none: the newest this server speaks. */
	msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
	    "{\"protocolVersion\":\"2099-01-01\"}}", &a, &c);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
	    "result"), "protocolVersion")), MCP_LATEST);
	json_decref(a);
	msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}", &a, &c);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
	    "result"), "protocolVersion")), MCP_LATEST);
	json_decref(a);
	msg("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", &a, &c);
	ck_assert_int_eq(json_object_size(json_object_get(a, "result")), 0);
	ck_assert(json_is_object(json_object_get(a, "result")));
	json_decref(a);
}
END_TEST

START_TEST(test_tools_list)
{
	json_t		*a, *tools, *t, *schema;
	struct mcp_call	 c;
	size_t		 i;

	msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", &a, &c);
	tools = json_object_get(json_object_get(a, "result"), "tools");
	ck_assert_int_eq(json_array_size(tools), 5);
	json_array_foreach(tools, i, t) {
		schema = json_object_get(t, "inputSchema");
		ck_assert_str_eq(json_string_value(json_object_get(schema,
		    "type")), "object");
		if (strcmp(json_string_value(json_object_get(t, "name")),
		    "container_logs") == 0)
			ck_assert_int_eq(json_integer_value(json_object_get(
			    json_object_get(json_object_get(schema, "properties"),
			    "tail"), "maximum")), 500);
	}
	json_decref(a);
}
END_TEST

START_TEST(test_calls)
{
	json_t		*a;
	struct mcp_call	 c;

	ck_assert_int_eq(msg("{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"container_logs\",\"arguments\":"
	    "{\"id\":\"web\",\"tail\":9999}}}", &a, &c), MCP_CALL);
	ck_assert_str_eq(c.tool, "container_logs");
	ck_assert_str_eq(c.id, "web");
	ck_assert_int_eq(c.tail, 500);
	ck_assert_str_eq(c.idjson, "\"r1\"");
	/* The proxy's answer, wrapped. */
	a = mcp_wrap(c.idjson, 200, "{\"id\":\"web\"}", 12);
	ck_assert_str_eq(text_of(a), "{\"id\":\"web\"}");
	ck_assert(!is_error(a));
	ck_assert_str_eq(json_string_value(json_object_get(a, "id")), "r1");
	json_decref(a);
	a = mcp_wrap(c.idjson, 422, "inspect container: gone", 23);
	ck_assert(is_error(a));
	json_decref(a);
	a = mcp_wrap(c.idjson, 0, "", 0);
	ck_assert_int_eq(code_of(a), -32603);
	json_decref(a);
	a = mcp_wrap(c.idjson, 200, "\xff\xfe", 2);	/* not UTF-8 */
	ck_assert_int_eq(code_of(a), -32603);
	json_decref(a);
	free(c.idjson);
	ck_assert_int_eq(msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"container_logs\",\"arguments\":"
	    "{\"id\":\"web\",\"tail\":-3}}}", &a, &c), MCP_CALL);
	ck_assert_int_eq(c.tail, 100);
	free(c.idjson);
	ck_assert_int_eq(msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"list_containers\"}}", &a, &c),
	    MCP_CALL);
	ck_assert_str_eq(c.id, "");
	ck_assert_int_eq(c.tail, 0);
	free(c.idjson);
}
END_TEST

START_TEST(test_call_errors)
{
	static const struct {
		const char	*params;
		int		 code;		/* 0: a tool error */
		const char	*text;
	} cases[] = {
		{ "", -32602, NULL },
		{ ",\"params\":[]", -32602, NULL },
		{ ",\"params\":{}", -32602, NULL },
		{ ",\"params\":{\"name\":3}", -32602, NULL },
		{ ",\"params\":{\"name\":\"list_containers\",\"arguments\":[]}",
		  -32602, NULL },
		{ ",\"params\":{\"name\":\"rm_rf\"}", -32602, NULL },
		{ ",\"params\":{\"name\":\"inspect_container\"}", 0,
		  "id is required" },
		{ ",\"params\":{\"name\":\"inspect_container\",\"arguments\":"
		  "{\"id\":\"\"}}", 0, "id is required" },
		{ ",\"params\":{\"name\":\"inspect_container\",\"arguments\":"
		  "{\"id\":\"../../info\"}}", 0, "invalid container id" },
		/* jansson refuses a NUL in a string: not even parsed. */
		{ ",\"params\":{\"name\":\"container_stats\",\"arguments\":"
		  "{\"id\":\"a\\u0000b\"}}", -32700, NULL },
		{ ",\"params\":{\"name\":\"container_logs\",\"arguments\":"
		  "{\"id\":\"a\",\"tail\":\"50\"}}", 0, "tail must be an integer" },
		{ ",\"params\":{\"name\":\"container_logs\",\"arguments\":"
		  "{\"id\":\"a\",\"tail\":5.5}}", 0, "tail must be an integer" },
	};
	char		 body[512];
	json_t		*a;
	struct mcp_call	 c;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,"
		    "\"method\":\"tools/call\"%s}", cases[i].params);
		ck_assert_int_eq(msg(body, &a, &c), MCP_ANSWER);
		ck_assert_int_eq(code_of(a), cases[i].code);
		if (cases[i].text != NULL) {
			ck_assert(is_error(a));
			ck_assert_str_eq(text_of(a), cases[i].text);
		}
		json_decref(a);
	}
}
END_TEST

START_TEST(test_headers)
{
	ck_assert(mcp_is_json("application/json", 16));
	ck_assert(mcp_is_json("Application/JSON; charset=utf-8", 31));
	ck_assert(!mcp_is_json("text/plain", 10));
	ck_assert(!mcp_is_json("application/jsonx", 17));
	ck_assert(mcp_accepts_json("application/json, text/event-stream", 35));
	ck_assert(mcp_accepts_json("text/event-stream, */*;q=0.1", 28));
	ck_assert(!mcp_accepts_json("text/event-stream", 17));
	ck_assert(!mcp_accepts_json("text/html", 9));
	ck_assert(mcp_version_known("2025-11-25", 10));
	ck_assert(mcp_version_known("2024-11-05", 10));
	ck_assert(!mcp_version_known("2025-11-2", 9));
	ck_assert(!mcp_version_known("2026-01-01", 10));
	ck_assert(mcp_origin_matches("http://host:3000", 16, "host:3000", 9));
	ck_assert(mcp_origin_matches("https://HOST:3000", 17, "host:3000", 9));
	ck_assert(!mcp_origin_matches("http://evil.example", 19, "host:3000",
	    9));
	ck_assert(!mcp_origin_matches("null", 4, "host:3000", 9));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("mcp");
	TCase	*tc = tcase_create("mcp");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_notifications);
	tcase_add_test(tc, test_initialize);
	tcase_add_test(tc, test_tools_list);
	tcase_add_test(tc, test_calls);
	tcase_add_test(tc, test_call_errors);
	tcase_add_test(tc, test_headers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
