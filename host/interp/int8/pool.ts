import type { Pool2DOptions } from '../../ir/qmodel';

/** MAX_POOL_2D / AVERAGE_POOL_2D over the taps inside the input (TFLite Micro's reference rounding for the average). */
export function pool2d(
  x: Int8Array,
  y: Int8Array,
  inH: number,
  inW: number,
  C: number,
  outH: number,
  outW: number,
  o: Pool2DOptions,
  max: boolean,
): void {
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let c = 0; c < C; c++) {
        let acc = max ? -128 : 0;
        let count = 0;
        for (let ky = 0; ky < o.filter_h; ky++) {
          const iy = oy * o.stride_h - o.pad_top + ky;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < o.filter_w; kx++) {
            const ix = ox * o.stride_w - o.pad_left + kx;
            if (ix < 0 || ix >= inW) continue;
            const v = x[(iy * inW + ix) * C + c];
            if (max) acc = v > acc ? v : acc;
            else acc += v;
            count++;
          }
        }
        // C's truncating division after adding ±count/2: rounds half away from zero.
        const v = max ? acc : Math.trunc((acc > 0 ? acc + Math.trunc(count / 2) : acc - Math.trunc(count / 2)) / count);
        y[(oy * outW + ox) * C + c] =
          v < o.activation_min ? o.activation_min : v > o.activation_max ? o.activation_max : v;
      }
    }
  }
}
