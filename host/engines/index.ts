// Runs the built device bundle inside a real engine from the host: dist/device/morsel.es5.js in node's vm,
// QuickJS (quickjs-emscripten, with a memory limit) or Duktape (Debian's `duk`); dist/device/morsel.lua in
// Lua 5.3 (`lua`), Lua 5.1 or LuaJIT (host/engines/lua.ts). One engine start per batch of inputs; outputs come
// back as hex lines.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';
import { explainDeviceError } from '../blob/verify';
import { isLuaEngine, luaFuzzDriver, luaRunDriver, runLuaScript } from './lua';

export const ENGINES = ['node', 'quickjs', 'duktape', 'lua', 'lua5.1', 'luajit'] as const;
export type Engine = (typeof ENGINES)[number];

export interface EngineRun {
  outputs: Int8Array[];
  /**
   * Milliseconds per op, the mean over the inferences after the first (a warm-up; with one input, that one's). Each
   * op is timed with the engine's clock (platform clockMs): performance.now in node, os.clock in Lua (µs), Date.now
   * in QuickJS and Duktape (whole ms: the mean over many inferences resolves below that).
   */
  layerMs: number[];
  /** Wall milliseconds for all inferences inside the engine. */
  totalMs: number;
}

export interface EngineOptions {
  /** QuickJS only: the runtime's memory limit. */
  memoryLimitBytes?: number;
  /** The bundle to run instead of dist/device/morsel.es5.js (JavaScript engines) or morsel.lua (Lua engines). */
  bundlePath?: string;
}

/** Wall-clock limit of one engine run (every engine; Lua's in lua.ts): only a runaway script reaches it. */
export const ENGINE_GUARD_MS = 600_000;

export const defaultBundlePath = () => path.join(__dirname, '..', '..', 'device', 'morsel.es5.js'); // dist/host/engines → dist/device

/**
 * Script run inside the engine after the bundle: per job, loads the blob, runs every input and adds one
 * `MORSEL_RESULT <json>` line to `__res` (so a whole batch takes one engine process, as on the Lua engines).
 */
