// `morsel compress` (pruning, structured pruning, low-rank, distillation, low-bit/mixed precision with QAT,
// structure search) and `morsel report` (HTML report and terminal summary of a compressed model).

// main first: it loads the command table, which convert (imported below) is part of.
import { UsageError } from './main';
import type { Command } from './main';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { head, type LabelledImages } from '../compress/batches';
import { compressModel, type CompressOptions } from '../compress/compress';
import { COMPRESSION_FORMAT, type CompressionRecord } from '../compress/compression-json';
import { WEIGHT_BITS, type WeightBits } from '../compress/fake-quant';
import { loadLayersModel, saveLayersModel } from '../compress/layers-io';
import { CHANNEL_CRITERIA } from '../compress/structured';
import { loadFashionMnist } from '../data/fashion-mnist';
import { ModelError } from '../ir/graph';
import { renderReport } from '../report/html';
import { terminalSummary } from '../report/summary';
import { writeFileAtomic } from '../util/fs';
import { verifyBlob } from '../blob/verify';
import { parseBatch, parseChoice, parseCount } from './convert';

/** A number in (0, 1), or (0, 1] with `upToOne`. */
function parseFraction(flag: string, value: unknown, upToOne = false): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (!(x > 0 && (x < 1 || (upToOne && x === 1))))
    throw new UsageError(`${flag} must be a number in (0, 1${upToOne ? ']' : ')'} (got '${value}')`);
  return x;
}

/** "0.5" (every prunable layer) or "conv1=0.5,pwconv3=0.25" (by layer). */
function parseChannelFractions(value: string): number | Record<string, number> {
  if (!value.includes('=')) return parseFraction('--structured', value)!;
  return Object.fromEntries(
    value.split(',').map((part) => {
      const [name, f] = part.split('=');
      if (!name || f === undefined) throw new UsageError(`--structured: expected layer=fraction, got '${part}'`);
      return [name, parseFraction(`--structured ${name}`, f)!];
    }),
  );
}

function parseNumber(flag: string, value: unknown, dflt: number): number {
  if (value === undefined) return dflt;
  const x = Number(value);
  if (!Number.isFinite(x) || x <= 0) throw new UsageError(`${flag} must be a positive number (got '${value}')`);
  return x;
}

function parseList(flag: string, value: unknown, check: (x: number) => boolean): number[] | undefined {
  if (value === undefined) return undefined;
  const xs = String(value).split(',').map(Number);
  if (!xs.length || xs.some((x) => !Number.isFinite(x) || !check(x)))
    throw new UsageError(`${flag}: invalid list '${value}'`);
  return xs;
}

/** Training, validation (the last --val training images, held out) and test splits. */
export function loadData(values: Record<string, unknown>): {
  train: LabelledImages;
  val: LabelledImages;
  test: LabelledImages;
} {
  const data = (values.data as string | undefined) ?? 'fashion-mnist';
  if (data !== 'fashion-mnist')
    throw new UsageError(`--data: only fashion-mnist is supported by compress for now (got '${data}')`);
  const all = loadFashionMnist(
    'train',
    values['train-limit'] === undefined ? undefined : parseCount('--train-limit', values['train-limit'], 0),
  );
  const valCount = parseCount('--val', values.val, Math.min(10000, Math.floor(all.count / 6)));
  if (valCount >= all.count) throw new UsageError(`--val ${valCount} leaves no training images`);
  const trainCount = all.count - valCount;
  const px = all.images.length / all.count;
  const train = {
    images: all.images.subarray(0, trainCount * px),
    labels: all.labels.subarray(0, trainCount),
    count: trainCount,
  };
  const val = {
    images: all.images.subarray(trainCount * px),
    labels: all.labels.subarray(trainCount),
    count: valCount,
  };
  const test = head(
    loadFashionMnist('test'),
    values['test-limit'] === undefined ? undefined : parseCount('--test-limit', values['test-limit'], 0),
  );
  return { train, val, test };
}

/** The canonical command line for a parsed invocation (what COMMAND.txt and compression.json record). */
function commandLine(name: string, values: Record<string, unknown>, positionals: string[]): string {
  const flags = Object.entries(values)
    .filter(([k, v]) => v !== undefined && v !== false && k !== 'quiet' && k !== 'debug')
    .map(([k, v]) => (v === true ? `--${k}` : `--${k} ${String(v)}`));
  return ['morsel', name, ...positionals, ...flags].join(' ');
}

