-- wrk script: cycle through the tile paths that kiruna-tilebench wrote, each
-- thread from its own offset, asking for gzip as browsers do (or for what
-- ACCEPT_ENCODING names; "identity" sends no Accept-Encoding).
local paths = {}
for line in io.lines(os.getenv("TILE_PATHS") or "/tmp/paths.txt") do
  paths[#paths + 1] = line
end
local counter = 0
function setup(thread)
  thread:set("offset", counter * math.floor(#paths / 2))
  counter = counter + 1
end
local ae = os.getenv("ACCEPT_ENCODING") or "gzip"
local headers = {}
if ae ~= "identity" then headers["Accept-Encoding"] = ae end
local i = 0
function request()
  i = i + 1
  local p = paths[((i + offset) % #paths) + 1]
  return wrk.format("GET", p, headers)
end
