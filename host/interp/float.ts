// Reference float32 semantics of the IR (NHWC graphs, batch 1): the accuracy baseline and the calibrator's engine.
// Activations that carry QDQ parameters (`quant`, from a QDQ model) are rounded onto their int8 grid as ONNX's
// QuantizeLinear → DequantizeLinear would, so a QDQ graph means here what it means to its producer.

import { type Clamp, type Graph, ModelError, type Node, numel, type Quant, tensor } from '../ir/graph';
import { evalExpr } from '../ir/elementwise';
import { conv2dFloat, depthwiseConv2dFloat, matmulRows } from './float-kernels';
import { broadcastIndex } from './int8/broadcast';
import { MIRROR_PAD_MODES, mirrorPad } from './int8/mirror-pad';
import { resizeBilinearFloat } from './int8/resize-bilinear';
import { resizeNearest, tfliteNearestMaps } from './int8/resize-nearest';

type F = Float32Array;

function clampAll(y: F, c?: Clamp): F {
  if (c) for (let i = 0; i < y.length; i++) y[i] = Math.min(c.max, Math.max(c.min, y[i]));
  return y;
}

function conv(g: Graph, n: Node, x: F, depthwise: boolean): F {
  const op = n.op as Extract<Node['op'], { kind: 'conv2d' | 'depthwise_conv2d' }>;
  const [, H, W, C] = tensor(g, op.inputs[0]).shape;
  const wt = tensor(g, op.inputs[1]);
  const b = op.inputs[2] ? (tensor(g, op.inputs[2]).data as F) : undefined;
  const [, OH, OW, OC] = tensor(g, op.outputs[0]).shape;
  const { strides, dilations, pads } = op.attrs;
  const geometry = { H, W, C, OH, OW, OC, KH: wt.shape[1], KW: wt.shape[2], strides, dilations, pads };
  const y = (depthwise ? depthwiseConv2dFloat : conv2dFloat)(x, wt.data as F, b, geometry);
  return clampAll(y, op.attrs.clamp);
}

/** Transposed convolution: every input pixel adds x·w into the outputs its taps reach (sums in doubles). */
function convTranspose(g: Graph, n: Node<'conv_transpose'>, x: F): F {
  const [, H, W, C] = tensor(g, n.op.inputs[0]).shape;
  const wt = tensor(g, n.op.inputs[1]);
  const w = wt.data as F;
  const [, KH, KW] = wt.shape;
  const b = n.op.inputs[2] ? (tensor(g, n.op.inputs[2]).data as F) : undefined;
  const [, OH, OW, OC] = tensor(g, n.op.outputs[0]).shape;
  const { strides, dilations, pads } = n.op.attrs;
  const acc = new Float64Array(OH * OW * OC);
  for (let p = 0; p < OH * OW; p++) for (let o = 0; o < OC; o++) acc[p * OC + o] = b ? b[o] : 0;
  for (let iy = 0; iy < H; iy++)
    for (let ky = 0; ky < KH; ky++) {
      const oy = iy * strides[0] - pads[0] + ky * dilations[0];
      if (oy < 0 || oy >= OH) continue;
      for (let ix = 0; ix < W; ix++)
        for (let kx = 0; kx < KW; kx++) {
          const ox = ix * strides[1] - pads[1] + kx * dilations[1];
          if (ox < 0 || ox >= OW) continue;
          const xb = (iy * W + ix) * C;
          for (let o = 0; o < OC; o++) {
            const wb = ((o * KH + ky) * KW + kx) * C;
            let sum = 0;
            for (let c = 0; c < C; c++) sum += x[xb + c] * w[wb + c];
            acc[(oy * OW + ox) * OC + o] += sum;
          }
        }
    }
  return clampAll(Float32Array.from(acc), n.op.attrs.clamp);
}

