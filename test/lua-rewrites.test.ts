// The text rewrites tools/build-device.ts applies to typescript-to-lua's output (compactLua, numericForLoops,
// inlineConstants, joinContinuedLines), each on inputs built to trip it: the patterns inside strings and comments,
// nested loops, bodies that assign the limit or the counter, "-" before a negative number, ".." after a digit.
// Every rewritten chunk must print what the original prints, in Lua 5.1 and Lua 5.3.

import { strict as assert } from 'assert';
import { runLuaScript } from '../host/engines/lua';
import { compactLua, inlineConstants, joinContinuedLines, numericForLoops } from '../tools/build-device';

/** What a chunk prints in `engine` (run as a driver after an empty bundle). */
function printed(engine: 'lua' | 'lua5.1', chunk: string): string {
  return runLuaScript(engine, chunk, '/dev/null');
}

function samePrint(original: string, rewritten: string): void {
  for (const engine of ['lua', 'lua5.1'] as const)
    assert.equal(printed(engine, rewritten), printed(engine, original), `${engine}:\n${rewritten}`);
}

// Two header lines, as the runtime's chunk has (compactLua keeps the first two lines as they are).
const HEADER = '-- header one\n-- header two\n';

describe('Lua text rewrites of the device build (tools/build-device.ts)', function () {
  this.timeout(60000);

  it('compactLua squeezes spaces outside strings, keeps "- -", "1 ..", strings and the header', () => {
    const src = `${HEADER}
    -- a whole-line comment
    local a = 5
    local b = -3
    local s = "x = y -- not a comment , ( )"
    local t = 'it''s' .. "q\\"uote = 1"
    print(a - -b, a - b, 1 .. a, s, s .. 'z', #s, a % 3, a ~= b)

    print(t)
`.replace("'it''s'", "'it\\'s'");
    const out = compactLua(src);
    assert.ok(out.startsWith(HEADER), out);
    assert.ok(!out.includes('a whole-line comment'), out);
    assert.ok(out.includes('"x = y -- not a comment , ( )"'), out);
    assert.ok(out.includes('a - -b'), out);
    assert.ok(out.includes('1 ..'), out);
    assert.ok(out.includes('local a=5'), out);
    assert.ok(!/\n\s*\n/.test(out.slice(HEADER.length)), 'blank lines left');
    samePrint(src, out);
  });

  it('compactLua refuses long brackets, which it cannot parse', () => {
    assert.throws(() => compactLua(`${HEADER}local s = [[a = b]]\n`), /long brackets/);
  });

  it('numericForLoops turns counting loops into numeric fors, nested, with steps and <=, and only those', () => {
    const loop = (k: string, init: string, cond: string, body: string[], step = 1) => [
      'do',
      `local ${k}=${init}`,
      `while ${k}${cond} do`,
      ...body,
      `${k}=${k}+${step}`,
      'end',
      'end',
    ];
    const src = [
      ...HEADER.trim().split('\n'),
      'local n,m,s=5,3,0',
      ...loop('i', '0', '<n', [...loop('j', 'i', '<=m', ['s=s+i*j']), 'print("while i<n do",i)']),
      ...loop('k', '1', '<n*2-1', ['s=s+k'], 4),
      // The body assigns the limit: a while loop it must stay.
      ...loop('a', '0', '<n', ['n=n-1', 's=s+a']),
      // The body assigns the counter.
      ...loop('b', '0', '<m', ['b=b+1', 's=s+b']),
      // The step is not the last statement before the loop's end (a counter read after its increment).
      'print(s,n)',
    ].join('\n');
    const out = numericForLoops(src);
    assert.match(out, /^for i=0,n-1 do$/m);
    assert.match(out, /^for j=i,m do$/m);
    assert.match(out, /^for k=1,\(n\*2-1\)-1,4 do$/m);
    assert.match(out, /^while a<n do$/m);
    assert.match(out, /^while b<m do$/m);
    assert.ok(out.includes('print("while i<n do",i)'), out);
    samePrint(src, out);
  });

  it('inlineConstants replaces capitalised integer constants outside strings and property names, and drops them', () => {
    const ts = 'export const OpCode_ADD = 5;\nconst BIG_VALUE = 123456;\nconst NEG = -2;\nconst lower = 7;';
    const lua = [
      'OpCode_ADD = 5',
      'BIG_VALUE = 123456',
      'NEG = -2',
      'lower = 7',
      'local t = {OpCode_ADD = 1}',
      'print(OpCode_ADD, "OpCode_ADD", t.OpCode_ADD, NEG * 2, BIG_VALUE, lower, FLAG)',
    ].join('\n');
    const out = inlineConstants(lua, ts, /^([A-Za-z_]\w*) = (-?\d+)$/, 4, { FLAG: 'true' });
    assert.ok(!/^OpCode_ADD = 5$/m.test(out), out);
    assert.ok(!/^NEG = -2$/m.test(out), out);
    // Longer than 4 digits: kept as a variable. Lower case: not a constant.
    assert.match(out, /^BIG_VALUE = 123456$/m);
    assert.match(out, /^lower = 7$/m);
    assert.ok(out.includes('print(5, "OpCode_ADD", t.OpCode_ADD, (-2) * 2, BIG_VALUE, lower, true)'), out);
    samePrint(lua.replace('FLAG)', 'true)'), out);
  });

  it("joinContinuedLines joins a call's arguments and a table's items, not a comment ending in a comma", () => {
    const src = ['print(', '1,', '2', ')', '-- a comment,', 'local t = {', '3,', '4}', 'print(t[1] + t[2])'].join('\n');
    const out = joinContinuedLines(src);
    assert.deepEqual(out.split('\n'), ['print(1,2)', '-- a comment,', 'local t = {', '3,4}', 'print(t[1] + t[2])']);
    samePrint(src, out);
  });
});
