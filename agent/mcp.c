/*
 * mcp.c (worker): POST /_portwing/mcp, the Model Context Protocol server
 * (reference section 9, and the Streamable HTTP transport of the MCP
 * specification, 2025-11-25).
 *
 * The worker is the process that parses client bytes, so the JSON-RPC
 * message is parsed here (agent/mcpwire.c).  initialize, ping,
 * tools/list and every error are answered by the worker itself; a
 * tools/call that passes its checks becomes one PXF_DD request to the
 * proxy carrying only the tool name, a container id that matched the id
 * rule and a tail (conn_start_mcp).  The proxy runs the tool
 * (proxy/pmcp.c) and answers the tool's text, which is wrapped here into
 * the tool result.  So neither the proxy nor Docker sees the client's
 * JSON.
 *
 * Stateless: every worker can answer every message, no Mcp-Session-Id is
 * issued (the specification lets a server go without), a GET is 405 (no
 * server-initiated stream), and answers are application/json, never SSE.
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "mcp.h"
#include "util.h"
#include "worker.h"

/* An answer the transport gives before reading the message. */
static void
refuse(struct conn *c, int status, const char *msg)
{
	routes_json(c, status, mcp_error(NULL, -32600, msg), NULL);
}

/* The proxy's answer to a tools/call (status 0: none came). */
static void
mcp_called(struct conn *c, int status)
{
	size_t	 n = c->ibody != NULL ? evbuffer_get_length(c->ibody) : 0;
	char	*text = n ? (char *)evbuffer_pullup(c->ibody, -1) : "";

	c->state = CONN_LOCAL_BODY;
	routes_json(c, 200, mcp_wrap(c->mcp_id, status, text, n), NULL);
	free(c->mcp_id);
	c->mcp_id = NULL;
	if (c->ibody != NULL) {
		evbuffer_free(c->ibody);
		c->ibody = NULL;
	}
}

static void
mcp_body(struct conn *c)
{
	size_t		 n = c->body != NULL ? evbuffer_get_length(c->body) : 0;
	json_t		*answer;
	struct mcp_call	 call;

	c->state = CONN_LOCAL_BODY;
	switch (mcp_message(n ? (const char *)evbuffer_pullup(c->body, -1) :
	    "", n, &answer, &call)) {
	case MCP_ANSWER:
		routes_json(c, 200, answer, NULL);
		break;
	case MCP_ACCEPTED:
		conn_respond(c, 202, NULL, "", 0, NULL);
		break;
	case MCP_CALL:
		free(c->mcp_id);
		c->mcp_id = call.idjson;
		conn_start_mcp(c, call.tool, call.id, call.tail, mcp_called);
		break;
	}
}

/* POST /_portwing/mcp: the transport's checks, then the message. */
void
route_mcp(struct conn *c)
{
	const struct http_hdr	*h, *host;
	char			*m;
	size_t			 i;

	h = http_header(&c->req, "Content-Type");
	if (h == NULL || !mcp_is_json(h->value, h->vlen)) {
		refuse(c, 415, "Content-Type must be application/json");
		return;
	}
	h = http_header(&c->req, "Accept");
	if (h != NULL && !mcp_accepts_json(h->value, h->vlen)) {
		refuse(c, 406, "Accept must admit application/json");
		return;
	}
	h = http_header(&c->req, "MCP-Protocol-Version");
	if (h != NULL && !mcp_version_known(h->value, h->vlen)) {
		xasprintf(&m, "unsupported MCP-Protocol-Version: %.*s",
		    h->vlen > 64 ? 64 : (int)h->vlen, h->value);
		for (i = 0; m[i] != '\0'; i++)
			if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] >=
			    0x7f)
				m[i] = '?';
		refuse(c, 400, m);
		free(m);
		return;
	}
	/*
	 * An Origin must name this server (DNS rebinding: a page elsewhere
	 * must not drive the endpoint through a browser).
	 */
	h = http_header(&c->req, "Origin");
	host = http_header(&c->req, "Host");
	if (h != NULL && (host == NULL || !mcp_origin_matches(h->value,
	    h->vlen, host->value, host->vlen))) {
		refuse(c, 403, "Origin does not match Host");
		return;
	}
	if (c->body != NULL) {
		/* A signed request: its body was read before authd judged. */
		mcp_body(c);
		return;
	}
	conn_read_local_body(c, mcp_body, MCP_BODY_MAX);
}
