-- An emulated NodeMCU board for `morsel emulate --engine lua|lua5.1|luajit` (host/serial/lua-board.ts): the
-- NodeMCU modules the agent's adapter uses (uart, file, node, tmr), over stdio and a folder, in a real Lua
-- interpreter. Plain Lua cannot wait on stdin and a timer at once, so the host drives the board with one message
-- per event on stdin:
--   D <n> <ms>\n<n bytes>   UART bytes arrived        T <ms>\n   the tmr alarm is due
-- where ms is the host's clock (node.uptime() advances from it by this process's CPU time). The UART's output is
-- stdout; faults are lines on stderr; killing the process is a power cut. No crypto module: the agent hashes in
-- Lua (its own SHA-256), as on a firmware built without crypto.
--   lua board.lua RUNTIME.lua AGENT.lua STORAGE_DIR FLASH_BYTES RAM_BYTES DEVICE_ID ENGINE [mqtt]
-- With `mqtt` the board also has NodeMCU's mqtt module, whose network is the host (host/fleet/firmware-mqtt.ts):
-- requests go out as lines on stderr, events come in on stdin (see the mqtt shim below).

local runtimePath, agentPath, dir, flashBytes, ramBytes, deviceId, engine, withMqtt = ...
flashBytes, ramBytes = tonumber(flashBytes), tonumber(ramBytes)

local function path(name)
  return dir .. "/" .. name
end

local function exists(name)
  local f = io.open(path(name), "rb")
  if f then f:close() end
  return f ~= nil
end

local hostMs, cpuAtHostMs = 0, os.clock()
local bytecodeBytes = 0
local dataCallback, alarmCallback

-- uart.on(id, "data") without a callback hands the UART back to the Lua interpreter (run_input 1): the input's
-- lines run as Lua, each answered by its output and the "> " prompt, as NodeMCU's REPL does.
uart = {
  on = function(id, event, n, callback, runInput)
    if event == "data" then dataCallback = callback end
  end,
  write = function(id, ...)
    io.stdout:write(...)
    io.stdout:flush()
  end,
}

-- SPIFFS on the board: flat names; rename refuses a name in use. (No fsinfo: the host gives the blob capacity.)
file = {
  open = function(name, mode)
    local f = io.open(path(name), mode .. "b")
    if not f then return nil end
    return {
      read = function(self, n)
        return f:read(n or 1024)
      end,
      write = function(self, s)
        return f:write(s) ~= nil
      end,
      seek = function(self, whence, offset)
        return f:seek(whence, offset)
      end,
      close = function()
        f:close()
      end,
    }
  end,
  exists = exists,
  remove = function(name)
    os.remove(path(name))
  end,
  rename = function(from, to)
    if exists(to) or not exists(from) then return false end
    return os.rename(path(from), path(to)) == true
  end,
}

node = {
  -- What is live, less the bytecode (NodeMCU keeps it in LFS, flash); uncollected garbage would be free on the
  -- board after its next cycle.
  heap = function()
    collectgarbage("collect")
    return math.max(0, ramBytes - math.floor(collectgarbage("count") * 1024 - bytecodeBytes))
  end,
  uptime = function()
    return (hostMs + (os.clock() - cpuAtHostMs) * 1000) * 1000
  end,
  chipid = function()
    return deviceId
  end,
}

tmr = {
  ALARM_AUTO = 1,
  create = function()
    return {
      alarm = function(self, ms, mode, callback)
        alarmCallback = callback
      end,
      unregister = function()
        alarmCallback = nil
      end,
    }
  end,
}

-- NodeMCU's interpreter on the UART: each line received runs as Lua; print writes to the UART.
local replLine = ""
local function repl(data)
  replLine = replLine .. data
  for line in replLine:gmatch("([^\r\n]*)[\r\n]") do
    local chunk, err = (loadstring or load)(line, "stdin")
    if not chunk then
      uart.write(0, "stdin: " .. err .. "\n")
    else
      local savedPrint = print
      print = function(...)
        local parts = {}
        for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
        uart.write(0, table.concat(parts, "\t") .. "\n")
      end
      local ok, message = pcall(chunk)
      print = savedPrint
      if not ok then uart.write(0, tostring(message) .. "\n") end
    end
    uart.write(0, "> ")
  end
  replLine = replLine:match("[^\r\n]*$")
