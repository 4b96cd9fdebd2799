-- wrk script of bench/server_bench.sh: durable PATCHes of one item of many
-- subjects, each changing the stored value (with a reason), so each is an
-- fsynced event. From the environment:
--   TC_COOKIE, TC_CSRF  the session cookie and its CSRF token (logged in with curl)
--   TC_PATHS            a file of item paths (.../forms/F/items/I), one a line
-- Each wrk thread takes its own subjects (every threads-th), one request at
-- a time per connection, so two connections rarely write one subject at once.
-- If-Match: each answer's ETag is kept per subject (named in the answer's
-- message, since answers on a thread's connections come back in any order)
-- and sent with the next PATCH of that subject. A stale one gets 412; 412s
-- and 409s are counted in non2xx and printed apart.
local paths = {}
for line in io.lines(os.getenv("TC_PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end
function init(args)
  counter = id or 0
  step = 2  -- wrk -t2 in the harness; a different -t only changes which subjects a thread shares
  etags = {}
  s409, s412, sother = 0, 0, 0
  wrk.headers["Cookie"] = os.getenv("TC_COOKIE")
  wrk.headers["X-CSRF-Token"] = os.getenv("TC_CSRF")
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  counter = counter + step
  local path = paths[(counter % #paths) + 1]
  local round = math.floor(counter / #paths)
  local body = '{"value":' .. (60 + round % 40) .. ',"reason":"bench"}'
  local headers = {}  -- wrk.format takes these instead of wrk.headers, not beside them
  for k, v in pairs(wrk.headers) do headers[k] = v end
  local subject = string.match(path, "/subjects/([^/]+)/")
  if etags[subject] then headers["If-Match"] = etags[subject] end
  return wrk.format("PATCH", path, headers, body)
end
function response(status, headers, body)
  if status == 409 then s409 = s409 + 1
  elseif status == 412 then
    s412 = s412 + 1
    etags = {}  -- which subject's was stale the answer does not say: learn them anew
  elseif status >= 300 then sother = sother + 1 end
  local subject = string.match(body or "", "saved [^ ]+ for ([^\"]+)\"")
  if subject and status == 200 and headers["ETag"] then etags[subject] = headers["ETag"] end
end
function done(summary, latency, requests)
  local c409, c412, cother = 0, 0, 0
  for _, t in ipairs(threads) do
    c409 = c409 + (t:get("s409") or 0)
    c412 = c412 + (t:get("s412") or 0)
    cother = cother + (t:get("sother") or 0)
  end
  io.write(string.format("WRK requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d errors=%d timeouts=%d " ..
    "s409=%d s412=%d sother=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout, c409, c412, cother))
end
