// The device side of the serial protocol (docs/protocol.md): keeps the committed model, receives a new blob
// into the other flash slot, and swaps only after the whole blob passed its CRC and Morsel.load.
// Flash layout: blob slots FILE_SLOT_A / FILE_SLOT_B, the commit pointer FILE_ACTIVE (which slot, size, CRC)
// and FILE_PENDING (the upload in progress and how much of it is stored), so a reset at any moment boots the
// last committed model and can resume the upload where its last acknowledgement left it.

var FILE_SLOT_A = 'morsel.a';
var FILE_SLOT_B = 'morsel.b';
var FILE_ACTIVE = 'morsel.act';
var FILE_PENDING = 'morsel.pnd';
/** Latencies kept for the telemetry percentiles. */
var LATENCY_RING = 64;

interface BlobMeta {
  slot: string;
  size: number;
  crc: number;
  have: number;
}

class MorselAgent implements FrameHandler {
  private p: AgentPlatform;
  private reader: SlipReader;
  private model: MorselModelHandle | null;
  private active: BlobMeta | null;
  private pending: BlobMeta | null;
  private lastPutMs: number;
  private telemetryMs: number;
  private lastTelemetryMs: number;
  private inferences: number;
  private inferencesAtLastTelemetry: number;
  private latencyUs: number[];
  private errFrame: number;
  private errRun: number;
  private errCommit: number;
  private errBoot: number;
  /** The provisioned key, null on a board installed without one (--insecure). */
  private key: number[] | null;
  /** A key file that exists but cannot be read: uploads are refused rather than accepted unauthenticated. */
  private keyDamaged: boolean;
  private nonce: string;
  private digest: (bytes: { [i: number]: number }, n: number) => number[];
  /** Workload mode (MSG_WORKLOAD): the input set the board cycles through, one inference every workloadMs. */
  private workloadMs: number;
  private workloadInputs: Int8Array[];
  private workloadNext: number;
  private workloadAt: number;

  constructor(platform: AgentPlatform) {
    this.p = platform;
    this.reader = new SlipReader(this);
    this.model = null;
    this.active = null;
    this.pending = null;
    this.lastPutMs = -QUIET_AFTER_PUT_MS;
    this.telemetryMs = 1000;
    this.lastTelemetryMs = platform.now();
    this.inferences = 0;
    this.inferencesAtLastTelemetry = 0;
    this.latencyUs = [];
    this.errFrame = 0;
    this.errRun = 0;
    this.errCommit = 0;
    this.errBoot = 0;
    var keyText = platform.readText(FILE_KEY);
    this.key = parseKeyHex(keyText);
    this.keyDamaged = keyText !== null && this.key === null;
    this.nonce = platform.readText(FILE_NONCE) || '';
    this.digest = platform.sha256 || sha256;
    this.workloadMs = 0;
    this.workloadInputs = [];
    this.workloadNext = 0;
    this.workloadAt = 0;
    if (this.authenticated() && !isLowerHex(this.nonce, 16)) this.rotateNonce();
    this.boot();
  }

  /** Bytes from the UART, as a binary string. */
  feed(data: string): void {
    this.reader.feed(data);
  }

  /** Called periodically by the adapter: runs the workload's due inferences, sends telemetry when due. */
  tick(): void {
    var now = this.p.now();
    if (this.workloadMs > 0 && now - this.lastPutMs >= QUIET_AFTER_PUT_MS) this.runWorkload(now);
    if (
      this.telemetryMs <= 0 ||
      now - this.lastTelemetryMs < this.telemetryMs ||
      now - this.lastPutMs < QUIET_AFTER_PUT_MS
    )
      return;
    var dt = (now - this.lastTelemetryMs) / 1000;
    var sorted = this.latencyUs.slice(0).sort(byNumber);
    this.sendJson(MSG_TELEMETRY, 0, {
      t: Math.round(now),
      n: this.inferences,
      ips: dt > 0 ? (this.inferences - this.inferencesAtLastTelemetry) / dt : 0,
      p50_us: percentile(sorted, 0.5),
      p95_us: percentile(sorted, 0.95),
      free: this.p.freeRam(),
      errors: { frame: this.errFrame, run: this.errRun, commit: this.errCommit, boot: this.errBoot },
    });
    this.lastTelemetryMs = now;
    this.inferencesAtLastTelemetry = this.inferences;
  }

