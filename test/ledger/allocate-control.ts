// Child process for control-numbers.test.ts: allocates control numbers from one SQLite ledger and prints
// each allocation only after nextControlNumbers has returned (committed). The test kills some of these
// processes with SIGKILL at random moments.
// usage: node --import tsx test/ledger/allocate-control.ts <ledger.db> <partner> <rounds> <seed> [barrier]
// prints OPENING, READY (the ledger is open, migrations done), one line per allocation, DONE. With
// `barrier` it waits for a line on stdin after READY, so that all processes start allocating together.
import { writeSync } from 'node:fs';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import type { ControlKind } from '../../src/ledger/ledger.js';

const [path, partner, roundsArg, seedArg, barrier] = process.argv.slice(2);
let seed = Number(seedArg) >>> 0 || 1;
const random = () => {
  // xorshift32: reproducible from the seed the test prints.
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 2 ** 32;
};
const kinds: ControlKind[] = ['interchange', 'transaction'];

writeSync(1, 'OPENING\n');
const ledger = new SqliteLedger(path);
writeSync(1, 'READY\n');
if (barrier === 'barrier') {
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
}
for (let i = 0; i < Number(roundsArg); i++) {
  const kind = kinds[Math.floor(random() * kinds.length)];
  const count = 1 + Math.floor(random() * 3);
  const numbers = await ledger.nextControlNumbers(partner, kind, count);
  // One short write per allocation: a pipe write below PIPE_BUF is atomic, so a kill never splits a line.
  writeSync(1, `${kind} ${numbers.join(',')}\n`);
  // Some work between allocations, as a gateway has: lets the other processes take the write lock.
  if (random() < 0.5) await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 3)));
}
await ledger.close();
writeSync(1, 'DONE\n');
