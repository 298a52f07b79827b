// Entry point of the `waybill` binary (bin/waybill.js imports the compiled form of this file).
import { main } from './program.js';

// Output piped into a reader that stops early (`waybill translate --help | head`): the pipe closing is
// the reader's choice, not an error of ours; stop quietly instead of dying with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv.slice(2));
