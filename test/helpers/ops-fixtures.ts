// What the op tests share (test/ops-*.test.ts, and the tensor-ops, recurrent, spatial and torch-suite tests): the
// committed fixtures of test/fixtures/ops, random inputs, float runs in the source layout, int8 models, the CLI run
// in-process, and the loops they all run: against onnxruntime, against torch's own output, and on every engine.

import { strict as assert } from 'assert';
import type { Sequential } from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as os from 'os';
import * as path from 'path';
import { encodeModel } from '../../host/blob/encode';
import { main } from '../../host/cli/main';
import { compileGraph } from '../../host/compile';
import { ENGINES, runBatchOnEngine } from '../../host/engines';
import { parseNpy } from '../../host/data/npy';
import { importModel } from '../../host/import';
import { importTfjs } from '../../host/import/tfjs';
import { fromStoredLayout, sourceShape, toStoredLayout } from '../../host/import/boundary';
import { runFloat } from '../../host/interp/float';
import { runInt8 } from '../../host/interp/int8/interpreter';
import { type Graph, numel } from '../../host/ir/graph';
import type { QModel } from '../../host/ir/qmodel';
import { planMemory } from '../../host/plan/planner';
import { calibrate } from '../../host/quantize/calibrate';
import { dequantizeOutput, quantizeGraph, quantizeInput } from '../../host/quantize/quantize';
import { Rng } from '../../host/util/rng';

export const OPS_FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'ops');

/** The fixtures' .onnx files whose names start with `prefix`, sorted. */
export const onnxFixtures = (prefix: string) =>
  fs
    .readdirSync(OPS_FIXTURES)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.onnx'))
    .sort();

/** A fixture .npy as float32 values and its shape. */
export function fixtureNpy(file: string) {
  const a = parseNpy(fs.readFileSync(path.join(OPS_FIXTURES, file)), file);
  return { shape: a.shape, data: Float32Array.from(a.data as ArrayLike<number>) };
}

/** `count` standard normal samples of a tensor of this shape, drawn from `seed`. */
export function normalSamples(shape: number[], count: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: numel(shape) }, () => rng.normal()));
}

/** A fixture's graph, its int8 model and test inputs (quantized, in the device graph's stored order). */
export interface ModelCase {
  file: string;
  graph: Graph;
  model: QModel;
  inputs: Int8Array[];
}

export const uniform = (n: number, rng: Rng) => Float32Array.from({ length: n }, () => rng.next() * 4 - 2);

export const worstDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(a, (v, k) => Math.abs(v - b[k])));

/** An in-memory TF.js Sequential model (built in a test) through Morsel's TF.js importer, weights as it holds them. */
export function importSequential(m: Sequential): Graph {
  const weights = new Map(
    m.weights.map((w) => [w.originalName, { shape: w.shape as number[], data: w.read().dataSync() as Float32Array }]),
  );
  const json = { modelTopology: m.toJSON(null, false), weightsManifest: [] };
  return importTfjs({ json, weights, name: m.name, source: `${m.name}/model.json` });
}

/** The graph's float output for `x` in the source (ONNX) layout, returned in the source layout. */
export function floatInSourceLayout(g: Graph, x: Float32Array): Float32Array {
  const y = Object.values(runFloat(g, { [g.inputs[0]]: toStoredLayout(g, g.inputs[0], x) }))[0];
  return fromStoredLayout(g, g.outputs[0], y);
}

/**
 * Each one-op fixture in `dir` (test/fixtures/ops unless given) on three uniform random inputs drawn from `seed`: Morsel's float output
 * has onnxruntime's output shape and is within 1e-5 of its values.
 */
export async function assertFloatMatchesOnnxruntime(files: string[], seed: number, dir = OPS_FIXTURES): Promise<void> {
  const rng = new Rng(seed);
  for (const f of files) {
    const g = importModel(path.join(dir, f));
    const shape = sourceShape(g, g.inputs[0]);
    const session = await ort.InferenceSession.create(path.join(dir, f));
    for (let i = 0; i < 3; i++) {
      const x = uniform(numel(shape), rng);
      const r = await session.run({ x: new ort.Tensor('float32', x, shape) });
      assert.deepEqual(sourceShape(g, g.outputs[0]), r.y.dims, `${f}: output shape`);
      const worst = worstDiff(floatInSourceLayout(g, x), r.y.data as Float32Array);
      assert.ok(worst <= 1e-5, `${f}: differs from onnxruntime by ${worst}`);
    }
  }
}

