// Per-op kernel tests, as TFLM's KernelRunner and conv_test.cc: a one-op model built from tensors and options, run
// on the host int8 reference and, through the built device bundles, on every engine. One engine process per engine
// runs all the cases of a test file; every output byte must equal the host's.
//
//   const cases = [kernelCase('3x3 stride 2', 'CONV_2D', options, [x, w, b], y), ...];
//   describeKernelCases('CONV_2D', cases);
//
// The model's one input is the op's first input (an activation); its other inputs are constants (`data` set).

import { strict as assert } from 'assert';
import { encodeModel } from '../../host/blob/encode';
import { verifyBlob } from '../../host/blob/verify';
import type { WeightLayout } from '../../host/blob/weights';
import { type Engine, ENGINES, runBatchOnEngine } from '../../host/engines';
import { runInt8 } from '../../host/interp/int8/interpreter';
import type { OpCodeName, OptionsByOp, QModel, QTensor, WeightBits } from '../../host/ir/qmodel';
import { numel } from '../../host/ir/shape';
import { planMemory } from '../../host/plan/planner';
import type { RoundingMode } from '../../host/quantize/fixedpoint';
import { Rng } from '../../host/util/rng';

export interface KernelCase {
  name: string;
  model: QModel;
  /** Values of the model's input, one array per inference. */
  inputs: Int8Array[];
  /** How the encoder stores packable weights (default: its own choice). */
  layout?: WeightLayout;
}

/** An int8 activation. */
export function activation(name: string, shape: number[], scale = 0.05, zeroPoint = 0): QTensor {
  return { name, shape, type: 'int8', scale: [scale], zeroPoint: [zeroPoint], quantizedDimension: 0, arenaOffset: -1 };
}

/** An int8 constant (weights, a second operand), `bits` wide when packed. */
export function constant(name: string, shape: number[], values: ArrayLike<number>, bits: WeightBits = 8): QTensor {
  if (values.length !== numel(shape)) throw new Error(`constant ${name}: ${values.length} values for [${shape}]`);
  return {
    ...activation(name, shape, 0.01, 0),
    data: Int8Array.from(values),
    ...(bits !== 8 && { weightBits: bits }),
  };
}

/** An int32 bias of one value per output channel. */
export function bias(name: string, values: ArrayLike<number>): QTensor {
  return { ...activation(name, [values.length], 0.0005, 0), type: 'int32', data: Int32Array.from(values) };
}

/**
 * Inputs that reach the kernels' edges: every value at −128, every value at 127, values alternating between them,
 * and `random` arrays of random values.
 */
export function edgeInputs(shape: number[], rng: Rng, random = 2): Int8Array[] {
  const n = numel(shape);
  return [
    new Int8Array(n).fill(-128),
    new Int8Array(n).fill(127),
    Int8Array.from({ length: n }, (_, i) => (i % 2 ? 127 : -128)),
    ...Array.from({ length: random }, () => Int8Array.from({ length: n }, () => rng.int(-128, 127))),
  ];
}

/** output_multiplier 2^30 with shift 1: y = acc exactly in every rounding mode (golden values by hand). */
export const IDENTITY_REQUANT = { output_multiplier: [1073741824], output_shift: [1] };

/**
 * Requantization of `channels` channels (one per tensor when 1): multipliers over their whole Q0.31 range, shifts
 * that keep most outputs in range, or (`saturate`) so small that most outputs clamp.
 */
export function randomRequant(rng: Rng, channels: number, saturate = false) {
  return {
    output_multiplier: Array.from({ length: channels }, () => rng.int(1073741824, 2147483647)),
    output_shift: Array.from({ length: channels }, () => (saturate ? rng.int(-4, 2) : rng.int(-12, -7))),
  };
}

/** How a weighted op's case (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D) draws its weights, bias and requantization. */
export interface WeightSpec {
  /** One multiplier and shift per output channel (default) or one for the tensor. */
  perChannel?: boolean;
  rounding?: RoundingMode;
  bits?: WeightBits;
  layout?: WeightLayout;
  /** The fraction of weights that are zero. */
  sparsity?: number;
  /** The bias of every channel (default: random). */
  biasValue?: number;
  /** The weights' values are drawn from −w..w (and within their bits' range). */
  weightRange?: number;
  /** Output shifts so small that most outputs saturate. */
  saturate?: boolean;
  /** Every channel's output shift (default: random). */
  shift?: number;
}

