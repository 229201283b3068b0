// MEAN (over H and W) and the table ops (LOGISTIC, TANH, QUANTIZE, LEAKY_RELU) through the kernel runner, with
// options the quantizer prepares (host/quantize/prepare.ts) for a range of scales and zero points, in every
// rounding mode, and tables of arbitrary values.

import { strict as assert } from 'assert';
import { prepareRounding, type RoundingMode } from '../../host/quantize/fixedpoint';
import {
  prepareLeakyRelu,
  prepareLogistic,
  prepareMean,
  prepareQuantize,
  prepareTanh,
} from '../../host/quantize/prepare';
import { Rng } from '../../host/util/rng';
import { activation, describeKernelCases, hostOutputs, type KernelCase, kernelCase } from '../helpers/kernel-runner';

interface Q {
  scale: number;
  zeroPoint: number;
}

function meanCase(name: string, shape: number[], input: Q, output: Q, rounding: RoundingMode, seed: number) {
  return kernelCase(
    name,
    'MEAN',
    prepareMean(input, output, prepareRounding(rounding)),
    [activation('x', shape, input.scale, input.zeroPoint)],
    activation('y', [shape[0], 1, 1, shape[3]], output.scale, output.zeroPoint),
    { rounding, seed },
  );
}

const LUT_OPS = ['LOGISTIC', 'TANH', 'QUANTIZE', 'LEAKY_RELU'] as const;

function lutCase(op: (typeof LUT_OPS)[number], shape: number[], input: Q, rounding: RoundingMode, seed: number) {
  const r = prepareRounding(rounding);
  const output =
    op === 'LOGISTIC' ? { scale: 1 / 256, zeroPoint: -128 } : op === 'TANH' ? { scale: 1 / 128, zeroPoint: 0 } : input;
  const options =
    op === 'LOGISTIC'
      ? prepareLogistic(input, output, r)
      : op === 'TANH'
        ? prepareTanh(input, output, r)
        : op === 'QUANTIZE'
          ? prepareQuantize(input, { scale: input.scale * 1.7, zeroPoint: 9 }, r)
          : prepareLeakyRelu(input, output, 0.1, r);
  return kernelCase(
    `${op} scale ${input.scale} zero point ${input.zeroPoint} ${rounding}`,
    op,
    options,
    [activation('x', shape, input.scale, input.zeroPoint)],
    activation('y', shape, output.scale, output.zeroPoint),
    { rounding, seed },
  );
}

describe('MEAN and table golden values', () => {
  it('MEAN of 1..4 per channel with equal scales is 2.5 → 3 (half away from zero); −2.5 → −3', () => {
    const c = meanCase('golden', [1, 2, 2, 2], { scale: 0.1, zeroPoint: 0 }, { scale: 0.1, zeroPoint: 0 }, 'double', 1);
    assert.deepEqual([...hostOutputs({ ...c, inputs: [Int8Array.from([1, -1, 2, -2, 3, -3, 4, -4])] })[0]], [3, -3]);
  });
  it('a table op reads table[x + 128]', () => {
    const table = Array.from({ length: 256 }, (_, i) => 127 - i);
    const c = kernelCase('golden', 'TANH', { table }, [activation('x', [3])], activation('y', [3]));
    assert.deepEqual([...hostOutputs({ ...c, inputs: [Int8Array.from([-128, 0, 127])] })[0]], [127, -1, -128]);
  });
});

describeKernelCases('MEAN and the table ops', () => {
  const cases: KernelCase[] = [];
  let seed = 800;
  const q = (scale: number, zeroPoint: number) => ({ scale, zeroPoint });
  for (const rounding of ['double', 'single', 'tflite'] as const) {
    cases.push(meanCase(`mean 5×5 ${rounding}`, [1, 5, 5, 3], q(0.05, 3), q(0.02, -10), rounding, seed++));
    cases.push(meanCase(`mean 1×7 ${rounding}`, [1, 1, 7, 4], q(0.1, -128), q(0.1, -128), rounding, seed++));
    cases.push(
      meanCase(`mean 4×4 into a coarser scale ${rounding}`, [1, 4, 4, 6], q(0.01, 127), q(0.5, 0), rounding, seed++),
    );
  }
  cases.push(meanCase('mean 1×1', [1, 1, 1, 5], q(0.05, 0), q(0.05, 0), 'double', seed++));
  for (const op of LUT_OPS)
    for (const [input, rounding] of [
      [q(0.05, 0), 'double'],
      [q(0.2, -128), 'single'],
      [q(0.01, 127), 'tflite'],
    ] as const)
      cases.push(lutCase(op, [2, 3, 5], input, rounding, seed++));
  const rng = new Rng(seed);
  const table = Array.from({ length: 256 }, () => rng.int(-128, 127));
  cases.push(
    kernelCase('arbitrary table', 'LOGISTIC', { table }, [activation('x', [1, 64])], activation('y', [1, 64])),
  );
  return cases;
});
