// Shared by the mapping tests: X12 text -> loop trees (as translate.ts gets them), and small fixtures.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { X12Context } from '../../src/mappings/x12-adapter.js';
import type { Delimiters, TransactionSet } from '../../src/translators/x12/model.js';
import { readX12Sync } from '../../src/translators/x12/reader.js';
import { validateTransaction } from '../../src/translators/x12/validate-transaction.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const fixture = (rel: string): string => `${repoRoot}fixtures/edi/${rel}`;

export interface Tx {
  tx: TransactionSet;
  ctx: X12Context;
  d: Delimiters;
  /** Validation issue codes (errors and warnings), to see what the validator thought of hand-written data. */
  issues: string[];
}

/** Every transaction of an X12 text, with its loop tree as translateX12 builds it. */
export function transactions(x12: string | Buffer): Tx[] {
  const out: Tx[] = [];
  for (const ev of readX12Sync(x12)) {
    if (ev.type !== 'transaction') continue;
    const tx = ev.transaction;
    const v = validateTransaction(tx, { tree: true });
    const root = v.tree!;
    const d = tx.interchange!.delimiters;
    out.push({ tx, ctx: { node: root, delimiters: d }, d, issues: v.issues.map((i) => i.code) });
  }
  return out;
}

export function fixtureTx(rel: string, index = 0): Tx {
  return transactions(readFileSync(fixture(rel)))[index];
}
