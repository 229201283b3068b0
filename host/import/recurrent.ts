// LSTM and GRU cells unrolled on the host over their fixed sequence length into ops the device already runs
// (FULLY_CONNECTED, ADD, SUB, MUL, LOGISTIC, TANH, GATHER_STRIDED): every importer (ONNX, TF.js) hands one direction
// of a layer here with its weights in ONNX's gate order. The device's eval stays the flat op loop; the weights are
// one constant per direction, shared by every time step (the quantizer stores a shared weight once). The int8
// design and its accuracy are in device/README.md ("Recurrent layers").

import type { Expr } from '../ir/elementwise';
import { type Graph, type Op, tensor } from '../ir/graph';
import { checkActivation } from './limits';

export type Cell = 'lstm' | 'gru';

/** Gates per cell: LSTM i, o, f, c; GRU z, r, h (ONNX's order). */
export const GATES: Record<Cell, number> = { lstm: 4, gru: 3 };

export interface RecurrentDirection {
  cell: Cell;
  hidden: number;
  /** Input weights [gates·hidden, features] in ONNX's gate order. */
  w: Float32Array;
  /** Recurrent weights [gates·hidden, hidden]. */
  r: Float32Array;
  /** Input and recurrent biases [gates·hidden] (ONNX's Wb and Rb). */
  wb: Float32Array;
  rb: Float32Array;
  /** GRU: the reset gate applied after the recurrent product (ONNX linear_before_reset = 1, Keras reset_after). */
  linearBeforeReset: boolean;
  /** Steps run from the last time step to the first (outputs still indexed by time). */
  reverse: boolean;
  /** The gates' activation when it is not the logistic sigmoid (Keras' hard_sigmoid): one element-wise table. */
  gate?: Expr;
  /** IR tensors [1, hidden] of the initial hidden (and LSTM cell) state; absent means zeros. */
  initialH?: string;
  initialC?: string;
}

export interface Unrolled {
  /** The hidden state after each time step, indexed by time: IR tensors [1, hidden]. */
  ys: string[];
  /** The final hidden (and LSTM cell) state: after the last step run (time 0 for a reverse direction). */
  h: string;
  c?: string;
}

/** Emits IR ops named `${prefix}/…` into `g`. */
class Steps {
  private count = 0;
  constructor(
    private readonly g: Graph,
    private readonly prefix: string,
  ) {}

  op(tag: string, op: Omit<Op, 'outputs'>, shape: number[]): string {
    const name = `${this.prefix}/${tag}${this.count++}`;
    checkActivation(shape, `activation '${name}'`);
    this.g.tensors.set(name, { name, dtype: 'float32', shape });
    this.g.nodes.push({ name, op: { ...op, outputs: [name] } as Op });
    return name;
  }
  constant(tag: string, shape: number[], data: Float32Array): string {
    const name = `${this.prefix}/${tag}`;
    this.g.tensors.set(name, { name, dtype: 'float32', shape, data });
    return name;
  }
  /**
   * A recurrent weight, quantized per tensor (as TFLM's int8 LSTM): every step's FULLY_CONNECTED then carries one
   * multiplier instead of one per output channel, which a board holds in RAM for each of the steps.
   */
  weights(tag: string, shape: number[], data: Float32Array): string {
    const name = this.constant(tag, shape, data);
    const maxAbs = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    this.g.tensors.get(name)!.quant = { scale: [Math.fround(maxAbs / 127 || 1)], zeroPoint: [0] };
    return name;
  }
  dense(x: string, weights: string, bias: string | undefined, out: number): string {
    const rows = tensor(this.g, x).shape[0];
    return this.op('dense', { kind: 'dense', inputs: bias ? [x, weights, bias] : [x, weights], attrs: {} }, [
      rows,
      out,
    ]);
  }
  /** `width` values of row `row` of a [rows, stride] tensor, from column `column`, as [1, width]. */
  slice(x: string, row: number, column: number, width: number): string {
    const stride = tensor(this.g, x).shape[1];
    if (row === 0 && column === 0 && width === stride && tensor(this.g, x).shape[0] === 1) return x;
    const attrs = { offset: row * stride + column, shape: [1, width], strides: [width, 1] };
    return this.op('slice', { kind: 'gather_strided', inputs: [x], attrs }, [1, width]);
  }
  binary(kind: 'add' | 'sub' | 'mul', a: string, b: string): string {
    return this.op(kind, { kind, inputs: [a, b], attrs: {} }, tensor(this.g, a).shape);
  }
  unary(kind: 'sigmoid' | 'tanh', x: string): string {
    return this.op(kind, { kind, inputs: [x], attrs: {} }, tensor(this.g, x).shape);
  }
  elementwise(expr: Expr, x: string): string {
    return this.op('gate', { kind: 'elementwise', inputs: [x], attrs: { expr } }, tensor(this.g, x).shape);
  }
}

/** Rows [from, from + count) of a row-major [rows, cols] matrix. */
const rows = (m: Float32Array, cols: number, from: number, count: number) =>
  m.subarray(from * cols, (from + count) * cols);

