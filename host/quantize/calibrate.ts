// Runs the float graph over representative samples and records every activation's range. Long calibrations
// spread the samples over worker threads (./calibrate-worker), one per core, each with its own copy of the graph.

import * as os from 'os';
import * as path from 'path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'worker_threads';
import { type Graph, ModelError, type Node, tensor } from '../ir/graph';
import { runFloat } from '../interp/float';
import { startWorker } from '../util/worker';
import { type ObserverKind, type ObserverState, type RangeKind, RangeObserver } from './observers';
import { searchRanges } from './range-search';

export type { ObserverKind } from './observers';

/** Real range [lo, hi] (containing 0) chosen for each observed tensor, by name. */
export type CalibrationStats = Map<string, [number, number]>;

/** One sample: the single input's data, or data for every graph input by name. */
export type CalibrationSample = Float32Array | Record<string, Float32Array>;

/** The ranges that `auto` chooses among (the first is kept where a tensor's range is not its own). */
const AUTO_CANDIDATES: RangeKind[] = ['minmax', 'percentile', 'mse'];

export interface CalibrateOptions {
  observer?: ObserverKind;
  percentile?: number;
  onProgress?: (n: number) => void;
  /**
   * Threads to run the samples on. Default: one per core, once the first sample shows that the rest take seconds
   * (a worker costs ~0.3 s to start); given explicitly, that many threads whatever the work, each waited for.
   */
  threads?: number;
}

/** Below this much estimated work, starting worker threads (~0.3 s each) is not worth it. */
const MIN_PARALLEL_SECONDS = 2;
/** Samples are handed to workers in chunks of about this many seconds of work, one chunk ahead. */
const CHUNK_SECONDS = 0.25;
/** Indices into a worker's shared flags. */
export const STARTED = 0;
export const FINISHED = 1;
/** How long explicitly requested workers are waited for before this thread starts without them. */
const MAX_START_MS = 60_000;

export function calibrate(g: Graph, samples: CalibrationSample[], opts: CalibrateOptions = {}): CalibrationStats {
  const observer = opts.observer ?? 'minmax';
  const kinds = observer === 'auto' ? AUTO_CANDIDATES : [observer];
  const observers = new ActivationObservers(g, kinds, opts.percentile);
  observeInParallel(observers, samples, opts);
  const ranges = observers.ranges();
  return observer === 'auto'
    ? searchRanges(g, samples, ranges)
    : new Map([...ranges].map(([name, [range]]) => [name, range]));
}

/** Every activation's observers (one per range kind) over the samples run so far. */
export class ActivationObservers {
  private readonly byTensor = new Map<string, RangeObserver[]>();
  private readonly softmaxInputs: Map<string, { beta: number }>;

  constructor(
    readonly graph: Graph,
    readonly kinds: RangeKind[],
    readonly percentile?: number,
  ) {
    this.softmaxInputs = softmaxOnlyInputs(graph);
  }

  /** Runs one sample through the float graph and observes every tensor it computes. */
  observe(x: CalibrationSample): void {
    const g = this.graph;
    if (x instanceof Float32Array && g.inputs.length !== 1)
      throw new ModelError(
        `graph '${g.name}' has ${g.inputs.length} inputs; give each sample as a record by input name`,
      );
    runFloat(g, x instanceof Float32Array ? { [g.inputs[0]]: x } : x, (name, data) => {
      const softmax = this.softmaxInputs.get(name);
      const seen = softmax ? nearRowMaxima(data, tensor(g, name).shape.at(-1)!, softmax.beta) : data;
      for (const each of this.observersOf(name)) each.observe(seen);
    });
  }

  /** Per tensor, per kind, what its observer saw: for another thread's `merge`. */
  states(): [string, ObserverState[]][] {
    return [...this.byTensor].map(([name, o]) => [name, o.map((each) => each.state())]);
  }

  merge(states: [string, ObserverState[]][]): void {
    for (const [name, s] of states) this.observersOf(name).forEach((each, k) => each.merge(s[k]));
  }

  /** Per tensor, the range of each kind (in `kinds` order). */
  ranges(): Map<string, [number, number][]> {
    return new Map([...this.byTensor].map(([name, o]) => [name, o.map((each) => each.range())]));
  }

