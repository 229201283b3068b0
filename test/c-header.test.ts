// The C header a firmware links the model from: two translation units include it, gcc compiles them with
// warnings as errors, links them into one program, and the program reads back the blob's exact bytes.

import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { emitCHeader } from '../host/emit/c-header';

const ROOT = path.join(__dirname, '..', '..');

/** Σ (i + 1)·byte mod 2^32: changes when any byte changes or moves. */
function weightedSum(bytes: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s = (s + (i + 1) * bytes[i]) % 2 ** 32;
  return s;
}

const SUM_FUNCTION = `static uint32_t weighted_sum(const uint8_t *p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i < n; i++) s += (uint32_t)(i + 1) * p[i];
  return s;
}`;

describe('C header (morsel convert --c-header)', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-cheader-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('compiles and links in two translation units, and holds the blob byte for byte', () => {
    const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', 'fashion_cnn', 'model.msl')));
    fs.writeFileSync(path.join(dir, 'zoo-cnn.h'), emitCHeader(blob, 'zoo-cnn'));
    fs.writeFileSync(
      path.join(dir, 'other.c'),
      `#include "zoo-cnn.h"\n${SUM_FUNCTION}\nuint32_t other_sum(void) { return weighted_sum(zoo_cnn, zoo_cnn_len); }\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'main.c'),
      `#include <stdio.h>\n#include "zoo-cnn.h"\n${SUM_FUNCTION}\nuint32_t other_sum(void);\n` +
        `int main(void) {\n  printf("%zu %u %u %d\\n", zoo_cnn_len, weighted_sum(zoo_cnn, zoo_cnn_len), other_sum(),\n` +
        `         (int)((uintptr_t)zoo_cnn % 16));\n  return 0;\n}\n`,
    );
    const exe = path.join(dir, 'two-units');
    execFileSync('gcc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O1', '-o', exe, 'main.c', 'other.c'], {
      cwd: dir,
    });
    const [len, sumMain, sumOther, misalignment] = execFileSync(exe, { encoding: 'utf8' }).trim().split(' ');
    assert.equal(Number(len), blob.length);
    assert.equal(Number(sumMain), weightedSum(blob));
    assert.equal(Number(sumOther), weightedSum(blob));
    assert.equal(Number(misalignment), 0, 'the array is 16-byte aligned (int32 views on it need 4)');
  });

  it('a unit that includes the header without using it compiles warning-free and keeps no copy', () => {
    const blob = new Uint8Array(4096).map((_, i) => i % 251);
    fs.writeFileSync(path.join(dir, 'm.h'), emitCHeader(blob, 'm'));
    fs.writeFileSync(path.join(dir, 'unused.c'), '#include "m.h"\nint unused_unit(void) { return 1; }\n');
    const obj = path.join(dir, 'unused.o');
    execFileSync('gcc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O1', '-c', '-o', obj, 'unused.c'], { cwd: dir });
    const symbols = execFileSync('nm', [obj], { encoding: 'utf8' });
    assert.doesNotMatch(symbols, /\bm\b/);
    assert.ok(fs.statSync(obj).size < blob.length, `object file of ${fs.statSync(obj).size} bytes`);
  });
});
