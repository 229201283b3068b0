// `npm run bench:mlperf [-- --sweep] [--json]`: the MLPerf Tiny yardstick. Per int8 model: flash bytes of the
// Morsel blob vs the .tflite file, arena bytes vs TFLite Micro's, MACs, and per-inference latency on the host
// reference and every device engine; then agreement figures: single rounding vs full TFLite (WebAssembly, on its
// builtin kernels and under XNNPACK) in each rounding mode, and float models' int8 top-1 vs float on random inputs.
// --sweep also runs every golden case and every layer of the seed-1 case on every engine (double rounding), and
// the random inputs against full TFLite in 'tflite' rounding (what `npm test` runs only on node; the interpreters
// run a subset there), and exits 1 on any difference.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { compareLayers, engineLayers } from '../host/cli/layer-diff';
import { ENGINES, runOnEngine } from '../host/engines';
import { compileTflite } from '../host/import/tflite/compile';
import { goldenLayersInput, readGolden } from '../host/import/tflite/golden';
import { runInt8 } from '../host/interp/int8/interpreter';
import { totalMacs } from '../host/ir/macs';
import type { QModel } from '../host/ir/qmodel';
import { sameArray } from '../host/ir/shape';
import {
  FLOAT_MODELS,
  floatTop1Agreement,
  INT8_MODELS,
  mlperfFile,
  randomInt8Inputs,
  TFLITE_RANDOM_INPUTS,
  tfliteOutputs,
} from '../test/helpers/tflite-mlperf';
import { loadTfliteOracle } from '../test/helpers/tflite-oracle';
import type { RoundingMode } from '../host/quantize/fixedpoint';

const LATENCY_RUNS: Record<string, number> = { host: 5, node: 5 };
/** Inferences per model on a locally built Espruino/JerryScript binary (minutes each for ResNet-8 there). */
const BINARY_RUNS = 1;
const BINARY_TIMEOUT_S = Number(process.env.MORSEL_BINARY_TIMEOUT_S ?? 1800);
/** JerryScript's parser rejects a string literal over 65,535 characters ("String is too long") unless built with 32-bit compressed pointers. */
const JERRY_HEX_CHUNK = 32768;
/** The exit status of JerryScript's fatal out-of-memory (JERRY_FATAL_OUT_OF_MEMORY): its heap is fixed at build time. */
const JERRY_OUT_OF_MEMORY = 10;

/** JavaScript interpreters for microcontrollers that a developer may have built for Linux; opt in by environment. */
const BINARIES = [
  { engine: 'espruino', env: 'MORSEL_ESPRUINO', example: '/path/to/espruino' },
  { engine: 'jerryscript', env: 'MORSEL_JERRY', example: '/path/to/jerry' },
] as const;
const SLOW_LATENCY_RUNS = 2;
const FLOAT_CALIBRATION = 100;
const FLOAT_EVALUATION = 500;
/** Not the test's seed (99): the figure is not tuned to the inputs `npm test` checks. */
const FLOAT_EVALUATION_SEED = 2024;

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
      latencyMs[engine] =
        (
          await runOnEngine(
            engine,
            blob,
            golden.cases.slice(0, runs).map((c) => c.input),
          )
        ).totalMs / runs;
    }
    const binaries = binaryLatency(
      model,
      blob,
      golden.cases.slice(0, BINARY_RUNS).map((c) => c.input),
    );
    rows.push({
      model: name,
      binaries,
      blob_bytes: blob.length,
      tflite_bytes: fs.statSync(mlperfFile(`${name}.tflite`)).size,
      arena_bytes: model.arenaBytes,
      tflm_arena_bytes: golden.tflmArenaBytes,
      macs: totalMacs(model),
      latency_ms: latencyMs,
    });
  }
  return rows;
}

const hex = (a: Int8Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).toString('hex');

/**
 * The ES5 bundle (global `Morsel`) with a driver that loads the blob, invokes it on each input and prints one line:
 * `MORSEL <ms per inference> <output hex>,...`. Espruino reads the blob from its file into a buffer allocated
 * before the script (one flat block); JerryScript's CLI has no file API, so there the blob is hex literals of at most
 * JERRY_HEX_CHUNK characters each, decoded into one buffer.
 */
