-- Shared by the workload scripts (wrk runs with this folder as its working directory, so
-- `require "common"` finds it). wrk gives scripts no handle on a connection, only on a thread:
-- per-thread state below, and a thread id set in setup() so each thread takes its own share of
-- the file the harness wrote.
local M = {}

local threads = {}

-- Runs in wrk's main Lua state, once per thread, before the threads start.
function M.setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

-- The lines of `path` that belong to thread `tid` of `nthreads` (round robin), as a list.
function M.share(path, tid, nthreads)
   local mine, i = {}, 0
   for line in io.lines(path) do
      if line ~= "" then
         if i % nthreads == tid then table.insert(mine, line) end
         i = i + 1
      end
   end
   if #mine == 0 then error("no lines for thread " .. tid .. " in " .. path) end
   return mine
end

-- Split "a<TAB>b" into a, b.
function M.fields(line)
   local a, b = line:match("^([^\t]*)\t(.*)$")
   return a, b
end

-- Runs in the main state after the run: one machine-readable line for bench/wrk.py. Threads may
-- keep counters of their own (`bad` = responses a script saw that were not 2xx, `starved` =
-- requests sent without a fresh token, `statuses` = answers by status code, for scripts that
-- read the answers); they are summed here. `latency` is wrk's histogram after its
-- coordinated-omission correction (wrk.c corrects it in place before calling done()), so these
-- percentiles are the ones wrk itself prints; latency.max is the slowest answer measured.
function M.done(summary, latency, requests)
   local bad, starved, statuses = 0, 0, {}
   for _, thread in ipairs(threads) do
      bad = bad + (tonumber(thread:get("bad")) or 0)
      starved = starved + (tonumber(thread:get("starved")) or 0)
      for status, count in pairs(thread:get("statuses") or {}) do
         statuses[status] = (statuses[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(statuses) do
      table.insert(parts, string.format('"%d": %d', status, count))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"status_errors": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
      '"timeouts": %d, "script_non_2xx": %d, "starved": %d, "statuses": {%s}, ' ..
      '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.status, e.connect, e.read, e.write, e.timeout, bad, starved, table.concat(parts, ", "),
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean))
end

return M
