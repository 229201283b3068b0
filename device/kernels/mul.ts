// MUL (TFLite int8, reference_integer_ops::MulElementwise): y = clamp(MBQM((a + off1)·(b + off2)) + off_out).

function prepareMul(b: Blob, p: PreparedOp, opt: number, oi: number): void {
  p.inZp = optI32(b, opt, MulOptions_input1_offset, 0);
  p.inZp2 = optI32(b, opt, MulOptions_input2_offset, 0);
  p.outZp = optI32(b, opt, MulOptions_output_offset, 0);
  p.mult = int32s([optI32(b, opt, MulOptions_output_multiplier, 0)]);
  p.shift = int32s([optI32(b, opt, MulOptions_output_shift, 0)]);
  if (!(p.inZp >= -127 && p.inZp <= 128 && p.inZp2 >= -127 && p.inZp2 <= 128))
    badOptions(oi, 'input offsets outside -127..128');
  if (!(p.shift[0] >= -31 && p.shift[0] <= 30 && p.mult[0] >= 0)) badOptions(oi, 'shift/multiplier out of range');
  clampBounds(p, optI32(b, opt, MulOptions_activation_min, -128), optI32(b, opt, MulOptions_activation_max, 127), oi);
}

/** One innermost run of the broadcast (kernels/broadcast.ts). */
function mulRows(
  p: PreparedOp,
  aAt: number,
  aStep: number,
  bAt: number,
  bStep: number,
  yAt: number,
  n: number,
  single: boolean,
): void {
  let a = p.x,
    b = p.x2,
    y = p.y,
    m = p.mult[0],
    s = p.shift[0],
    yo = p.yOff;
  aAt += p.xOff;
  bAt += p.x2Off;
  let zpA = p.inZp,
    zpB = p.inZp2,
    zpY = p.outZp,
    lo = p.actMin,
    hi = p.actMax;
  for (let i = 0; i < n; i++) {
    let v = mbqm((a[aAt] + zpA) * (b[bAt] + zpB), m, s, single) + zpY;
    y[yo + yAt + i] = v < lo ? lo : v > hi ? hi : v;
    aAt += aStep;
    bAt += bStep;
  }
}
