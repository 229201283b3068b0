import { strict as assert } from 'assert';
import { runInt8 } from '../host/interp/int8/interpreter';
import { Clamp } from '../host/ir/graph';
import { OpCodeName, QModel, QOp, QTensor } from '../host/ir/qmodel';
import { Rounding } from '../host/quantize/fixedpoint';
import * as gemmlowp from '../host/quantize/gemmlowp';
import {
  activationRange,
  foldInputZeroPoint,
  prepareAdd,
  prepareLeakyRelu,
  prepareLogistic,
  prepareMul,
  prepareQuantize,
  prepareRelu,
  prepareSoftmax,
  prepareSub,
  prepareTanh,
  QParams,
} from '../host/quantize/prepare';
import { Rng } from '../host/util/rng';

// The oracle: literal BigInt transcriptions of TFLite / TFLite Micro's C++ (quantization_util.cc, common.h,
// gemmlowp fixedpoint.h, reference_integer_ops/*.h), written without looking at the host implementation.

const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;
const wrap32 = (x: bigint) => BigInt.asIntN(32, x);
const B = BigInt;
const N = Number;

function srdhm(a: bigint, b: bigint): bigint {
  if (a === b && a === I32_MIN) return I32_MAX;
  const ab = a * b;
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return wrap32((ab + nudge) / (1n << 31n));
}
function rdbpot(x: bigint, e: number): bigint {
  const mask = (1n << B(e)) - 1n;
  const remainder = x & mask;
  const threshold = (mask >> 1n) + (x < 0n ? 1n : 0n);
  return (x >> B(e)) + (remainder > threshold ? 1n : 0n);
}
function mbqm(x: bigint, m: bigint, shift: number, rounding: Rounding): bigint {
  if (rounding === 'single') {
    const total = B(31 - shift);
    return (x * m + (1n << (total - 1n))) >> total;
  }
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return rdbpot(srdhm(wrap32(x * (1n << B(left))), m), right);
}
const clampB = (x: bigint, lo: number, hi: number) => N(x < B(lo) ? B(lo) : x > B(hi) ? B(hi) : x);

// gemmlowp FixedPoint<int32, ib> as { raw, ib }.
interface FP {
  raw: bigint;
  ib: number;
}
const fp = (raw: bigint, ib: number): FP => ({ raw, ib });
const fmul = (a: FP, b: FP) => fp(srdhm(a.raw, b.raw), a.ib + b.ib);
const fadd = (a: FP, b: FP) => fp(wrap32(a.raw + b.raw), a.ib);
const fsub = (a: FP, b: FP) => fp(wrap32(a.raw - b.raw), a.ib);
function srmpot(x: bigint, e: number): bigint {
  if (e === 0) return x;
  if (e < 0) return rdbpot(x, -e);
  const threshold = (1n << B(31 - e)) - 1n;
  if (x > threshold) return I32_MAX;
  if (x < -threshold) return I32_MIN;
  return wrap32(x << B(e));
}
const rescale = (a: FP, dst: number) => fp(srmpot(a.raw, a.ib - dst), dst);
const fone = (ib: number) => fp(ib === 0 ? I32_MAX : 1n << B(31 - ib), ib);
const constPOT = (ib: number, e: number) => fp(1n << B(31 - ib + e), ib);

function expQuarter(a: FP): FP {
  const constantTerm = fp(1895147668n, 0);
  const oneThird = fp(715827883n, 0);
  const x = fadd(a, constPOT(0, -3));
  const x2 = fmul(x, x);
  const x3 = fmul(x2, x);
  const x4 = fmul(x2, x2);
  const x4o4 = fp(srmpot(x4.raw, -2), 0);
  const poly = fp(srmpot(fadd(fmul(fadd(x4o4, x3), oneThird), x2).raw, -1), 0);
  return fadd(constantTerm, fmul(constantTerm, fadd(x, poly)));
}
function expNeg(a: FP): FP {
  const fb = 31 - a.ib;
  const quarter = constPOT(a.ib, -2);
  const mask = fsub(quarter, fp(1n, a.ib));
  const amq = fsub(fp(a.raw & mask.raw, a.ib), quarter);
  let result = expQuarter(rescale(amq, 0));
  const remainder = fsub(amq, a).raw;
  const barrel: [number, bigint][] = [
    [-2, 1672461947n],
    [-1, 1302514674n],
    [0, 790015084n],
    [1, 290630308n],
    [2, 39332535n],
    [3, 720401n],
    [4, 242n],
  ];
  for (const [e, m] of barrel) {
    if (a.ib > e && (remainder & (1n << B(fb + e))) !== 0n) result = fmul(result, fp(m, 0));
  }
  if (a.ib > 5 && a.raw < -(1n << B(36 - a.ib))) result = fp(0n, 0);
  return a.raw === 0n ? fone(0) : result;
}
function roundingHalfSum(a: bigint, b: bigint): bigint {
  const s = a + b;
  return (s + (s >= 0n ? 1n : -1n)) / 2n;
}
function newton(half: FP): FP {
  let x = fadd(fp(1515870810n, 2), fmul(half, fp(-1010580540n, 2)));
  for (let i = 0; i < 3; i++) x = fadd(x, rescale(fmul(x, fsub(fone(2), fmul(half, x))), 2));
  return x;
}
const oneOverOnePlusX = (a: FP): FP => rescale(fp(newton(fp(roundingHalfSum(a.raw, I32_MAX), 0)).raw, 1), 0);
const oneMinusXOverOnePlusX = (a: FP): FP => rescale(fsub(newton(fp(roundingHalfSum(a.raw, I32_MAX), 0)), fone(2)), 0);
function logisticRef(a: FP): FP {
  const abs = a.raw > 0n ? a : fp(wrap32(-a.raw), a.ib);
  const pos = oneOverOnePlusX(expNeg(fp(wrap32(-abs.raw), a.ib)));
  if (a.raw === 0n) return fp(1n << 30n, 0);
  return a.raw > 0n ? pos : fsub(fone(0), pos);
}
function tanhRef(a: FP): FP {
  const n = a.raw < 0n ? a : fp(wrap32(-a.raw), a.ib);
  const t = oneMinusXOverOnePlusX(expNeg(fp(n.raw, a.ib + 1)));
  if (a.raw === 0n) return fp(0n, 0);
  return a.raw < 0n ? fp(wrap32(-t.raw), 0) : t;
}
function clz32(x: bigint): number {
  let n = 0;
  for (let bit = 31; bit >= 0 && ((x >> B(bit)) & 1n) === 0n; bit--) n++;
  return n;
}
function getReciprocalRef(x: bigint, ib: number): { scale: bigint; bitsOverUnit: number } {
  const h = clz32(x);
  const shiftedMinusOne = BigInt.asIntN(32, BigInt.asUintN(32, x << B(h)) - (1n << 31n));
  return { scale: oneOverOnePlusX(fp(shiftedMinusOne, 0)).raw, bitsOverUnit: ib - h };
}

