// Arena planning: tensor lifetimes, in-place aliasing, and offset assignment. Like TFLite Micro's greedy
// planner, buffers are placed at the lowest offset that does not collide with any buffer alive at the same
// time; unlike it, several placement orders are tried (and all of them for small graphs) and the best kept,
// and reshapes and element-wise ops whose input dies there reuse the input's bytes.

import { bytesOf, IN_PLACE, type QModel } from '../ir/qmodel';

export const ARENA_ALIGN = 4;

/** One arena buffer: a tensor, or a group of tensors sharing bytes (in-place ops). */
export interface Buffer {
  tensors: number[];
  bytes: number;
  /** First and last op index (inclusive) during which the bytes must survive. */
  first: number;
  last: number;
  offset: number;
}

interface Plan {
  buffers: Buffer[];
  arenaBytes: number;
  /** max over op steps of the bytes that must be alive at once: no placement can beat it. */
  lowerBound: number;
}

const align = (n: number) => Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN;

/** Lifetimes of every activation (non-constant) tensor, with in-place tensors merged into one buffer. */
export function buffersOf(model: QModel): Buffer[] {
  const n = model.tensors.length;
  const first = new Array<number>(n).fill(Infinity);
  const last = new Array<number>(n).fill(-Infinity);
  const isActivation = (i: number) => !model.tensors[i].data;
  for (const i of model.inputs) first[i] = 0;
  model.ops.forEach((op, step) => {
    for (const i of op.outputs) first[i] = Math.min(first[i], step);
    for (const i of op.inputs) last[i] = Math.max(last[i], step);
  });
  for (const i of model.outputs) last[i] = model.ops.length;
  // Union-find over tensors that may share storage.
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const groupLast = (root: number) =>
    Math.max(
      ...parent
        .map((_, i) => i)
        .filter((i) => find(i) === root)
        .map((i) => last[i]),
    );
  model.ops.forEach((op, step) => {
    const [x] = op.inputs;
    const [y] = op.outputs;
    if (x === undefined || y === undefined || !isActivation(x)) return;
    if (bytesOf(model.tensors[x]) !== bytesOf(model.tensors[y])) return;
    // The schema's in_place rule (the device's verifier applies the same one): a "view" (a reshape) leaves the bytes
    // unchanged, so its output may alias its input even while the input lives on; a "dead_input" op (an element-wise
    // table lookup) may overwrite its input only when nothing sharing those bytes is read later.
    const rule = IN_PLACE[op.opcode];
    if (rule === 'view' || (rule === 'dead_input' && groupLast(find(x)) === step)) parent[find(y)] = find(x);
  });
  const groups = new Map<number, Buffer>();
  for (let i = 0; i < n; i++) {
    if (!isActivation(i) || first[i] === Infinity) continue;
    const root = find(i);
    const g = groups.get(root) ?? { tensors: [], bytes: 0, first: Infinity, last: -Infinity, offset: -1 };
    g.tensors.push(i);
    g.bytes = Math.max(g.bytes, align(bytesOf(model.tensors[i])));
    g.first = Math.min(g.first, first[i]);
    g.last = Math.max(g.last, last[i] === -Infinity ? first[i] : last[i]);
    groups.set(root, g);
  }
  return [...groups.values()];
}

const overlapsInTime = (a: Buffer, b: Buffer) => a.first <= b.last && b.first <= a.last;

/** First-fit: each buffer in `order` goes to the lowest offset free of every time-overlapping placed buffer. */
function placeInOrder(buffers: Buffer[], order: number[]): { offsets: number[]; arena: number } {
  const offsets = new Array<number>(buffers.length).fill(-1);
  const placed: number[] = [];
  let arena = 0;
  for (const i of order) {
    const b = buffers[i];
    const busy = placed
      .filter((j) => overlapsInTime(b, buffers[j]))
      .map((j) => [offsets[j], offsets[j] + buffers[j].bytes] as const)
      .sort((p, q) => p[0] - q[0]);
    let offset = 0;
    for (const [lo, hi] of busy) {
      if (offset + b.bytes <= lo) break;
      offset = Math.max(offset, hi);
    }
    offsets[i] = offset;
    placed.push(i);
    arena = Math.max(arena, offset + b.bytes);
  }
  return { offsets, arena };
}

