// Fuses a chain of element-wise ops on one activation into one 'elementwise' op: every tensor that is a function of
// one root activation alone (through unary ops, ops with a scalar constant, and binary ops of two such functions of
// the same root: torch's hardswish HardSigmoid·x, GELU x·0.5·(1 + erf(x/√2)), SiLU x·sigmoid(x)) is computed from
// the root by one expression, which the quantizer tabulates: one int8 rounding for the whole chain instead of one
// per op, and one table lookup on the device. A lone op keeps its own kernel (a scalar MUL stays a MUL).

import { applied, compose, type ElementwiseFn, type Expr, sameExpr } from '../ir/elementwise';
import { consumers, type Graph, type Node, numel, type OpKind, tensor } from '../ir/graph';

/** A tensor as a function of its root activation. */
interface Rooted {
  root: string;
  expr: Expr;
}

/** The function a unary op applies to its input, or undefined when the op is not a unary element-wise one. */
function unaryExpr(n: Node): Expr | undefined {
  const op = n.op;
  switch (op.kind) {
    case 'elementwise':
      return op.attrs.expr;
    case 'relu':
    case 'sigmoid':
    case 'tanh':
    case 'hard_swish':
      return applied(op.kind);
    case 'leaky_relu':
      return applied('leaky_relu', op.attrs.alpha);
    case 'clip':
      return applied('clip', op.attrs.min, op.attrs.max);
    default:
      return undefined;
  }
}

const HARD_SWISH_FORMS: Expr[] = [1 / 6, Math.fround(1 / 6)].flatMap((alpha) => {
  const gate = applied('hard_sigmoid', alpha, 0.5);
  return [
    { f: 'mul', args: ['x', gate] },
    { f: 'mul', args: [gate, 'x'] },
  ];
});

export function fuseElementwise(g: Graph): Graph {
  const rooted = new Map<string, Rooted>();
  const of = (t: string): Rooted => rooted.get(t) ?? { root: t, expr: 'x' };
  /** The nodes (by output) each tensor's expression is computed through, back to its root. */
  const cone = new Map<string, Set<Node>>();
  const coneOf = (t: string) => cone.get(t) ?? new Set<Node>();
  for (const n of g.nodes) {
    const y = n.op.outputs[0];
    const r = rootedOutput(g, n, of);
    if (!r) continue;
    rooted.set(y, r);
    cone.set(y, new Set([n, ...n.op.inputs.flatMap((t) => [...coneOf(t)])]));
  }
  const fused = new Set([...rooted.keys()]);
  const kept: Node[] = [];
  for (const n of g.nodes) {
    const y = n.op.outputs[0];
    if (!fused.has(y)) {
      kept.push(n);
      continue;
    }
    const needed = g.outputs.includes(y) || consumers(g, y).some((c) => !fused.has(c.op.outputs[0]));
    if (!needed) continue;
    const { root, expr } = of(y);
    if (coneOf(y).size === 1) kept.push(n);
    else if (HARD_SWISH_FORMS.some((form) => sameExpr(form, expr)))
      kept.push({ name: n.name, op: { kind: 'hard_swish', inputs: [root], outputs: [y], attrs: {} } });
    else kept.push({ name: n.name, op: { kind: 'elementwise', inputs: [root], outputs: [y], attrs: { expr } } });
  }
  g.nodes = kept;
  return g;
}

const BINARY_FN: Partial<Record<OpKind, ElementwiseFn>> = {
  add: 'add',
  sub: 'sub',
  mul: 'mul',
  maximum: 'max',
  minimum: 'min',
};

/** Node n's output as a function of one root, when n is element-wise on functions of one root (and constants). */
function rootedOutput(g: Graph, n: Node, of: (t: string) => Rooted): Rooted | undefined {
  const op = n.op;
  const unary = unaryExpr(n);
  if (unary) {
    const x = of(op.inputs[0]);
    return { root: x.root, expr: compose(unary, x.expr) };
  }
  const f = BINARY_FN[op.kind];
  if (!f) return undefined;
  const [a, b] = op.inputs;
  const scalar = (t: string) => {
    const d = tensor(g, t).data;
    return d && numel(tensor(g, t).shape) === 1 ? d[0] : undefined;
  };
  const shape = tensor(g, op.outputs[0]).shape.join();
  const operand = (t: string): { root?: string; expr: Expr } | undefined => {
    const k = scalar(t);
    if (k !== undefined) return { expr: k };
    if (tensor(g, t).data || tensor(g, t).shape.join() !== shape) return undefined;
    return of(t);
  };
  const [ea, eb] = [operand(a), operand(b)];
  if (!ea || !eb || (ea.root && eb.root && ea.root !== eb.root)) return undefined;
  const root = ea.root ?? eb.root;
  if (!root) return undefined;
  const expr: Expr = { f, args: [ea.expr, eb.expr] };
  const clamp = 'clamp' in op.attrs ? op.attrs.clamp : undefined;
  return { root, expr: clamp ? { f: 'clip', args: [expr, clamp.min, clamp.max] } : expr };
}
