#!/usr/bin/env -S node --max-semi-space-size=64 --no-allocation-site-pretenuring
// Thin launcher: the compiled CLI lives in dist/ (run `npm run build` first).
// --max-semi-space-size=64: translation allocates many short-lived objects; with 64 MB semi-spaces (the
// default is 16) the scavenger's share of a large file's translation falls by about a third, and the
// gateway's end-to-end rate rises by about a fifth (bench/gateway.mjs). `npm run serve|demo` pass the same
// flag; running `node bin/waybill.js` directly does not (add it, or NODE_OPTIONS=--max-semi-space-size=64).
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
