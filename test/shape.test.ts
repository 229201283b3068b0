// host/ir/shape.ts: the one padding/output-size helper every importer and the compression tools use.

import { strict as assert } from 'assert';
import { elementsPerChannel, numel, windowAxis } from '../host/ir/shape';

describe('shape helpers', () => {
  it('windowAxis: VALID keeps the windows inside the input; SAME has ceil(in/stride) windows centred as TFLite/ONNX', () => {
    for (let inSize = 1; inSize <= 12; inSize++)
      for (let filter = 1; filter <= 5; filter++)
        for (let stride = 1; stride <= 3; stride++)
          for (let dilation = 1; dilation <= 2; dilation++) {
            const span = (filter - 1) * dilation + 1;
            // VALID: every start position whose whole (dilated) window lies inside the input.
            let inside = 0;
            for (let start = 0; start + span <= inSize; start += stride) inside++;
            const valid = windowAxis('valid', inSize, filter, stride, dilation);
            if (span <= inSize) assert.deepEqual(valid, { out: inside, before: 0, after: 0 });
            // SAME: ceil(in/stride) windows; the padding makes the last one end at the padded input's end, the odd
            // cell after (SAME, SAME_UPPER) or before (SAME_LOWER).
            for (const mode of ['same', 'same_lower'] as const) {
              const { out, before, after } = windowAxis(mode, inSize, filter, stride, dilation);
              assert.equal(out, Math.ceil(inSize / stride));
              const total = before + after;
              assert.equal(total, Math.max(0, (out - 1) * stride + span - inSize));
              assert.equal(mode === 'same' ? before : after, Math.floor(total / 2));
            }
          }
  });

  it('numel and elementsPerChannel', () => {
    assert.equal(numel([]), 1);
    assert.equal(numel([2, 3, 4]), 24);
    assert.equal(numel([2, 0, 4]), 0);
    // Conv weights [out, kh, kw, in]: channel axis 0 has kh·kw·in elements per channel; depthwise [1, kh, kw, c]: 1.
    assert.equal(elementsPerChannel([8, 3, 3, 4], 0), 36);
    assert.equal(elementsPerChannel([1, 3, 3, 16], 3), 1);
  });
});
