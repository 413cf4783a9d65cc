/*
 * mcp.c (worker): POST /_portwing/mcp, the Model Context Protocol server
 * (reference section 9, and the Streamable HTTP transport of the MCP
 * specification, 2025-11-25).
 *
 * The worker is the process that parses client bytes, so the JSON-RPC
 * message is parsed here.  initialize, ping, tools/list and every error
 * are answered by the worker itself; a tools/call that passes its checks
 * becomes one PXF_DD request to the proxy carrying only the tool name,
 * a container id that matched the id rule and a tail (conn_start_mcp).
 * The proxy runs the tool (proxy/pmcp.c) and answers the tool's text,
 * which is wrapped here into the tool result.  So neither the proxy nor
 * Docker ever sees the client's JSON.
 *
 * Stateless: every worker can answer every message, no Mcp-Session-Id is
 * issued (the specification lets a server go without), a GET is 405 (no
 * server-initiated stream), and answers are application/json, never SSE.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "drydock.h"
#include "log.h"
#include "util.h"
#include "worker.h"

#define MCP_BODY_MAX	(1024 * 1024)
#define MCP_LATEST	"2025-11-25"
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

static int
version_known(const char *v)
{
	size_t	i;

	for (i = 0; i < nitems(versions); i++)
		if (strcmp(v, versions[i]) == 0)
			return 1;
	return 0;
}

/* A JSON-RPC error answer; id NULL means null. */
static void
rpc_error(struct conn *c, int status, json_t *id, int code, const char *msg)
{
	routes_json(c, status, json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc",
	    "2.0", "id", id != NULL ? id : json_null(), "error", "code", code,
	    "message", msg), NULL);
}

static void
rpc_result(struct conn *c, json_t *id, json_t *result)
{
	routes_json(c, 200, json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id",
	    id, "result", result), NULL);
}

/* The media type of a header value, without parameters, lowercased. */
static void
media_type(const char *v, size_t vl, char *out, size_t outsz)
{
	size_t	i, n = 0;

	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	for (i = 0; i < vl && v[i] != ';' && v[i] != ',' && n + 1 < outsz;
	    i++)
		if (v[i] != ' ' && v[i] != '\t')
			out[n++] = (char)tolower((unsigned char)v[i]);
	out[n] = '\0';
}

/* Does Accept admit a JSON answer?  No Accept admits anything. */
static int
accepts_json(const struct http_hdr *h)
{
	const char	*p, *end;
	char		 mt[64];

	if (h == NULL)
		return 1;
	for (p = h->value, end = h->value + h->vlen; p < end; ) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
		media_type(p, n, mt, sizeof(mt));
		if (strcmp(mt, "application/json") == 0 ||
		    strcmp(mt, "application/*") == 0 || strcmp(mt, "*/*") == 0)
			return 1;
		p += n + 1;
	}
	return 0;
}

/*
 * An Origin must name this server (DNS rebinding: a page elsewhere that
 * learnt the token must not drive the endpoint through a browser).  The
 * scheme is not compared: TLS may be terminated in front of the agent.
 */
