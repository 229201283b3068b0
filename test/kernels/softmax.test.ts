// SOFTMAX through the kernel runner: rows of 1 to 300 values, batches, input scales and betas the quantizer
// prepares (host/quantize/prepare.ts) in every rounding mode, and exp tables of arbitrary Q0.31 values.

import { strict as assert } from 'assert';
import { prepareRounding, type RoundingMode } from '../../host/quantize/fixedpoint';
import { prepareSoftmax } from '../../host/quantize/prepare';
import { Rng } from '../../host/util/rng';
import { activation, describeKernelCases, hostOutputs, type KernelCase, kernelCase } from '../helpers/kernel-runner';

const OUTPUT = { scale: 1 / 256, zeroPoint: -128 };

function softmaxCase(name: string, shape: number[], scale: number, beta: number, rounding: RoundingMode, seed: number) {
  const exp_table =
    beta > 0
      ? prepareSoftmax({ scale, zeroPoint: 0 }, beta, OUTPUT, prepareRounding(rounding)).exp_table
      : Array.from({ length: 256 }, () => new Rng(seed).int(0, 2147483647));
  return kernelCase(
    name,
    'SOFTMAX',
    { exp_table },
    [activation('x', shape, scale, 0)],
    activation('y', shape, OUTPUT.scale, OUTPUT.zeroPoint),
    { rounding, seed },
  );
}

describe('SOFTMAX golden values', () => {
  it('equal inputs share the probability evenly; a row with one value far above the rest gives it all', () => {
    const c = softmaxCase('golden', [2, 4], 0.5, 1, 'double', 1);
    const [y] = hostOutputs({ ...c, inputs: [Int8Array.from([7, 7, 7, 7, 100, -100, -100, -100])] });
    // 1/4 → 64 − 128 = −64; 1 → 256 − 128, clamped to 127; e^−100 → 0 − 128.
    assert.deepEqual([...y], [-64, -64, -64, -64, 127, -128, -128, -128]);
  });
});

describeKernelCases('SOFTMAX', () => {
  const cases: KernelCase[] = [];
  let seed = 600;
  const add = (name: string, shape: number[], scale: number, beta: number, rounding: RoundingMode = 'double') =>
    cases.push(softmaxCase(name, shape, scale, beta, rounding, seed++));
  add('1×10 logits', [1, 10], 0.1, 1);
  add('3×7, small scale', [3, 7], 0.01, 1);
  add('2×5, large scale', [2, 5], 0.9, 1);
  add('beta 2.5', [2, 6], 0.1, 2.5);
  add('one value per row', [4, 1], 0.1, 1);
  add('4-D over channels', [1, 2, 3, 12], 0.05, 1);
  add('a 300-value row', [1, 300], 0.1, 1);
  add('single rounding', [2, 9], 0.1, 1, 'single');
  add('tflite rounding', [2, 9], 0.1, 1, 'tflite');
  add('arbitrary Q0.31 exp table', [3, 8], 0.1, 0);
  return cases;
});
