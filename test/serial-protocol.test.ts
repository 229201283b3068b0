// The protocol pieces without a pty: SLIP and frames on the host, and the real agent bundle (in node's vm,
// flash in memory) driven by the real client: resume, verified commit, atomic swap, errors.

import { strict as assert } from 'assert';
import { crc32 } from '../host/blob/crc32';
import { DeviceClient, type DeviceError } from '../host/serial/client';
import { decodeFrame, encodeFrame, Msg } from '../host/serial/protocol';
import { SLIP_END, SLIP_ESC, SlipDecoder, slipEncode } from '../host/serial/slip';
import { Rng } from '../host/util/rng';
import { ensureAgentBundle, MemoryBoard, referenceOutput, zooBlob } from './serial-fixtures';

describe('serial framing', () => {
  it('SLIP round-trips frames full of END and ESC bytes, fed in random slices', () => {
    const rng = new Rng(5);
    const frames = Array.from({ length: 50 }, (_, i) =>
      Buffer.from(Array.from({ length: 1 + i * 37 }, () => rng.pick([SLIP_END, SLIP_ESC, rng.int(0, 255)]))),
    );
    const wire = Buffer.concat(frames.map(slipEncode));
    const dec = new SlipDecoder(4096);
    const got: Buffer[] = [];
    for (let at = 0; at < wire.length; ) {
      const n = rng.int(1, 300);
      got.push(...dec.push(wire.subarray(at, at + n)));
      at += n;
    }
    assert.deepEqual(
      got.map((b) => b.toString('hex')),
      frames.map((b) => b.toString('hex')),
    );
  });

  it('an oversized frame is dropped whole and the next one still decodes', () => {
    const dec = new SlipDecoder(16);
    const out = dec.push(Buffer.concat([slipEncode(Buffer.alloc(40, 1)), slipEncode(Buffer.from([1, 2, 3]))]));
    assert.deepEqual(
      out.map((b) => b.toString('hex')),
      ['', '010203'],
    );
  });

  it('decodes 8 MB of escaped data intact', () => {
    const frame = Buffer.alloc(4096);
    for (let i = 0; i < frame.length; i++) frame[i] = (i * 131) % 256;
    const wire = slipEncode(frame);
    const dec = new SlipDecoder(8192);
    let n = 0;
    for (let i = 0; i < 2048; i++) {
      const [out] = dec.push(wire);
      if (i === 0) assert.deepEqual(Buffer.from(out), frame);
      n += out.length;
    }
    assert.equal(n, 2048 * 4096);
  });

  it('a frame with a flipped bit or a wrong length is rejected', () => {
    const f = encodeFrame(Msg.RUN, 9, Buffer.from('hello'));
    assert.deepEqual(decodeFrame(f), { type: Msg.RUN, seq: 9, payload: Buffer.from('hello') });
    for (let bit = 0; bit < f.length * 8; bit += 7) {
      const g = Buffer.from(f);
      g[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(decodeFrame(g), null, `bit ${bit}`);
    }
    assert.equal(decodeFrame(f.subarray(0, f.length - 1)), null);
  });
});

describe('device agent protocol (real bundles in node vm, in-memory flash)', function () {
  this.timeout(60000);
  const cnn = zooBlob('fashion_cnn');
  const mlp = zooBlob('fashion_mlp');
  const x = new Int8Array(784).map((_, i) => ((i * 37) % 256) - 128);
  before(ensureAgentBundle);

  it('reports no model on a fresh board, then runs the flashed one bit-exactly', async () => {
    const board = await MemoryBoard.start();
    const c = new DeviceClient(board, { latencyMs: 500 });
    const info = await c.hello();
    assert.equal(info.model, null);
    assert.equal(info.engine, 'node');
    await assert.rejects(c.run(x), (e: DeviceError) => e.code === 'NO_MODEL');
    const r = await c.flash(cnn);
    assert.equal(r.crc, crc32(cnn));
    assert.equal((await c.hello()).model!.crc, crc32(cnn));
    const y = await c.run(x);
    assert.deepEqual(y.y, Array.from(referenceOutput(cnn, x)));
    assert.equal(y.layer_us.length, 8);
  });

  it('resumes an upload after a reset from the last acknowledged offset', async () => {
    const board = await MemoryBoard.start();
    const c = new DeviceClient(board, { latencyMs: 200 });
    await c.flash(cnn);
    board.dropFromByte = board.bytesOut + 40000; // the cable goes dead 40 KB into the next upload
    await assert.rejects(c.flash(mlp, { retries: 1 }));
    board.dropFromByte = Infinity;
    await board.boot(); // power cycle
    const pending = (await c.hello()).pending!;
    assert.equal(pending.crc, crc32(mlp));
    assert.ok(pending.have > 20000 && pending.have < 40000, `have ${pending.have}`);
    assert.equal((await c.hello()).model!.crc, crc32(cnn), 'the old model stays active');
    const r = await c.flash(mlp);
    assert.equal(r.resumedFrom, pending.have);
    assert.ok(r.wireBytes < mlp.length - pending.have + 8000, `${r.wireBytes} wire bytes`);
    assert.deepEqual((await c.run(x)).y, Array.from(referenceOutput(mlp, x)));
  });

  it('a blob the runtime rejects is never activated: the old model keeps answering', async () => {
    const board = await MemoryBoard.start();
    const c = new DeviceClient(board, { latencyMs: 500 });
    await c.flash(cnn);
    const bad = mlp.slice();
    bad[bad.length - 100] ^= 0xff; // consistent upload CRC, broken internal checksum
    await assert.rejects(c.flash(bad), (e: DeviceError) => e.code === 'VERIFY' && /MRSL_E_CRC/.test(e.message));
    const info = await c.hello();
    assert.equal(info.model!.crc, crc32(cnn));
    assert.equal(info.pending, null);
    assert.deepEqual((await c.run(x)).y, Array.from(referenceOutput(cnn, x)));
    await board.boot();
    assert.deepEqual((await c.run(x)).y, Array.from(referenceOutput(cnn, x)), 'and after a reset too');
  });

  it('a failing flash write is reported at once and leaves the old model running', async () => {
    const board = await MemoryBoard.start();
    const c = new DeviceClient(board, { latencyMs: 5000 });
    await c.flash(cnn);
    board.failWrites = true;
    // The board's answer (a DeviceError), not the client's timeout (a TimeoutError).
    await assert.rejects(
      c.flash(mlp),
      (e: DeviceError) => e.code === 'INTERNAL' && /flash write failed/.test(e.message),
    );
    assert.deepEqual((await c.run(x)).y, Array.from(referenceOutput(cnn, x)));
  });

  it('COMMIT before the whole blob arrived is refused', async () => {
    const board = await MemoryBoard.start();
    const c = new DeviceClient(board, { latencyMs: 500 });
    const begin = Buffer.alloc(8);
    begin.writeUInt32LE(cnn.length, 0);
    begin.writeUInt32LE(crc32(cnn), 4);
    const seqd = (type: Msg, payload: Buffer, seq: number) => board.write(slipEncode(encodeFrame(type, seq, payload)));
    const answers: Buffer[] = [];
    board.onData((d) => answers.push(d));
    await seqd(Msg.PUT_BEGIN, begin, 1);
    await seqd(Msg.COMMIT, Buffer.alloc(0), 2);
    await new Promise((r) => setImmediate(r));
    const frames = new SlipDecoder(9000).push(Buffer.concat(answers)).map((f) => decodeFrame(f)!);
    assert.deepEqual(
      frames.map((f) => [f.type, f.seq]),
      [
        [Msg.PUT_ACK, 1],
        [Msg.ERROR, 2],
      ],
    );
    assert.equal(JSON.parse(frames[1].payload.toString()).code, 'INCOMPLETE');
    assert.equal((await c.hello()).model, null);
  });

  it('a board reset between writing the commit pointer and clearing the upload boots the new model', async () => {
    const board = await MemoryBoard.start();
    const c = new DeviceClient(board, { latencyMs: 500 });
    await c.flash(cnn);
    const pendingBefore = JSON.stringify({ slot: 'morsel.b', size: mlp.length, crc: crc32(mlp), have: mlp.length });
    await c.flash(mlp);
    board.flash.set('morsel.pnd', Buffer.from(pendingBefore)); // as if the erase never happened
    await board.boot();
    const info = await c.hello();
    assert.equal(info.model!.crc, crc32(mlp));
    assert.equal(info.pending, null);
  });

  it('efficiency on a 100 KB blob is at least 0.9 of the link bytes', async () => {
    const board = await MemoryBoard.start();
    const c = new DeviceClient(board, { latencyMs: 500 });
    const blob = new Uint8Array(100 * 1024).map((_, i) => (i * 2654435761) % 251);
    // Random bytes are not a model: the upload must be efficient even though COMMIT then refuses it.
    const before = board.bytesIn + board.bytesOut;
    await assert.rejects(c.flash(blob), (e: DeviceError) => e.code === 'VERIFY');
    const eff = blob.length / (board.bytesIn + board.bytesOut - before);
    assert.ok(eff >= 0.9, `efficiency ${eff.toFixed(3)}`);
  });
});
