// Measures what the device runtime and a model take in a real engine, by that engine's own counter, after the
// runtime is loaded (`base`) and after Morsel.load plus one inference (`after`: the arena is written, so an
// engine that allocates typed-array storage on first write has allocated it). Every run also returns the
// inference's milliseconds and output, so the same run tells whether the engine is bit-exact.
//   lua5.1 / lua (5.3): collectgarbage("count") after a full collection, in bytes, less the runtime's bytecode
//     (NodeMCU keeps it in LFS, flash); the blob is read in place from its file through a { size, read } reader,
//     as the NodeMCU agent reads it from SPIFFS (device/agent/nodemcu.lua): only its window cache is in RAM.
//     The runtime is the model's own bundle (`morsel bundle --target lua`, what a NodeMCU board runs) when given.
//   espruino: process.memory().usage (it collects first), in variables, on a Linux build (MORSEL_ESPRUINO);
//     the runtime bundle and the blob are written to Storage first and read from there, as on an ESP32 where
//     `morsel flash --target espruino` put them (memory-mapped flash: the blob is not copied into variables).
//   jerryscript: the port's Linux runner (device/ports/jerryscript, MORSEL_JERRY_PORT), which prints the
//     heap's allocated bytes from jerry_heap_stats after a collection; the blob is an external ArrayBuffer
//     over a read-only mapping of the file, as over the flash mapping on an ESP32.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildLua, modelEntry } from '../../tools/build-device';
import { defaultLuaBundlePath, LUA_BINARIES, type LuaEngine, luaBytes } from '../engines/lua';

export interface MemoryRun {
  /** In the engine's unit: bytes, or variables for Espruino. */
  base: number;
  after: number;
  /** Espruino: bytes per variable of this build (process.memory().blocksize). */
  blocksize?: number;
  /** Milliseconds of the one inference. */
  ms: number;
  output: Int8Array;
}

export class EngineRunError extends Error {}

const luaRuntimes = new Map<string, string>();

/** The Lua runtime of `blob`'s own kernels (`morsel bundle --target lua`), built once per set of kernels. */
export function modelLuaRuntime(blob: Uint8Array): string {
  const entry = modelEntry(blob);
  let code = luaRuntimes.get(entry);
  if (code === undefined) {
    code = buildLua(entry);
    luaRuntimes.set(entry, code);
  }
  return code;
}

const es5Bundle = () => path.join(__dirname, '..', '..', 'device', 'morsel.es5.js');

function parseRun(stdout: string, stderr: string, status: number | null): MemoryRun {
  const m = /MORSEL_MEMORY (\S+) (\S+) (\S+) (\S+) ([0-9a-f]*)/.exec(stdout);
  if (!m) {
    const why = `${stdout}\n${stderr}`
      .split(/\r?\n/)
      .find((l) => /error|memory|uncaught|fail/i.test(l))
      ?.trim();
    throw new EngineRunError(why ?? `exit ${status}`);
  }
  const output = new Int8Array(Buffer.from(m[5], 'hex'));
  const blocksize = Number(m[4]);
  return { base: Number(m[1]), after: Number(m[2]), ms: Number(m[3]), output, ...(blocksize ? { blocksize } : {}) };
}

