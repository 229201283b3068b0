// torch ≤ 1.13 exports nn.LayerNorm (opsets < 17) as ReduceMean → Sub → Pow 2 → ReduceMean → Add ε → Sqrt → Div,
// then Mul γ and Add β when it has them. Before import, each such chain of ONNX nodes becomes one
// LayerNormalization node (./ops.ts), so it runs as one LAYER_NORM instead of ops the device does not have.

/** The fields of an ONNX NodeProto (as host/import/onnx/proto.ts decodes it) that the pattern reads and writes. */
export interface OnnxNodeProto {
  op_type: string;
  name?: string;
  input?: string[];
  output?: string[];
  attribute?: { name: string; i?: number; f?: number; ints?: unknown[]; t?: unknown }[];
}

/** The ONNX nodes with every LayerNorm pattern fused; `constant` gives an initializer's or Constant's values. */
export function fuseLayerNorm(
  nodes: OnnxNodeProto[],
  graphOutputs: string[],
  constant: (name: string) => ArrayLike<number> | undefined,
): OnnxNodeProto[] {
  const users = (t: string) => nodes.filter((n) => (n.input ?? []).includes(t));
  /** The only node reading `t`, of type `op`, when `t` is not also a graph output. */
  const only = (t: string, op: string) => {
    const u = users(t);
    return u.length === 1 && u[0].op_type === op && !graphOutputs.includes(t) ? u[0] : undefined;
  };
  const scalar = (t: string | undefined) => {
    const v = t === undefined ? undefined : constant(t);
    return v && v.length === 1 ? v[0] : undefined;
  };
  const axesOf = (n: OnnxNodeProto) =>
    (n.attribute ?? []).find((a) => a.name === 'axes')?.ints?.map(Number) as number[] | undefined;
  const other = (n: OnnxNodeProto, t: string) => (n.input ?? []).find((i) => i !== t);
  let out = nodes;
  for (const mean of nodes.filter((n) => n.op_type === 'ReduceMean')) {
    const x = mean.input![0];
    const axes = axesOf(mean);
    // Trailing axes, counted from the end: [−k, …, −1].
    if (!axes?.length || axes.some((a, i) => a !== i - axes.length)) continue;
    const sub = only(mean.output![0], 'Sub');
    if (!sub || sub.input![0] !== x || sub.input![1] !== mean.output![0]) continue;
    const centred = sub.output![0];
    const readers = users(centred);
    const pow = readers.find((n) => n.op_type === 'Pow');
    const div = readers.find((n) => n.op_type === 'Div');
    if (readers.length !== 2 || !pow || !div || pow.input![0] !== centred || scalar(pow.input![1]) !== 2) continue;
    const variance = only(pow.output![0], 'ReduceMean');
    if (!variance || axesOf(variance)?.join() !== axes.join()) continue;
    const addEps = only(variance.output![0], 'Add');
    const epsilon = addEps && scalar(other(addEps, variance.output![0]));
    if (!addEps || epsilon === undefined) continue;
    const sqrt = only(addEps.output![0], 'Sqrt');
    if (!sqrt || div.input![0] !== centred || div.input![1] !== sqrt.output![0] || only(sqrt.output![0], 'Div') !== div)
      continue;
    const fused = [mean, sub, pow, variance, addEps, sqrt, div];
    let last = div;
    const inputs = [x];
    const mul = only(div.output![0], 'Mul');
    const gamma = mul && other(mul, div.output![0]);
    if (mul && gamma && constant(gamma)) {
      fused.push(mul);
      inputs.push(gamma);
      last = mul;
      const add = only(mul.output![0], 'Add');
      const beta = add && other(add, mul.output![0]);
      if (add && beta && constant(beta)) {
        fused.push(add);
        inputs.push(beta);
        last = add;
      }
    }
    const layerNorm: OnnxNodeProto = {
      op_type: 'LayerNormalization',
      name: `${mean.name || x}/layer_norm`,
      input: inputs,
      output: [last.output![0]],
      attribute: [
        { name: 'axis', i: axes[0] },
        { name: 'epsilon', f: epsilon },
      ],
    };
    out = out.flatMap((n) => (n === last ? [layerNorm] : fused.includes(n) ? [] : [n]));
  }
  return out;
}
