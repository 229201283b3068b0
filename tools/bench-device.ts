// `npm run bench:device [-- --json] [--engine NAME]... [--model NAME]...`: per engine and zoo model, inference
// MAC/s divided by a plain int8 dot-product loop's MAC/s measured in the same engine and run (interpreter
// overhead; target ratio ≥ 0.6); then (when QuickJS is among the engines) per zoo model the QuickJS heap beyond
// the bundle once loaded and run, and at its peak, over the arena (target: arena + 24 KB).

import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { ENGINES, evaluateInEngine, quickjsHeapForModel } from '../host/engines';
import { isLuaEngine, luaBytes } from '../host/engines/lua';
import { totalMacs } from '../host/ir/macs';
import { choose, JS_REFERENCE_LOOP, LOOP_MACS, LUA_REFERENCE_LOOP } from './reference-loop';

const ROOT = path.join(__dirname, '..', '..');
/**
 * The loop and the model are timed in alternating rounds, and each keeps its fastest round: a busy moment of a
 * shared machine then slows one round of one side rather than skewing the ratio.
 */
const ROUNDS = 5;

function benchScript(blob: Uint8Array, inputSize: number): string {
  return `
var __hex = "${Buffer.from(blob).toString('hex')}";
var __b = new Uint8Array(__hex.length / 2);
for (var __q = 0; __q < __b.length; __q++) __b[__q] = parseInt(__hex.substr(2 * __q, 2), 16);
var __m = Morsel.load(__b);
var __x = new Int8Array(${inputSize});
for (var __i = 0; __i < __x.length; __i++) __x[__i] = (__i * 37) % 256 - 128;
${JS_REFERENCE_LOOP}
function __time(f, minMs) { var n = 0, t0 = Date.now(), t; do { f(); n++; t = Date.now() - t0; } while (t < minMs); return t / n; }
function __model() { __m.invoke(__x); }
__time(__loop, 50); __time(__model, 50);
var __loopMs = 1e9, __modelMs = 1e9;
for (var __r = 0; __r < ${ROUNDS}; __r++) {
  __loopMs = Math.min(__loopMs, __time(__loop, 100));
  __modelMs = Math.min(__modelMs, __time(__model, 150));
}
var __res = 'MORSEL_RESULT ' + JSON.stringify({ loopMs: __loopMs, modelMs: __modelMs });
`;
}

/** The same measurement for the Lua engines (the reference loop as plain Lua, tables indexed from 0). */
function luaBenchScript(blob: Uint8Array, inputSize: number): string {
  return `
local m = Morsel.load(${luaBytes(blob)})
local x = {}
for i = 1, ${inputSize} do x[i] = ((i - 1) * 37) % 256 - 128 end
${LUA_REFERENCE_LOOP}
local function time(f, minMs)
  local n, t0, t = 0, os.clock(), 0
  repeat f(); n = n + 1; t = (os.clock() - t0) * 1000 until t >= minMs
  return t / n
end
local function model() m:invoke(x) end
time(loop, 50); time(model, 50)
local loopMs, modelMs = 1e9, 1e9
for _ = 1, ${ROUNDS} do
  loopMs = math.min(loopMs, time(loop, 100))
  modelMs = math.min(modelMs, time(model, 150))
end
print(string.format('MORSEL_RESULT {"loopMs":%.6f,"modelMs":%.6f}', loopMs, modelMs))
`;
}

async function main() {
  const rows = [];
  const models = choose('--model', ['fashion_mlp', 'fashion_cnn', 'fashion_lstm', 'fashion_gru'] as const);
  const engines = choose('--engine', ENGINES);
  for (const name of models) {
    const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl')));
    const model = decodeModel(blob);
    const macs = totalMacs(model);
    const inputSize = model.tensors[model.inputs[0]].shape.reduce((a, b) => a * b, 1);
    for (const engine of engines) {
      const text = await evaluateInEngine(
        engine,
        isLuaEngine(engine) ? luaBenchScript(blob, inputSize) : benchScript(blob, inputSize),
        {},
      );
      const r = JSON.parse(
        text
          .split('\n')
          .find((l) => l.startsWith('MORSEL_RESULT '))!
          .slice(14),
      );
      const macsPerS = macs / (r.modelMs / 1000);
      const loopPerS = LOOP_MACS / (r.loopMs / 1000);
      rows.push({
        engine,
        model: name,
        ms_per_inference: Number(r.modelMs.toFixed(2)),
        macs_per_s: Math.round(macsPerS),
        loop_macs_per_s: Math.round(loopPerS),
        ratio: Number((macsPerS / loopPerS).toFixed(3)),
      });
    }
  }
  const heap = [];
  for (const name of engines.includes('quickjs') ? models : []) {
    const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl')));
    const model = decodeModel(blob);
    const input = new Int8Array(model.tensors[model.inputs[0]].shape.reduce((a, b) => a * b, 1));
    const h = await quickjsHeapForModel(blob, input);
    heap.push({
      model: name,
      arena_bytes: model.arenaBytes,
      held_beyond_arena_bytes: h.heldBytes - model.arenaBytes,
      peak_beyond_arena_bytes: h.peakBytes - model.arenaBytes,
    });
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify({ speed: rows, quickjs_heap: heap }, null, 2));
  else {
    for (const r of rows)
      console.log(
        `${r.engine.padEnd(8)} ${r.model.padEnd(12)} ${r.ms_per_inference.toFixed(2).padStart(9)} ms  ${(r.macs_per_s / 1e6).toFixed(2).padStart(8)} M MAC/s  loop ${(r.loop_macs_per_s / 1e6).toFixed(2).padStart(8)} M MAC/s  ratio ${r.ratio}`,
      );
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    for (const h of heap) {
      console.log(
        `quickjs heap ${h.model.padEnd(12)} arena ${kb(h.arena_bytes)} + held ${kb(h.held_beyond_arena_bytes)}, peak ${kb(h.peak_beyond_arena_bytes)} (target ≤ 24 KB beyond the arena)`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
