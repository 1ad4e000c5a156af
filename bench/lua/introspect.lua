-- POST /oauth2/introspect as a resource server asks it: HTTP Basic with the client's id and
-- secret, and the next OAuth access token of this thread's share in the form.
-- args: <file of OAuth access tokens> <number of wrk threads> <the Basic credentials, encoded>
local common = require "common"
setup = common.setup
done = common.done

local bodies, headers, n = {}, {}, 0

function init(args)
   headers = {["Authorization"] = "Basic " .. args[3],
              ["Content-Type"] = "application/x-www-form-urlencoded"}
   for _, token in ipairs(common.share(args[1], tid, tonumber(args[2]))) do
      table.insert(bodies, "token=" .. token)
   end
end

function request()
   n = n + 1
   return wrk.format("POST", "/oauth2/introspect", headers, bodies[(n % #bodies) + 1])
end
