-- status.lua: wrk script used by run.sh only to explain errors.  Counts the
-- answers per HTTP status over all threads and keeps the first body seen
-- for each status other than 200.  Prints, after the run:
--   status CODE COUNT
--   sample CODE BODY
-- Not used for the measured runs: a response() callback slows wrk down.

local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	counts = {}
	bodies = {}
end

function response(status, headers, body)
	counts[status] = (counts[status] or 0) + 1
	if status ~= 200 and bodies[status] == nil then
		bodies[status] = string.sub(body or "", 1, 200)
	end
end

function done(summary, latency, requests)
	local total, sample = {}, {}
	for _, t in ipairs(threads) do
		for code, n in pairs(t:get("counts")) do
			total[code] = (total[code] or 0) + n
		end
		for code, b in pairs(t:get("bodies")) do
			sample[code] = sample[code] or b
		end
	end
	for code, n in pairs(total) do
		io.write(string.format("status %d %d\n", code, n))
	end
	for code, b in pairs(sample) do
		io.write(string.format("sample %d %s\n", code, (string.gsub(b, "%s+", " "))))
	end
end
