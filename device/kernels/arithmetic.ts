// ADD / SUB (TFLite int8): rescale both inputs to a common base shifted left by left_shift, combine, requantize.
// The second input may broadcast along the trailing dimensions (its length divides the output's).
function arithmetic(p: PreparedOp, subtract: boolean, single: boolean): void {
  var a = p.x, b = p.x2, y = p.y, n = p.count, nb = b.length, sh = POW2[p.leftShift];
  var m = p.mult, s = p.shift;
  for (var i = 0; i < n; i++) {
    var s1 = mbqm((a[i] + p.inZp) * sh, m[0], s[0], single);
    var s2 = mbqm((b[i % nb] + p.inZp2) * sh, m[1], s[1], single);
    var v = mbqm(subtract ? s1 - s2 : s1 + s2, m[2], s[2], single) + p.outZp;
    y[i] = v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
  }
}
