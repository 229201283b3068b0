// MAX_POOL_2D / AVERAGE_POOL_2D over the taps inside the input; the average rounds half away from zero. The
// window is clipped once per output pixel (like TFLM's reference kernel).

import {
  Options_Pool2DOptions,
  Pool2DOptions_activation_max,
  Pool2DOptions_activation_min,
  Pool2DOptions_filter_h,
  Pool2DOptions_filter_w,
  Pool2DOptions_pad_left,
  Pool2DOptions_pad_top,
  Pool2DOptions_stride_h,
  Pool2DOptions_stride_w,
} from '../format/layout';
import { badOptions, badShape, failOp } from '../format/reader';
import { checkBounds, needOptions, type OpContext, type OpRegistration, optI32, outputInfo } from '../op';
import { readWindowGeometry, type WindowGeometry } from './conv';
import { floor } from '../platform/api';

interface PoolData extends WindowGeometry {
  max: boolean;
  actMin: number;
  actMax: number;
}

function preparePool2D(ctx: OpContext, max: boolean): PoolData {
  needOptions(ctx, Options_Pool2DOptions);
  const p = readWindowGeometry(ctx, optI32(ctx, Pool2DOptions_filter_h, 0), optI32(ctx, Pool2DOptions_filter_w, 0), [
    Pool2DOptions_stride_h,
    Pool2DOptions_stride_w,
    Pool2DOptions_pad_top,
    Pool2DOptions_pad_left,
  ]) as PoolData;
  if (p.inC !== outputInfo(ctx).shape[3]) badShape(ctx.index, 'pool shapes');
  p.max = max;
  p.actMin = optI32(ctx, Pool2DOptions_activation_min, -128);
  p.actMax = optI32(ctx, Pool2DOptions_activation_max, 127);
  if (!(p.kH >= 1 && p.kW >= 1 && p.kH <= 256 && p.kW <= 256)) badOptions(ctx.index, 'pool window');
  checkBounds(ctx, p.actMin, p.actMax);
  // A window that holds no input value: AVERAGE_POOL_2D would divide by zero (TFLM's too).
  if (
    !(
      p.padTop < p.kH &&
      p.padLeft < p.kW &&
      (p.outH - 1) * p.strideH - p.padTop < p.inH &&
      (p.outW - 1) * p.strideW - p.padLeft < p.inW
    )
  )
    failOp('SHAPE', ctx.index, 'has an empty pool window');
  ctx.work = p.kH * p.kW;
  return p;
}

function prepareMaxPool2D(ctx: OpContext): PoolData {
  return preparePool2D(ctx, true);
}

function prepareAveragePool2D(ctx: OpContext): PoolData {
  return preparePool2D(ctx, false);
}

function evalPool2D(p: PoolData): void {
  const max = p.max,
    x = p.x,
    y = p.y,
    inH = p.inH,
    inW = p.inW,
    C = p.inC,
    xo = p.xOff,
    kH = p.kH,
    kW = p.kW;
  const lo = p.actMin,
    hi = p.actMax,
    outH = p.outH,
    outW = p.outW,
    start = max ? -128 : 0;
  let yb = p.yOff;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * p.strideH - p.padTop;
    const ys = iy0 < 0 ? -iy0 : 0,
      ye = iy0 + kH > inH ? inH - iy0 : kH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * p.strideW - p.padLeft;
      const xs = ix0 < 0 ? -ix0 : 0,
        xe = ix0 + kW > inW ? inW - ix0 : kW;
      const count = (ye - ys) * (xe - xs),
        half = floor(count / 2),
        x0 = xo + ((iy0 + ys) * inW + ix0 + xs) * C,
        rowStep = inW * C;
      // Channel by channel over the clipped window, the running max or sum in a local.
      for (let c = 0; c < C; c++) {
        let r = start,
          xr = x0 + c;
        for (let ky = ys; ky < ye; ky++) {
          let xb = xr;
          if (TRACING_JIT && max) {
            for (let kx = xs; kx < xe; kx++) {
              r = Math.max(r, x[xb]); // no data-dependent branch (api.d.ts)
              xb += C;
            }
          } else if (max) {
            for (let kx = xs; kx < xe; kx++) {
              const v = x[xb];
              if (v > r) r = v;
              xb += C;
            }
          } else {
            for (let kx = xs; kx < xe; kx++) {
              r += x[xb];
              xb += C;
            }
          }
          xr += rowStep;
        }
        if (!max) r = r > 0 ? floor((r + half) / count) : -floor((half - r) / count);
        if (r < lo) r = lo;
        else if (r > hi) r = hi;
        y[yb + c] = r;
      }
      yb += C;
    }
  }
}

export const MAX_POOL_2D: OpRegistration = { prepare: prepareMaxPool2D, eval: evalPool2D };
export const AVERAGE_POOL_2D: OpRegistration = { prepare: prepareAveragePool2D, eval: evalPool2D };