function deviceScript(
  engine: (typeof BINARIES)[number]['engine'],
  blobFile: string,
  blobBytes: number,
  inputs: Int8Array[],
  dir: string,
): string {
  const bundle = fs.readFileSync(path.join(__dirname, '..', 'device', 'morsel.es5.js'), 'utf8');
  const load =
    engine === 'espruino'
      ? `blob.set(new Uint8Array(E.toArrayBuffer(require('fs').readFileSync(${JSON.stringify(blobFile)}))));`
      : `var HEX = ${JSON.stringify(hex(new Uint8Array(fs.readFileSync(blobFile))).match(new RegExp(`.{1,${JERRY_HEX_CHUNK}}`, 'g')))}, blob = new Uint8Array(${blobBytes});
for (var c = 0, at = 0; c < HEX.length; c++) for (var q = 0; q < HEX[c].length; q += 2) blob[at++] = parseInt(HEX[c].substr(q, 2), 16);`;
  const driver = `${bundle}
function bytes(h, T) { var a = new T(h.length / 2); for (var i = 0; i < a.length; i++) a[i] = parseInt(h.substr(2 * i, 2), 16); return a; }
function hexOf(y) { var s = ''; for (var i = 0; i < y.length; i++) { var v = (y[i] + 256) % 256; s += (v < 16 ? '0' : '') + v.toString(16); } return s; }
function now() { return typeof getTime === 'function' ? getTime() * 1000 : Date.now(); }
${load}
var XS = ${JSON.stringify(inputs.map(hex))}, out = [], m = Morsel.load(blob), xs = [];
for (var i = 0; i < XS.length; i++) xs.push(bytes(XS[i], Int8Array));
var t0 = now();
for (var j = 0; j < xs.length; j++) out.push(hexOf(m.invoke(xs[j])));
(typeof print === 'function' ? print : console.log)('MORSEL ' + (now() - t0) / xs.length + ' ' + out.join(','));
`;
  const script = path.join(dir, `${engine}.js`);
  fs.writeFileSync(script, driver);
  if (engine !== 'espruino') return script;
  const main = path.join(dir, 'espruino-main.js');
  fs.writeFileSync(
    main,
    `var blob = new Uint8Array(${blobBytes});\neval(require('fs').readFileSync(${JSON.stringify(script)}));\n`,
  );
  return main;
}

