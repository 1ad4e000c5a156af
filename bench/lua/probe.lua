-- A slow, steady probe (one request every `delay` ms per connection) of the URL given to wrk:
-- GET /healthz while another wrk keeps the service busy with logins.
-- args: <delay in ms>
local common = require "common"
setup = common.setup
done = common.done

local pause = 10

function init(args)
   pause = tonumber(args[1]) or pause
end

function delay()
   return pause
end
