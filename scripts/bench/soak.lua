-- wrk script of scripts/soak.sh: mixed hits and misses. SOAK_URLS is a file
-- of request paths; a request takes one of the first SOAK_HOT lines (hot
-- variants: hits) with probability SOAK_HIT_RATIO, else any line (mostly
-- misses until the caches fill, then disk hits and evictions).
local urls = {}
local hot, hit_ratio

function init(args)
	for line in io.lines(os.getenv("SOAK_URLS")) do
		if line ~= "" then urls[#urls + 1] = line end
	end
	hot = math.min(tonumber(os.getenv("SOAK_HOT") or "200"), #urls)
	hit_ratio = tonumber(os.getenv("SOAK_HIT_RATIO") or "0.8")
	math.randomseed(os.time() + (tid or 0))
end

function request()
	local path
	if math.random() < hit_ratio then
		path = urls[math.random(hot)]
	else
		path = urls[math.random(#urls)]
	end
	return wrk.format("GET", path)
end
