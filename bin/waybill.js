#!/usr/bin/env -S node --max-semi-space-size=32 --min-semi-space-size=32 --no-allocation-site-pretenuring
// Thin launcher: the compiled CLI lives in dist/ (run `npm run build` first).
// --max-semi-space-size=32: translation allocates many short-lived objects; semi-spaces larger than the
// default 16 MB cut the scavenger's share of a large file's translation by about a third, and raise the
// gateway's end-to-end rate by about a fifth (bench/gateway.mjs). Not 64: growing the young generation to
// 64 MB part-way through a file cost 200-250 ms of page faults on first touch (a 100,000-transaction
// translation took 2.4-2.7 s against 2.2-2.4 s with 32), and steady-state speed was the same.
// --min-semi-space-size=32: start at that size instead of growing from 1 MB. While it grows, the young
// generation is collected every few hundred transactions and objects still in flight are promoted to the
// old generation, to be collected there later: the same translation took 2.0-2.1 s against 2.1-2.4 s.
// `npm run serve|demo` pass the same flags; running `node bin/waybill.js` directly does not (add them;
// NODE_OPTIONS accepts only --max-semi-space-size).
// --no-allocation-site-pretenuring: with V8's default, a run of the gateway's translation (processFile)
// fell at random into a mode where objects were moved to the old generation early, and the main thread's
// scavenges took about 2.5 times as long (4 runs in 6, against 0 in 6 with the flag; translateX12 alone
// about 2.5% faster). It is not accepted in NODE_OPTIONS: pass it on the command line.
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('waybill: not built yet; run `npm run build` in the project folder first');
    process.exit(2);
  }
  throw err;
});