function pool(g: Graph, n: Node<'max_pool' | 'avg_pool'>, x: F): F {
  const { kernel, strides, pads, clamp } = n.op.attrs;
  const [, H, W, C] = tensor(g, n.op.inputs[0]).shape;
  const [, OH, OW] = tensor(g, n.op.outputs[0]).shape;
  const y = new Float32Array(OH * OW * C);
  for (let oy = 0; oy < OH; oy++)
    for (let ox = 0; ox < OW; ox++)
      for (let c = 0; c < C; c++) {
        let acc = n.op.kind === 'max_pool' ? -Infinity : 0;
        let count = 0;
        for (let ky = 0; ky < kernel[0]; ky++)
          for (let kx = 0; kx < kernel[1]; kx++) {
            const iy = oy * strides[0] - pads[0] + ky;
            const ix = ox * strides[1] - pads[1] + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const v = x[(iy * W + ix) * C + c];
            acc = n.op.kind === 'max_pool' ? Math.max(acc, v) : acc + v;
            count++;
          }
        y[(oy * OW + ox) * C + c] = n.op.kind === 'max_pool' ? acc : acc / count;
      }
  return clampAll(y, clamp);
}

const BINARY: Record<'add' | 'sub' | 'mul' | 'prelu' | 'maximum' | 'minimum', (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  prelu: (a, alpha) => (a >= 0 ? a : a * alpha),
  maximum: Math.max,
  minimum: Math.min,
};