function driver(jobs: { blob: Uint8Array; inputs: Int8Array[] }[]): string {
  const hex = (b: Uint8Array | Int8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  return `
var __bytes = function (h, T) {
  var a = new T(h.length / 2);
  for (var q = 0; q < a.length; q++) a[q] = parseInt(h.substr(2 * q, 2), 16);
  return a;
};
var __blobs = ${JSON.stringify(jobs.map((j) => hex(j.blob)))};
var __inputs = ${JSON.stringify(jobs.map((j) => j.inputs.map(hex)))};
var __lines = [];
for (var __k = 0; __k < __blobs.length; __k++) {
  var __m = Morsel.load(__bytes(__blobs[__k], Uint8Array));
  __blobs[__k] = null;
  __m.profile = true;
  var __out = [], __t0 = Date.now(), __n = __inputs[__k].length, __sum = [];
  for (var __i = 0; __i < __n; __i++) {
    var __y = __m.invoke(__bytes(__inputs[__k][__i], Int8Array));
    for (var __l = 0; __l < __m.layerMs.length; __l++)
      if (__i > 0 || __n === 1) __sum[__l] = (__sum[__l] || 0) + __m.layerMs[__l] / (__n > 1 ? __n - 1 : 1);
    var __h = '';
    for (var __j = 0; __j < __y.length; __j++) { var __v = __y[__j] & 255; __h += (__v < 16 ? '0' : '') + __v.toString(16); }
    __out.push(__h);
  }
  __lines.push('MORSEL_RESULT ' + JSON.stringify({ outputs: __out, layerMs: __sum, totalMs: Date.now() - __t0 }));
}
var __res = __lines.join('\\n');
`;
}

function parse(text: string): EngineRun {
  const line = text.split('\n').find((l) => l.startsWith('MORSEL_RESULT '));
  if (!line) throw new Error(`engine printed no result:\n${text.slice(0, 2000)}`);
  const r = JSON.parse(line.slice('MORSEL_RESULT '.length));
  return {
    outputs: r.outputs.map((h: string) => new Int8Array(Buffer.from(h, 'hex'))),
    layerMs: r.layerMs,
    totalMs: r.totalMs,
  };
}

/** Script that loads each candidate blob and, if accepted, runs it on a zero input; reports each outcome. */
function fuzzDriver(blobs: Uint8Array[]): string {
  return `
var __blobs = ${JSON.stringify(blobs.map((b) => Buffer.from(b).toString('hex')))};
var __out = [], __slowest = 0;
for (var __i = 0; __i < __blobs.length; __i++) {
  var __h = __blobs[__i], __b = new Uint8Array(__h.length / 2);
  for (var __j = 0; __j < __b.length; __j++) __b[__j] = parseInt(__h.substr(2 * __j, 2), 16);
  var __t = Date.now();
  try {
    var __m = Morsel.load(__b);
    var __n = 1;
    for (var __k = 0; __k < __m.inputShape.length; __k++) __n *= __m.inputShape[__k];
    __m.invoke(new Int8Array(__n));
    __out.push('ok');
  } catch (__e) {
    __out.push(String(__e && __e.message));
  }
  __slowest = Math.max(__slowest, Date.now() - __t);
}
var __res = 'MORSEL_RESULT ' + JSON.stringify({ outputs: __out, layerMs: [], totalMs: __slowest });
`;
}

/** Loads and runs every blob in the engine: per blob 'ok' or the error message, and the slowest blob's ms. */
export async function fuzzReport(
  engine: Engine,
  blobs: Uint8Array[],
  opts: EngineOptions = {},
): Promise<{ outcomes: string[]; slowestMs: number }> {
  const text = await evaluateInEngine(engine, isLuaEngine(engine) ? luaFuzzDriver(blobs) : fuzzDriver(blobs), opts);
  const line = text.split('\n').find((l) => l.startsWith('MORSEL_RESULT '))!;
  const r = JSON.parse(line.slice('MORSEL_RESULT '.length));
  return { outcomes: (r.outputs as string[]).map(explainDeviceError), slowestMs: r.totalMs };
}

/** Loads every blob in the engine: 'ok' when it loaded and ran, else the error message. */
export async function fuzzOnEngine(engine: Engine, blobs: Uint8Array[], opts: EngineOptions = {}): Promise<string[]> {
  return (await fuzzReport(engine, blobs, opts)).outcomes;
}

export async function runOnEngine(
  engine: Engine,
  blob: Uint8Array,
  inputs: Int8Array[],
  opts: EngineOptions = {},
): Promise<EngineRun> {
  return (await runBatchOnEngine(engine, [{ blob, inputs }], opts))[0];
}

/** Runs several models, each on its inputs, all in one engine process. */
export async function runBatchOnEngine(
  engine: Engine,
  jobs: { blob: Uint8Array; inputs: Int8Array[] }[],
  opts: EngineOptions = {},
): Promise<EngineRun[]> {
  const script = isLuaEngine(engine) ? luaRunDriver(jobs) : driver(jobs);
  const lines = (await evaluateInEngine(engine, script, opts))
    .split('\n')
    .filter((l) => l.startsWith('MORSEL_RESULT '));
  if (lines.length !== jobs.length)
    throw new Error(`${engine} printed ${lines.length} results for ${jobs.length} models`);
  return lines.map(parse);
}

/**
 * Evaluates the bundle followed by a driver script: for JavaScript engines one that leaves its report in
 * `__res`, for Lua engines one that prints it (the bundle's table is the local `Morsel`). Returns the report.
 */
export async function evaluateInEngine(engine: Engine, driverScript: string, opts: EngineOptions): Promise<string> {
  try {
    return await evaluate(engine, driverScript, opts);
  } catch (e) {
    // A refusal from the bundle is numbered (tools/device-messages.ts): say it in words.
    if (e instanceof Error) e.message = explainDeviceError(e.message);
    throw e;
  }
}

async function evaluate(engine: Engine, driverScript: string, opts: EngineOptions): Promise<string> {
  if (isLuaEngine(engine)) return runLuaScript(engine, driverScript, opts.bundlePath);
  const bundle = fs.readFileSync(opts.bundlePath ?? defaultBundlePath(), 'utf8');
  const script = `${bundle}\n${driverScript}`;
  if (engine === 'node') {
    const ctx = vm.createContext({ performance });
    // A guard against a runaway script, not a speed bar: wall time, so as long as Lua's (a 2,000-blob fuzz run
    // that takes 10 s idle passed 120 s at load 20).
    return String(vm.runInContext(`${script}\n__res`, ctx, { timeout: ENGINE_GUARD_MS }));
  }
  if (engine === 'duktape') {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-duk-')), 'run.js');
    fs.writeFileSync(file, `${script}\nprint(__res);\n`);
    try {
      return execFileSync('duk', [file], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: ENGINE_GUARD_MS });
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  }
  const { getQuickJS } = await import('quickjs-emscripten');
  const qjs = await getQuickJS();
  const rt = qjs.newRuntime();
  if (opts.memoryLimitBytes) rt.setMemoryLimit(opts.memoryLimitBytes);
  const ctx = rt.newContext();
  try {
    const r = ctx.evalCode(`${script}\n__res`);
    if (r.error) {
      const err = ctx.dump(r.error);
      r.error.dispose();
      throw new Error(`QuickJS: ${JSON.stringify(err)}`);
    }
    const text = ctx.getString(r.value);
    r.value.dispose();
    return text;
  } finally {
    ctx.dispose();
    rt.dispose();
  }
}

export interface QuickjsHeap {
  /** memory_used_size once the bundle is evaluated and the blob and input bytes are in the heap. */
  baseBytes: number;
  /** Growth over base after Morsel.load(blob) and one invoke(input): what the loaded model holds. */
  heldBytes: number;
  /** Largest growth over base seen meanwhile: sampled at every Array push (dense during load, where temporaries
   *  live) and by QuickJS's interrupt handler (during invoke), so a close lower bound of the true peak. */
  peakBytes: number;
}

/**
 * The QuickJS heap a model needs beyond the bundle itself, as JS_ComputeMemoryUsage's memory_used_size (objects,
 * properties, shapes, arrays, array buffers, strings, bytecode). A memory limit cannot measure it in this build:
 * quickjs-emscripten's allocator has no malloc_usable_size, so its malloc accounting counts 8 bytes per block.
 */
export async function quickjsHeapForModel(
  blob: Uint8Array,
  input: Int8Array,
  bundlePath = defaultBundlePath(),
): Promise<QuickjsHeap> {
  const { getQuickJS } = await import('quickjs-emscripten');
  const ctx = (await getQuickJS()).newContext();
  const rt = ctx.runtime;
  const used = (): number => {
    const h = rt.computeMemoryUsage();
    const bytes: number = ctx.dump(h).memory_used_size;
    h.dispose();
    return bytes;
  };
  const evalOrThrow = (code: string) => {
    const r = ctx.evalCode(code);
    if (r.error) {
      const err = ctx.dump(r.error);
      r.error.dispose();
      throw new Error(`QuickJS: ${JSON.stringify(err)}`);
    }
    r.value.dispose();
  };
  try {
    evalOrThrow(fs.readFileSync(bundlePath, 'utf8'));
    for (const [name, bytes] of [
      ['__blobBytes', blob],
      ['__inputBytes', input],
    ] as const) {
      const h = ctx.newArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      ctx.setProp(ctx.global, name, h);
      h.dispose();
    }
    let peak = 0;
    const sample = ctx.newFunction('__sample', () => {
      peak = Math.max(peak, used());
    });
    ctx.setProp(ctx.global, '__sample', sample);
    sample.dispose();
    // Every device push has one argument: this wrapper allocates nothing beyond the call itself.
    evalOrThrow(`var __blob = new Uint8Array(__blobBytes), __x = new Int8Array(__inputBytes), __m = null, __push = Array.prototype.push;
      Array.prototype.push = function (v) { __sample(); return __push.call(this, v); }; 0`);
    const baseBytes = used();
    peak = baseBytes;
    rt.setInterruptHandler(() => {
      peak = Math.max(peak, used());
      return false;
    });
    evalOrThrow('__m = Morsel.load(__blob); __m.invoke(__x); Array.prototype.push = __push; 0');
    rt.removeInterruptHandler();
    const held = used();
    return { baseBytes, heldBytes: held - baseBytes, peakBytes: Math.max(peak, held) - baseBytes };
  } finally {
    ctx.dispose();
  }
}
