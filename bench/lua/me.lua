-- GET /api/v1/users/me, each request with the next access token of this thread's share.
-- args: <file of access tokens, one a line> <number of wrk threads>
local common = require "common"
setup = common.setup
done = common.done

local requests, n = {}, 0

function init(args)
   for _, token in ipairs(common.share(args[1], tid, tonumber(args[2]))) do
      table.insert(requests, wrk.format("GET", "/api/v1/users/me",
         {["Authorization"] = "Bearer " .. token}))
   end
end

function request()
   n = n + 1
   return requests[(n % #requests) + 1]
end
