// TFLite export and import of Morsel's data-moving and attention ops (issue 15): GATHER_STRIDED as one GATHER of
// the flattened input with constant indices, REDUCE as MEAN/SUM/REDUCE_MAX over axis 1 of [outer, count, inner],
// BATCH_MATMUL as TFLite's BATCH_MATMUL, each with RESHAPEs around it where the shapes need them. The tensor-op
// fixtures (test/fixtures/onnx/tensor) are quantized by Morsel, exported, read back by our importer and compared
// with the original blob byte for byte; full TFLite (WebAssembly) runs every exported file.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { encodeModel } from '../host/blob/encode';
import { exportTflite } from '../host/export/tflite';
import { importModel } from '../host/import';
import { readTflite } from '../host/import/tflite/reader';
import { builtinOperatorName } from '../host/import/tflite/schema';
import { tfliteToQModel } from '../host/import/tflite/to-qmodel';
import { runInt8 } from '../host/interp/int8/interpreter';
import { numel, tensor } from '../host/ir/graph';
import type { QModel } from '../host/ir/qmodel';
import { toDeviceGraph } from '../host/passes';
import { planMemory } from '../host/plan/planner';
import { calibrate } from '../host/quantize/calibrate';
import { quantizeGraph } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { loadTfliteOracle } from './helpers/tflite-oracle';
import { randomInt8Inputs } from './helpers/tflite-mlperf';

const DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'onnx', 'tensor');
const OPS = ['GATHER_STRIDED', 'REDUCE', 'BATCH_MATMUL'];

/** The tensor-op fixture quantized by Morsel in `rounding` on Gaussian samples of its stored input. */
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

describe('TFLite export and import of GATHER_STRIDED, REDUCE and BATCH_MATMUL', function () {
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
});