end

-- NodeMCU's mqtt.Client over the host's connection. Out, one stderr line per call, strings as x<hex>:
--   morsel-mqtt C port keepalive clean will_qos will_retain host id will_topic will_message
--   morsel-mqtt S qos topic          morsel-mqtt P qos retain topic message
-- In, on stdin:  E connected|offline <ms>\n    M <#topic>:<#message> <ms>\n topic message
local unpackArgs = unpack or table.unpack
local mqttClient
if withMqtt then
  local function hex(s)
    return "x" .. s:gsub(".", function(c)
      return string.format("%02x", string.byte(c))
    end)
  end
  local function send(kind, numbers, ...)
    local fields = { "morsel-mqtt", kind, unpackArgs(numbers) }
    for _, s in ipairs({ ... }) do fields[#fields + 1] = hex(s) end
    io.stderr:write(table.concat(fields, " "), "\n")
    io.stderr:flush()
  end
  mqtt = {
    Client = function(id, keepalive, user, password, clean)
      local c = { handlers = {} }
      function c:lwt(topic, message, qos, retain)
        self.will = { topic, message, qos or 0, retain or 0 }
      end
      function c:on(event, handler)
        self.handlers[event] = handler
      end
      function c:connect(host, port, secure, onConnect, onFail)
        mqttClient, self.onConnect, self.onFail = self, onConnect, onFail
        local w = self.will or { "", "", 0, 0 }
        send("C", { port or 1883, keepalive or 60, clean or 1, w[3], w[4] }, host, id, w[1], w[2])
      end
      function c:subscribe(topic, qos)
        send("S", { qos or 0 }, topic)
      end
      function c:publish(topic, message, qos, retain)
        send("P", { qos or 0, retain or 0 }, topic, message)
      end
      return c
    end,
  }
end

-- A host event for the mqtt client, as NodeMCU calls its callbacks.
local function mqttEvent(kind, a)
  local c = mqttClient
  if not c then return end
  if kind == "M" then
    local topicBytes, messageBytes = a:match("^(%d+):(%d+)$")
    local topic = io.read(tonumber(topicBytes)) or ""
    local message = tonumber(messageBytes) > 0 and io.read(tonumber(messageBytes)) or ""
    return c.handlers.message, c, topic, message
  end
  if a == "connected" then return c.onConnect, c end
  return c.handlers.offline or c.onFail, c
end

local function fault(message)
  io.stderr:write(tostring(message):gsub("\n", " "), "\n")
  io.stderr:flush()
end

local ok, err = pcall(function()
  collectgarbage("collect")
  local before = collectgarbage("count") * 1024
  local runtime, agent = assert(loadfile(runtimePath)), assert(loadfile(agentPath))
  collectgarbage("collect")
  bytecodeBytes = collectgarbage("count") * 1024 - before
  agent().nodemcu(runtime(), { engine = engine, maxBlobBytes = flashBytes, deviceId = deviceId })
end)
if not ok then
  fault(err)
  os.exit(1)
end
io.stderr:write("morsel-board: ready\n")
io.stderr:flush()

while true do
  local header = io.read("*l")
  if not header then break end
  local kind, a, b = header:match("^(%a) (%S+) ?(%S*)$")
  local callback, data
  if kind == "D" then
    hostMs = tonumber(b)
    data = io.read(tonumber(a))
    callback = dataCallback or repl
  elseif kind == "T" then
    hostMs = tonumber(a)
    callback = alarmCallback
  end
  local args = { data }
  if kind == "M" or kind == "E" then
    hostMs = tonumber(b)
    args = { mqttEvent(kind, a) }
    callback = table.remove(args, 1)
  end
  cpuAtHostMs = os.clock()
  if callback then
    local done, message = pcall(callback, unpackArgs(args))
    if not done then fault(message) end
  end
end
