/*
 * mcp.h: the MCP server's messages (agent/mcpwire.c), apart from the
 * connection that carries them (agent/mcp.c).
 */
#ifndef PW_MCP_H
#define PW_MCP_H

#include <stddef.h>

#include <jansson.h>

#define MCP_LATEST	"2025-11-25"
#define MCP_BODY_MAX	(1024 * 1024)

enum mcp_kind {
	MCP_ANSWER,		/* send the answer, 200 */
	MCP_ACCEPTED,		/* 202, no body */
	MCP_CALL		/* a tool call for the proxy */
};

struct mcp_call {
	const char	*tool;		/* a name of the tool table */
	char		 id[136];	/* matched dd_valid_id, or "" */
	int		 tail;		/* 1..500, 0: the tool takes none */
	char		*idjson;	/* the request's id, serialised */
};

enum mcp_kind mcp_message(const char *, size_t, json_t **, struct mcp_call *);
json_t	*mcp_wrap(const char *, int, const char *, size_t);
json_t	*mcp_error(json_t *, int, const char *);
int	 mcp_version_known(const char *, size_t);
int	 mcp_is_json(const char *, size_t);
int	 mcp_accepts_json(const char *, size_t);
int	 mcp_origin_matches(const char *, size_t, const char *, size_t);

#endif