/**
 * One direction of an LSTM or GRU layer over IR tensor `x` ([steps, features], row-major), as IR ops in `g`.
 * The input projection of all steps is one FULLY_CONNECTED ([steps, gates·hidden], both biases folded in where
 * the cell allows); each step adds one recurrent FULLY_CONNECTED and the gates' element-wise ops. A zero initial
 * state skips the first step's recurrent terms.
 */
export function unrollRecurrent(g: Graph, prefix: string, x: string, d: RecurrentDirection): Unrolled {
  const s = new Steps(g, prefix);
  const [steps, features] = tensor(g, x).shape;
  const H = d.hidden;
  const G = GATES[d.cell];
  const gru = d.cell === 'gru';
  // Biases folded into the input projection: all of Rb, except a GRU's hidden-gate Rb when the reset gate scales it.
  const bias = Float32Array.from(d.wb, (b, i) => b + (gru && d.linearBeforeReset && i >= 2 * H ? 0 : d.rb[i]));
  const projection = s.dense(x, s.constant('W', [G * H, features], d.w), s.constant('bias', [G * H], bias), G * H);
  // GRU: the update/reset rows and the hidden-gate rows of R are separate products (the reset gate sits between).
  const recurrent = gru ? s.weights('R_zr', [2 * H, H], rows(d.r, H, 0, 2 * H)) : s.weights('R', [G * H, H], d.r);
  const recurrentH = gru ? s.weights('R_h', [H, H], rows(d.r, H, 2 * H, H)) : '';
  const hiddenBias = gru && d.linearBeforeReset ? s.constant('Rb_h', [H], d.rb.slice(2 * H)) : undefined;
  const hiddenBiasRow =
    hiddenBias && d.rb.subarray(2 * H).some((v) => v !== 0)
      ? s.constant('Rb_h_row', [1, H], d.rb.slice(2 * H))
      : undefined;
  const zero = (t: string | undefined) => t === undefined || (tensor(g, t).data?.every((v) => v === 0) ?? false);
  let h = zero(d.initialH) ? undefined : d.initialH;
  let c = zero(d.initialC) ? undefined : d.initialC;
  const gate = (pre: string) => (d.gate ? s.elementwise(d.gate, pre) : s.unary('sigmoid', pre));
  const ys: string[] = new Array(steps);
  for (let k = 0; k < steps; k++) {
    const t = d.reverse ? steps - 1 - k : k;
    if (!gru) {
      const xt = s.slice(projection, t, 0, G * H);
      const pre = h ? s.binary('add', xt, s.dense(h, recurrent, undefined, G * H)) : xt;
      // One table over all four gates' pre-activations costs fewer ops (and tables) than one per gate.
      const gates = gate(pre);
      const [input, output, forget] = [0, 1, 2].map((i) => s.slice(gates, 0, i * H, H));
      const candidate = s.unary('tanh', s.slice(pre, 0, 3 * H, H));
      const admitted = s.binary('mul', input, candidate);
      c = c ? s.binary('add', s.binary('mul', forget, c), admitted) : admitted;
      h = s.binary('mul', output, s.unary('tanh', c));
    } else {
      const xzr = s.slice(projection, t, 0, 2 * H);
      const zr = gate(h ? s.binary('add', xzr, s.dense(h, recurrent, undefined, 2 * H)) : xzr);
      const [update, reset] = [s.slice(zr, 0, 0, H), s.slice(zr, 0, H, H)];
      const xh = s.slice(projection, t, 2 * H, H);
      let recurrentTerm: string | undefined;
      if (d.linearBeforeReset) {
        // r ⊙ (R_h·h + Rb_h); with h = 0 only the bias is left (nothing when it is zero).
        if (h) recurrentTerm = s.binary('mul', reset, s.dense(h, recurrentH, hiddenBias, H));
        else if (hiddenBiasRow) recurrentTerm = s.binary('mul', reset, hiddenBiasRow);
      } else if (h) recurrentTerm = s.dense(s.binary('mul', reset, h), recurrentH, undefined, H);
      const candidate = s.unary('tanh', recurrentTerm ? s.binary('add', xh, recurrentTerm) : xh);
      // h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n); with h = 0, n − z ⊙ n.
      h = h
        ? s.binary('add', candidate, s.binary('mul', update, s.binary('sub', h, candidate)))
        : s.binary('sub', candidate, s.binary('mul', update, candidate));
    }
    ys[t] = h;
  }
  return { ys, h: h!, ...(c ? { c } : {}) };
}

/**
 * IR tensor [count, hidden] holding `parts` (each [1, hidden]) in order: one CONCATENATION (the part itself when
 * there is one).
 */
export function stackRows(g: Graph, name: string, parts: string[]): string {
  if (parts.length === 1) return parts[0];
  const H = tensor(g, parts[0]).shape[1];
  checkActivation([parts.length, H], `activation '${name}'`);
  g.tensors.set(name, { name, dtype: 'float32', shape: [parts.length, H] });
  g.nodes.push({ name, op: { kind: 'concat', inputs: parts, outputs: [name], attrs: { axis: 0 } } });
  return name;
}
