// TFLite export and import of Morsel's data-moving and attention ops (issue 15): GATHER_STRIDED as one GATHER of
// the flattened input with constant indices, REDUCE as MEAN/SUM/REDUCE_MAX over axis 1 of [outer, count, inner],
// BATCH_MATMUL as TFLite's BATCH_MATMUL, each with RESHAPEs around it where the shapes need them. The tensor-op
// fixtures (test/fixtures/onnx/tensor) are quantized by Morsel, exported, read back by our importer and compared
// with the original blob byte for byte; full TFLite (WebAssembly) runs every exported file. The float
// UNIDIRECTIONAL_SEQUENCE_LSTM import against torch, through a file test/helpers/tflite-lstm.ts writes.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { encodeModel } from '../host/blob/encode';
import { exportTflite, type OutOp, type OutTensor, writeTflite } from '../host/export/tflite';
import { importModel } from '../host/import';
import { readTflite } from '../host/import/tflite/reader';
import { BuiltinOperator, BuiltinOptions, builtinOperatorName, Field, TensorType } from '../host/import/tflite/schema';
import { tfliteToQModel } from '../host/import/tflite/to-qmodel';
import { runInt8 } from '../host/interp/int8/interpreter';
import { ModelError, numel, tensor } from '../host/ir/graph';
import type { QModel } from '../host/ir/qmodel';
import { toDeviceGraph } from '../host/passes';
import { planMemory } from '../host/plan/planner';
import { calibrate } from '../host/quantize/calibrate';
import { Rng } from '../host/util/rng';
import { compileGraph } from '../host/compile';
import { ENGINES, runBatchOnEngine } from '../host/engines';
import { runFloat } from '../host/interp/float';
import { dequantizeOutput, quantizeGraph, quantizeInput } from '../host/quantize/quantize';
import { tfliteToGraph } from '../host/import/tflite/to-graph';
import { lstmTflite, readTorchLstm } from './helpers/tflite-lstm';
import { cli } from './helpers/ops-fixtures';
import { loadTfliteOracle } from './helpers/tflite-oracle';
import { randomInt8Inputs } from './helpers/tflite-mlperf';

const DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'onnx', 'tensor');
const OPS = ['GATHER_STRIDED', 'REDUCE', 'BATCH_MATMUL'];

/** The tensor-op fixture quantized by Morsel in TFLite's rounding on Gaussian samples of its stored input. */
function quantized(file: string): QModel {
  const d = toDeviceGraph(importModel(path.join(DIR, file)));
  const shape = tensor(d, d.inputs[0]).shape;
  const rng = new Rng(5);
  const xs = Array.from({ length: 16 }, () => Float32Array.from({ length: numel(shape) }, () => rng.normal()));
  const model = quantizeGraph(d, calibrate(d, xs), { rounding: 'tflite' });
  planMemory(model);
  return model;
}

/**
 * Whether full TFLite (the WebAssembly build) computes the model's bytes as Morsel's 'tflite' rounding does. Not for
 * int8 SUM, nor MEAN outside H and W: that build requantizes them its own way (TFLite Micro's are integer, as
 * Morsel's), nor convolutions, which its XNNPACK delegate requantizes in float.
 */
const sameInTflite = (model: QModel) =>
  model.ops.every(
    (op) =>
      !['MEAN', 'CONV_2D', 'DEPTHWISE_CONV_2D'].includes(op.opcode) &&
      !(op.opcode === 'REDUCE' && op.options.reducer !== 2),
  );

