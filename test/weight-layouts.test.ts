import { strict as assert } from 'assert';
import { decodeModel } from '../host/blob/decode';
import { encodeModel } from '../host/blob/encode';
import { LAYOUT_COSTS } from '../host/blob/layout-costs';
import { encodeWeightsAll, OPTIMIZE_GOALS, type StoredWeights, storedWeightsOf } from '../host/blob/weights';
import type { QModel } from '../host/ir/qmodel';
import { sparseKws } from './helpers/sparse-models';

// --optimize: the encoder's choice of weight layouts by the measured per-engine cost model (host/blob/layout-costs).

/** Per engine, the cost model's time of the weight layers stored as `stored` (ns per inference). */
function modelTime(model: QModel, stored: Map<number, StoredWeights>): Record<string, number> {
  const times: Record<string, number> = {};
  for (const engine of Object.keys(LAYOUT_COSTS)) {
    times[engine] = 0;
    for (const op of model.ops) {
      const s = stored.get(op.inputs[1]);
      if (!s) continue;
      const w = model.tensors[op.inputs[1]];
      const walks = model.tensors[op.outputs[0]].shape.reduce((a, b) => a * b, 1) / w.shape[0];
      const [perWeight, perValue] = LAYOUT_COSTS[engine][s.bits][s.layout];
      times[engine] += walks * (perWeight * w.data!.length + (s.layout === 'dense' ? 0 : perValue * s.stored));
    }
  }
  return times;
}

describe('weight layouts by cost (--optimize)', () => {
  const model = sparseKws();
  const smallestBytes = [...storedWeightsOf(model, undefined, 'size').values()];

  it('size stores each weight tensor in its smallest layout, speed keeps every one dense', () => {
    for (const [ti, s] of storedWeightsOf(model, undefined, 'size')) {
      const t = model.tensors[ti];
      const all = encodeWeightsAll(t.data as Int8Array, t.shape[0], 8);
      assert.equal(s.bytes.length, Math.min(...all.map((each) => each.bytes.length)));
    }
    assert.ok([...storedWeightsOf(model, undefined, 'speed').values()].every((s) => s.layout === 'dense'));
    assert.ok(
      smallestBytes.some((s) => s.layout !== 'dense'),
      'the pruned convs are smaller sparse',
    );
  });

  it('balanced, on a sparse-heavy model: within 3% of the smallest blob, within 2% of dense time on every engine', () => {
    const [size, speed, balanced] = OPTIMIZE_GOALS.map((optimize) => encodeModel(model, { optimize }).length);
    assert.ok(balanced <= 1.03 * size, `balanced ${balanced} B vs size ${size} B`);
    assert.ok(balanced < speed, `balanced ${balanced} B vs speed ${speed} B`);
    const dense = modelTime(model, storedWeightsOf(model, undefined, 'speed'));
    const chosen = modelTime(model, storedWeightsOf(model, undefined, 'balanced'));
    for (const engine of Object.keys(dense))
      assert.ok(
        chosen[engine] <= 1.02 * dense[engine] + 1e-6,
        `${engine}: ${chosen[engine]} vs dense ${dense[engine]} ns`,
      );
  });

  it('balanced keeps dense where sparse would cost more than the budget (a lightly pruned model)', () => {
    const light = sparseKws([0.5]);
    const balanced = storedWeightsOf(light, undefined, 'balanced');
    const dense = modelTime(light, storedWeightsOf(light, undefined, 'speed'));
    const chosen = modelTime(light, balanced);
    for (const engine of Object.keys(dense)) assert.ok(chosen[engine] <= 1.02 * dense[engine] + 1e-6, engine);
    const size = storedWeightsOf(light, undefined, 'size');
    assert.ok(
      [...size].some(([ti, s]) => s.layout !== 'dense' && balanced.get(ti)!.layout === 'dense'),
      'some 50%-sparse layer is smaller sparse but kept dense',
    );
  });

  it('every goal decodes to the same weights', () => {
    for (const optimize of OPTIMIZE_GOALS) {
      const back = decodeModel(encodeModel(model, { optimize }));
      model.tensors.forEach(
        (t, i) => t.data && assert.deepEqual(back.tensors[i].data, t.data, `${optimize}: ${t.name}`),
      );
    }
  });
});
