// `npm run bench:mlperf [-- --sweep] [--json]`: the MLPerf Tiny yardstick. Per int8 model: flash bytes of the
// Morsel blob vs the .tflite file, arena bytes vs TFLite Micro's, MACs, and per-inference latency on the host
// reference and every device engine; then agreement figures: single rounding vs full TFLite (WebAssembly, on its
// builtin kernels and under XNNPACK) in each rounding mode, and float models' int8 top-1 vs float on random inputs.
// --sweep also runs every golden case and every layer of the seed-1 case on every engine (double rounding), and
// the random inputs against full TFLite in 'tflite' rounding (what `npm test` runs only on node; the interpreters
// run a subset there), and exits 1 on any difference.

import * as fs from 'fs';
import { decodeModel } from '../host/blob/decode';
import { compareLayers, engineLayers } from '../host/cli/layer-diff';
import { compileGraph } from '../host/compile';
import { ENGINES, runOnEngine } from '../host/engines';
import { readTfliteFile } from '../host/import/tflite';
import { compileTflite } from '../host/import/tflite/compile';
import { goldenLayersInput, readGolden } from '../host/import/tflite/golden';
import { tfliteToGraph } from '../host/import/tflite/to-graph';
import { tfliteToQModel } from '../host/import/tflite/to-qmodel';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { totalMacs } from '../host/ir/macs';
import { quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { INT8_MODELS, mlperfFile, randomInt8Inputs, TFLITE_RANDOM_INPUTS, tfliteOutputs } from '../test/helpers/tflite-mlperf';
import { loadTfliteOracle } from '../test/helpers/tflite-oracle';
import { RoundingMode } from '../host/quantize/fixedpoint';

const LATENCY_RUNS: Record<string, number> = { host: 5, node: 5 };
const SLOW_LATENCY_RUNS = 2;
const FLOAT_EVALUATION = 200;

const same = (a: Int8Array, b: Int8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
const argmax = (y: ArrayLike<number>) => Array.from(y).reduce((best, v, i, a) => (v > a[best] ? i : best), 0);

async function yardstick() {
  const rows = [];
  for (const name of INT8_MODELS) {
    const golden = readGolden(mlperfFile(`golden/${name}.golden.json`));
    const { blob } = compileTflite(mlperfFile(`${name}.tflite`));
    const model = decodeModel(blob);
    const latencyMs: Record<string, number> = {};
    const hostRuns = LATENCY_RUNS.host;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < hostRuns; i++) runInt8(model, [golden.cases[i].input]);
    latencyMs.host = Number(process.hrtime.bigint() - t0) / 1e6 / hostRuns;
    for (const engine of ENGINES) {
      const runs = LATENCY_RUNS[engine] ?? SLOW_LATENCY_RUNS;
      latencyMs[engine] = (await runOnEngine(engine, blob, golden.cases.slice(0, runs).map((c) => c.input))).totalMs / runs;
    }
    rows.push({
      model: name, blob_bytes: blob.length, tflite_bytes: fs.statSync(mlperfFile(`${name}.tflite`)).size, arena_bytes: model.arenaBytes,
      tflm_arena_bytes: golden.tflmArenaBytes, macs: totalMacs(model), latency_ms: latencyMs,
    });
  }
  return rows;
}

/** Each rounding mode end to end against full TFLite: on its builtin kernels, and on the original file (XNNPACK). */
async function roundingVsTflite() {
  const oracle = await loadTfliteOracle();
  const rows = [];
  for (const name of INT8_MODELS) {
    const model = (rounding: RoundingMode) => decodeModel(compileTflite(mlperfFile(`${name}.tflite`), { rounding }).blob);
    const [tflite, single, double] = [model('tflite'), model('single'), model('double')];
    const original = new Uint8Array(fs.readFileSync(mlperfFile(`${name}.tflite`)));
    const inputs = randomInt8Inputs(tflite, TFLITE_RANDOM_INPUTS, 7);
    const theirs = await tfliteOutputs(tflite, inputs);
    const count = { builtin_tflite: 0, builtin_single: 0, builtin_double: 0, xnnpack_tflite: 0 };
    inputs.forEach((x, i) => {
      const ours = runInt8(tflite, [x])[0];
      if (same(ours, theirs[i])) count.builtin_tflite++;
      if (same(runInt8(single, [x])[0], theirs[i])) count.builtin_single++;
      if (same(runInt8(double, [x])[0], theirs[i])) count.builtin_double++;
      if (same(ours, oracle.run(original, [x])[0])) count.xnnpack_tflite++;
    });
    rows.push({ model: name, inputs: inputs.length, ...count });
  }
  return rows;
}

/** Float models calibrated on uniform random inputs over the int8 sibling's input range; top-1 agreement on more. */
function floatAgreement() {
  const rows = [];
  for (const [name, int8] of [['kws_ref_model_float32', 'kws_ref_model'], ['pretrainedResnet', 'pretrainedResnet_quant']]) {
    const theirs = tfliteToQModel(readTfliteFile(mlperfFile(`${int8}.tflite`)));
    const q = theirs.tensors[theirs.inputs[0]];
    const [lo, hi] = [q.scale[0] * (-128 - q.zeroPoint[0]), q.scale[0] * (127 - q.zeroPoint[0])];
    const source = tfliteToGraph(readTfliteFile(mlperfFile(`${name}.tflite`)));
    const { model, blob } = compileGraph(source, { calib: `random:${lo}:${hi}`, calibCount: 100, quiet: true });
    const rng = new Rng(99);
    let ours = 0;
    let tflites = 0;
    for (let i = 0; i < FLOAT_EVALUATION; i++) {
      const x = Float32Array.from({ length: q.shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi));
      const top1 = argmax(Object.values(runFloat(source, { [source.inputs[0]]: x }))[0]);
      if (argmax(runInt8(model, [quantizeInput(model, x)])[0]) === top1) ours++;
      if (argmax(runInt8(theirs, [quantizeInput(theirs, x)])[0]) === top1) tflites++;
    }
    rows.push({ model: name, calibration: `random:${lo.toFixed(3)}:${hi.toFixed(3)} ×100`, inputs: FLOAT_EVALUATION, agree: ours, tflite_int8_agree: tflites, blob_bytes: blob.length, arena_bytes: model.arenaBytes });
  }
  return rows;
}

/** Every golden case and every layer of the seed-1 case on every engine, and 'tflite' rounding against full TFLite. */
async function sweep() {
  const failures: string[] = [];
  for (const name of INT8_MODELS) {
    const golden = readGolden(mlperfFile(`golden/${name}.golden.json`));
    const double = compileTflite(mlperfFile(`${name}.tflite`)).blob;
    const tflite = compileTflite(mlperfFile(`${name}.tflite`), { rounding: 'tflite' }).blob;
    const model = decodeModel(double);
    const byName = new Map(golden.layers.map((l) => [l.name, l.data]));
    const inputs = randomInt8Inputs(model, TFLITE_RANDOM_INPUTS, 7);
    const theirs = await tfliteOutputs(decodeModel(tflite), inputs);
    for (const engine of ENGINES) {
      const started = Date.now();
      const outputs = (await runOnEngine(engine, double, golden.cases.map((c) => c.input))).outputs;
      const casesOk = golden.cases.filter((c, i) => same(outputs[i], c.output)).length;
      const { firstDifferent } = compareLayers(model, await engineLayers(engine, model, goldenLayersInput(golden)), model.ops.map((op) => byName.get(op.name)));
      const ours = (await runOnEngine(engine, tflite, inputs)).outputs;
      const tfliteOk = inputs.filter((x, i) => same(ours[i], theirs[i])).length;
      const line = `${name} on ${engine}: golden ${casesOk}/${golden.cases.length}, layers ${firstDifferent < 0 ? 'all equal' : `first difference at ${firstDifferent}`}, ` +
        `full TFLite in 'tflite' rounding ${tfliteOk}/${inputs.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`;
      console.log(line);
      if (casesOk < golden.cases.length || firstDifferent >= 0 || tfliteOk < inputs.length) failures.push(line);
    }
  }
  return failures;
}

async function main() {
  const json = process.argv.includes('--json');
  const report = { yardstick: await yardstick(), rounding_vs_tflite: await roundingVsTflite(), float_top1: floatAgreement() };
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log('MLPerf Tiny (double rounding, as TFLite Micro)');
    for (const r of report.yardstick) {
      const lat = Object.entries(r.latency_ms).map(([e, ms]) => `${e} ${ms.toFixed(1)} ms`).join(', ');
      console.log(`  ${r.model.padEnd(24)} blob ${r.blob_bytes.toLocaleString('en-US')} B (.tflite ${r.tflite_bytes.toLocaleString('en-US')} B)  ` +
        `arena ${r.arena_bytes.toLocaleString('en-US')} B (TFLM ${r.tflm_arena_bytes.toLocaleString('en-US')} B)  ${r.macs.toLocaleString('en-US')} MACs  ${lat}`);
    }
    console.log(`Morsel vs full TFLite (WebAssembly) on ${TFLITE_RANDOM_INPUTS} random inputs: outputs identical`);
    for (const r of report.rounding_vs_tflite) {
      console.log(`  ${r.model.padEnd(24)} builtin kernels: 'tflite' rounding ${r.builtin_tflite}/${r.inputs} (single ${r.builtin_single}, double ${r.builtin_double}); ` +
        `original file under XNNPACK: 'tflite' rounding ${r.xnnpack_tflite}/${r.inputs}`);
    }
    console.log(`Float models: int8 top-1 = float top-1 on ${FLOAT_EVALUATION} uniform random inputs`);
    for (const r of report.float_top1) {
      console.log(`  ${r.model.padEnd(24)} ${r.agree}/${r.inputs} (${((100 * r.agree) / r.inputs).toFixed(1)}%; TFLite's int8 model ${r.tflite_int8_agree}/${r.inputs})  calibration ${r.calibration}  blob ${r.blob_bytes.toLocaleString('en-US')} B  arena ${r.arena_bytes.toLocaleString('en-US')} B`);
    }
  }
  if (process.argv.includes('--sweep')) {
    const failures = await sweep();
    if (failures.length) {
      console.error(`sweep: ${failures.length} engine runs differ`);
      process.exitCode = 1;
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
