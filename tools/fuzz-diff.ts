// `npm run fuzz:diff [-- --count 20000] [--seed 1] [--start 0] [--engine E]`: the differential fuzz of the one
// verifier (test/helpers/differential.ts) at scale: field-level blob mutations, the host and every engine must agree
// on accept/reject and on every output byte. Batches of 500, each seeded by its own start, so `--start S --count N`
// runs mutations S..S+N-1 of the seed exactly as a whole run would: a run can be split across processes or resumed
// from the last batch it printed. Prints the totals and the first disagreements.

import { parseArgs } from 'util';
import { type Engine, ENGINES } from '../host/engines';
import { type Disagreement, differentialFuzz } from '../test/helpers/differential';

const BATCH = 500;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '20000' },
      seed: { type: 'string', default: '1' },
      start: { type: 'string', default: '0' },
      engine: { type: 'string' },
    },
  });
  const count = Number(values.count);
  const start = Number(values.start);
  if (!Number.isSafeInteger(start) || start < 0 || start % BATCH !== 0)
    throw new Error(`--start must be a multiple of ${BATCH}`);
  const engines = (values.engine ? [values.engine] : ENGINES) as Engine[];
  const started = Date.now();
  let encoded = 0,
    accepted = 0;
  const disagreements: Disagreement[] = [];
  for (let done = start; done < start + count; done += BATCH) {
    const n = Math.min(BATCH, start + count - done);
    const r = await differentialFuzz(engines, n, Number(values.seed) * 100003 + done);
    encoded += r.encoded;
    accepted += r.accepted;
    disagreements.push(...r.disagreements);
    console.error(
      `mutations ${done}..${done + n - 1}: ${accepted} accepted so far, ${disagreements.length} disagreements, ` +
        `${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    for (const d of r.disagreements) console.error(`  at ${done}: ${d.what} on ${d.engine}`);
  }
  console.log(
    `${count} mutations (${start}..${start + count - 1}, seed ${values.seed}), ${encoded} encoded blobs, ${accepted} accepted by the host (each run on ${engines.join(', ')}): ` +
      `${disagreements.length} disagreements; ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  for (const d of disagreements.slice(0, 10))
    console.log(`  ${d.what} on ${d.engine}: host ${d.host.slice(0, 120)} | device ${d.device.slice(0, 120)}`);
  return disagreements.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
