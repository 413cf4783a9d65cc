-- token.lua: wrk script sending GET requests with a bearer token, built
-- per request in Lua as signed.lua builds its signed ones, so that the
-- client's own cost is alike on both sides of the signed/token ratio.
function init(args)
	path = args[1]
	auth = "Bearer " .. args[2]
	line = "0123456789abcdef 1700000000 0123456789abcdef0123456789abcdef sig"
end

function request()
	local kid, ts, nonce, sig = line:match("(%S+) (%S+) (%S+) (%S+)")
	return wrk.format("GET", path, { ["Authorization"] = auth })
end
