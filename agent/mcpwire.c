/*
 * mcpwire.c (worker): the Model Context Protocol's messages, without a
 * connection (reference section 9; the MCP specification, 2025-11-25).
 * agent/mcp.c feeds it the request's body and headers and sends what it
 * decides; the unit tests and tests/fuzz/fuzz_mcp.c feed it directly.
 *
 * One POST body is one JSON-RPC message.  mcp_message decides: an answer
 * to send now (initialize, ping, tools/list, every error, a tool error
 * found before any Docker call), 202 for a notification or a client's
 * response, or a tool call for the proxy: a known tool, an id that
 * matches the reference's rule, a tail clamped to 1..500.  mcp_wrap then
 * turns the proxy's answer into the JSON-RPC result.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drydock.h"
#include "mcp.h"
#include "util.h"

#define MCP_TAIL_DEFAULT 100
#define MCP_TAIL_MAX	500

/* Versions this server speaks; the first is the newest. */
static const char *const versions[] = {
	MCP_LATEST, "2025-06-18", "2025-03-26", "2024-11-05",
};

static const struct {
	const char	*name;
	const char	*title;
	const char	*description;
	int		 need_id;
	int		 tail;
} tools[] = {
	{ "list_containers", "List containers",
	  "All containers on this Docker host, newest first: id, names, "
	  "image, state, status line and labels.", 0, 0 },
	{ "inspect_container", "Inspect a container",
	  "One container's state, image, mounts, networks and restart "
	  "policy. Environment variables are only counted, never shown.",
	  1, 0 },
	{ "container_logs", "Container logs",
	  "The last lines of a container's stdout and stderr (default 100, "
	  "at most 500), each prefixed with its stream.", 1, 1 },
	{ "host_metrics", "Host metrics",
	  "CPU, memory, disk and network figures of the Docker host, and "
	  "its uptime.", 0, 0 },
	{ "container_stats", "Container stats",
	  "One sample of a container's CPU time, memory use and limit, and "
	  "network counters.", 1, 0 },
};

int
mcp_version_known(const char *v, size_t n)
{
	size_t	i;

	for (i = 0; i < nitems(versions); i++)
		if (strlen(versions[i]) == n && memcmp(v, versions[i], n) == 0)
			return 1;
	return 0;
}

/* The media type of a header value, without parameters, lowercased. */
static void
media_type(const char *v, size_t vl, char *out, size_t outsz)
{
	size_t	i, n = 0;

	for (i = 0; i < vl && v[i] != ';' && v[i] != ',' && n + 1 < outsz;
	    i++)
		if (v[i] != ' ' && v[i] != '\t')
			out[n++] = (char)tolower((unsigned char)v[i]);
	out[n] = '\0';
}

int
mcp_is_json(const char *v, size_t vl)
{
	char	mt[64];

	media_type(v, vl, mt, sizeof(mt));
	return strcmp(mt, "application/json") == 0;
}

/* Does this Accept value admit a JSON answer? */
int
mcp_accepts_json(const char *v, size_t vl)
{
	const char	*p, *end, *comma;
	char		 mt[64];
	size_t		 n;

	for (p = v, end = v + vl; p < end; p += n + 1) {
		comma = memchr(p, ',', (size_t)(end - p));
		n = comma ? (size_t)(comma - p) : (size_t)(end - p);
		media_type(p, n, mt, sizeof(mt));
		if (strcmp(mt, "application/json") == 0 ||
		    strcmp(mt, "application/*") == 0 || strcmp(mt, "*/*") == 0)
			return 1;
	}
	return 0;
}

/* Does an Origin value name the Host value?  The scheme is not compared. */
int
mcp_origin_matches(const char *origin, size_t ol, const char *host,
    size_t hl)
{
	const char	*p = NULL;
	size_t		 i;

	for (i = 0; i + 3 <= ol; i++)
		if (memcmp(origin + i, "://", 3) == 0) {
			p = origin + i + 3;
			break;
		}
	if (p == NULL)
		return 0;
	ol -= (size_t)(p - origin);
	return ol == hl && strncasecmp(p, host, hl) == 0;
}

