// MEAN over the H·W positions of an NHWC tensor (TFLite's int8 Mean): requantize the zero-centred sum, then
// divide by the count rounding half away from zero. REDUCE's eval over one block of H·W positions, C apart.

import {
  MeanOptions_input_zero_point,
  MeanOptions_multiplier,
  MeanOptions_output_zero_point,
  MeanOptions_shift,
  Options_MeanOptions,
} from '../format/layout';
import { badOptions, badShape } from '../format/reader';
import { centredRequantValid, readCentredRequant } from './centred-requant';
import { inputInfo, needOptions, type OpContext, type OpRegistration, outputInfo } from '../op';
import { evalReduce, REDUCE_MEAN, type ReduceData, reduceData } from './reduce';

function prepareMean(ctx: OpContext): ReduceData {
  needOptions(ctx, Options_MeanOptions);
  const xs = inputInfo(ctx, 0).shape;
  if (xs.length !== 4 || xs[0] !== 1 || outputInfo(ctx).count !== xs[3]) badShape(ctx.index, 'mean shapes');
  const p = reduceData(
    ctx,
    REDUCE_MEAN,
    1,
    xs[1] * xs[2],
    xs[3],
    readCentredRequant(ctx, [
      MeanOptions_input_zero_point,
      MeanOptions_output_zero_point,
      MeanOptions_multiplier,
      MeanOptions_shift,
    ]),
  );
  if (!centredRequantValid(p.rq)) badOptions(ctx.index, 'mean parameters');
  return p;
}

export const MEAN: OpRegistration = { prepare: prepareMean, eval: evalReduce };
