// Loop trees for mappings: a transaction's flat segment list -> nested loop instances, using the
// innermost loop id the validator assigned to each segment and the schema's loop hierarchy.
// Without a schema (an 850 mapped by a partner, say) the tree is flat: only segment paths work.

import type { CompiledLoop, CompiledSchema, CompiledSegment } from '../translators/x12/schema.js';
import type { Segment, TransactionSet } from '../translators/x12/model.js';
import type { LoopNode } from './x12-path.js';
import type { X12SchemaView } from './x12-adapter.js';

interface LoopInfo {
  parent: string | null;
  trigger: string;
  /** Loop ids from the outermost down to this one (computed once per schema, not per segment). */
  chain: string[];
}

const loopInfoCache = new WeakMap<CompiledSchema, Map<string, LoopInfo>>();

/** loop id -> parent loop id and trigger segment, for one schema. */
function loopInfo(schema: CompiledSchema): Map<string, LoopInfo> {
  let info = loopInfoCache.get(schema);
  if (info) return info;
  info = new Map();
  const walk = (loop: CompiledLoop, parent: string | null) => {
    for (const child of loop.children) {
      if (child.loop && child.loop.id) {
        const chain = parent ? [...info!.get(parent)!.chain, child.loop.id] : [child.loop.id];
        info!.set(child.loop.id, { parent, trigger: child.segmentId, chain });
        walk(child.loop, child.loop.id);
      }
    }
  };
  walk(schema.root, null);
  loopInfoCache.set(schema, info);
  return info;
}

/**
 * Builds the loop tree. `loops[i]` is the innermost loop id of `tx.segments[i]` (null for heading and
 * summary segments), as validateTransaction returns it with `{ loops: true }`.
 */
export function buildLoopTree(tx: TransactionSet, loops: (string | null)[] | undefined, schema: CompiledSchema | null): LoopNode {
  const root: LoopNode = { id: 'ST', trigger: 'ST', segments: [], children: [], parent: null };
  if (!schema || !loops) {
    root.segments = tx.segments;
    return root;
  }
  const info = loopInfo(schema);
  // Open loop instances, outermost first (root excluded).
  const stack: LoopNode[] = [];
  const top = () => stack[stack.length - 1] ?? root;
  const ancestry = (id: string): string[] => info.get(id)!.chain;
  const open = (id: string, parent: LoopNode): LoopNode => {
    const node: LoopNode = { id, trigger: info.get(id)?.trigger ?? '', segments: [], children: [], parent };
    parent.children.push(node);
    stack.push(node);
    return node;
  };

  tx.segments.forEach((seg: Segment, i) => {
    const id = loops[i] ?? null;
    if (id === null || !info.has(id)) {
      stack.length = 0;
      root.segments.push(seg);
      return;
    }
    const chain = ancestry(id);
    // Keep the open instances that are a prefix of this segment's loop chain.
    let keep = 0;
    while (keep < stack.length && keep < chain.length && stack[keep].id === chain[keep]) keep++;
    const startsNew = seg.id === info.get(id)!.trigger && keep === chain.length;
    if (startsNew) keep = chain.length - 1; // a repeated trigger closes the current instance of its loop
    stack.length = keep;
    for (let k = keep; k < chain.length; k++) open(chain[k], top());
    top().segments.push(seg);
  });
  return root;
}

const viewCache = new WeakMap<CompiledSchema, X12SchemaView>();

/** What the mapping compiler needs to know of a schema: segments, loop triggers, element counts and codes. */
export function schemaView(schema: CompiledSchema): X12SchemaView {
  let view = viewCache.get(schema);
  if (view) return view;
  const segments = new Map<string, CompiledSegment>();
  const triggers = new Set<string>();
  const walk = (loop: CompiledLoop) => {
    for (const child of loop.children) {
      if (child.segment) segments.set(child.segmentId, child.segment);
      if (child.loop) {
        triggers.add(child.segmentId);
        walk(child.loop);
      }
    }
  };
  walk(schema.root);
  view = {
    segmentIds: () => [...schema.segmentIds],
    loopTriggers: () => [...triggers],
    elementCount: (id) => segments.get(id)?.elements?.length ?? null,
    codes: (id, element) => {
      const el = segments.get(id)?.elements?.[element - 1];
      return el?.codes && el.closed ? [...el.codes] : null;
    },
  };
  viewCache.set(schema, view);
  return view;
}
