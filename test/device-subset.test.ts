import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { checkSource, deviceSources } from '../tools/check-device-subset';

describe('device subset check', () => {
  it('flags what embedded engines cannot be trusted with', () => {
    const bad = [
      'var a = 1 | 2;', 'var b = 1 << 3;', 'let c = 1;', 'var d = () => 1;', 'for (var x of [1]) {}', 'var e = [...[1]];',
      'var { f } = { f: 1 };', 'var g = `t`;', 'var h = new Map();', 'var i = Math.imul(2, 3);', 'var j = 2 ** 3;',
      'for (var k = 0; k < 2; k++) { var cb = function () { return k; }; }', 'function* gen() {}',
    ];
    for (const src of bad) assert.equal(checkSource('x.ts', src).length >= 1, true, src);
    assert.deepEqual(checkSource('ok.ts', 'var s = 0; for (var i = 0; i < 3; i++) s += Math.floor(i / 2);'), []);
  });

  it('passes on every file of device/', () => {
    const root = path.join(__dirname, '..', '..');
    const files = deviceSources(root);
    assert.ok(files.length >= 8);
    assert.deepEqual(files.flatMap((f) => checkSource(f, fs.readFileSync(f, 'utf8'))), []);
  });
});