function withDir<T>(f: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-memory-'));
  try {
    return f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** runtime: the Lua runtime's code (modelLuaRuntime), else the full bundle (dist/device/morsel.lua). */
export function measureLua(engine: LuaEngine, blob: Uint8Array, input: Int8Array, runtime?: string): MemoryRun {
  return withDir((dir) => {
    let bundle = defaultLuaBundlePath();
    if (runtime !== undefined) {
      bundle = path.join(dir, 'morsel.lua');
      fs.writeFileSync(bundle, runtime);
    }
    const blobFile = path.join(dir, 'model.msl');
    fs.writeFileSync(blobFile, blob);
    const script = path.join(dir, 'measure.lua');
    fs.writeFileSync(
      script,
      `collectgarbage("collect")
local start = collectgarbage("count") * 1024
local chunk = loadfile(${luaBytes(Buffer.from(bundle))})
collectgarbage("collect")
-- The runtime's bytecode and constants: NodeMCU keeps them in flash (LFS), so they count as no RAM.
local code = collectgarbage("count") * 1024 - start
local Morsel = chunk()
collectgarbage("collect")
local base = collectgarbage("count") * 1024 - start - code
local f = io.open(${luaBytes(Buffer.from(blobFile))}, "rb")
local size = f:seek("end")
local m = Morsel.load({ size = size, read = function(self, at, n) f:seek("set", at) return f:read(n) end })
local input = ${luaBytes(Buffer.from(input.buffer, input.byteOffset, input.length))}
local t0 = os.clock()
local y = m:invoke(input)
local ms = (os.clock() - t0) * 1000
input = nil
-- Two collections: Lua 5.1 shrinks its string table and stacks at the end of one, by halves (what a board's
-- running collector does soon after the load: the load's transient strings must not count).
collectgarbage("collect")
collectgarbage("collect")
-- Before the output's hex text is built: the harness's own strings are no part of the model.
local after = collectgarbage("count") * 1024 - start - code
local hex = {}
for i = 1, #y do hex[i] = string.format("%02x", y[i] % 256) end
print("MORSEL_MEMORY " .. base .. " " .. after .. " " .. ms .. " 0 " .. table.concat(hex))
`,
    );
    const r = spawnSync(LUA_BINARIES[engine], [script], { encoding: 'utf8', timeout: 600000 });
    return parseRun(r.stdout ?? '', r.stderr ?? '', r.status);
  });
}

const ES5_DRIVER_TAIL = `
function hexOf(y) { var s = ''; for (var i = 0; i < y.length; i++) { var v = (y[i] + 256) % 256; s += (v < 16 ? '0' : '') + v.toString(16); } return s; }
function bytes(h) { var a = new Int8Array(h.length / 2); for (var i = 0; i < a.length; i++) a[i] = parseInt(h.substr(2 * i, 2), 16); return a; }`;

/** Espruino: a Linux build run in a scratch directory (its Storage is the file espruino.flash there). */
export function measureEspruino(binary: string, blob: Uint8Array, input: Int8Array): MemoryRun {
  return withDir((dir) => {
    fs.writeFileSync(path.join(dir, 'model.msl'), blob);
    fs.copyFileSync(es5Bundle().replace(/es5\.js$/, 'espruino.js'), path.join(dir, 'morsel.js'));
    // First run: copy both files into Storage in 4 KB pieces (a whole blob in RAM would not fit the pool).
    const copy = path.join(dir, 'copy.js');
    fs.writeFileSync(
      copy,
      `var S = require("Storage");
function put(file, name) {
  var size = require("fs").statSync(file).size, f = E.openFile(file, "r"), at = 0, c;
  S.erase(name);
  while ((c = f.read(4096)) !== undefined && c.length) { S.write(name, c, at, size); at += c.length; }
  f.close();
}
put("morsel.js", "morsel.js");
put("model.msl", "model.msl");
print("MORSEL_COPIED " + S.read("model.msl").length);`,
    );
    const copied = spawnSync(binary, [copy], { cwd: dir, encoding: 'utf8', input: '', timeout: 600000 });
    if (!new RegExp(`MORSEL_COPIED ${blob.length}\\b`).test(copied.stdout ?? ''))
      throw new EngineRunError(`could not write the blob to Storage: ${copied.stdout}${copied.stderr}`.trim());
    const measure = path.join(dir, 'measure.js');
    fs.writeFileSync(
      measure,
      `${ES5_DRIVER_TAIL}
var S = require("Storage"), x = bytes(${JSON.stringify(Buffer.from(input.buffer, input.byteOffset, input.length).toString('hex'))});
eval(S.read("morsel.js"));
var base = process.memory().usage;
var m = Morsel.load(new Uint8Array(E.toArrayBuffer(S.read("model.msl"))));
var t0 = getTime(), y = m.invoke(x), ms = (getTime() - t0) * 1000, h = hexOf(y);
var mem = process.memory();
print("MORSEL_MEMORY " + base + " " + mem.usage + " " + ms + " " + mem.blocksize + " " + h);`,
    );
    const r = spawnSync(binary, [measure], { cwd: dir, encoding: 'utf8', input: '', timeout: 1800000 });
    return parseRun(r.stdout ?? '', r.stderr ?? '', r.status);
  });
}

/** JerryScript: the port's Linux runner (`morsel-jerry --measure RUNTIME BLOB INPUT_HEX`); runtime: the ES5 bundle or a snapshot of it. */
export function measureJerry(runner: string, blob: Uint8Array, input: Int8Array, runtime = es5Bundle()): MemoryRun {
  return withDir((dir) => {
    const blobFile = path.join(dir, 'model.msl');
    fs.writeFileSync(blobFile, blob);
    const hex = Buffer.from(input.buffer, input.byteOffset, input.length).toString('hex');
    const r = spawnSync(runner, ['--measure', runtime, blobFile, hex], { encoding: 'utf8', timeout: 1800000 });
    return parseRun(r.stdout ?? '', r.stderr ?? '', r.status);
  });
}
