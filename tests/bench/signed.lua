-- signed.lua: wrk script sending pre-signed GET requests (tests/bench/
-- signgen.c output), each line once, threads taking disjoint lines.
local threads = {}
local nthreads = 0

function setup(thread)
	thread:set("id", nthreads)
	nthreads = nthreads + 1
	table.insert(threads, thread)
end

function init(args)
	path = args[1]
	local all = tonumber(args[2])
	lines = {}
	local n = 0
	for line in io.lines(args[3]) do
		if n % all == id then
			table.insert(lines, line)
		end
		n = n + 1
	end
	pos = 0
end

function request()
	pos = pos + 1
	local l = lines[pos]
	if l == nil then
		pos = 1
		l = lines[1]	-- out of fresh nonces: these will be replays
	end
	local kid, ts, nonce, sig = l:match("(%S+) (%S+) (%S+) (%S+)")
	return wrk.format("GET", path, {
		["X-Portwing-Key-ID"] = kid,
		["X-Portwing-Timestamp"] = ts,
		["X-Portwing-Nonce"] = nonce,
		["X-Portwing-Signature"] = sig,
		["X-Portwing-Signature-Version"] = "2",
	})
end