describe('TFLite ops: GATHER_STRIDED, REDUCE and BATCH_MATMUL export and import; UNIDIRECTIONAL_SEQUENCE_LSTM import', function () {
  this.timeout(120000);
  it('every tensor-op fixture with them (no LayerNorm) round-trips .msl → .tflite → .msl to the same int8 outputs, and full TFLite runs the file', async () => {
    const oracle = await loadTfliteOracle();
    const builtins = new Set<string>();
    const exported: string[] = [];
    const bitExact = new Set<string>();
    for (const file of fs
      .readdirSync(DIR)
      .filter((f) => f.endsWith('.onnx'))
      .sort()) {
      const model = quantized(file);
      const opcodes = new Set(model.ops.map((op) => op.opcode));
      if (!OPS.some((o) => opcodes.has(o as never)) || opcodes.has('LAYER_NORM')) continue;
      const bytes = exportTflite(model);
      const tflite = readTflite(bytes, file);
      for (const op of tflite.operators) builtins.add(builtinOperatorName(op.builtinCode));
      const again = decodeModel(encodeModel(tfliteToQModel(tflite, { rounding: model.rounding })));
      for (const o of OPS)
        assert.equal(
          again.ops.filter((op) => op.opcode === o).length,
          model.ops.filter((op) => op.opcode === o).length,
          `${file}: ${o} count`,
        );
      for (const x of randomInt8Inputs(model, 4, 3)) {
        const want = runInt8(model, [x]);
        assert.deepEqual(runInt8(again, [x]), want, `${file}: re-imported outputs differ`);
        const theirs = oracle.run(bytes, [x]);
        assert.equal(theirs[0].length, want[0].length, `${file}: TFLite's output size`);
        if (sameInTflite(model)) {
          assert.deepEqual(theirs, want, `${file}: TFLite's outputs differ`);
          bitExact.add(file);
        }
      }
      exported.push(file);
    }
    console.log(
      `      exported ${exported.length} (${bitExact.size} byte for byte in full TFLite): ${exported.join(', ')}; builtins ${[...builtins].sort().join(', ')}`,
    );
    assert.equal(exported.length, 23);
    assert.equal(bitExact.size, 18);
    for (const b of ['GATHER', 'MEAN', 'SUM', 'REDUCE_MAX', 'BATCH_MATMUL', 'RESHAPE']) assert.ok(builtins.has(b), b);
  });

  it('what the int8 importer cannot run as these ops is refused naming it: uneven GATHER indices, adj_x, apart axes', () => {
    const exported = (file: string) => readTflite(exportTflite(quantized(file)), file);
    const refused = (m: ReturnType<typeof readTflite>, pattern: RegExp) =>
      assert.throws(
        () => tfliteToQModel(m, { rounding: 'tflite' }),
        (e: Error) => e instanceof ModelError && pattern.test(e.message),
      );
    const opOf = (m: ReturnType<typeof readTflite>, name: string) =>
      m.operators.find((op) => builtinOperatorName(op.builtinCode) === name)!;
    const gathered = exported('gather_channels.onnx');
    const indices = gathered.tensors[opOf(gathered, 'GATHER').inputs[1]].data!;
    new DataView(indices.buffer, indices.byteOffset).setInt32(0, 1, true);
    refused(gathered, /\(GATHER\): indices \[.*\] are not evenly spaced/);
    const attention = exported('torch_attention.onnx');
    opOf(attention, 'BATCH_MATMUL').options.adj_x = true;
    refused(attention, /\(BATCH_MATMUL\): BATCH_MATMUL with adj_x or adj_y/);
    const reduced = exported('reduce_sum_channels.onnx');
    const sum = opOf(reduced, 'SUM');
    const axes = reduced.tensors[sum.inputs[1]];
    axes.shape = [2];
    axes.data = new Uint8Array(Int32Array.from([0, 2]).buffer);
    refused(reduced, /\(SUM\): axes \[0,2\] are not adjacent/);
  });

  it("a float model with GATHER, BATCH_MATMUL, SUM and REDUCE_MAX imports and matches full TFLite's float kernels", async () => {
    const tensors: OutTensor[] = [];
    const add = (name: string, shape: number[], ints?: number[]) => {
      tensors.push({
        name,
        shape,
        type: ints ? TensorType.INT32 : TensorType.FLOAT32,
        ...(ints ? { data: new Uint8Array(Int32Array.from(ints).buffer) } : {}),
        scale: [],
        zeroPoint: [],
        quantizedDimension: 0,
      });
      return tensors.length - 1;
    };
    const [x, w] = [add('x', [1, 4, 6]), add('w', [1, 6, 5])];
    const [rows, product, sum, max] = [
      add('rows', [1, 2, 6]),
      add('mm', [1, 2, 5]),
      add('sum', [1, 2]),
      add('max', [1, 5]),
    ];
    const op = (
      builtin: number,
      inputs: number[],
      output: number,
      optionsType = 0,
      options: OutOp['options'] = [],
    ) => ({
      builtin,
      inputs,
      outputs: [output],
      optionsType,
      options,
    });
    const reducer = [[Field.ReducerOptions.keep_dims, 'bool', 0]] as OutOp['options'];
    const bytes = writeTflite(
      'float_ops',
      tensors,
      [
        op(BuiltinOperator.GATHER, [x, add('indices', [2], [1, 3])], rows, BuiltinOptions.GatherOptions, [
          [Field.GatherOptions.axis, 'i32', 1],
        ]),
        op(BuiltinOperator.BATCH_MATMUL, [rows, w], product, BuiltinOptions.BatchMatMulOptions),
        op(BuiltinOperator.SUM, [product, add('sum_axes', [1], [2])], sum, BuiltinOptions.ReducerOptions, reducer),
        op(
          BuiltinOperator.REDUCE_MAX,
          [product, add('max_axes', [1], [1])],
          max,
          BuiltinOptions.ReducerOptions,
          reducer,
        ),
      ],
      [x, w],
      [sum, max],
    );
    const graph = tfliteToGraph(readTflite(bytes, 'float_ops'));
    assert.deepEqual(
      graph.nodes.map((n) => n.op.kind),
      ['gather_strided', 'batch_matmul', 'reduce', 'reduce'],
    );
    const oracle = await loadTfliteOracle();
    const rng = new Rng(21);
    for (let k = 0; k < 3; k++) {
      const inputs = [24, 30].map((n) => Float32Array.from({ length: n }, () => rng.normal()));
      const theirs = oracle.runFloat(bytes, inputs);
      const ours = runFloat(graph, { [graph.inputs[0]]: inputs[0], [graph.inputs[1]]: inputs[1] });
      graph.outputs.forEach((name, i) => {
        const worst = Math.max(...Array.from(ours[name], (v, j) => Math.abs(v - theirs[i][j])));
        assert.ok(ours[name].length === theirs[i].length && worst <= 1e-5, `${name} differs by ${worst}`);
      });
    }
  });

  it('`morsel export --tflite` writes the attention model, and `morsel convert` reads it back to the same blob outputs', async () => {
    const model = quantized('torch_attention.onnx');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-tflite-ops-'));
    try {
      const [msl, tfl, back] = ['model.msl', 'model.tflite', 'back.msl'].map((f) => path.join(tmp, f));
      fs.writeFileSync(msl, encodeModel(model));
      const exported = await cli('export', msl, '--tflite', '-o', tfl);
      assert.equal(exported.code, 0, exported.err);
      const converted = await cli('convert', tfl, '--rounding', model.rounding, '-o', back, '-q');
      assert.equal(converted.code, 0, converted.err);
      const again = decodeModel(new Uint8Array(fs.readFileSync(back)));
      for (const x of randomInt8Inputs(model, 4, 9)) assert.deepEqual(runInt8(again, [x]), runInt8(model, [x]));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("UNIDIRECTIONAL_SEQUENCE_LSTM (float, from a torch nn.LSTM's weights, batch- and time-major) matches torch to 1e-4; int8 within 5% of torch's range, bit-exact on every engine", async () => {
    const lstm = readTorchLstm();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-tflite-lstm-'));
    try {
      const file = path.join(tmp, 'lstm.tflite');
      fs.writeFileSync(file, lstmTflite(lstm));
      const calib = path.join(tmp, 'calib.json');
      fs.writeFileSync(calib, JSON.stringify([lstm.input]));
      // Full TFLite runs the written file as TF's LSTM kernel: the test file is what TFLite expects.
      const oracle = await loadTfliteOracle();
      const [theirs] = oracle.runFloat(fs.readFileSync(file), [Float32Array.from(lstm.input)]);
      const tfliteWorst = Math.max(...Array.from(theirs, (v, i) => Math.abs(v - lstm.output[i])));
      assert.ok(
        theirs.length === lstm.output.length && tfliteWorst <= 1e-5,
        `TFLite differs from torch by ${tfliteWorst}`,
      );
      const graph = importModel(file);
      assert.deepEqual(graph, tfliteToGraph(readTflite(fs.readFileSync(file), file), 'lstm'));
      // Time-major ([steps, 1, features]) holds the same values for one sequence, in TFLite and in Morsel.
      const timeMajor = lstmTflite(lstm, true);
      assert.deepEqual(oracle.runFloat(timeMajor, [Float32Array.from(lstm.input)]), [theirs]);
      const tm = tfliteToGraph(readTflite(timeMajor, 'time-major'));
      const ytm = Object.values(runFloat(tm, { [tm.inputs[0]]: Float32Array.from(lstm.input) }))[0];
      assert.ok(Math.max(...Array.from(ytm, (v, i) => Math.abs(v - lstm.output[i]))) <= 1e-4);
      const x = Float32Array.from(lstm.input);
      const yf = Object.values(runFloat(graph, { [graph.inputs[0]]: x }))[0];
      const want = lstm.output;
      const range = Math.max(...want) - Math.min(...want);
      const floatWorst = Math.max(...Array.from(yf, (v, i) => Math.abs(v - want[i])));
      assert.equal(yf.length, want.length);
      assert.ok(floatWorst <= 1e-4, `float differs from torch by ${floatWorst}`);

      const { model } = compileGraph(graph, { calib, quiet: true });
      const xq = quantizeInput(model, x);
      const yq = runInt8(model, [xq])[0];
      const worst = Math.max(...Array.from(dequantizeOutput(model, yq), (v, i) => Math.abs(v - want[i])));
      assert.ok(worst <= 0.05 * range, `int8 differs from torch by ${worst} (range ${range})`);
      console.log(
        `      ${model.ops.length} ops; TFLite within ${tfliteWorst.toExponential(2)} of torch, Morsel's float ${floatWorst.toExponential(2)}, int8 within ${((100 * worst) / range).toFixed(2)}% of its range`,
      );
      const blob = encodeModel(model);
      for (const engine of ENGINES) {
        const [run] = await runBatchOnEngine(engine, [{ blob, inputs: [xq] }]);
        assert.deepEqual(run.outputs, [yq], engine);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('an int8 UNIDIRECTIONAL_SEQUENCE_LSTM, and what the unrolled cell does not compute, are refused naming it', () => {
    const m = readTflite(lstmTflite(readTorchLstm()), 'lstm');
    const refused = (pattern: RegExp, change: (op: (typeof m.operators)[0]) => void) => {
      const copy = readTflite(lstmTflite(readTorchLstm()), 'lstm');
      change(copy.operators[0]);
      assert.throws(
        () => tfliteToGraph(copy),
        (e: Error) => e instanceof ModelError && pattern.test(e.message),
      );
    };
    refused(/cell activation RELU is not supported/, (op) => (op.options.fused_activation_function = 1));
    refused(/cell_clip 3/, (op) => (op.options.cell_clip = 3));
    refused(/peephole weights/, (op) => (op.inputs[9] = op.inputs[1]));
    refused(/CIFG/, (op) => (op.inputs[1] = -1));
    // The same op in an int8 model goes to the int8 importer, which names it.
    m.tensors[m.operators[0].outputs[0]].type = TensorType.INT8;
    assert.throws(
      () => tfliteToQModel(m),
      /operator 0 \(UNIDIRECTIONAL_SEQUENCE_LSTM\): an int8 \(quantized\) LSTM is not supported; import the float model/,
    );
  });
});
