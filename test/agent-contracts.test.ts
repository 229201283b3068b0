// The contracts the serial agent states beside the code it talks to, checked member for member so that neither side
// drifts (the agent is built as ES5 scripts, so it restates them instead of importing them):
// - the emulated board's host interface: EmulatorHost (device/agent/emulator.ts) and BoardHost
//   (host/serial/device-engine.ts, which leaves out freeRam: the engine measures it), and the firmware MQTT client's
//   face (device/agent/mqtt.ts) the host's emulated boards provide;
// - the runtime API: the agent's MorselModelHandle and `Morsel` (device/agent/platform.ts) against the runtime's
//   MorselModel and runtime() (device/runtime.ts).

import { strict as assert } from 'assert';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const FILES = {
  emulator: path.join(ROOT, 'device', 'agent', 'emulator.ts'),
  mqtt: path.join(ROOT, 'device', 'agent', 'mqtt.ts'),
  agentPlatform: path.join(ROOT, 'device', 'agent', 'platform.ts'),
  boardHost: path.join(ROOT, 'host', 'serial', 'device-engine.ts'),
  runtime: path.join(ROOT, 'device', 'runtime.ts'),
};

/** Each member of a declared interface or class (public ones), as `name[?]: type` in the checker's words. */
function members(program: ts.Program, file: string, name: string): Map<string, string> {
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file)!;
  const decl = sf.statements.find(
    (s): s is ts.InterfaceDeclaration | ts.ClassDeclaration =>
      (ts.isInterfaceDeclaration(s) || ts.isClassDeclaration(s)) && s.name?.text === name,
  );
  assert.ok(decl, `${name} is not declared in ${path.relative(ROOT, file)}`);
  const out = new Map<string, string>();
  for (const m of decl.members) {
    if (!m.name || !ts.isIdentifier(m.name) || ts.isConstructorDeclaration(m)) continue;
    if (ts.getCombinedModifierFlags(m as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected))
      continue;
    const symbol = checker.getSymbolAtLocation(m.name)!;
    const type = checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, m), m);
    const optional = (m as { questionToken?: ts.QuestionToken }).questionToken;
    out.set(m.name.text, `${optional ? '?' : ''}${type.replace(/\s+/g, ' ')}`);
  }
  return out;
}

describe('agent contracts restated beside their other side', () => {
  const program = ts.createProgram(Object.values(FILES), {
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    types: [],
    lib: ['lib.es2022.d.ts'],
    moduleResolution: ts.ModuleResolutionKind.Node10,
  });

  it('EmulatorHost (the agent) and BoardHost (the host) declare the same members, but freeRam', () => {
    const agent = members(program, FILES.emulator, 'EmulatorHost');
    const host = members(program, FILES.boardHost, 'BoardHost');
    assert.ok(agent.delete('freeRam'), 'EmulatorHost has freeRam');
    assert.deepEqual(Object.fromEntries(host), Object.fromEntries(agent));
  });

  it("the firmware MQTT client's face (FirmwareMqtt, FirmwareMqttOptions) is the same on both sides", () => {
    for (const name of ['FirmwareMqtt', 'FirmwareMqttOptions']) {
      const agent = members(program, FILES.mqtt, name);
      assert.ok(agent.size >= 4, name);
      assert.deepEqual(Object.fromEntries(members(program, FILES.boardHost, name)), Object.fromEntries(agent), name);
    }
  });

  it("the agent's MorselModelHandle is the runtime's MorselModel, member for member", () => {
    const handle = members(program, FILES.agentPlatform, 'MorselModelHandle');
    const model = members(program, FILES.runtime, 'MorselModel');
    assert.ok(handle.size >= 5);
    for (const [name, type] of handle) {
      assert.ok(model.has(name), `MorselModel has no ${name}`);
      // The agent names the JavaScript types of `any` members (invoke takes and returns Int8Array there).
      const runtimeType = model.get(name)!;
      if (!runtimeType.includes('any')) assert.equal(type, runtimeType, name);
    }
  });
});
