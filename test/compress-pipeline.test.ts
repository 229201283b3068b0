import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { compressCommand, readCompressionRecord, reportCommand } from '../host/cli/compress-commands';
import { head, LabelledImages } from '../host/compress/batches';
import { compileSeqModel } from '../host/compress/compile-seq';
import { compressModel } from '../host/compress/compress';
import { loadLayersModel } from '../host/compress/layers-io';
import { paretoFront, searchStructures } from '../host/compress/search';
import { isWeightLayer, totalMacs } from '../host/compress/seq-model';
import { blobSize } from '../host/compress/size';
import { decodeModel } from '../host/blob/decode';
import { storedWeightsOf } from '../host/blob/weights';
import { pruneStructured } from '../host/compress/structured';
import { loadFashionMnist } from '../host/data/fashion-mnist';
import { importTfjs } from '../host/import/tfjs';
import { renderReport } from '../host/report/html';

const ROOT = path.join(__dirname, '..', '..');
const MLP = path.join(ROOT, 'models', 'fashion_mlp', 'model.json');
const CNN = path.join(ROOT, 'models', 'fashion_cnn', 'model.json');

function split(all: LabelledImages, at: number): [LabelledImages, LabelledImages] {
  const px = all.images.length / all.count;
  return [
    { images: all.images.subarray(0, at * px), labels: all.labels.subarray(0, at), count: at },
    { images: all.images.subarray(at * px), labels: all.labels.subarray(at), count: all.count - at },
  ];
}

