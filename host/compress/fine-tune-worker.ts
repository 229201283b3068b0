// The worker thread of two-threaded fine-tuning (fine-tune.ts): for each request, the loss and gradients of
// its images with the weights it was sent, answered on the port and flagged in shared memory.

import { workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { useFastMatMul } from './conv-im2col';
import { type HelperAnswer, type HelperInit, type HelperRequest, lossAndGrads } from './fine-tune';
import { TrainableNet } from './net';

const init = workerData as HelperInit;

function answer(a: HelperAnswer): void {
  init.port.postMessage(a);
  Atomics.store(init.signal, 0, 1);
  Atomics.notify(init.signal, 0);
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function main(): Promise<void> {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  useFastMatMul();
  const net = new TrainableNet(init.model);
  for (const [name, bits] of init.weightBits) net.weightBits.set(name, bits);
  net.activationRanges = new Map(init.activationRanges);
  const data = { images: init.images, labels: init.labels, count: init.count };
  init.port.on('message', (req: HelperRequest) => {
    try {
      net.setWeights(req.weights);
      answer(lossAndGrads(net, data, req.idx, init.distill));
    } catch (e) {
      answer({ error: message(e) });
    }
  });
}

// A failed start answers every request with its error (the main thread is waiting for one).
main().catch((e) => init.port.on('message', () => answer({ error: `start-up: ${message(e)}` })));
