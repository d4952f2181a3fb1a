-- wrk script: POST /api/credits/consume with a unique Idempotency-Key per request.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  counter = 0
  prefix = "bench-" .. tostring(tid) .. "-" .. tostring(os.time()) .. "-"
  body = '{"agent_id":"bench","amount":0.01,"reason":"bench"}'
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/api/credits/consume",
    { ["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. counter }, body)
end
