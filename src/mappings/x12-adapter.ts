// The X12 side of the mapping language: paths are checked against the transaction-set schema at
// compile time, and evaluated against each transaction's loop tree at run time.

import type { Delimiters } from '../translators/x12/model.js';
import type { CompiledLoop, CompiledSchema, CompiledSegment } from '../translators/x12/schema.js';
import { didYouMean } from './diagnostics.js';
import type { SourceAdapter, SourceLoc } from './spec.js';
import { evalFirst, evalLoops, firstSegment, evalValues, parseX12Path, PathSyntaxError, SegmentSlots, type LoopNode, type PathStep, type X12Path } from './x12-path.js';

/** What the compiler may ask of a transaction-set schema (null members mean "unknown, do not check"). */
export interface X12SchemaView {
  /** Segment ids the set allows anywhere. */
  segmentIds(): string[];
  /** Whether `id` is a segment of the X12 dictionary at all (in this set or not). */
  isKnownSegment(id: string): boolean;
  /** Segment ids that trigger a loop. */
  loopTriggers(): string[];
  /** Number of elements a segment defines, or null when unknown. */
  elementCount(segment: string): number | null;
  /** The code list of a segment's element, or null when it has none. */
  codes(segment: string, element: number): string[] | null;
}

export interface X12Context {
  node: LoopNode;
  delimiters: Delimiters;
}

export class X12Adapter implements SourceAdapter<X12Context> {
  readonly format = 'x12' as const;
  /** The segment numbers of this mapping's value paths (one adapter per mapping compiled). */
  private readonly slots = new SegmentSlots();

  constructor(private readonly setId: string, private readonly schema: X12SchemaView | null) {}

  private checkStep(step: PathStep, asLoop: 'inner' | 'last' | false): { error: string; code: string; suggestion?: string } | null {
    const s = this.schema;
    if (!s) return null;
    const ids = s.segmentIds();
    if (!ids.includes(step.segment)) {
      // The same two codes as outbound mappings (outbound.ts): a real X12 segment that this set does not
      // use, or something that is no segment of the dictionary (a typo, most often).
      if (s.isKnownSegment(step.segment)) {
        return { code: 'MAP_SEGMENT_NOT_IN_SET', error: `segment ${step.segment} is not part of transaction set ${this.setId}`, suggestion: didYouMean(step.segment, ids) };
      }
      return { code: 'MAP_UNKNOWN_SEGMENT', error: `unknown segment ${step.segment}; transaction set ${this.setId} uses ${ids.join(' ')}`, suggestion: didYouMean(step.segment, ids) };
    }
    if (asLoop === 'inner' && !s.loopTriggers().includes(step.segment)) {
      return { code: 'MAP_NOT_A_LOOP', error: `${step.segment} does not start a loop in ${this.setId}; loops start at ${s.loopTriggers().join(', ')}`,
        suggestion: didYouMean(step.segment, s.loopTriggers()) };
    }
    if (step.filter) {
      const count = s.elementCount(step.segment);
      if (count !== null && step.filter.element > count) {
        return { code: 'MAP_ELEMENT_OUT_OF_RANGE', error: `${step.segment} has ${count} elements; there is no element ${String(step.filter.element).padStart(2, '0')}` };
      }
      const codes = step.filter.component === undefined ? s.codes(step.segment, step.filter.element) : null;
      if (codes) {
        for (const v of step.filter.values) {
          if (!codes.includes(v)) {
            return { code: 'MAP_QUALIFIER_NEVER_VALID', error: `'${v}' is never a valid value of ${step.segment}${String(step.filter.element).padStart(2, '0')}`, suggestion: didYouMean(v, codes) };
          }
        }
      }
    }
    return null;
  }

  private parse(text: string, kind: 'value' | 'loop'): { path: unknown } | { error: string; code: string; suggestion?: string } {
    let path: X12Path;
    try {
      path = parseX12Path(text, kind, this.slots);
    } catch (err) {
      if (err instanceof PathSyntaxError) return { code: 'MAP_BAD_PATH', error: `bad path '${text}': ${err.message}` };
      throw err;
    }
    // Every loop step but the last must start a loop; the last may also be a repeated segment (each L1).
    for (const [i, step] of path.loops.entries()) {
      const bad = this.checkStep(step, kind === 'loop' && i === path.loops.length - 1 ? 'last' : 'inner');
      if (bad) return bad;
    }
    if (path.target) {
      const bad = this.checkStep(path.target, false);
      if (bad) return bad;
      const count = this.schema?.elementCount(path.target.segment) ?? null;
      if (count !== null && path.target.element > count) {
        return { code: 'MAP_ELEMENT_OUT_OF_RANGE', error: `${path.target.segment} has ${count} elements; there is no element ${String(path.target.element).padStart(2, '0')}` };
      }
    }
    return { path };
  }

  valuePath(text: string) {
    return this.parse(text, 'value');
  }

  loopPath(text: string) {
    return this.parse(text, 'loop');
  }

  first(path: unknown, ctx: X12Context): string | undefined {
    return evalFirst(path as X12Path, ctx.node, ctx.delimiters);
  }

  values(path: unknown, ctx: X12Context, all: boolean): { value: string; loc?: SourceLoc }[] {
    // Locations are built only when a failure needs one (adapter.loc): this runs for every field of
    // every transaction, and the allocations showed in the profile.
    return evalValues(path as X12Path, ctx.node, ctx.delimiters, all);
  }

  loops(path: unknown, ctx: X12Context): X12Context[] {
    return evalLoops(path as X12Path, ctx.node, ctx.delimiters).map((node) => ({ node, delimiters: ctx.delimiters }));
  }

  locate(path: unknown, ctx: X12Context): SourceLoc | undefined {
    const p = path as X12Path;
    const s = firstSegment(p, ctx.node, ctx.delimiters);
    if (!s) return undefined;
    return { line: s.loc.line, column: s.loc.column, offset: s.loc.offset, what: s.id };
  }

  loc(ctx: X12Context): SourceLoc | undefined {
    const s = ctx.node.segments[0];
    return s ? { line: s.loc.line, column: s.loc.column, offset: s.loc.offset, what: s.id } : undefined;
  }
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
    isKnownSegment: (id) => schema.knownSegmentIds.has(id),
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
