-- The Lua targets (5.1, 5.3, LuaJIT; NodeMCU): a Buf is a table keyed from 0. The blob comes two ways:
-- * a string (desktop Lua, the host's engines and benchmarks): load() turns it into one table of signed bytes that
--   the reader and the weights index directly, the fastest read Lua has (16 bytes of RAM a byte);
-- * { size = n, read = function(self, offset, count) } over flash (a NodeMCU file, device/agent/nodemcu.lua): never
--   whole in RAM, read in windows through __index (a metamethod call per weight read: about 3x slower kernels).
--   That model is built for a small heap: its int8 buffers (the arena, int8 scratch) keep 6 values in each Lua
--   number (2.7 bytes a value instead of 16), read and written through __index/__newindex, and its int32
--   constants (biases, multipliers) are read from the blob when used instead of copied into tables.
-- Every table is allocated at its exact size (Lua sizes a growing array part to a power of two: up to 2x).
-- From a string blob, biases are decoded into tables and the arena is one table. invoke() refills one 1-based
-- output table. Nothing is allocated per inference.

local byte = string.byte

-- Locals, not globals of the runtime's environment: the kernels use them per output (api.d.ts).
local floor = math.floor
local TRACING_JIT = jit ~= nil

-- The longest string.byte slice every target takes in one call (Lua 5.1 and LuaJIT: a C stack of 8,000 slots).
local EXACT_MAX = 7000
local byteSlice = function(s, n) return byte(s, 1, n) end

-- A table of n zeros at keys 1..n whose array part is exactly n slots, plus key 0 when `from0`: a table
-- constructor stores a call's n results at their count (a growing array part would be a power of two, up to 2x).
-- The n results pass through the stack of a coroutine that then dies, so no thread's stack stays grown (Lua 5.1
-- shrinks a stack by halves, one per collection). Past EXACT_MAX, filled in a loop.
local function zeros(n, from0)
  if n <= EXACT_MAX then
    local none = string.rep("\0", n)
    return coroutine.wrap(function()
      return from0 and { [0] = 0, byteSlice(none, n) } or { byteSlice(none, n) }
    end)()
  end
  local t = {}
  for i = from0 and 0 or 1, n do t[i] = 0 end
  return t
end

-- True while a flash blob's model is loaded: its int8 buffers are packed and its int32 spans read in place.
local inPlace = false

-- The int8 of byte u, and nil for nil (past the blob's end). Arithmetic, not a 256-entry table: that would be 4 KB
-- of a 100 KB heap.
local function signed(u)
  if u and u >= 128 then return u - 256 end
  return u
end

-- n int8 values packed PER_WORD to a Lua number (48 bits: exact in a double), stored unsigned, in pages of
-- PAGE_WORDS words (a page, not one table: making one exact-sized table of them would briefly take twice its size).
-- Value i is byte r % PER_WORD of word floor(r / PER_WORD) + 1 of page floor(i / PAGE) (r = i % PAGE). A kernel
-- indexes it like any Buf, a metamethod call per access.
local PER_WORD, PAGE_WORDS = 6, 128
local PAGE = PER_WORD * PAGE_WORDS
local PLACE = {}
for k = 0, PER_WORD - 1 do PLACE[k] = 256 ^ k end

local function packedInt8(n)
  local pages = {}
  for p = 0, floor((n - 1) / PAGE) do
    pages[p] = zeros(floor((math.min(n - p * PAGE, PAGE) + PER_WORD - 1) / PER_WORD))
  end
  return setmetatable({}, {
    __index = function(_, i)
      local p = floor(i / PAGE)
      local r = i - p * PAGE
      local q = floor(r / PER_WORD)
      local u = floor(pages[p][q + 1] / PLACE[r - q * PER_WORD]) % 256
      return u >= 128 and u - 256 or u
    end,
    __newindex = function(_, i, v)
      local p = floor(i / PAGE)
      local r = i - p * PAGE
      local q = floor(r / PER_WORD)
      local words, place = pages[p], PLACE[r - q * PER_WORD]
      local w = words[q + 1]
      words[q + 1] = w + (v % 256 - floor(w / place) % 256) * place
    end,
  })
end

function newInt8(n)
  if inPlace then return packedInt8(n) end
  return n > 0 and zeros(n - 1, true) or {}
end

function newInt32(n)
  return n > 0 and zeros(n - 1, true) or {}
end

newFloat64 = newInt32

-- A flash blob is read in WINDOW-byte windows kept in SLOTS slots (direct-mapped: 4 KB of RAM). A kernel's weights
-- for a pass are a contiguous span of up to a few rows, so a window is read again only when the pass moves on.
local WINDOW, SLOTS = 512, 8

function blobInt8(blob)
  inPlace = type(blob) ~= "string"
  if not inPlace then
    local t, n = {}, #blob
    for i = 1, n, 4096 do
      local last = i + 4095
      if last > n then last = n end
      local chunk = { byte(blob, i, last) }
      for k = 1, last - i + 1 do t[i + k - 2] = signed(chunk[k]) end
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
      return signed(byte(windows[slot], i - w * WINDOW + 1))
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
  -- A flash blob's spans are read from it on each use (biases once per output, multipliers at load), unless a table
  -- of them is smaller than the reader (a per-tensor multiplier).
  if inPlace and count > 8 then
    return setmetatable({}, {
      __index = function(_, i)
        local p = pos + 4 * i
        return blob[p] % 256 + blob[p + 1] % 256 * 256 + blob[p + 2] % 256 * 65536 + blob[p + 3] * 16777216
      end,
    })
  end
  local t = newInt32(count)
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
  return zeros(n)
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