function evalNode(g: Graph, n: Node, v: (name: string) => F): F {
  const op = n.op;
  const x = v(op.inputs[0]);
  const out = tensor(g, op.outputs[0]);
  switch (op.kind) {
    case 'conv2d':
    case 'depthwise_conv2d':
      if (g.layout !== 'NHWC') throw new ModelError('the float interpreter runs NHWC graphs');
      return conv(g, n, x, op.kind === 'depthwise_conv2d');
    case 'conv_transpose':
      return convTranspose(g, n as Node<'conv_transpose'>, x);
    case 'resize_bilinear': {
      const { alignCorners, halfPixelCenters } = op.attrs;
      return resizeBilinearFloat(x, tensor(g, op.inputs[0]).shape, out.shape, alignCorners, halfPixelCenters);
    }
    case 'dense': {
      const [O, I] = tensor(g, op.inputs[1]).shape;
      const w = v(op.inputs[1]);
      const b = op.inputs[2] ? v(op.inputs[2]) : undefined;
      const y = new Float32Array((x.length / I) * O);
      matmulRows(x, x.length / I, I, w, O, b, y);
      return clampAll(y, op.attrs.clamp);
    }
    case 'batchnorm': {
      const [gamma, beta, mean, variance] = op.inputs.slice(1).map(v);
      const C = gamma.length;
      return x.map((xi, i) => {
        const c = i % C;
        return (gamma[c] * (xi - mean[c])) / Math.sqrt(variance[c] + op.attrs.epsilon) + beta[c];
      });
    }
    case 'relu':
      return x.map((a) => Math.max(0, a));
    case 'clip':
      return x.map((a) => Math.min(op.attrs.max, Math.max(op.attrs.min, a)));
    case 'leaky_relu':
      return x.map((a) => (a >= 0 ? a : a * op.attrs.alpha));
    case 'sigmoid':
      return x.map((a) => 1 / (1 + Math.exp(-a)));
    case 'tanh':
      return x.map(Math.tanh);
    case 'elementwise':
      return x.map((a) => evalExpr(op.attrs.expr, a));
    case 'hard_swish':
      return x.map((a) => (a * Math.min(6, Math.max(0, a + 3))) / 6);
    case 'max_pool':
    case 'avg_pool':
      return pool(g, n as Node<'max_pool' | 'avg_pool'>, x);
    case 'mean': {
      const [, H, W, C] = tensor(g, op.inputs[0]).shape;
      const y = new Float32Array(C);
      for (let i = 0; i < H * W; i++) for (let c = 0; c < C; c++) y[c] += x[i * C + c] / (H * W);
      return y;
    }
    case 'reshape':
      return x.slice();
    case 'softmax':
    case 'log_softmax': {
      const C = out.shape[out.shape.length - 1];
      const beta = op.kind === 'softmax' ? op.attrs.beta : 1;
      const y = new Float32Array(x.length);
      for (let r = 0; r < x.length; r += C) {
        let mx = -Infinity;
        for (let c = 0; c < C; c++) mx = Math.max(mx, x[r + c]);
        let s = 0;
        for (let c = 0; c < C; c++) s += y[r + c] = Math.exp(beta * (x[r + c] - mx));
        const logSum = Math.log(s);
        for (let c = 0; c < C; c++) y[r + c] = op.kind === 'softmax' ? y[r + c] / s : x[r + c] - mx - logSum;
      }
      return y;
    }
    case 'add':
    case 'sub':
    case 'mul':
    case 'prelu':
    case 'maximum':
    case 'minimum': {
      const b = v(op.inputs[1]);
      const ia = broadcastIndex(tensor(g, op.inputs[0]).shape, out.shape);
      const ib = broadcastIndex(tensor(g, op.inputs[1]).shape, out.shape);
      const f = BINARY[op.kind];
      const y = Float32Array.from({ length: numel(out.shape) }, (_, i) => f(x[ia[i]], b[ib[i]]));
      return clampAll(y, 'clamp' in op.attrs ? op.attrs.clamp : undefined);
    }
    case 'concat': {
      const shapes = op.inputs.map((name) => tensor(g, name).shape);
      const axis = op.attrs.axis < 0 ? op.attrs.axis + out.shape.length : op.attrs.axis;
      const inner = numel(out.shape.slice(axis + 1));
      const outer = numel(out.shape.slice(0, axis));
      const parts = op.inputs.map(v);
      const y = new Float32Array(numel(out.shape));
      let at = 0;
      for (let o = 0; o < outer; o++)
        parts.forEach((p, k) => {
          const run = shapes[k][axis] * inner;
          y.set(p.subarray(o * run, (o + 1) * run), at);
          at += run;
        });
      return clampAll(y, op.attrs.clamp);
    }
    case 'pad': {
      const inShape = tensor(g, op.inputs[0]).shape;
      const rank = inShape.length;
      const y = new Float32Array(numel(out.shape)).fill(op.attrs.value);
      const outStrides = stridesOf(out.shape);
      for (let i = 0; i < x.length; i++) {
        let at = 0;
        for (let d = rank - 1, rest = i; d >= 0; d--) {
          const c = rest % inShape[d];
          rest = (rest - c) / inShape[d];
          at += (c + op.attrs.pads[d]) * outStrides[d];
        }
        y[at] = x[i];
      }
      return y;
    }
    case 'mirror_pad': {
      const inShape = tensor(g, op.inputs[0]).shape;
      const y = new Float32Array(numel(out.shape));
      mirrorPad(x, inShape, y, out.shape, op.attrs.pads.slice(0, inShape.length), MIRROR_PAD_MODES[op.attrs.mode]);
      return y;
    }
    case 'resize_nearest': {
      const inShape = tensor(g, op.inputs[0]).shape;
      const { alignCorners, halfPixelCenters } = op.attrs;
      const y = new Float32Array(numel(out.shape));
      const { rows, cols } = tfliteNearestMaps(inShape, out.shape, alignCorners, halfPixelCenters);
      resizeNearest(x, inShape, y, rows, cols);
      return y;
    }
    case 'transpose': {
      const inShape = tensor(g, op.inputs[0]).shape;
      const inStrides = stridesOf(inShape);
      const y = new Float32Array(x.length);
      for (let i = 0; i < y.length; i++) {
        let at = 0;
        for (let d = out.shape.length - 1, rest = i; d >= 0; d--) {
          const c = rest % out.shape[d];
          rest = (rest - c) / out.shape[d];
          at += c * inStrides[op.attrs.perm[d]];
        }
        y[i] = x[at];
      }
      return y;
    }
    case 'gather_strided': {
      const { offset, shape, strides } = op.attrs;
      const y = new Float32Array(numel(shape));
      for (let i = 0; i < y.length; i++) {
        let at = offset;
        for (let d = shape.length - 1, rest = i; d >= 0; d--) {
          const c = rest % shape[d];
          rest = (rest - c) / shape[d];
          at += c * strides[d];
        }
        y[i] = x[at];
      }
      return y;
    }
    case 'reduce': {
      const { reducer, outer, count, inner } = op.attrs;
      const y = new Float32Array(outer * inner).fill(reducer === 'max' ? -Infinity : 0);
      for (let b = 0; b < outer; b++)
        for (let r = 0; r < count; r++)
          for (let i = 0; i < inner; i++) {
            const v = x[(b * count + r) * inner + i];
            y[b * inner + i] = reducer === 'max' ? Math.max(y[b * inner + i], v) : y[b * inner + i] + v;
          }
      return reducer === 'mean' ? y.map((s) => s / count) : y;
    }
    case 'batch_matmul': {
      const { batch, rows, depth, cols, lhsBatchStride, rhsBatchStride } = op.attrs;
      const b = v(op.inputs[1]);
      const y = new Float32Array(batch * rows * cols);
      for (let bi = 0; bi < batch; bi++)
        for (let m = 0; m < rows; m++)
          for (let k = 0; k < depth; k++) {
            const a = x[bi * lhsBatchStride + m * depth + k];
            const row = bi * rhsBatchStride + k * cols;
            for (let n = 0; n < cols; n++) y[(bi * rows + m) * cols + n] += a * b[row + n];
          }
      return y;
    }
    case 'layer_norm': {
      const { count, epsilon } = op.attrs;
      const [gamma, beta] = [v(op.inputs[1]), v(op.inputs[2])];
      const y = new Float32Array(x.length);
      for (let r = 0; r < x.length; r += count) {
        let mean = 0;
        for (let i = 0; i < count; i++) mean += x[r + i] / count;
        let variance = 0;
        for (let i = 0; i < count; i++) variance += (x[r + i] - mean) ** 2 / count;
        const inv = 1 / Math.sqrt(variance + epsilon);
        for (let i = 0; i < count; i++) y[r + i] = (x[r + i] - mean) * inv * gamma[i] + beta[i];
      }
      return y;
    }
    default:
      throw new ModelError(`the float interpreter does not support op '${op.kind}' (node ${n.name})`);
  }
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, k = 1; d >= 0; k *= shape[d], d--) s[d] = k;
  return s;
}

