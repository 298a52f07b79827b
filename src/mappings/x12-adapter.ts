// The X12 side of the mapping language: paths are checked against the transaction-set schema at
// compile time, and evaluated against each transaction's loop tree at run time.

import { elementLocation } from '../translators/x12/element-location.js';
import type { Delimiters } from '../translators/x12/model.js';
import { getSchema, supportedSchemas, type CompiledElement, type CompiledLoop, type CompiledSchema, type CompiledSegment } from '../translators/x12/schema.js';
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
  /** The schema version paths are checked against ('004010', '004030', '005010'), or null when unknown. */
  version(): string | null;
  /** A segment's element (from 1), or null when the segment's layout is unknown or it has no such element. */
  element(segment: string, element: number): X12ElementView | null;
  /** The other schema versions of the set whose `segment` has element `element` (for hints; may be empty). */
  versionsWithElement(segment: string, element: number): string[];
  /** Whether `segment` stands only in the transaction's own segments (no loop), at most once (B10, B3, B1). */
  onceAtTop?(segment: string): boolean;
  /** The loops a loop of `trigger` sits in, by their trigger ('' for the transaction itself), in schema order. */
  loopParents?(trigger: string): string[];
}

/** One element or component of a segment, as the compiler checks paths and filter values against it. */
export interface X12ElementView {
  /** "N901", "AK401", a component "AK401-2" (or its own position label). */
  label: string;
  /** "AN", "ID", "N0".."N9", "R", "DT", "TM"; a composite's id (C030) for a composite. */
  typeName: string;
  /** Length bounds of a simple element (digits for numbers, as the validator counts them); 0 for a composite. */
  min: number;
  max: number;
  /** Maximum repetitions (1: not repeatable). */
  repeat: number;
  /** The element's code list (null: none), and whether it is the complete list. */
  codes: readonly string[] | null;
  closed: boolean;
  /** The components of a composite, or null for a simple element. */
  components: X12ElementView[] | null;
}

type PathProblem = { error: string; code: string; suggestion?: string };

const pad = (n: number) => String(n).padStart(2, '0');

/** A step as path text (filter and, for the target, element, component and repetition), as the parser reads it. */
function stepText(step: PathStep & { element?: number; component?: number; repetition?: number }): string {
  const f = step.filter;
  let t = step.segment;
  if (f) t += `[${pad(f.element)}${f.component === undefined ? '' : `.${f.component}`}=${f.values.join('|')}]`;
  if (step.element !== undefined) t += `.${pad(step.element)}`;
  if (step.component !== undefined) t += `.${step.component}`;
  if (step.repetition !== undefined) t += `#${step.repetition}`;
  return t;
}

/** The path's text with one step replaced (index among loops then target): what a suggestion offers. */
function pathWith(path: X12Path, index: number, step: PathStep & { element?: number; component?: number; repetition?: number }): string {
  const steps: (PathStep & { element?: number; component?: number; repetition?: number })[] = path.target ? [...path.loops, path.target] : [...path.loops];
  steps[index] = step;
  return (path.absolute ? '/' : path.direct ? './' : '') + steps.map(stepText).join('/');
}

/**
 * The position to suggest for `n` where only 1..count exist: the one position a single slip of a digit
 * away (`15` for 05, `10` for 01), when there is exactly one; else the last position.
 */
function nearestPosition(n: number, count: number): number {
  const a = pad(n);
  const near: number[] = [];
  for (let k = 1; k <= count; k++) {
    const b = pad(k);
    if ((a[0] === b[0]) !== (a[1] === b[1]) || (a[0] === b[1] && a[1] === b[0])) near.push(k);
  }
  return near.length === 1 ? near[0] : count;
}

/**
 * Why `v` can never be a value of the simple element `el`, in the validator's order (its type, its length
 * (digits for numbers), then a real date or time), or null when it may be one.
 */
function neverFits(v: string, el: X12ElementView): string | null {
  const t = el.typeName;
  const numeric = /^N\d?$/.test(t) || t === 'R';
  if (t === 'R' && !/^-?(?:\d+\.?\d*|\.\d+)$/.test(v)) return 'R: a decimal number';
  if (numeric && t !== 'R' && !/^-?\d+$/.test(v)) return `${t}: a whole number`;
  if (t === 'DT' && !/^\d+$/.test(v)) return 'DT: a date, digits only';
  if (t === 'TM' && !/^\d+$/.test(v)) return 'TM: a time, digits only';
  const length = numeric ? v.replace(/[-.]/g, '').length : v.length;
  if (length < el.min || length > el.max) {
    const unit = numeric ? 'digits' : 'characters';
    return `${t}, ${el.min === el.max ? el.max : `${el.min} to ${el.max}`} ${unit}; it has ${length}`;
  }
  if (t === 'DT' && !validDate(v)) return `DT: not a real date (CCYYMMDD${el.min <= 6 ? ' or YYMMDD' : ''})`;
  if (t === 'TM' && !validTime(v)) return 'TM: not a real time (HHMM, HHMMSS, HHMMSSD or HHMMSSDD)';
  return null;
}