export function lowerBound(buffers: Buffer[], steps: number): number {
  let best = 0;
  for (let s = 0; s <= steps; s++) {
    best = Math.max(
      best,
      buffers.filter((b) => b.first <= s && s <= b.last).reduce((a, b) => a + b.bytes, 0),
    );
  }
  return best;
}

function* permutations(n: number): Generator<number[]> {
  const a = Array.from({ length: n }, (_, i) => i);
  const c = new Array<number>(n).fill(0);
  yield a.slice();
  for (let i = 0; i < n; ) {
    if (c[i] < i) {
      const j = i % 2 ? c[i] : 0;
      [a[j], a[i]] = [a[i], a[j]];
      yield a.slice();
      c[i]++;
      i = 0;
    } else c[i++] = 0;
  }
}

/**
 * When at most two buffers are ever alive together (a plain chain of layers), the conflict graph is a
 * forest: two-colour it, put one colour at offset 0 and the other flush with the bound. Optimal.
 */
function twoLevelPlacement(
  buffers: Buffer[],
  steps: number,
  bound: number,
): { offsets: number[]; arena: number } | undefined {
  for (let s = 0; s <= steps; s++) if (buffers.filter((b) => b.first <= s && s <= b.last).length > 2) return undefined;
  const colour = new Array<number>(buffers.length).fill(-1);
  for (let start = 0; start < buffers.length; start++) {
    if (colour[start] >= 0) continue;
    colour[start] = 0;
    const queue = [start];
    while (queue.length) {
      const i = queue.shift()!;
      buffers.forEach((b, j) => {
        if (j === i || !overlapsInTime(b, buffers[i])) return;
        if (colour[j] < 0) {
          colour[j] = 1 - colour[i];
          queue.push(j);
        }
      });
    }
  }
  const offsets = buffers.map((b, i) => (colour[i] === 0 ? 0 : bound - b.bytes));
  return { offsets, arena: bound };
}

const EXHAUSTIVE_LIMIT = 7;

function planBuffers(buffers: Buffer[], steps: number): Plan {
  const idx = buffers.map((_, i) => i);
  const bound = lowerBound(buffers, steps);
  const orders: number[][] = [
    idx.slice().sort((a, b) => buffers[b].bytes - buffers[a].bytes || buffers[a].first - buffers[b].first),
    idx.slice().sort((a, b) => buffers[a].first - buffers[b].first),
    idx
      .slice()
      .sort(
        (a, b) =>
          buffers[b].last - buffers[b].first - (buffers[a].last - buffers[a].first) ||
          buffers[b].bytes - buffers[a].bytes,
      ),
  ];
  let best = placeInOrder(buffers, orders[0]);
  const twoLevel = twoLevelPlacement(buffers, steps, bound);
  if (twoLevel && twoLevel.arena < best.arena) best = twoLevel;
  const consider = (order: number[]) => {
    if (best.arena === bound) return;
    const r = placeInOrder(buffers, order);
    if (r.arena < best.arena) best = r;
  };
  orders.slice(1).forEach(consider);
  if (best.arena > bound && buffers.length <= EXHAUSTIVE_LIMIT) {
    for (const p of permutations(buffers.length)) {
      consider(p);
      if (best.arena === bound) break;
    }
  }
  buffers.forEach((b, i) => (b.offset = best.offsets[i]));
  return { buffers, arenaBytes: best.arena, lowerBound: bound };
}

/** Assigns every activation tensor's arenaOffset and the model's arenaBytes. */
export function planMemory(model: QModel): Plan {
  const plan = planBuffers(buffersOf(model), model.ops.length);
  for (const t of model.tensors) if (!t.data) t.arenaOffset = -1;
  for (const b of plan.buffers) for (const t of b.tensors) model.tensors[t].arenaOffset = b.offset;
  model.arenaBytes = plan.arenaBytes;
  return plan;
}
