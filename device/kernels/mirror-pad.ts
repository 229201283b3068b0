// MIRROR_PAD: x padded with its own values, REFLECT and SYMMETRIC as TFLite's MIRROR_PAD, EDGE (ONNX Pad 'edge')
// repeating the border value. Prepare turns each dimension's padding into the input offset every output index reads
// (at load, not per inference); eval is four loops over the output, the innermost along one row.

import { MirrorPadOptions_mode, MirrorPadOptions_paddings, Options_MirrorPadOptions } from '../format/layout';
import { badOptions, badShape, intVector } from '../format/reader';
import { inputInfo, needInputs, needOptions, type OpContext, type OpRegistration, optI32, outputInfo } from '../op';
import type { Buf } from '../platform/api';

const MIRROR_PAD_RANK = 4;
const REFLECT = 0,
  SYMMETRIC = 1,
  EDGE = 2;

interface MirrorPadData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  /** Per dimension (left-aligned to MIRROR_PAD_RANK): for each output index, the input index it reads times the input's stride. */
  src: number[][];
}

/** The input index that output index `o` of a dimension of `n` values padded by `before` reads. */
function mirrored(o: number, before: number, n: number, mode: number): number {
  const i = o - before;
  if (i >= 0 && i < n) return i;
  if (mode === EDGE) return i < 0 ? 0 : n - 1;
  const shift = mode === SYMMETRIC ? 1 : 0;
  return i < 0 ? -i - shift : 2 * (n - 1) - i + shift;
}

function prepareMirrorPad(ctx: OpContext): MirrorPadData {
  needOptions(ctx, Options_MirrorPadOptions);
  needInputs(ctx, 1, 'one input');
  const oi = ctx.index,
    xShape = inputInfo(ctx, 0).shape,
    yShape = outputInfo(ctx).shape,
    x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  const rank = xShape.length;
  const paddings = intVector(ctx.blob, ctx.options, MirrorPadOptions_paddings);
  const mode = optI32(ctx, MirrorPadOptions_mode, REFLECT);
  if (!(mode === REFLECT || mode === SYMMETRIC || mode === EDGE)) badOptions(oi, 'mirror pad mode ' + mode);
  if (rank > MIRROR_PAD_RANK) badShape(oi, 'pads ' + rank + ' dimensions, at most ' + MIRROR_PAD_RANK);
  // REFLECT reads at most n - 1 values past the border, SYMMETRIC n; EDGE repeats one value as often as asked.
  const most = mode === REFLECT ? 1 : 0;
  let ok = yShape.length === rank && paddings.length === 2 * rank;
  const p: MirrorPadData = { x: x.data, xOff: x.at, y: y.data, yOff: y.at, src: [] };
  let stride = 1;
  for (let k = MIRROR_PAD_RANK - 1; k >= 0; k--) {
    const d = k - MIRROR_PAD_RANK + rank;
    const map: number[] = [];
    if (d < 0) map.push(0);
    else {
      const n = xShape[d],
        before = paddings[2 * d],
        after = paddings[2 * d + 1];
      ok =
        ok &&
        before >= 0 &&
        after >= 0 &&
        n + before + after === yShape[d] &&
        (mode === EDGE || (before <= n - most && after <= n - most));
      for (let o = 0; ok && o < yShape[d]; o++) map.push(mirrored(o, before, n, mode) * stride);
      stride *= n;
    }
    p.src.unshift(map);
  }
  if (!ok)
    badShape(
      oi,
      'mirror paddings [' +
        paddings.join(',') +
        '] do not take [' +
        xShape.join(',') +
        '] to [' +
        yShape.join(',') +
        ']',
    );
  return p;
}

function evalMirrorPad(p: MirrorPadData): void {
  const x = p.x,
    y = p.y,
    xo = p.xOff,
    s0 = p.src[0],
    s1 = p.src[1],
    s2 = p.src[2],
    s3 = p.src[3],
    n0 = s0.length,
    n1 = s1.length,
    n2 = s2.length,
    n3 = s3.length;
  let yo = p.yOff;
  for (let a = 0; a < n0; a++)
    for (let b = 0; b < n1; b++)
      for (let c = 0; c < n2; c++) {
        const base = xo + s0[a] + s1[b] + s2[c];
        for (let d = 0; d < n3; d++) y[yo + d] = x[base + s3[d]];
        yo += n3;
      }
}

export const MIRROR_PAD: OpRegistration = { prepare: prepareMirrorPad, eval: evalMirrorPad };
