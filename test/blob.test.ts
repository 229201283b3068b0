import { strict as assert } from 'assert';
import { decodeModel } from '../host/blob/decode';
import { encodeModel } from '../host/blob/encode';
import { BlobFormatError } from '../host/blob/flatbuffer';
import { planMemory } from '../host/plan/planner';
import { tinyFcModel } from './helpers/tiny-models';

describe('blob format (schema/morsel.fbs)', () => {
  it('round-trips a model through encode/decode', () => {
    const m = tinyFcModel();
    planMemory(m);
    const d = decodeModel(encodeModel(m));
    assert.equal(d.name, m.name);
    assert.equal(d.rounding, 'double');
    assert.equal(d.arenaBytes, m.arenaBytes);
    assert.deepEqual(d.inputs, m.inputs);
    assert.deepEqual(d.outputs, m.outputs);
    assert.equal(d.tensors.length, m.tensors.length);
    m.tensors.forEach((t, i) => {
      assert.deepEqual(d.tensors[i].shape, t.shape);
      assert.deepEqual(d.tensors[i].zeroPoint, t.zeroPoint);
      assert.deepEqual(d.tensors[i].scale, t.scale.map(Math.fround));
      assert.equal(d.tensors[i].arenaOffset, t.data ? -1 : t.arenaOffset);
      if (t.data) assert.deepEqual(Array.from(d.tensors[i].data!), Array.from(t.data));
    });
    assert.deepEqual(d.ops[0].options, m.ops[0].options);
    assert.deepEqual(d.ops[1].options, m.ops[1].options);
  });

  it('is deterministic and starts with the MRSL identifier', () => {
    const a = encodeModel(tinyFcModel());
    const b = encodeModel(tinyFcModel());
    assert.deepEqual(a, b);
    assert.equal(Buffer.from(a.subarray(4, 8)).toString(), 'MRSL');
  });

  it('aligns every weight buffer to 16 bytes from the start of the blob', () => {
    const m = tinyFcModel();
    const bytes = encodeModel(m);
    // Find each constant's bytes in the blob and check where its vector starts.
    for (const t of m.tensors.filter((x) => x.data)) {
      const raw = Buffer.from(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
      const at = Buffer.from(bytes).indexOf(raw);
      assert.ok(at > 0, `${t.name} not found`);
      assert.equal(at % 16, 0, `${t.name} at ${at}`);
    }
  });

  it('rejects corruption anywhere with a clear error', () => {
    const bytes = encodeModel(tinyFcModel());
    for (let i = 8; i < bytes.length; i += 7) {
      const bad = bytes.slice();
      bad[i] ^= 0x20;
      assert.throws(
        () => decodeModel(bad),
        (e: Error) => e instanceof BlobFormatError || e instanceof RangeError,
        `byte ${i}`,
      );
    }
    assert.throws(() => decodeModel(bytes.subarray(0, 5)), /too short/);
    const wrongId = bytes.slice();
    wrongId[4] = 'X'.charCodeAt(0);
    assert.throws(() => decodeModel(wrongId), /identifier/);
  });
});
