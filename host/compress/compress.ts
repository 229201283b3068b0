// `morsel compress` as a library: the techniques applied in a fixed order — distillation into a smaller
// student, structured pruning, low-rank factorization, unstructured pruning, then low-bit / mixed-precision
// weights with quantization-aware fine-tuning — each followed by fine-tuning on the training split and a
// validation measurement; decisions are made on the validation split, the test set is only reported.

import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../ir/graph';
import type { Compiled } from '../compile';
import { FASHION_MNIST_CLASSES } from '../data/fashion-mnist';
import { head, type LabelledImages, range, inputBatch } from './batches';
import { compileSeqModel, predictInt8 } from './compile-seq';
import {
  COMPRESSION_FORMAT,
  type CompressionRecord,
  type LayerRecord,
  type LayerRow,
  type ModelFigures,
  type StepRecord,
} from './compression-json';
import { accuracyOf, argmaxRows, confusionMatrix, evaluateNet, predictLogits } from './evaluate';
import { quantizeChannels, WEIGHT_BITS, type WeightBits } from './fake-quant';
import type { Distillation } from './distill';
import { trainNet } from './fine-tune';
import { factorizeLayer, gradualLowRank } from './low-rank';
import { chooseBits, measureSensitivity, type Sensitivity } from './mixed-precision';
import { TrainableNet } from './net';
import { defaultPruneTargets, gradualPruning, sparsityOf, type SparsityScope } from './prune';
import { type SearchSpace, searchStructures } from './search';
import {
  findLayer,
  inputShapeOf,
  isWeightLayer,
  layerShapes,
  outChannels,
  paramCount,
  type SeqModel,
  totalMacs,
} from './seq-model';
import { blobSize, blobSizeOf, type BlobSize, layerBytesByBits } from './size';
import { type ChannelCriterion, pruneStructured } from './structured';
import { mlpStudent, studentOf } from './student';

export interface CompressOptions {
  /**
   * The student is the teacher's architecture at `width` (and MLP `depth`), either freshly initialised
   * ('scratch') or the teacher with only its most important channels ('pruned', L1 norm); or, with `mlp`,
   * a fresh MLP of those hidden widths whatever the teacher is. With `seeds` > 1 the comparison with the
   * same student trained without the teacher is repeated for seeds seed … seed + seeds − 1.
   */
  distill?: {
    width: number;
    depth?: number;
    init: 'scratch' | 'pruned';
    alpha: number;
    temperature: number;
    epochs: number;
    mlp?: number[];
    seeds?: number;
  };
  /** Fraction of channels to remove, for every prunable layer or by layer name. */
  structured?: { fraction: number | Record<string, number>; criterion: ChannelCriterion };
  /**
   * Rank by retained energy, or an explicit rank; with both, fine-tuning first projects the kernels onto
   * ever lower ranks keeping `energy` (never below `rank`, the size target) and the final factorization
   * keeps `energy`.
   */
  lowRank?: { energy?: number; rank?: number; layers?: string[] };
  prune?: { sparsity: number; scope: SparsityScope };
  bits?: WeightBits | 'mixed';
  /** Blob bytes the mixed-precision choice (and the search's pick) must fit. */
  budget?: number;
  /** Fine-tune with fake-quantized weights and int8 activations after choosing bits. */
  qat?: boolean;
  /**
   * Fine-tune every step by distillation from the source model instead of from the labels alone; or from
   * `teacher`, any model of the same inputs and classes (e.g. a stronger one from the zoo).
   */
  kd?: { alpha: number; temperature: number; teacher?: SeqModel };
  search?: SearchSpace;
  /** Fine-tuning epochs after each step. */
  epochs: number;
  lr: number;
  seed: number;
  /** Fine-tuning threads (1 or 2; see trainNet). */
  threads?: number;
  /** Validation images used for sensitivity (the search and steps use all of data.val). */
  sensitivityImages?: number;
  quiet?: boolean;
}

export interface CompressData {
  train: LabelledImages;
  val: LabelledImages;
  test: LabelledImages;
  /** Calibration data spec for the int8 compiler (loadSamples). */
  calib: string;
}