json_t *
mcp_error(json_t *id, int code, const char *msg)
{
	return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
	    id != NULL ? id : json_null(), "error", "code", code, "message",
	    msg);
}

static json_t *
result(json_t *id, json_t *res)
{
	if (res == NULL)
		return mcp_error(id, -32603, "internal error");
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id,
	    "result", res);
}

static json_t *
tools_list(void)
{
	json_t	*a = json_array(), *schema;
	size_t	 i;

	for (i = 0; i < nitems(tools); i++) {
		if (!tools[i].need_id)
			schema = json_pack("{s:s, s:b}", "type", "object",
			    "additionalProperties", 0);
		else {
			schema = json_pack("{s:s, s:{s:{s:s, s:s}}, s:[s]}",
			    "type", "object", "properties", "id", "type",
			    "string", "description", "container id (full or "
			    "short) or name", "required", "id");
			if (tools[i].tail)
				json_object_set_new(json_object_get(schema,
				    "properties"), "tail", json_pack("{s:s, "
				    "s:i, s:i, s:s}", "type", "integer",
				    "minimum", 1, "maximum", MCP_TAIL_MAX,
				    "description", "lines from the end "
				    "(default 100)"));
		}
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, "
		    "s:{s:b, s:b, s:b}}", "name", tools[i].name, "title",
		    tools[i].title, "description", tools[i].description,
		    "inputSchema", schema, "annotations", "readOnlyHint", 1,
		    "destructiveHint", 0, "openWorldHint", 0));
	}
	return json_pack("{s:o}", "tools", a);
}

/* A tool result: the tool's text, and whether it is an error. */
static json_t *
tool_text(const char *text, size_t len, int is_error)
{
	json_t	*t = json_stringn(text, len);

	if (t == NULL)
		return NULL;
	return json_pack("{s:[{s:s, s:o}], s:b}", "content", "type", "text",
	    "text", t, "isError", is_error);
}

static json_t *
tool_error(json_t *id, const char *msg)
{
	return result(id, tool_text(msg, strlen(msg), 1));
}

static enum mcp_kind
tools_call(json_t *id, json_t *params, json_t **answer, struct mcp_call *call)
{
	json_t		*name, *args, *v;
	const char	*cid = "";
	long long	 tail = 0;
	size_t		 i;

	name = json_object_get(params, "name");
	args = json_object_get(params, "arguments");
	if (!json_is_object(params) || !json_is_string(name) ||
	    (args != NULL && !json_is_object(args) && !json_is_null(args))) {
		*answer = mcp_error(id, -32602, "invalid tools/call params");
		return MCP_ANSWER;
	}
	for (i = 0; i < nitems(tools); i++)
		if (strcmp(tools[i].name, json_string_value(name)) == 0)
			break;
	if (i == nitems(tools)) {
		char *msg;
		xasprintf(&msg, "unknown tool: %s", json_string_value(name));
		*answer = mcp_error(id, -32602, msg);
		free(msg);
		return MCP_ANSWER;
	}
	if (tools[i].need_id) {
		v = json_object_get(args, "id");
		if (!json_is_string(v) || json_string_length(v) == 0) {
			*answer = tool_error(id, "id is required");
			return MCP_ANSWER;
		}
		cid = json_string_value(v);
		if (strlen(cid) != json_string_length(v) ||
		    !dd_valid_id(cid)) {
			*answer = tool_error(id, "invalid container id");
			return MCP_ANSWER;
		}
	}
	if (tools[i].tail && (v = json_object_get(args, "tail")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_integer(v)) {
			*answer = tool_error(id, "tail must be an integer");
			return MCP_ANSWER;
		}
		tail = json_integer_value(v);
	}
	if (tools[i].tail)
		tail = tail <= 0 ? MCP_TAIL_DEFAULT : tail > MCP_TAIL_MAX ?
		    MCP_TAIL_MAX : tail;
	call->tool = tools[i].name;
	pw_strlcpy(call->id, cid, sizeof(call->id));
	call->tail = (int)tail;
	call->idjson = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
	return MCP_CALL;
}

