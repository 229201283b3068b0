// Structure search: students of every width × depth are distilled from the model, then every sparsity
// (gradual pruning with fine-tuning) and weight bit width (post-training fake quantization) is measured on
// the validation split. Candidates are kept when no other one is at least as accurate, as small (blob
// bytes) and as cheap (MACs) while strictly better in one of the three: the Pareto front.

import { ModelError } from '../ir/graph';
import type { LabelledImages } from './batches';
import type { Candidate } from './compression-json';
import { evaluateNet, predictLogits } from './evaluate';
import type { WeightBits } from './fake-quant';
import { trainNet } from './fine-tune';
import { TrainableNet } from './net';
import { defaultPruneTargets, gradualPruning } from './prune';
import { isWeightLayer, paramCount, type SeqModel } from './seq-model';
import { blobSize } from './size';
import { studentOf } from './student';

export interface SearchSpace {
  widths: number[];
  /** Hidden layer counts (MLPs only); undefined keeps the model's structure. */
  depths?: number[];
  sparsities: number[];
  bits: WeightBits[];
}

export interface SearchOptions {
  epochs: number;
  lr: number;
  seed: number;
  alpha: number;
  temperature: number;
  quiet?: boolean;
}

export interface SearchResult {
  candidates: Candidate[];
  /** Float weights of each candidate (before fake quantization), parallel to candidates. */
  models: SeqModel[];
}

export function paretoFront(cs: Pick<Candidate, 'valAccuracy' | 'blobBytes' | 'macs'>[]): boolean[] {
  return cs.map(
    (c) =>
      !cs.some(
        (o) =>
          o.valAccuracy >= c.valAccuracy &&
          o.blobBytes <= c.blobBytes &&
          o.macs <= c.macs &&
          (o.valAccuracy > c.valAccuracy || o.blobBytes < c.blobBytes || o.macs < c.macs),
      ),
  );
}

export function searchStructures(
  model: SeqModel,
  data: { train: LabelledImages; val: LabelledImages },
  space: SearchSpace,
  opts: SearchOptions,
): SearchResult {
  if (!space.widths.length || !space.sparsities.length || !space.bits.length)
    throw new ModelError('the search space needs at least one width, sparsity and bit width');
  const teacher = new TrainableNet(model);
  const teacherLogits = predictLogits(teacher, data.train);
  teacher.dispose();
  const candidates: Candidate[] = [];
  const models: SeqModel[] = [];
  for (const depth of space.depths ?? [undefined]) {
    for (const width of space.widths) {
      const student = new TrainableNet(studentOf(model, { width, depth }, opts.seed));
      const tag = `w${width}${depth === undefined ? '' : ` d${depth}`}`;
      trainNet(student, data.train, {
        epochs: opts.epochs,
        lr: opts.lr,
        seed: opts.seed,
        label: `search ${tag} distill`,
        distill: { teacherLogits, alpha: opts.alpha, temperature: opts.temperature },
        quiet: opts.quiet,
      });
      const trained = student.toModel();
      student.dispose();
      for (const sparsity of space.sparsities) {
        let m = trained;
        if (sparsity > 0) {
          const net = new TrainableNet(trained);
          const hook = gradualPruning(net, defaultPruneTargets(trained, sparsity));
          trainNet(net, data.train, {
            epochs: 1,
            lr: opts.lr / 4,
            seed: opts.seed + 1,
            label: `search ${tag} s${sparsity}`,
            beforeStep: hook,
            quiet: opts.quiet,
          });
          m = net.toModel();
          net.dispose();
        }
        for (const bits of space.bits) {
          const net = new TrainableNet(m);
          for (const l of m.layers.filter(isWeightLayer)) net.weightBits.set(l.name, bits);
          const valAccuracy = evaluateNet(net, data.val);
          net.dispose();
          const size = blobSize(m, Object.fromEntries(m.layers.filter(isWeightLayer).map((l) => [l.name, bits])));
          candidates.push({
            width,
            depth,
            sparsity,
            bits,
            valAccuracy,
            blobBytes: size.blobBytes,
            macs: size.macs,
            params: paramCount(m),
            pareto: false,
          });
          models.push(m);
          if (!opts.quiet)
            console.error(
              `search ${tag} sparsity ${sparsity} int${bits}: val ${(100 * valAccuracy).toFixed(2)}%, ${size.blobBytes} B, ${size.macs} MACs`,
            );
        }
      }
    }
  }
  paretoFront(candidates).forEach((p, i) => (candidates[i].pareto = p));
  return { candidates, models };
}
