-- wrk script of scripts/bench.sh.
--
-- With BENCH_URLS set to a file of request paths (one a line), every request
-- takes the next path: thread t of BENCH_WRK_THREADS walks lines t+1,
-- t+1+n, t+1+2n, ... so no two requests share a path until the list runs
-- out; then it starts over and the run is reported as "wrapped" (a miss
-- workload treats that as an error). Without BENCH_URLS, wrk's own static
-- request (the URL on the command line) is sent, at full speed.
--
-- done() prints one line, "BENCH {...}", with wrk's counts and latency
-- percentiles as JSON fields for the script to record.

local threads = {}
local nthreads = 0

function setup(thread)
	thread:set("tid", nthreads)
	nthreads = nthreads + 1
	table.insert(threads, thread)
end

local urls_file = os.getenv("BENCH_URLS")
if urls_file and urls_file ~= "" then
	local urls = {}
	local idx, step
	wrapped = 0

	function init(args)
		for line in io.lines(urls_file) do
			if line ~= "" then
				urls[#urls + 1] = line
			end
		end
		if #urls == 0 then
			error("no URLs in " .. urls_file)
		end
		step = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
		idx = tid + 1
	end

	function request()
		if idx > #urls then
			idx = tid + 1
			wrapped = 1
		end
		local path = urls[idx]
		idx = idx + step
		return wrk.format("GET", path)
	end
end

function done(summary, latency, requests)
	local wrapped_any = 0
	for _, t in ipairs(threads) do
		if t:get("wrapped") == 1 then
			wrapped_any = 1
		end
	end
	local e = summary.errors
	io.write(string.format(
		'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,' ..
		'"socket_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
		'"max_us":%d,"wrapped":%d}\n',
		summary.requests, summary.duration, summary.bytes, e.status,
		e.connect + e.read + e.write, e.timeout,
		latency:percentile(50), latency:percentile(90), latency:percentile(99),
		latency.max, wrapped_any))
end
