// Whole-model checks the kernels rely on, run once at load after every op is prepared (loadModel). The host runs
// this same code before it writes, sends or reads a blob (host/blob/verify.ts runs the built bundle's load), so a
// blob is refused alike on both sides, with the same MRSL_E_* code. Each op's data is its kernel's own record
// (op.ts): the checks read the fields the kernels share by name.

import type { DenseWeights } from '../kernels/dense';
import type { TensorInfo } from '../op';
import {
  OpCode_AVERAGE_POOL_2D,
  OpCode_BATCH_MATMUL,
  OpCode_CONV_2D,
  OpCode_DEPTHWISE_CONV_2D,
  OpCode_FULLY_CONNECTED,
  OpCode_LEAKY_RELU,
  OpCode_LOGISTIC,
  OpCode_MAX_POOL_2D,
  OpCode_QUANTIZE,
  OpCode_REDUCE,
  OpCode_RESHAPE,
  OpCode_TANH,
} from './layout';
import { fail, failOp } from './reader';

/** Most multiply-adds (and other per-output work) in one inference: beyond it a board would not answer. */
const MAX_WORK = 1073741824;

export function verifyModel(
  infos: TensorInfo[],
  opIns: number[][],
  opOuts: number[],
  opCodes: number[],
  opData: any[],
  inT: number,
  outT: number,
): void {
  const n = opCodes.length,
    first: number[] = [],
    last: number[] = [],
    root: number[] = [];
  for (let t = 0; t < infos.length; t++) {
    first.push(t === inT ? -1 : n + 1);
    last.push(t === outT ? n : -1);
    root.push(t);
  }
  // An activation is read only after it is written (by an earlier op, or as the input), and written once. A
  // reshape's output may take its input's bytes, and so may a lookup op's whose input (with everything sharing
  // its bytes) is not read later (host/plan/planner.ts): such tensors share a root.
  let work = 0;
  for (let k = 0; k < n; k++) {
    const ins = opIns[k],
      y = opOuts[k];
    for (let i = 0; i < ins.length; i++) {
      const t = ins[i];
      if (infos[t].buffer >= 0) continue;
      if (first[t] >= k) failOp('ORDER', k, 'reads tensor ' + t + ' unwritten');
      if (k > last[t]) last[t] = k;
    }
    if (first[y] <= n) failOp('ORDER', k, 'rewrites tensor ' + y);
    first[y] = k;
  }
  // Aliases are decided once every read is known (the planner's rule looks at the whole graph).
  for (let k = 0; k < n; k++) {
    const x = opIns[k][0],
      y = opOuts[k],
      p = opData[k],
      c = opCodes[k];
    if (infos[x].arenaOffset === infos[y].arenaOffset && infos[x].count === infos[y].count) {
      let inPlace = c === OpCode_RESHAPE;
      if (c === OpCode_LOGISTIC || c === OpCode_TANH || c === OpCode_QUANTIZE || c === OpCode_LEAKY_RELU) {
        inPlace = true;
        for (let t = 0; t < infos.length; t++) if (root[t] === root[x] && last[t] > k) inPlace = false;
      }
      if (inPlace) root[y] = root[x];
    }

    const g = p.g !== undefined ? p.g : p;
    // A pool window that holds no input value: AVERAGE_POOL_2D would divide by zero (TFLM's too).
    if (
      (c === OpCode_MAX_POOL_2D || c === OpCode_AVERAGE_POOL_2D) &&
      !(
        g.padTop < g.kH &&
        g.padLeft < g.kW &&
        (g.outH - 1) * g.strideH - g.padTop < g.inH &&
        (g.outW - 1) * g.strideW - g.padLeft < g.inW
      )
    )
      failOp('SHAPE', k, 'has an empty pool window');
    // Per-output work: a dense row's depth, a conv window's taps, a pool window's kH·kW, a reduction's count, a
    // batch matmul's depth.
    let per = 1;
    if (c === OpCode_FULLY_CONNECTED || c === OpCode_BATCH_MATMUL) per = p.depth;
    else if (c === OpCode_REDUCE) per = p.count;
    else if (c === OpCode_CONV_2D || c === OpCode_DEPTHWISE_CONV_2D) per = p.taps;
    else if (c === OpCode_MAX_POOL_2D || c === OpCode_AVERAGE_POOL_2D) per = g.kH * g.kW;
    work += infos[y].count * (per > 1 ? per : 1);
    if (c === OpCode_FULLY_CONNECTED) verifyAccumulators(p.weights, k, p.outs, p.depth, p.depth, 1);
    else if (c === OpCode_CONV_2D) verifyAccumulators(p.weights, k, g.outC, p.taps, p.taps, 1);
    else if (c === OpCode_DEPTHWISE_CONV_2D) verifyAccumulators(p.weights, k, g.outC, p.taps, 1, g.outC);
  }
  if (first[outT] > n) fail('ORDER', 'output unwritten');
  if (work > MAX_WORK) fail('WORK', work + ' MACs');
  // Tensors of different roots live at once (a step in both's [write, last read]) never share an arena byte.
  for (let a = 0; a < infos.length; a++) {
    for (let b = a + 1; b < infos.length; b++) {
      const ia = infos[a],
        ib = infos[b];
      if (
        ia.buffer < 0 &&
        ib.buffer < 0 &&
        root[a] !== root[b] &&
        first[a] <= n &&
        first[b] <= n &&
        first[a] <= (last[b] > first[b] ? last[b] : first[b]) &&
        first[b] <= (last[a] > first[a] ? last[a] : first[a]) &&
        ia.arenaOffset < ib.arenaOffset + ib.count &&
        ib.arenaOffset < ia.arenaOffset + ia.count
      )
        fail('OVERLAP', 'tensors ' + a + ', ' + b);
    }
  }
}

/**
 * Every accumulator, |bias| + 128·Σ|w| (an int8 input reaches −128), within int32: the engines sum in doubles or
 * 64-bit integers and agree with the int32 reference only there. Channel c's weights start at c·rowStep, tapStep
 * apart. Real models pass on the first bound, which reads no weights.
 */
function verifyAccumulators(
  p: DenseWeights,
  k: number,
  rows: number,
  taps: number,
  rowStep: number,
  tapStep: number,
): void {
  const maxW = p.packed === null || p.packed.bits === 8 ? 128 : p.packed.bits === 4 ? 8 : 2;
  for (let c = 0; c < rows; c++) {
    let sum = taps * maxW;
    if (p.packed === null && Math.abs(p.bias[c]) + sum * 128 > 2147483647) {
      sum = 0;
      for (let t = 0; t < taps; t++) sum += Math.abs(p.w[p.wOff + c * rowStep + t * tapStep]);
    }
    if (Math.abs(p.bias[c]) + sum * 128 > 2147483647) failOp('ACCUMULATOR', k, 'channel ' + c + ' overflows int32');
  }
}
