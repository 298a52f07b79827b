// Worker threads that run one of our modules, from dist/ or from the TypeScript sources. Compiled, the
// module is the .js file next to its caller. From the sources (vitest, `tsx`), it is the .ts file, loaded
// by a small bootstrap that first registers tsx's loader inside the thread: Node 20 does not carry module
// hooks over into worker threads.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Starts module `name` (no extension), which sits next to the module whose import.meta.url is `callerUrl`. */
export function startModuleWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const script = new URL(`./${name}.ts`, callerUrl).href;
  // tsx's ESM register API (its import condition; require.resolve would give the CommonJS build), found
  // from this repository whatever the working directory.
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = pathToFileURL(join(dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(script)}); })
    .catch((err) => { setImmediate(() => { throw err; }); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
