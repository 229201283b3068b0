-- The few ES5 built-ins the agent's protocol code uses, for its Lua build (tools/build-agent.ts): Uint8Array and
-- Int8Array as tables keyed from 0 with a length field (typescript-to-lua leaves a typed array's index as it is and
-- reads .length as a field), and JSON. Lua 5.1 has no bitwise operators and none are needed here.

local floor, char, byte, concat, format = math.floor, string.char, string.byte, table.concat, string.format

-- A class as typescript-to-lua's __TS__New expects one: new(C, ...) calls C.prototype.____constructor.
local function builtinClass()
  local c = { prototype = {} }
  c.prototype.__index = c.prototype
  c.prototype.constructor = c
  return c
end

Uint8Array = builtinClass()

-- A table holds 16 bytes a value (Lua 5.1 on NodeMCU), so the agent's 4 KB receive buffer would take 128 KB (its
-- array part is a power of two). From PACKED_FROM values on, an array keeps 6 bytes in each Lua number (48 bits:
-- exact in a double) in a table of its own, reached through __index/__newindex: 16 KB for that buffer.
local PACKED_FROM, PER_WORD = 1024, 6
local PLACE = {}
for k = 0, PER_WORD - 1 do PLACE[k] = 256 ^ k end
local WORDS = {} -- the key of a packed array's word table (a table: no field name can clash with it)

local packedMeta = {
  __index = function(t, i)
    if type(i) ~= "number" then return Uint8Array.prototype[i] end
    local q = floor(i / PER_WORD)
    return floor(rawget(t, WORDS)[q] / PLACE[i - q * PER_WORD]) % 256
  end,
  __newindex = function(t, i, v)
    if type(i) ~= "number" then return rawset(t, i, v) end
    local words, q = rawget(t, WORDS), floor(i / PER_WORD)
    local place, w = PLACE[i - q * PER_WORD], words[q]
    words[q] = w + (v - floor(w / place) % 256) * place
  end,
}

-- new Uint8Array(n): n zeros. The agent never views another array's memory, so buffer is the array itself.
function Uint8Array.prototype:____constructor(n)
  if n >= PACKED_FROM then
    setmetatable(self, packedMeta)
    local words = {}
    for q = 0, floor((n - 1) / PER_WORD) do words[q] = 0 end
    rawset(self, WORDS, words)
  else
    for i = 0, n - 1 do self[i] = 0 end
  end
  self.length = n
  self.buffer = self
  self.byteOffset = 0
end

-- A copy, not a view (Lua has no views on a table): the agent only reads the slices it takes.
function Uint8Array.prototype:subarray(first, last)
  if last == nil or last > self.length then last = self.length end
  local out = setmetatable({}, Uint8Array.prototype)
  out:____constructor(last - first)
  for i = first, last - 1 do out[i - first] = self[i] end
  return out
end

Int8Array = builtinClass()

-- new Int8Array(buffer, offset, n): the bytes as signed values (what the runtime's invoke takes).
function Int8Array.prototype:____constructor(bytes, offset, n)
  for i = 0, n - 1 do
    local v = bytes[offset + i]
    if v >= 128 then v = v - 256 end
    self[i] = v
  end
  self.length = n
end

-- JSON for the protocol's messages and the agent's small state files: objects, arrays (Lua sequences), strings,
-- numbers, booleans. null is nil, so a null field is left out (the host reads an absent field as null).
JSON = {}

local encodeValue

local function encodeString(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return format("\\u%04x", byte(c))
  end) .. '"'
end

function encodeValue(v)
  local kind = type(v)
  if kind == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return format("%d", v) end
    return format("%.17g", v)
  elseif kind == "string" then
    return encodeString(v)
  elseif kind == "boolean" then
    return v and "true" or "false"
  elseif kind == "table" then
    local parts = {}
    if v[1] ~= nil then
      for i = 1, #v do parts[i] = encodeValue(v[i]) end
      return "[" .. concat(parts, ",") .. "]"
    end
    for k, item in pairs(v) do
      if type(k) == "string" and type(item) ~= "function" then parts[#parts + 1] = encodeString(k) .. ":" .. encodeValue(item) end
    end
    return "{" .. concat(parts, ",") .. "}"
  end
  return "null"
end

function JSON.stringify(_, value)
  return encodeValue(value)
end

local ESCAPES = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

-- Recursive descent over the text; returns value, next position. Throws (error) on anything malformed.
local decodeAt

local function skip(s, i)
  return (s:find("[^ \t\r\n]", i)) or #s + 1
end

local function decodeString(s, i)
  local parts = {}
  i = i + 1
  while true do
    local c = s:sub(i, i)
    if c == "" then error("JSON: unterminated string", 0) end
    if c == '"' then return concat(parts), i + 1 end
    if c == "\\" then
      local e = s:sub(i + 1, i + 1)
      if e == "u" then
        local code = tonumber(s:sub(i + 2, i + 5), 16)
        if not code then error("JSON: bad \\u escape", 0) end
        parts[#parts + 1] = code < 256 and char(code) or "?"
        i = i + 6
      else
        parts[#parts + 1] = ESCAPES[e] or e
        i = i + 2
      end
    else
      parts[#parts + 1] = c
      i = i + 1
    end
  end
end

function decodeAt(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local obj = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return obj, i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then error("JSON: expected a key", 0) end
      local key
      key, i = decodeString(s, i)
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then error("JSON: expected ':'", 0) end
      obj[key], i = decodeAt(s, i + 1)
      i = skip(s, i)
      local sep = s:sub(i, i)
      if sep == "}" then return obj, i + 1 end
      if sep ~= "," then error("JSON: expected ',' or '}'", 0) end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local arr = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return arr, i + 1 end
    while true do
      arr[#arr + 1], i = decodeAt(s, i)
      i = skip(s, i)
      local sep = s:sub(i, i)
      if sep == "]" then return arr, i + 1 end
      if sep ~= "," then error("JSON: expected ',' or ']'", 0) end
      i = i + 1
    end
  elseif c == '"' then
    return decodeString(s, i)
  elseif s:sub(i, i + 3) == "true" then
    return true, i + 4
  elseif s:sub(i, i + 4) == "false" then
    return false, i + 5
  elseif s:sub(i, i + 3) == "null" then
    return nil, i + 4
  end
  local text = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  local n = text and tonumber(text)
  if not n then error("JSON: unexpected input at " .. i, 0) end
  return n, i + #text
end

function JSON.parse(_, text)
  local value, i = decodeAt(text, 1)
  if skip(text, i) <= #text then error("JSON: trailing input", 0) end
  return value
end
