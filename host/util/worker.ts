// Worker threads for modules that run compiled (dist/*.js) or straight from TypeScript under tsx.

import { Worker, type WorkerOptions } from 'worker_threads';

/**
 * A worker thread running the module `file` (a __filename): the compiled .js directly, or a .ts file through
 * tsx's require hook, which a worker does not inherit from its parent.
 */
export function startWorker(file: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const ts = file.endsWith('.ts');
  const entry = ts ? `require('tsx/cjs'); require(${JSON.stringify(file)});` : file;
  return new Worker(entry, { ...options, eval: ts });
}
