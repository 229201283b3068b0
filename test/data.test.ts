import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../host/data/fashion-mnist';
import { readIdx, readIdxFile, writeIdx } from '../host/data/idx';

/** A hand-built IDX file: magic 0x00000803 (ubyte, rank 3), big-endian dims, then the bytes. */
function tinyIdx(): Uint8Array {
  return Uint8Array.from([
    0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255,
  ]);
}

describe('IDX reader (host/data/idx.ts)', () => {
  it('reads dims (big-endian) and data', () => {
    const a = readIdx(tinyIdx());
    assert.deepEqual(a.dims, [2, 2, 3]);
    assert.deepEqual(Array.from(a.data), [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  });

  it('reads gzipped files the same', () => {
    const a = readIdx(new Uint8Array(zlib.gzipSync(tinyIdx())));
    assert.deepEqual(a.dims, [2, 2, 3]);
    assert.equal(a.data[11], 255);
  });

  it('writeIdx round-trips, including large dims', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const a = readIdx(writeIdx([300], data));
    assert.deepEqual(a.dims, [300]);
    assert.deepEqual(a.data, data);
    assert.deepEqual(Array.from(writeIdx([2, 2, 3], readIdx(tinyIdx()).data)), Array.from(tinyIdx()));
  });

  it('reads a file from disk', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-idx-'));
    try {
      const f = path.join(dir, 'tiny-idx3-ubyte.gz');
      fs.writeFileSync(f, zlib.gzipSync(tinyIdx()));
      assert.deepEqual(readIdxFile(f).dims, [2, 2, 3]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed input with a clear message', () => {
    assert.throws(() => readIdx(Uint8Array.from([1, 2, 3, 4])), /not an IDX file/);
    const float = tinyIdx();
    float[2] = 0x0d;
    assert.throws(() => readIdx(float), /type 0xd is not supported/);
    assert.throws(() => readIdx(tinyIdx().subarray(0, 20)), /truncated/);
    assert.throws(() => readIdx(tinyIdx().subarray(0, 10)), /truncated IDX header/);
    assert.throws(() => readIdx(Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3])), /corrupt gzip/);
  });
});

describe('Fashion-MNIST loader (host/data/fashion-mnist.ts)', () => {
  it('loads 100 test images with plausible pixels and labels', () => {
    const ds = loadFashionMnist('test', 100);
    assert.equal(ds.count, 100);
    assert.equal(ds.height, 28);
    assert.equal(ds.width, 28);
    assert.equal(ds.images.length, 100 * 28 * 28);
    assert.equal(ds.labels.length, 100);
    assert.ok(ds.labels.every((l) => l >= 0 && l <= 9));
    assert.ok(new Set(ds.labels).size >= 8, 'the first 100 test images cover most classes');
    // The well-known first test labels: ankle boot, pullover, trouser, trouser, shirt.
    assert.deepEqual(Array.from(ds.labels.subarray(0, 5)), [9, 2, 1, 1, 6]);
    assert.equal(FASHION_MNIST_CLASSES[ds.labels[0]], 'Ankle boot');
    let max = 0;
    let sum = 0;
    for (const p of ds.images) {
      max = Math.max(max, p);
      sum += p;
    }
    const mean = sum / ds.images.length;
    assert.equal(max, 255);
    assert.ok(mean > 40 && mean < 110, `mean pixel ${mean}`);
    // Corners are background.
    assert.equal(ds.images[0], 0);
  });

  it('loads the training split', () => {
    const ds = loadFashionMnist('train', 10);
    assert.equal(ds.count, 10);
    assert.equal(ds.images.length, 10 * 784);
  });

  it('says which Debian package to install when the files are missing', () => {
    const saved = process.env.MORSEL_FASHION_MNIST_DIR;
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-fmnist-'));
    process.env.MORSEL_FASHION_MNIST_DIR = empty;
    try {
      assert.throws(() => loadFashionMnist('test', 1), /install the Debian package dataset-fashion-mnist/);
    } finally {
      if (saved === undefined) delete process.env.MORSEL_FASHION_MNIST_DIR;
      else process.env.MORSEL_FASHION_MNIST_DIR = saved;
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
