import { strict as assert } from 'assert';
import { runFloat } from '../host/interp/float';
import { Graph, newGraph, numel, Op } from '../host/ir/graph';
import { toDeviceGraph } from '../host/passes';
import { elideReshapes } from '../host/passes/elide-reshape';
import { foldBatchNorm } from '../host/passes/fold-batchnorm';
import { foldChannelConstants } from '../host/passes/fold-bias';
import { foldConstants } from '../host/passes/fold-constants';
import { foldPadIntoConv } from '../host/passes/fold-pad';
import { Rng } from '../host/util/rng';

/** A tiny NHWC graph builder with seeded random constants. */
class Builder {
  readonly g: Graph = newGraph('t', 'NHWC');
  private readonly rng = new Rng(17);
  input(name: string, shape: number[]): string {
    this.g.tensors.set(name, { name, dtype: 'float32', shape });
    this.g.inputs.push(name);
    return name;
  }
  constant(name: string, shape: number[], positive = false): string {
    this.g.tensors.set(name, {
      name,
      dtype: 'float32',
      shape,
      data: Float32Array.from({ length: numel(shape) }, () =>
        positive ? this.rng.uniform(0.5, 2) : this.rng.normal(),
      ),
    });
    return name;
  }
  op(name: string, op: Omit<Op, 'outputs'>, shape: number[]): string {
    this.g.tensors.set(name, { name, dtype: 'float32', shape });
    this.g.nodes.push({ name, op: { ...op, outputs: [name] } as Op });
    return name;
  }
  output(...names: string[]): Graph {
    this.g.outputs = names;
    return this.g;
  }
}

const kinds = (g: Graph) => g.nodes.map((n) => n.op.kind).join(',');
const clone = (g: Graph): Graph => ({
  ...g,
  tensors: new Map([...g.tensors].map(([k, t]) => [k, { ...t, shape: [...t.shape] }])),
  nodes: g.nodes.map((n) => ({
    name: n.name,
    op: { ...n.op, inputs: [...n.op.inputs], outputs: [...n.op.outputs], attrs: { ...n.op.attrs } } as Op,
  })),
  inputs: [...g.inputs],
  outputs: [...g.outputs],
});

/** Runs `pass` on a copy and checks the outputs are unchanged on random inputs; returns the optimized graph. */
function samePrediction(g: Graph, pass: (g: Graph) => Graph): Graph {
  const after = pass(clone(g));
  const rng = new Rng(5);
  for (let k = 0; k < 3; k++) {
    const feeds = Object.fromEntries(
      g.inputs.map((name) => [
        name,
        Float32Array.from({ length: numel(g.tensors.get(name)!.shape) }, () => rng.normal()),
      ]),
    );
    const a = runFloat(g, feeds),
      b = runFloat(after, feeds);
    for (const o of g.outputs)
      assert.ok(
        Array.from(a[o]).every((v, i) => Math.abs(v - b[o][i]) <= 1e-5 * (1 + Math.abs(v))),
        `output ${o}`,
      );
  }
  return after;
}

const conv = (pads: [number, number, number, number]) => ({
  strides: [1, 1] as [number, number],
  dilations: [1, 1] as [number, number],
  pads,
  group: 1,
});

