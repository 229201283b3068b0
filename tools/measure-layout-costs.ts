// `node dist/tools/measure-layout-costs.js [--engine E]...`: measures what each weight layout costs on each engine and
// prints host/blob/layout-costs.ts (the cost model the encoder's --optimize balanced|speed uses).
//
// One FULLY_CONNECTED layer (64 rows × 256) at sparsities 0–99% is stored in each layout and timed per inference in
// the engine (the fastest of several rounds, so a busy moment of a shared machine costs one round, not the fit).
// Per layout, a least-squares fit t = perWeight·weights + perValue·stored values + fixed gives its cost; the fixed
// part (input quantization, requantization, the call) is the same for every layout and is dropped.

import { encodeModel } from '../host/blob/encode';
import { WEIGHT_LAYOUTS, type WeightLayout } from '../host/blob/weights';
import { type Engine, ENGINES, evaluateInEngine } from '../host/engines';
import { isLuaEngine, luaBytes } from '../host/engines/lua';
import type { QModel, WeightBits } from '../host/ir/qmodel';
import { Rng } from '../host/util/rng';
import { wideFcModel } from '../test/helpers/tiny-models';
import { choose } from './reference-loop';

const ROWS = 64;
const DEPTH = 256;
const SPARSITIES = [0, 0.5, 0.8, 0.9, 0.95, 0.99];

/** The layer at `sparsity` (zeros placed at random), its weights `bits` wide. */
const fcModel = (sparsity: number, bits: WeightBits): QModel =>
  wideFcModel(new Rng(Math.round(sparsity * 1000) + 1), DEPTH, ROWS, bits, sparsity);

/** Milliseconds per inference of each blob (input of `inputSize` values), in one engine process. */
export async function timeBlobs(engine: Engine, blobs: Uint8Array[], inputSize: number): Promise<number[]> {
  const script = isLuaEngine(engine)
    ? `
local x = {}
for i = 1, ${inputSize} do x[i] = ((i - 1) * 37) % 256 - 128 end
local function time(f, minMs)
  local n, t0, t = 0, os.clock(), 0
  repeat f(); n = n + 1; t = (os.clock() - t0) * 1000 until t >= minMs
  return t / n
end
${blobs
  .map(
    (b) => `do
  local m = Morsel.load(${luaBytes(b)})
  local function model() m:invoke(x) end
  time(model, 20)
  local best = 1e9
  for _ = 1, 5 do best = math.min(best, time(model, 60)) end
  print(string.format('MORSEL_RESULT %.6f', best))
end`,
  )
  .join('\n')}`
    : `
var __x = new Int8Array(${inputSize});
for (var __i = 0; __i < __x.length; __i++) __x[__i] = (__i * 37) % 256 - 128;
function __time(f, minMs) { var n = 0, t0 = Date.now(), t; do { f(); n++; t = Date.now() - t0; } while (t < minMs); return t / n; }
function __bytes(hex) { var b = new Uint8Array(hex.length / 2); for (var q = 0; q < b.length; q++) b[q] = parseInt(hex.substr(2 * q, 2), 16); return b; }
var __out = [];
${blobs
  .map(
    (b) => `(function () {
  var m = Morsel.load(__bytes("${Buffer.from(b).toString('hex')}"));
  function model() { m.invoke(__x); }
  __time(model, 20);
  var best = 1e9;
  for (var r = 0; r < 5; r++) best = Math.min(best, __time(model, 60));
  __out.push(best);
})();`,
  )
  .join('\n')}
var __res = __out.map(function (t) { return 'MORSEL_RESULT ' + t; }).join('\\n');`;
  const text = await evaluateInEngine(engine, script, {});
  return text
    .split('\n')
    .filter((l) => l.startsWith('MORSEL_RESULT '))
    .map((l) => Number(l.slice(14)));
}

/** Least squares of t ≈ a·x1 + b·x2 + c over the points. */
function leastSquares(points: { x1: number; x2: number; t: number }[]): [number, number] {
  const n = points.length;
  const m = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  const v = [0, 0, 0];
  for (const p of points) {
    const r = [p.x1, p.x2, 1];
    for (let i = 0; i < 3; i++) {
      v[i] += r[i] * p.t;
      for (let j = 0; j < 3; j++) m[3 * i + j] += r[i] * r[j];
    }
  }
  // Gaussian elimination (3×3).
  const a = [0, 1, 2].map((i) => [m[3 * i], m[3 * i + 1], m[3 * i + 2], v[i]]);
  for (let c = 0; c < 3; c++) {
    const p = a.slice(c).reduce((best, row, k) => (Math.abs(row[c]) > Math.abs(a[best][c]) ? k + c : best), c);
    [a[c], a[p]] = [a[p], a[c]];
    if (Math.abs(a[c][c]) < 1e-12) continue;
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k < 4; k++) a[r][k] -= f * a[c][k];
    }
  }
  const sol = a.map((row, i) => (Math.abs(row[i]) < 1e-12 ? 0 : row[3] / row[i]));
  return n ? [Math.max(0, sol[0]), Math.max(0, sol[1])] : [0, 0];
}

async function main(): Promise<void> {
  const engines = choose('--engine', ENGINES);
  const costs: Record<string, Record<string, Record<WeightLayout, [number, number]>>> = {};
  for (const engine of engines)
    for (const bits of [8, 4, 2] as WeightBits[]) {
      const models = SPARSITIES.map((s) => fcModel(s, bits));
      costs[engine] ??= {};
      costs[engine][bits] = {} as Record<WeightLayout, [number, number]>;
      for (const layout of WEIGHT_LAYOUTS) {
        const blobs = models.map((m) => encodeModel(m, { layout }));
        const ms = await timeBlobs(engine, blobs, DEPTH);
        const nnz = models.map((m) => (m.tensors[1].data as Int8Array).filter((w) => w !== 0).length);
        // Dense reads every weight whatever its value: its cost is per weight only.
        const points = ms.map((t, i) => ({ x1: ROWS * DEPTH, x2: layout === 'dense' ? 0 : nnz[i], t: t * 1e6 }));
        const cost: [number, number] =
          layout === 'dense'
            ? [points.reduce((a, p) => a + p.t, 0) / points.length / (ROWS * DEPTH), 0]
            : leastSquares(points);
        costs[engine][bits][layout] = cost;
        console.error(
          `${engine} ${bits}-bit ${layout}: ${ms.map((t) => t.toFixed(3)).join(' ')} ms → ${cost.map((c) => c.toFixed(2))} ns`,
        );
      }
    }
  const when = new Date().toISOString().slice(0, 16);
  console.log(`// Generated by tools/measure-layout-costs.ts (${when} UTC, load average ${require('os').loadavg()[0].toFixed(1)}): nanoseconds per
// weight position and per stored value of one FULLY_CONNECTED row walk, per engine, weight width and layout (dense:
// per weight). Only ratios between layouts of one engine matter to the encoder. Re-measure after changing the kernels.

import type { WeightLayout } from './weights';

export const LAYOUT_COSTS: Record<string, Record<number, Record<WeightLayout, readonly [perWeight: number, perValue: number]>>> =
  ${JSON.stringify(costs, (_, v) => (typeof v === 'number' ? Number(v.toFixed(3)) : v))};`);
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