export const compressCommand: Command = {
  summary:
    'compress a TF.js layers model (pruning, channels, low-rank, distillation, low-bit weights, search) with fine-tuning',
  usage:
    'morsel compress <model.json> -o <dir> [--prune S [--prune-scope global|layer]] [--structured F|layer=F,… [--criterion l1|l2|bn-gamma]] ' +
    '[--low-rank ENERGY | --rank R] [--low-rank-layers a,b] [--distill WIDTH [--depth D] [--student-init scratch|pruned] | --student-mlp H1,H2…] [--alpha A] [--temperature T] [--distill-epochs N] [--distill-seeds N]] ' +
    '[--bits 8|4|2|mixed [--budget BYTES]] [--qat] [--kd [--teacher <model.json>]] ' +
    '[--search [--widths 0.25,0.5,1] [--depths 1,2] [--sparsities 0,0.5,0.8] [--search-bits 8,4]] ' +
    '[--epochs N] [--lr X] [--seed N] [--threads 1|2] [--train-limit N] [--val N] [--test-limit N] [--calib <data>] [--batch 1] [--no-report] [-q]',
  options: {
    output: { type: 'string', short: 'o' },
    data: { type: 'string' },
    prune: { type: 'string' },
    'prune-scope': { type: 'string' },
    structured: { type: 'string' },
    criterion: { type: 'string' },
    'low-rank': { type: 'string' },
    rank: { type: 'string' },
    'low-rank-layers': { type: 'string' },
    distill: { type: 'string' },
    depth: { type: 'string' },
    'student-init': { type: 'string' },
    'student-mlp': { type: 'string' },
    alpha: { type: 'string' },
    temperature: { type: 'string' },
    'distill-epochs': { type: 'string' },
    'distill-seeds': { type: 'string' },
    bits: { type: 'string' },
    budget: { type: 'string' },
    qat: { type: 'boolean' },
    kd: { type: 'boolean' },
    teacher: { type: 'string' },
    search: { type: 'boolean' },
    widths: { type: 'string' },
    depths: { type: 'string' },
    sparsities: { type: 'string' },
    'search-bits': { type: 'string' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    threads: { type: 'string' },
    'train-limit': { type: 'string' },
    val: { type: 'string' },
    'test-limit': { type: 'string' },
    calib: { type: 'string' },
    'no-report': { type: 'boolean' },
    batch: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  async run({ values, positionals }) {
    const [file] = positionals;
    parseBatch(values.batch);
    if (!file) throw new UsageError(`missing <model.json>\nusage: ${this.usage}`);
    const out = values.output as string | undefined;
    if (!out) throw new UsageError(`missing -o <dir>\nusage: ${this.usage}`);
    const epochs = values.epochs === undefined ? 2 : Number(values.epochs);
    if (!Number.isInteger(epochs) || epochs < 0)
      throw new UsageError(`--epochs must be an integer ≥ 0 (got '${values.epochs}')`);
    const bitsArg = values.bits as string | undefined;
    if (bitsArg !== undefined && bitsArg !== 'mixed' && !WEIGHT_BITS.includes(Number(bitsArg) as WeightBits))
      throw new UsageError(`--bits must be 8, 4, 2 or mixed (got '${bitsArg}')`);
    const bits = bitsArg === undefined || bitsArg === 'mixed' ? bitsArg : (Number(bitsArg) as WeightBits);
    const width = parseNumber('--distill', values.distill, 1);
    const opts: CompressOptions = {
      prune:
        values.prune === undefined
          ? undefined
          : {
              sparsity: parseFraction('--prune', values.prune)!,
              scope: parseChoice('--prune-scope', values['prune-scope'], ['global', 'layer'] as const, 'global'),
            },
      structured:
        values.structured === undefined
          ? undefined
          : {
              fraction: parseChannelFractions(String(values.structured)),
              criterion: parseChoice('--criterion', values.criterion, CHANNEL_CRITERIA, 'l1'),
            },
      lowRank:
        values['low-rank'] === undefined && values.rank === undefined
          ? undefined
          : {
              energy: parseFraction('--low-rank', values['low-rank'], true),
              rank: values.rank === undefined ? undefined : parseCount('--rank', values.rank, 0),
              layers:
                values['low-rank-layers'] === undefined ? undefined : String(values['low-rank-layers']).split(','),
            },
      distill:
        values.distill === undefined && values['student-mlp'] === undefined
          ? undefined
          : {
              width,
              init: parseChoice('--student-init', values['student-init'], ['scratch', 'pruned'] as const, 'scratch'),
              mlp: parseList('--student-mlp', values['student-mlp'], (x) => Number.isInteger(x) && x > 0),
              depth: values.depth === undefined ? undefined : Number(values.depth),
              alpha: parseFraction('--alpha', values.alpha ?? '0.7', true)!,
              temperature: parseNumber('--temperature', values.temperature, 4),
              epochs:
                values['distill-epochs'] === undefined
                  ? 8
                  : parseCount('--distill-epochs', values['distill-epochs'], 0),
              seeds:
                values['distill-seeds'] === undefined ? 1 : parseCount('--distill-seeds', values['distill-seeds'], 1),
            },
      bits,
      budget: values.budget === undefined ? undefined : parseCount('--budget', values.budget, 0),
      qat: values.qat === true,
      kd:
        values.kd === true
          ? {
              alpha: parseFraction('--alpha', values.alpha ?? '0.7', true)!,
              temperature: parseNumber('--temperature', values.temperature, 4),
              teacher: values.teacher === undefined ? undefined : loadLayersModel(String(values.teacher)),
            }
          : undefined,
      search:
        values.search !== true
          ? undefined
          : {
              widths: parseList('--widths', values.widths, (x) => x > 0) ?? [0.25, 0.5, 1],
              depths: parseList('--depths', values.depths, (x) => Number.isInteger(x) && x >= 0),
              sparsities: parseList('--sparsities', values.sparsities, (x) => x >= 0 && x < 1) ?? [0, 0.5, 0.8],
              bits: (parseList('--search-bits', values['search-bits'], (x) =>
                WEIGHT_BITS.includes(x as WeightBits),
              ) ?? [8, 4]) as WeightBits[],
            },
      epochs,
      lr: parseNumber('--lr', values.lr, 5e-4),
      seed: values.seed === undefined ? 1 : parseCount('--seed', values.seed, 0),
      threads: Number(parseChoice('--threads', values.threads, ['1', '2'] as const, '1')),
      quiet: values.quiet === true,
    };
    if (values.teacher !== undefined && !opts.kd)
      throw new UsageError('--teacher is the model --kd distils from; add --kd');
    if (opts.distill && opts.search)
      throw new UsageError('--distill and --search are alternatives (the search distils every candidate)');
    const model = loadLayersModel(file);
    tf.enableProdMode();
    await tf.setBackend('cpu');
    const data = loadData(values);
    const command = commandLine('compress', values, positionals);
    const {
      model: compressed,
      blob,
      record,
    } = compressModel(model, { ...data, calib: (values.calib as string | undefined) ?? 'fashion-mnist:train' }, opts, {
      source: file,
      command,
    });
    verifyBlob(blob);
    compressed.name = path.basename(path.resolve(out));
    saveLayersModel(compressed, out);
    writeFileAtomic(path.join(out, 'model.msl'), blob);
    writeFileAtomic(path.join(out, 'compression.json'), JSON.stringify(record, null, 2) + '\n');
    writeFileAtomic(path.join(out, 'COMMAND.txt'), command + '\n');
    if (values['no-report'] !== true) writeFileAtomic(path.join(out, 'report.html'), renderReport(record));
    if (!opts.quiet) console.log(terminalSummary(record));
    return 0;
  },
};

export function readCompressionRecord(file: string): CompressionRecord {
  const f = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, 'compression.json') : file;
  let r: CompressionRecord;
  try {
    r = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ModelError(`${f} not found (run morsel compress first)`);
    throw new ModelError(`${f}: invalid JSON (${(e as Error).message})`);
  }
  if (r?.format !== COMPRESSION_FORMAT || !r.results) throw new ModelError(`${f}: not a ${COMPRESSION_FORMAT} record`);
  return r;
}

export const reportCommand: Command = {
  summary: 'write the self-contained HTML report of a compressed model and print a summary',
  usage: 'morsel report <compressed dir | compression.json> [-o report.html] [--json]',
  options: {
    output: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }) {
    const [where] = positionals;
    if (!where) throw new UsageError(`missing <compressed dir>\nusage: ${this.usage}`);
    const record = readCompressionRecord(where);
    const dir = fs.statSync(where).isDirectory() ? where : path.dirname(where);
    const out = (values.output as string | undefined) ?? path.join(dir, 'report.html');
    writeFileAtomic(out, renderReport(record));
    console.log(values.json ? JSON.stringify(record.results, null, 2) : `${terminalSummary(record)}\n\nreport: ${out}`);
    return 0;
  },
};
