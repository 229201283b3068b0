import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compileFile } from '../compile';
import { emitCHeader } from '../emit/c-header';
import { emitJsModule } from '../emit/js-module';
import { loadSamples } from '../data/dataset';
import { defaultBundlePath, ENGINES, runOnEngine } from '../engines';
import { runInt8 } from '../interp/int8/interpreter';
import { quantizeInput } from '../quantize/quantize';
import { writeFileAtomic } from '../util/fs';
import { parseCount } from './convert';
import { evaluate, formatEval } from './eval';
import { formatInspect, inspectModel } from './inspect';
import type { Command } from './main';

export const zooPath = (...parts: string[]) =>
  path.join(
    __dirname,
    '..',
    '..',
    ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []),
    'models',
    ...parts,
  );

export const demoCommand: Command = {
  summary: 'convert the zoo CNN (Fashion-MNIST) to an int8 blob, inspect it and compare float vs int8 accuracy',
  usage: 'morsel demo [--model fashion_cnn|fashion_mlp] [--out DIR] [--limit N]',
  options: { model: { type: 'string' }, out: { type: 'string' }, limit: { type: 'string' } },
  async run({ values }) {
    const name = (values.model as string | undefined) ?? 'fashion_cnn';
    const out = (values.out as string | undefined) ?? fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-demo-'));
    // Without --out the files go to a temporary folder, removed when the demo ends (or fails).
    try {
      const source = zooPath(name, 'model.json');
      console.log(
        `1. convert ${path.relative(process.cwd(), source)} (calibrating on 1,000 Fashion-MNIST training images)`,
      );
      const compiled = compileFile(source, { calib: 'fashion-mnist:train', calibCount: 1000 });
      fs.mkdirSync(out, { recursive: true });
      const msl = path.join(out, `${name}.msl`);
      writeFileAtomic(msl, compiled.blob);
      writeFileAtomic(path.join(out, `${name}.h`), emitCHeader(compiled.blob, name));
      writeFileAtomic(path.join(out, `${name}.js`), emitJsModule(compiled.blob, name));
      console.log(
        `   wrote ${msl} (+ .h, .js)${values.out === undefined ? ', removed at the end (keep them with --out DIR)' : ''}\n`,
      );
      console.log('2. inspect\n');
      console.log(formatInspect(inspectModel(compiled.model, compiled.blob.length)));
      console.log('\n3. evaluate on the Fashion-MNIST test set\n');
      const limit = values.limit === undefined ? undefined : parseCount('--limit', values.limit, 0);
      console.log(formatEval(evaluate(compiled.source, compiled.model, 'fashion-mnist', limit)));
      console.log('\n4. run the device runtime (dist/device/morsel.es5.js) in embedded engines on 20 test images\n');
      if (!fs.existsSync(defaultBundlePath())) {
        console.log('   device bundle not built: run `npm run build:device`');
        return 0;
      }
      const xs = loadSamples('fashion-mnist', { split: 'test', limit: 20, size: 784 }).inputs.map((x) =>
        quantizeInput(compiled.model, x),
      );
      const ref = xs.map((x) => Buffer.from(runInt8(compiled.model, [x])[0]).toString('hex'));
      for (const engine of ENGINES) {
        const r = await runOnEngine(engine, compiled.blob, xs);
        const same = r.outputs.filter((y, i) => Buffer.from(y).toString('hex') === ref[i]).length;
        console.log(
          `   ${engine.padEnd(8)} ${same}/${xs.length} outputs byte-identical to the host int8 reference, ${(r.totalMs / xs.length).toFixed(1)} ms/inference`,
        );
      }
      return 0;
    } finally {
      if (values.out === undefined) fs.rmSync(out, { recursive: true, force: true });
    }
  },
};
