-- wrk script for `make bench` (bench/load.py): POST a JSON body read from the file named by
-- the first script argument, in which every "{n}" becomes a number unique to the request
-- (thread id, then a counter) and every "{debtor}" that number modulo 500; done() prints
-- the figures as one JSON line for bench/load.py to read.
wrk.method = "POST"
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local template = file:read("*a")
  file:close()
  -- The template split around its placeholders once; each request only concatenates.
  parts = {}
  local pos = 1
  while true do
    local first, last, name = template:find("{(%a+)}", pos)
    if not first then break end
    table.insert(parts, template:sub(pos, first - 1))
    table.insert(parts, name)
    pos = last + 1
  end
  tail = template:sub(pos)
  counter = 0
end

function request()
  counter = counter + 1
  local n = id * 100000000 + counter
  local body = {}
  for i = 1, #parts, 2 do
    body[#body + 1] = parts[i]
    body[#body + 1] = parts[i + 1] == "n" and tostring(n) or tostring(n % 500)
  end
  body[#body + 1] = tail
  return wrk.format(nil, nil, nil, table.concat(body))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
