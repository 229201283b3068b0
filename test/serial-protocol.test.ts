// The protocol pieces without a pty: SLIP and frames on the host, and the real agent bundle (in node's vm,
// flash in memory) driven by the real client: resume, verified commit, atomic swap, errors.

import { strict as assert } from 'assert';
import { createHash, createHmac } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';
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
import { AuthMismatchError, DeviceClient, type DeviceError } from '../host/serial/client';
import { AGENT_BUNDLE } from '../host/serial/device-engine';
import { decodeFrame, encodeFrame, Msg, ProtocolError } from '../host/serial/protocol';
import { SLIP_END, SLIP_ESC, SlipDecoder, slipEncode } from '../host/serial/slip';
import { Rng } from '../host/util/rng';
import { generateProtocolCodes, PROTOCOL_CODES } from '../tools/gen-protocol';
import { ensureAgentBundle, MemoryBoard, referenceOutput, zooBlob } from './serial-fixtures';

describe('serial framing', () => {
  it('host/serial/protocol-codes.ts is generated from device/agent/protocol.ts (node dist/tools/gen-protocol.js)', () => {
    const fresh = generateProtocolCodes();
    assert.equal(fs.readFileSync(PROTOCOL_CODES, 'utf8'), fresh);
    assert.match(fresh, /TELEMETRY = 0x90,/);
    // The generator reads the device file, so a changed code there changes the host's.
    const moved = generateProtocolCodes('var MSG_HELLO = 7;\nvar MAX_PAYLOAD = 100;\n');
    assert.match(moved, /HELLO = 0x07,[\s\S]*export const MAX_PAYLOAD = 100;/);
  });

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

describe('upload authentication (host/serial/auth.ts)', () => {
  before(ensureAgentBundle);
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

  it("the agent's own SHA-256 and HMAC (no bitwise operators) match node:crypto at every padding boundary", () => {
    const ctx = vm.createContext({});
    vm.runInContext(fs.readFileSync(AGENT_BUNDLE, 'utf8'), ctx);
    const agent = ctx.MorselAgent as {
      sha256(b: Uint8Array, n: number): number[];
      hmacSha256(k: number[], m: number[], d: unknown): number[];
    };
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 4097]) {
      const b = new Uint8Array(n).map((_, i) => (i * 131 + 7) % 256);
      assert.equal(
        Buffer.from(agent.sha256(b, n)).toString('hex'),
        createHash('sha256').update(b).digest('hex'),
        `n=${n}`,
      );
    }
    const msg = Array.from(Buffer.from('morsel-put-v1\x00board\x00'));
    assert.equal(
      Buffer.from(agent.hmacSha256(Array.from(key), msg, agent.sha256)).toString('hex'),
      createHmac('sha256', key).update(Buffer.from(msg)).digest('hex'),
    );
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

  describe('authenticated uploads', () => {
    const key = generateKey();
    const begin = (blob: Uint8Array, tag?: Uint8Array) => {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(blob.length, 0);
      b.writeUInt32LE(crc32(blob), 4);
      return tag ? Buffer.concat([b, tag]) : b;
    };
    /** Sends raw frames and returns the board's answers (type, seq, JSON or bytes). */
    const raw = async (board: MemoryBoard, frames: [Msg, number, Uint8Array][]) => {
      const answers: Buffer[] = [];
      board.onData((d) => answers.push(d));
      for (const [type, seq, payload] of frames) await board.write(slipEncode(encodeFrame(type, seq, payload)));
      for (let i = 0; i < 50 && answers.length < frames.length; i++) await new Promise((r) => setTimeout(r, 10));
      return new SlipDecoder(9000).push(Buffer.concat(answers)).map((f) => decodeFrame(f)!);
    };

    it('a keyed board takes a tagged upload, and its nonce changes after it', async () => {
      const board = await MemoryBoard.start('node', key);
      const c = new DeviceClient(board, { latencyMs: 2000 });
      const nonce = (await c.hello()).auth!.nonce;
      assert.match(nonce, /^[0-9a-f]{16}$/);
      const r = await c.flash(cnn, { key });
      assert.ok(r.verifyMs >= 0);
      const info = await c.hello();
      assert.equal(info.model!.crc, crc32(cnn));
      assert.notEqual(info.auth!.nonce, nonce);
      assert.deepEqual((await c.run(x)).y, Array.from(referenceOutput(cnn, x)));
    });

    it('untagged, wrongly tagged and replayed uploads are refused and the old model answers', async () => {
      const board = await MemoryBoard.start('node', key);
      const c = new DeviceClient(board, { latencyMs: 2000 });
      // Record a genuine session's frames, then replay them: the nonce has moved on.
      const sent: Buffer[] = [];
      const write = board.write.bind(board);
      board.write = async (d: Buffer) => {
        sent.push(Buffer.from(d));
        return write(d);
      };
      await c.flash(mlp, { key });
      board.write = write;
      await c.flash(cnn, { key });
      const replayed = await raw(
        board,
        sent
          .flatMap((w) => new SlipDecoder(9000).push(w).map((f) => decodeFrame(f)!))
          .map((f) => [f.type, f.seq, f.payload]),
      );
      assert.ok(replayed.some((f) => f.type === Msg.ERROR && JSON.parse(f.payload.toString()).code === 'AUTH'));
      assert.ok(!replayed.some((f) => f.type === Msg.COMMITTED), 'the replayed commit is refused');
      const untagged = await raw(board, [[Msg.PUT_BEGIN, 1, begin(mlp)]]);
      assert.match(untagged[0].payload.toString(), /"code":"AUTH".*only authenticated uploads/);
      const forged = await raw(board, [[Msg.PUT_BEGIN, 2, begin(mlp, generateKey())]]);
      assert.match(forged[0].payload.toString(), /"code":"AUTH".*does not verify/);
      assert.equal((await c.hello()).model!.crc, crc32(cnn));
      assert.deepEqual((await c.run(x)).y, Array.from(referenceOutput(cnn, x)));
      await assert.rejects(c.flash(mlp), (e: DeviceError) => e.code === 'AUTH');
      await assert.rejects(c.flash(mlp, { key: generateKey() }), (e: DeviceError) => e.code === 'AUTH');
    });

    it("a stranger's PUT_BEGIN leaves a pending upload intact, and a wrong commit tag keeps the old model", async () => {
      const board = await MemoryBoard.start('node', key);
      const c = new DeviceClient(board, { latencyMs: 300 });
      await c.flash(cnn, { key });
      board.dropFromByte = board.bytesOut + 40000;
      await assert.rejects(c.flash(mlp, { key, retries: 1 }));
      board.dropFromByte = Infinity;
      const pending = (await c.hello()).pending!;
      assert.ok(pending.have > 0);
      const info = await c.hello();
      const stranger = await raw(board, [
        [Msg.PUT_BEGIN, 3, begin(cnn)],
        [
          Msg.PUT_BEGIN,
          4,
          begin(
            cnn,
            beginTag(generateKey(), { deviceId: info.id, nonce: info.auth!.nonce, size: cnn.length, crc: crc32(cnn) }),
          ),
        ],
      ]);
      assert.deepEqual(
        stranger.map((f) => JSON.parse(f.payload.toString()).code),
        ['AUTH', 'AUTH'],
      );
      assert.deepEqual((await c.hello()).pending, pending);
      // Finish the upload with the right begin tag, then commit with a tag from another key.
      const binding = { deviceId: info.id, nonce: info.auth!.nonce, size: mlp.length, crc: crc32(mlp) };
      const data = Buffer.alloc(5 + mlp.length - pending.have);
      data.writeUInt32LE(pending.have, 0);
      data[4] = 1;
      data.set(mlp.subarray(pending.have), 5);
      const frames: [Msg, number, Uint8Array][] = [[Msg.PUT_BEGIN, 5, begin(mlp, beginTag(key, binding))]];
      for (let at = 0; at < mlp.length - pending.have; at += 4096) {
        const n = Math.min(4096, mlp.length - pending.have - at);
        const p = Buffer.alloc(5 + n);
        p.writeUInt32LE(pending.have + at, 0);
        p[4] = at + n >= mlp.length - pending.have ? 1 : 0;
        p.set(mlp.subarray(pending.have + at, pending.have + at + n), 5);
        frames.push([Msg.PUT_DATA, p[4] ? 6 : 0, p]);
      }
      frames.push([Msg.COMMIT, 7, commitTag(generateKey(), binding, blobDigest(mlp))]);
      const answers = await raw(board, frames);
      const last = answers[answers.length - 1];
      assert.equal(last.type, Msg.ERROR);
      assert.match(last.payload.toString(), /"code":"AUTH".*commit not authorized/);
      assert.equal((await c.hello()).model!.crc, crc32(cnn));
      assert.deepEqual((await c.run(x)).y, Array.from(referenceOutput(cnn, x)));
      // The genuine host still commits the same pending upload.
      const r = await c.flash(mlp, { key });
      assert.equal(r.resumedFrom, mlp.length);
      assert.deepEqual((await c.run(x)).y, Array.from(referenceOutput(mlp, x)));
    });

    it('a key for a board without one is refused before any byte of the blob is sent', async () => {
      const board = await MemoryBoard.start();
      const c = new DeviceClient(board, { latencyMs: 500 });
      const before = board.bytesOut;
      await assert.rejects(
        c.flash(cnn, { key }),
        (e: Error) => e instanceof AuthMismatchError && /--insecure/.test(e.message),
      );
      assert.ok(board.bytesOut - before < 100, `${board.bytesOut - before} bytes sent`);
      assert.equal((await c.hello()).model, null);
    });
  });

  describe('the host does not trust the board', () => {
    /** A link whose "board" answers every request with the frame `answer` builds (seq echoed). */
    const liar = (answer: (type: number, seq: number) => Buffer | null): MemoryBoard => {
      const listeners: ((c: Buffer) => void)[] = [];
      const dec = new SlipDecoder(9000);
      return {
        bytesOut: 0,
        bytesIn: 0,
        onData: (l: (c: Buffer) => void) => void listeners.push(l),
        close: async () => undefined,
        async write(d: Buffer) {
          for (const f of dec.push(d).map((r) => decodeFrame(r)!)) {
            const a = answer(f.type, f.seq);
            if (a) setImmediate(() => listeners.forEach((l) => l(slipEncode(a))));
          }
        },
      } as unknown as MemoryBoard;
    };
    const ack = (seq: number, have: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(have >>> 0, 0);
      return encodeFrame(Msg.PUT_ACK, seq, b);
    };
    const json = (type: Msg, seq: number, v: unknown) =>
      encodeFrame(type, seq, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));

    it('a PUT_ACK beyond what was sent fails the flash at once', async () => {
      const c = new DeviceClient(
        liar((t, seq) => (t === Msg.PUT_BEGIN || seq ? ack(seq, 0xffffffff) : null)),
        { latencyMs: 200 },
      );
      await assert.rejects(
        c.flash(cnn),
        (e: Error) => e instanceof ProtocolError && /acknowledged 4294967295 bytes/.test(e.message),
      );
      const d = new DeviceClient(
        liar((t, seq) => (t === Msg.PUT_BEGIN ? ack(seq, 0) : seq ? ack(seq, 8193) : null)),
        { latencyMs: 200 },
      );
      await assert.rejects(d.flash(cnn), /acknowledged 8193 bytes after the windows sent, but only 8192 were sent/);
    });

    it('a COMMITTED that is not JSON, a RESULT of the wrong size and a wrong answer type are errors, not retries', async () => {
      let have = 0,
        commits = 0;
      const c = new DeviceClient(
        liar((t, seq) => {
          if (t === Msg.PUT_BEGIN) return ack(seq, 0);
          if (t === Msg.PUT_DATA) return seq ? ack(seq, (have = cnn.length)) : null;
          if (t === Msg.COMMIT) {
            commits++;
            return json(Msg.COMMITTED, seq, 'ok!');
          }
          if (t === Msg.RUN) return json(Msg.RESULT, seq, { y: [1, 2, 3], layer_us: [], total_us: 5 });
          return json(Msg.RESULT, seq, { y: [] });
        }),
        { latencyMs: 200 },
      );
      await assert.rejects(c.flash(cnn, { windowFrames: 64, chunkBytes: 4096 }), /COMMITTED payload is not JSON/);
      assert.ok(have === cnn.length && commits === 1, `${commits} COMMITs: the bad answer is an error, not a retry`);
      await assert.rejects(c.run(x, 1000, 10), /RESULT has 3 values; the model has 10 outputs/);
      await assert.rejects(c.hello(), /answered HELLO with a frame of type 0x85 instead of INFO/);
    });

    it('unsolicited frames that break the protocol are counted and reported, and telemetry keeps flowing', async () => {
      const c = new DeviceClient(liar(() => null));
      const seen: string[] = [];
      const good: number[] = [];
      c.onInvalid((e) => seen.push(e.message));
      c.onTelemetry((t) => good.push(t.n));
      const push = (f: Buffer) => (c as unknown as { dispatch(b: Buffer): void }).dispatch(f);
      const t = { t: 1, n: 7, ips: 0, p50_us: 0, p95_us: 0, free: 1, errors: { frame: 0, run: 0, commit: 0, boot: 0 } };
      push(json(Msg.TELEMETRY, 0, 'garbage'));
      push(json(Msg.TELEMETRY, 0, { ...t, n: 'many' }));
      push(json(Msg.LOG, 0, [1]));
      push(json(Msg.TELEMETRY, 0, t));
      assert.deepEqual(seen, [
        'board: TELEMETRY payload is not JSON: "garbage"',
        'board: invalid TELEMETRY: n is not a number',
        'board: invalid LOG: payload is not an object',
      ]);
      assert.equal(c.invalidFrames, 3);
      assert.deepEqual(good, [7]);
    });
  });
});
