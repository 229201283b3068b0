// The device bundles' numbered refusals (tools/device-messages.ts): the table is current, and a board's numbered
// refusal, put back into words on the host, is the very line the host's verifier (the device sources) words.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { deviceRefusal, explainDeviceError } from '../host/blob/verify';
import { ENGINES, fuzzOnEngine } from '../host/engines';
import { mutateBlob } from '../host/engines/fuzz';
import { encodeModel } from '../host/blob/encode';
import { DEVICE_MESSAGES } from '../host/ir/device-messages';
import { Rng } from '../host/util/rng';
import { messagesPath, messagesSource } from '../tools/gen-messages';
import { randomQModel } from './helpers/random-qmodel';

const ROOT = path.join(__dirname, '..', '..');

describe('device refusals numbered in the bundles, worded on the host', function () {
  this.timeout(300000);

  it('host/ir/device-messages.ts is current (npm run gen:contracts)', () => {
    assert.ok(fs.readFileSync(messagesPath(), 'utf8') === messagesSource(), 'stale: run `npm run gen:contracts`');
  });

  it('explainDeviceError fills a text with its values and names its code', () => {
    const id = DEVICE_MESSAGES.indexOf('tensor % refers to a missing buffer') + 1;
    assert.ok(id > 0);
    assert.equal(explainDeviceError(`MRSL_E_8: #${id} 5`), 'MRSL_E_BUFFER: tensor 5 refers to a missing buffer');
    const two = DEVICE_MESSAGES.indexOf('tensors %, %') + 1;
    assert.equal(explainDeviceError(`x MRSL_E_21: #${two} 3 7`), 'x MRSL_E_OVERLAP: tensors 3, 7');
    const op = DEVICE_MESSAGES.indexOf('has unknown opcode %') + 1;
    assert.equal(explainDeviceError(`MRSL_E_16: op 2 #${op} 9`), 'MRSL_E_OPCODE: op 2 has unknown opcode 9');
    // What is not a numbered refusal stays as it is.
    for (const m of ['MRSL_E_CRC: checksum mismatch', 'MRSL_E_99: #1', `MRSL_E_8: #${DEVICE_MESSAGES.length + 1}`])
      assert.equal(explainDeviceError(m), m);
  });

  it('every engine words 300 refused blobs as the host verifier does', async () => {
    const rng = new Rng(13);
    const cnn = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', 'fashion_cnn', 'model.msl')));
    const blobs: Uint8Array[] = [];
    const expected: string[] = [];
    for (let i = 0; blobs.length < 300; i++) {
      const base = i % 20 === 0 ? cnn : encodeModel(randomQModel(rng).model);
      const bytes = mutateBlob(base, i, rng);
      const refusal = deviceRefusal(bytes);
      if (refusal === undefined) continue;
      blobs.push(bytes);
      expected.push(refusal);
    }
    const codes = new Set(expected.map((e) => e.split(':')[0]));
    assert.ok(codes.size >= 8, `only ${[...codes].join(' ')}`);
    for (const engine of ENGINES) {
      const outcomes = await fuzzOnEngine(engine, blobs);
      const differ = outcomes.map((o, i) => [o, expected[i]]).filter(([o, e]) => o !== e);
      assert.deepEqual(differ.slice(0, 5), [], `${engine}: ${differ.length} of ${blobs.length} differ`);
    }
  });
});
