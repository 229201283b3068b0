// The part of TFLite's FlatBuffer schema (tensorflow/lite/schema/schema.fbs, version 3) that Morsel reads and
// writes: enum values and field ids. A field's vtable slot is its id; a union occupies two ids (type, value).

export const TFLITE_IDENTIFIER = 'TFL3';
export const TFLITE_SCHEMA_VERSION = 3;

export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, INT16: 7, INT8: 9 } as const;

export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  LOG_SOFTMAX: 50,
  TANH: 28,
  PAD: 34,
  MEAN: 40,
  SUB: 41,
  RESIZE_NEAREST_NEIGHBOR: 97,
  LEAKY_RELU: 98,
  MIRROR_PAD: 100,
  QUANTIZE: 114,
  HARD_SWISH: 117,
  EXP: 47,
  ELU: 111,
  GELU: 150,
  PRELU: 54,
  MAXIMUM: 55,
  MINIMUM: 57,
  TRANSPOSE_CONV: 67,
  RESIZE_BILINEAR: 23,
  GATHER: 36,
  SUM: 74,
  REDUCE_MAX: 82,
  BATCH_MATMUL: 126,
  UNIDIRECTIONAL_SEQUENCE_LSTM: 44,
} as const;
export type BuiltinOperatorName = keyof typeof BuiltinOperator;

/** Names of ops Morsel does not import, so that an error about one can name it. */
const OTHER_BUILTIN_NAMES: Record<number, string> = {
  5: 'DEPTH_TO_SPACE',
  8: 'FLOOR',
  11: 'L2_NORMALIZATION',
  12: 'L2_POOL_2D',
  13: 'LOCAL_RESPONSE_NORMALIZATION',
  16: 'LSTM',
  20: 'RELU_N1_TO_1',
  26: 'SPACE_TO_DEPTH',
  27: 'SVDF',
  32: 'CUSTOM',
  37: 'BATCH_TO_SPACE_ND',
  38: 'SPACE_TO_BATCH_ND',
  39: 'TRANSPOSE',
  42: 'DIV',
  43: 'SQUEEZE',
  45: 'STRIDED_SLICE',
  49: 'SPLIT',
  50: 'LOG_SOFTMAX',
  53: 'CAST',
  56: 'ARG_MAX',
  60: 'PADV2',
  65: 'SLICE',
  70: 'EXPAND_DIMS',
  75: 'SQRT',
  76: 'RSQRT',
  77: 'SHAPE',
  83: 'PACK',
  88: 'UNPACK',
  97: 'RESIZE_NEAREST_NEIGHBOR',
  99: 'SQUARED_DIFFERENCE',
  100: 'MIRROR_PAD',
  101: 'ABS',
  102: 'SPLIT_V',
};

export const builtinOperatorName = (code: number): string =>
  (Object.keys(BuiltinOperator) as BuiltinOperatorName[]).find((k) => BuiltinOperator[k] === code) ??
  OTHER_BUILTIN_NAMES[code] ??
  `builtin operator ${code}`;

/** Bytes per element of the tensor types whose constants Morsel reads. */
export const TYPE_BYTES: Record<number, number> = {
  [TensorType.FLOAT32]: 4,
  [TensorType.FLOAT16]: 2,
  [TensorType.INT32]: 4,
  [TensorType.UINT8]: 1,
  [TensorType.INT64]: 8,
  [TensorType.INT16]: 2,
  [TensorType.INT8]: 1,
};

/** 1-based member index in the BuiltinOptions union. */
export const BuiltinOptions = {
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  ConcatenationOptions: 10,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  ReducerOptions: 27,
  SubOptions: 28,
  ResizeNearestNeighborOptions: 74,
  LeakyReluOptions: 75,
  MirrorPadOptions: 77,
  QuantizeOptions: 89,
  GeluOptions: 116,
  TransposeConvOptions: 49,
  ResizeBilinearOptions: 15,
  GatherOptions: 23,
  BatchMatMulOptions: 101,
  UnidirectionalSequenceLSTMOptions: 71,
} as const;

export const Padding = { SAME: 0, VALID: 1 } as const;

export const ActivationFunction = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 } as const;
export const activationFunctionName = (code: number): string =>
  (Object.keys(ActivationFunction) as (keyof typeof ActivationFunction)[]).find(
    (k) => ActivationFunction[k] === code,
  ) ?? `activation ${code}`;

/** Field ids of the tables Morsel reads or writes. */
export const Field = {
  Model: { version: 0, operator_codes: 1, subgraphs: 2, description: 3, buffers: 4 },
  OperatorCode: { deprecated_builtin_code: 0, custom_code: 1, version: 2, builtin_code: 3 },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 },
  Tensor: { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, is_variable: 5, sparsity: 6 },
  QuantizationParameters: {
    min: 0,
    max: 1,
    scale: 2,
    zero_point: 3,
    details_type: 4,
    details: 5,
    quantized_dimension: 6,
  },
  Operator: { opcode_index: 0, inputs: 1, outputs: 2, builtin_options_type: 3, builtin_options: 4, custom_options: 5 },
  Buffer: { data: 0, offset: 1, size: 2 },
  Conv2DOptions: {
    padding: 0,
    stride_w: 1,
    stride_h: 2,
    fused_activation_function: 3,
    dilation_w_factor: 4,
    dilation_h_factor: 5,
  },
  DepthwiseConv2DOptions: {
    padding: 0,
    stride_w: 1,
    stride_h: 2,
    depth_multiplier: 3,
    fused_activation_function: 4,
    dilation_w_factor: 5,
    dilation_h_factor: 6,
  },
  Pool2DOptions: {
    padding: 0,
    stride_w: 1,
    stride_h: 2,
    filter_width: 3,
    filter_height: 4,
    fused_activation_function: 5,
  },
  FullyConnectedOptions: { fused_activation_function: 0, weights_format: 1, keep_num_dims: 2 },
  SoftmaxOptions: { beta: 0 },
  ConcatenationOptions: { axis: 0, fused_activation_function: 1 },
  AddOptions: { fused_activation_function: 0 },
  SubOptions: { fused_activation_function: 0 },
  MulOptions: { fused_activation_function: 0 },
  ReshapeOptions: { new_shape: 0 },
  ReducerOptions: { keep_dims: 0 },
  LeakyReluOptions: { alpha: 0 },
  MirrorPadOptions: { mode: 0 },
  GeluOptions: { approximate: 0 },
  ResizeNearestNeighborOptions: { align_corners: 0, half_pixel_centers: 1 },
  TransposeConvOptions: { padding: 0, stride_w: 1, stride_h: 2, fused_activation_function: 3 },
  ResizeBilinearOptions: { align_corners: 2, half_pixel_centers: 3 },
  GatherOptions: { axis: 0, batch_dims: 1 },
  BatchMatMulOptions: { adj_x: 0, adj_y: 1, asymmetric_quantize_inputs: 2 },
  UnidirectionalSequenceLSTMOptions: {
    fused_activation_function: 0,
    cell_clip: 1,
    proj_clip: 2,
    time_major: 3,
    asymmetric_quantize_inputs: 4,
  },
} as const;
