// `npm run bench:instructions [-- --json] [--engine NAME]... [--model NAME]...`: for the interpreter engines, the
// x86 instructions per MAC of each zoo model's inference and of bench:device's plain int8 dot-product loop (the
// same code), counted by valgrind's callgrind (Debian `valgrind`), and their ratio (loop per MAC ÷ model per MAC;
// bench:device's target is 0.6 in time). Counts are deterministic where timings on a shared machine are not,
// which makes them the guide for the interpreters' kernels; they do not see cache or branch costs, so time ratios
// run lower.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { defaultBundlePath } from '../host/engines';
import { defaultLuaBundlePath, LUA_BINARIES, luaBytes } from '../host/engines/lua';
import { totalMacs } from '../host/ir/macs';
import { choose, JS_REFERENCE_LOOP, LOOP_MACS, LUA_REFERENCE_LOOP } from './reference-loop';

const ROOT = path.join(__dirname, '..', '..');
export const INSTRUCTION_ENGINES = ['duktape', 'lua', 'lua5.1'] as const;
const ENGINES = INSTRUCTION_ENGINES;
type Engine = (typeof ENGINES)[number];
const MODELS = ['fashion_mlp', 'fashion_cnn'] as const;

/** A script that loads the model, runs it once, then `count` more inferences. */
function modelScript(engine: Engine, blob: Uint8Array, inputSize: number, count: number): string {
  if (engine === 'duktape') {
    return `${fs.readFileSync(defaultBundlePath(), 'utf8')}
var hex = "${Buffer.from(blob).toString('hex')}", b = new Uint8Array(hex.length / 2), i;
for (i = 0; i < b.length; i++) b[i] = parseInt(hex.substr(2 * i, 2), 16);
var m = Morsel.load(b), x = new Int8Array(${inputSize});
for (i = 0; i < x.length; i++) x[i] = (i * 37) % 256 - 128;
for (i = 0; i <= ${count}; i++) m.invoke(x);
`;
  }
  return `local Morsel = dofile(${luaBytes(Buffer.from(defaultLuaBundlePath()))})
local m = Morsel.load(${luaBytes(blob)})
local x = {}
for i = 1, ${inputSize} do x[i] = ((i - 1) * 37) % 256 - 128 end
for _ = 0, ${count} do m:invoke(x) end
`;
}

/**
 * The reference loop run `count` times, alone: loading a blob costs millions of instructions that vary from run
 * to run (the engines seed their string hashing), which would blur a loop's count.
 */
function loopScript(engine: Engine, count: number): string {
  if (engine === 'duktape') return `${JS_REFERENCE_LOOP}\nfor (var i = 0; i < ${count}; i++) __loop();\n`;
  return `${LUA_REFERENCE_LOOP}\nfor _ = 1, ${count} do loop() end\n`;
}

/** Instructions callgrind counts for the whole run of `source` in the engine's interpreter. */
function instructions(engine: Engine, source: string): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-instr-'));
  const file = path.join(dir, engine === 'duktape' ? 'run.js' : 'run.lua');
  fs.writeFileSync(file, source);
  try {
    const binary = engine === 'duktape' ? 'duk' : LUA_BINARIES[engine];
    const run = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', binary, file], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('bench:instructions needs valgrind (Debian: apt-get install valgrind)');
    const m = /Collected : (\d+)/.exec(run.stderr ?? '');
    if (run.status !== 0 || !m)
      throw new Error(`${engine} under callgrind failed (status ${run.status}): ${(run.stderr ?? '').slice(-500)}`);
    return Number(m[1]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Instructions per inference of `blob` (input of `inputSize` values): `count` inferences less none, divided. */
export function instructionsPerInference(engine: Engine, blob: Uint8Array, inputSize: number, count: number): number {
  return (
    (instructions(engine, modelScript(engine, blob, inputSize, count)) -
      instructions(engine, modelScript(engine, blob, inputSize, 0))) /
    count
  );
}

function main() {
  const rows = [];
  for (const name of choose('--model', MODELS)) {
    const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl')));
    const model = decodeModel(blob);
    const macs = totalMacs(model);
    const inputSize = model.tensors[model.inputs[0]].shape.reduce((a, b) => a * b, 1);
    for (const engine of choose('--engine', ENGINES)) {
      // The difference of two runs leaves out loading and setup, whose own count varies by millions: enough
      // inferences (2 M MACs) keep that within about 1% of a model's count.
      const count = Math.ceil(2e6 / macs);
      const modelPerMac = instructionsPerInference(engine, blob, inputSize, count) / macs;
      const loopPerMac =
        (instructions(engine, loopScript(engine, 10)) - instructions(engine, loopScript(engine, 0))) / 10 / LOOP_MACS;
      rows.push({
        engine,
        model: name,
        model_instructions_per_mac: Math.round(modelPerMac),
        loop_instructions_per_mac: Math.round(loopPerMac),
        ratio: Number((loopPerMac / modelPerMac).toFixed(3)),
      });
    }
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
  else
    for (const r of rows)
      console.log(
        `${r.engine.padEnd(8)} ${r.model.padEnd(12)} ${String(r.model_instructions_per_mac).padStart(6)} instructions/MAC  loop ${String(r.loop_instructions_per_mac).padStart(6)}  ratio ${r.ratio}`,
      );
}

if (require.main === module) main();
