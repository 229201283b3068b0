// What each weight of a conv, depthwise conv or dense node multiplies: its input patch per output position.
// Calibration-time weight rounding (./gptq) collects statistics of these patches over representative data.

import { type Graph, ModelError, type Node, numel, tensor } from '../ir/graph';

/** Where each tap [ky, kx, ic] reads its input; a dense node is a 1×1 conv with one output position per row. */
export interface TapGeometry {
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
}

export function tapGeometry(g: Graph, n: Node): TapGeometry {
  const op = n.op;
  if (op.kind !== 'conv2d' && op.kind !== 'depthwise_conv2d' && op.kind !== 'dense')
    throw new ModelError(`node ${n.name}: '${op.kind}' has no weight taps`);
  const x = tensor(g, op.inputs[0]).shape;
  const w = tensor(g, op.inputs[1]).shape;
  if (op.kind === 'dense') {
    const rows = numel(x) / w[1];
    return {
      inH: rows,
      inW: 1,
      inC: w[1],
      outH: rows,
      outW: 1,
      kH: 1,
      kW: 1,
      strideH: 1,
      strideW: 1,
      dilationH: 1,
      dilationW: 1,
      padTop: 0,
      padLeft: 0,
    };
  }
  if (g.layout !== 'NHWC') throw new ModelError(`weight taps need an NHWC graph, got ${g.layout}`);
  const y = tensor(g, op.outputs[0]).shape;
  const a = op.attrs;
  return {
    inH: x[1],
    inW: x[2],
    inC: x[3],
    outH: y[1],
    outW: y[2],
    kH: w[1],
    kW: w[2],
    strideH: a.strides[0],
    strideW: a.strides[1],
    dilationH: a.dilations[0],
    dilationW: a.dilations[1],
    padTop: a.pads[0],
    padLeft: a.pads[1],
  };
}

/** Calls `visit` with the input patch (index (ky·kW + kx)·inC + ic, zero outside the input) of every output position. */
export function forEachPatch(x: Float32Array, t: TapGeometry, visit: (patch: Float64Array) => void): void {
  const patch = new Float64Array(t.kH * t.kW * t.inC);
  for (let oy = 0; oy < t.outH; oy++) {
    for (let ox = 0; ox < t.outW; ox++) {
      for (let ky = 0; ky < t.kH; ky++) {
        const iy = oy * t.strideH - t.padTop + ky * t.dilationH;
        for (let kx = 0; kx < t.kW; kx++) {
          const ix = ox * t.strideW - t.padLeft + kx * t.dilationW;
          const inside = iy >= 0 && iy < t.inH && ix >= 0 && ix < t.inW;
          const p = (ky * t.kW + kx) * t.inC;
          const xb = (iy * t.inW + ix) * t.inC;
          for (let ic = 0; ic < t.inC; ic++) patch[p + ic] = inside ? x[xb + ic] : 0;
        }
      }
      visit(patch);
    }
  }
}
