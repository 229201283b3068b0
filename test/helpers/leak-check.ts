// Mocha root hooks (loaded by .mocharc.js): when every test has run, no child process the tests started may still
// run and no handle they opened (socket, server, pty, interval) may be left open, so a test that leaks an emulator
// or a socat fails instead of keeping mocha alive (the suite runs without `--exit`). Ten seconds of grace first.

import { execFileSync } from 'child_process';

/**
 * esbuild's service process (esbuild's transform API starts it and unrefs it): it never keeps node alive and ends
 * with it, so it is not a leak.
 */
const DAEMONS = [/\/esbuild --service=/];

/** Live (not zombie) descendants of this process, as "pid command" lines, daemons aside. */
export function liveDescendants(): string[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  const mine = new Set([process.pid]);
  const found: string[] = [];
  for (let grew = true; grew; ) {
    grew = false;
    for (const [, pid, ppid, stat, args] of table) {
      if (mine.has(Number(ppid)) && !mine.has(Number(pid))) {
        mine.add(Number(pid));
        grew = true;
        if (!stat.startsWith('Z') && !args.startsWith('ps ') && !DAEMONS.some((d) => d.test(args)))
          found.push(`${pid} ${args.slice(0, 100)}`);
      }
    }
  }
  return found;
}

/** Handles open now beyond `baseline` (by kind: TCPSocketWrap, PipeWrap, Timeout, ...). */
function extraHandles(baseline: string[]): string[] {
  const extra = process.getActiveResourcesInfo();
  for (const kind of baseline) {
    const i = extra.indexOf(kind);
    if (i >= 0) extra.splice(i, 1);
  }
  return extra;
}

let baseline: string[] = [];

/** Leaked processes and handles, after waiting up to `ms` for those being ended to go (the wait's own timer aside). */
async function leaksAfter(ms: number): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const leaks = [
      ...liveDescendants().map((p) => `process ${p}`),
      ...extraHandles([...baseline, 'Timeout']).map((h) => `handle ${h}`),
    ];
    if (leaks.length === 0 || Date.now() >= until) return leaks;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const mochaHooks = {
  beforeAll() {
    baseline = process.getActiveResourcesInfo();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(20000);
    const leaks = await leaksAfter(10000);
    if (leaks.length > 0) throw new Error(`the tests left ${leaks.length} open:\n${leaks.join('\n')}`);
  },
};
