// A SeqModel through the real compiler (TF.js importer → passes → calibrate → quantizer → planner → blob
// encoder), for exact blobs, arenas and the int8 reference interpreter's accuracy. Layers below 8 bits get
// symmetric per-channel weight scales max|w|/(2^(b−1)−1) (the fake quantizer's grid, so a baked kernel maps to
// exactly its levels), and the blob packs them at b bits; zeros make the encoder pick a sparse layout when smaller.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeModel } from '../blob/encode';
import { type Compiled, compileGraph } from '../compile';
import { type Graph, ModelError, tensor } from '../ir/graph';
import type { WeightBits } from '../ir/qmodel';
import { importTfjs } from '../import/tfjs';
import { runInt8 } from '../interp/int8/interpreter';
import { toDeviceGraph } from '../passes';
import { channelMaxAbs, quantizeInput } from '../quantize/quantize';
import { Progress } from '../util/progress';
import type { LabelledImages } from './batches';
import { argmaxRows } from './evaluate';
import { saveLayersModel } from './layers-io';
import type { SeqModel } from './seq-model';

export interface CompileSeqOptions {
  /** Calibration data spec for loadSamples (default fashion-mnist:train). */
  calib?: string;
  calibCount?: number;
  /** Weight bits by layer name (8 where absent). */
  bits?: Record<string, WeightBits>;
}

/** Sets b-bit symmetric per-channel quantization on the weights of the layers in `bits` below 8. */
function quantizeWeightsTo(g: Graph, bits: Record<string, WeightBits>): void {
  for (const [name, b] of Object.entries(bits)) {
    if (b === 8) continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node || (node.op.kind !== 'dense' && node.op.kind !== 'conv2d' && node.op.kind !== 'depthwise_conv2d'))
      throw new ModelError(
        `${b}-bit weights for '${name}': the compiled model has no dense or convolution node of that name`,
      );
    const wt = tensor(g, node.op.inputs[1]);
    const w = wt.data as Float32Array;
    const axis = node.op.kind === 'depthwise_conv2d' ? wt.shape.length - 1 : 0;
    const channels = wt.shape[axis];
    const inner = wt.shape.slice(axis + 1).reduce((a, c) => a * c, 1);
    const qmax = 2 ** (b - 1) - 1;
    wt.quant = {
      scale: Array.from(channelMaxAbs(w, channels, inner), (m) => (m > 0 ? m / qmax : 1)),
      zeroPoint: new Array(channels).fill(0),
      axis,
    };
  }
}

export function compileSeqModel(m: SeqModel, opts: CompileSeqOptions = {}): Compiled {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-compress-'));
  try {
    const bits = opts.bits ?? {};
    const device = toDeviceGraph(importTfjs(saveLayersModel(m, path.join(dir, m.name))));
    quantizeWeightsTo(device, bits);
    const compiled = compileGraph(device, {
      calib: opts.calib ?? 'fashion-mnist:train',
      calibCount: opts.calibCount ?? 1000,
      quiet: true,
    });
    const model = compiled.model;
    for (const op of model.ops) {
      const b = bits[op.name];
      if (b !== undefined && b < 8 && (op.opcode === 'FULLY_CONNECTED' || op.opcode === 'CONV_2D'))
        model.tensors[op.inputs[1]].weightBits = b;
    }
    return { ...compiled, blob: encodeModel(model) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Predicted classes of the int8 reference interpreter on `data`. */
export function predictInt8(compiled: Compiled, data: LabelledImages, quiet = false): Int32Array {
  const size = data.images.length / data.count;
  const out = new Int32Array(data.count);
  const bar = quiet ? undefined : new Progress('int8 reference', data.count);
  const x = new Float32Array(size);
  for (let i = 0; i < data.count; i++) {
    for (let j = 0; j < size; j++) x[j] = data.images[i * size + j] / 255;
    const y = runInt8(compiled.model, [quantizeInput(compiled.model, x)])[0];
    out[i] = argmaxRows(Float32Array.from(y), y.length)[0];
    bar?.tick();
  }
  bar?.done();
  return out;
}