// quantization_util.cc
function frexpRef(x: number): [number, number] {
  let e = 0;
  while (x >= 1) {
    x /= 2;
    e++;
  }
  while (x < 0.5) {
    x *= 2;
    e--;
  }
  return [x, e];
}
function quantizeMultiplierRef(real: number): [bigint, number] {
  if (real === 0) return [0n, 0];
  const [q, e] = frexpRef(real);
  let qf = Math.round(q * 2 ** 31);
  let shift = e;
  if (qf === 2 ** 31) {
    qf /= 2;
    shift++;
  }
  if (shift < -31) return [0n, 0];
  return [B(qf), shift];
}
const inputRadius = (ib: number, shift: number) => Math.floor(((2 ** ib - 1) * 2 ** (31 - ib)) / 2 ** shift);
const fround = Math.fround;

// ---------------------------------------------------------------------------------------------------------------
// Random operands and one-op models.

const rng = new Rng(8088);
const CASES = 1000;
const int8 = () => rng.int(-128, 127);
const edgeInt8 = () => (rng.next() < 0.2 ? rng.pick([-128, 127, -127, 0]) : int8());
const int8s = (n: number) => Int8Array.from({ length: n }, edgeInt8);
function multiplier(): number {
  const r = rng.next();
  if (r < 0.15) return 2147483647 - rng.int(0, 3);
  if (r < 0.25) return 1073741824 + rng.int(0, 3);
  return rng.int(1073741824, 2147483647);
}
const shiftFull = () => (rng.next() < 0.2 ? rng.pick([-31, -30, 30, 29, 0]) : rng.int(-31, 30));
const rounding = (): Rounding => (rng.next() < 0.5 ? 'double' : 'single');
function bounds(): { activation_min: number; activation_max: number } {
  if (rng.next() < 0.5) return { activation_min: -128, activation_max: 127 };
  const lo = rng.int(-128, 127);
  return { activation_min: lo, activation_max: rng.int(lo, 127) };
}
const act = (name: string, shape: number[]): QTensor => ({
  name,
  shape,
  type: 'int8',
  scale: [1],
  zeroPoint: [0],
  quantizedDimension: 0,
  arenaOffset: -1,
});
const konst = (name: string, shape: number[], data: Int8Array | Int32Array): QTensor => ({
  name,
  shape,
  type: data instanceof Int32Array ? 'int32' : 'int8',
  scale: [1],
  zeroPoint: [0],
  quantizedDimension: 0,
  data,
  arenaOffset: -1,
});

/** Runs one op through the real interpreter: tensors[0..k) are the graph inputs, the last tensor the output. */
function runOp(op: QOp, tensors: QTensor[], inputs: Int8Array[], r: Rounding): Int8Array {
  const nIn = inputs.length;
  const model: QModel = {
    name: 'op',
    producer: 'test',
    rounding: r,
    tensors,
    ops: [op],
    inputs: Array.from({ length: nIn }, (_, i) => i),
    outputs: [tensors.length - 1],
    arenaBytes: 0,
  };
  return runInt8(model, inputs)[0];
}
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const opOf = <K extends OpCodeName>(
  opcode: K,
  inputs: number[],
  outputs: number[],
  options: Extract<QOp, { opcode: K }>['options'],
): QOp => ({ opcode, inputs, outputs, options, name: opcode }) as QOp;