  onBadFrame(): void {
    this.errFrame++;
  }

  onFrame(type: number, seq: number, payload: Uint8Array): void {
    try {
      this.dispatch(type, seq, payload);
    } catch (e) {
      // Out of memory or a storage failure: answer instead of leaving the host to time out.
      this.error(seq, 'INTERNAL', errorMessage(e));
    }
  }

  private dispatch(type: number, seq: number, payload: Uint8Array): void {
    if (type === MSG_PUT_DATA) this.putData(seq, payload);
    else if (type === MSG_RUN) this.run(seq, payload);
    else if (type === MSG_HELLO) this.sendJson(MSG_INFO, seq, this.info());
    else if (type === MSG_PUT_BEGIN) this.putBegin(seq, payload);
    else if (type === MSG_COMMIT) this.commit(seq, payload);
    else if (type === MSG_CONFIG) this.configure(seq, payload);
    else if (type === MSG_UNINSTALL) this.uninstall(seq, payload);
    else if (type === MSG_READ) this.read(seq, payload);
    else if (type === MSG_WORKLOAD) this.workload(seq, payload);
    else this.error(seq, 'TYPE', 'unknown message type ' + type);
  }

  private boot(): void {
    this.active = parseMeta(this.p.readText(FILE_ACTIVE));
    this.pending = parseMeta(this.p.readText(FILE_PENDING));
    if (this.pending && this.active && this.pending.slot === this.active.slot) {
      // Reset between writing the pointer and clearing the upload: the upload is the active model now.
      this.pending = null;
      this.p.erase(FILE_PENDING);
    }
    if (!this.active) return;
    var bytes = this.p.readBytes(this.active.slot);
    try {
      if (!bytes || bytes.length !== this.active.size)
        throw new Error('MRSL_E_TRUNCATED: stored model has the wrong size');
      this.model = Morsel.load(bytes);
    } catch (e) {
      this.errBoot++;
      this.model = null;
      this.log('error', 'boot: stored model rejected: ' + errorMessage(e));
    }
  }

  private info(): object {
    var a = this.active,
      q = this.pending;
    return {
      id: this.p.deviceId,
      engine: this.p.engine,
      runtime: Morsel.version,
      agent: AGENT_VERSION,
      free: this.p.freeRam(),
      max_payload: MAX_PAYLOAD,
      max_blob: this.p.maxBlobBytes,
      model:
        a && this.model
          ? { crc: a.crc, size: a.size, input: this.model.inputShape, output: this.model.outputShape }
          : null,
      pending: q ? { crc: q.crc, size: q.size, have: q.have } : null,
      auth: this.authenticated() ? { nonce: this.nonce } : null,
    };
  }

  private authenticated(): boolean {
    return this.key !== null || this.keyDamaged;
  }

  /** After every finished upload, so no tag made for an earlier one verifies again. */
  private rotateNonce(): void {
    this.nonce = newNonce();
    this.p.writeText(FILE_NONCE, this.nonce);
  }

  /** The HMAC this board expects for an upload of (size, crc) under its current nonce, then `tail`. */
  private expectedTag(label: string, size: number, crc: number, tail: number[]): number[] {
    return hmacSha256(this.key!, authMessage(label, this.p.deviceId, this.nonce, size, crc, tail), this.digest);
  }

  private putBegin(seq: number, payload: Uint8Array): void {
    var authed = this.authenticated();
    if (authed && payload.length !== 8 + TAG_BYTES)
      return this.error(seq, 'AUTH', 'this board takes only authenticated uploads (morsel flash --key FILE)');
    if (!authed && payload.length !== 8) return this.error(seq, 'BAD_PUT', 'PUT_BEGIN needs size and crc');
    var size = readU32(payload, 0),
      crc = readU32(payload, 4);
    if (this.keyDamaged) return this.error(seq, 'AUTH', 'the key file on this board is damaged: reinstall the agent');
    // Checked before anything changes: an unauthorized PUT_BEGIN leaves a pending upload as it was.
    if (authed && !tagMatches(payload, 8, this.expectedTag('morsel-put-v1', size, crc, [])))
      return this.error(seq, 'AUTH', "upload not authorized: the tag does not verify with this board's key");
    if (size < 1 || size > this.p.maxBlobBytes)
      return this.error(seq, 'TOO_BIG', 'blob of ' + size + ' bytes; this device holds at most ' + this.p.maxBlobBytes);
    this.lastPutMs = this.p.now();
    var q = this.pending;
    if (!q || q.size !== size || q.crc !== crc) {
      var slot = this.active && this.active.slot === FILE_SLOT_A ? FILE_SLOT_B : FILE_SLOT_A;
      this.p.erase(slot);
      q = { slot: slot, size: size, crc: crc, have: 0 };
      this.pending = q;
      this.p.writeText(FILE_PENDING, JSON.stringify(q));
    }
    this.sendAck(seq, q.have);
  }

