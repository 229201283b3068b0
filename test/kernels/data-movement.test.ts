// The ops that move bytes without arithmetic, through the kernel runner: CONCATENATION along every axis with the
// input on either side and repeated, PAD on every axis with the zero point or another value, and RESHAPE.

import { strict as assert } from 'assert';
import { numel } from '../../host/ir/shape';
import { Rng } from '../../host/util/rng';
import {
  activation,
  constant,
  describeKernelCases,
  hostOutputs,
  type KernelCase,
  kernelCase,
} from '../helpers/kernel-runner';

const ZP = 4;
const x = (shape: number[]) => activation('x', shape, 0.05, ZP);
/** A constant quantized like the input (concatenation needs one quantization for all its inputs). */
function part(name: string, shape: number[], rng: Rng) {
  const c = constant(
    name,
    shape,
    Array.from({ length: numel(shape) }, () => rng.int(-128, 127)),
  );
  return { ...c, scale: [0.05], zeroPoint: [ZP] };
}

function concatCase(name: string, shape: number[], axis: number, sizes: (number | 'x')[], seed: number): KernelCase {
  const rng = new Rng(seed);
  const input = x(shape);
  const parts = sizes.map((n, i) => {
    if (n === 'x') return input;
    const s = [...shape];
    s[axis] = n;
    return part(`part${i}`, s, rng);
  });
  const out = [...shape];
  out[axis] = parts.reduce((sum, t) => sum + t.shape[axis], 0);
  // The runner's first input is the model input: list the input first, then order the op's inputs as given.
  const tensors = [input, ...parts.filter((t) => t !== input)];
  const c = kernelCase(name, 'CONCATENATION', { axis }, tensors, activation('y', out, 0.05, ZP), { seed });
  c.model.ops[0].inputs = parts.map((t) => tensors.indexOf(t));
  return c;
}

function padCase(name: string, shape: number[], paddings: number[], padValue: number, seed: number): KernelCase {
  const out = shape.map((n, d) => n + paddings[2 * d] + paddings[2 * d + 1]);
  return kernelCase(name, 'PAD', { paddings, pad_value: padValue }, [x(shape)], activation('y', out, 0.05, ZP), {
    seed,
  });
}

describe('data movement golden values', () => {
  it('CONCATENATION along the last axis interleaves rows; PAD surrounds the input with the pad value', () => {
    const concat = concatCase('golden', [2, 2], 1, ['x', 1], 1);
    concat.model.tensors[1].data = Int8Array.from([9, 8]);
    assert.deepEqual([...hostOutputs({ ...concat, inputs: [Int8Array.from([1, 2, 3, 4])] })[0]], [1, 2, 9, 3, 4, 8]);
    const pad = padCase('golden', [1, 2], [0, 0, 1, 2], -7, 1);
    assert.deepEqual([...hostOutputs({ ...pad, inputs: [Int8Array.from([5, 6])] })[0]], [-7, 5, 6, -7, -7]);
  });
});

describeKernelCases('CONCATENATION, PAD and RESHAPE', () => {
  const cases: KernelCase[] = [];
  let seed = 700;
  const s4 = [1, 3, 4, 2];
  for (let axis = 0; axis < 4; axis++) {
    cases.push(concatCase(`concat axis ${axis}, input first`, s4, axis, ['x', 2], seed++));
    cases.push(concatCase(`concat axis ${axis}, input last of three`, s4, axis, [1, 3, 'x'], seed++));
  }
  cases.push(concatCase('concat the input with itself, 2-D', [3, 5], 1, ['x', 'x'], seed++));
  cases.push(concatCase('concat the input between constants, 2-D axis 0', [3, 5], 0, [2, 'x', 1], seed++));
  cases.push(padCase('pad H and W with the zero point', s4, [0, 0, 1, 1, 2, 1, 0, 0], ZP, seed++));
  cases.push(padCase('pad channels with −128', s4, [0, 0, 0, 0, 0, 0, 1, 3], -128, seed++));
  cases.push(padCase('pad every axis with 127', s4, [1, 0, 0, 2, 1, 0, 2, 1], 127, seed++));
  cases.push(padCase('pad 2-D, nothing added', [3, 5], [0, 0, 0, 0], ZP, seed++));
  cases.push(padCase('pad 2-D rows', [3, 5], [2, 1, 0, 0], 0, seed++));
  cases.push(kernelCase('reshape 4-D to 2-D', 'RESHAPE', null, [x(s4)], activation('y', [1, 24], 0.05, ZP)));
  cases.push(kernelCase('reshape 2-D to 4-D', 'RESHAPE', null, [x([2, 6])], activation('y', [1, 2, 3, 2], 0.05, ZP)));
  return cases;
});
