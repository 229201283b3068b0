import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compileFile } from '../compile';
import { emitCHeader } from '../emit/c-header';
import { emitJsModule } from '../emit/js-module';
import { writeFileAtomic } from '../util/fs';
import { parseCount } from './convert';
import { evaluate, formatEval } from './eval';
import { formatInspect, inspectModel } from './inspect';
import type { Command } from './main';

export const zooPath = (...parts: string[]) => path.join(__dirname, '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []), 'models', ...parts);

export const demoCommand: Command = {
  summary: 'convert the zoo CNN (Fashion-MNIST) to an int8 blob, inspect it and compare float vs int8 accuracy',
  usage: 'morsel demo [--model fashion_cnn|fashion_mlp] [--out DIR] [--limit N]',
  options: { model: { type: 'string' }, out: { type: 'string' }, limit: { type: 'string' } },
  async run({ values }) {
    const name = (values.model as string | undefined) ?? 'fashion_cnn';
    const out = (values.out as string | undefined) ?? fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-demo-'));
    const source = zooPath(name, 'model.json');
    console.log(`1. convert ${path.relative(process.cwd(), source)} (calibrating on 1,000 Fashion-MNIST training images)`);
    const compiled = compileFile(source, { calib: 'fashion-mnist:train', calibCount: 1000 });
    fs.mkdirSync(out, { recursive: true });
    const msl = path.join(out, `${name}.msl`);
    writeFileAtomic(msl, compiled.blob);
    writeFileAtomic(path.join(out, `${name}.h`), emitCHeader(compiled.blob, name));
    writeFileAtomic(path.join(out, `${name}.js`), emitJsModule(compiled.blob, name));
    console.log(`   wrote ${msl} (+ .h, .js)\n`);
    console.log('2. inspect\n');
    console.log(formatInspect(inspectModel(compiled.model, compiled.blob.length)));
    console.log('\n3. evaluate on the Fashion-MNIST test set\n');
    const limit = values.limit === undefined ? undefined : parseCount('--limit', values.limit, 0);
    console.log(formatEval(evaluate(compiled.source, compiled.model, 'fashion-mnist', limit)));
    return 0;
  },
};
