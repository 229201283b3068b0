// MEAN over the H·W positions of an NHWC tensor (TFLite's int8 Mean): requantize the zero-centred sum, then
// divide by the count rounding half away from zero.
function meanHW(p: PreparedOp, single: boolean): void {
  const x = p.x,
    y = p.y,
    C = p.inC,
    n = p.depth,
    half = floor(n / 2),
    xo = p.xOff,
    yo = p.yOff;
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += x[xo + i * C + c] - p.inZp;
    acc = mbqm(acc, p.mult[0], p.shift[0], single);
    acc = (acc > 0 ? floor((acc + half) / n) : -floor((half - acc) / n)) + p.outZp;
    y[yo + c] = acc < -128 ? -128 : acc > 127 ? 127 : acc;
  }
}
