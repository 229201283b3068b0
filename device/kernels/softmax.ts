// SOFTMAX (TFLite int8, reference_ops::Softmax) over rows of the last axis, with the host's exp table: sum the
// exps in Q12.19, take gemmlowp's reciprocal, scale each exp to 1/256 units, shift to zero point -128.
// Same steps as host/interp/int8/softmax.ts and host/quantize/gemmlowp.ts, in doubles (no bitwise ops).

const SOFTMAX_ACCUMULATION_BITS = 12;
const INT32_MAX = TWO31 - 1;

function prepareSoftmax(b: Blob, p: PreparedOp, opt: number, oi: number, xInfo: TensorInfo): void {
  if (xInfo.count !== p.count) badShape(oi, 'softmax output and input sizes differ');
  p.table = intVector(b, opt, SoftmaxOptions_exp_table);
  let ok = p.table.length === 256;
  // Each exp rescaled to the accumulator's Q12.19, once here rather than per element.
  p.expSum = [];
  for (let d = 0; d < 256 && ok; d++) {
    ok = p.table[d] >= 0;
    p.expSum.push(roundingDivideByPOT(p.table[d], SOFTMAX_ACCUMULATION_BITS));
  }
  if (!ok) badOptions(oi, 'softmax exp table needs 256 entries >= 0');
  p.depth = xInfo.shape[xInfo.shape.length - 1];
  p.batches = p.count / p.depth;
}

function softmax(p: PreparedOp): void {
  let x = p.x,
    y = p.y,
    depth = p.depth,
    table = p.table,
    expSum = p.expSum,
    xo = p.xOff,
    yo = p.yOff;
  for (let r = 0; r < p.batches; r++) {
    let base = xo + r * depth,
      yBase = yo + r * depth;
    let max = -128;
    for (let c = 0; c < depth; c++) if (x[base + c] > max) max = x[base + c];
    let sum = 0;
    for (let k = 0; k < depth; k++) sum += expSum[max - x[base + k]];
    // TFLite's GetReciprocal of the int32 sum: normalise to [1, 2), 1/x in Q0.31, and the bits above one.
    sum = wrapInt32(sum);
    let headroomPlusOne = leadingZeros32(sum);
    let shiftedSumMinusOne = wrapInt32(wrapInt32(sum * POW2[headroomPlusOne]) + TWO31);
    let reciprocal = oneOverOnePlusX(shiftedSumMinusOne);
    let exponent = SOFTMAX_ACCUMULATION_BITS - headroomPlusOne + 31 - 8;
    for (let j = 0; j < depth; j++) {
      let v = roundingDivideByPOT(srdhm(reciprocal, table[max - x[base + j]]), exponent) - 128;
      y[yBase + j] = v > 127 ? 127 : v < -128 ? -128 : v;
    }
  }
}

/** Math.clz32 of an int32 (0 for negatives, 32 for 0). */
function leadingZeros32(x: number): number {
  if (x < 0) return 0;
  if (x === 0) return 32;
  let n = 1;
  for (let t = TWO30; x < t; t = t / 2) n++;
  return n;
}

/** gemmlowp SaturatingRoundingMultiplyByPOT for exponent > 0: saturating left shift of an int32. */
function saturatingShiftLeft(x: number, exponent: number): number {
  let threshold = POW2[31 - exponent] - 1;
  return x > threshold ? INT32_MAX : x < -threshold ? -TWO31 : x * POW2[exponent];
}

/** gemmlowp one_over_one_plus_x_for_x_in_0_1: three Newton-Raphson steps on half the denominator in Q2.29. */
function oneOverOnePlusX(a: number): number {
  let halfSum = a + INT32_MAX;
  halfSum = (halfSum + (halfSum >= 0 ? 1 : -1)) / 2;
  let halfDenominator = halfSum >= 0 ? floor(halfSum) : -floor(-halfSum);
  let x = wrapInt32(1515870810 + srdhm(halfDenominator, -1010580540));
  for (let i = 0; i < 3; i++) {
    let oneMinusHalfDenominatorTimesX = wrapInt32(TWO30 / 2 - srdhm(halfDenominator, x));
    x = wrapInt32(x + saturatingShiftLeft(srdhm(x, oneMinusHalfDenominatorTimesX), 2));
  }
  return saturatingShiftLeft(x, 1);
}
