// Differential check of the one verifier (host/blob/verify.ts): blobs made by field-level mutations of valid models
// (one field of the decoded model changed, then re-encoded, so the CRC is valid and the FlatBuffer well formed).
// The host (verifyBlob, then the int8 reference) and every engine must agree on accept/reject and, where they
// accept, on every output byte. Used by test/verify.test.ts and tools/fuzz-diff.ts.

import { encodeModel } from '../../host/blob/encode';
import { verifyBlob } from '../../host/blob/verify';
import { type Engine, evaluateInEngine } from '../../host/engines';
import { isLuaEngine, luaBytes } from '../../host/engines/lua';
import { runInt8 } from '../../host/interp/int8/interpreter';
import { OpCode, type OpCodeName, type QModel } from '../../host/ir/qmodel';
import { planMemory } from '../../host/plan/planner';
import { Rng } from '../../host/util/rng';
import { randomQModel } from './random-qmodel';
import { tinyFcModel } from './tiny-models';

/** Input value i of every run (host and engines compute it alike): the byte (37·i + 139) mod 256 as int8. */
const inputByte = (i: number) => (37 * i + 139) % 256;

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** A valid planned model to mutate: the tiny FC model or a random small graph (conv, pool, broadcast ops, ...). */
export function baseModel(rng: Rng): QModel {
  const m = rng.next() < 0.2 ? tinyFcModel(rng) : randomQModel(rng).model;
  planMemory(m);
  return m;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A value near `v` or at a boundary the format or the kernels care about. */
function nearby(v: number, rng: Rng): number {
  return rng.pick([
    0,
    -1,
    1,
    v + 1,
    v - 1,
    v * 2,
    -v,
    INT32_MAX,
    INT32_MIN,
    31,
    -32,
    128,
    -129,
    256,
    rng.int(-300, 300),
  ]);
}

/** The model with one field changed, and what changed. */
export function mutateField(base: QModel, rng: Rng): { model: QModel; what: string } {
  const m = structuredClone(base);
  const nT = m.tensors.length;
  const anyTensor = () => rng.int(0, nT - 1);
  const index = (v: number) => rng.pick([-1, nT, anyTensor(), anyTensor(), v + 1, INT32_MAX]);
  const kind = rng.int(0, 9);
  if (kind === 0) {
    const t = m.tensors[anyTensor()];
    if (t.shape.length === 0) return { model: m, what: 'nothing' };
    const d = rng.int(0, t.shape.length - 1);
    // Not INT32_MAX on a constant: the encoder's weight packing would try to allocate it (and no blob results).
    const huge = t.data ? 4096 : INT32_MAX;
    t.shape[d] = rng.pick([0, -1, 1, t.shape[d] + 1, t.shape[d] - 1, t.shape[d] * 2, huge, rng.int(1, 64)]);
    return { model: m, what: `tensor ${t.name} shape[${d}] = ${t.shape[d]}` };
  }
  if (kind === 1) {
    const acts = m.tensors.filter((t) => !t.data);
    const t = rng.pick(acts);
    t.arenaOffset = rng.pick([-1, 0, rng.pick(acts).arenaOffset, t.arenaOffset + 1, t.arenaOffset - 4, m.arenaBytes]);
    return { model: m, what: `tensor ${t.name} arena offset ${t.arenaOffset}` };
  }
  if (kind === 2) {
    const t = m.tensors[anyTensor()];
    if (t.zeroPoint.length === 0) return { model: m, what: 'nothing' };
    t.zeroPoint[0] = nearby(t.zeroPoint[0], rng);
    return { model: m, what: `tensor ${t.name} zero point ${t.zeroPoint[0]}` };
  }
  if (kind === 3) {
    const consts = m.tensors.filter((t) => t.data && t.data.length > 0);
    if (consts.length === 0) return { model: m, what: 'nothing' };
    const t = rng.pick(consts);
    const i = rng.int(0, t.data!.length - 1);
    if (rng.next() < 0.3) t.data = t.data!.slice(0, i);
    else t.data![i] = t.type === 'int32' ? rng.pick([INT32_MAX, INT32_MIN, nearby(t.data![i], rng)]) : -128;
    return { model: m, what: `tensor ${t.name} data[${i}] (length ${t.data!.length})` };
  }
  const op = rng.pick(m.ops);
  if (kind === 4) {
    (op as { opcode: string }).opcode = rng.pick(Object.keys(OpCode) as OpCodeName[]);
    return { model: m, what: `op ${op.name} opcode ${op.opcode}` };
  }
  if (kind === 5) {
    const list = rng.next() < 0.6 ? op.inputs : op.outputs;
    const k = rng.int(0, list.length - 1);
    list[k] = index(list[k]);
    return { model: m, what: `op ${op.name} tensor list [${list}]` };
  }
  if (kind === 6 && op.options) {
    const options = op.options as unknown as Record<string, unknown>;
    const key = rng.pick(Object.keys(options));
    const v = options[key];
    if (Array.isArray(v) && v.length > 0) {
      const i = rng.int(0, v.length - 1);
      v[i] = nearby(v[i], rng);
    } else if (typeof v === 'number') options[key] = nearby(v, rng);
    return { model: m, what: `op ${op.name} option ${key}` };
  }
  if (kind === 7 && m.ops.length > 1) {
    const i = rng.int(0, m.ops.length - 2);
    [m.ops[i], m.ops[i + 1]] = [m.ops[i + 1], m.ops[i]];
    return { model: m, what: `ops ${i} and ${i + 1} swapped` };
  }
  if (kind === 8) {
    m.outputs[0] = index(m.outputs[0]);
    if (rng.next() < 0.5) [m.inputs[0], m.outputs[0]] = [m.outputs[0], m.inputs[0]];
    return { model: m, what: `model io ${m.inputs} → ${m.outputs}` };
  }
  m.arenaBytes = rng.pick([0, m.arenaBytes - 1, m.arenaBytes + 1, 16777217, INT32_MAX]);
  return { model: m, what: `arena ${m.arenaBytes}` };
}

/** The host's verdict: 'ok:<output hex>' or the refusal / error message. */
export function hostVerdict(bytes: Uint8Array): string {
  let model: QModel;
  try {
    model = verifyBlob(bytes);
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
  const n = numel(model.tensors[model.inputs[0]].shape);
  const x = Int8Array.from({ length: n }, (_, i) => inputByte(i));
  return `ok:${Buffer.from(runInt8(model, [x])[0].buffer).toString('hex')}`;
}

/**
 * Blobs per engine run: the engines' guards against a runaway script are wall-clock limits (node's vm 120 s),
 * and 500 blobs in one node run passed 120 s at load 20, so a run holds at most this many.
 */
const BLOBS_PER_RUN = 100;

/** Each blob loaded in the engine and run on the same input: 'ok:<output hex>' or the error message. */
export async function engineVerdicts(engine: Engine, blobs: Uint8Array[]): Promise<string[]> {
  const verdicts: string[] = [];
  for (let i = 0; i < blobs.length; i += BLOBS_PER_RUN)
    verdicts.push(...(await engineRunVerdicts(engine, blobs.slice(i, i + BLOBS_PER_RUN))));
  return verdicts;
}

async function engineRunVerdicts(engine: Engine, blobs: Uint8Array[]): Promise<string[]> {
  const driver = isLuaEngine(engine)
    ? `
local out = {}
for _, blob in ipairs({${blobs.map(luaBytes).join(',')}}) do
  local ok, res = pcall(function()
    local m = Morsel.load(blob)
    local n, x = 1, {}
    for k = 1, #m.inputShape do n = n * m.inputShape[k] end
    for i = 0, n - 1 do x[i + 1] = string.char((37 * i + 139) % 256) end
    local y, h = m:invoke(table.concat(x)), {}
    for i = 1, #y do h[i] = string.format("%02x", y[i] % 256) end
    return 'ok:' .. table.concat(h)
  end)
  out[#out + 1] = ok and res or tostring(res)
end
for _, line in ipairs(out) do io.write('VERDICT ', (line:gsub('\\n', ' ')), '\\n') end`
    : `
var __blobs = ${JSON.stringify(blobs.map((b) => Buffer.from(b).toString('hex')))}, __out = [];
for (var __i = 0; __i < __blobs.length; __i++) {
  var __h = __blobs[__i], __b = new Uint8Array(__h.length / 2);
  for (var __j = 0; __j < __b.length; __j++) __b[__j] = parseInt(__h.substr(2 * __j, 2), 16);
  try {
    var __m = Morsel.load(__b), __n = 1;
    for (var __k = 0; __k < __m.inputShape.length; __k++) __n *= __m.inputShape[__k];
    var __x = new Int8Array(__n);
    for (var __p = 0; __p < __n; __p++) __x[__p] = (37 * __p + 139) % 256;
    var __y = __m.invoke(__x), __s = '';
    for (var __q = 0; __q < __y.length; __q++) { var __v = __y[__q] & 255; __s += (__v < 16 ? '0' : '') + __v.toString(16); }
    __out.push('ok:' + __s);
  } catch (__e) {
    __out.push(String(__e && __e.message).replace(/\\n/g, ' '));
  }
}
var __res = 'VERDICT ' + __out.join('\\nVERDICT ');`;
  const text = await evaluateInEngine(engine, driver, {});
  const verdicts = text
    .split('\n')
    .filter((l) => l.startsWith('VERDICT '))
    .map((l) => l.slice('VERDICT '.length));
  if (verdicts.length !== blobs.length)
    throw new Error(`${engine} gave ${verdicts.length} verdicts for ${blobs.length}`);
  return verdicts;
}

export interface Disagreement {
  what: string;
  engine: Engine;
  host: string;
  device: string;
}

/** Whether two verdicts agree: both refuse, or both accept with the same output. */
export const agree = (host: string, device: string) =>
  host.startsWith('ok:') || device.startsWith('ok:') ? host === device : true;

/**
 * `count` field-level mutants from seed `seed`, checked on `engines`: the disagreements, how many mutants were
 * encoded (the encoder refuses some values outright: nothing is produced to disagree about) and how many the host
 * accepted.
 */
export async function differentialFuzz(
  engines: readonly Engine[],
  count: number,
  seed: number,
): Promise<{ disagreements: Disagreement[]; encoded: number; accepted: number }> {
  const rng = new Rng(seed);
  const blobs: Uint8Array[] = [],
    whats: string[] = [];
  let base = baseModel(rng);
  for (let i = 0; i < count; i++) {
    if (i % 20 === 0) base = baseModel(rng);
    const { model, what } = mutateField(base, rng);
    try {
      blobs.push(encodeModel(model));
      whats.push(what);
    } catch {
      // the encoder refused the value (a float where an int goes, a number out of its field's range)
    }
  }
  const host = blobs.map(hostVerdict);
  const disagreements: Disagreement[] = [];
  for (const engine of engines) {
    const device = await engineVerdicts(engine, blobs);
    device.forEach((d, i) => {
      if (!agree(host[i], d)) disagreements.push({ what: whats[i], engine, host: host[i], device: d });
    });
  }
  return { disagreements, encoded: blobs.length, accepted: host.filter((h) => h.startsWith('ok:')).length };
}
