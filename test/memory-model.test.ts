// The RAM cost model (host/memory) against the real engines' own counters: Lua 5.1's collectgarbage("count")
// always; Espruino's process.memory() and JerryScript's heap statistics (through the port's runner) only when
// MORSEL_ESPRUINO / MORSEL_JERRY_PORT point at builds (else the test is reported pending as "not configured").
// A runtime change that moves the figures by more than 10% fails here: re-measure with
// `node dist/tools/measure-memory.js --write`.

import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { runInt8 } from '../host/interp/int8/interpreter';
import { compileTflite } from '../host/import/tflite/compile';
import type { QModel } from '../host/ir/qmodel';
import {
  findTarget,
  type MemoryPrediction,
  memoryWarnings,
  predictMemory,
  type TargetName,
} from '../host/memory/cost-model';
import { type MemoryRun, measureEspruino, measureJerry, measureLua, modelLuaRuntime } from '../host/memory/measure';
import { configuredPath } from './helpers/configured';
import { mlperfFile, randomInt8Inputs } from './helpers/tflite-mlperf';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'morsel.js');
const TOLERANCE = 0.1;

const zooBlob = (name: string) => new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl')));

/** The zoo's models by folder name, and the MLPerf Tiny ones by theirs. */
function subject(name: string): { blob: Uint8Array; model: QModel } {
  if (fs.existsSync(path.join(ROOT, 'models', name))) {
    const blob = zooBlob(name);
    return { blob, model: decodeModel(blob) };
  }
  return compileTflite(mlperfFile(`${name}.tflite`));
}

/** Each model measured: bit-exact, predicted within TOLERANCE; returns the predictions. */
function checkAgainstEngine(
  target: TargetName,
  models: string[],
  measure: (blob: Uint8Array, input: Int8Array) => MemoryRun,
): { name: string; run: MemoryRun }[] {
  const runs: { name: string; run: MemoryRun }[] = [];
  for (const name of models) {
    const { blob, model } = subject(name);
    const input = randomInt8Inputs(model, 1, 3)[0];
    const run = measure(blob, input);
    // Espruino: predicted for the measured build's bytes per variable (the target's is 14, a 64-bit build's 18).
    const predicted = predictMemory(model, blob.length, findTarget(target)!, run.blocksize);
    const expected = runInt8(model, [input])[0];
    assert.deepEqual(Array.from(run.output), Array.from(expected), `${name}: bit-exact on ${target}`);
    const error = predicted.total / run.after - 1;
    assert.ok(
      Math.abs(error) <= TOLERANCE,
      `${name} on ${target}: predicted ${predicted.total}, measured ${run.after} (${(100 * error).toFixed(1)}%)`,
    );
    assert.ok(Math.abs(predicted.runtime / run.base - 1) <= TOLERANCE, `${name}: runtime alone ${run.base}`);
    runs.push({ name, run });
  }
  return runs;
}

describe('RAM cost model against real engines', function () {
  this.timeout(600000);

  it('Lua 5.1 (NodeMCU, 100 KB): the MLPs, compressed CNN and AD01 run bit-exactly with 25% free, as predicted', () => {
    // Each with its own runtime bundle, as a NodeMCU board runs it (three bundles: dense FC, packed FC, packed CNN).
    const fits = ['fashion_mlp', 'fashion_mlp_compressed', 'fashion_cnn_compressed', 'ad01_int8'];
    const runs = checkAgainstEngine('nodemcu-esp32', fits, (b, x) => measureLua('lua5.1', b, x, modelLuaRuntime(b)));
    const capacity = findTarget('nodemcu-esp32')!.capacity;
    for (const { name, run } of runs)
      assert.ok(run.after <= 0.75 * capacity, `${name}: ${run.after} of ${capacity} bytes after load`);
  });

  it('Lua 5.1 (NodeMCU): the zoo CNN, which loads with less than 25% free, is predicted within 10% too', () => {
    checkAgainstEngine('nodemcu-esp32', ['fashion_cnn'], (b, x) => measureLua('lua5.1', b, x, modelLuaRuntime(b)));
  });

  it('Espruino (ESP32 pool, blob in Storage): within 10% of process.memory()', function () {
    const binary = configuredPath(this, 'MORSEL_ESPRUINO', '/path/to/espruino built with the ESP32 pool');
    checkAgainstEngine('espruino-esp32', ['fashion_cnn_compressed', 'fashion_mlp_compressed/distill'], (b, x) =>
      measureEspruino(binary, b, x),
    );
  });

  it('JerryScript (128 KB heap, blob mapped): within 10% of the heap statistics', function () {
    const runner = configuredPath(this, 'MORSEL_JERRY_PORT', '/path/to/morsel-jerry, device/ports/jerryscript');
    checkAgainstEngine('jerryscript-esp32', ['fashion_cnn', 'fashion_mlp_compressed'], (b, x) =>
      measureJerry(runner, b, x),
    );
  });
});

describe('morsel inspect --target', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const cnn = path.join(ROOT, 'models', 'fashion_cnn', 'model.msl');

  it('prints the prediction for each target, as JSON too', () => {
    for (const target of ['espruino-esp32', 'jerryscript-esp32', 'nodemcu-esp32'] as TargetName[]) {
      const r = run('inspect', cnn, '--target', target, '--json');
      assert.equal(r.status, 0, r.stderr);
      const memory = JSON.parse(r.stdout).memory as MemoryPrediction;
      const blob = zooBlob('fashion_cnn');
      assert.deepEqual(memory, predictMemory(decodeModel(blob), blob.length, findTarget(target)!));
      assert.equal(memory.total, memory.runtime + memory.model);
      assert.equal(memory.fits, memory.total <= memory.capacity);
    }
    const text = run('inspect', cnn, '--target', 'nodemcu-esp32');
    assert.match(text.stdout, /RAM on nodemcu-esp32: .* of 100\.0 KB \(\d+% free: too little for the load's peak\)/);
  });

  it('warns where a model will not fit, or leaves less than a quarter free for the load peak', () => {
    const cnn = zooBlob('fashion_cnn');
    assert.deepEqual(memoryWarnings(decodeModel(cnn), cnn.length, ['espruino-esp32', 'jerryscript-esp32']), []);
    const [lua] = memoryWarnings(decodeModel(cnn), cnn.length, ['nodemcu-esp32']);
    assert.match(lua, /^warning: the model leaves ~\d+% of RAM free on nodemcu-esp32 after load/);
    const kws = compileTflite(mlperfFile('kws_ref_model.tflite'));
    const [kwsLua] = memoryWarnings(kws.model, kws.blob.length, ['nodemcu-esp32']);
    assert.match(kwsLua, /^warning: the model needs ~1\d{2}\.\d KB of RAM on nodemcu-esp32, which has 100\.0 KB/);
    const resnet = compileTflite(mlperfFile('pretrainedResnet_quant.tflite'));
    const [jerry] = memoryWarnings(resnet.model, resnet.blob.length, ['jerryscript-esp32']);
    assert.match(jerry, /leaves ~\d+% of RAM free on jerryscript-esp32 after load/);
  });

  it('an unknown target is a usage error (exit 2, one line)', () => {
    const r = run('inspect', cnn, '--target', 'esp8266');
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^[^\n]*unknown --target esp8266/);
  });
});