/** A device graph's int8 model calibrated on `samples` (stored layout), planned. */
export function int8Model(d: Graph, samples: Float32Array[]): QModel {
  const model = quantizeGraph(d, calibrate(d, samples));
  planMemory(model);
  return model;
}

/** `morsel ARGS` in this process (a spawned CLI spends seconds loading TF.js): exit code, stdout and stderr. */
export async function cli(...args: string[]) {
  const [out, err]: string[][] = [[], []];
  const [log, error] = [console.log, console.error];
  console.log = (line: string) => out.push(String(line));
  console.error = (line: string) => err.push(String(line));
  try {
    return { code: await main(args), out: out.join('\n'), err: err.join('\n') };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

/**
 * A torch module's fixture (NAME.onnx with NAME.input.npy and NAME.output.npy) through `morsel convert --calib` and
 * `morsel run --input` on torch's own tensor: the int8 output must be within 5% of torch's output range.
 */
export async function runWithinTorchRange(name: string, dir: string): Promise<void> {
  const input = path.join(OPS_FIXTURES, `${name}.input.npy`);
  const want = fixtureNpy(`${name}.output.npy`);
  const blob = path.join(dir, `${name}.msl`);
  const converted = await cli('convert', path.join(OPS_FIXTURES, `${name}.onnx`), '--calib', input, '-o', blob, '-q');
  assert.equal(converted.code, 0, converted.err);
  const run = await cli('run', blob, '--input', input, '--json');
  assert.equal(run.code, 0, run.err);
  const result = JSON.parse(run.out);
  assert.deepEqual(result.shape, want.shape);
  const range = Math.max(...want.data) - Math.min(...want.data);
  const worst = worstDiff(result.dequantized, want.data);
  assert.ok(worst <= 0.05 * range, `${name}: morsel run differs from torch by ${worst} (output range ${range})`);
}

/**
 * torch modules exported by tools/torch_export.py's export_json (torch_NAME.onnx beside torch_NAME.json: torch's own
 * input and float output, row-major): each converts with its own input as the only calibration sample, and its int8
 * output is within 5% of torch's output range. With `floatTolerance`, its float output must also be within that
 * fraction of the range.
 */
export function assertTorchJsonCasesWithinRange(dir: string, files: string[], floatTolerance?: number): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-torch-'));
  try {
    for (const file of files) {
      const ref = JSON.parse(fs.readFileSync(path.join(dir, file.replace('.onnx', '.json')), 'utf8'));
      const calib = path.join(tmp, 'calib.json');
      fs.writeFileSync(calib, JSON.stringify([ref.input.data]));
      const { source, model } = compileGraph(importModel(path.join(dir, file)), { calib, quiet: true });
      const x = toStoredLayout(source, source.inputs[0], Float32Array.from(ref.input.data));
      const y = fromStoredLayout(
        source,
        source.outputs[0],
        dequantizeOutput(model, runInt8(model, [quantizeInput(model, x)])[0]),
      );
      const want: number[] = ref.output.data;
      const range = Math.max(...want) - Math.min(...want);
      assert.equal(y.length, want.length, file);
      if (floatTolerance !== undefined) {
        const yf = fromStoredLayout(
          source,
          source.outputs[0],
          Object.values(runFloat(source, { [source.inputs[0]]: x }))[0],
        );
        const floatWorst = worstDiff(yf, want);
        assert.ok(floatWorst <= floatTolerance * range, `${file}: float differs from torch by ${floatWorst}`);
      }
      const worst = worstDiff(y, want);
      assert.ok(worst <= 0.05 * range, `${file}: int8 differs from torch by ${worst} (range ${range})`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** An int8 model's blob and two of its samples, for assertBitExactOnEngines; `name` labels a mismatch. */
export function engineJob(name: string, model: QModel, samples: Float32Array[]) {
  return { name, model, blob: encodeModel(model), inputs: samples.slice(0, 2).map((x) => quantizeInput(model, x)) };
}

/** Every job's outputs on every engine (one process each) equal the host int8 reference's, byte for byte. */
export async function assertBitExactOnEngines(jobs: ReturnType<typeof engineJob>[]): Promise<void> {
  const want = jobs.map((j) => j.inputs.map((x) => Array.from(runInt8(j.model, [x])[0])));
  for (const engine of ENGINES) {
    const runs = await runBatchOnEngine(engine, jobs);
    runs.forEach((r, i) =>
      assert.deepEqual(
        r.outputs.map((o) => Array.from(o)),
        want[i],
        `${jobs[i].name} on ${engine}`,
      ),
    );
  }
}