static json_t *
initialize(json_t *id, json_t *params)
{
	json_t		*want = json_object_get(params, "protocolVersion");
	const char	*v = MCP_LATEST;

	/* The client's version when this server speaks it, else ours. */
	if (json_is_string(want) && mcp_version_known(json_string_value(want),
	    json_string_length(want)))
		v = json_string_value(want);
	return result(id, json_pack("{s:{s:{s:b}}, s:s, s:{s:s, s:s, s:s}, "
	    "s:s}", "capabilities", "tools", "listChanged", 0,
	    "protocolVersion", v, "serverInfo", "name", "portwing", "title",
	    "portwing Docker agent", "version", PW_VERSION_STRING,
	    "instructions", "Read-only tools for the containers of one Docker "
	    "host. Environment variable values are never returned."));
}

/*
 * One POST body.  MCP_ANSWER: send *answer (consumed by the caller) with
 * status 200.  MCP_ACCEPTED: 202 without a body.  MCP_CALL: run *call
 * (call->idjson is malloc'd) and give its answer to mcp_wrap.
 */
enum mcp_kind
mcp_message(const char *body, size_t n, json_t **answer, struct mcp_call *call)
{
	json_t		*msg, *id, *method, *v;
	const char	*m;
	enum mcp_kind	 kind = MCP_ANSWER;

	*answer = NULL;
	memset(call, 0, sizeof(*call));
	msg = n ? json_loadb(body, n, 0, NULL) : NULL;
	if (!json_is_object(msg)) {
		json_decref(msg);
		*answer = mcp_error(NULL, -32700, "parse error");
		return MCP_ANSWER;
	}
	id = json_object_get(msg, "id");
	method = json_object_get(msg, "method");
	v = json_object_get(msg, "jsonrpc");
	m = json_string_value(method);
	if (id != NULL && !json_is_string(id) && !json_is_number(id) &&
	    !json_is_null(id))
		*answer = mcp_error(NULL, -32600, "id must be a string, a "
		    "number or null");
	else if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		*answer = mcp_error(id, -32600, "jsonrpc must be \"2.0\"");
	else if (id == NULL || method == NULL)
		/*
		 * A notification (no id), or the client's answer to a
		 * request (this server sends none): accepted, no body.
		 */
		kind = MCP_ACCEPTED;
	else if (m == NULL || strlen(m) != json_string_length(method))
		*answer = mcp_error(id, -32600, "method must be a string");
	else if (strcmp(m, "initialize") == 0)
		*answer = initialize(id, json_object_get(msg, "params"));
	else if (strcmp(m, "ping") == 0)
		*answer = result(id, json_object());
	else if (strcmp(m, "tools/list") == 0)
		*answer = result(id, tools_list());
	else if (strcmp(m, "tools/call") == 0)
		kind = tools_call(id, json_object_get(msg, "params"), answer,
		    call);
	else {
		char *e;
		xasprintf(&e, "method not found: %s", m);
		*answer = mcp_error(id, -32601, e);
		free(e);
	}
	json_decref(msg);
	return kind;
}

/*
 * The JSON-RPC answer to a tool call, from the proxy's: status 200 is
 * the tool's result text, 422 its error message; anything else (0: no
 * answer) is an internal error.
 */
json_t *
mcp_wrap(const char *idjson, int status, const char *text, size_t n)
{
	json_t	*id = NULL, *res = NULL, *out;
	char	 msg[96];

	if (idjson != NULL)
		id = json_loads(idjson, JSON_DECODE_ANY, NULL);
	if (status == 200 || status == 422)
		res = tool_text(text, n, status == 422);
	if (res != NULL)
		out = result(id != NULL ? id : json_null(), res);
	else {
		snprintf(msg, sizeof(msg), "internal error: the tool could not "
		    "run (%s %d)", status ? "status" : "no answer", status);
		out = mcp_error(id, -32603, msg);
	}
	json_decref(id);
	return out;
}
