// Runs the float graph over representative samples and records every activation's range.

import { Graph } from '../ir/graph';
import { runFloat } from '../interp/float';
import { ObserverKind, RangeObserver } from './observers';

export type { ObserverKind } from './observers';

export type CalibrationStats = Map<string, [number, number]>;

export function calibrate(g: Graph, samples: Float32Array[], opts: { observer?: ObserverKind; onProgress?: (n: number) => void } = {}): CalibrationStats {
  const observers = new Map<string, RangeObserver>();
  for (const x of samples) {
    runFloat(g, { [g.inputs[0]]: x }, (name, data) => {
      let o = observers.get(name);
      if (!o) observers.set(name, (o = new RangeObserver(opts.observer ?? 'minmax')));
      o.observe(data);
    });
    opts.onProgress?.(1);
  }
  return new Map([...observers].map(([k, o]) => [k, o.range()]));
}
