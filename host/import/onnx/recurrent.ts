// ONNX LSTM and GRU (opsets 7–21) → one unrolled IR subgraph per direction (../recurrent.ts). Every attribute is
// read: direction (forward, reverse, bidirectional), hidden_size, layout 0 and 1, GRU linear_before_reset; the
// default activations only (others, activation_alpha/beta, clip and input_forget are refused naming the attribute);
// sequence_lens absent or equal to the sequence length; initial_h / initial_c as constants or activations; the
// outputs Y, Y_h and Y_c, any of them absent.

import { numel } from '../../ir/graph';
import { type Cell, GATES, type RecurrentDirection, stackRows, unrollRecurrent } from '../recurrent';
import type { Act } from './layout';
import type { OnnxNode } from './node';

const DEFAULT_ACTIVATIONS: Record<Cell, string[]> = { lstm: ['Sigmoid', 'Tanh', 'Tanh'], gru: ['Sigmoid', 'Tanh'] };
const DIRECTIONS: Record<string, boolean[]> = { forward: [false], reverse: [true], bidirectional: [false, true] };

/** The [1, hidden] IR tensor of direction `d` of a state input [directions, 1, hidden] (or [1, directions, hidden]). */
function stateOf(n: OnnxNode, input: string | undefined, d: number, H: number, what: string): string | undefined {
  if (!input) return undefined;
  const k = n.constOf(input);
  if (k) {
    if (k.data.length % H !== 0 || k.data.length / H <= d) throw n.error(`${what} [${k.dims}] does not fit`);
    return n.cx.addConst(`${n.name}/${what}${d}`, [1, H], k.data.subarray(d * H, (d + 1) * H));
  }
  const a: Act = n.needAct(input);
  if (numel(a.shape) / H <= d) throw n.error(`${what} [${a.shape}] does not fit`);
  const order = Int32Array.from({ length: H }, (_, i) => d * H + i);
  return n.cx.gather(a, order, [1, H], `${n.name}/${what}${d}`, n.where);
}

function recurrent(n: OnnxNode, cell: Cell): void {
  const G = GATES[cell];
  const activations = n.has('activations') ? n.strs('activations') : undefined;
  const defaults = DEFAULT_ACTIVATIONS[cell];
  if (activations?.some((a, i) => a.toLowerCase() !== defaults[i % defaults.length].toLowerCase()))
    throw n.error(`activations [${activations}] are not supported (only the defaults ${defaults.join(', ')})`);
  for (const attr of ['activation_alpha', 'activation_beta', 'clip'])
    if (n.has(attr)) throw n.error(`the attribute ${attr} is not supported`);
  if (cell === 'lstm' && n.int('input_forget', 0)) throw n.error('the attribute input_forget is not supported');
  const direction = n.str('direction', 'forward');
  const reverse = DIRECTIONS[direction];
  if (!reverse) throw n.error(`direction '${direction}' is not one of forward, reverse, bidirectional`);
  const layout = n.int('layout', 0);
  if (layout !== 0 && layout !== 1) throw n.error(`layout ${layout} is not 0 or 1`);
  const x = n.needAct(n.ins[0]);
  if (x.shape.length !== 3) throw n.error(`X must be 3-D (got [${x.shape}])`);
  const [steps, batch, features] = layout === 0 ? x.shape : [x.shape[1], x.shape[0], x.shape[2]];
  if (batch !== 1) throw n.error(`batch ${batch}: only batch 1 is supported`);
  const w = n.needConst(n.ins[1], 'W');
  const r = n.needConst(n.ins[2], 'R');
  const D = reverse.length;
  const H = n.int('hidden_size', r.dims[2]);
  if (w.dims.join() !== [D, G * H, features].join() || r.dims.join() !== [D, G * H, H].join())
    throw n.error(`W [${w.dims}] and R [${r.dims}] do not fit ${D} direction(s) of ${G}×${H} over ${features} inputs`);
  const b = n.ins[3] ? n.needConst(n.ins[3], 'B') : undefined;
  if (b && numel(b.dims) !== D * 2 * G * H) throw n.error(`B [${b.dims}] does not fit [${D}, ${2 * G * H}]`);
  const lens = n.ins[4] ? n.needConst(n.ins[4], 'sequence_lens') : undefined;
  if (lens && Array.from(lens.data).some((l) => l !== steps))
    throw n.error(`sequence_lens [${Array.from(lens.data)}] differ from the sequence length ${steps}; not supported`);
  const peepholes = cell === 'lstm' && n.ins[7] ? n.needConst(n.ins[7], 'P') : undefined;
  if (peepholes?.data.some((v) => v !== 0)) throw n.error('peepholes (input P) are not supported');
  const xs = n.rowMajor(x, [steps, features]);
  const runs = reverse.map((rev, d) => {
    const bias = (k: number) => Float32Array.from({ length: G * H }, (_, i) => b?.data[(d * 2 + k) * G * H + i] ?? 0);
    const direction: RecurrentDirection = {
      cell,
      hidden: H,
      w: Float32Array.from(w.data.subarray(d * G * H * features, (d + 1) * G * H * features)),
      r: Float32Array.from(r.data.subarray(d * G * H * H, (d + 1) * G * H * H)),
      wb: bias(0),
      rb: bias(1),
      linearBeforeReset: cell === 'gru' && n.int('linear_before_reset', 0) !== 0,
      reverse: rev,
      initialH: stateOf(n, n.ins[5], d, H, 'initial_h'),
      initialC: cell === 'lstm' ? stateOf(n, n.ins[6], d, H, 'initial_c') : undefined,
    };
    return unrollRecurrent(n.cx.g, `${n.name}/${rev ? 'reverse' : 'forward'}`, xs, direction);
  });
  // Y is [steps, D, 1, H] (layout 0) or [1, steps, D, H] (layout 1): with batch 1, the same row-major order, time
  // major then direction. Y_h and Y_c are [D, 1, H] or [1, D, H]: the final states by direction.
  const outputs: [string | undefined, string[], number[]][] = [
    [
      n.outs[0],
      Array.from({ length: steps }, (_, t) => runs.map((u) => u.ys[t])).flat(),
      layout ? [1, steps, D, H] : [steps, D, 1, H],
    ],
    [n.outs[1], runs.map((u) => u.h), layout ? [1, D, H] : [D, 1, H]],
    [n.outs[2], runs.map((u) => u.c!), layout ? [1, D, H] : [D, 1, H]],
  ];
  for (const [name, parts, shape] of outputs) {
    if (!name) continue;
    const stacked = stackRows(n.cx.g, `${n.name}/${name}`, parts);
    const rowMajor = Int32Array.from({ length: numel(shape) }, (_, i) => i);
    n.view(name, { phys: stacked, shape: [parts.length, H] }, shape, rowMajor, `${n.name}/${name}/reshape`);
  }
}

export const LSTM = (n: OnnxNode) => recurrent(n, 'lstm');
export const GRU = (n: OnnxNode) => recurrent(n, 'gru');
