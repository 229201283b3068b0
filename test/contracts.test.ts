// The host<->device contracts in schema/morsel.fbs: every file generated from it is current, the device raises
// exactly the error codes the schema documents, and the schema parser refuses what it does not understand.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { parseFbs } from '../host/blob/fbs';
import { ERROR_MEANINGS, type ErrorCode, OpCode, type OpCodeName, OPTIONS_TABLE } from '../host/ir/contract';
import { contractFiles, deviceReadmePath } from '../tools/gen-contracts';

// A typo'd opcode does not compile (tsc fails the build if this line has no error).
// @ts-expect-error: CONV2D is not an opcode
const typo: OpCodeName = 'CONV2D';

/** Every file under dir (recursively) whose name ends with one of exts. */
function sourcesUnder(dir: string, exts: string[]): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourcesUnder(p, exts);
    return exts.some((x) => e.name.endsWith(x)) ? [p] : [];
  });
}

describe('contracts (schema/morsel.fbs)', () => {
  it('every generated file is current (npm run gen:contracts)', () => {
    for (const f of contractFiles())
      assert.ok(fs.readFileSync(f.path, 'utf8') === f.text, `${f.path} is stale: run \`npm run gen:contracts\``);
  });

  it('the device raises exactly the error codes enum ErrorCode documents', () => {
    const device = path.join(path.dirname(deviceReadmePath()));
    const raised = new Set<string>();
    for (const file of sourcesUnder(device, ['.ts', '.lua'])) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b(?:fail|failOp)\(\s*'(\w+)'|MRSL_E_([A-Z]\w*)/g)) raised.add(m[1] ?? m[2]);
    }
    const documented = new Set(Object.keys(ERROR_MEANINGS));
    const undocumented = [...raised].filter((c) => !documented.has(c));
    assert.deepEqual(undocumented, [], 'codes the device raises that the schema does not list');
    const unused = [...documented].filter((c) => !raised.has(c));
    assert.deepEqual(unused, [], 'codes the schema lists that no device source raises');
    const readme = fs.readFileSync(deviceReadmePath(), 'utf8');
    for (const code of documented) assert.ok(readme.includes(`\`MRSL_E_${code as ErrorCode}\``), code);
  });

  it('opcodes carry their options table, and RESHAPE none', () => {
    assert.equal(typo, 'CONV2D');
    assert.equal(OPTIONS_TABLE.CONV_2D, 'Conv2DOptions');
    assert.equal(OPTIONS_TABLE.DEPTHWISE_CONV_2D, 'Conv2DOptions');
    assert.equal(OPTIONS_TABLE.RESHAPE, null);
    assert.equal(Object.keys(OPTIONS_TABLE).length, Object.keys(OpCode).length);
  });

  it('the schema parser reads doc comments and enum value attributes, and refuses undeclared attributes', () => {
    const schema = (attrs: string) => `
      attribute "marked";
      attribute "label";
      /// Colors.
      enum Color : ubyte {
        /// the first, with a comma, inside
        RED = 1 ${attrs},
        GREEN,  // an ordinary comment
        /// the last
        BLUE = 7
      }
      table T { c:Color = GREEN; }
      root_type T;`;
    const e = parseFbs(schema('(marked, label: "a b")')).enums.get('Color')!;
    assert.equal(e.doc, 'Colors.');
    assert.deepEqual(
      [...e.values],
      [
        ['RED', 1],
        ['GREEN', 2],
        ['BLUE', 7],
      ],
    );
    assert.deepEqual(e.valueInfo.get('RED'), {
      doc: 'the first, with a comma, inside',
      attributes: { marked: '', label: 'a b' },
    });
    assert.deepEqual(e.valueInfo.get('GREEN'), { doc: '', attributes: {} });
    assert.equal(e.valueInfo.get('BLUE')!.doc, 'the last');
    assert.throws(() => parseFbs(schema('(mraked)')), /attribute 'mraked' of Color.RED is not declared/);
  });
});
