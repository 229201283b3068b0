// `--observer auto`: every activation's range chosen, among the ranges of several observers, by what it does to
// the model's output. A range that is best for its own tensor (MSE) is not best for the model: clipping one tensor
// may cost the logits more or less than the rounding it saves. So, in graph order and greedily (after AdaQuant,
// Hubara et al. 2021, with candidate ranges instead of learned ones), each tensor takes the candidate whose
// quantization, on top of the ranges already chosen before it (later tensors stay float), changes the model's
// outputs least (squared error over the calibration samples). Weights stay float too: a search through int8
// weights fits the ranges to those weights' rounding errors, which GPTQ then rounds differently (on KWS that was
// worse than not searching). The prefix of the graph runs once per tensor; each candidate runs the nodes after it.

import { type Graph, type Node, tensor } from '../ir/graph';
import { runFloat } from '../interp/float';
import type { CalibrationSample, CalibrationStats } from './calibrate';
import { fakeQuantize, paramsForRange } from './quantize';

/** Ops whose output has parameters fixed by the op (softmax, sigmoid, tanh) or taken from its input (the rest). */
const NO_RANGE_OF_THEIR_OWN = new Set<Node['op']['kind']>([
  'reshape',
  'max_pool',
  'pad',
  'softmax',
  'log_softmax',
  'sigmoid',
  'tanh',
]);

const sameRange = (a: [number, number], b: [number, number]) => a[0] === b[0] && a[1] === b[1];

/**
 * For each tensor of `candidates` (its candidate ranges, the first the fallback), the range that changes the
 * model's outputs least on `samples`; tensors without a range of their own keep their first candidate.
 */
export function searchRanges(
  g: Graph,
  samples: CalibrationSample[],
  candidates: Map<string, [number, number][]>,
): CalibrationStats {
  const feedsOf = (s: CalibrationSample) => (s instanceof Float32Array ? { [g.inputs[0]]: s } : s);
  const reference = samples.map((s) => runFloat(g, feedsOf(s)));
  const lastRead = new Map<string, number>();
  g.nodes.forEach((n, i) => n.op.inputs.forEach((name) => lastRead.set(name, i)));
  for (const name of g.outputs) lastRead.set(name, g.nodes.length);
  const chosen: CalibrationStats = new Map();
  // Per sample, every tensor still to be read, as the int8 model would hold it so far.
  let live = samples.map((s) => new Map(Object.entries(feedsOf(s))));

  /** Picks `name`'s range by the outputs of the nodes from `from` on, then rounds its live values onto it. */
  const choose = (name: string, from: number) => {
    const options = (candidates.get(name) ?? []).filter((r, k, all) => all.findIndex((o) => sameRange(o, r)) === k);
    if (options.length === 0 || tensor(g, name).quant) return;
    let best = options[0];
    if (options.length > 1) {
      const rest: Graph = { ...g, inputs: [...live[0].keys()], nodes: g.nodes.slice(from) };
      let bestError = Infinity;
      for (const r of options) {
        const q = paramsForRange(r[0], r[1]);
        let error = 0;
        live.forEach((values, s) => {
          const outputs = runFloat(rest, { ...Object.fromEntries(values), [name]: fakeQuantize(values.get(name)!, q) });
          for (const o of g.outputs) {
            const [y, ref] = [outputs[o], reference[s][o]];
            for (let i = 0; i < y.length; i++) error += (y[i] - ref[i]) ** 2;
          }
        });
        if (error < bestError) [bestError, best] = [error, r];
      }
    }
    chosen.set(name, best);
    const q = paramsForRange(best[0], best[1]);
    for (const values of live) values.set(name, fakeQuantize(values.get(name)!, q));
  };

  for (const name of g.inputs) choose(name, 0);
  g.nodes.forEach((n, i) => {
    const y = n.op.outputs[0];
    const step: Graph = { ...g, inputs: [...live[0].keys()], nodes: [n], outputs: [y] };
    for (const values of live) values.set(y, runFloat(step, Object.fromEntries(values))[y]);
    if (!NO_RANGE_OF_THEIR_OWN.has(n.op.kind)) choose(y, i + 1);
    live = live.map((values) => new Map([...values].filter(([name]) => (lastRead.get(name) ?? -1) > i)));
  });
  return new Map([...candidates].map(([name, ranges]) => [name, chosen.get(name) ?? ranges[0]]));
}
