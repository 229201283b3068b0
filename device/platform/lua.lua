-- The Lua targets (5.1, 5.3, LuaJIT; NodeMCU): a Buf is a table keyed from 0. The blob comes two ways:
-- * a string (desktop Lua, the host's engines and benchmarks): load() turns it into one table of signed bytes that
--   the reader and the weights index directly, the fastest read Lua has (16 bytes of RAM a byte);
-- * { size = n, read = function(self, offset, count) } over flash (a NodeMCU file, device/agent/nodemcu.lua): never
--   whole in RAM, read in windows through __index (a metamethod call per weight read: about 3x slower kernels).
-- Biases are decoded into tables; the arena is one table; invoke() refills one 1-based output table. Nothing is
-- allocated per inference.

local byte = string.byte

-- Locals, not globals of the runtime's environment: the kernels use them per output (api.d.ts).
local floor = math.floor
local TRACING_JIT = jit ~= nil

function newInt8(n)
  local t = {}
  for i = 0, n - 1 do t[i] = 0 end
  return t
end

newInt32 = newInt8
newFloat64 = newInt8

-- SIGNED[u] is the int8 of byte u (SIGNED[nil] is nil: past the blob's end).
local SIGNED = {}
for u = 0, 255 do SIGNED[u] = u < 128 and u or u - 256 end

-- A flash blob is read in WINDOW-byte windows kept in SLOTS slots (direct-mapped: 4 KB of RAM). A kernel's weights
-- for a pass are a contiguous span of up to a few rows, so a window is read again only when the pass moves on.
local WINDOW, SLOTS = 512, 8

function blobInt8(blob)
  if type(blob) == "string" then
    local t, n = {}, #blob
    for i = 1, n, 4096 do
      local last = i + 4095
      if last > n then last = n end
      local chunk = { byte(blob, i, last) }
      for k = 1, last - i + 1 do t[i + k - 2] = SIGNED[chunk[k]] end
    end
    return t
  end
  if type(blob) ~= "table" then error("MRSL_E_INPUT: Morsel.load takes a string or a { size, read } blob", 0) end
  local windows, held = {}, {}
  return setmetatable({}, {
    __index = function(_, i)
      local w = floor(i / WINDOW)
      local slot = w % SLOTS
      if held[slot] ~= w then
        windows[slot] = blob:read(w * WINDOW, WINDOW) or ""
        held[slot] = w
      end
      return SIGNED[byte(windows[slot], i - w * WINDOW + 1)]
    end,
  })
end

function int32(v)
  return v
end

function blobLength(blob)
  return type(blob) == "string" and #blob or blob.size
end

function int32Span(blob, pos, count)
  local t = {}
  for i = 0, count - 1 do
    local p = pos + 4 * i
    local b0, b1, b2 = blob[p] % 256, blob[p + 1] % 256, blob[p + 2] % 256
    t[i] = b0 + b1 * 256 + b2 * 65536 + blob[p + 3] * 16777216
  end
  return t
end

function rowViews(data, offset, rowLength, rows)
  return {}
end

function outputHandle(arena, offset, n)
  local t = {}
  for i = 1, n do t[i] = 0 end
  return t
end

function publishOutput(arena, offset, n, handle)
  for i = 1, n do handle[i] = arena[offset + i - 1] end
end

function inputLength(input)
  local kind = type(input)
  if kind ~= "string" and kind ~= "table" then error("MRSL_E_INPUT: invoke expects a string of bytes or a table of int8 values", 0) end
  return #input
end

function copyInput(input, arena, offset, n)
  if type(input) == "string" then
    for i = 1, n do
      local v = byte(input, i)
      if v >= 128 then v = v - 256 end
      arena[offset + i - 1] = v
    end
  else
    for i = 1, n do
      local v = input[i]
      if type(v) ~= "number" or v < -128 or v > 127 or v ~= math.floor(v) then
        error("MRSL_E_INPUT: input value " .. i .. " is not an int8: " .. tostring(v), 0)
      end
      arena[offset + i - 1] = v
    end
  end
end

-- NodeMCU: node.uptime() (ESP32, microseconds) or tmr.now() (ESP8266, microseconds); elsewhere CPU time.
local clock
if type(node) == "table" and type(node.uptime) == "function" then
  clock = function() return node.uptime() / 1000 end
elseif type(tmr) == "table" and type(tmr.now) == "function" then
  clock = function() return tmr.now() / 1000 end
else
  clock = function() return os.clock() * 1000 end
end

function clockMs()
  return clock()
end

function nativeDotKind()
  return DOT_NONE
end

function raise(message)
  error(message, 0)
end