  private putData(seq: number, payload: Uint8Array): void {
    var q = this.pending;
    if (!q || payload.length < 5) return this.error(seq, 'NO_PUT', 'PUT_DATA without PUT_BEGIN');
    this.lastPutMs = this.p.now();
    var offset = readU32(payload, 0);
    var n = payload.length - 5;
    if (offset === q.have && offset + n <= q.size && n > 0) {
      this.p.writeBytes(q.slot, payload.subarray(5), offset, q.size);
      q.have += n;
    }
    // Only the window's last frame asks for an answer, so the device never talks while the host writes.
    if (payload[4] === 1) {
      this.p.writeText(FILE_PENDING, JSON.stringify(q));
      this.sendAck(seq, q.have);
    }
  }

  private commit(seq: number, payload: Uint8Array): void {
    var q = this.pending;
    var authed = this.authenticated();
    if (authed && payload.length !== TAG_BYTES)
      return this.error(seq, 'AUTH', 'this board takes only authenticated commits (morsel flash --key FILE)');
    if (!q) return this.error(seq, 'NO_PUT', 'nothing uploaded to commit');
    if (q.have !== q.size) return this.error(seq, 'INCOMPLETE', 'have ' + q.have + ' of ' + q.size + ' bytes');
    var t0 = this.p.now();
    var bytes = this.p.readBytes(q.slot);
    var m: MorselModelHandle | null = null;
    var why = '';
    if (!bytes || bytes.length !== q.size) why = 'STORAGE: stored upload has the wrong size';
    else if (crc32Skipping(bytes, q.size, q.size) !== q.crc) why = 'CRC: uploaded bytes do not match the announced CRC';
    else if (
      authed &&
      !tagMatches(payload, 0, this.expectedTag('morsel-commit-v1', q.size, q.crc, this.digest(bytes, q.size)))
    ) {
      // The upload stays pending (the bytes are intact): only a tag made with the key commits it.
      this.errCommit++;
      return this.error(seq, 'AUTH', "commit not authorized: the tag does not verify with this board's key");
    } else {
      try {
        m = Morsel.load(bytes!);
      } catch (e) {
        why = 'LOAD: ' + errorMessage(e);
      }
    }
    if (!m) {
      this.errCommit++;
      this.pending = null;
      this.p.erase(FILE_PENDING);
      this.p.erase(q.slot);
      if (authed) this.rotateNonce();
      return this.error(seq, 'VERIFY', why);
    }
    var old = this.active;
    if (authed) this.rotateNonce(); // before the pointer: a reset in between costs a retry, never a replay
    this.active = { slot: q.slot, size: q.size, crc: q.crc, have: q.size };
    this.p.writeText(FILE_ACTIVE, JSON.stringify(this.active));
    this.model = m;
    this.pending = null;
    this.p.erase(FILE_PENDING);
    if (old && old.slot !== q.slot) this.p.erase(old.slot);
    this.latencyUs = [];
    this.stopWorkload(); // its inputs were the old model's
    this.lastPutMs = -QUIET_AFTER_PUT_MS; // the transfer is over: telemetry may flow again
    this.sendJson(MSG_COMMITTED, seq, { crc: q.crc, size: q.size, verify_ms: Math.round(this.p.now() - t0) });
  }

