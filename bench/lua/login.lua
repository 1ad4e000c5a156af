-- POST /api/v1/auth/login with the right password, going through this thread's share of the
-- seeded accounts so that no account is hit much (a success clears the per-account counter
-- anyway; the harness also raises the failure limit out of the way).
-- args: <file of "email<TAB>password" lines> <number of wrk threads>
local common = require "common"
setup = common.setup
done = common.done

local requests, n = {}, 0

function init(args)
   local headers = {["Content-Type"] = "application/json"}
   for _, line in ipairs(common.share(args[1], tid, tonumber(args[2]))) do
      local email, password = common.fields(line)
      table.insert(requests, wrk.format("POST", "/api/v1/auth/login", headers,
         string.format('{"email": "%s", "password": "%s"}', email, password)))
   end
end

function request()
   n = n + 1
   return requests[(n % #requests) + 1]
end
