// The op registry: every kernel the runtime has, one line per opcode (TFLM's MicroMutableOpResolver). Adding an op
// is its kernel file, its line here, its schema entry and its tests. `morsel bundle` builds a runtime from the
// lines of a model's opcodes only (tools/build-device.ts, registryEntry): keep each line `OPS[OpCode_X] = KERNEL;`.
// A kernel X_PACKED (from kernels/x-packed.ts) also reads packed or sparse weights; for a model without any, the
// per-model bundle takes its dense-only X from kernels/x.ts instead, leaving the packed readers out.

import {
  OpCode_ADD,
  OpCode_AVERAGE_POOL_2D,
  OpCode_BATCH_MATMUL,
  OpCode_CONCATENATION,
  OpCode_CONV_2D,
  OpCode_DEPTHWISE_CONV_2D,
  OpCode_FULLY_CONNECTED,
  OpCode_ELU,
  OpCode_EXP,
  OpCode_GELU,
  OpCode_HARD_SWISH,
  OpCode_LUT,
  OpCode_GATHER_STRIDED,
  OpCode_LAYER_NORM,
  OpCode_LEAKY_RELU,
  OpCode_LOGISTIC,
  OpCode_MAX_POOL_2D,
  OpCode_MAXIMUM,
  OpCode_MEAN,
  OpCode_MIRROR_PAD,
  OpCode_MINIMUM,
  OpCode_MUL,
  OpCode_PAD,
  OpCode_PRELU,
  OpCode_QUANTIZE,
  OpCode_REDUCE,
  OpCode_RESHAPE,
  OpCode_RESIZE_BILINEAR,
  OpCode_RESIZE_NEAREST_NEIGHBOR,
  OpCode_SOFTMAX,
  OpCode_LOG_SOFTMAX,
  OpCode_SUB,
  OpCode_TANH,
  OpCode_TRANSPOSE_CONV,
} from './format/layout';
import { ADD, SUB } from './kernels/arithmetic';
import { BATCH_MATMUL } from './kernels/batch-matmul';
import { CONCATENATION } from './kernels/concatenation';
import { CONV_2D_PACKED } from './kernels/conv2d-packed';
import { DEPTHWISE_CONV_2D } from './kernels/depthwise-conv2d';
import { FULLY_CONNECTED_PACKED } from './kernels/fully-connected-packed';
import { GATHER_STRIDED } from './kernels/gather-strided';
import { LAYER_NORM } from './kernels/layer-norm';
import { LOOKUP } from './kernels/lut';
import { MAXIMUM, MINIMUM } from './kernels/maximum-minimum';
import { MEAN } from './kernels/mean';
import { MIRROR_PAD } from './kernels/mirror-pad';
import { MUL } from './kernels/mul';
import { PAD } from './kernels/pad';
import { PRELU } from './kernels/prelu';
import { REDUCE } from './kernels/reduce';
import { AVERAGE_POOL_2D, MAX_POOL_2D } from './kernels/pool';
import { RESHAPE } from './kernels/reshape';
import { RESIZE_BILINEAR } from './kernels/resize-bilinear';
import { RESIZE_NEAREST_NEIGHBOR } from './kernels/resize-nearest';
import { SOFTMAX } from './kernels/softmax';
import { LOG_SOFTMAX } from './kernels/log-softmax';
import { TRANSPOSE_CONV } from './kernels/transpose-conv';
import type { OpRegistration } from './op';

export const OPS: OpRegistration[] = [];
OPS[OpCode_FULLY_CONNECTED] = FULLY_CONNECTED_PACKED;
OPS[OpCode_CONV_2D] = CONV_2D_PACKED;
OPS[OpCode_DEPTHWISE_CONV_2D] = DEPTHWISE_CONV_2D;
OPS[OpCode_MAX_POOL_2D] = MAX_POOL_2D;
OPS[OpCode_AVERAGE_POOL_2D] = AVERAGE_POOL_2D;
OPS[OpCode_ADD] = ADD;
OPS[OpCode_SUB] = SUB;
OPS[OpCode_MUL] = MUL;
OPS[OpCode_RESHAPE] = RESHAPE;
OPS[OpCode_SOFTMAX] = SOFTMAX;
OPS[OpCode_LOG_SOFTMAX] = LOG_SOFTMAX;
OPS[OpCode_LOGISTIC] = LOOKUP;
OPS[OpCode_TANH] = LOOKUP;
OPS[OpCode_CONCATENATION] = CONCATENATION;
OPS[OpCode_PAD] = PAD;
OPS[OpCode_MEAN] = MEAN;
OPS[OpCode_QUANTIZE] = LOOKUP;
OPS[OpCode_LEAKY_RELU] = LOOKUP;
OPS[OpCode_HARD_SWISH] = LOOKUP;
OPS[OpCode_MIRROR_PAD] = MIRROR_PAD;
OPS[OpCode_ELU] = LOOKUP;
OPS[OpCode_EXP] = LOOKUP;
OPS[OpCode_GELU] = LOOKUP;
OPS[OpCode_LUT] = LOOKUP;
OPS[OpCode_PRELU] = PRELU;
OPS[OpCode_MAXIMUM] = MAXIMUM;
OPS[OpCode_MINIMUM] = MINIMUM;
OPS[OpCode_GATHER_STRIDED] = GATHER_STRIDED;
OPS[OpCode_REDUCE] = REDUCE;
OPS[OpCode_BATCH_MATMUL] = BATCH_MATMUL;
OPS[OpCode_RESIZE_NEAREST_NEIGHBOR] = RESIZE_NEAREST_NEIGHBOR;
OPS[OpCode_LAYER_NORM] = LAYER_NORM;
OPS[OpCode_TRANSPOSE_CONV] = TRANSPOSE_CONV;
OPS[OpCode_RESIZE_BILINEAR] = RESIZE_BILINEAR;
