// Runs the float graph over representative samples and records every activation's range.

import { type Graph, ModelError, type Node, tensor } from '../ir/graph';
import { runFloat } from '../interp/float';
import { type ObserverKind, type RangeKind, RangeObserver } from './observers';
import { searchRanges } from './range-search';

export type { ObserverKind } from './observers';

/** Real range [lo, hi] (containing 0) chosen for each observed tensor, by name. */
export type CalibrationStats = Map<string, [number, number]>;

/** One sample: the single input's data, or data for every graph input by name. */
export type CalibrationSample = Float32Array | Record<string, Float32Array>;

/** The ranges that `auto` chooses among (the first is kept where a tensor's range is not its own). */
const AUTO_CANDIDATES: RangeKind[] = ['minmax', 'percentile', 'mse'];

export function calibrate(
  g: Graph,
  samples: CalibrationSample[],
  opts: { observer?: ObserverKind; percentile?: number; onProgress?: (n: number) => void } = {},
): CalibrationStats {
  const observer = opts.observer ?? 'minmax';
  const kinds = observer === 'auto' ? AUTO_CANDIDATES : [observer];
  const observers = new Map<string, RangeObserver[]>();
  const softmaxInputs = softmaxOnlyInputs(g);
  for (const x of samples) {
    if (x instanceof Float32Array && g.inputs.length !== 1)
      throw new ModelError(
        `graph '${g.name}' has ${g.inputs.length} inputs; give each sample as a record by input name`,
      );
    const feeds = x instanceof Float32Array ? { [g.inputs[0]]: x } : x;
    runFloat(g, feeds, (name, data) => {
      let o = observers.get(name);
      if (!o) observers.set(name, (o = kinds.map((kind) => new RangeObserver(kind, opts.percentile))));
      const softmax = softmaxInputs.get(name);
      const seen = softmax ? nearRowMaxima(data, tensor(g, name).shape.at(-1)!, softmax.beta) : data;
      for (const each of o) each.observe(seen);
    });
    opts.onProgress?.(1);
  }
  const ranges = new Map([...observers].map(([name, o]) => [name, o.map((each) => each.range())]));
  return observer === 'auto'
    ? searchRanges(g, samples, ranges)
    : new Map([...ranges].map(([name, [range]]) => [name, range]));
}

/** Tensors read by softmax nodes only (not graph outputs), with the softmax's beta. */
function softmaxOnlyInputs(g: Graph): Map<string, { beta: number }> {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const name of n.op.inputs) readers.set(name, [...(readers.get(name) ?? []), n]);
  const found = new Map<string, { beta: number }>();
  for (const [name, nodes] of readers) {
    const betas = nodes.map((n) => (n.op.kind === 'softmax' ? n.op.attrs.beta : undefined));
    if (!g.outputs.includes(name) && betas.every((b) => b === betas[0] && b !== undefined))
      found.set(name, { beta: betas[0]! });
  }
  return found;
}

/**
 * A softmax input as its range needs to see it: each value raised to at least its row's maximum minus d, where
 * d is how far below the maximum the other n−1 logits together weigh under half an int8 softmax output step
 * ((n−1)·e^(−β·d) ≤ 1/512). Lower values all round to an output of 0 anyway, so a range down to them only spends
 * int8 steps on nothing: on KWS (12 classes) the logits span −63..30 on random inputs, but only 0..30 decides the
 * output, in steps three times finer.
 */
function nearRowMaxima(x: Float32Array, n: number, beta: number): Float32Array {
  if (n < 2) return x;
  const depth = Math.log(512 * (n - 1)) / beta;
  const y = x.slice();
  for (let row = 0; row < y.length; row += n) {
    let max = -Infinity;
    for (let i = row; i < row + n; i++) max = Math.max(max, y[i]);
    for (let i = row; i < row + n; i++) y[i] = Math.max(y[i], max - depth);
  }
  return y;
}
