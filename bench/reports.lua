-- wrk script for POST /api/v1/reports with a ~1 KiB JSON report (bench/run uses it).
--
-- Only 202 means "accepted" (the broker confirmed the report); every other answer is counted
-- as not accepted (by status with BENCH_COUNT_STATUSES=1).
--
-- Pacing: wrk 4.1 has no rate limit. With BENCH_RATE=<req/s total> and BENCH_THREADS=<wrk -t>
-- each thread hands out send slots 1/(rate/threads) apart via delay() (wrk calls it before every
-- request of every connection), so the total rate is BENCH_RATE as long as the connections can
-- keep up (connections * 1000 / latency_ms >> rate). Latency is measured from the actual send.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]

local text = "Auf der Hauptstraße vor Hausnummer 12 ist ein tiefes Schlagloch in der Fahrbahn, "
          .. "etwa einen halben Meter breit. Radfahrer müssen auf die Gegenfahrbahn ausweichen, "
          .. "bei Regen ist es kaum zu sehen. Bitte schnell beheben, es ist gefährlich! "
-- Cut at a blank (ASCII), so that no UTF-8 sequence is split: the JSON stays valid.
local description = string.rep(text, 5):sub(1, 950):match("^(.*) ")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"description": "' .. description .. '", "lat": 50.94, "lon": 6.96, '
        .. '"category": "STR-01"}'

local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0
local threads_n = tonumber(os.getenv("BENCH_THREADS") or "1") or 1

if rate > 0 then
  local CLOCK_MONOTONIC = 1
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 * threads_n / rate
  local next_slot = nil

  function delay()
    local now = now_ms()
    local slot = next_slot
    if slot == nil or slot < now then
      slot = now -- behind schedule: send now, don't burst to catch up
    end
    next_slot = slot + interval
    return math.floor(slot - now)
  end
end

-- Per-thread counters, collected in done() from every thread.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("index", #threads - 1)
end

function init(args)
  statuses = {}
end

-- BENCH_DISTINCT=1 (bench/scale): every report at a place of its own, at least 30 m from the
-- others (the first 160,000 of them), and with its own number in the text, so that the worker
-- stores each as a ticket of its own instead of linking it to the first as a duplicate
-- (docs/duplicates.md: same category, within 30 m). Builds each request in Lua, which costs wrk
-- a little CPU per request; bench/run sends the same report every time.
if os.getenv("BENCH_DISTINCT") == "1" then
  local sent = 0
  function request()
    local i = index + sent * threads_n
    sent = sent + 1
    local lat = 50.92 + (i % 400) * 0.0003
    local lon = 6.93 + (math.floor(i / 400) % 400) * 0.00045
    return wrk.format(nil, nil, nil, string.format(
      '{"description": "Meldung %d: %s", "lat": %.5f, "lon": %.5f, "category": "STR-01"}',
      i, description, lat, lon))
  end
end

-- A Lua response() callback costs wrk CPU on every answer, and wrk shares the two cores with
-- the gateway and the broker. Count by status only when asked (BENCH_COUNT_STATUSES=1);
-- otherwise use wrk's own count of answers that are not 2xx/3xx: POST /api/v1/reports answers
-- 202 and nothing else in the 2xx/3xx range, so every other answer is an error.
local count_statuses = os.getenv("BENCH_COUNT_STATUSES") == "1"
if count_statuses then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

-- BENCH_STOP_AFTER=<n> (with BENCH_THREADS=<wrk -t>): each thread stops after its share of n
-- answers 202, so that about n reports are accepted (bench/scale fills a backlog with it; a few
-- in flight when a thread stops may be accepted beyond n).
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "0") or 0
if stop_after > 0 then
  local share = math.ceil(stop_after / threads_n)
  local accepted_here = 0
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if status == 202 then
      accepted_here = accepted_here + 1
      if accepted_here >= share then
        wrk.thread:stop()
      end
    end
  end
  count_statuses = true
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local accepted, others, breakdown = 0, 0, {}
  if not count_statuses then
    accepted = summary.requests - summary.errors.status
    others = summary.errors.status
  end
  for status, n in pairs(total) do
    if status == 202 then
      accepted = accepted + n
    else
      others = others + n
      table.insert(breakdown, string.format("%d=%d", status, n))
    end
  end
  table.sort(breakdown)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("requests_per_sec: %.1f\n", summary.requests / seconds))
  io.write(string.format("accepted_202: %d\n", accepted))
  io.write(string.format("accepted_per_sec: %.1f\n", accepted / seconds))
  io.write(string.format("non_202: %d%s\n", others,
                         #breakdown > 0 and (" (" .. table.concat(breakdown, " ") .. ")") or ""))
  io.write(string.format("socket_errors: connect=%d read=%d write=%d timeout=%d\n",
                         e.connect, e.read, e.write, e.timeout))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("p%d_ms: %.2f\n", p, latency:percentile(p) / 1000))
  end
end
