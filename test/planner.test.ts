import { strict as assert } from 'assert';
import { IN_PLACE_OPCODES } from '../device/format/layout';
import { encodeModel } from '../host/blob/encode';
import { deviceRefusal } from '../host/blob/verify';
import { IN_PLACE, OpCode, OPTIONS_TABLE, type OpCodeName, type QModel, type QOp } from '../host/ir/qmodel';
import { ARENA_ALIGN, type Buffer, buffersOf, lowerBound, planMemory } from '../host/plan/planner';
import { Rng } from '../host/util/rng';
import { act } from './helpers/tiny-models';

/** Random DAG of element-wise and reshape ops over int8 activations (options are irrelevant to planning). */
function randomDag(rng: Rng, nOps: number): QModel {
  const tensors = [act('in', [1, rng.int(1, 64)])];
  const ops: QOp[] = [];
  for (let k = 0; k < nOps; k++) {
    const a = rng.int(0, tensors.length - 1);
    const kind = rng.pick(['ADD', 'LOGISTIC', 'RESHAPE', 'FULLY_CONNECTED'] as const);
    const size = kind === 'RESHAPE' || kind === 'LOGISTIC' ? tensors[a].shape[1] : rng.int(1, 64);
    tensors.push(act(`t${k}`, [1, size]));
    const out = tensors.length - 1;
    const inputs = kind === 'ADD' ? [a, rng.int(0, out - 1)] : [a];
    ops.push({ opcode: kind, inputs, outputs: [out], name: `op${k}`, options: null } as unknown as QOp);
  }
  const consumed = new Set(ops.flatMap((o) => o.inputs));
  const outputs = tensors.map((_, i) => i).filter((i) => i > 0 && !consumed.has(i));
  return { name: 'dag', producer: 'test', rounding: 'double', tensors, ops, inputs: [0], outputs, arenaBytes: 0 };
}

/** Optimal arena by brute force over every placement order (first-fit in offset order reaches any optimum). */
function bruteForceArena(buffers: Buffer[]): number {
  let best = Infinity;
  const offs = new Array<number>(buffers.length).fill(-1);
  const rec = (placed: number[], arena: number) => {
    if (arena >= best) return;
    if (placed.length === buffers.length) {
      best = arena;
      return;
    }
    for (let i = 0; i < buffers.length; i++) {
      if (offs[i] >= 0) continue;
      const b = buffers[i];
      const busy = placed
        .filter((j) => b.first <= buffers[j].last && buffers[j].first <= b.last)
        .map((j) => [offs[j], offs[j] + buffers[j].bytes])
        .sort((p, q) => p[0] - q[0]);
      let o = 0;
      for (const [lo, hi] of busy) {
        if (o + b.bytes <= lo) break;
        o = Math.max(o, hi);
      }
      offs[i] = o;
      rec([...placed, i], Math.max(arena, o + b.bytes));
      offs[i] = -1;
    }
  };
  rec([], 0);
  return best;
}

function assertValid(m: QModel, buffers: Buffer[]) {
  for (const b of buffers) {
    assert.equal(b.offset % ARENA_ALIGN, 0);
    assert.ok(b.offset + b.bytes <= m.arenaBytes);
    for (const c of buffers) {
      if (b === c || b.last < c.first || c.last < b.first) continue;
      assert.ok(b.offset + b.bytes <= c.offset || c.offset + c.bytes <= b.offset, 'live buffers overlap');
    }
  }
  for (const t of m.tensors) assert.ok(t.data || t.arenaOffset >= 0, `${t.name} unplaced`);
}

