-- POST /api/v1/auth/signup, a new email every request: run tag, thread id and a counter.
-- args: <run tag> <password>
local common = require "common"
setup = common.setup
done = common.done

local tag, password, n = "", "", 0
local headers = {["Content-Type"] = "application/json"}

function init(args)
   tag, password = args[1], args[2]
end

function request()
   n = n + 1
   local body = string.format(
      '{"email": "signup-%s-t%d-%d@bench.example.com", "password": "%s", "name": "Bench"}',
      tag, tid, n, password)
   return wrk.format("POST", "/api/v1/auth/signup", headers, body)
end
