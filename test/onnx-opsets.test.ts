// ONNX opsets 19–21 and the importer's gathers (issue 15): opset-21 graphs with what opsets 19–21 added (AveragePool
// dilations, Pad 'wrap', Resize half_pixel_symmetric, QuantizeLinear output_dtype, Gelu, axes inputs) and Gather of
// an activation with uneven, repeated or descending constant indices, Gemm (transA/transB, alpha, beta) and MatMul of
// two activations with a bias that differs by row ([M, N], [M, 1]), against onnxruntime-node in float and
// bit-exact on every engine in int8; what Morsel refuses names the attribute or type. Fixtures:
// test/fixtures/opsets/make_opset_models.py.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { importModel } from '../host/import';
import { ModelError, numel } from '../host/ir/graph';
import { toDeviceGraph } from '../host/passes';
import { Rng } from '../host/util/rng';
import {
  assertBitExactOnEngines,
  assertFloatMatchesOnnxruntime,
  engineJob,
  int8Model,
  uniform,
} from './helpers/ops-fixtures';

const FIX = path.join(__dirname, '..', '..', 'test', 'fixtures', 'opsets');
const models = (prefix: string) =>
  fs
    .readdirSync(FIX)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.onnx'))
    .sort();
const ACCEPTED = [...models('o21_'), ...models('gather_'), ...models('matmul_'), ...models('gemm_')];

/** Each refused fixture and the one line that must name what is refused. */
const REFUSED: Record<string, RegExp> = {
  bad_avgpool_dilations: /\(AveragePool\): dilations \[2,2\] are not supported/,
  bad_resize_antialias: /\(Resize\): attribute antialias is not supported/,
  bad_resize_keep_aspect: /\(Resize\): attribute keep_aspect_ratio_policy is not supported/,
  bad_quantize_block: /\(QuantizeLinear\): block_size 2 is not supported/,
  bad_quantize_int4: /\(QuantizeLinear\): quantization to int4 is not supported/,
  bad_cast_float8: /\(Cast\): Cast to float8e4m3fn is not supported/,
  bad_group_norm: /ONNX op GroupNormalization is not supported/,
  bad_int4_initializer: /tensor 'w4' is int4; supported: float/,
  bad_float16_input: /input 'x' is float16; only float32 inputs are supported/,
  bad_opset22: /opset 22 is not supported \(7–21\)/,
};

describe('ONNX opsets 19–21 and uneven gathers', function () {
  this.timeout(120000);

  it('refuses what it does not implement in one line naming the attribute, type or opset', () => {
    assert.deepEqual(
      models('bad_'),
      Object.keys(REFUSED)
        .map((k) => `${k}.onnx`)
        .sort(),
    );
    for (const [name, want] of Object.entries(REFUSED))
      assert.throws(
        () => importModel(path.join(FIX, `${name}.onnx`)),
        (e: unknown) => e instanceof ModelError && want.test(e.message) && !e.message.includes('\n'),
        name,
      );
  });

  it('every opset-21, uneven-Gather and two-activation Gemm/MatMul model matches onnxruntime-node on random inputs', async () => {
    assert.ok(ACCEPTED.length >= 21, `${ACCEPTED.length} models`);
    for (const f of ACCEPTED)
      assert.match(importModel(path.join(FIX, f)).meta?.producer ?? '', f.startsWith('o21_') ? /opset 21/ : /opset 13/);
    await assertFloatMatchesOnnxruntime(ACCEPTED, 21, FIX);
  });

  it('uneven gathers and wrap pads become strided pieces joined by CONCATENATION, Gemm/MatMul of two activations with an [M,N] bias BATCH_MATMUL + ADD; every int8 blob is bit-exact on every engine', async () => {
    const rng = new Rng(22);
    const jobs: ReturnType<typeof engineJob>[] = [];
    for (const f of ACCEPTED) {
      const d = toDeviceGraph(importModel(path.join(FIX, f)));
      const samples = Array.from({ length: 8 }, () => uniform(numel(d.tensors.get(d.inputs[0])!.shape), rng));
      const model = int8Model(d, samples);
      const opcodes = model.ops.map((op) => op.opcode);
      if (f.startsWith('gather_') || f.includes('wrap'))
        assert.ok(opcodes.includes('CONCATENATION') && opcodes.includes('GATHER_STRIDED'), `${f}: ${opcodes}`);
      if (f.startsWith('gemm_') || f.startsWith('matmul_'))
        assert.ok(opcodes.includes('BATCH_MATMUL') && opcodes.includes('ADD'), `${f}: ${opcodes}`);
      if (jobs.length % 2) model.rounding = 'single';
      jobs.push(engineJob(f, model, samples));
    }
    await assertBitExactOnEngines(jobs);
  });
});