  private run(seq: number, payload: Uint8Array): void {
    var m = this.model;
    if (!m) {
      this.errRun++;
      return this.error(seq, 'NO_MODEL', 'no committed model');
    }
    var x = new Int8Array(payload.buffer, payload.byteOffset, payload.length);
    m.profile = true;
    var y: Int8Array;
    try {
      y = this.infer(m, x);
    } catch (e) {
      this.errRun++;
      return this.error(seq, 'RUN', errorMessage(e));
    }
    var out = byteList(y);
    var layers: number[] = [];
    for (var k = 0; k < m.layerMs.length; k++) layers.push(Math.round(m.layerMs[k] * 1000));
    this.sendJson(MSG_RESULT, seq, { y: out, layer_us: layers, total_us: this.latencyUs[this.latencyUs.length - 1] });
  }

  /** One inference, counted and timed for the telemetry. */
  private infer(m: MorselModelHandle, x: Int8Array): Int8Array {
    var t0 = this.p.now();
    var y = m.invoke(x);
    var us = Math.round((this.p.now() - t0) * 1000);
    this.inferences++;
    if (this.latencyUs.length >= LATENCY_RING) this.latencyUs.shift();
    this.latencyUs.push(us);
    return y;
  }

  /**
   * WORKLOAD period_ms u32, then whole model inputs (int8), then on a keyed board the tag: the board runs one
   * inference every period_ms on its own, cycling through the inputs, so telemetry shows a working board
   * without a host in the loop. period_ms 0 stops it. The inputs are copied once here: no allocation per run.
   */
  private workload(seq: number, payload: Uint8Array): void {
    var authed = this.authenticated();
    var end = payload.length - (authed ? TAG_BYTES : 0);
    if (this.keyDamaged) return this.error(seq, 'AUTH', 'the key file on this board is damaged: reinstall the agent');
    if (end < 4) return this.error(seq, authed ? 'AUTH' : 'BAD_WORKLOAD', 'WORKLOAD needs period_ms');
    var period = readU32(payload, 0);
    var n = end - 4;
    if (
      authed &&
      !tagMatches(
        payload,
        end,
        this.expectedTag('morsel-workload-v1', period, crc32Skipping(payload.subarray(4, end), n, n), []),
      )
    )
      return this.error(seq, 'AUTH', "workload not authorized: the tag does not verify with this board's key");
    if (period === 0) {
      this.stopWorkload();
      return this.sendJson(MSG_WORKLOAD_OK, seq, { period_ms: 0, inputs: 0 });
    }
    var m = this.model;
    if (!m) return this.error(seq, 'NO_MODEL', 'no committed model');
    var size = 1;
    for (var d = 0; d < m.inputShape.length; d++) size *= m.inputShape[d];
    if (n < size || n % size !== 0)
      return this.error(seq, 'BAD_WORKLOAD', n + ' input bytes are not whole inputs of ' + size + ' bytes');
    var copy = new Uint8Array(n);
    for (var i = 0; i < n; i++) copy[i] = payload[4 + i];
    var inputs: Int8Array[] = [];
    for (var k = 0; k < n / size; k++) inputs.push(new Int8Array(copy.buffer, copy.byteOffset + k * size, size));
    this.workloadInputs = inputs;
    this.workloadAt = 0;
    this.workloadMs = period;
    this.workloadNext = this.p.now();
    this.sendJson(MSG_WORKLOAD_OK, seq, { period_ms: period, inputs: inputs.length });
  }

  /**
   * The inferences due by `now`, as many as start within WORKLOAD_SLICE_MS: a board slower than the rate runs
   * one per tick (as fast as it can) and still reads its UART between them, with no backlog to repay.
   */
  private runWorkload(now: number): void {
    var m = this.model;
    if (m) m.profile = false; // RUN turns per-layer timing on; the workload measures whole inferences
    while (m && now >= this.workloadNext && this.p.now() - now < WORKLOAD_SLICE_MS) {
      try {
        this.infer(m, this.workloadInputs[this.workloadAt]);
      } catch (e) {
        this.errRun++;
      }
      this.workloadAt = (this.workloadAt + 1) % this.workloadInputs.length;
      this.workloadNext += this.workloadMs;
    }
    if (this.workloadNext < now) this.workloadNext = now; // behind: no backlog to repay
  }

  private stopWorkload(): void {
    this.workloadMs = 0;
    this.workloadInputs = [];
  }

