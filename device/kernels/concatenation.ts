// CONCATENATION along one axis: every input shares the output's quantization, so bytes are copied. For each
// index of the dimensions before the axis ("outer"), each input contributes one run of (its size along the
// axis)·(the size of the dimensions after it) bytes.

function prepareConcatenation(
  b: Blob,
  p: PreparedOp,
  opt: number,
  oi: number,
  oin: number[],
  infos: TensorInfo[],
  data: TensorData[],
  tensorIndex: (v: number) => number,
  yi: number,
): void {
  let ys = infos[yi].shape,
    rank = ys.length;
  let axis = optI32(b, opt, ConcatenationOptions_axis, 0);
  if (!(axis >= 0 && axis < rank)) badOptions(oi, 'concatenation axis ' + axis + ' outside 0..' + (rank - 1));
  let inner = 1,
    outer = 1;
  for (let d = 0; d < rank; d++) {
    if (d < axis) outer *= ys[d];
    if (d > axis) inner *= ys[d];
  }
  p.xs = [];
  p.xOffs = [];
  p.runs = [];
  let total = 0,
    ok = true;
  for (let k = 0; k < oin.length; k++) {
    let ti = tensorIndex(oin[k]),
      t = infos[ti];
    ok = ok && t.type === TensorType_INT8 && t.shape.length === rank;
    for (let e = 0; e < rank; e++) ok = ok && (e === axis || t.shape[e] === ys[e]);
    p.xs.push(data[ti].data);
    p.xOffs.push(data[ti].at);
    p.runs.push(t.shape[axis] * inner);
    total += t.shape[axis];
  }
  if (!ok || total !== ys[axis]) badShape(oi, 'inputs do not concatenate along axis ' + axis);
  p.batches = outer;
}

function concatenation(p: PreparedOp): void {
  let xs = p.xs,
    xOffs = p.xOffs,
    runs = p.runs,
    y = p.y,
    inputs = xs.length,
    at = p.yOff;
  for (let o = 0; o < p.batches; o++) {
    for (let k = 0; k < inputs; k++) {
      let x = xs[k],
        run = runs[k],
        from = xOffs[k] + o * run;
      for (let i = 0; i < run; i++) y[at + i] = x[from + i];
      at += run;
    }
  }
}
