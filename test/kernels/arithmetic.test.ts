// ADD, SUB and MUL through the kernel runner: same shapes, 4-D broadcasting against a constant on either side
// (a scalar, a channel vector, a row), offsets and zero points at their ends, shifts that saturate, and bounds.

import { strict as assert } from 'assert';
import type { ArithmeticOptions, MulOptions } from '../../host/ir/qmodel';
import { numel } from '../../host/ir/shape';
import type { RoundingMode } from '../../host/quantize/fixedpoint';
import { Rng } from '../../host/util/rng';
import {
  activation,
  constant,
  describeKernelCases,
  hostOutputs,
  type KernelCase,
  kernelCase,
} from '../helpers/kernel-runner';

type Kind = 'ADD' | 'SUB' | 'MUL';

interface ArithSpec {
  shape: number[];
  /** The constant's shape (default: the input's); it broadcasts against the input. */
  other?: number[];
  /** The constant is the first operand. */
  constantFirst?: boolean;
  zeroPoint?: number;
  outputShift?: number;
  bounds?: [number, number];
  rounding?: RoundingMode;
}

function arithCase(name: string, kind: Kind, spec: ArithSpec, seed: number): KernelCase {
  const rng = new Rng(seed);
  const otherShape = spec.other ?? spec.shape;
  const rank = Math.max(spec.shape.length, otherShape.length);
  const pad = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const out = pad(spec.shape).map((n, d) => Math.max(n, pad(otherShape)[d]));
  const zp = spec.zeroPoint ?? rng.int(-30, 30);
  const x = activation('x', spec.shape, 0.05, zp);
  const c = constant(
    'c',
    otherShape,
    Array.from({ length: numel(otherShape) }, () => rng.int(-128, 127)),
  );
  const inputs = spec.constantFirst ? [c, x] : [x, c];
  const [lo, hi] = spec.bounds ?? [-128, 127];
  const mult = () => rng.int(1073741824, 2147483647);
  const outZp = rng.int(-30, 30);
  const options: ArithmeticOptions | MulOptions =
    kind === 'MUL'
      ? {
          input1_offset: -inputs[0].zeroPoint[0],
          input2_offset: -inputs[1].zeroPoint[0],
          output_offset: outZp,
          output_multiplier: mult(),
          output_shift: spec.outputShift ?? rng.int(-12, -8),
          activation_min: lo,
          activation_max: hi,
        }
      : {
          input1_offset: -inputs[0].zeroPoint[0],
          input2_offset: -inputs[1].zeroPoint[0],
          output_offset: outZp,
          left_shift: 20,
          input1_multiplier: mult(),
          input1_shift: rng.int(-3, 0),
          input2_multiplier: mult(),
          input2_shift: rng.int(-3, 0),
          output_multiplier: mult(),
          output_shift: spec.outputShift ?? rng.int(-22, -18),
          activation_min: lo,
          activation_max: hi,
        };
  // The activation must be the model's input (the runner's first input): a constant-first op lists it second.
  const c0 = kernelCase(name, kind, options as never, [x, c], activation('y', out, 0.1, outZp), {
    rounding: spec.rounding,
    seed,
  });
  if (spec.constantFirst) c0.model.ops[0].inputs.reverse();
  return c0;
}

describe('ADD / MUL golden values', () => {
  it('MUL with zero offsets and multiplier 2^30, shift 0: y = round(a·b / 2) + offset', () => {
    const c = kernelCase(
      'golden',
      'MUL',
      {
        input1_offset: 0,
        input2_offset: 0,
        output_offset: 1,
        output_multiplier: 1073741824,
        output_shift: 0,
        activation_min: -128,
        activation_max: 127,
      },
      [activation('x', [1, 4]), constant('c', [1], [3])],
      activation('y', [1, 4]),
      { values: [Int8Array.from([1, -1, 10, 100])] },
    );
    // 3/2 = 1.5 → 2; −1.5 → −1 (gemmlowp rounds half up in SRDHM); 15; 150 → 127 after + 1.
    assert.deepEqual([...hostOutputs(c)[0]], [3, 0, 16, 127]);
  });
});

describeKernelCases('ADD, SUB and MUL', () => {
  const cases: KernelCase[] = [];
  let seed = 500;
  for (const kind of ['ADD', 'SUB', 'MUL'] as const) {
    const add = (name: string, spec: ArithSpec) => cases.push(arithCase(`${kind} ${name}`, kind, spec, seed++));
    add('same shape', { shape: [1, 3, 4, 5] });
    add('a scalar constant', { shape: [1, 3, 4, 5], other: [1] });
    add('a channel vector', { shape: [1, 3, 4, 5], other: [5] });
    add('a constant first, broadcast along H', { shape: [1, 3, 4, 5], other: [1, 1, 4, 5], constantFirst: true });
    add('the input broadcast against a larger constant', { shape: [1, 1, 4, 1], other: [1, 3, 4, 2] });
    add('2-D', { shape: [3, 7], other: [3, 1] });
    add('zero point −128', { shape: [2, 6], zeroPoint: -128 });
    add('zero point 127', { shape: [2, 6], zeroPoint: 127 });
    add('saturating shift', { shape: [2, 6], outputShift: kind === 'MUL' ? -2 : -12 });
    add('bounds', { shape: [2, 6], bounds: [-5, 60] });
    add('single rounding', { shape: [2, 6], rounding: 'single' });
    add('tflite rounding', { shape: [2, 6], rounding: 'tflite' });
  }
  return cases;
});
