import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { bufferComparisons, checkSource, deviceSources, sharedWithLuaBuild } from '../tools/check-device-subset';

describe('device subset check', () => {
  it('flags what embedded engines cannot be trusted with', () => {
    const bad = [
      'let a = 1 | 2;',
      'let b = 1 << 3;',
      'var c = 1;',
      'let d = () => 1;',
      'for (const x of [1]) {}',
      'let e = [...[1]];',
      'let { f } = { f: 1 };',
      'let g = `t`;',
      'let h = new Map();',
      'let i = Math.imul(2, 3);',
      'let j = 2 ** 3;',
      'for (let k = 0; k < 2; k++) { const cb = function () { return k; }; }',
      'function* gen() {}',
      'const l = [1]; l.length = 0;',
    ];
    for (const src of bad) assert.equal(checkSource('device/x.ts', src).length >= 1, true, src);
    assert.deepEqual(checkSource('device/ok.ts', 'let s = 0; for (let i = 0; i < 3; i++) s += Math.floor(i / 2);'), []);
    // The serial agent is built for ES5 engines only, where `var` is the norm.
    assert.deepEqual(
      checkSource('device/agent/ok.ts', 'var s = 0; for (var i = 0; i < 3; i++) s += Math.floor(i / 2);'),
      [],
    );
    // Bitwise operators only in the ES5 engines' own platform files (device/platform/*js.ts), not the agent's.
    assert.deepEqual(checkSource('device/platform/crc32-js.ts', 'let c = ~(1 ^ 2) >>> 0;'), []);
    assert.equal(checkSource('device/agent/x.ts', 'var c = 1 ^ 2;').length, 1);
    assert.equal(checkSource('device/platform/lua.ts', 'let c = 1 & 2;').length, 1);
  });

  it('passes on every file of device/', () => {
    const root = path.join(__dirname, '..', '..');
    const files = deviceSources(root);
    assert.ok(files.length >= 8);
    assert.deepEqual(
      files.flatMap((f) => checkSource(f, fs.readFileSync(f, 'utf8'))),
      [],
    );
  });

  it('flags typed arrays and buffers compared with === (Espruino compares their contents)', () => {
    const api = 'export interface Buf { [i: number]: number }\n';
    const flagged = bufferComparisons(
      new Map([
        ['/v/api.d.ts', api],
        [
          '/v/bad.ts',
          "import type { Buf } from './api';\n" +
            'export function f(a: Buf, b: Buf, h: any, v: Int8Array): boolean {\n' +
            '  return a === b || h.buffer !== v.buffer || v == null;\n}\n',
        ],
        [
          '/v/ok.ts',
          "import type { Buf } from './api';\nexport function g(a: Buf, i: number): boolean {\n  return a[i] === 0;\n}\n",
        ],
      ]),
    );
    assert.equal(flagged.length, 3, flagged.join('\n'));
    assert.ok(flagged.every((p) => p.startsWith('/v/bad.ts:3:')));
    const root = path.join(__dirname, '..', '..');
    const runtime = deviceSources(root).filter(sharedWithLuaBuild);
    assert.deepEqual(bufferComparisons(new Map(runtime.map((f) => [f, fs.readFileSync(f, 'utf8')]))), []);
  });
});