export interface CompressResult {
  model: SeqModel;
  /** The compressed model's blob (.msl), weights packed and sparse as the record says. */
  blob: Uint8Array;
  record: CompressionRecord;
}

const say = (quiet: boolean | undefined, msg: string) => {
  if (!quiet) console.error(msg);
};
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** A net whose already-sparse layers keep their zeros while training. */
function netKeepingZeros(m: SeqModel, pruned: Set<string>): TrainableNet {
  const net = new TrainableNet(m);
  for (const l of m.layers)
    if (isWeightLayer(l) && pruned.has(l.name))
      net.setMask(
        l.name,
        l.kernel.map((v) => (v !== 0 ? 1 : 0)),
      );
  return net;
}

function int8Figures(
  m: SeqModel,
  data: CompressData,
  bits: Record<string, WeightBits>,
): { compiled: Compiled; size: BlobSize; predicted: Int32Array } {
  const compiled = compileSeqModel(m, { calib: data.calib, bits });
  return { compiled, size: blobSizeOf(compiled, m, bits), predicted: predictInt8(compiled, data.test, true) };
}

function figures(
  m: SeqModel,
  data: CompressData,
  size: BlobSize,
  floatPred: Int32Array,
  quantPred: Int32Array,
  int8Pred: Int32Array,
): ModelFigures {
  return {
    params: paramCount(m),
    macs: size.macs,
    blobBytes: size.blobBytes,
    int8BlobBytes: size.int8BlobBytes,
    arenaBytes: size.arenaBytes,
    floatTestAccuracy: accuracyOf(floatPred, data.test.labels),
    int8TestAccuracy: accuracyOf(int8Pred, data.test.labels),
    quantizedTestAccuracy: accuracyOf(quantPred, data.test.labels),
  };
}

function predictFloat(net: TrainableNet, data: LabelledImages): Int32Array {
  const logits = predictLogits(net, data);
  return argmaxRows(logits, logits.length / data.count);
}

