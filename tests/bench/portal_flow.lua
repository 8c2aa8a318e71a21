-- wrk script for the portal load benchmark (issue 5): the citizen's submit flow.
--
--   wrk -tN -cN -d30s -s portal_flow.lua https://127.0.0.1:PORT -- TOKENS_FILE N READING_DATE \
--       [SKIP [LATENCY_FILE [ROUND]]]
--
-- One connection per wrk thread (-t equals -c): wrk's response() does not say which
-- connection answered, so per-connection state lives in the thread's own Lua state.
-- Thread i takes the tokens i, i+N, i+2N, … of TOKENS_FILE (lines "token meter register
-- value"); after the last one it starts over with value+1 (a correction, a new version).
-- SKIP: each thread starts at its SKIP-th token (a later round of the same run takes
-- tokens no earlier round used). ROUND is added to every value: a thread that gets
-- through more than its share of a round reaches tokens of the next round's share, and
-- with a value of its own each submission stays a new version (an unchanged value would
-- store nothing and the reading count would not match). LATENCY_FILE: every request's and flow's latency is
-- appended, one "step milliseconds" line each (step: link, form, post, flow), so that
-- rounds can be pooled.
--
-- Each flow: GET /r/<token> (302 to /portal/, fresh portal session cookie), GET the meter form
-- (csrftoken cookie, csrfmiddlewaretoken from the HTML), POST value + date + token with
-- Origin and Referer (HTTPS CSRF checks). A flow is complete when the POST answers 302 to
-- /portal/; anything else is an error and the thread moves on to its next token.
-- done() prints one line "BENCH_JSON {...}" with counts and per-step latencies (ms).

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]])
local timespec = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count - 1)
  table.insert(threads, thread)
end

local entries = {}
local position, round = 0, 0
local stride = 1
local reading_date, origin = "", ""
local state, entry, session, csrf_cookie, csrf_token = "link", nil, nil, nil, nil
local started = 0
-- globals, so that done() can read them with thread:get(); only flat tables (wrk copies
-- nested tables between Lua states incorrectly and crashes)
counts = { completed = 0, failed = 0, posts_sent = 0, posts_answered = 0, flows = 0 }
lat_link, lat_form, lat_post, lat_flow = {}, {}, {}, {}
local latencies = { link = lat_link, form = lat_form, post = lat_post, flow = lat_flow }
failures = {}
local flow_started = 0