describe('compress: sizes, pipeline, search, report, CLI', function () {
  this.timeout(300000);
  const [train, val] = split(loadFashionMnist('train', 1200), 900);
  const test = head(loadFashionMnist('test', 200));
  const data = { train, val, test, calib: 'fashion-mnist:train' };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-compress-test-'));

  before(async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('sizes are those of the real blob (dense int8 for an uncompressed model); channel pruning shrinks blob, MACs and arena', () => {
    const cnn = loadLayersModel(CNN);
    const size = blobSize(cnn);
    const compiled = compileSeqModel(cnn, { calibCount: 8 });
    assert.equal(size.blobBytes, compiled.blob.length);
    assert.equal(size.int8BlobBytes, size.blobBytes);
    assert.ok(size.layers.every((l) => l.layout === 'dense' && l.bytes === l.weights));
    assert.equal(size.macs, totalMacs(cnn), 'host and compiler MAC counts agree');
    const small = blobSize(pruneStructured(cnn, 0.5).model);
    assert.ok(small.blobBytes < size.blobBytes && small.macs < size.macs && small.arenaBytes < size.arenaBytes);
  });

  it('prune + int4 + QAT: the record matches the saved weights and the blob (sparsity, 4-bit grid, packed sparse storage); the report is self-contained', () => {
    const { model, blob, record } = compressModel(
      loadLayersModel(MLP),
      data,
      { prune: { sparsity: 0.6, scope: 'layer' }, bits: 4, qat: true, epochs: 1, lr: 5e-4, seed: 3, quiet: true },
      { source: 'mlp', command: 'test' },
    );
    const q = decodeModel(blob);
    const stored = storedWeightsOf(q);
    assert.deepEqual(
      record.steps.map((s) => s.technique),
      ['prune', 'qat'],
    );
    for (const l of model.layers.filter(isWeightLayer)) {
      const rec = record.layers[l.name];
      const zeros = l.kernel.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
      assert.equal(rec.bits, 4);
      assert.ok(rec.sparsity >= 0.6 - 1e-3, `${l.name} sparsity ${rec.sparsity}`);
      assert.equal(rec.sparsity, +(zeros / l.kernel.length).toFixed(4));
      const wi = q.ops.find((o) => o.name === l.name)!.inputs[1];
      const w = q.tensors[wi].data as Int8Array;
      assert.equal(q.tensors[wi].weightBits, 4);
      assert.equal(
        w.reduce((a, v) => a + (v === 0 ? 1 : 0), 0),
        zeros,
        `${l.name}: the blob keeps exactly the float zeros`,
      );
      assert.ok(w.every((v) => v >= -7 && v <= 7));
      const s = stored.get(wi)!;
      assert.equal(s.bytes.length, rec.bytes);
      assert.notEqual(s.layout, 'dense', `${l.name}: 60% zeros are stored sparse`);
      assert.ok(rec.bytes < w.length / 2, `${l.name}: ${rec.bytes} B for ${w.length} 4-bit weights`);
      const C = l.kind === 'dense' ? l.units : 0;
      for (let c = 0; c < C; c++) {
        const col = Array.from({ length: l.kernel.length / C }, (_, i) => l.kernel[i * C + c]);
        const step = Math.max(...col.map(Math.abs)) / 7;
        assert.ok(
          col.every((v) => Math.abs(v / step - Math.round(v / step)) < 1e-3),
          `${l.name} channel ${c} off the int4 grid`,
        );
      }
    }
    const r = record.results;
    assert.equal(r.compressed.blobBytes, blob.length);
    assert.ok(
      r.compressed.blobBytes < 0.4 * r.compressed.int8BlobBytes,
      `${r.compressed.blobBytes} vs ${r.compressed.int8BlobBytes}`,
    );
    assert.equal(r.baseline.blobBytes, r.baseline.int8BlobBytes);
    for (const m of [r.confusion.float, r.confusion.int8, r.confusion.quantized])
      assert.equal(
        m.flat().reduce((a, b) => a + b, 0),
        200,
      );
    assert.equal(
      r.confusion.float.reduce((a, row, i) => a + row[i], 0),
      Math.round(200 * r.compressed.floatTestAccuracy),
    );
    const html = renderReport(record);
    assert.match(html, /^<!DOCTYPE html>/);
    assert.ok(!/\b(src|href)=|<script|@import|url\(/i.test(html), 'no external assets or scripts');
    assert.ok((html.match(/<svg /g) ?? []).length >= 5);
    assert.match(html, /model\.msl/);
  });

  it('distillation records the same student trained without the teacher; the student has a quarter of the MACs', () => {
    const teacher = loadLayersModel(MLP);
    const { model, record } = compressModel(
      teacher,
      data,
      {
        distill: { width: 0.25, init: 'scratch', alpha: 0.7, temperature: 4, epochs: 4 },
        epochs: 1,
        lr: 2e-3,
        seed: 1,
        quiet: true,
      },
      { source: 'mlp', command: 'test' },
    );
    assert.equal(totalMacs(model) * 4, totalMacs(teacher));
    const without = record.results.studentWithoutTeacher!;
    assert.equal(without.macs, totalMacs(model));
    assert.ok(
      without.floatTestAccuracy > 0.5 && record.results.compressed.floatTestAccuracy > 0.5,
      `both students learned: ${without.floatTestAccuracy}, ${record.results.compressed.floatTestAccuracy}`,
    );
    assert.deepEqual(
      record.steps.map((s) => s.technique),
      ['distill'],
    );
    assert.equal(record.steps[0].extra?.withoutTeacherTestAccuracy, without.floatTestAccuracy);
  });

  it('the Pareto front keeps exactly the non-dominated candidates', () => {
    const c = (valAccuracy: number, blobBytes: number, macs: number) => ({ valAccuracy, blobBytes, macs });
    assert.deepEqual(
      paretoFront([c(0.9, 100, 10), c(0.8, 50, 10), c(0.8, 100, 10), c(0.85, 100, 5), c(0.9, 100, 10)]),
      [true, true, false, true, true],
    );
  });

  it('the search measures every width × sparsity × bits candidate and flags its Pareto front', () => {
    const r = searchStructures(
      loadLayersModel(MLP),
      { train, val },
      { widths: [0.125, 0.25], sparsities: [0, 0.5], bits: [8, 2] },
      { epochs: 1, lr: 2e-3, seed: 2, alpha: 0.5, temperature: 2, quiet: true },
    );
    assert.equal(r.candidates.length, 8);
    const front = paretoFront(r.candidates);
    assert.deepEqual(
      r.candidates.map((c) => c.pareto),
      front,
    );
    const bytes = (w: number, s: number, b: number) =>
      r.candidates.find((c) => c.width === w && c.sparsity === s && c.bits === b)!.blobBytes;
    assert.ok(bytes(0.25, 0, 2) < bytes(0.25, 0, 8) && bytes(0.125, 0, 8) < bytes(0.25, 0, 8));
    assert.ok(r.candidates.every((c) => c.valAccuracy > 0 && c.valAccuracy <= 1));
  });

  it('morsel compress writes an importable model, compression.json, report and COMMAND.txt; morsel report re-renders it', async () => {
    const out = path.join(tmp, 'cnn');
    const args = [
      CNN,
      '-o',
      out,
      '--structured',
      '0.5',
      '--bits',
      '8',
      '--epochs',
      '0',
      '--train-limit',
      '600',
      '--val',
      '200',
      '--test-limit',
      '100',
      '-q',
    ];
    const run = async (cmd: typeof compressCommand, a: string[]) =>
      cmd.run(
        parseArgs({ args: a, options: cmd.options, allowPositionals: true, strict: true }) as Parameters<
          typeof cmd.run
        >[0],
      );
    assert.equal(await run(compressCommand, args), 0);
    for (const f of ['model.json', 'weights.bin', 'model.msl', 'compression.json', 'report.html', 'COMMAND.txt'])
      assert.ok(fs.existsSync(path.join(out, f)), f);
    const g = importTfjs(path.join(out, 'model.json'));
    const conv1 = g.tensors.get('conv1/weights')!;
    assert.deepEqual(conv1.shape, [8, 3, 3, 1]);
    const record = readCompressionRecord(out);
    assert.equal(fs.statSync(path.join(out, 'model.msl')).size, record.results.compressed.blobBytes);
    assert.equal(fs.readFileSync(path.join(out, 'COMMAND.txt'), 'utf8').trim(), record.command);
    assert.match(record.command, /^morsel compress .*--structured 0\.5/);
    fs.rmSync(path.join(out, 'report.html'));
    const log = console.log;
    let printed = '';
    console.log = (s: string) => (printed += s);
    try {
      assert.equal(await run(reportCommand, [out]), 0);
    } finally {
      console.log = log;
    }
    assert.ok(fs.existsSync(path.join(out, 'report.html')));
    assert.match(printed, /MACs\s+254688\s+\d+/);
  });
});
