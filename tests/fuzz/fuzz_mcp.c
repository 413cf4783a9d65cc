/*
 * fuzz_mcp.c: libFuzzer harness for the MCP server's message handling
 * (agent/mcpwire.c, mcp_message), which reads a client's JSON-RPC body
 * in the worker.  Whatever it decides is also serialised, as the worker
 * would send it, and a tool call's id goes through mcp_wrap.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t		*a = NULL;
	struct mcp_call	 c;
	char		*s;

	switch (mcp_message((const char *)data, size, &a, &c)) {
	case MCP_ANSWER:
		if (a == NULL)
			abort();	/* every answer is an object */
		s = json_dumps(a, JSON_COMPACT);
		if (s == NULL)
			abort();
		free(s);
		json_decref(a);
		break;
	case MCP_ACCEPTED:
		break;
	case MCP_CALL:
		if (c.tool == NULL || c.idjson == NULL ||
		    c.tail < 0 || c.tail > 500)
			abort();
		a = mcp_wrap(c.idjson, 200, (const char *)data, size);
		json_decref(a);
		free(c.idjson);
		break;
	}
	mcp_is_json((const char *)data, size);
	mcp_accepts_json((const char *)data, size);
	return 0;
}
