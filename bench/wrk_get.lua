-- wrk script of bench/server_bench.sh: authenticated GETs. The session comes
-- from the environment, as the harness logged in with curl:
--   TC_COOKIE  the session cookie ("name=value")
--   TC_PATHS   a file of request paths, one a line, taken in turn (each wrk
--              thread starts at its own place in the list)
-- done() prints one line of figures the harness reads.
local paths = {}
for line in io.lines(os.getenv("TC_PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  counter = (id or 0) * 7919
  wrk.headers["Cookie"] = os.getenv("TC_COOKIE")
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
function done(summary, latency, requests)
  io.write(string.format("WRK requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d errors=%d timeouts=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout))
end
