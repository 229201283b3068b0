// MAX_POOL_2D and AVERAGE_POOL_2D through the kernel runner: windows clipped by padding on every side, strides
// larger and smaller than the window, 1×1 windows, a window as large as the input, and activation bounds.

import { strict as assert } from 'assert';
import type { Pool2DOptions } from '../../host/ir/qmodel';
import { type WindowPadding, windowPadding2D } from '../../host/ir/shape';
import { activation, describeKernelCases, hostOutputs, type KernelCase, kernelCase } from '../helpers/kernel-runner';

interface PoolSpec {
  hw: [number, number];
  channels: number;
  filter: [number, number];
  stride: [number, number];
  padding?: WindowPadding;
  bounds?: [number, number];
}

function poolCase(name: string, max: boolean, spec: PoolSpec, seed: number): KernelCase {
  const { pads, outH, outW } = windowPadding2D(spec.padding ?? 'valid', spec.hw, spec.filter, spec.stride);
  const [lo, hi] = spec.bounds ?? [-128, 127];
  const options: Pool2DOptions = {
    filter_h: spec.filter[0],
    filter_w: spec.filter[1],
    stride_h: spec.stride[0],
    stride_w: spec.stride[1],
    pad_top: pads[0],
    pad_left: pads[1],
    activation_min: lo,
    activation_max: hi,
  };
  return kernelCase(
    `${max ? 'max' : 'average'} ${name}`,
    max ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D',
    options,
    [activation('x', [1, ...spec.hw, spec.channels], 0.05, 3)],
    activation('y', [1, outH, outW, spec.channels], 0.05, 3),
    { seed },
  );
}

describe('pool golden values', () => {
  it('a 2×2 window, stride 2, SAME padding over a 3×3 input: max, and average rounding half away from zero', () => {
    const options = {
      filter_h: 2,
      filter_w: 2,
      stride_h: 2,
      stride_w: 2,
      pad_top: 0,
      pad_left: 0,
      activation_min: -128,
      activation_max: 127,
    };
    const values = [Int8Array.from([1, 2, 3, 4, 5, 6, -7, -8, -10])];
    const x = activation('x', [1, 3, 3, 1]);
    const y = activation('y', [1, 2, 2, 1]);
    const max = kernelCase('max', 'MAX_POOL_2D', options, [x], y, { values });
    const avg = kernelCase('avg', 'AVERAGE_POOL_2D', options, [x], y, { values });
    // Windows [1,2,4,5], [3,6], [−7,−8], [−10] (clipped at the bottom and right).
    assert.deepEqual([...hostOutputs(max)[0]], [5, 6, -7, -10]);
    // 12/4 = 3; 9/2 = 4.5 → 5; −15/2 = −7.5 → −8; −10.
    assert.deepEqual([...hostOutputs(avg)[0]], [3, 5, -8, -10]);
  });
});

describeKernelCases('MAX_POOL_2D and AVERAGE_POOL_2D', () => {
  const cases: KernelCase[] = [];
  let seed = 400;
  for (const max of [true, false]) {
    const add = (name: string, spec: PoolSpec) => cases.push(poolCase(name, max, spec, seed++));
    add('2×2 stride 2 VALID', { hw: [6, 6], channels: 3, filter: [2, 2], stride: [2, 2] });
    add('3×3 stride 2 SAME (clipped windows)', {
      hw: [7, 6],
      channels: 2,
      filter: [3, 3],
      stride: [2, 2],
      padding: 'same',
    });
    add('3×3 stride 1 SAME', { hw: [5, 5], channels: 4, filter: [3, 3], stride: [1, 1], padding: 'same' });
    add('2×3 stride 1×2 SAME_LOWER', {
      hw: [4, 7],
      channels: 1,
      filter: [2, 3],
      stride: [1, 2],
      padding: 'same_lower',
    });
    add('1×1 window', { hw: [3, 4], channels: 5, filter: [1, 1], stride: [1, 1] });
    add('stride larger than the window', { hw: [7, 7], channels: 2, filter: [2, 2], stride: [3, 3] });
    add('global window', { hw: [5, 4], channels: 6, filter: [5, 4], stride: [1, 1] });
    add('bounds', { hw: [4, 4], channels: 2, filter: [2, 2], stride: [1, 1], bounds: [-20, 40] });
  }
  return cases;
});
