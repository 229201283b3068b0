// `node dist/tools/measure-memory.js [--write] [--json]`: measures the runtime and each model's RAM on the real
// engines (host/memory/measure.ts), fits the cost model's coefficients, and prints per engine × model: loads?,
// bit-exact against the host reference?, ms per inference, memory after load, predicted vs measured.
// Engines: lua5.1 always; Espruino with MORSEL_ESPRUINO (a Linux build with the ESP32 pool, 16,383 variables;
// a model that runs out of memory there gives no sample); JerryScript with MORSEL_JERRY_PORT (the port's Linux runner, 128 KB heap).
// --write regenerates host/memory/measured.ts (an engine not configured keeps its previous measurements);
// --refit runs no engine: it refits every engine's stored measurements to the features as features.ts now
// computes them (after a change of the cost model, not of the runtime).

import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { compileTflite } from '../host/import/tflite/compile';
import { runInt8 } from '../host/interp/int8/interpreter';
import type { QModel } from '../host/ir/qmodel';
import { type EngineCost, fitCoefficients, type MeasuredEngine, modelCost, TARGETS } from '../host/memory/cost-model';
import { type Feature, type Features, memoryFeatures } from '../host/memory/features';
import {
  EngineRunError,
  type MemoryRun,
  measureEspruino,
  measureJerry,
  measureLua,
  modelLuaRuntime,
} from '../host/memory/measure';
import { MEASURED } from '../host/memory/measured';
import { mlperfFile, randomInt8Inputs } from '../test/helpers/tflite-mlperf';

const ROOT = path.join(__dirname, '..', '..');

interface Subject {
  name: string;
  blob: Uint8Array;
  model: QModel;
}

/** The zoo (with its compressed variants) and the MLPerf Tiny int8 models. */
export function memorySubjects(): Subject[] {
  const zoo = [
    'fashion_mlp',
    'fashion_cnn',
    'fashion_cnn_compressed',
    'fashion_mlp_compressed',
    'fashion_mlp_compressed/mixed',
    'fashion_mlp_compressed/deep',
    'fashion_mlp_compressed/low-rank',
    'fashion_mlp_compressed/distill',
  ].map((name) => {
    const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl')));
    return { name, blob, model: decodeModel(blob) };
  });
  const mlperf = ['kws_ref_model', 'ad01_int8', 'pretrainedResnet_quant'].map((name) => {
    const { blob, model } = compileTflite(mlperfFile(`${name}.tflite`));
    return { name, blob, model };
  });
  return [...zoo, ...mlperf];
}

/** Which features each engine pays for: the blob only where it is copied into RAM. */
export const ENGINE_FEATURES: Record<MeasuredEngine, Feature[]> = {
  espruino: ['arenaBytes', 'ops', 'channels', 'multipliers', 'tensors'],
  jerryscript: ['arenaBytes', 'ops', 'channels', 'multipliers', 'tensors'],
  'lua5.1': ['arenaBytes', 'ops', 'channels', 'multipliers', 'tensors', 'outputs'],
};

const BUILDS: Record<MeasuredEngine, string> = {
  espruino: 'Espruino 2v29 Linux build, boards/ESP32.py pool (16,383 variables, 4 KB IO buffer), Storage memory-mapped',
  jerryscript: 'JerryScript 3.0 (es.next profile, --mem-heap=128) with the Morsel port (device/ports/jerryscript)',
  'lua5.1':
    "Debian's lua5.1 (x86-64: 16-byte TValues, as on a 32-bit NodeMCU build with double numbers), each model's own runtime bundle (morsel bundle --target lua); bytecode not counted (LFS), blob read in place from its file",
};

interface Row {
  engine: MeasuredEngine;
  model: string;
  features: Features;
  run?: MemoryRun;
  error?: string;
  exact?: boolean;
}

function runners(): { engine: MeasuredEngine; run: (b: Uint8Array, x: Int8Array) => MemoryRun }[] {
  const list: { engine: MeasuredEngine; run: (b: Uint8Array, x: Int8Array) => MemoryRun }[] = [
    { engine: 'lua5.1', run: (b, x) => measureLua('lua5.1', b, x, modelLuaRuntime(b)) },
  ];
  const espruino = process.env.MORSEL_ESPRUINO;
  if (espruino) list.push({ engine: 'espruino', run: (b, x) => measureEspruino(espruino, b, x) });
  const jerry = process.env.MORSEL_JERRY_PORT;
  if (jerry) list.push({ engine: 'jerryscript', run: (b, x) => measureJerry(jerry, b, x) });
  return list;
}

