-- A plain GET of the URL given to wrk (the reference endpoint): no per-request Lua, so the load
-- generator spends as little as it can.
local common = require "common"
setup = common.setup
done = common.done
