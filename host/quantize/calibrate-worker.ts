// A calibration worker thread (started by ./calibrate): asks for samples once loaded, then observes the chunks it
// is sent, asking for the next one as soon as one arrives; at the end it hands back what its observers saw.

import { type MessagePort, workerData } from 'worker_threads';
import { type Graph, ModelError } from '../ir/graph';
import { ActivationObservers, FINISHED, type FromWorker, STARTED, type ToWorker } from './calibrate';
import type { RangeKind } from './observers';

const data = workerData as {
  graph: Graph;
  kinds: RangeKind[];
  percentile?: number;
  port: MessagePort;
  flags: Int32Array;
};
const { port, flags } = data;
const observers = new ActivationObservers(data.graph, data.kinds, data.percentile);
let failed = false;

/** Posts a message, then raises a flag the calibrating thread may be waiting on. */
function postAndRaise(msg: FromWorker, flag: number, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  Atomics.store(flags, flag, 1);
  Atomics.notify(flags, flag);
}

function finish(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  postAndRaise(msg, FINISHED, transfer);
  port.close();
}

postAndRaise({ request: true }, STARTED);
port.on('message', (msg: ToWorker) => {
  if (failed) return;
  if ('end' in msg) {
    const states = observers.states();
    const buffers = new Set(states.flatMap(([, s]) => s.flatMap((each) => each.samples.map((x) => x.buffer))));
    finish({ states }, [...buffers] as ArrayBuffer[]);
    return;
  }
  port.postMessage({ request: true } satisfies FromWorker);
  try {
    for (const x of msg.samples) observers.observe(x);
    port.postMessage({ done: msg.samples.length } satisfies FromWorker);
  } catch (e) {
    failed = true;
    finish({ error: e instanceof Error ? e.message : String(e), modelError: e instanceof ModelError });
  }
});