/** ONNX QuantizeLinear then DequantizeLinear (per tensor, int8): round half to even in float32, saturate. */
function fakeQuantize(y: F, q: Quant): F {
  const scale = Math.fround(q.scale[0]),
    zp = q.zeroPoint[0];
  for (let i = 0; i < y.length; i++) {
    const t = Math.fround(y[i] / scale);
    let r = Math.round(t);
    if (r - t === 0.5 && r % 2 !== 0) r -= 1;
    y[i] = (Math.min(127, Math.max(-128, r + zp)) - zp) * scale;
  }
  return y;
}

/** Evaluates one node whose inputs are all constants (constant folding). */
export function evaluateConstantNode(g: Graph, n: Node): Float32Array {
  return evalNode(g, n, (name) => {
    const d = tensor(g, name).data;
    if (!(d instanceof Float32Array)) throw new ModelError(`node ${n.name}: input '${name}' is not a float constant`);
    return d;
  });
}

export function runFloat(
  g: Graph,
  feeds: Record<string, Float32Array>,
  observe?: (tensorName: string, data: Float32Array) => void,
): Record<string, Float32Array> {
  const values = new Map<string, F>();
  for (const name of g.inputs) {
    const x = feeds[name];
    const need = numel(tensor(g, name).shape);
    if (!x || x.length !== need)
      throw new ModelError(`input '${name}' needs ${need} values, got ${x ? x.length : 'none'}`);
    const q = tensor(g, name).quant;
    const xq = q ? fakeQuantize(x.slice(), q) : x;
    values.set(name, xq);
    observe?.(name, xq);
  }
  const v = (name: string): F => {
    const got = values.get(name) ?? (tensor(g, name).data as F | undefined);
    if (!got) throw new ModelError(`tensor '${name}' is read before it is computed`);
    return got;
  };
  for (const n of g.nodes) {
    const q = tensor(g, n.op.outputs[0]).quant;
    const y = q ? fakeQuantize(evalNode(g, n, v), q) : evalNode(g, n, v);
    values.set(n.op.outputs[0], y);
    observe?.(n.op.outputs[0], y);
  }
  return Object.fromEntries(g.outputs.map((o) => [o, v(o)]));
}
