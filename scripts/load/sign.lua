-- wrk script for scripts/load-sign: each request signs the next authorised request (POST
-- /api/v1/sign), ids split between the threads; every answer that is not 200 is counted and
-- reported.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  local all = {}
  for line in file:lines() do
    table.insert(all, line)
  end
  file:close()
  local total_threads = tonumber(args[2])
  ids = {}
  for i = id, #all, total_threads do
    table.insert(ids, all[i])
  end
  next_id = 1
  failures = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = args[3]
end

function request()
  -- Past the last id the requests repeat it and are refused (counted below): the run was
  -- longer than the ids allow, and scripts/load-sign says so.
  local request_id = ids[next_id] or ids[#ids]
  next_id = next_id + 1
  return wrk.format(nil, "/api/v1/sign", nil, '{"request_id":"' .. request_id .. '"}')
end

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures <= 3 then
      io.stderr:write(string.format("sign: %d %s\n", status, body))
    end
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("failures")
  end
  io.write(string.format("signed: %d requests, %d not 200\n", summary.requests, failed))
  io.write(string.format("latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
