-- PATCH /api/v1/users/me with a new name each time, tokens taken in turn from this thread's share.
-- args: <file of access tokens> <number of wrk threads>
local common = require "common"
setup = common.setup
done = common.done

local headers, n = {}, 0

function init(args)
   for _, token in ipairs(common.share(args[1], tid, tonumber(args[2]))) do
      table.insert(headers, {["Authorization"] = "Bearer " .. token,
                             ["Content-Type"] = "application/json"})
   end
end

function request()
   n = n + 1
   local body = string.format('{"name": "Bench %d-%d"}', tid, n)
   return wrk.format("PATCH", "/api/v1/users/me", headers[(n % #headers) + 1], body)
end