export function compressModel(
  source: SeqModel,
  data: CompressData,
  opts: CompressOptions,
  meta: { source: string; command: string },
): CompressResult {
  const steps: StepRecord[] = [];
  const pruned = new Set<string>();
  let bits: Record<string, WeightBits> = {};
  let model = source;
  let activationRanges: Map<string, [number, number]> | undefined;
  const calibBatch = () => inputBatch(data.train, range(Math.min(1000, data.train.count)), model.inputShape);

  /** Batch-norm statistics re-estimated on training images after channels were removed upstream. */
  function withFreshBatchNorm(m: SeqModel): SeqModel {
    if (!m.layers.some((l) => l.kind === 'batchnorm')) return m;
    const net = new TrainableNet(m);
    tf.tidy(() =>
      net.recalibrateBatchNorm(inputBatch(data.train, range(Math.min(2000, data.train.count)), m.inputShape)),
    );
    const out = net.toModel();
    net.dispose();
    return out;
  }

  const step = (
    technique: StepRecord['technique'],
    detail: string,
    start: number,
    net: TrainableNet,
    extra?: Record<string, unknown>,
  ) => {
    const rec: StepRecord = {
      technique,
      detail,
      valAccuracy: evaluateNet(net, data.val),
      params: paramCount(model),
      macs: totalMacs(model),
      seconds: +((Date.now() - start) / 1000).toFixed(1),
      extra,
    };
    steps.push(rec);
    say(
      opts.quiet,
      `${technique} (${detail}): validation ${pct(rec.valAccuracy)}, ${rec.params} params, ${rec.macs} MACs`,
    );
  };
  let sourceLogits: Float32Array | undefined;
  const fromSource = (): Distillation | undefined => {
    if (!opts.kd) return undefined;
    if (!sourceLogits) {
      const classes = (m: SeqModel) => layerShapes(m).at(-1)!.join('×');
      if (opts.kd.teacher && classes(opts.kd.teacher) !== classes(source))
        throw new ModelError(
          `the teacher's output (${classes(opts.kd.teacher)}) differs from the model's (${classes(source)})`,
        );
      const net = new TrainableNet(opts.kd.teacher ?? source);
      sourceLogits = predictLogits(net, data.train);
      net.dispose();
    }
    return { teacherLogits: sourceLogits, alpha: opts.kd.alpha, temperature: opts.kd.temperature };
  };
  const fineTune = (
    net: TrainableNet,
    label: string,
    extra: Partial<Parameters<typeof trainNet>[2]> = {},
    epochs = opts.epochs,
  ) => {
    if (epochs > 0)
      trainNet(net, data.train, {
        epochs,
        lr: opts.lr,
        seed: opts.seed + steps.length,
        label,
        quiet: opts.quiet,
        threads: opts.threads,
        distill: fromSource(),
        ...extra,
      });
  };

  say(opts.quiet, `${source.name}: baseline`);
  const baseline = measureBaseline(source, data);
  say(
    opts.quiet,
    `baseline: float ${pct(baseline.floatTestAccuracy)}, int8 ${pct(baseline.int8TestAccuracy)}, blob ${baseline.blobBytes} B, ${baseline.macs} MACs`,
  );

  let candidates: CompressionRecord['results']['candidates'];
  if (opts.search) {
    const t0 = Date.now();
    const s = searchStructures(source, data, opts.search, {
      epochs: opts.distill?.epochs ?? opts.epochs,
      lr: opts.lr,
      seed: opts.seed,
      alpha: opts.distill?.alpha ?? 0.7,
      temperature: opts.distill?.temperature ?? 4,
      quiet: opts.quiet,
    });
    candidates = s.candidates;
    const front = s.candidates.map((c, i) => ({ c, i })).filter(({ c }) => c.pareto);
    const fits = front.filter(({ c }) => opts.budget === undefined || c.blobBytes <= opts.budget);
    if (!fits.length)
      throw new ModelError(
        `no searched candidate fits the budget of ${opts.budget} bytes (smallest: ${Math.min(...s.candidates.map((c) => c.blobBytes))})`,
      );
    const bestAcc = Math.max(...fits.map(({ c }) => c.valAccuracy));
    // Within budget: the smallest candidate within 1 pt of the most accurate one.
    const pick = fits
      .filter(({ c }) => c.valAccuracy >= bestAcc - 0.01)
      .sort((a, b) => a.c.blobBytes - b.c.blobBytes)[0];
    model = s.models[pick.i];
    bits = Object.fromEntries(model.layers.filter(isWeightLayer).map((l) => [l.name, pick.c.bits]));
    for (const l of model.layers) if (isWeightLayer(l) && pick.c.sparsity > 0) pruned.add(l.name);
    const net = netKeepingZeros(model, pruned);
    step(
      'search',
      `picked width ${pick.c.width}${pick.c.depth === undefined ? '' : `, depth ${pick.c.depth}`}, sparsity ${pick.c.sparsity}, int${pick.c.bits} of ${s.candidates.length} candidates`,
      t0,
      net,
    );
    net.dispose();
  }

  let withoutTeacher: CompressionRecord['results']['studentWithoutTeacher'];
  if (opts.distill && !opts.search) {
    const d = opts.distill;
    const t0 = Date.now();
    const teacher = new TrainableNet(model);
    const teacherLogits = predictLogits(teacher, data.train);
    teacher.dispose();
    const initOf = (seed: number) =>
      d.mlp
        ? mlpStudent(model, d.mlp, seed)
        : d.init === 'pruned'
          ? withFreshBatchNorm(pruneStructured(model, 1 - d.width, 'l1').model)
          : studentOf(model, { width: d.width, depth: d.depth }, seed);
    // Per seed, one initialisation and one shuffle order train the student twice: without and with the teacher.
    // The first seed's distilled student is the result; the others only make the comparison robust to noise.
    const seeds: { seed: number; withTeacher: number; withoutTeacher: number }[] = [];
    let student: TrainableNet | undefined;
    for (const seed of range(d.seeds ?? 1, opts.seed)) {
      const init = initOf(seed);
      const plain = new TrainableNet(init);
      fineTune(
        plain,
        `student without teacher, seed ${seed}`,
        { distill: undefined, seed: seed + steps.length },
        d.epochs,
      );
      const without = evaluateNet(plain, data.test);
      if (!withoutTeacher)
        withoutTeacher = { floatTestAccuracy: without, macs: totalMacs(init), params: paramCount(init) };
      plain.dispose();
      const distilled = new TrainableNet(init);
      fineTune(
        distilled,
        `student distilled, seed ${seed}`,
        { distill: { teacherLogits, alpha: d.alpha, temperature: d.temperature }, seed: seed + steps.length },
        d.epochs,
      );
      seeds.push({ seed, withTeacher: evaluateNet(distilled, data.test), withoutTeacher: without });
      say(
        opts.quiet,
        `seed ${seed}: student with teacher ${pct(seeds.at(-1)!.withTeacher)}, without ${pct(without)} (test)`,
      );
      if (student) distilled.dispose();
      else student = distilled;
    }
    model = student!.toModel();
    const mean = (k: 'withTeacher' | 'withoutTeacher') => seeds.reduce((a, s) => a + s[k], 0) / seeds.length;
    const what = d.mlp
      ? `MLP student ${d.mlp.join('-')} hidden`
      : `width ×${d.width}${d.depth === undefined ? '' : `, ${d.depth} hidden layers`} (${d.init === 'pruned' ? "the teacher's strongest channels" : 'from scratch'})`;
    const versus =
      seeds.length > 1
        ? `; test top-1 with / without the teacher over seeds ${seeds.map((s) => s.seed).join(', ')}: ${seeds.map((s) => `${pct(s.withTeacher)} / ${pct(s.withoutTeacher)}`).join(', ')}, mean ${pct(mean('withTeacher'))} / ${pct(mean('withoutTeacher'))}`
        : '';
    step('distill', `${what}, α ${d.alpha}, T ${d.temperature}, ${d.epochs} epochs${versus}`, t0, student!, {
      withoutTeacherTestAccuracy: withoutTeacher!.floatTestAccuracy,
      seeds,
      meanWithTeacher: mean('withTeacher'),
      meanWithoutTeacher: mean('withoutTeacher'),
    });
    student!.dispose();
  }

  if (opts.structured) {
    const t0 = Date.now();
    const r = pruneStructured(model, opts.structured.fraction, opts.structured.criterion);
    model = withFreshBatchNorm(r.model);
    const net = netKeepingZeros(model, pruned);
    fineTune(net, 'structured fine-tune');
    model = net.toModel();
    const fraction = opts.structured.fraction;
    step(
      'structured',
      `${opts.structured.criterion}, remove ${
        typeof fraction === 'number'
          ? fraction
          : Object.entries(fraction)
              .map(([n, f]) => `${n}:${f}`)
              .join(' ')
      } of channels`,
      t0,
      net,
      { channels: r.channels },
    );
    net.dispose();
  }

  if (opts.lowRank) {
    const t0 = Date.now();
    const lr = opts.lowRank;
    const names = lr.layers ?? [model.layers.find((l) => l.kind === 'dense')!.name];
    const shapes = names.map((name) => {
      const { layer, index } = findLayer(model, name);
      if (!isWeightLayer(layer)) throw new ModelError(`layer ${name} has no kernel to factorize`);
      return { name, rows: inputShapeOf(model, index).at(-1)!, cols: outChannels(layer) };
    });
    const final = lr.energy !== undefined ? { energy: lr.energy } : { rank: lr.rank };
    if (lr.energy !== undefined) {
      const net = netKeepingZeros(model, pruned);
      fineTune(net, 'low-rank projection', { beforeStep: gradualLowRank(net, shapes, lr.energy, lr.rank) });
      model = net.toModel();
      net.dispose();
    }
    const ranks: Record<string, unknown> = {};
    for (const name of names) {
      const f = factorizeLayer(model, name, final);
      model = f.model;
      ranks[name] = {
        rank: f.rank,
        energy: +f.energy.toFixed(4),
        paramsBefore: f.paramsBefore,
        paramsAfter: f.paramsAfter,
      };
    }
    const net = netKeepingZeros(model, pruned);
    fineTune(net, 'low-rank fine-tune', {}, Math.max(1, Math.ceil(opts.epochs / 2)));
    model = net.toModel();
    step(
      'low-rank',
      [
        lr.energy !== undefined && `energy ${lr.energy}`,
        lr.rank !== undefined && `${lr.energy !== undefined ? 'projected down to rank ≥ ' : 'rank '}${lr.rank}`,
      ]
        .filter(Boolean)
        .join(', '),
      t0,
      net,
      { layers: ranks },
    );
    net.dispose();
  }

  if (opts.prune) {
    const t0 = Date.now();
    const targets = defaultPruneTargets(model, opts.prune.sparsity, opts.prune.scope);
    const net = netKeepingZeros(model, pruned);
    fineTune(net, 'gradual pruning', { beforeStep: gradualPruning(net, targets) }, Math.max(1, opts.epochs));
    model = net.toModel();
    for (const n of Object.keys(targets.layers)) pruned.add(n);
    const per = Object.fromEntries(
      Object.keys(targets.layers).map((n) => [
        n,
        +sparsityOf((findLayer(model, n).layer as { kernel: Float32Array }).kernel).toFixed(4),
      ]),
    );
    step(
      'prune',
      `${opts.prune.scope} magnitude, target sparsity ${opts.prune.sparsity}, polynomial schedule`,
      t0,
      net,
      { sparsity: per },
    );
    net.dispose();
  }

  const sensNet = head(data.val, opts.sensitivityImages ?? 2000);
  let sensitivity: { baseline: number; entries: Sensitivity[] } | undefined;
  if (opts.bits !== undefined) {
    const t0 = Date.now();
    if (opts.bits === 'mixed') {
      if (opts.budget === undefined) throw new ModelError('--bits mixed needs --budget <bytes>');
      sensitivity = measureSensitivity(model, sensNet);
      const m = model;
      bits = chooseBits(
        layerBytesByBits(m, [...WEIGHT_BITS]),
        sensitivity.entries,
        opts.budget,
        (b) => blobSize(m, b).blobBytes,
      );
    } else {
      bits = Object.fromEntries(model.layers.filter(isWeightLayer).map((l) => [l.name, opts.bits as WeightBits]));
    }
    const net = netKeepingZeros(model, pruned);
    for (const [n, b] of Object.entries(bits)) net.weightBits.set(n, b);
    if (opts.qat) {
      net.observeActivationRanges(tf.tidy(calibBatch));
      activationRanges = net.activationRanges;
      fineTune(net, 'QAT', { lr: opts.lr / 2 });
    }
    model = bakeBits(net.toModel(), bits);
    const detail =
      opts.bits === 'mixed'
        ? `mixed precision under ${opts.budget} B: ${Object.entries(bits)
            .map(([n, b]) => `${n}:${b}`)
            .join(' ')}`
        : `int${opts.bits} weights`;
    step(opts.qat ? 'qat' : opts.bits === 'mixed' ? 'mixed-precision' : 'quantize', detail, t0, net);
    net.dispose();
  }

  const measured = measureCompressed(
    model,
    bits,
    data,
    {
      source: meta.source,
      command: meta.command,
      baseline,
      steps,
      sensitivity,
      activationRanges,
      withoutTeacher,
      candidates,
    },
    opts,
  );
  return { model, ...measured };
}