static int
origin_ok(struct conn *c)
{
	const struct http_hdr	*o = http_header(&c->req, "Origin");
	const struct http_hdr	*h = http_header(&c->req, "Host");
	const char		*p;

	if (o == NULL)
		return 1;
	if (h == NULL || (p = strstr(o->value, "://")) == NULL)
		return 0;
	p += 3;
	return strlen(p) == h->vlen && strncasecmp(p, h->value, h->vlen) == 0;
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

static json_t *
tool_text(const char *text, size_t len, int is_error)
{
	json_t	*t = json_stringn(text, len);

	if (t == NULL)
		return NULL;
	return json_pack("{s:[{s:s, s:o}], s:b}", "content", "type", "text",
	    "text", t, "isError", is_error);
}

/* The proxy's answer to a tools/call (status 0: none came). */
static void
mcp_called(struct conn *c, int status)
{
	json_t	*id = NULL, *res = NULL;
	size_t	 n = c->ibody != NULL ? evbuffer_get_length(c->ibody) : 0;
	char	*text = n ? (char *)evbuffer_pullup(c->ibody, -1) : "";

	c->state = CONN_LOCAL_BODY;
	if (c->mcp_id != NULL)
		id = json_loads(c->mcp_id, JSON_DECODE_ANY, NULL);
	if (status == 200 || status == 422)
		res = tool_text(text, n, status == 422);
	if (res != NULL)
		rpc_result(c, id != NULL ? id : json_null(), res);
	else {
		char msg[96];
		snprintf(msg, sizeof(msg), "internal error: the tool could not "
		    "run (%s %d)", status ? "status" : "no answer", status);
		rpc_error(c, 200, id, -32603, msg);
	}
	json_decref(id);
	free(c->mcp_id);
	c->mcp_id = NULL;
	if (c->ibody != NULL) {
		evbuffer_free(c->ibody);
		c->ibody = NULL;
	}
}

static void
tools_call(struct conn *c, json_t *id, json_t *params)
{
	json_t		*name, *args, *v;
	const char	*cid = "";
	long long	 tail = 0;
	size_t		 i;

	name = json_object_get(params, "name");
	args = json_object_get(params, "arguments");
	if (!json_is_object(params) || !json_is_string(name) ||
	    (args != NULL && !json_is_object(args) && !json_is_null(args))) {
		rpc_error(c, 200, id, -32602, "invalid tools/call params");
		return;
	}
	for (i = 0; i < nitems(tools); i++)
		if (strcmp(tools[i].name, json_string_value(name)) == 0)
			break;
	if (i == nitems(tools)) {
		char *msg;
		xasprintf(&msg, "unknown tool: %s", json_string_value(name));
		rpc_error(c, 200, id, -32602, msg);
		free(msg);
		return;
	}
	if (tools[i].need_id) {
		v = json_object_get(args, "id");
		if (!json_is_string(v) || json_string_length(v) == 0) {
			rpc_result(c, id, tool_text("id is required", 14, 1));
			return;
		}
		cid = json_string_value(v);
		if (strlen(cid) != json_string_length(v) || !dd_valid_id(cid)) {
			rpc_result(c, id, tool_text("invalid container id", 20,
			    1));
			return;
		}
	}
	if (tools[i].tail && (v = json_object_get(args, "tail")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_integer(v)) {
			rpc_result(c, id, tool_text("tail must be an integer",
			    23, 1));
			return;
		}
		tail = json_integer_value(v);
	}
	if (tools[i].tail)
		tail = tail <= 0 ? MCP_TAIL_DEFAULT : tail > MCP_TAIL_MAX ?
		    MCP_TAIL_MAX : tail;
	c->mcp_id = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
	conn_start_mcp(c, tools[i].name, cid, (int)tail, mcp_called);
}

static void
initialize(struct conn *c, json_t *id, json_t *params)
{
	json_t		*want = json_object_get(params, "protocolVersion");
	const char	*v = MCP_LATEST;

	/* The client's version when this server speaks it, else ours. */
	if (json_is_string(want) && version_known(json_string_value(want)))
		v = json_string_value(want);
	rpc_result(c, id, json_pack("{s:{s:{s:b}}, s:s, s:{s:s, s:s, s:s}, "
	    "s:s}", "capabilities", "tools", "listChanged", 0,
	    "protocolVersion", v, "serverInfo", "name", "portwing", "title",
	    "portwing Docker agent", "version", PW_VERSION_STRING,
	    "instructions", "Read-only tools for the containers of one Docker "
	    "host. Environment variable values are never returned."));
}

static void
mcp_body(struct conn *c)
{
	size_t	 n = c->body != NULL ? evbuffer_get_length(c->body) : 0;
	json_t	*msg, *id, *method, *v;

	c->state = CONN_LOCAL_BODY;
	msg = n ? json_loadb((const char *)evbuffer_pullup(c->body, -1), n, 0,
	    NULL) : NULL;
	if (!json_is_object(msg)) {
		json_decref(msg);
		rpc_error(c, 200, NULL, -32700, "parse error");
		return;
	}
	id = json_object_get(msg, "id");
	method = json_object_get(msg, "method");
	v = json_object_get(msg, "jsonrpc");
	if (id != NULL && !json_is_string(id) && !json_is_integer(id) &&
	    !json_is_real(id) && !json_is_null(id)) {
		rpc_error(c, 200, NULL, -32600, "id must be a string, a number "
		    "or null");
	} else if (!json_is_string(v) || strcmp(json_string_value(v),
	    "2.0") != 0) {
		rpc_error(c, 200, id, -32600, "jsonrpc must be \"2.0\"");
	} else if (id == NULL || method == NULL) {
		/*
		 * A notification (no id), or the client's answer to a
		 * request (this server sends none): accepted, no body.
		 */
		conn_respond(c, 202, NULL, "", 0, NULL);
	} else if (!json_is_string(method)) {
		rpc_error(c, 200, id, -32600, "method must be a string");
	} else if (strcmp(json_string_value(method), "initialize") == 0) {
		initialize(c, id, json_object_get(msg, "params"));
	} else if (strcmp(json_string_value(method), "ping") == 0) {
		rpc_result(c, id, json_object());
	} else if (strcmp(json_string_value(method), "tools/list") == 0) {
		rpc_result(c, id, tools_list());
	} else if (strcmp(json_string_value(method), "tools/call") == 0) {
		tools_call(c, id, json_object_get(msg, "params"));
	} else {
		char *m;
		xasprintf(&m, "method not found: %s",
		    json_string_value(method));
		rpc_error(c, 200, id, -32601, m);
		free(m);
	}
	json_decref(msg);
}

/* POST /_portwing/mcp: the transport's checks, then the message. */
void
route_mcp(struct conn *c)
{
	const struct http_hdr	*h;
	char			 mt[64], *m;

	h = http_header(&c->req, "Content-Type");
	if (h != NULL)
		media_type(h->value, h->vlen, mt, sizeof(mt));
	if (h == NULL || strcmp(mt, "application/json") != 0) {
		rpc_error(c, 415, NULL, -32600, "Content-Type must be "
		    "application/json");
		return;
	}
	if (!accepts_json(http_header(&c->req, "Accept"))) {
		rpc_error(c, 406, NULL, -32600, "Accept must admit "
		    "application/json");
		return;
	}
	h = http_header(&c->req, "MCP-Protocol-Version");
	if (h != NULL && !version_known(h->value)) {
		size_t i;
		xasprintf(&m, "unsupported MCP-Protocol-Version: %.*s",
		    h->vlen > 64 ? 64 : (int)h->vlen, h->value);
		for (i = 0; m[i] != '\0'; i++)
			if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] >=
			    0x7f)
				m[i] = '?';
		rpc_error(c, 400, NULL, -32600, m);
		free(m);
		return;
	}
	if (!origin_ok(c)) {
		rpc_error(c, 403, NULL, -32600, "Origin does not match Host");
		return;
	}
	if (c->body != NULL) {
		/* A signed request: its body was read before authd judged. */
		mcp_body(c);
		return;
	}
	conn_read_local_body(c, mcp_body, MCP_BODY_MAX);
}