  /**
   * READ offset u32, length u32 → DATA: bytes of the committed blob, so a host without a copy of the model can
   * read its quantization and names back (morsel run --port without a file). The bytes are the active slot's
   * as stored: the host checks them against INFO's CRC.
   */
  private read(seq: number, payload: Uint8Array): void {
    var a = this.active;
    if (!a || !this.model) return this.error(seq, 'NO_MODEL', 'no committed model');
    if (payload.length !== 8) return this.error(seq, 'BAD_READ', 'READ needs offset and length');
    var offset = readU32(payload, 0);
    var n = Math.min(readU32(payload, 4), MAX_PAYLOAD, a.size - offset);
    var bytes = this.p.readBytes(a.slot);
    if (!bytes || offset >= a.size || n < 1) return this.error(seq, 'BAD_READ', 'nothing at offset ' + offset);
    // Copied byte by byte: NodeMCU's stored blob is a flash reader indexed by number, with no subarray.
    var out = new Uint8Array(n);
    for (var i = 0; i < n; i++) out[i] = bytes[offset + i];
    this.p.write(encodeFrame(MSG_DATA, seq, out));
  }

  private configure(seq: number, payload: Uint8Array): void {
    var cfg: { telemetry_ms?: number };
    try {
      cfg = JSON.parse(bytesText(payload));
    } catch (e) {
      return this.error(seq, 'BAD_CONFIG', 'CONFIG payload is not JSON');
    }
    if (typeof cfg.telemetry_ms === 'number' && cfg.telemetry_ms >= 0) this.telemetryMs = cfg.telemetry_ms;
    this.sendJson(MSG_CONFIG_OK, seq, { telemetry_ms: this.telemetryMs });
  }

  /** Erases the agent's files, answers, then lets the platform remove the install and give the port back. */
  private uninstall(seq: number, payload: Uint8Array): void {
    var remove = this.p.uninstall;
    if (!remove) return this.error(seq, 'TYPE', 'this board cannot uninstall the agent over the protocol');
    if (this.keyDamaged) return this.error(seq, 'AUTH', 'the key file on this board is damaged: reinstall the agent');
    if (this.authenticated() && !tagMatches(payload, 0, this.expectedTag('morsel-uninstall-v1', 0, 0, [])))
      return this.error(seq, 'AUTH', "uninstall not authorized: the tag does not verify with this board's key");
    var files = [FILE_SLOT_A, FILE_SLOT_B, FILE_ACTIVE, FILE_PENDING, FILE_KEY, FILE_NONCE];
    for (var i = 0; i < files.length; i++) this.p.erase(files[i]);
    this.model = null;
    this.stopWorkload();
    this.sendJson(MSG_UNINSTALLED, seq, { erased: files.length });
    remove();
  }

  private sendAck(seq: number, have: number): void {
    var b = new Uint8Array(4);
    putU32(b, 0, have);
    this.p.write(encodeFrame(MSG_PUT_ACK, seq, b));
  }

  private sendJson(type: number, seq: number, value: object): void {
    this.p.write(encodeFrame(type, seq, textBytes(JSON.stringify(value))));
  }

  private error(seq: number, code: string, message: string): void {
    this.sendJson(MSG_ERROR, seq, { code: code, message: message });
  }

  private log(level: string, message: string): void {
    this.sendJson(MSG_LOG, 0, { level: level, message: message });
  }
}

function parseMeta(text: string | null): BlobMeta | null {
  if (!text) return null;
  try {
    var m = JSON.parse(text);
    return m && (m.slot === FILE_SLOT_A || m.slot === FILE_SLOT_B) && m.size > 0 ? m : null;
  } catch (e) {
    return null;
  }
}

function byNumber(a: number, b: number): number {
  return a - b;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0; // not `!sorted.length`: in the Lua build 0 is true
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function bytesText(b: Uint8Array): string {
  var s = '';
  for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** bytes[0, n) as a Uint8Array for a native hash: the array itself when it is one, else a copy. */
function bytesOf(bytes: { [i: number]: number }, n: number): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes.length === n ? bytes : bytes.subarray(0, n);
  var u = new Uint8Array(n);
  for (var i = 0; i < n; i++) u[i] = bytes[i];
  return u;
}

/** A typed array's values as a plain array (for JSON and for hashing). */
function byteList(b: { length: number; [i: number]: number }): number[] {
  var out: number[] = [];
  for (var i = 0; i < b.length; i++) out.push(b[i]);
  return out;
}
