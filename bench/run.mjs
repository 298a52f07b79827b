// Runs every benchmark in bench/ in turn (`npm run bench`). Arguments are passed on to each benchmark
// (e.g. `npm run bench -- --quick`). Exit code: the first failing benchmark's, else 0.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benchmarks = ['x12.mjs', 'translate.mjs', 'gateway.mjs', 'sftp.mjs', 'xml.mjs'];
const args = process.argv.slice(2);
let status = 0;
for (const b of benchmarks) {
  const file = fileURLToPath(new URL(b, import.meta.url));
  console.log(`\n=== bench/${b} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [file, ...args], { stdio: 'inherit' });
  const code = r.status ?? 1;
  if (code !== 0 && status === 0) status = code;
}
process.exit(status);
