-- POST /api/v1/auth/refresh. A refresh token works once: every answer carries the next one,
-- which goes back into this thread's pool for a later request. wrk does not tell a script which
-- connection a response came on, so the chain is kept per thread rather than per connection:
-- each request takes a token out of the thread's pool and each 200 puts its successor back, so
-- every token is still sent exactly once and each session's chain stays unbroken. The pool must
-- start with one token more than the thread has connections: before the run wrk calls
-- request() once on the first thread to check what it returns, and that token is never sent.
-- A lost token (an answer that is not 200) shrinks the pool; a request that finds the pool
-- empty is counted as `starved` and sends a token that cannot work (it will be a non-2xx).
-- args: <file of refresh tokens> <number of wrk threads>
local common = require "common"
setup = common.setup
done = common.done

local pool, head, tail = {}, 1, 0
local headers = {["Content-Type"] = "application/json"}
bad, starved = 0, 0
statuses = {}  -- answers by status code, for the harness

function init(args)
   for _, token in ipairs(common.share(args[1], tid, tonumber(args[2]))) do
      tail = tail + 1
      pool[tail] = token
   end
end

function request()
   local token
   if head <= tail then
      token = pool[head]
      pool[head] = nil
      head = head + 1
   else
      starved = starved + 1
      token = "no-token-left"
   end
   return wrk.format("POST", "/api/v1/auth/refresh", headers,
      string.format('{"refresh_token": "%s"}', token))
end

function response(status, _, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status == 200 then
      local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
      if token then
         tail = tail + 1
         pool[tail] = token
         return
      end
   end
   bad = bad + 1
end