describe('graph passes', () => {
  it('constant folding evaluates ops on constants with the float interpreter', () => {
    const b = new Builder();
    const x = b.input('x', [1, 4]);
    const k = b.op('k', { kind: 'mul', inputs: [b.constant('a', [1, 4]), b.constant('s', [1])], attrs: {} }, [1, 4]);
    const k2 = b.op('k2', { kind: 'relu', inputs: [k], attrs: {} }, [1, 4]);
    const g = b.output(b.op('y', { kind: 'add', inputs: [x, k2], attrs: {} }, [1, 4]));
    const after = samePrediction(g, foldConstants);
    assert.equal(kinds(after), 'add');
    assert.ok(after.tensors.get('k2')!.data instanceof Float32Array);
  });

  it('a per-channel constant added to, subtracted from or multiplied with a dense / conv output folds into it', () => {
    const b = new Builder();
    const x = b.input('x', [1, 5, 5, 3]);
    const c = b.op(
      'c',
      { kind: 'conv2d', inputs: [x, b.constant('w', [4, 3, 3, 3]), b.constant('cb', [4])], attrs: conv([1, 1, 1, 1]) },
      [1, 5, 5, 4],
    );
    const s = b.op('s', { kind: 'sub', inputs: [c, b.constant('k', [1, 1, 1, 4])], attrs: {} }, [1, 5, 5, 4]);
    const dw = b.op(
      'dw',
      {
        kind: 'depthwise_conv2d',
        inputs: [s, b.constant('wdw', [1, 3, 3, 4])],
        attrs: { ...conv([1, 1, 1, 1]), group: 4, multiplier: 1 },
      },
      [1, 5, 5, 4],
    );
    const m = b.op('m', { kind: 'mul', inputs: [b.constant('km', [4]), dw], attrs: {} }, [1, 5, 5, 4]);
    const f = b.op('f', { kind: 'reshape', inputs: [m], attrs: { shape: [1, 100] } }, [1, 100]);
    const d = b.op('d', { kind: 'dense', inputs: [f, b.constant('wd', [6, 100])], attrs: {} }, [1, 6]);
    // A constant varying along W is not a bias: it must stay an op.
    const c2 = b.op(
      'c2',
      { kind: 'conv2d', inputs: [x, b.constant('w2', [4, 1, 1, 3])], attrs: conv([0, 0, 0, 0]) },
      [1, 5, 5, 4],
    );
    const spatial = b.op(
      'spatial',
      { kind: 'add', inputs: [c2, b.constant('kw', [1, 1, 5, 1])], attrs: {} },
      [1, 5, 5, 4],
    );
    const g = b.output(b.op('y', { kind: 'add', inputs: [b.constant('kd', [6]), d], attrs: {} }, [1, 6]), spatial);
    const after = samePrediction(g, foldChannelConstants);
    assert.equal(
      kinds(after),
      'conv2d,depthwise_conv2d,reshape,dense,conv2d,add',
      'the sub, the mul and the add are folded',
    );
    assert.equal(after.nodes.find((n) => n.name === 'spatial')?.op.kind, 'add');
  });

  it('a zero pad of H/W folds into the convolution that reads it; a non-zero pad stays', () => {
    const b = new Builder();
    const x = b.input('x', [1, 4, 4, 2]);
    const p = b.op(
      'p',
      { kind: 'pad', inputs: [x], attrs: { pads: [0, 1, 0, 0, 0, 2, 1, 0], value: 0 } },
      [1, 7, 5, 2],
    );
    const c = b.op(
      'c',
      {
        kind: 'depthwise_conv2d',
        inputs: [p, b.constant('w', [1, 3, 3, 2])],
        attrs: { ...conv([1, 1, 1, 1]), group: 2, multiplier: 1 },
      },
      [1, 7, 5, 2],
    );
    const q = b.op(
      'q',
      { kind: 'pad', inputs: [c], attrs: { pads: [0, 1, 1, 0, 0, 1, 1, 0], value: 0.5 } },
      [1, 9, 7, 2],
    );
    const g = b.output(
      b.op(
        'y',
        { kind: 'conv2d', inputs: [q, b.constant('w2', [3, 3, 3, 2])], attrs: conv([0, 0, 0, 0]) },
        [1, 7, 5, 3],
      ),
    );
    const after = samePrediction(g, foldPadIntoConv);
    assert.equal(kinds(after), 'depthwise_conv2d,pad,conv2d');
    assert.deepEqual((after.nodes[0].op.attrs as { pads: number[] }).pads, [2, 1, 3, 2]);
  });

  it('reshapes collapse, vanish before dense layers and stay where they shape a graph output', () => {
    const b = new Builder();
    const x = b.input('x', [1, 2, 2, 3]);
    const r1 = b.op('r1', { kind: 'reshape', inputs: [x], attrs: { shape: [1, 4, 3] } }, [1, 4, 3]);
    const r2 = b.op('r2', { kind: 'reshape', inputs: [r1], attrs: { shape: [1, 12] } }, [1, 12]);
    const d = b.op('d', { kind: 'dense', inputs: [r2, b.constant('w', [5, 12])], attrs: {} }, [1, 5]);
    const g = b.output(b.op('y', { kind: 'reshape', inputs: [d], attrs: { shape: [1, 5, 1] } }, [1, 5, 1]));
    const after = samePrediction(g, elideReshapes);
    assert.equal(kinds(after), 'dense,reshape');
    assert.equal(after.nodes[0].op.inputs[0], 'x');
  });

  it('a reshape → softmax → reshape back that keeps the last dimension loses both reshapes', () => {
    const b = new Builder();
    const x = b.input('x', [1, 1, 1, 8]);
    const r1 = b.op('r1', { kind: 'reshape', inputs: [x], attrs: { shape: [1, 8] } }, [1, 8]);
    const s = b.op('s', { kind: 'softmax', inputs: [r1], attrs: { axis: -1, beta: 1 } }, [1, 8]);
    const r2 = b.op('r2', { kind: 'reshape', inputs: [s], attrs: { shape: [1, 1, 1, 8] } }, [1, 1, 1, 8]);
    // Rows of 2 are not rows of 8: here the reshapes change what the softmax normalises, so they stay.
    const r3 = b.op('r3', { kind: 'reshape', inputs: [r2], attrs: { shape: [1, 4, 2] } }, [1, 4, 2]);
    const s2 = b.op('s2', { kind: 'softmax', inputs: [r3], attrs: { axis: -1, beta: 1 } }, [1, 4, 2]);
    const g = b.output(b.op('y', { kind: 'reshape', inputs: [s2], attrs: { shape: [1, 1, 1, 8] } }, [1, 1, 1, 8]), r2);
    const after = samePrediction(g, elideReshapes);
    assert.equal(kinds(after), 'softmax,reshape,softmax,reshape');
    assert.equal(after.nodes[0].op.inputs[0], 'x');
  });

  it('batch norm folds into the layer before it, or becomes MUL + ADD where there is none', () => {
    const b = new Builder();
    const x = b.input('x', [1, 3, 3, 4]);
    const bnInputs = (p: string) => [
      b.constant(`${p}g`, [4]),
      b.constant(`${p}b`, [4]),
      b.constant(`${p}m`, [4]),
      b.constant(`${p}v`, [4], true),
    ];
    const c = b.op(
      'c',
      { kind: 'conv2d', inputs: [x, b.constant('w', [4, 1, 1, 4])], attrs: conv([0, 0, 0, 0]) },
      [1, 3, 3, 4],
    );
    const bn1 = b.op(
      'bn1',
      { kind: 'batchnorm', inputs: [c, ...bnInputs('a')] as never, attrs: { epsilon: 1e-3, axis: 3 } },
      [1, 3, 3, 4],
    );
    const s = b.op('s', { kind: 'add', inputs: [bn1, x], attrs: {} }, [1, 3, 3, 4]);
    const g = b.output(
      b.op(
        'bn2',
        { kind: 'batchnorm', inputs: [s, ...bnInputs('b')] as never, attrs: { epsilon: 1e-3, axis: 3 } },
        [1, 3, 3, 4],
      ),
    );
    const after = samePrediction(g, foldBatchNorm);
    assert.equal(kinds(after), 'conv2d,add,mul,add');
  });

  it('toDeviceGraph chains them: constants, bias, pad, activation, reshape', () => {
    const b = new Builder();
    const x = b.input('x', [1, 4, 4, 2]);
    const p = b.op(
      'p',
      { kind: 'pad', inputs: [x], attrs: { pads: [0, 1, 1, 0, 0, 1, 1, 0], value: 0 } },
      [1, 6, 6, 2],
    );
    const c = b.op(
      'c',
      { kind: 'conv2d', inputs: [p, b.constant('w', [3, 3, 3, 2])], attrs: conv([0, 0, 0, 0]) },
      [1, 4, 4, 3],
    );
    const k = b.op('k', { kind: 'mul', inputs: [b.constant('kb', [3]), b.constant('two', [1])], attrs: {} }, [3]);
    const a = b.op('a', { kind: 'add', inputs: [c, k], attrs: {} }, [1, 4, 4, 3]);
    const r = b.op('r', { kind: 'relu', inputs: [a], attrs: {} }, [1, 4, 4, 3]);
    const f = b.op('f', { kind: 'reshape', inputs: [r], attrs: { shape: [1, 48] } }, [1, 48]);
    const g = b.output(b.op('y', { kind: 'dense', inputs: [f, b.constant('wd', [4, 48])], attrs: {} }, [1, 4]));
    const after = samePrediction(g, toDeviceGraph);
    assert.equal(kinds(after), 'conv2d,dense');
    assert.deepEqual(after.nodes[0].op.attrs, { ...conv([1, 1, 1, 1]), clamp: { min: 0, max: Infinity } });
  });
});