describe('int8 kernels: bit-exact against BigInt TFLM semantics', () => {
  it('gemmlowp helpers equal the BigInt transcription on 20,000 raw values each', () => {
    const raws = (n: number) =>
      Array.from({ length: n }, () => {
        const r = rng.next();
        if (r < 0.05) return rng.pick([0, -1, 1, -2147483648, 2147483647, -2147483647]);
        if (r < 0.5) return -rng.int(0, 2 ** 31 - 1);
        return rng.int(-(2 ** 31), 2 ** 31 - 1) >> rng.int(0, 30);
      });
    for (const ib of [0, 1, 4, 5, 6, 12]) {
      for (const a of raws(2000)) {
        const neg = a > 0 ? -a : a;
        assert.equal(gemmlowp.expOnNegativeValues(neg, ib), N(expNeg(fp(B(neg), ib)).raw), `exp ib=${ib} a=${neg}`);
      }
    }
    for (const a of raws(4000)) {
      assert.equal(gemmlowp.logistic(a, 4), N(logisticRef(fp(B(a), 4)).raw), `logistic ${a}`);
      assert.equal(gemmlowp.tanh(a, 4), N(tanhRef(fp(B(a), 4)).raw), `tanh ${a}`);
      const unit = Math.abs(a) & 0x7fffffff;
      assert.equal(gemmlowp.oneOverOnePlusX(unit), N(oneOverOnePlusX(fp(B(unit), 0)).raw), `1/(1+x) ${unit}`);
      const sum = rng.int(1, 2 ** 31 - 1);
      const got = gemmlowp.getReciprocal(sum, 12);
      const want = getReciprocalRef(B(sum), 12);
      assert.deepEqual([got.reciprocal, got.numBitsOverUnit], [N(want.scale), want.bitsOverUnit], `reciprocal ${sum}`);
    }
  });

  it('gemmlowp helpers approximate their real functions', () => {
    for (const v of [-0.01, -0.3, -1, -2.5, -7, -20]) {
      assert.ok(
        Math.abs(gemmlowp.expOnNegativeValues(Math.round(v * 2 ** 26), 5) / 2 ** 31 - Math.exp(v)) < 1e-6,
        `exp(${v})`,
      );
    }
    for (const v of [-7, -1, -0.25, 0.5, 3]) {
      assert.ok(
        Math.abs(gemmlowp.logistic(Math.round(v * 2 ** 27), 4) / 2 ** 31 - 1 / (1 + Math.exp(-v))) < 1e-6,
        `logistic(${v})`,
      );
      assert.ok(Math.abs(gemmlowp.tanh(Math.round(v * 2 ** 27), 4) / 2 ** 31 - Math.tanh(v)) < 1e-6, `tanh(${v})`);
    }
  });

  it(`FULLY_CONNECTED: ${CASES} random cases`, () => {
    for (let t = 0; t < CASES; t++) {
      const depth = rng.int(1, 40),
        outs = rng.int(1, 8),
        batches = rng.int(1, 3),
        r = rounding();
      const inZp = edgeInt8();
      const w = Int8Array.from({ length: outs * depth }, () => rng.int(-127, 127));
      const bias = Int32Array.from({ length: outs }, () => rng.int(-100000, 100000));
      const perChannel = rng.next() < 0.5;
      const ms = Array.from({ length: perChannel ? outs : 1 }, multiplier);
      const ss = Array.from({ length: perChannel ? outs : 1 }, shiftFull);
      const outZp = int8(),
        bnd = bounds();
      const x = int8s(batches * depth);
      const op = opOf('FULLY_CONNECTED', [0, 1, 2], [3], {
        output_zero_point: outZp,
        ...bnd,
        output_multiplier: ms,
        output_shift: ss,
      });
      const folded = foldInputZeroPoint(w, [outs, depth], 0, bias, inZp);
      const got = runOp(
        op,
        [
          act('x', [batches, depth]),
          konst('w', [outs, depth], w),
          konst('b', [outs], folded),
          act('y', [batches, outs]),
        ],
        [x],
        r,
      );
      for (let b = 0; b < batches; b++)
        for (let o = 0; o < outs; o++) {
          let acc = 0n;
          for (let k = 0; k < depth; k++) acc += B(x[b * depth + k] - inZp) * B(w[o * depth + k]);
          acc = wrap32(acc + B(bias[o]));
          const i = perChannel ? o : 0;
          const want = clampB(mbqm(acc, B(ms[i]), ss[i], r) + B(outZp), bnd.activation_min, bnd.activation_max);
          assert.equal(got[b * outs + o], want, `case ${t} b=${b} o=${o}`);
        }
    }
  });

  for (const depthwise of [false, true]) {
    const opcode = depthwise ? 'DEPTHWISE_CONV_2D' : 'CONV_2D';
    it(`${opcode}: ${CASES} random cases`, () => {
      for (let t = 0; t < CASES; t++) {
        const H = rng.int(1, 7),
          W = rng.int(1, 7),
          C = rng.int(1, 4),
          r = rounding();
        const kH = rng.int(1, 3),
          kW = rng.int(1, 3),
          sh = rng.int(1, 3),
          sw = rng.int(1, 3),
          dh = rng.int(1, 2),
          dw = rng.int(1, 2);
        const pt = rng.int(0, 2),
          pl = rng.int(0, 2),
          pb = rng.int(0, 2),
          pr = rng.int(0, 2);
        const outH = Math.floor((H + pt + pb - ((kH - 1) * dh + 1)) / sh) + 1;
        const outW = Math.floor((W + pl + pr - ((kW - 1) * dw + 1)) / sw) + 1;
        if (outH < 1 || outW < 1) {
          t--;
          continue;
        }
        const m = depthwise ? rng.int(1, 3) : 1;
        const OC = depthwise ? C * m : rng.int(1, 5);
        const wShape = depthwise ? [1, kH, kW, OC] : [OC, kH, kW, C];
        const w = Int8Array.from({ length: numel(wShape) }, () => rng.int(-127, 127));
        const bias = Int32Array.from({ length: OC }, () => rng.int(-100000, 100000));
        const inZp = edgeInt8(),
          outZp = int8(),
          bnd = bounds();
        const perChannel = rng.next() < 0.5;
        const ms = Array.from({ length: perChannel ? OC : 1 }, multiplier);
        const ss = Array.from({ length: perChannel ? OC : 1 }, shiftFull);
        const x = int8s(H * W * C);
        const options = {
          stride_h: sh,
          stride_w: sw,
          dilation_h: dh,
          dilation_w: dw,
          pad_top: pt,
          pad_left: pl,
          depth_multiplier: m,
          input_zero_point: inZp,
          output_zero_point: outZp,
          ...bnd,
          output_multiplier: ms,
          output_shift: ss,
        };
        const folded = foldInputZeroPoint(w, wShape, depthwise ? 3 : 0, bias, inZp);
        const tensors = [
          act('x', [1, H, W, C]),
          konst('w', wShape, w),
          konst('b', [OC], folded),
          act('y', [1, outH, outW, OC]),
        ];
        const got = runOp(opOf(opcode, [0, 1, 2], [3], options), tensors, [x], r);
        // reference_integer_ops::ConvPerChannel / DepthwiseConvPerChannel: padded taps are skipped.
        for (let oy = 0; oy < outH; oy++)
          for (let ox = 0; ox < outW; ox++)
            for (let oc = 0; oc < OC; oc++) {
              let acc = 0n;
              const inY0 = oy * sh - pt,
                inX0 = ox * sw - pl;
              for (let fy = 0; fy < kH; fy++)
                for (let fx = 0; fx < kW; fx++) {
                  const iy = inY0 + dh * fy,
                    ix = inX0 + dw * fx;
                  if (!(ix >= 0 && ix < W && iy >= 0 && iy < H)) continue;
                  if (depthwise) {
                    const ic = Math.floor(oc / m);
                    acc += B(x[(iy * W + ix) * C + ic] - inZp) * B(w[(fy * kW + fx) * OC + oc]);
                  } else {
                    for (let ic = 0; ic < C; ic++)
                      acc += B(x[(iy * W + ix) * C + ic] - inZp) * B(w[((oc * kH + fy) * kW + fx) * C + ic]);
                  }
                }
              acc += B(bias[oc]);
              const i = perChannel ? oc : 0;
              const want = clampB(mbqm(acc, B(ms[i]), ss[i], r) + B(outZp), bnd.activation_min, bnd.activation_max);
              assert.equal(got[(oy * outW + ox) * OC + oc], want, `case ${t} at ${oy},${ox},${oc}`);
            }
      }
    });
  }

  for (const max of [true, false]) {
    const opcode = max ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D';
    it(`${opcode}: ${CASES} random cases`, () => {
      for (let t = 0; t < CASES; t++) {
        const H = rng.int(1, 8),
          W = rng.int(1, 8),
          C = rng.int(1, 3);
        const fh = rng.int(1, 4),
          fw = rng.int(1, 4),
          sh = rng.int(1, 3),
          sw = rng.int(1, 3),
          pt = rng.int(0, fh - 1),
          pl = rng.int(0, fw - 1);
        const outH = Math.floor((H + pt - fh) / sh) + 1,
          outW = Math.floor((W + pl - fw) / sw) + 1;
        if (outH < 1 || outW < 1) {
          t--;
          continue;
        }
        const bnd = bounds();
        const x = int8s(H * W * C);
        const got = runOp(
          opOf(opcode, [0], [1], {
            filter_h: fh,
            filter_w: fw,
            stride_h: sh,
            stride_w: sw,
            pad_top: pt,
            pad_left: pl,
            ...bnd,
          }),
          [act('x', [1, H, W, C]), act('y', [1, outH, outW, C])],
          [x],
          'double',
        );
        for (let oy = 0; oy < outH; oy++)
          for (let ox = 0; ox < outW; ox++)
            for (let c = 0; c < C; c++) {
              // reference_integer_ops pooling: filter window clipped to the input with start/end bounds.
              const inX0 = ox * sw - pl,
                inY0 = oy * sh - pt;
              const fxs = Math.max(0, -inX0),
                fxe = Math.min(fw, W - inX0),
                fys = Math.max(0, -inY0),
                fye = Math.min(fh, H - inY0);
              let acc = max ? -128 : 0,
                count = 0;
              for (let fy = fys; fy < fye; fy++)
                for (let fx = fxs; fx < fxe; fx++) {
                  const v = x[((inY0 + fy) * W + inX0 + fx) * C + c];
                  acc = max ? Math.max(acc, v) : acc + v;
                  count++;
                }
              // C's integer division truncates; `|| 0` keeps Math.trunc's −0 out of the comparison.
              if (!max)
                acc =
                  (acc > 0
                    ? Math.trunc((acc + Math.trunc(count / 2)) / count)
                    : Math.trunc((acc - Math.trunc(count / 2)) / count)) || 0;
              const want = Math.min(bnd.activation_max, Math.max(bnd.activation_min, acc));
              assert.equal(got[(oy * outW + ox) * C + c], want, `case ${t}`);
            }
      }
    });
  }

  /** Random broadcastable pair of shapes and the output shape (rank ≤ 4). */
  function broadcastShapes(): [number[], number[], number[]] {
    const rank = rng.int(1, 4);
    const out = Array.from({ length: rank }, () => rng.int(1, 4));
    const side = () => {
      const s = out.map((d) => (rng.next() < 0.3 ? 1 : d));
      return s.slice(rng.int(0, rank - 1) * (rng.next() < 0.3 ? 1 : 0));
    };
    const a = side(),
      b = side();
    const full = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
    const o = out.map((_, d) => Math.max(full(a)[d], full(b)[d]));
    return [a, b, o];
  }
  /** NdArrayDesc subscript → flat offset for a broadcast input. */
  function offsetOf(shape: number[], outShape: number[], outFlat: number): number {
    const rank = outShape.length;
    const full = [...new Array(rank - shape.length).fill(1), ...shape];
    let rem = outFlat,
      off = 0,
      stride = 1;
    const subs: number[] = [];
    for (let d = rank - 1; d >= 0; d--) {
      subs[d] = rem % outShape[d];
      rem = Math.floor(rem / outShape[d]);
    }
    for (let d = rank - 1; d >= 0; d--) {
      off += (full[d] === 1 ? 0 : subs[d]) * stride;
      stride *= full[d];
    }
    return off;
  }

  for (const kind of ['ADD', 'SUB'] as const) {
    it(`${kind}: ${CASES} random cases with 4-D broadcasting`, () => {
      for (let t = 0; t < CASES; t++) {
        const [sa, sb, so] = broadcastShapes();
        const r = rounding();
        const o = {
          input1_offset: -edgeInt8(),
          input2_offset: -edgeInt8(),
          output_offset: int8(),
          left_shift: 20,
          input1_multiplier: multiplier(),
          input1_shift: rng.int(-31, 0),
          input2_multiplier: multiplier(),
          input2_shift: rng.int(-31, 0),
          output_multiplier: multiplier(),
          output_shift: rng.int(-31, 0),
          ...bounds(),
        };
        const a = int8s(numel(sa)),
          b = int8s(numel(sb));
        const got = runOp(opOf(kind, [0, 1], [2], o), [act('a', sa), act('b', sb), act('y', so)], [a, b], r);
        for (let i = 0; i < numel(so); i++) {
          const s1 = mbqm(
            B(a[offsetOf(sa, so, i)] + o.input1_offset) * (1n << 20n),
            B(o.input1_multiplier),
            o.input1_shift,
            r,
          );
          const s2 = mbqm(
            B(b[offsetOf(sb, so, i)] + o.input2_offset) * (1n << 20n),
            B(o.input2_multiplier),
            o.input2_shift,
            r,
          );
          const raw = kind === 'ADD' ? s1 + s2 : s1 - s2;
          const want = clampB(
            mbqm(raw, B(o.output_multiplier), o.output_shift, r) + B(o.output_offset),
            o.activation_min,
            o.activation_max,
          );
          assert.equal(got[i], want, `case ${t} [${sa}]·[${sb}]→[${so}] at ${i}`);
        }
      }
    });
  }

  it(`MUL: ${CASES} random cases with 4-D broadcasting`, () => {
    for (let t = 0; t < CASES; t++) {
      const [sa, sb, so] = broadcastShapes();
      const r = rounding();
      const o = {
        input1_offset: -edgeInt8(),
        input2_offset: -edgeInt8(),
        output_offset: int8(),
        output_multiplier: multiplier(),
        output_shift: rng.int(-31, 14),
        ...bounds(),
      };
      const a = int8s(numel(sa)),
        b = int8s(numel(sb));
      const got = runOp(opOf('MUL', [0, 1], [2], o), [act('a', sa), act('b', sb), act('y', so)], [a, b], r);
      for (let i = 0; i < numel(so); i++) {
        const prod = B(a[offsetOf(sa, so, i)] + o.input1_offset) * B(b[offsetOf(sb, so, i)] + o.input2_offset);
        const want = clampB(
          mbqm(prod, B(o.output_multiplier), o.output_shift, r) + B(o.output_offset),
          o.activation_min,
          o.activation_max,
        );
        assert.equal(got[i], want, `case ${t}`);
      }
    }
  });

  it(`MEAN: ${CASES} random cases`, () => {
    for (let t = 0; t < CASES; t++) {
      const H = rng.int(1, 6),
        W = rng.int(1, 6),
        C = rng.int(1, 4),
        r = rounding();
      const o = {
        input_zero_point: edgeInt8(),
        output_zero_point: int8(),
        multiplier: multiplier(),
        shift: rng.int(-31, 8),
      };
      const x = int8s(H * W * C);
      const got = runOp(opOf('MEAN', [0], [1], o), [act('x', [1, H, W, C]), act('y', [1, 1, 1, C])], [x], r);
      for (let c = 0; c < C; c++) {
        let acc = 0n;
        for (let i = 0; i < H * W; i++) acc += B(x[i * C + c] - o.input_zero_point);
        acc = mbqm(acc, B(o.multiplier), o.shift, r);
        const n = B(H * W);
        acc = acc > 0n ? (acc + n / 2n) / n : (acc - n / 2n) / n;
        assert.equal(got[c], clampB(acc + B(o.output_zero_point), -128, 127), `case ${t}`);
      }
    }
  });

  /** TFLM Softmax prepare (softmax_common.cc) + reference_ops::Softmax, int8 → int8, all in BigInt. */
  function softmaxRef(x: Int8Array, depth: number, beta: number, inScale: number, r: Rounding): number[] {
    const maxReal = r === 'single' ? 2 ** 30 - 1 : 2 ** 31 - 1;
    const [qm, ls] = quantizeMultiplierRef(Math.min(fround(beta) * inScale * 2 ** 26, maxReal));
    const diffMin = -inputRadius(5, ls);
    const out: number[] = [];
    for (let row = 0; row < x.length; row += depth) {
      let mx = -128;
      for (let c = 0; c < depth; c++) mx = Math.max(mx, x[row + c]);
      const expOf = (c: number) => expNeg(fp(mbqm(B(x[row + c] - mx), qm, ls, r), 5));
      let sum = fp(0n, 12);
      for (let c = 0; c < depth; c++) if (x[row + c] - mx >= diffMin) sum = fadd(sum, rescale(expOf(c), 12));
      const { scale, bitsOverUnit } = getReciprocalRef(sum.raw, 12);
      for (let c = 0; c < depth; c++) {
        if (x[row + c] - mx >= diffMin) {
          const unsat = rdbpot(srdhm(scale, expOf(c).raw), bitsOverUnit + 31 - 8);
          out.push(clampB(unsat - 128n, -128, 127));
        } else out.push(-128);
      }
    }
    return out;
  }

  it(`SOFTMAX: ${CASES} random cases (prepare + kernel against TFLM's algorithm)`, () => {
    const out: QParams = { scale: 1 / 256, zeroPoint: -128 };
    for (let t = 0; t < CASES; t++) {
      const depth = rng.int(1, 12),
        rows = rng.int(1, 3),
        r = rounding();
      const inScale = fround(Math.exp(rng.uniform(Math.log(0.001), Math.log(2))));
      const beta = rng.next() < 0.7 ? 1 : rng.uniform(0.1, 4);
      const x = int8s(rows * depth);
      const options = prepareSoftmax({ scale: inScale, zeroPoint: int8() }, beta, out, r);
      const got = runOp(opOf('SOFTMAX', [0], [1], options), [act('x', [rows, depth]), act('y', [rows, depth])], [x], r);
      assert.deepEqual(
        Array.from(got),
        softmaxRef(x, depth, beta, inScale, r),
        `case ${t} scale=${inScale} beta=${beta}`,
      );
    }
  });

  it('SOFTMAX: dequantized outputs are within 2/256 of the float softmax', () => {
    const out: QParams = { scale: 1 / 256, zeroPoint: -128 };
    for (let t = 0; t < 200; t++) {
      const depth = rng.int(2, 10),
        inScale = fround(rng.uniform(0.01, 0.2));
      const x = int8s(depth);
      const got = runOp(
        opOf('SOFTMAX', [0], [1], prepareSoftmax({ scale: inScale, zeroPoint: 0 }, 1, out, 'double')),
        [act('x', [1, depth]), act('y', [1, depth])],
        [x],
        'double',
      );
      const e = Array.from(x, (v) => Math.exp(inScale * v));
      const s = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < depth; c++) assert.ok(Math.abs((got[c] + 128) / 256 - e[c] / s) <= 2 / 256, `case ${t}`);
    }
  });

  /** Runs a 256-entry table op on every int8 input and returns the outputs. */
  function runTable(opcode: 'LOGISTIC' | 'TANH' | 'QUANTIZE' | 'LEAKY_RELU', table: number[], r: Rounding): number[] {
    const x = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    return Array.from(runOp(opOf(opcode, [0], [1], { table }), [act('x', [256]), act('y', [256])], [x], r));
  }
  const allInputs = Array.from({ length: 256 }, (_, i) => i - 128);
  const randomScale = () => fround(Math.exp(rng.uniform(Math.log(1e-3), Math.log(1))));
  const TABLE_CASES = 300; // × 256 inputs each

  it(`LOGISTIC: ${TABLE_CASES} random input quantizations × 256 inputs against reference_integer_ops::Logistic`, () => {
    for (let t = 0; t < TABLE_CASES; t++) {
      const inp = { scale: randomScale(), zeroPoint: int8() },
        r = rounding();
      const got = runTable('LOGISTIC', prepareLogistic(inp, { scale: 1 / 256, zeroPoint: -128 }, r).table, r);
      const [m, shift] = quantizeMultiplierRef(inp.scale * 2 ** 27);
      const radius = inputRadius(4, shift);
      const want = allInputs.map((q) => {
        const v = q - inp.zeroPoint;
        if (v <= -radius) return -128;
        if (v >= radius) return 127;
        const out = rdbpot(logisticRef(fp(mbqm(B(v), m, shift, r), 4)).raw, 23);
        return clampB(out - 128n, -128, 127);
      });
      assert.deepEqual(got, want, `case ${t}`);
      allInputs.forEach((q, i) =>
        assert.ok(
          Math.abs((got[i] + 128) / 256 - 1 / (1 + Math.exp(-inp.scale * (q - inp.zeroPoint)))) <= 1 / 256 + 1e-9,
        ),
      );
    }
  });

  it(`TANH: ${TABLE_CASES} random input quantizations × 256 inputs against reference_integer_ops::Tanh`, () => {
    for (let t = 0; t < TABLE_CASES; t++) {
      const inp = { scale: randomScale(), zeroPoint: int8() },
        r = rounding();
      const got = runTable('TANH', prepareTanh(inp, { scale: 1 / 128, zeroPoint: 0 }, r).table, r);
      const [m, shift] = quantizeMultiplierRef(inp.scale * 2 ** 27);
      const radius = inputRadius(4, shift);
      const want = allInputs.map((q) => {
        const v = q - inp.zeroPoint;
        if (v <= -radius) return -128;
        if (v >= radius) return 127;
        return clampB(rdbpot(tanhRef(fp(mbqm(B(v), m, shift, r), 4)).raw, 24), -128, 127);
      });
      assert.deepEqual(got, want, `case ${t}`);
      allInputs.forEach((q, i) =>
        assert.ok(Math.abs(got[i] / 128 - Math.tanh(inp.scale * (q - inp.zeroPoint))) <= 1 / 128 + 1e-9),
      );
    }
  });

  it(`QUANTIZE (int8 → int8 requantize): ${TABLE_CASES} random parameter pairs × 256 inputs`, () => {
    for (let t = 0; t < TABLE_CASES; t++) {
      const inp = { scale: randomScale(), zeroPoint: int8() },
        out = { scale: randomScale(), zeroPoint: int8() },
        r = rounding();
      const got = runTable('QUANTIZE', prepareQuantize(inp, out, r).table, r);
      const [m, shift] = quantizeMultiplierRef(inp.scale / out.scale);
      assert.deepEqual(
        got,
        allInputs.map((q) => clampB(mbqm(B(q - inp.zeroPoint), m, shift, r) + B(out.zeroPoint), -128, 127)),
        `case ${t}`,
      );
    }
  });

  it(`RELU / clip as QUANTIZE: ${TABLE_CASES} random cases against ReluQuantized`, () => {
    for (let t = 0; t < TABLE_CASES; t++) {
      const inp = { scale: randomScale(), zeroPoint: int8() },
        out = { scale: randomScale(), zeroPoint: int8() },
        r = rounding();
      const clamp: Clamp = rng.pick([
        { min: 0, max: Infinity },
        { min: 0, max: 6 },
        { min: -1, max: 1 },
      ]);
      const lo = Math.max(
        -128,
        out.zeroPoint + Math.sign(clamp.min / out.scale) * Math.round(Math.abs(fround(clamp.min / out.scale))),
      );
      const hi =
        clamp.max === Infinity ? 127 : Math.min(127, out.zeroPoint + Math.round(fround(clamp.max / out.scale)));
      if (lo > hi) {
        t--;
        continue;
      }
      const got = runTable('QUANTIZE', prepareRelu(inp, out, clamp, r).table, r);
      const [m, shift] = quantizeMultiplierRef(fround(inp.scale / out.scale));
      assert.deepEqual(
        got,
        allInputs.map((q) => clampB(B(out.zeroPoint) + mbqm(B(q - inp.zeroPoint), m, shift, r), lo, hi)),
        `case ${t}`,
      );
    }
  });

  it(`LEAKY_RELU: ${TABLE_CASES} random cases against QuantizeLeakyRelu`, () => {
    for (let t = 0; t < TABLE_CASES; t++) {
      const inp = { scale: randomScale(), zeroPoint: int8() },
        out = { scale: randomScale(), zeroPoint: int8() },
        r = rounding();
      const alpha = fround(rng.uniform(0.001, 0.9));
      const got = runTable('LEAKY_RELU', prepareLeakyRelu(inp, out, alpha, r).table, r);
      const [mi, si] = quantizeMultiplierRef(fround(inp.scale / out.scale));
      const [ma, sa] = quantizeMultiplierRef(fround(fround(inp.scale * alpha) / out.scale));
      assert.deepEqual(
        got,
        allInputs.map((q) => {
          const v = q - inp.zeroPoint;
          return clampB(B(out.zeroPoint) + (v >= 0 ? mbqm(B(v), mi, si, r) : mbqm(B(v), ma, sa, r)), -128, 127);
        }),
        `case ${t}`,
      );
    }
  });

  it(`CONCATENATION: ${CASES} random cases`, () => {
    for (let t = 0; t < CASES; t++) {
      const rank = rng.int(1, 4),
        axis = rng.int(0, rank - 1),
        k = rng.int(1, 4);
      const base = Array.from({ length: rank }, () => rng.int(1, 4));
      const shapes = Array.from({ length: k }, () => base.map((d, i) => (i === axis ? rng.int(1, 3) : d)));
      const outShape = base.map((d, i) => (i === axis ? shapes.reduce((s, sh) => s + sh[axis], 0) : d));
      const xs = shapes.map((s) => int8s(numel(s)));
      const tensors = [...shapes.map((s, i) => act(`x${i}`, s)), act('y', outShape)];
      const got = runOp(
        opOf(
          'CONCATENATION',
          shapes.map((_, i) => i),
          [k],
          { axis },
        ),
        tensors,
        xs,
        'double',
      );
      // Element by coordinates: find which input the axis coordinate falls in.
      for (let i = 0; i < numel(outShape); i++) {
        const coord: number[] = [];
        let rem = i;
        for (let d = rank - 1; d >= 0; d--) {
          coord[d] = rem % outShape[d];
          rem = Math.floor(rem / outShape[d]);
        }
        let which = 0,
          along = coord[axis];
        while (along >= shapes[which][axis]) along -= shapes[which++][axis];
        const c = coord.map((v, d) => (d === axis ? along : v));
        const flat = c.reduce((acc, v, d) => acc * shapes[which][d] + v, 0);
        assert.equal(got[i], xs[which][flat], `case ${t}`);
      }
    }
  });

  it(`PAD: ${CASES} random cases`, () => {
    for (let t = 0; t < CASES; t++) {
      const rank = rng.int(1, 4);
      const shape = Array.from({ length: rank }, () => rng.int(1, 4));
      const paddings = Array.from({ length: 2 * rank }, () => rng.int(0, 2));
      const outShape = shape.map((d, i) => d + paddings[2 * i] + paddings[2 * i + 1]);
      const padValue = int8();
      const x = int8s(numel(shape));
      const got = runOp(
        opOf('PAD', [0], [1], { paddings, pad_value: padValue }),
        [act('x', shape), act('y', outShape)],
        [x],
        'double',
      );
      for (let i = 0; i < numel(outShape); i++) {
        let rem = i,
          inside = true,
          flat = 0;
        const coord: number[] = [];
        for (let d = rank - 1; d >= 0; d--) {
          coord[d] = rem % outShape[d];
          rem = Math.floor(rem / outShape[d]);
        }
        for (let d = 0; d < rank; d++) {
          const c = coord[d] - paddings[2 * d];
          if (c < 0 || c >= shape[d]) inside = false;
          flat = flat * shape[d] + c;
        }
        assert.equal(got[i], inside ? x[flat] : padValue, `case ${t}`);
      }
    }
  });

  it('RESHAPE keeps the bytes', () => {
    for (let t = 0; t < 100; t++) {
      const n = rng.int(1, 50);
      const x = int8s(n);
      assert.deepEqual(
        Array.from(runOp(opOf('RESHAPE', [0], [1], null), [act('x', [1, n]), act('y', [n, 1])], [x], 'double')),
        Array.from(x),
      );
    }
  });

  it('prepareAdd / prepareSub / prepareMul follow TFLM prepare formulas', () => {
    for (let t = 0; t < CASES; t++) {
      const a = { scale: randomScale(), zeroPoint: int8() },
        b = { scale: randomScale(), zeroPoint: int8() },
        y = { scale: randomScale(), zeroPoint: int8() };
      const r = rounding();
      const twice = 2 * Math.max(a.scale, b.scale);
      for (const o of [prepareAdd(a, b, y, undefined, r), prepareSub(a, b, y, undefined, r)]) {
        assert.deepEqual([B(o.input1_multiplier), o.input1_shift], quantizeMultiplierRef(a.scale / twice));
        assert.deepEqual([B(o.input2_multiplier), o.input2_shift], quantizeMultiplierRef(b.scale / twice));
        assert.deepEqual([B(o.output_multiplier), o.output_shift], quantizeMultiplierRef(twice / (2 ** 20 * y.scale)));
        assert.deepEqual(
          [o.input1_offset, o.input2_offset, o.output_offset, o.left_shift],
          [-a.zeroPoint, -b.zeroPoint, y.zeroPoint, 20],
        );
      }
      const m = prepareMul(a, b, y, { min: 0, max: 6 }, r);
      assert.deepEqual([B(m.output_multiplier), m.output_shift], quantizeMultiplierRef((a.scale * b.scale) / y.scale));
      assert.deepEqual(m.activation_min, Math.max(-128, y.zeroPoint));
    }
  });

  it('activationRange: relu, relu6, relu_n1_to_1 like CalculateActivationRangeQuantized', () => {
    const q = { scale: fround(0.05), zeroPoint: -20 };
    assert.deepEqual(activationRange(q, { min: 0, max: Infinity }), { activation_min: -20, activation_max: 127 });
    assert.deepEqual(activationRange(q, { min: 0, max: 6 }), { activation_min: -20, activation_max: 100 });
    assert.deepEqual(activationRange(q, { min: -1, max: 1 }), { activation_min: -40, activation_max: 0 });
    assert.deepEqual(activationRange(q), { activation_min: -128, activation_max: 127 });
    assert.throws(() => activationRange({ scale: 0.001, zeroPoint: 127 }, { min: 1, max: 2 }), /outside/);
  });

  it('foldInputZeroPoint subtracts zp·Σw per output channel and rejects int32 overflow', () => {
    const w = Int8Array.from([1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(foldInputZeroPoint(w, [2, 3], 0, Int32Array.from([10, 20]), 3)), [
      10 - 3 * 6,
      20 - 3 * 15,
    ]);
    assert.deepEqual(Array.from(foldInputZeroPoint(w, [1, 1, 3, 2], 3, undefined, -2)), [2 * 9, 2 * 12]);
    assert.throws(
      () => foldInputZeroPoint(Int8Array.from([127]), [1, 1], 0, Int32Array.from([2147483600]), -128),
      /overflows int32/,
    );
  });
});