describe('memory planner', () => {
  it('reaches the max-live-bytes lower bound on chains', () => {
    const rng = new Rng(5);
    for (let k = 0; k < 50; k++) {
      const m = randomDag(rng, rng.int(1, 12));
      // Force a chain: each op reads the previous tensor.
      m.ops.forEach((op, i) => {
        op.inputs = op.inputs.map(() => i);
      });
      m.outputs = [m.tensors.length - 1];
      const plan = planMemory(m);
      assertValid(m, plan.buffers);
      assert.equal(m.arenaBytes, plan.lowerBound);
    }
  });

  it('equals the brute-force optimum on 300 random DAGs, and is never below the live-bytes bound', () => {
    const rng = new Rng(11);
    let atBound = 0;
    for (let k = 0; k < 300; k++) {
      const m = randomDag(rng, rng.int(1, 7));
      const plan = planMemory(m);
      assertValid(m, plan.buffers);
      const bound = lowerBound(buffersOf(m), m.ops.length);
      assert.ok(m.arenaBytes >= bound);
      if (plan.buffers.length <= 7) assert.equal(m.arenaBytes, bruteForceArena(plan.buffers), `dag ${k}`);
      if (m.arenaBytes === bound) atBound++;
    }
    assert.ok(atBound > 250, `${atBound}/300 at the live-bytes bound`);
  });

  it('lets a reshape share its input bytes and an element-wise op overwrite a dying input', () => {
    const m = randomDag(new Rng(1), 0);
    m.tensors = [act('x', [1, 16]), act('r', [4, 4]), act('y', [4, 4])];
    m.ops = [
      { opcode: 'RESHAPE', inputs: [0], outputs: [1], name: 'r', options: null },
      { opcode: 'LOGISTIC', inputs: [1], outputs: [2], name: 's', options: { table: [] } },
    ];
    m.outputs = [2];
    planMemory(m);
    assert.equal(m.tensors[1].arenaOffset, m.tensors[0].arenaOffset);
    assert.equal(m.tensors[2].arenaOffset, m.tensors[0].arenaOffset);
    assert.equal(m.arenaBytes, 16);
  });

  it("applies the schema's in_place rule exactly as the device verifier does, for every opcode", () => {
    const identity = Array.from({ length: 256 }, (_, i) => i - 128);
    /** x → op → y, then MAXIMUM(x, y) when x is read again after the op. */
    const model = (opcode: OpCodeName, xReadLater: boolean): QModel => {
      const m = randomDag(new Rng(1), 0);
      m.tensors = [act('x', [1, 16]), act('y', [1, 16])];
      const options = OPTIONS_TABLE[opcode] === 'LutOptions' ? { table: identity } : null;
      const inputs = opcode === 'MAXIMUM' ? [0, 0] : [0];
      m.ops = [{ opcode, inputs, outputs: [1], name: 'op', options } as QOp];
      m.outputs = [1];
      if (xReadLater) {
        m.tensors.push(act('z', [1, 16]));
        m.ops.push({ opcode: 'MAXIMUM', inputs: [0, 1], outputs: [2], name: 'max', options: null });
        m.outputs = [2];
      }
      return m;
    };
    // The device's generated digits (read as device/format/verify.ts reads them) name the host's rules, opcode for opcode.
    for (const [opcode, code] of Object.entries(OpCode)) {
      const digit = Math.floor(IN_PLACE_OPCODES / 3 ** code) % 3;
      assert.equal(digit, [undefined, 'view', 'dead_input'].indexOf(IN_PLACE[opcode as OpCodeName]), opcode);
    }
    const opcodes: OpCodeName[] = [...(Object.keys(IN_PLACE) as OpCodeName[]), 'MAXIMUM'];
    assert.ok(opcodes.length > 2);
    for (const opcode of opcodes) {
      for (const xReadLater of [false, true]) {
        const planned = model(opcode, xReadLater);
        planMemory(planned);
        const aliased = planned.tensors[1].arenaOffset === planned.tensors[0].arenaOffset;
        const rule = IN_PLACE[opcode];
        const want = rule === 'view' || (rule === 'dead_input' && !xReadLater);
        assert.equal(aliased, want, `${opcode}${xReadLater ? ', x read later' : ''}: the planner's alias`);
        assert.equal(deviceRefusal(encodeModel(planned)), undefined, `${opcode}: the device refuses the plan`);
        // The same op with its output forced onto its input's bytes: the device accepts exactly what the planner does.
        const forced = model(opcode, xReadLater);
        planMemory(forced);
        forced.tensors[1].arenaOffset = forced.tensors[0].arenaOffset;
        const refusal = deviceRefusal(encodeModel(forced));
        assert.equal(refusal === undefined, want, `${opcode}${xReadLater ? ', x read later' : ''}: ${refusal}`);
      }
    }
  });
});