  private observersOf(name: string): RangeObserver[] {
    let o = this.byTensor.get(name);
    if (!o) this.byTensor.set(name, (o = this.kinds.map((kind) => new RangeObserver(kind, this.percentile))));
    return o;
  }
}

/** Messages between the calibrating thread and a worker. */
export type ToWorker = { samples: CalibrationSample[] } | { end: true };
export type FromWorker =
  | { request: true }
  | { done: number }
  | { states: [string, ObserverState[]][] }
  | { error: string; modelError: boolean };

interface Helper {
  worker: Worker;
  port: MessagePort;
  /** [started, finished]: each set to 1 by the worker when it asks for samples, and when its result is posted. */
  flags: Int32Array;
  /** Whether the worker has asked for samples (it is loaded and running). */
  started: boolean;
  result?: FromWorker;
}

/**
 * Observes every sample. The first runs here and times the rest: if they would take long enough, one worker per
 * further core starts with a copy of the graph and asks for chunks of samples, one chunk ahead; this thread keeps
 * running samples itself and answers the requests between two of its own. A worker that has not started by the
 * end gets nothing and is stopped, so a worker that cannot start costs no more than running alone. The ranges do
 * not depend on which thread saw which sample (min/max and histograms), so the result is the single-threaded one.
 */
function observeInParallel(observers: ActivationObservers, samples: CalibrationSample[], opts: CalibrateOptions): void {
  if (samples.length === 0) return;
  const start = process.hrtime.bigint();
  observers.observe(samples[0]);
  opts.onProgress?.(1);
  const perSample = Number(process.hrtime.bigint() - start) / 1e9;
  const threads = Math.min(opts.threads ?? os.availableParallelism(), samples.length - 1);
  let next = 1;
  const helpers: Helper[] = [];
  if (threads > 1 && (opts.threads || perSample * (samples.length - 1) >= MIN_PARALLEL_SECONDS))
    for (let k = 1; k < threads; k++) helpers.push(startHelper(observers));
  const chunk = Math.max(1, Math.round(CHUNK_SECONDS / perSample));
  /** Reads a helper's messages: hands a chunk to each request, counts its progress, keeps its result. */
  const serve = (h: Helper) => {
    for (let m = receiveMessageOnPort(h.port); m; m = receiveMessageOnPort(h.port)) {
      const msg = m.message as FromWorker;
      if ('request' in msg) {
        h.started = true;
        if (next >= samples.length) continue;
        const end = Math.min(samples.length, next + chunk);
        h.port.postMessage({ samples: samples.slice(next, end) } satisfies ToWorker);
        next = end;
      } else if ('done' in msg) opts.onProgress?.(msg.done);
      else h.result = msg;
    }
  };
  try {
    if (opts.threads) for (const h of helpers) Atomics.wait(h.flags, STARTED, 0, MAX_START_MS);
    helpers.forEach(serve);
    while (next < samples.length) {
      observers.observe(samples[next++]);
      opts.onProgress?.(1);
      helpers.forEach(serve);
    }
    for (const h of helpers.filter((each) => each.started)) {
      h.port.postMessage({ end: true } satisfies ToWorker);
      while (Atomics.wait(h.flags, FINISHED, 0, 100) === 'timed-out') serve(h);
      serve(h);
      const r = h.result;
      if (!r || 'error' in r || !('states' in r)) {
        const why = r && 'error' in r ? r.error : 'a calibration worker stopped without a result';
        throw r && 'error' in r && r.modelError ? new ModelError(why) : new Error(why);
      }
      observers.merge(r.states);
    }
  } finally {
    for (const h of helpers) {
      h.port.close();
      void h.worker.terminate();
    }
  }
}

function startHelper(observers: ActivationObservers): Helper {
  const { port1, port2 } = new MessageChannel();
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const file = path.join(__dirname, `calibrate-worker${path.extname(__filename)}`);
  const { graph, kinds, percentile } = observers;
  const worker = startWorker(file, {
    workerData: { graph, kinds, percentile, port: port2, flags },
    transferList: [port2],
  });
  worker.unref();
  return { worker, port: port1, flags, started: false };
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
