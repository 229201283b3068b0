// Issue 14's data-input and exit-code reproductions through the real `morsel` command: each bad input gets one
// clear line and exit 2 (exit 1 is kept for bugs), within a bounded time and memory; and the answers that were
// wrong before (uint8 .npy inputs unscaled) are right.

import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { decodeModel } from '../host/blob/decode';
import { writeNpy } from '../host/data/npy';
import { loadFashionMnist } from '../host/data/fashion-mnist';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'morsel.js');
const MLP = path.join(ROOT, 'models', 'fashion_mlp');

describe('morsel CLI: bad input → one line, exit 2 (issue 14)', function () {
  this.timeout(120000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-cli-errors-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const file = (name: string, data: string | Uint8Array) => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, data);
    return p;
  };
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--max-old-space-size=1024', CLI, ...args], {
      encoding: 'utf8',
      timeout: 60000,
      maxBuffer: 1 << 20,
    });
  /** An .npy whose header says `shape` over 784 float32 zeros. */
  const npyWithShape = (name: string, shape: string) => {
    const good = Buffer.from(writeNpy([1, 784], new Float32Array(784)));
    const text = good.toString('latin1').replace('(1, 784)', shape.padEnd('(1, 784)'.length));
    return file(name, Buffer.from(text, 'latin1'));
  };
  const msl = path.join(MLP, 'model.msl');
  const mslArgs = (input: string) => ['run', msl, '--input', input];
  const calibArgs = (data: string) => [
    'convert',
    path.join(MLP, 'model.json'),
    '--calib',
    data,
    '-o',
    path.join(tmp, 'out.msl'),
    '-q',
  ];

  const cases: [string, () => string[], RegExp][] = [
    ['run --input: an npy of shape (-1,784)', () => mslArgs(npyWithShape('neg.npy', '(-1, 784)')), /dimension -1/],
    ['run --input: an npy of shape (1.5,784)', () => mslArgs(npyWithShape('frac.npy', '(1.5, 784)')), /dimension 1\.5/],
    [
      'run --input: NaN in an npy',
      () => mslArgs(file('nan.npy', writeNpy([1, 784], new Float32Array(784).fill(Number.NaN)))),
      /value 0 is NaN/,
    ],
    [
      'run --input: Inf in an npy',
      () => mslArgs(file('inf.npy', writeNpy([1, 784], new Float32Array(784).fill(Number.POSITIVE_INFINITY)))),
      /value 0 is Infinity/,
    ],
    ['run --input /dev/zero', () => mslArgs('/dev/zero'), /larger than 785 bytes/],
    ['run --input: a directory', () => mslArgs(tmp), /is a directory/],
    [
      'convert --calib: all-NaN calibration data',
      () => calibArgs(file('nan-calib.npy', writeNpy([4, 784], new Float32Array(4 * 784).fill(Number.NaN)))),
      /is NaN/,
    ],
    ['convert --calib: JSON null', () => calibArgs(file('null.json', 'null')), /expected an array of samples/],
    [
      'convert --calib: JSON with Infinity',
      () => calibArgs(file('inf.json', `[[${'1e999,'.repeat(783)}1]]`)),
      /not a finite number/,
    ],
    ['convert --calib: a directory', () => calibArgs(tmp), /is a directory/],
    [
      'convert --calib: a 1 GiB gzip IDX bomb',
      () => {
        // An IDX header claiming [2^15, 2^15] bytes, then 1,024 gzip members of 1 MiB of zeros each (gunzip reads
        // concatenated members as one stream): 1 GiB from a 1 MB file.
        const header = zlib.gzipSync(Buffer.from([0, 0, 8, 2, 0, 0, 128, 0, 0, 0, 128, 0]));
        const zeros = zlib.gzipSync(Buffer.alloc(1 << 20), { level: 9 });
        return calibArgs(file('bomb.idx.gz', Buffer.concat([header, ...Array(1024).fill(zeros)])));
      },
      /decompresses to more than 256 MiB/,
    ],
    [
      'convert --calib fashion-mnist:xyz',
      () => calibArgs('fashion-mnist:xyz'),
      /fashion-mnist:train and fashion-mnist:test/,
    ],
    ['convert -o a directory', () => ['convert', path.join(MLP, 'model.json'), '-o', tmp], /is a directory/],
    ['export -o a directory', () => ['export', msl, '--tflite', '-o', tmp], /is a directory/],
    [
      'run --port: a port that does not exist',
      () => ['run', msl, '--input', 'idx:0', '--port', path.join(tmp, 'no-such-tty')],
      /cannot open|not found|no such/i,
    ],
    ['run --port: a regular file', () => ['run', msl, '--input', 'idx:0', '--port', msl], /./],
    [
      'eval --msl: a blob of another model',
      () => ['eval', path.join(ROOT, 'models', 'fashion_cnn', 'model.json'), '--msl', msl, '--limit', '10'],
      /was not compiled from/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: one line, exit 2`, () => {
      const r = cli(...args());
      assert.equal(r.status, 2, `${r.signal ?? ''} ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], message);
      assert.ok(!fs.existsSync(path.join(tmp, 'out.msl')));
    });
  }

  it('morsel --version prints the package version, exit 0', () => {
    const r = cli('--version');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('run --input x.npy scales uint8 to [0, 1] like --calib/--data: the same answer as idx:N', () => {
    const ds = loadFashionMnist('test', 1);
    const npy = file('image0.npy', writeNpy([1, 784], ds.images.slice(0, 784)));
    const a = cli('run', msl, '--input', npy, '--json');
    const b = cli('run', msl, '--input', 'idx:0', '--json');
    assert.equal(a.status, 0, a.stderr);
    assert.deepEqual(JSON.parse(a.stdout).output, JSON.parse(b.stdout).output);
    assert.equal(decodeModel(fs.readFileSync(msl)).tensors.length > 0, true);
  });
});
