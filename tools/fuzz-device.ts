// `npm run fuzz:device [-- --count 100000] [--engine E]`: mutated blobs of a small FULLY_CONNECTED model and of a
// random small graph, on every engine (or one): each must be rejected with an MRSL_E_* error or run to the
// end, none may take 1 s or more. Runs in batches of 500 per engine process; prints one line per engine.

import { parseArgs } from 'util';
import { encodeModel } from '../host/blob/encode';
import { type Engine, ENGINES, fuzzReport } from '../host/engines';
import { mutateBlob } from '../host/engines/fuzz';
import { planMemory } from '../host/plan/planner';
import { Rng } from '../host/util/rng';
import { randomQModel } from '../test/helpers/random-qmodel';
import { tinyFcModel } from '../test/helpers/tiny-models';

const BATCH = 500;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '100000' },
      engine: { type: 'string' },
      seed: { type: 'string', default: '1' },
    },
  });
  const count = Number(values.count);
  const engines = (values.engine ? [values.engine] : ENGINES) as Engine[];
  const fc = tinyFcModel();
  planMemory(fc);
  const conv = randomQModel(new Rng(Number(values.seed))).model;
  planMemory(conv);
  const bases = [encodeModel(fc), encodeModel(conv)];
  let failed = false;
  for (const engine of engines) {
    const rng = new Rng(Number(values.seed) * 7919 + engine.length);
    const started = Date.now();
    let ok = 0,
      rejected = 0,
      unclear: string[] = [],
      slowest = 0;
    for (let done = 0; done < count; done += BATCH) {
      const blobs = Array.from({ length: Math.min(BATCH, count - done) }, (_, k) =>
        mutateBlob(bases[(done + k) % 2], done + k, rng),
      );
      const r = await fuzzReport(engine, blobs);
      for (const o of r.outcomes) {
        if (o === 'ok') ok++;
        else if (o.startsWith('MRSL_E_')) rejected++;
        else unclear.push(o);
      }
      slowest = Math.max(slowest, r.slowestMs);
    }
    const bad = unclear.length > 0 || slowest >= 1000;
    failed ||= bad;
    console.log(
      `${engine.padEnd(8)} ${count} blobs: ${ok} ran, ${rejected} rejected with MRSL_E_*, ${unclear.length} unclear${unclear.length ? ` (first: ${unclear[0]})` : ''}; slowest ${slowest.toFixed(1)} ms; ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
