// The optimization pipeline and the contract it leaves for the quantizer.

import { type Graph, ModelError } from '../ir/graph';
import { elideReshapes } from './elide-reshape';
import { eliminateDead } from './eliminate-dead';
import { foldBatchNorm } from './fold-batchnorm';
import { foldChannelConstants } from './fold-bias';
import { foldConstants } from './fold-constants';
import { foldPadIntoConv } from './fold-pad';
import { fuseActivations } from './fuse-activation';

export const DEVICE_OPS = new Set([
  'conv2d',
  'depthwise_conv2d',
  'dense',
  'add',
  'sub',
  'mul',
  'max_pool',
  'avg_pool',
  'mean',
  'reshape',
  'concat',
  'pad',
  'softmax',
  'relu',
  'clip',
  'sigmoid',
  'tanh',
  'leaky_relu',
  'gather_strided',
  'reduce',
  'batch_matmul',
  'layer_norm',
]);

function cloneGraph(g: Graph): Graph {
  return {
    ...g,
    tensors: new Map([...g.tensors].map(([k, t]) => [k, { ...t, shape: [...t.shape] }])),
    nodes: g.nodes.map((n) => ({
      name: n.name,
      op: { ...n.op, inputs: [...n.op.inputs], outputs: [...n.op.outputs], attrs: { ...n.op.attrs } } as typeof n.op,
    })),
    inputs: [...g.inputs],
    outputs: [...g.outputs],
    meta: { ...g.meta },
  };
}

/**
 * Optimizes a copy of the graph for the device: constants folded, BN and per-channel add/sub/mul constants folded into the layer before,
 * zero pads folded into convolutions, activations fused, needless reshapes gone, dead code gone; NHWC only.
 */
export function toDeviceGraph(source: Graph): Graph {
  if (source.layout !== 'NHWC')
    throw new ModelError('NCHW graphs need the layout pass, which this build does not have yet');
  const g = eliminateDead(
    elideReshapes(
      fuseActivations(foldPadIntoConv(foldChannelConstants(foldBatchNorm(foldConstants(cloneGraph(source)))))),
    ),
  );
  for (const n of g.nodes) {
    if (!DEVICE_OPS.has(n.op.kind))
      throw new ModelError(
        `op '${n.op.kind}' (node ${n.name}) cannot be lowered to the device yet (supported: ${[...DEVICE_OPS].join(', ')})`,
      );
  }
  return g;
}
