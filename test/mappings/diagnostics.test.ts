// did-you-mean: the suggestion an analyst gets for a misspelt key, table, field or code.
import { describe, expect, it } from 'vitest';
import { didYouMean } from '../../src/mappings/diagnostics.js';

describe('didYouMean', () => {
  it('suggests the closest known name for typos: a wrong, missing or extra letter, or two letters swapped', () => {
    const keys = ['table', 'trim', 'case', 'default', 'required', 'when'];
    expect(didYouMean('tabel', keys)).toBe('table'); // swapped: one edit, not two
    expect(didYouMean('tables', keys)).toBe('table');
    expect(didYouMean('requird', keys)).toBe('required');
    expect(didYouMean('reqiured', keys)).toBe('required');
    expect(didYouMean('Wehn', keys)).toBe('when');
    expect(didYouMean('milestone', ['status.milestone', 'occurredAt'])).toBeUndefined();
  });

  it('says nothing when no name is close', () => {
    expect(didYouMean('carrier', ['table', 'trim'])).toBeUndefined();
    expect(didYouMean('x', [])).toBeUndefined();
  });
});