/** What the compression steps found, for measureCompressed. */
export interface Prior {
  source: string;
  command: string;
  baseline: ModelFigures;
  steps: StepRecord[];
  sensitivity?: { baseline: number; entries: Sensitivity[] };
  /** Activation ranges seen by QAT (else observed on training images). */
  activationRanges?: Map<string, [number, number]>;
  withoutTeacher?: CompressionRecord['results']['studentWithoutTeacher'];
  candidates?: CompressionRecord['results']['candidates'];
}

/** Float, int8 reference, blob and MACs of the uncompressed model on the test split. */
export function measureBaseline(source: SeqModel, data: CompressData): ModelFigures {
  const net = new TrainableNet(source);
  const floatPred = predictFloat(net, data.test);
  net.dispose();
  const int8 = int8Figures(source, data, {});
  return figures(source, data, int8.size, floatPred, floatPred, int8.predicted);
}

/**
 * The compressed model's blob and record: float, fake-quantized and int8 reference accuracy on the test split,
 * the real blob's bytes per layer, sensitivity and confusion matrices.
 */
export function measureCompressed(
  model: SeqModel,
  bits: Record<string, WeightBits>,
  data: CompressData,
  prior: Prior,
  opts: { sensitivityImages?: number; quiet?: boolean },
): { blob: Uint8Array; record: CompressionRecord } {
  const sensitivity = prior.sensitivity ?? measureSensitivity(model, head(data.val, opts.sensitivityImages ?? 2000));
  const finalNet = new TrainableNet(model);
  const floatPred = predictFloat(finalNet, data.test);
  for (const [n, b] of Object.entries(bits)) finalNet.weightBits.set(n, b);
  if (prior.activationRanges) finalNet.activationRanges = prior.activationRanges;
  else
    finalNet.observeActivationRanges(
      tf.tidy(() => inputBatch(data.train, range(Math.min(1000, data.train.count)), model.inputShape)),
    );
  const quantPred = predictFloat(finalNet, data.test);
  finalNet.dispose();
  const fin = int8Figures(model, data, bits);
  const compressed = figures(model, data, fin.size, floatPred, quantPred, fin.predicted);
  say(
    opts.quiet,
    `compressed: float ${pct(compressed.floatTestAccuracy)}, quantized ${pct(compressed.quantizedTestAccuracy)}, int8 ${pct(compressed.int8TestAccuracy)}, blob ${compressed.blobBytes} B (${compressed.int8BlobBytes} B dense int8), ${compressed.macs} MACs`,
  );
  const layers: Record<string, LayerRecord> = Object.fromEntries(
    fin.size.layers.map((l) => [
      l.name,
      {
        bits: l.bits,
        sparsity: +sparsityOf((findLayer(model, l.name).layer as { kernel: Float32Array }).kernel).toFixed(4),
        layout: l.layout,
        bytes: l.bytes,
      },
    ]),
  );
  const rows: LayerRow[] = fin.size.layers.map((r) => ({
    ...r,
    kind: findLayer(model, r.name).layer.kind,
    sensitivity: Object.fromEntries(
      sensitivity.entries.filter((e) => e.layer === r.name).map((e) => [String(e.bits), +e.drop.toFixed(4)]),
    ),
  }));
  const classes = Math.max(...data.test.labels) + 1;
  const record: CompressionRecord = {
    format: COMPRESSION_FORMAT,
    source: prior.source,
    command: prior.command,
    layers,
    steps: prior.steps,
    results: {
      testImages: data.test.count,
      baseline: prior.baseline,
      compressed,
      layers: rows,
      classes: classes === FASHION_MNIST_CLASSES.length ? [...FASHION_MNIST_CLASSES] : range(classes).map(String),
      confusion: {
        float: confusionMatrix(floatPred, data.test.labels, classes),
        int8: confusionMatrix(fin.predicted, data.test.labels, classes),
        quantized: confusionMatrix(quantPred, data.test.labels, classes),
      },
      ...(prior.withoutTeacher ? { studentWithoutTeacher: prior.withoutTeacher } : {}),
      ...(prior.candidates ? { candidates: prior.candidates } : {}),
    },
  };
  return { blob: fin.compiled.blob, record };
}

/** Kernels below 8 bits rounded to their grid, so the saved float model holds exactly what the device will. */
function bakeBits(m: SeqModel, bits: Record<string, WeightBits>): SeqModel {
  for (const l of m.layers) {
    const b = isWeightLayer(l) ? bits[l.name] : undefined;
    if (isWeightLayer(l) && b !== undefined && b < 8) l.kernel = quantizeChannels(l.kernel, outChannels(l), b);
  }
  return m;
}