/** The stored measurements with today's features, fitted again. */
function refit(): Record<MeasuredEngine, EngineCost> {
  const byName = new Map(memorySubjects().map((s) => [s.name, s]));
  const out = { ...MEASURED };
  for (const engine of Object.keys(out) as MeasuredEngine[]) {
    const cost = out[engine];
    const samples = cost.samples.map((smp) => {
      const s = byName.get(smp.model)!;
      return { ...smp, features: memoryFeatures(s.model, s.blob.length) };
    });
    const coefficients = fitCoefficients(
      samples.map((smp) => ({ features: smp.features, cost: smp.measured - cost.base })),
      ENGINE_FEATURES[engine],
    );
    out[engine] = { ...cost, coefficients, samples: cost.samples.map(({ model, measured }) => ({ model, measured })) };
    for (const smp of samples) {
      const predicted = cost.base + modelCost(out[engine], smp.features);
      console.log(
        `${engine} ${smp.model}: measured ${smp.measured}, predicted ${Math.round(predicted)} (${(100 * (predicted / smp.measured - 1)).toFixed(1)}%)`,
      );
    }
  }
  return out;
}

function writeMeasured(measured: Record<string, EngineCost>): void {
  const file = path.join(ROOT, 'host', 'memory', 'measured.ts');
  fs.writeFileSync(
    file,
    `// Generated by \`node dist/tools/measure-memory.js --write\`: measured on real engine builds; do not edit.\n\n` +
      `import type { EngineCost, MeasuredEngine } from './cost-model';\n\n` +
      `export const MEASURED: Record<MeasuredEngine, EngineCost> = ${JSON.stringify(measured, null, 2)};\n`,
  );
}

function main() {
  if (process.argv.includes('--refit')) {
    const measured = refit();
    if (process.argv.includes('--write')) writeMeasured(measured);
    return;
  }
  const write = process.argv.includes('--write');
  const json = process.argv.includes('--json');
  const subjects = memorySubjects();
  const rows: Row[] = [];
  for (const { engine, run } of runners()) {
    for (const s of subjects) {
      const input = randomInt8Inputs(s.model, 1, 1)[0];
      const row: Row = { engine, model: s.name, features: memoryFeatures(s.model, s.blob.length) };
      try {
        row.run = run(s.blob, input);
        const expected = runInt8(s.model, [input])[0];
        row.exact = Buffer.from(row.run.output.buffer).equals(
          Buffer.from(expected.buffer, expected.byteOffset, expected.length),
        );
      } catch (e) {
        if (!(e instanceof EngineRunError)) throw e;
        row.error = e.message;
      }
      rows.push(row);
      if (!json) process.stderr.write(`${engine} ${s.name}: ${row.run ? `${row.run.after}` : row.error}\n`);
    }
  }
  const measured: Record<string, EngineCost> = { ...MEASURED };
  for (const engine of new Set(rows.map((r) => r.engine))) {
    const ok = rows.filter((r) => r.engine === engine && r.run);
    if (ok.length === 0) continue;
    const bases = ok.map((r) => r.run!.base);
    const base = bases.reduce((a, b) => a + b, 0) / bases.length;
    const blocksize = ok[0].run!.blocksize;
    measured[engine] = {
      unit: engine === 'espruino' ? 'variables' : 'bytes',
      base,
      coefficients: fitCoefficients(
        ok.map((r) => ({ features: r.features, cost: r.run!.after - r.run!.base })),
        ENGINE_FEATURES[engine],
      ),
      ...(blocksize ? { blocksize } : {}),
      build: BUILDS[engine],
      command: 'node dist/tools/measure-memory.js --write (MORSEL_ESPRUINO, MORSEL_JERRY_PORT)',
      samples: ok.map((r) => ({ model: r.model, measured: r.run!.after })),
    };
  }
  const table = rows.map((r) => {
    const cost = measured[r.engine];
    const predicted = cost ? Math.round(cost.base + modelCost(cost, r.features)) : undefined;
    const target = TARGETS.find((t) => t.engine === r.engine)!;
    return {
      engine: target.name,
      model: r.model,
      loads: r.run ? 'yes' : `no (${r.error})`,
      bit_exact: r.run ? (r.exact ? 'yes' : 'NO') : '-',
      ms: r.run ? Number(r.run.ms.toFixed(1)) : null,
      memory_after_load: r.run?.after ?? null,
      predicted,
      error_pct: r.run && predicted !== undefined ? Number((100 * (predicted / r.run.after - 1)).toFixed(1)) : null,
      unit: target.unit,
    };
  });
  if (json) console.log(JSON.stringify(table, null, 2));
  else {
    console.log('| engine | model | loads | bit-exact | ms | memory after load | predicted | error |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const t of table)
      console.log(
        `| ${t.engine} | ${t.model} | ${t.loads} | ${t.bit_exact} | ${t.ms ?? '-'} | ${t.memory_after_load ?? '-'} ${t.unit} | ${t.predicted ?? '-'} | ${t.error_pct === null ? '-' : `${t.error_pct}%`} |`,
      );
  }
  if (write) writeMeasured(measured);
}

if (require.main === module) main();
