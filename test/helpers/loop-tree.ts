// A loop tree as plain data for comparing trees in tests: ids, triggers and segments (id@position),
// with each child's parent link checked on the way down.
import { expect } from 'vitest';
import type { LoopInstance } from '../../src/translators/x12/model.js';

export type TreeShape = { id: string; trigger: string; segments: string[]; children: TreeShape[] };

export function treeShape(node: LoopInstance): TreeShape {
  // Every slot filled (a replayed tree's arrays are made at their final size, then filled by index).
  expect(Object.keys(node.segments)).toHaveLength(node.segments.length);
  expect(Object.keys(node.children)).toHaveLength(node.children.length);
  return {
    id: node.id, trigger: node.trigger,
    segments: node.segments.map((s) => `${s.id}@${s.position}`),
    children: node.children.map((c) => {
      expect(c.parent).toBe(node);
      return treeShape(c);
    }),
  };
}
