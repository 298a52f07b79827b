// The loop tree validateTransaction builds while placing segments (option `tree`) must be the tree that
// the innermost loop ids it reports (option `loops`) describe. The reference below derives a tree from
// those ids independently (it is how mappings got their trees before the validator built them), and the
// two are compared on every fixture, every corpus file and hand-made edge cases.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LoopInstance, TransactionSet } from '../../../src/translators/x12/model.js';
import { readX12Sync } from '../../../src/translators/x12/reader.js';
import { schemaForTransaction, type CompiledLoop, type CompiledSchema } from '../../../src/translators/x12/schema.js';
import { validateTransaction } from '../../../src/translators/x12/validate-transaction.js';
import { corpusDir, ediFiles, hasCorpus } from '../../helpers/corpus.js';
import { treeShape } from '../../helpers/loop-tree.js';
import { wrap4010 } from '../../helpers/x12.js';

/** Loop id -> its chain of loop ids from the outermost down, and its trigger segment. */
function loopChains(schema: CompiledSchema): Map<string, { chain: string[]; trigger: string }> {
  const info = new Map<string, { chain: string[]; trigger: string }>();
  const walk = (loop: CompiledLoop, chain: string[]) => {
    for (const child of loop.children) {
      if (!child.loop?.id) continue;
      const c = [...chain, child.loop.id];
      info.set(child.loop.id, { chain: c, trigger: child.segmentId });
      walk(child.loop, c);
    }
  };
  walk(schema.root, []);
  return info;
}

/** Reference: a tree from each segment's innermost loop id (null: heading/summary or unplaced). */
function treeFromLoopIds(tx: TransactionSet, loops: (string | null)[], schema: CompiledSchema | null): LoopInstance {
  const root: LoopInstance = { id: 'ST', trigger: 'ST', segments: [], children: [], parent: null };
  if (!schema) {
    root.segments = tx.segments;
    return root;
  }
  const info = loopChains(schema);
  const stack: LoopInstance[] = [];
  tx.segments.forEach((seg, i) => {
    const id = loops[i];
    const loop = id === null ? undefined : info.get(id);
    if (!loop) {
      stack.length = 0;
      root.segments.push(seg);
      return;
    }
    let keep = 0;
    while (keep < stack.length && keep < loop.chain.length && stack[keep].id === loop.chain[keep]) keep++;
    if (seg.id === loop.trigger && keep === loop.chain.length) keep--; // a repeated trigger starts a new instance
    stack.length = keep;
    for (let k = keep; k < loop.chain.length; k++) {
      const parent = stack[k - 1] ?? root;
      const node: LoopInstance = { id: loop.chain[k], trigger: info.get(loop.chain[k])!.trigger, segments: [], children: [], parent };
      parent.children.push(node);
      stack.push(node);
    }
    stack[stack.length - 1].segments.push(seg);
  });
  return root;
}

/** Compares both trees for every transaction of `x12`; returns how many transactions were compared. */
function compareTrees(x12: Buffer | string): number {
  let n = 0;
  for (const ev of readX12Sync(x12)) {
    if (ev.type !== 'transaction') continue;
    const tx = ev.transaction;
    const v = validateTransaction(tx, { loops: true, tree: true });
    let schema: CompiledSchema | null = null;
    try {
      schema = v.schemaChecked ? schemaForTransaction(tx) : null;
    } catch { /* no schema: flat */ }
    expect(treeShape(v.tree!), `${tx.setId} ${tx.control}`).toEqual(treeShape(treeFromLoopIds(tx, v.loops!, schema)));
    n++;
  }
  return n;
}

describe('loop tree built by validateTransaction', () => {
  it('matches the tree the loop ids describe on every fixture', () => {
    const files = ediFiles(new URL('../../../fixtures/edi/', import.meta.url).pathname);
    expect(files.length).toBeGreaterThan(40);
    let n = 0;
    for (const f of files) n += compareTrees(readFileSync(f));
    expect(n).toBeGreaterThan(40);
  });

  it.skipIf(!hasCorpus)('matches on every corpus file', () => {
    let n = 0;
    for (const f of ediFiles(corpusDir)) n += compareTrees(readFileSync(f));
    expect(n).toBeGreaterThan(50);
  });

  it('opens a new instance for a repeated trigger and nests loops', () => {
    const x12 = wrap4010('ST*214*0001', 'B10*PRO1*BOL1*SCAC', 'N1*SH*SHIPPER', 'N4*DENVER*CO', 'N1*CN*CONSIGNEE', 'N3*1 MAIN',
      'LX*1', 'AT7*X6*NS***20240128*2301*LT', 'MS1*DENVER*CO', 'AT7*X1*NS***20240129*0800*LT', 'LX*2', 'AT7*D1*NS***20240130*1000*LT', 'SE*13*0001');
    expect(compareTrees(x12)).toBe(1);
    const tx = [...readX12Sync(x12)].find((e) => e.type === 'transaction')!;
    const tree = validateTransaction((tx as { transaction: TransactionSet }).transaction, { tree: true }).tree!;
    const ids = (n: LoopInstance): unknown => ({ [n.trigger]: n.children.map(ids) });
    expect(ids(tree)).toEqual({ ST: [{ N1: [] }, { N1: [] }, { LX: [{ AT7: [] }, { AT7: [] }] }, { LX: [{ AT7: [] }] }] });
  });

  it('puts an unplaced segment in the root and ends the open instances', () => {
    const x12 = wrap4010('ST*214*0001', 'B10*PRO1*BOL1*SCAC', 'LX*1', 'AT7*X6*NS***20240128*2301*LT', 'ZZZ*1',
      'MS1*DENVER*CO', 'B10*PRO2', 'AT7*X1*NS***20240129*0800*LT', 'SE*9*0001');
    expect(compareTrees(x12)).toBe(1);
  });

  it('is flat for a transaction set without a schema', () => {
    const x12 = wrap4010('ST*850*0001', 'BEG*00*SA*PO1**20240101', 'SE*3*0001');
    expect(compareTrees(x12)).toBe(1);
  });
});