/** Latency and bit-exactness on each opted-in Espruino/JerryScript binary, or why it was not run. */
function binaryLatency(model: QModel, blob: Uint8Array, inputs: Int8Array[]): Record<string, string> {
  const lines: Record<string, string> = {};
  for (const { engine, env, example } of BINARIES) {
    const binary = process.env[env];
    if (!binary) {
      lines[engine] = `not configured (set ${env}=${example})`;
      continue;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-bench-'));
    try {
      const blobFile = path.join(dir, 'model.msl');
      fs.writeFileSync(blobFile, blob);
      const script = deviceScript(engine, blobFile, blob.length, inputs, dir);
      const run = spawnSync(binary, [script], {
        encoding: 'utf8',
        input: '',
        timeout: BINARY_TIMEOUT_S * 1000,
        maxBuffer: 1 << 26,
      });
      const result = /MORSEL (\S+) (\S*)/.exec(run.stdout ?? '');
      if (!result) {
        // The interpreter's first error line (Espruino follows it with a stack drawn in spaces and carets).
        const error = `${run.stdout}${run.stderr}`
          .split(/\r?\n/)
          .find((l) => /error|uncaught/i.test(l))
          ?.trim();
        const outOfMemory =
          engine === 'jerryscript' && run.status === JERRY_OUT_OF_MEMORY
            ? ': out of memory, rebuild with a larger --mem-heap (and --cpointer-32bit=ON above 512 KB)'
            : '';
        const why = run.error ? run.error.message : `exit ${run.status}${outOfMemory}${error ? `: ${error}` : ''}`;
        lines[engine] = `failed (${why})`;
        continue;
      }
      const outputs = result[2].split(',');
      const exact = inputs.filter((x, i) => outputs[i] === hex(runInt8(model, [x])[0])).length;
      lines[engine] = `${Number(result[1]).toFixed(0)} ms, ${exact}/${inputs.length} bit-exact`;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return lines;
}

/** Each rounding mode end to end against full TFLite: on its builtin kernels, and on the original file (XNNPACK). */
async function roundingVsTflite() {
  const oracle = await loadTfliteOracle();
  const rows = [];
  for (const name of INT8_MODELS) {
    const model = (rounding: RoundingMode) =>
      decodeModel(compileTflite(mlperfFile(`${name}.tflite`), { rounding }).blob);
    const [tflite, single, double] = [model('tflite'), model('single'), model('double')];
    const original = new Uint8Array(fs.readFileSync(mlperfFile(`${name}.tflite`)));
    const inputs = randomInt8Inputs(tflite, TFLITE_RANDOM_INPUTS, 7);
    const theirs = await tfliteOutputs(tflite, inputs);
    const count = { builtin_tflite: 0, builtin_single: 0, builtin_double: 0, xnnpack_tflite: 0 };
    inputs.forEach((x, i) => {
      const ours = runInt8(tflite, [x])[0];
      if (sameArray(ours, theirs[i])) count.builtin_tflite++;
      if (sameArray(runInt8(single, [x])[0], theirs[i])) count.builtin_single++;
      if (sameArray(runInt8(double, [x])[0], theirs[i])) count.builtin_double++;
      if (sameArray(ours, oracle.run(original, [x])[0])) count.xnnpack_tflite++;
    });
    rows.push({ model: name, inputs: inputs.length, ...count });
  }
  return rows;
}

/** Float models calibrated on uniform random inputs over the int8 sibling's input range; top-1 agreement on others. */
function floatAgreement() {
  return FLOAT_MODELS.map((m) => {
    const { calib, model, blob, agree, tfliteAgree } = floatTop1Agreement(
      m,
      FLOAT_CALIBRATION,
      FLOAT_EVALUATION,
      FLOAT_EVALUATION_SEED,
    );
    const quantization = `${m.quantization.equalize && m.quantization.equalize !== 'none' ? `${m.quantization.equalize} equalization, ` : ''}${m.quantization.observer ?? 'minmax'} ranges, ${m.quantization.weightRounding ?? 'nearest'} weights`;
    return {
      model: m.name,
      calibration: `${calib} ×${FLOAT_CALIBRATION} (seed 1), ${quantization}`,
      inputs: FLOAT_EVALUATION,
      agree,
      tflite_int8_agree: tfliteAgree,
      blob_bytes: blob.length,
      arena_bytes: model.arenaBytes,
    };
  });
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
      const outputs = (
        await runOnEngine(
          engine,
          double,
          golden.cases.map((c) => c.input),
        )
      ).outputs;
      const casesOk = golden.cases.filter((c, i) => sameArray(outputs[i], c.output)).length;
      const { firstDifferent } = compareLayers(
        model,
        await engineLayers(engine, model, goldenLayersInput(golden)),
        model.ops.map((op) => byName.get(op.name)),
      );
      const ours = (await runOnEngine(engine, tflite, inputs)).outputs;
      const tfliteOk = inputs.filter((x, i) => sameArray(ours[i], theirs[i])).length;
      const line =
        `${name} on ${engine}: golden ${casesOk}/${golden.cases.length}, layers ${firstDifferent < 0 ? 'all equal' : `first difference at ${firstDifferent}`}, ` +
        `full TFLite in 'tflite' rounding ${tfliteOk}/${inputs.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`;
      console.log(line);
      if (casesOk < golden.cases.length || firstDifferent >= 0 || tfliteOk < inputs.length) failures.push(line);
    }
  }
  return failures;
}

async function main() {
  const json = process.argv.includes('--json');
  const report = {
    yardstick: await yardstick(),
    rounding_vs_tflite: await roundingVsTflite(),
    float_top1: floatAgreement(),
  };
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log('MLPerf Tiny (double rounding, as TFLite Micro)');
    for (const r of report.yardstick) {
      const lat = Object.entries(r.latency_ms)
        .map(([e, ms]) => `${e} ${ms.toFixed(1)} ms`)
        .join(', ');
      console.log(
        `  ${r.model.padEnd(24)} blob ${r.blob_bytes.toLocaleString('en-US')} B (.tflite ${r.tflite_bytes.toLocaleString('en-US')} B)  ` +
          `arena ${r.arena_bytes.toLocaleString('en-US')} B (TFLM ${r.tflm_arena_bytes.toLocaleString('en-US')} B)  ${r.macs.toLocaleString('en-US')} MACs  ${lat}`,
      );
      for (const [engine, line] of Object.entries(r.binaries)) console.log(`  ${''.padEnd(24)} ${engine}: ${line}`);
    }
    console.log(`Morsel vs full TFLite (WebAssembly) on ${TFLITE_RANDOM_INPUTS} random inputs: outputs identical`);
    for (const r of report.rounding_vs_tflite) {
      console.log(
        `  ${r.model.padEnd(24)} builtin kernels: 'tflite' rounding ${r.builtin_tflite}/${r.inputs} (single ${r.builtin_single}, double ${r.builtin_double}); ` +
          `original file under XNNPACK: 'tflite' rounding ${r.xnnpack_tflite}/${r.inputs}`,
      );
    }
    console.log(
      `Float models: int8 top-1 = float top-1 on ${FLOAT_EVALUATION} uniform random inputs (seed ${FLOAT_EVALUATION_SEED})`,
    );
    for (const r of report.float_top1) {
      const theirs =
        r.tflite_int8_agree === undefined
          ? "TFLite's int8 model was trained separately"
          : `TFLite's int8 model ${r.tflite_int8_agree}/${r.inputs}`;
      console.log(
        `  ${r.model.padEnd(24)} ${r.agree}/${r.inputs} (${((100 * r.agree) / r.inputs).toFixed(1)}%; ${theirs})  calibration ${r.calibration}  blob ${r.blob_bytes.toLocaleString('en-US')} B  arena ${r.arena_bytes.toLocaleString('en-US')} B`,
      );
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
