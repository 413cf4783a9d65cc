-- mcp.lua: wrk script for api.sh: every request is the MCP tool call
-- list_containers, POST /_portwing/mcp with a JSON-RPC body.  The bearer
-- token comes on wrk's command line (-H "Authorization: Bearer ...").
-- No response() callback: it would slow wrk down; api.sh checks one
-- answer with curl before and after the measured run instead.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call",' ..
	'"params":{"name":"list_containers"}}'