/** Random weights of shape `wShape`, a bias for each of `channels` channels and their requantization, per `spec`. */
export function weightedOperands(rng: Rng, spec: WeightSpec, wShape: number[], channels: number) {
  const bits = spec.bits ?? 8;
  const range = Math.min(spec.weightRange ?? 127, bits === 8 ? 127 : bits === 4 ? 7 : 1);
  const values = Array.from({ length: numel(wShape) }, () =>
    rng.next() < (spec.sparsity ?? 0) ? 0 : rng.int(-range, range),
  );
  const w = constant('w', wShape, values, bits);
  const b = bias(
    'b',
    Array.from({ length: channels }, () => spec.biasValue ?? rng.int(-20000, 20000)),
  );
  const requant = randomRequant(rng, spec.perChannel === false ? 1 : channels, spec.saturate);
  if (spec.shift !== undefined) requant.output_shift.fill(spec.shift);
  return { w, b, requant };
}

/** A one-op model: `inputs[0]` is the model's input, `output` its output; planned for the arena. */
export function kernelCase<K extends OpCodeName>(
  name: string,
  opcode: K,
  options: OptionsByOp[K],
  inputs: QTensor[],
  output: QTensor,
  opts: { rounding?: RoundingMode; values?: Int8Array[]; layout?: WeightLayout; seed?: number } = {},
): KernelCase {
  if (inputs[0].data) throw new Error(`${name}: the first input must be an activation`);
  const tensors = [...inputs, output];
  const model = {
    name,
    producer: 'kernel-runner',
    rounding: opts.rounding ?? 'double',
    tensors,
    ops: [{ opcode, options, inputs: inputs.map((_, i) => i), outputs: [inputs.length], name }],
    inputs: [0],
    outputs: [inputs.length],
    arenaBytes: 0,
  } as QModel;
  planMemory(model);
  const values = opts.values ?? edgeInputs(inputs[0].shape, new Rng(opts.seed ?? 1));
  return { name, model, inputs: values, layout: opts.layout };
}

/** The host int8 reference's outputs of a case, one per input. */
export function hostOutputs(c: KernelCase): Int8Array[] {
  return c.inputs.map((x) => runInt8(c.model, [x])[0]);
}

/** Cases whose outputs differ between the host and `engine`, as lines naming the case, the input and the bytes. */
export async function engineMismatches(engine: Engine, cases: KernelCase[]): Promise<string[]> {
  const jobs = cases.map((c) => ({ blob: encodeModel(c.model, { layout: c.layout }), inputs: c.inputs }));
  const runs = await runBatchOnEngine(engine, jobs);
  const hex = (a: Int8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).toString('hex');
  const bad: string[] = [];
  cases.forEach((c, k) => {
    hostOutputs(c).forEach((want, i) => {
      const got = hex(runs[k].outputs[i]);
      if (got !== hex(want)) bad.push(`${c.name}, input ${i}: host ${hex(want)}, ${engine} ${got}`);
    });
  });
  return bad;
}

/**
 * Mocha tests for a file's cases: every blob passes the one verifier, and every engine (one process each) is
 * bit-exact with the host on every input of every case.
 */
export function describeKernelCases(title: string, cases: () => KernelCase[], engines: readonly Engine[] = ENGINES) {
  describe(`${title} kernel: one-op models on every engine (bit-exact with the host int8 reference)`, function () {
    this.timeout(120000);
    let all: KernelCase[] = [];
    before(() => {
      all = cases();
    });
    it('every case passes the host verifier (device/format/verify.ts and the prepare checks)', () => {
      assert.ok(all.length > 0);
      for (const c of all) verifyBlob(encodeModel(c.model, { layout: c.layout }));
    });
    for (const engine of engines) {
      it(`${engine}: every case bit-exact`, async () => {
        const bad = await engineMismatches(engine, all);
        assert.deepEqual(bad.slice(0, 5), [], `${bad.length} mismatching outputs`);
      });
    }
  });
}
