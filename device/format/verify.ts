// Whole-model checks the kernels rely on, run once at load after every op is prepared (loadModel): op order, arena
// aliasing and overlap, and the work limit. What one op alone decides (its shapes, options, accumulator bounds,
// pool windows) its kernel's prepare checks. The host runs this same code before it writes, sends or reads a blob
// (host/blob/verify.ts runs the device runtime's load), so a blob is refused alike on both sides, with the same
// MRSL_E_* code.

import type { TensorInfo } from '../op';
import { floor } from '../platform/api';
import { IN_PLACE_DEAD_INPUT, IN_PLACE_OPCODES } from './layout';
import { fail, failOp } from './reader';

/** Most multiply-adds (and other per-output work) in one inference: beyond it a board would not answer. */
const MAX_WORK = 1073741824;

/** opIns/opOuts/opCodes: each op's tensors and opcode; works: its work per output value (OpContext.work). */
export function verifyModel(
  infos: TensorInfo[],
  opIns: number[][],
  opOuts: number[],
  opCodes: number[],
  works: number[],
  inT: number,
  outT: number,
): void {
  const n = opOuts.length,
    first: number[] = [],
    last: number[] = [],
    root: number[] = [];
  for (let t = 0; t < infos.length; t++) {
    first.push(t === inT ? -1 : n + 1);
    last.push(t === outT ? n : -1);
    root.push(t);
  }
  // An activation is read only after it is written (by an earlier op, or as the input), and written once. The
  // output of an op with in_place "view" in the schema may take its input's bytes, and so may one with "dead_input"
  // whose input (with everything sharing its bytes) is not read later (host/plan/planner.ts applies the same rule):
  // such tensors share a root.
  let work = 0;
  for (let k = 0; k < n; k++) {
    const ins = opIns[k],
      y = opOuts[k];
    for (let i = 0; i < ins.length; i++) {
      const t = ins[i];
      if (infos[t].bufferIndex >= 0) continue;
      if (first[t] >= k) failOp('ORDER', k, 'reads tensor ' + t + ' unwritten');
      if (k > last[t]) last[t] = k;
    }
    if (first[y] <= n) failOp('ORDER', k, 'rewrites tensor ' + y);
    first[y] = k;
  }
  // Aliases are decided once every read is known (the planner's rule looks at the whole graph).
  for (let k = 0; k < n; k++) {
    // The op's in_place rule: base-3 digit opCodes[k] of IN_PLACE_OPCODES (device/format/layout.ts).
    const x = opIns[k][0],
      y = opOuts[k],
      rule = floor(IN_PLACE_OPCODES / Math.pow(3, opCodes[k])) % 3;
    if (rule !== 0 && infos[x].arenaOffset === infos[y].arenaOffset && infos[x].count === infos[y].count) {
      let inPlace = true;
      if (rule === IN_PLACE_DEAD_INPUT)
        for (let t = 0; t < infos.length; t++) if (root[t] === root[x] && last[t] > k) inPlace = false;
      if (inPlace) root[y] = root[x];
    }
    work += infos[y].count * works[k];
  }
  if (first[outT] > n) fail('ORDER', 'output unwritten');
  if (work > MAX_WORK) fail('WORK', work + ' MACs');
  // Tensors of different roots live at once (a step in both's [write, last read]) never share an arena byte.
  for (let a = 0; a < infos.length; a++) {
    for (let b = a + 1; b < infos.length; b++) {
      const ia = infos[a],
        ib = infos[b];
      if (
        ia.bufferIndex < 0 &&
        ib.bufferIndex < 0 &&
        root[a] !== root[b] &&
        first[a] <= n &&
        first[b] <= n &&
        first[a] <= (last[b] > first[b] ? last[b] : first[b]) &&
        first[b] <= (last[a] > first[a] ? last[a] : first[a]) &&
        ia.arenaOffset < ib.arenaOffset + ib.count &&
        ib.arenaOffset < ia.arenaOffset + ia.count
      )
        fail('OVERLAP', 'tensors ' + a + ', ' + b);
    }
  }
}
