-- The Lua targets (5.1, 5.3, LuaJIT; NodeMCU): a Buf is a table keyed from 0. Lua has no views on a string, so
-- load() turns the blob string into one table of signed bytes, which the reader and the weights index in
-- place; biases are decoded into tables; the arena is one table; invoke() refills one 1-based output table.
-- Nothing is allocated per inference.

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

function blobInt8(s)
  if type(s) ~= "string" then error("MRSL_E_INPUT: Morsel.load expects the blob as a string", 0) end
  local t, n = {}, #s
  for i = 1, n, 4096 do
    local last = i + 4095
    if last > n then last = n end
    local chunk = { byte(s, i, last) }
    for k = 1, last - i + 1 do
      local v = chunk[k]
      if v >= 128 then v = v - 256 end
      t[i + k - 2] = v
    end
  end
  return t
end

function int32(v)
  return v
end

function blobLength(s)
  return #s
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