/** CCYYMMDD or YYMMDD with a real month and day (as the validator's validDate). */
function validDate(v: string): boolean {
  if (v.length !== 8 && v.length !== 6) return false;
  const year = v.length === 8 ? +v.slice(0, 4) : 2000 + +v.slice(0, 2);
  const month = +v.slice(-4, -2);
  const day = +v.slice(-2);
  if (month < 1 || month > 12 || day < 1) return false;
  const dim = month === 2 ? ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28)
    : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= dim;
}

/** HHMM, HHMMSS, HHMMSSD or HHMMSSDD with a real hour, minute and second (as the validator's validTime). */
function validTime(v: string): boolean {
  if (![4, 6, 7, 8].includes(v.length)) return false;
  return +v.slice(0, 2) <= 23 && +v.slice(2, 4) <= 59 && (v.length < 6 || +v.slice(4, 6) <= 59);
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

  /** "in 004010" when the version is known: element counts and lengths differ between versions. */
  private inVersion(): string {
    const v = this.schema?.version();
    return v ? ` in ${v}` : '';
  }

  private outOfRange(segment: string, element: number, count: number): string {
    const versions = this.schema?.versionsWithElement(segment, element) ?? [];
    const elsewhere = versions.length
      ? `; ${segment}${pad(element)} exists in ${versions.join(' and ')} (give the mapping version: "${versions[versions.length - 1]}" if the partner sends that)`
      : '';
    return `${segment} has ${count} elements${this.inVersion()} (${segment}.01 to ${segment}.${pad(count)}); there is no element ${pad(element)}${elsewhere}`;
  }

  /**
   * The element (or component) a filter or the target names, checked: its position in the segment, and a
   * component only on a composite and within its components. `index` is the step's index in the path
   * (for suggestions).
   */
  private checkElement(
    path: X12Path, index: number, step: PathStep & { element?: number; component?: number; repetition?: number }, which: 'filter' | 'target',
  ): PathProblem | { el: X12ElementView | null } {
    const s = this.schema!;
    const seg = step.segment;
    const element = which === 'filter' ? step.filter!.element : step.element!;
    const component = which === 'filter' ? step.filter!.component : step.component;
    const renumbered = (e: number, c: number | undefined) => pathWith(path, index, which === 'filter'
      ? { ...step, filter: { ...step.filter!, element: e, component: c } }
      : { ...step, element: e, component: c });
    const count = s.elementCount(seg);
    if (count !== null && element > count) {
      const elsewhere = s.versionsWithElement(seg, element).length > 0;
      return {
        code: 'MAP_ELEMENT_OUT_OF_RANGE', error: this.outOfRange(seg, element, count),
        // Another version has the element: the version is what to change, not the number.
        suggestion: elsewhere ? undefined : renumbered(nearestPosition(element, count), component),
      };
    }
    const el = s.element(seg, element);
    if (!el || component === undefined) return { el };
    if (!el.components) {
      return {
        code: 'MAP_ELEMENT_OUT_OF_RANGE',
        error: `${el.label} is a simple element${this.inVersion()}, not a composite: it has no component ${component}`,
        suggestion: renumbered(element, undefined),
      };
    }
    if (component > el.components.length) {
      const n = el.components.length;
      return {
        code: 'MAP_ELEMENT_OUT_OF_RANGE',
        error: `${el.label} (composite ${el.typeName}) has ${n} components${this.inVersion()} (${seg}.${pad(element)}.1 to ${seg}.${pad(element)}.${n}); there is no component ${component}`,
        suggestion: renumbered(element, nearestPosition(component, n)),
      };
    }
    return { el: el.components[component - 1] };
  }

  private checkStep(path: X12Path, index: number, step: PathStep, asLoop: 'inner' | 'last' | false): PathProblem | null {
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
    // The last step may be a repeated segment (each L1), not one a transaction has once: `foreach: B10` made
    // one event of a 214 of six statuses (the first AT7's), and lint said nothing.
    if (asLoop === 'last' && path.loops.length === 1 && !s.loopTriggers().includes(step.segment) && s.onceAtTop?.(step.segment)) {
      return { code: 'MAP_NOT_A_LOOP', error: `${step.segment} neither starts a loop nor repeats in ${this.setId}: a transaction has it once, so this would make one iteration of it; loops start at ${s.loopTriggers().join(', ')}`,
        suggestion: didYouMean(step.segment, s.loopTriggers()) };
    }
    const f = step.filter;
    if (f) {
      const checked = this.checkElement(path, index, step, 'filter');
      if (!('el' in checked)) return checked;
      const el = checked.el;
      if (!el) return null;
      if (el.codes && el.closed) {
        for (const v of f.values) {
          if (!el.codes.includes(v)) {
            return { code: 'MAP_QUALIFIER_NEVER_VALID', error: `'${v}' is never a valid value of ${el.label}`, suggestion: didYouMean(v, el.codes) };
          }
        }
      } else if (!el.components) {
        // An open code list (or none): the value must still be one the element can hold, or the filter
        // never matches (the validator rejects such a value before any mapping sees it). An empty value
        // matches a segment without the element, and is left alone.
        for (const v of f.values) {
          const why = v === '' ? null : neverFits(v, el);
          if (why) {
            return { code: 'MAP_QUALIFIER_NEVER_FITS', error: `'${v}' never fits ${el.label}${this.inVersion()} (${why}), so the filter never matches` };
          }
        }
      }
    }
    return null;
  }

  /** A target's repetition (`#N`), checked: only on a repeatable element, within its repeats, in a version that has repetitions. */
  private checkRepetition(path: X12Path, el: X12ElementView | null): PathProblem | null {
    const t = path.target!;
    const r = t.repetition;
    if (r === undefined || !el) return null;
    const without = pathWith(path, path.loops.length, { ...t, repetition: undefined });
    const version = this.schema?.version();
    if (el.repeat <= 1) {
      return {
        code: 'MAP_REPETITION_INVALID',
        error: `${el.label} is not a repeatable element${this.inVersion()}${version === '004010' ? ' (and 004010 has no repetition separator)' : ''}: it has no repetition #${r}`,
        suggestion: without,
      };
    }
    if (version === '004010') {
      return {
        code: 'MAP_REPETITION_INVALID',
        error: `version 004010 has no repetition separator (ISA11 is the standards identifier there), so ${el.label} never repeats: there is no repetition #${r}`,
        suggestion: without,
      };
    }
    if (r > el.repeat) {
      return {
        code: 'MAP_REPETITION_INVALID',
        error: `${el.label} repeats at most ${el.repeat} times; there is no repetition #${r}`,
        suggestion: pathWith(path, path.loops.length, { ...t, repetition: el.repeat }),
      };
    }
    return null;
  }

  /** Every schema check of a parsed path: its steps, then the element, component and repetition it names. */
  private check(path: X12Path, kind: 'value' | 'loop'): PathProblem | null {
    // Every loop step but the last must start a loop; the last may also be a repeated segment (each L1).
    for (const [i, step] of path.loops.entries()) {
      const bad = this.checkStep(path, i, step, kind === 'loop' && i === path.loops.length - 1 ? 'last' : 'inner');
      if (bad) return bad;
    }
    if (path.target && this.schema) {
      const index = path.loops.length;
      const bad = this.checkStep(path, index, path.target, false);
      if (bad) return bad;
      const checked = this.checkElement(path, index, path.target, 'target');
      if (!('el' in checked)) return checked;
      // A repetition is of the element (the composite), whichever component is read.
      return this.checkRepetition(path, this.schema.element(path.target.segment, path.target.element));
    }
    return null;
  }

  /** A bad segment id in a path that does not parse: the same path with the set's closest segment, if that one passes. */
  private segmentSuggestion(text: string, kind: 'value' | 'loop', bad: { step: number; id: string }): string | undefined {
    const s = this.schema;
    if (!s) return undefined;
    const id = didYouMean(bad.id, s.segmentIds());
    if (!id) return undefined;
    const prefix = text.startsWith('/') ? '/' : text.startsWith('./') ? './' : '';
    const parts = text.slice(prefix.length).split('/');
    parts[bad.step] = id + parts[bad.step].slice(bad.id.length);
    const fixed = prefix + parts.join('/');
    try {
      return this.check(parseX12Path(fixed, kind), kind) ? undefined : fixed;
    } catch {
      return undefined;
    }
  }

  private parse(text: string, kind: 'value' | 'loop'): { path: unknown } | PathProblem {
    let path: X12Path;
    try {
      path = parseX12Path(text, kind, this.slots);
    } catch (err) {
      if (err instanceof PathSyntaxError) {
        return {
          code: 'MAP_BAD_PATH', error: `bad path '${text}': ${err.message}`,
          suggestion: err.badSegment ? this.segmentSuggestion(text, kind, err.badSegment) : undefined,
        };
      }
      throw err;
    }
    return this.check(path, kind) ?? { path };
  }

  valuePath(text: string) {
    return this.parse(text, 'value');
  }

  loopPath(text: string) {
    return this.parse(text, 'loop');
  }

  /**
   * For a loop path read from the transaction itself (a top-level `each`, a `foreach`): when its first step
   * names loops that sit directly in the transaction and also inside other loops, what it takes, and how
   * to keep to the transaction's own. `each: N1` over a 4010 210 takes the heading's N1 loops and those of
   * its S5 stops and LX lines; a sample without stops shows nothing wrong. Null when there is nothing to say.
   */
  loopAtSeveralDepths(path: unknown): string | null {
    const p = path as X12Path;
    if (p.absolute || p.direct || !this.schema?.loopParents) return null;
    const first = p.loops[0].segment;
    const parents = this.schema.loopParents(first);
    if (!parents.includes('') || parents.length < 2) return null;
    const outer = parents.filter((t) => t !== '');
    return `${first} loops sit directly in transaction set ${this.setId} and also inside other loops (${outer.map((t) => `${t}/${first}`).join(', ')}): ` +
      `'${p.text}' read from the transaction takes them all, in file order; write ./${p.text} for the transaction's own only, ` +
      `or ${outer[0]}/${p.text} for those inside ${outer[0]}`;
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

  closedCodes(path: unknown): readonly string[] | null {
    const t = (path as X12Path).target;
    if (!t || t.component !== undefined || !this.schema) return null;
    return this.schema.codes(t.segment, t.element);
  }

  numericPlaces(path: unknown): number | 'explicit' | null {
    const t = (path as X12Path).target;
    if (!t || !this.schema) return null;
    let el = this.schema.element(t.segment, t.element);
    if (el && t.component !== undefined) el = el.components?.[t.component - 1] ?? null;
    if (!el) return null;
    if (el.typeName === 'R') return 'explicit';
    const n = /^N(\d)$/.exec(el.typeName);
    return n ? +n[1] : null;
  }

  /** The element (component, repetition) the path reads in the segment it names: where its value is, or would be. */
  locate(path: unknown, ctx: X12Context): SourceLoc | undefined {
    const p = path as X12Path;
    const s = firstSegment(p, ctx.node, ctx.delimiters);
    if (!s) return undefined;
    const t = p.target!;
    const at = elementLocation(s, { elementPosition: t.element, componentPosition: t.component, repetition: t.repetition }, ctx.delimiters);
    return { line: at.line, column: at.column, offset: at.offset, what: s.id };
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
  // Segments in loops, or repeated: anything else a transaction has at most once, in its own segments.
  const repeatable = new Set<string>();
  const parents = new Map<string, string[]>();
  const walk = (loop: CompiledLoop, inLoop: boolean, trigger: string) => {
    for (const child of loop.children) {
      if (child.segment) segments.set(child.segmentId, child.segment);
      if (child.segment && (inLoop || child.max > 1)) repeatable.add(child.segmentId);
      if (child.loop) {
        triggers.add(child.segmentId);
        const of = parents.get(child.segmentId) ?? [];
        if (!of.includes(trigger)) of.push(trigger);
        parents.set(child.segmentId, of);
        walk(child.loop, true, child.segmentId);
      }
    }
  };
  walk(schema.root, false, '');
  const elementViews = new Map<CompiledElement, X12ElementView>();
  const elementView = (el: CompiledElement): X12ElementView => {
    let v = elementViews.get(el);
    if (!v) {
      v = {
        label: el.label, typeName: el.typeName, min: el.min, max: el.max, repeat: el.repeat,
        codes: el.codes ? [...el.codes] : null, closed: el.closed,
        components: el.components ? el.components.map(elementView) : null,
      };
      elementViews.set(el, v);
    }
    return v;
  };
  view = {
    segmentIds: () => [...schema.segmentIds],
    isKnownSegment: (id) => schema.knownSegmentIds.has(id),
    onceAtTop: (id) => segments.has(id) && !repeatable.has(id),
    loopTriggers: () => [...triggers],
    loopParents: (trigger) => [...(parents.get(trigger) ?? [])],
    elementCount: (id) => segments.get(id)?.elements?.length ?? null,
    codes: (id, element) => {
      const el = segments.get(id)?.elements?.[element - 1];
      return el?.codes && el.closed ? [...el.codes] : null;
    },
    version: () => schema.version,
    element: (id, element) => {
      const el = segments.get(id)?.elements?.[element - 1];
      return el ? elementView(el) : null;
    },
    // Asked only when a path is wrong: the other versions' schemas are compiled (and cached) on demand.
    versionsWithElement: (id, element) => supportedSchemas()
      .filter((x) => x.setId === schema.setId && x.version !== schema.version)
      .map((x) => x.version)
      .filter((v) => {
        const other = getSchema(schema.setId, v);
        if (!other?.segmentIds.has(id)) return false;
        const n = schemaView(other).elementCount(id);
        return n !== null && element <= n;
      }),
  };
  viewCache.set(schema, view);
  return view;
}
