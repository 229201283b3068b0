// Runs the float graph over representative samples and records every activation's range.

import { Graph, ModelError } from '../ir/graph';
import { runFloat } from '../interp/float';
import { ObserverKind, RangeObserver } from './observers';

export type { ObserverKind } from './observers';

/** Real range [lo, hi] (containing 0) chosen for each observed tensor, by name. */
export type CalibrationStats = Map<string, [number, number]>;

/** One sample: the single input's data, or data for every graph input by name. */
export type CalibrationSample = Float32Array | Record<string, Float32Array>;

export function calibrate(
  g: Graph,
  samples: CalibrationSample[],
  opts: { observer?: ObserverKind; percentile?: number; onProgress?: (n: number) => void } = {},
): CalibrationStats {
  const observers = new Map<string, RangeObserver>();
  for (const x of samples) {
    if (x instanceof Float32Array && g.inputs.length !== 1) throw new ModelError(`graph '${g.name}' has ${g.inputs.length} inputs; give each sample as a record by input name`);
    const feeds = x instanceof Float32Array ? { [g.inputs[0]]: x } : x;
    runFloat(g, feeds, (name, data) => {
      let o = observers.get(name);
      if (!o) observers.set(name, (o = new RangeObserver(opts.observer ?? 'minmax', opts.percentile)));
      o.observe(data);
    });
    opts.onProgress?.(1);
  }
  return new Map([...observers].map(([k, o]) => [k, o.range()]));
}
