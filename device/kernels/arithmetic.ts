// ADD / SUB (TFLite int8): rescale both inputs to a common base shifted left by left_shift, combine, requantize.
// One innermost run of the broadcast (kernels/broadcast.ts).
function arithmeticRows(
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
    sh = POW2[p.leftShift],
    subtract = p.code === OpCode_SUB,
    yo = p.yOff;
  aAt += p.xOff;
  bAt += p.x2Off;
  let m = p.mult,
    s = p.shift,
    zpA = p.inZp,
    zpB = p.inZp2,
    zpY = p.outZp,
    lo = p.actMin,
    hi = p.actMax;
  for (let i = 0; i < n; i++) {
    let s1 = mbqm((a[aAt] + zpA) * sh, m[0], s[0], single);
    let s2 = mbqm((b[bAt] + zpB) * sh, m[1], s[1], single);
    let v = mbqm(subtract ? s1 - s2 : s1 + s2, m[2], s[2], single) + zpY;
    y[yo + yAt + i] = v < lo ? lo : v > hi ? hi : v;
    aAt += aStep;
    bAt += bStep;
  }
}
