// Runs the Lua build of the device runtime (dist/device/morsel.lua) in Debian's Lua interpreters: one process
// per batch, the blobs and inputs inlined into the driver script as string literals, results printed as
// `MORSEL_RESULT <json>` lines (one per job).

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Engine name → interpreter binary (tools/setup.sh installs them). `lua` is Lua 5.3. */
export const LUA_BINARIES = { lua: 'lua5.3', 'lua5.1': 'lua5.1', luajit: 'luajit' } as const;
export type LuaEngine = keyof typeof LUA_BINARIES;

export const isLuaEngine = (engine: string): engine is LuaEngine => Object.hasOwn(LUA_BINARIES, engine);

export const defaultLuaBundlePath = () => path.join(__dirname, '..', '..', 'device', 'morsel.lua'); // dist/host/engines → dist/device

/** A Lua string literal holding exactly these bytes (3-digit decimal escapes, so no digit can follow one). */
export function luaBytes(bytes: Uint8Array): string {
  let s = '"';
  for (const b of bytes)
    s += b >= 32 && b <= 126 && b !== 34 && b !== 92 ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`;
  return `${s}"`;
}

/** Runs `driver` after loading the bundle into `Morsel`; returns what it printed. */
export function runLuaScript(engine: LuaEngine, driver: string, bundlePath = defaultLuaBundlePath()): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-lua-'));
  const file = path.join(dir, 'run.lua');
  fs.writeFileSync(file, `local Morsel = dofile(${luaBytes(Buffer.from(bundlePath))})\n${driver}\n`);
  try {
    return execFileSync(LUA_BINARIES[engine], [file], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 600000 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const HELPERS = `
local function hex(t)
  local b = {}
  for i = 1, #t do b[i] = string.format("%02x", t[i] % 256) end
  return table.concat(b)
end
local function num(v) return string.format("%.6f", v) end
local function jsonString(s)
  return '"' .. s:gsub('[%c"\\\\]', function(c) return string.format("\\\\u%04x", c:byte()) end) .. '"'
end
`;

/** Driver: per job, loads the blob, runs every input (each `size` bytes of one string), prints one result line. */
export function luaRunDriver(jobs: { blob: Uint8Array; inputs: Int8Array[] }[]): string {
  const calls = jobs.map(({ blob, inputs }) => {
    const size = inputs.length ? inputs[0].length : 0;
    if (inputs.some((x) => x.length !== size))
      throw new Error('luaRunDriver: the inputs of one job must have one size');
    const all = Buffer.concat(inputs.map((x) => Buffer.from(x.buffer, x.byteOffset, x.length)));
    return `run(${luaBytes(blob)}, ${luaBytes(all)}, ${size}, ${inputs.length})`;
  });
  return `${HELPERS}
local function run(blob, inputs, size, count)
  local m = Morsel.load(blob)
  m.profile = true
  local outs, sum = {}, {}
  local t0 = os.clock()
  for i = 0, count - 1 do
    outs[i + 1] = '"' .. hex(m:invoke(inputs:sub(i * size + 1, (i + 1) * size))) .. '"'
    -- The mean over the inferences after the first (a warm-up), as the JavaScript driver.
    if i > 0 or count == 1 then
      for k = 1, #m.layerMs do sum[k] = (sum[k] or 0) + m.layerMs[k] / math.max(count - 1, 1) end
    end
  end
  local total = (os.clock() - t0) * 1000
  local ms = {}
  for k = 1, #m.layerMs do ms[k] = num(sum[k] or 0) end
  io.write('MORSEL_RESULT {"outputs":[', table.concat(outs, ","), '],"layerMs":[', table.concat(ms, ","), '],"totalMs":', num(total), '}\\n')
end
${calls.join('\n')}
`;
}

/** Driver: loads each blob and, if accepted, runs it on a zero input; one outcome per blob ('ok' or the error). */
export function luaFuzzDriver(blobs: Uint8Array[]): string {
  return `${HELPERS}
local out, slowest = {}, 0
local function try(blob)
  local t = os.clock()
  local ok, err = pcall(function()
    local m = Morsel.load(blob)
    local n = 1
    for k = 1, #m.inputShape do n = n * m.inputShape[k] end
    m:invoke(string.rep("\\0", n))
  end)
  out[#out + 1] = ok and '"ok"' or jsonString(tostring(err))
  slowest = math.max(slowest, (os.clock() - t) * 1000)
end
${blobs.map((b) => `try(${luaBytes(b)})`).join('\n')}
io.write('MORSEL_RESULT {"outputs":[', table.concat(out, ","), '],"layerMs":[],"totalMs":', string.format("%.3f", slowest), '}\\n')
`;
}
