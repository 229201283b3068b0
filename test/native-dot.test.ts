// The native dot-product paths of the ES5 bundles (device/native-dot.ts): Espruino's E.convolve (in the Espruino
// variant, morsel.espruino.js) and a firmware dot_s8 binding, each detected at load and used by FULLY_CONNECTED and
// CONV_2D, must give the host reference's bytes. Neither engine is on this machine, so these are unit-test STAND-INS written in JavaScript: E.convolve
// is Espruino's documented semantics taken literally (`v=0;for (i in arr1) v+=arr1[i] * arr2[(i+offset) %
// arr2.length]`), dot_s8 the C signature documented in device/README.md.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { encodeModel } from '../host/blob/encode';
import { loadSamples } from '../host/data/dataset';
import { evaluateInEngine } from '../host/engines';
import { runInt8 } from '../host/interp/int8/interpreter';
import { quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { randomQModel } from './helpers/random-qmodel';

const ROOT = path.join(__dirname, '..', '..');
const ESPRUINO_BUNDLE = path.join(ROOT, 'dist', 'device', 'morsel.espruino.js');
const hex = (a: Int8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).toString('hex');

const STAND_INS = {
  convolve: `var __nativeCalls = 0;
var E = { convolve: function (arr1, arr2, offset) {
  __nativeCalls++;
  var v = 0;
  for (var i = 0; i < arr1.length; i++) v += arr1[i] * arr2[(i + offset) % arr2.length];
  return v;
} };`,
  dot_s8: `var __nativeCalls = 0;
function dot_s8(a, aOff, b, bOff, n) {
  __nativeCalls++;
  var s = 0;
  for (var i = 0; i < n; i++) s += a[aOff + i] * b[bOff + i];
  return s;
}`,
};

/** Runs each job's inputs through the bundle with a stand-in defined; outputs as hex, plus the native calls. */
async function runWithStandIn(
  engine: 'node' | 'quickjs',
  standIn: string,
  jobs: { blob: Uint8Array; inputs: Int8Array[] }[],
  bundle = standIn === STAND_INS.convolve ? ESPRUINO_BUNDLE : undefined,
) {
  const data = JSON.stringify(jobs.map((j) => [Buffer.from(j.blob).toString('hex'), j.inputs.map(hex)]));
  const script = `${standIn}
function __bytes(h, T) { var a = new T(h.length / 2); for (var i = 0; i < a.length; i++) a[i] = parseInt(h.substr(2 * i, 2), 16); return a; }
var __jobs = ${data}, __out = [];
for (var __j = 0; __j < __jobs.length; __j++) {
  var __m = Morsel.load(__bytes(__jobs[__j][0], Uint8Array)), __ys = [];
  for (var __i = 0; __i < __jobs[__j][1].length; __i++) {
    var __y = __m.invoke(__bytes(__jobs[__j][1][__i], Int8Array)), __h = '';
    for (var __k = 0; __k < __y.length; __k++) { var __v = (__y[__k] + 256) % 256; __h += (__v < 16 ? '0' : '') + __v.toString(16); }
    __ys.push(__h);
  }
  __out.push(__ys);
}
var __res = JSON.stringify({ outputs: __out, calls: __nativeCalls });`;
  const r = JSON.parse(await evaluateInEngine(engine, script, { bundlePath: bundle }));
  return r as { outputs: string[][]; calls: number };
}

describe('native dot products (stand-ins for E.convolve and dot_s8) are bit-exact', function () {
  this.timeout(300000);

  const zoo = ['fashion_mlp', 'fashion_cnn'].map((name) => {
    const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl')));
    const model = decodeModel(blob);
    const inputs = loadSamples('fashion-mnist', { split: 'test', limit: 20, size: 784 }).inputs.map((x) =>
      quantizeInput(model, x),
    );
    return { name, blob, inputs, expected: inputs.map((x) => hex(runInt8(model, [x])[0])) };
  });
  const rng = new Rng(4242);
  const graphs = Array.from({ length: 300 }, () => randomQModel(rng)).filter(({ model }) =>
    model.ops.some((o) => o.opcode === 'FULLY_CONNECTED' || o.opcode === 'CONV_2D'),
  );

  for (const kind of ['convolve', 'dot_s8'] as const) {
    it(`${kind}: zoo models on QuickJS, 20 test images each`, async () => {
      const r = await runWithStandIn('quickjs', STAND_INS[kind], zoo);
      zoo.forEach((z, i) => assert.deepEqual(r.outputs[i], z.expected, z.name));
      assert.ok(r.calls > 20 * 128, `${r.calls} native calls`);
    });

    it(`${kind}: random graphs with FULLY_CONNECTED or CONV_2D on node`, async () => {
      assert.ok(graphs.length >= 80, `${graphs.length} graphs`);
      const r = await runWithStandIn(
        'node',
        STAND_INS[kind],
        graphs.map(({ model, inputs }) => ({ blob: encodeModel(model), inputs })),
      );
      graphs.forEach(({ model, inputs }, i) =>
        assert.deepEqual(
          r.outputs[i],
          inputs.map((x) => hex(runInt8(model, [x])[0])),
          `graph ${i}`,
        ),
      );
      assert.ok(r.calls > 0);
    });
  }

  it('the ES5 bundle for the other engines leaves E.convolve to the Espruino variant', async () => {
    const r = await runWithStandIn('node', STAND_INS.convolve, zoo, path.join(ROOT, 'dist', 'device', 'morsel.es5.js'));
    zoo.forEach((z, i) => assert.deepEqual(r.outputs[i], z.expected, z.name));
    assert.equal(r.calls, 0);
  });
});
