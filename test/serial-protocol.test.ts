// The protocol pieces without a pty: SLIP and frames on the host, and the real agent bundle (in node's vm,
// flash in memory) driven by the real client: resume, verified commit, atomic swap, errors.

import { strict as assert } from 'assert';
import { createHash, createHmac } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32 } from '../host/blob/crc32';
import {
  beginTag,
  blobDigest,
  commitTag,
  generateKey,
  parseKey,
  readKeyFile,
  resolveKey,
  tagsEqual,
  writeKeyFile,
} from '../host/serial/auth';
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

  it('decodes 8 MB of escaped data in linear time', () => {
    const frame = Buffer.alloc(4096);
    for (let i = 0; i < frame.length; i++) frame[i] = (i * 131) % 256;
    const wire = slipEncode(frame);
    const dec = new SlipDecoder(8192);
    const t0 = Date.now();
    let n = 0;
    for (let i = 0; i < 2048; i++) n += dec.push(wire)[0].length;
    assert.equal(n, 2048 * 4096);
    assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
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

describe('upload authentication (host/serial/auth.ts)', () => {
  const key = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
  const binding = { deviceId: 'board-7', nonce: '0123456789abcdef', size: 70000, crc: 0xdeadbeef };

  it('tags are HMAC-SHA256 over the documented messages (checked against node:crypto)', () => {
    const sizes = Buffer.from([0x70, 0x11, 0x01, 0x00, 0xef, 0xbe, 0xad, 0xde]);
    const head = (label: string) => Buffer.from(`${label}\x00board-7\x000123456789abcdef\x00`, 'latin1');
    const begin = createHmac('sha256', key)
      .update(Buffer.concat([head('morsel-put-v1'), sizes]))
      .digest();
    assert.equal(Buffer.from(beginTag(key, binding)).toString('hex'), begin.toString('hex'));
    const blob = Buffer.from('not really a model');
    const digest = createHash('sha256').update(blob).digest();
    assert.equal(Buffer.from(blobDigest(blob)).toString('hex'), digest.toString('hex'));
    const commit = createHmac('sha256', key)
      .update(Buffer.concat([head('morsel-commit-v1'), sizes, digest]))
      .digest();
    assert.equal(Buffer.from(commitTag(key, binding, digest)).toString('hex'), commit.toString('hex'));
  });

  it('a tag binds every field: another board, nonce, size, CRC or key gives another tag', () => {
    const t = beginTag(key, binding);
    for (const other of [
      { ...binding, deviceId: 'board-8' },
      { ...binding, nonce: '0123456789abcdee' },
      { ...binding, size: 70001 },
      { ...binding, crc: 0xdeadbeee },
    ])
      assert.ok(!tagsEqual(t, beginTag(key, other)), JSON.stringify(other));
    assert.ok(!tagsEqual(t, beginTag(generateKey(), binding)));
    assert.ok(tagsEqual(t, beginTag(key, { ...binding })));
  });

  it('key files: written owner-only, never silently replaced, and only --insecure does without one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-key-'));
    try {
      const file = path.join(dir, 'sub', 'flash.key');
      const k = generateKey();
      writeKeyFile(file, k);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(readKeyFile(file), k);
      assert.throws(() => writeKeyFile(file, generateKey()), /exists/);
      assert.deepEqual(resolveKey({ keyFile: file }), k);
      assert.equal(resolveKey({ insecure: true }), null);
      assert.throws(() => resolveKey({ keyFile: file, insecure: true }), /exclude/);
      assert.throws(() => resolveKey({ keyFile: path.join(dir, 'missing.key') }), /cannot read key file/);
      assert.throws(() => parseKey('hello', 'k.txt'), /k.txt: not a Morsel key/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
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
    const t0 = Date.now();
    await assert.rejects(
      c.flash(mlp),
      (e: DeviceError) => e.code === 'INTERNAL' && /flash write failed/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 2000, 'an answer, not a timeout');
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