function init(args)
  local file, threads_arg, date = args[1], args[2], args[3]
  latency_path = args[5] or "" -- a global: done() runs in the main state and asks a thread
  stride = tonumber(threads_arg)
  reading_date = date
  local index = 0
  for line in io.lines(file) do
    if index % stride == thread_index then
      local token, meter, register, value = line:match("^(%S+) (%d+) (%d+) (%d+)$")
      table.insert(entries, { token = token, meter = meter, register = register, value = tonumber(value) })
    end
    index = index + 1
  end
  origin = "https://" .. wrk.host .. ":" .. wrk.port
  position = tonumber(args[4] or "0") % math.max(#entries, 1)
  round = tonumber(args[6] or "0")
end

local function next_entry()
  position = position + 1
  if position > #entries then
    position, round = 1, round + 1
  end
  entry = entries[position]
  session, csrf_cookie, csrf_token = nil, nil, nil
  state = "link"
end

local function header(headers, name)
  for key, value in pairs(headers) do
    if key:lower() == name then
      return value
    end
  end
  return nil
end

local function cookie(headers, name)
  local value = header(headers, "set-cookie")
  if value == nil then
    return nil
  end
  return value:match("^" .. name:gsub("%-", "%%-") .. "=([^;]*)")
end

local function fail(step, status)
  counts.failed = counts.failed + 1
  local key = step .. ":" .. status
  failures[key] = (failures[key] or 0) + 1
  next_entry()
end

function request()
  if entry == nil then
    next_entry()
  end
  started = now_ms()
  if state == "link" then
    flow_started = started
    counts.flows = counts.flows + 1
    return wrk.format("GET", "/r/" .. entry.token, {})
  end
  local path = "/portal/zaehler/" .. entry.meter .. "/"
  if state == "form" then
    return wrk.format("GET", path, { ["Cookie"] = "__Host-portal=" .. session })
  end
  counts.posts_sent = counts.posts_sent + 1
  local body = "csrfmiddlewaretoken=" .. csrf_token
    .. "&value_" .. entry.register .. "=" .. (entry.value + round)
    .. "&reading_date=" .. reading_date
  return wrk.format("POST", path, {
    ["Cookie"] = "__Host-portal=" .. session .. "; csrftoken=" .. csrf_cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Origin"] = origin,
    ["Referer"] = origin .. path,
  }, body)
end

function response(status, headers, body)
  table.insert(latencies[state], now_ms() - started)
  if state == "link" then
    session = cookie(headers, "__Host-portal")
    if status ~= 302 or header(headers, "location") ~= "/portal/" or session == nil then
      return fail("link", status)
    end
    state = "form"
  elseif state == "form" then
    csrf_cookie = cookie(headers, "csrftoken")
    csrf_token = body:match('name="csrfmiddlewaretoken" value="([^"]+)"')
    if status ~= 200 or csrf_cookie == nil or csrf_token == nil then
      return fail("form", status)
    end
    state = "post"
  else
    counts.posts_answered = counts.posts_answered + 1
    if status ~= 302 or header(headers, "location") ~= "/portal/" then
      return fail("post", status)
    end
    counts.completed = counts.completed + 1
    table.insert(latencies.flow, now_ms() - flow_started)
    next_entry()
  end
end

local function percentile(sorted, p)
  if #sorted == 0 then
    return 0
  end
  local rank = math.max(1, math.ceil(p / 100 * #sorted))
  return sorted[rank]
end

local function json(value)
  local kind = type(value)
  if kind == "table" then
    local parts = {}
    for key, item in pairs(value) do
      table.insert(parts, string.format("%q:%s", tostring(key), json(item)))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "number" then
    return string.format("%.3f", value)
  end
  return string.format("%q", tostring(value))
end

function done(summary, latency, requests)
  local totals = { completed = 0, failed = 0, posts_sent = 0, posts_answered = 0, flows = 0 }
  local merged = { link = {}, form = {}, post = {}, flow = {} }
  local failed_by_step = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for key, value in pairs(c) do
      totals[key] = totals[key] + value
    end
    for step, values in pairs(merged) do
      for _, v in ipairs(thread:get("lat_" .. step)) do
        table.insert(values, v)
      end
    end
    for key, value in pairs(thread:get("failures")) do
      failed_by_step[key] = (failed_by_step[key] or 0) + value
    end
  end
  local steps = {}
  for step, values in pairs(merged) do
    table.sort(values)
    steps[step] = { n = #values, p50 = percentile(values, 50), p99 = percentile(values, 99) }
  end
  local result = {
    seconds = summary.duration / 1e6,
    requests = summary.requests,
    completed = totals.completed,
    failed = totals.failed,
    flows_started = totals.flows,
    posts_sent = totals.posts_sent,
    posts_answered = totals.posts_answered,
    failures = failed_by_step,
    socket_errors = {
      connect = summary.errors.connect,
      read = summary.errors.read,
      write = summary.errors.write,
      status = summary.errors.status,
      timeout = summary.errors.timeout,
    },
    p50_ms = latency:percentile(50) / 1000,
    p99_ms = latency:percentile(99) / 1000,
    steps = steps,
  }
  local latency_file = threads[1] and threads[1]:get("latency_path") or ""
  if latency_file ~= "" then
    local out = io.open(latency_file, "a")
    for _, step in ipairs({ "link", "form", "post", "flow" }) do
      for _, v in ipairs(merged[step]) do
        out:write(string.format("%s %.3f\n", step, v))
      end
    end
    out:close()
  end
  io.write("BENCH_JSON " .. json(result) .. "\n")
end
