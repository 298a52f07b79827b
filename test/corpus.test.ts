// The shared corpus of real X12 files (../shared/corpus, beside the clone): the inspector must agree
// with EXPECTED.json on every file. Skipped when the corpus is not there.
import { describe, expect, it } from 'vitest';
import { checkCorpus } from '../src/cli/corpus-check.js';
import { corpusDir, hasCorpus } from './helpers/corpus.js';

describe.skipIf(!hasCorpus)('shared corpus', () => {
  it('agrees with EXPECTED.json on every file', async () => {
    const results = await checkCorpus(corpusDir);
    expect(results.length).toBeGreaterThanOrEqual(58);
    const failures = results.filter((r) => !r.ok).map((r) =>
      `${r.file}: expected ${r.expected.verdict}, got ${r.verdict} ${JSON.stringify(r.counts)} ${r.crashed ?? r.errors.join('; ')}`);
    expect(failures).toEqual([]);
  });
});
