// A sparse-heavy int8 model of the MobileNet kind (late 1×1 convolutions 97–99% zeros), from MLPerf's int8 KWS:
// each 1×1 conv keeps only its largest weights (by magnitude). The numbers are not a trained model's; the layouts
// the encoder chooses for them, and their speed, are what matter.

import { readTfliteFile } from '../../host/import/tflite';
import { tfliteToQModel } from '../../host/import/tflite/to-qmodel';
import type { QModel } from '../../host/ir/qmodel';
import { planMemory } from '../../host/plan/planner';
import { mlperfFile } from './tflite-mlperf';

/** KWS (int8) with its pointwise convs pruned to `zeros` (e.g. 0.97, 0.98, 0.99, 0.99 for the four of them). */
export function sparseKws(zeros = [0.97, 0.98, 0.99, 0.99]): QModel {
  const model = tfliteToQModel(readTfliteFile(mlperfFile('kws_ref_model.tflite')));
  const pointwise = model.ops.filter((op) => op.opcode === 'CONV_2D' && model.tensors[op.inputs[1]].shape[1] === 1);
  pointwise.forEach((op, k) => {
    const w = model.tensors[op.inputs[1]].data as Int8Array;
    const keep = Math.round(w.length * (1 - zeros[Math.min(k, zeros.length - 1)]));
    const threshold = [...w].map(Math.abs).sort((a, b) => b - a)[keep - 1] ?? 0;
    let kept = 0;
    for (let i = 0; i < w.length; i++) w[i] = Math.abs(w[i]) >= threshold && kept++ < keep ? w[i] : 0;
  });
  planMemory(model);
  return model;
}
