-- Adapter for NodeMCU firmware (ESP32, Lua 5.1; the dev-esp32-idf3 modules): frames on a UART taken away from
-- the Lua interpreter (uart.on with run_input 0), blobs in SPIFFS files through the file module, the clock and
-- free heap from node, the tick from tmr, SHA-256 from crypto when the firmware has it (else the agent's own,
-- sha256.ts). Appended by tools/build-agent.ts after the agent's Lua build, whose names it uses.
--   local Morsel = dofile("morsel.lua")
--   dofile("morsel-agent.lua").nodemcu(Morsel, { uart = 0 })

local agentChar, agentByte, agentConcat, agentFloor = string.char, string.byte, table.concat, math.floor
local unpackList = unpack or table.unpack

-- Bytes [0, n) of a 0-based byte table as a string, 4 KB of string.char arguments at a time.
local function bytesString(bytes, n)
  local parts, chunk = {}, {}
  for first = 0, n - 1, 4096 do
    local last = first + 4095
    if last > n - 1 then last = n - 1 end
    for i = first, last do chunk[i - first + 1] = bytes[i] end
    for i = last - first + 2, #chunk do chunk[i] = nil end
    parts[#parts + 1] = agentChar(unpackList(chunk))
  end
  return agentConcat(parts)
end

-- A stored blob read in place from its file, never whole in RAM: for the runtime (Morsel.load) a { size, read }
-- reader, which it reads in windows; for the agent (the commit's CRC and hash) also its bytes by 0-based index,
-- through a window of its own.
local FLASH_WINDOW = 1024

local function flashBlob(name)
  local f = file.open(name, "r")
  if not f then return nil end
  local size = f:seek("end")
  local blob = { size = size, length = size }
  function blob:read(offset, count)
    f:seek("set", offset)
    return f:read(count)
  end
  local window, first = "", 0
  return setmetatable(blob, {
    __index = function(_, i)
      local k = i - first
      if k < 0 or k >= #window then
        first = i - i % FLASH_WINDOW
        window = blob:read(first, FLASH_WINDOW) or ""
        k = i - first
      end
      return agentByte(window, k + 1)
    end,
  })
end

local function readFile(name)
  local f = file.open(name, "r")
  if not f then return nil end
  local parts = {}
  while true do
    local s = f:read(1024)
    if not s or s == "" then break end
    parts[#parts + 1] = s
  end
  f:close()
  return agentConcat(parts)
end

-- SPIFFS renames only to a free name, so a replace is: write NAME~, remove NAME, rename NAME~ to NAME. A reset
-- between the last two steps leaves only NAME~, complete (it was closed before NAME was removed): reading NAME
-- then finishes the rename. A reset while NAME~ is written leaves NAME as it was.
local function replaceFile(name, text)
  local tmp = name .. "~"
  local f = file.open(tmp, "w")
  if not f then error("STORAGE: cannot write " .. tmp, 0) end
  f:write(text)
  f:close()
  file.remove(name)
  if not file.rename(tmp, name) then error("STORAGE: cannot rename " .. tmp, 0) end
end

local function readText(name)
  if not file.exists(name) and file.exists(name .. "~") then file.rename(name .. "~", name) end
  return readFile(name)
end

-- The runtime as the agent calls it: load takes the stored blob (its flash reader), invoke the agent's Int8Array
-- and returns one; profile and layerMs are the model's own.
local function runtimeForAgent(runtime)
  return {
    version = runtime.version,
    load = function(_, blob)
      local model = runtime.load(blob)
      local input, output = {}, {}
      local handle = setmetatable({}, { __index = model, __newindex = model })
      rawset(handle, "invoke", function(_, x)
        for i = 1, x.length do input[i] = x[i - 1] end
        local y = model:invoke(input)
        for i = 1, #y do output[i - 1] = y[i] end
        output.length = #y
        return output
      end)
      return handle
    end,
  }
end

-- The firmware's SHA-256 (crypto module, mbedtls) as the agent's digest: bytes [0, n) to a list of 32 numbers.
local function nativeSha256()
  if type(crypto) ~= "table" or type(crypto.new_hash) ~= "function" then return nil end
  return function(_, bytes, n)
    local hasher = crypto.new_hash("SHA256")
    if rawget(bytes, "read") then
      for at = 0, n - 1, FLASH_WINDOW do
        hasher:update(bytes:read(at, math.min(FLASH_WINDOW, n - at)))
      end
    else
      hasher:update(bytesString(bytes, n))
    end
    local digest = hasher:finalize()
    local out = {}
    for i = 1, 32 do out[i] = agentByte(digest, i) end
    return out
  end
end

-- The install `morsel uninstall --target nodemcu` removes besides the agent's own files: the runtime and agent
-- (source or compiled), and init.lua when it is the hook that starts them (docs/boards.md).
local INSTALL_FILES = { "morsel.lua", "morsel-agent.lua", "morsel.lc", "morsel-agent.lc" }

local function isMorselHook(name)
  local text = readFile(name)
  return text ~= nil and text:find("morsel-agent", 1, true) ~= nil
end

-- The firmware's mqtt module (mqtt.Client) in the face the agent's MQTT link uses (device/agent/mqtt.ts: Espruino's
-- MQTT module's create, connect, subscribe, publish, on), or nil on a firmware built without it.
local function nodeMcuMqtt()
  if type(mqtt) ~= "table" or type(mqtt.Client) ~= "function" then return nil end
  return function(_, server, o)
    local client = mqtt.Client(o.client_id, o.keep_alive, nil, nil, o.clean_session and 1 or 0)
    client:lwt(o.will_topic, o.will_message, o.will_qos, o.will_retain and 1 or 0)
    local listeners = {}
    local function emit(event, message)
      for _, listener in ipairs(listeners[event] or {}) do listener(nil, message) end
    end
    client:on("message", function(_, topic, data)
      emit("publish", { topic = topic, message = data or "" })
    end)
    client:on("offline", function()
      emit("disconnected")
    end)
    local face = {}
    function face:connect()
      client:connect(server, o.port, false, function()
        emit("connected")
      end, function()
        emit("disconnected")
      end)
    end
    function face:subscribe(topic, options)
      client:subscribe(topic, options.qos)
    end
    function face:publish(topic, message, options)
      client:publish(topic, message, options.qos, options.retain and 1 or 0)
    end
    function face:on(event, listener)
      listeners[event] = listeners[event] or {}
      table.insert(listeners[event], listener)
    end
    return face
  end
end

local function startNodeMcuAgent(runtime, opts)
  opts = opts or {}
  local id = opts.uart or 0
  local ticker = tmr.create()
  Morsel = runtimeForAgent(runtime)
  local clock = type(node.uptime) == "function" and node.uptime or tmr.now
  local agent = startAgent(nil, {
    engine = opts.engine or "nodemcu",
    deviceId = opts.deviceId or (node.chipid and tostring(node.chipid())) or "nodemcu",
    -- Two slots share the filesystem: the new blob is written while the committed one is kept.
    maxBlobBytes = opts.maxBlobBytes or agentFloor(file.fsinfo() / 2),
    sha256 = nativeSha256(),
    write = function(_, s)
      uart.write(id, s)
    end,
    now = function()
      return clock() / 1000
    end,
    readBytes = function(_, name)
      return flashBlob(name)
    end,
    readText = function(_, name)
      return readText(name)
    end,
    writeBytes = function(_, name, bytes, offset, total)
      local f = file.open(name, offset == 0 and "w" or "r+")
      if not f then error("STORAGE: cannot open " .. name, 0) end
      if offset > 0 then f:seek("set", offset) end
      f:write(bytesString(bytes, bytes.length))
      f:close()
    end,
    writeText = function(_, name, text)
      replaceFile(name, text)
    end,
    erase = function(_, name)
      file.remove(name)
      file.remove(name .. "~")
    end,
    freeRam = function()
      return node.heap()
    end,
    -- Nothing starts the agent at the next boot, its tick stops, and the UART's input runs as Lua again
    -- (uart.on without a callback: run_input back to 1), so the port is the interpreter's REPL.
    uninstall = function()
      for _, name in ipairs(INSTALL_FILES) do file.remove(name) end
      if isMorselHook("init.lua") then file.remove("init.lua") end
      ticker:unregister()
      uart.on(id, "data")
    end,
  }, nodeMcuMqtt())
  uart.on(id, "data", 0, function(data)
    agent:feed(data)
  end, 0)
  ticker:alarm(opts.tickMs or 250, tmr.ALARM_AUTO, function()
    agent:tick()
  end)
  return agent
end

return {
  version = AGENT_VERSION,
  nodemcu = startNodeMcuAgent,
  -- The agent's own SHA-256 (what a firmware without the crypto module verifies uploads with).
  sha256 = sha256,
}
