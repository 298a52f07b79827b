// X12 paths of the mapping language: `B10.01`, `AK4.01.2`, `CTX.01#2`, `L11[02=BM].01`,
// `N1[01=SH|SF]/N4.01`, loop paths such as `LX/AT7`, a leading `/` for the transaction root, and a leading
// `./` for what lies directly inside the current context (the heading's N1 loops, not those of S5 or LX).
// Parsed once at compile time; evaluated against the loop tree of each transaction.

import { internalized, loopInstance, type Delimiters, type LoopInstance, type Segment } from '../translators/x12/model.js';

/** One loop instance of a transaction (built by validateTransaction with `tree: true`). */
export type LoopNode = LoopInstance;

export interface SegmentFilter {
  element: number;
  component: number | undefined;
  values: string[];
}

export interface PathStep {
  segment: string;
  filter: SegmentFilter | undefined;
}

export interface X12Path {
  text: string;
  absolute: boolean;
  /**
   * A leading `./`: the first step names only what lies directly inside the current context (its own
   * segments, or the loops that are its children), and nothing of the enclosing loops. Without it a loop
   * step finds the nearest loops of its kind at any depth: `each: N1` over a 4010 210 also gives the N1
   * loops of S5 stops and LX lines, where `each: ./N1` gives the heading's only.
   */
  direct: boolean;
  /** Loop steps (every step but the last when the path addresses an element). */
  loops: PathStep[];
  /** The addressed segment and element, absent for pure loop paths (foreach/each). */
  target?: PathStep & { element: number; component: number | undefined; repetition: number | undefined };
  /**
   * Value paths: the number of the segment this path names, element aside (`AT7.01` and `AT7.05` share
   * one, `L11[02=BM].01` has its own), in `slots`, the numbering of the mapping the path belongs to. Paths
   * with the same number find the same segment from the same loop node, so the node remembers each
   * segment found (evalFirst, LoopInstance.found) instead of its loops being walked again for every field
   * that reads it. Unset on a path parsed without a numbering: such a path is evaluated without the cache.
   */
  segmentSlot?: number;
  slots?: SegmentSlots;
  /** Loop paths: every step but the last (computed once rather than per evaluation). */
  outerLoops?: PathStep[];
}

function stepKey(s: PathStep): string {
  const f = s.filter;
  return f ? `${s.segment}[${f.element}${f.component === undefined ? '' : `.${f.component}`}=${f.values.join('|')}]` : s.segment;
}

/**
 * The segment numbers of one mapping's value paths: segment locators (a value path without its
 * element) -> numbers from 0. One numbering per mapping keeps the numbers small, so a loop node's cache
 * (LoopInstance.found) is a short array however many partners the process has loaded; one shared by
 * every mapping grew with all of them, and with 300 other locators compiled translation took about a
 * quarter longer.
 */
export class SegmentSlots {
  private readonly byLocator = new Map<string, number>();

  /** How many slots are numbered so far (all of them, once the mapping is compiled). */
  get count(): number {
    return this.byLocator.size;
  }

  slotOf(absolute: boolean, direct: boolean, loops: PathStep[], target: PathStep): number {
    const key = (absolute ? '/' : direct ? './' : '') + [...loops, target].map(stepKey).join('/');
    let slot = this.byLocator.get(key);
    if (slot === undefined) {
      slot = this.byLocator.size;
      this.byLocator.set(key, slot);
    }
    return slot;
  }
}

export class PathSyntaxError extends Error {
  constructor(
    message: string,
    readonly column: number,
    /**
     * When the step's segment id is what is wrong (`AT77`, `at7`): the step (its index among the path's
     * steps) and the id as written, so whoever knows the transaction set can suggest one of its segments.
     */
    readonly badSegment?: { step: number; id: string },
  ) {
    super(message);
  }
}

const STEP = /^([A-Z][A-Z0-9]{1,2})(?:\[(\d{1,2})(?:\.(\d{1,2}))?=([^\]]*)\])?(?:\.(\d{1,2})(?:\.(\d{1,2}))?(?:#(\d{1,3}))?)?$/;

/**
 * Parses a path; `kind` says whether it must address an element (value) or a loop (foreach/each). Value
 * paths are numbered in `slots` (see X12Path.segmentSlot) when it is given.
 */
export function parseX12Path(text: string, kind: 'value' | 'loop', slots?: SegmentSlots): X12Path {
  const absolute = text.startsWith('/');
  const direct = text.startsWith('./');
  const prefix = absolute ? 1 : direct ? 2 : 0;
  const body = text.slice(prefix);
  if (body === '') throw new PathSyntaxError('empty path', 1);
  if (body.startsWith('/') || body.startsWith('./')) {
    throw new PathSyntaxError(`a path starts with at most one of '/' (the transaction) and './' (directly inside the current context)`, prefix + 1);
  }
  const parts = body.split('/');
  const steps: (PathStep & { element: number | undefined; component: number | undefined; repetition: number | undefined; column: number })[] = [];
  let col = prefix + 1;
  for (const [index, part] of parts.entries()) {
    const m = STEP.exec(part);
    if (!m) {
      const why = explainStep(part);
      throw new PathSyntaxError(`'${part}' is not a path step: ${why.message}`, col, why.segment === undefined ? undefined : { step: index, id: why.segment });
    }
    const [, segment, fEl, fComp, fVals, el, comp, rep] = m;
    // Every step, filter and target has all its keys, unset ones undefined: one shape each, so that the
    // evaluation's reads of them (step.filter, target.element, ...) stay monomorphic. With only the keys
    // given, paths came in many shapes and those reads went through V8's megamorphic lookup.
    steps.push({
      segment: internalized(segment), column: col,
      filter: fEl === undefined ? undefined : { element: +fEl, component: fComp === undefined ? undefined : +fComp, values: fVals.split('|') },
      element: el === undefined ? undefined : +el,
      component: comp === undefined ? undefined : +comp,
      repetition: rep === undefined ? undefined : +rep,
    });
    col += part.length + 1;
  }
  const last = steps[steps.length - 1];
  for (const s of steps.slice(0, -1)) {
    if (s.element !== undefined) throw new PathSyntaxError(`only the last step may address an element ('${s.segment}.${s.element}')`, s.column);
  }
  if (kind === 'value') {
    if (last.element === undefined) throw new PathSyntaxError(`'${text}' names no element; write e.g. ${last.segment}.01`, col - 1);
    if (last.element === 0) throw new PathSyntaxError('elements are numbered from 01', col - 1);
    const { element, component, repetition } = last;
    const step = stepOnly(last);
    const loops = steps.slice(0, -1).map(stepOnly);
    const target = { segment: step.segment, filter: step.filter, element, component, repetition };
    return slots
      ? { text, absolute, direct, loops, target, segmentSlot: slots.slotOf(absolute, direct, loops, step), slots }
      : { text, absolute, direct, loops, target };
  }
  if (last.element !== undefined) throw new PathSyntaxError(`a loop path names segments, not elements ('${text}')`, last.column);
  const loops = steps.map(stepOnly);
  return { text, absolute, direct, loops, outerLoops: loops.slice(0, -1) };
}

const STEP_FORMS = 'expected SEG, SEG.NN, SEG.NN.N, SEG.NN#N or SEG[NN=VALUE], e.g. L11[02=BM].01';

/**
 * Why `part` is not a step, as precisely as can be said, read left to right: the segment id, a filter,
 * then element, component and repetition. `segment` is set when the segment id itself is the problem.
 */
function explainStep(part: string): { message: string; segment?: string } {
  if (part === '') return { message: `a step is empty (two '/' in a row, or a '/' at the end; ${STEP_FORMS})` };
  const id = /^[A-Za-z0-9]*/.exec(part)![0];
  if (id === '') return { message: `a step starts with a segment id (${STEP_FORMS})` };
  if (!/^[A-Za-z]/.test(id)) return { message: `segment ids start with a letter: '${id}' is not one`, segment: id };
  if (id.length < 2 || id.length > 3) return { message: `segment ids are 2 or 3 characters: '${id}' is not one`, segment: id };
  if (id !== id.toUpperCase()) return { message: `segment ids are upper case: '${id}' is not one`, segment: id };
  let rest = part.slice(id.length);
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return { message: `the filter '${rest}' has no closing ']' (a filter value cannot hold '/' or ']')` };
    const filter = rest.slice(0, close + 1);
    const f = /^\[(\d+)(?:\.(\d+))?=/.exec(filter);
    if (!f) return { message: `a filter is [NN=VALUE] or [NN.N=VALUE] (element number, optional component, '=', values separated by '|'), not '${filter}'` };
    if (f[1].length > 2) return { message: `element numbers have 1 or 2 digits, not '${f[1]}' (in the filter '${filter}')` };
    if (f[2] !== undefined && f[2].length > 2) return { message: `component numbers have 1 or 2 digits, not '${f[2]}' (in the filter '${filter}')` };
    rest = rest.slice(close + 1);
  }
  if (rest === '') return { message: STEP_FORMS };
  if (rest[0] !== '.') return { message: `'${rest}' cannot follow ${part.slice(0, part.length - rest.length)}: an element is .NN (e.g. ${id}.01)` };
  const el = /^\.(\d*)/.exec(rest)!;
  if (el[1] === '') return { message: `an element number follows the '.' (e.g. ${id}.01)` };
  if (el[1].length > 2) return { message: `element numbers have 1 or 2 digits, not '${el[1]}'` };
  rest = rest.slice(el[0].length);
  const comp = /^\.(\d*)/.exec(rest);
  if (comp) {
    if (comp[1] === '') return { message: `a component number follows the second '.' (e.g. ${id}.${el[1]}.1)` };
    if (comp[1].length > 2) return { message: `component numbers have 1 or 2 digits, not '${comp[1]}'` };
    rest = rest.slice(comp[0].length);
  }
  const rep = /^#(\d*)/.exec(rest);
  if (rep) {
    if (rep[1] === '') return { message: `a repetition number follows the '#' (e.g. ${id}.${el[1]}#2)` };
    if (rep[1].length > 3) return { message: `repetition numbers have 1 to 3 digits, not '${rep[1]}'` };
    rest = rest.slice(rep[0].length);
  }
  if (rest !== '') return { message: `'${rest}' cannot follow ${part.slice(0, part.length - rest.length)} (${STEP_FORMS})` };
  return { message: STEP_FORMS };
}

/** A parsed step without its parse-time extras (element, column): what loop steps keep. */
function stepOnly(s: PathStep & { column: number }): PathStep {
  return { segment: s.segment, filter: s.filter };
}

// ---- evaluation ----------------------------------------------------------------------------------

function elementValue(seg: Segment, element: number, component: number | undefined, repetition: number | undefined, d: Delimiters): string {
  let v = seg.elements[element] ?? '';
  if (v === '') return '';
  if (d.repetition && (repetition !== undefined || v.includes(d.repetition))) {
    v = v.split(d.repetition)[(repetition ?? 1) - 1] ?? '';
  } else if (repetition !== undefined && repetition > 1) {
    return '';
  }
  if (component !== undefined) return v.split(d.component)[component - 1] ?? '';
  return v;
}

function matches(seg: Segment, step: PathStep, d: Delimiters): boolean {
  if (seg.id !== step.segment) return false;
  const f = step.filter;
  if (!f) return true;
  const v = elementValue(seg, f.element, f.component, undefined, d);
  return f.values.includes(v);
}

/** Nearest descendant loops (not the node itself) whose trigger segment matches the step. */
function descendantLoops(node: LoopNode, step: PathStep, d: Delimiters, out: LoopNode[]): void {
  const children = node.children;
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (child.trigger === step.segment) {
      if (matches(child.segments[0], step, d)) out.push(child);
    } else {
      descendantLoops(child, step, d, out);
    }
  }
}

/** The loops directly inside `node` (its children, not their descendants) whose trigger segment matches the step. */
function childLoops(node: LoopNode, step: PathStep, d: Delimiters, out: LoopNode[]): void {
  const children = node.children;
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (child.trigger === step.segment && matches(child.segments[0], step, d)) out.push(child);
  }
}

/**
 * A `./` path's loops below `ctx`: the first step among ctx's children only, the later ones as selectLoops
 * finds them. A last step naming a repeated segment (`each: ./L1`) takes ctx's own segments only.
 */
function directLoops(ctx: LoopNode, path: X12Path, d: Delimiters): LoopNode[] {
  const first: LoopNode[] = [];
  childLoops(ctx, path.loops[0], d, first);
  const found = path.loops.length > 1 ? selectLoops(first, path.loops.slice(1), d) : first;
  if (found.length > 0) return found;
  const last = path.loops[path.loops.length - 1];
  const out: LoopNode[] = [];
  if (path.loops.length === 1) {
    const segs = ctx.segments;
    for (let i = 0; i < segs.length; i++) if (matches(segs[i], last, d)) out.push(loopInstance(ctx.id, segs[i].id, [segs[i]], ctx));
    return out;
  }
  const outer = path.loops.length > 2 ? selectLoops(first, path.loops.slice(1, -1), d) : first;
  for (let i = 0; i < outer.length; i++) collectOwned(outer[i], last, d, out);
  return out;
}

/**
 * The segments matching `step` among `node`'s own (not inside its loops); true when `firstOnly` and one was
 * found. A `./` value path without loop steps reads only these; collectSegments goes on into the loops.
 */
function ownSegments(node: LoopNode, step: PathStep, d: Delimiters, out: Segment[], firstOnly: boolean): boolean {
  const segs = node.segments;
  for (let i = 0; i < segs.length; i++) {
    if (matches(segs[i], step, d)) {
      out.push(segs[i]);
      if (firstOnly) return true;
    }
  }
  return false;
}

/** The loops a `./` value path's loop steps select from `ctx` (the first step among ctx's children only). */
function directNodes(ctx: LoopNode, loops: PathStep[], d: Delimiters): LoopNode[] {
  const first: LoopNode[] = [];
  childLoops(ctx, loops[0], d, first);
  return loops.length > 1 ? selectLoops(first, loops.slice(1), d) : first;
}

function selectLoops(start: LoopNode[], steps: PathStep[], d: Delimiters): LoopNode[] {
  let nodes = start;
  for (let s = 0; s < steps.length; s++) {
    const next: LoopNode[] = [];
    for (let i = 0; i < nodes.length; i++) descendantLoops(nodes[i], steps[s], d, next);
    nodes = next;
    if (nodes.length === 0) break;
  }
  return nodes;
}

function collectSegments(node: LoopNode, step: PathStep, d: Delimiters, out: Segment[], firstOnly: boolean): boolean {
  if (ownSegments(node, step, d, out, firstOnly)) return true;
  const kids = node.children;
  for (let i = 0; i < kids.length; i++) {
    if (collectSegments(kids[i], step, d, out, firstOnly) && firstOnly) return true;
  }
  return false;
}

function root(node: LoopNode): LoopNode {
  let n = node;
  while (n.parent) n = n.parent;
  return n;
}

/**
 * The loops a loop path selects: below `ctx` for a relative path, below the transaction for an absolute
 * one. The last step may name a repeated segment rather than a loop (one charge per L1): each
 * occurrence becomes a context of its own, whose enclosing context is the loop it sits in.
 */
export function evalLoops(path: X12Path, ctx: LoopNode, d: Delimiters): LoopNode[] {
  if (path.absolute) return loopsBelow([root(ctx)], path, d);
  if (path.direct) return directLoops(ctx, path, d);
  const here = loopsBelow([ctx], path, d);
  if (here.length > 0) return here;
  const scopes = enclosingScopes(ctx);
  for (let i = 0; i < scopes.length; i++) {
    const found = loopsBelow(scopes[i], path, d, true);
    if (found.length > 0) return found;
  }
  return [];
}

/** Like selectLoops, but the scope's own loops may match the first step (not only their descendants). */
function selectLoopsFromScope(scope: LoopNode[], steps: PathStep[], d: Delimiters): LoopNode[] {
  const first = steps[0];
  const firstMatches: LoopNode[] = [];
  for (let i = 0; i < scope.length; i++) {
    const n = scope[i];
    if (n.parent === null && n.children.length === 0) continue; // the pseudo node of own segments
    if (n.trigger === first.segment) {
      if (n.segments[0] && matches(n.segments[0], first, d)) firstMatches.push(n);
    } else descendantLoops(n, first, d, firstMatches);
  }
  return steps.length > 1 ? selectLoops(firstMatches, steps.slice(1), d) : firstMatches;
}

function loopsBelow(starts: LoopNode[], path: X12Path, d: Delimiters, fromScope = false): LoopNode[] {
  const found = fromScope ? selectLoopsFromScope(starts, path.loops, d) : selectLoops(starts, path.loops, d);
  if (found.length > 0) return found;
  const outer = path.loops.length > 1 ? selectLoops(starts, path.outerLoops ?? path.loops.slice(0, -1), d) : starts;
  const last = path.loops[path.loops.length - 1];
  const out: LoopNode[] = [];
  for (let i = 0; i < outer.length; i++) collectOwned(outer[i], last, d, out);
  return out;
}

/** The children of the own-segments views enclosingScopes makes: a view has none, so all share this one (frozen) empty list. */
const NO_CHILDREN: LoopNode[] = Object.freeze([]) as unknown as LoopNode[];

/**
 * What a relative path may see beyond the current iteration, nearest first: for each enclosing loop,
 * its own segments and its loops other than the kind we came through. From an AT7 iteration that is the
 * LX's own segments and its N1 loops, then the transaction's heading (B10, heading N1 loops), but never
 * another LX or another AT7.
 */
function enclosingScopes(ctx: LoopNode): LoopNode[][] {
  // Kept on the node (not in a WeakMap): a tree lives as long as its transaction, and WeakMap entries
  // for every node of every transaction showed in the collector's time.
  if (ctx.scopes) return ctx.scopes;
  let levels = 0;
  for (let n = ctx.parent; n; n = n.parent) levels++;
  // Arrays made at their final size and filled by index: this runs for every context of every
  // transaction, and arrays grown by push (or spread from filtered copies) showed among its allocations.
  const scopes = new Array<LoopNode[]>(levels);
  let values: LoopNode[][] | undefined;
  let came = ctx;
  let level = 0;
  // The kinds of loop we came through (AT7, then LX): not part of an enclosing scope. Value paths do not
  // see them where one is nested in a loop of another kind either (a 4010 214's CD3 loop holds AT7 loops
  // of its own, with their MS1 and MS2, which an AT7 of the LX must not take for its own); loop paths
  // (`each: CD3`) get the loops whole.
  const through: string[] = [];
  for (let n = ctx.parent; n; came = n, n = n.parent) {
    through.push(came.trigger);
    const own = loopInstance(n.id, n.trigger, came.segments[0] && n.segments.includes(came.segments[0]) ? n.segments.filter((s) => s !== came.segments[0]) : n.segments, null, NO_CHILDREN);
    const children = n.children;
    let size = 1;
    for (let i = 0; i < children.length; i++) if (!through.includes(children[i].trigger)) size++;
    const scope = new Array<LoopNode>(size);
    scope[0] = own;
    let pruned: LoopNode[] | undefined;
    for (let i = 0, k = 1; i < children.length; i++) {
      if (through.includes(children[i].trigger)) continue;
      const child = children[i];
      const kept = without(child, through);
      if (kept !== child) pruned ??= scope.slice();
      if (pruned) pruned[k] = kept;
      scope[k++] = child;
    }
    if (pruned && !values) values = scopes.slice(0, level);
    if (values) values[level] = pruned ?? scope;
    scopes[level++] = scope;
  }
  ctx.scopes = scopes;
  ctx.valueScopes = values ?? scopes;
  return scopes;
}

/** enclosingScopes as value paths see them (LoopInstance.valueScopes). */
function valueScopes(ctx: LoopNode): LoopNode[][] {
  if (!ctx.valueScopes) enclosingScopes(ctx);
  return ctx.valueScopes!;
}

/**
 * `node` without the loops of the kinds in `triggers` anywhere below it: the node itself when it has none
 * (the usual case, no copy), else a copy whose children leave them out (its parent is the node's own).
 */
function without(node: LoopNode, triggers: string[]): LoopNode {
  const children = node.children;
  let kept: LoopNode[] | undefined;
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    const keep = triggers.includes(child.trigger) ? undefined : without(child, triggers);
    if (keep !== child && kept === undefined) kept = children.slice(0, i);
    if (kept !== undefined && keep !== undefined) kept.push(keep);
  }
  return kept === undefined ? node : loopInstance(node.id, node.trigger, node.segments, node.parent, kept);
}

/** Each segment matching `step` in `node` and below, as a context of its own inside the loop it sits in. */
function collectOwned(node: LoopNode, step: PathStep, d: Delimiters, out: LoopNode[]): void {
  const segs = node.segments;
  for (let i = 0; i < segs.length; i++) if (matches(segs[i], step, d)) out.push(loopInstance(node.id, segs[i].id, [segs[i]], node));
  const kids = node.children;
  for (let i = 0; i < kids.length; i++) collectOwned(kids[i], step, d, out);
}

export interface Located {
  value: string;
  segment: Segment;
}

function valuesIn(segs: Segment[], t: NonNullable<X12Path['target']>, d: Delimiters, all: boolean): Located[] {
  const out: Located[] = [];
  const n = all ? segs.length : Math.min(segs.length, 1);
  for (let i = 0; i < n; i++) {
    const v = elementValue(segs[i], t.element, t.component, t.repetition, d);
    if (v !== '') out.push({ value: v, segment: segs[i] });
  }
  return out;
}

/**
 * Values a value path addresses (the first only, unless `all`). An absolute path searches the whole
 * transaction. A relative path searches the current context (its segments and the loops inside it),
 * then the own segments of each enclosing loop up to the transaction, but not their other loops:
 * header segments (B10) are visible from a detail iteration, sibling iterations are not.
 */
export function evalValues(path: X12Path, ctx: LoopNode, d: Delimiters, all: boolean): Located[] {
  const t = path.target!;
  if (path.direct) {
    // Directly inside the current context, and nowhere else: no enclosing loop is searched.
    const segs: Segment[] = [];
    if (path.loops.length === 0) ownSegments(ctx, t, d, segs, !all);
    else {
      const nodes = directNodes(ctx, path.loops, d);
      for (let k = 0; k < nodes.length; k++) if (collectSegments(nodes[k], t, d, segs, !all) && !all) break;
    }
    return valuesIn(segs, t, d, all);
  }
  if (path.absolute || path.loops.length > 0) {
    const scopes = path.absolute ? [[root(ctx)]] : [[ctx], ...valueScopes(ctx)];
    for (let i = 0; i < scopes.length; i++) {
      const scope = scopes[i];
      // In an enclosing scope the loops listed are themselves candidates for the first step.
      const nodes = path.loops.length ? (i === 0 ? selectLoops(scope, path.loops, d) : selectLoopsFromScope(scope, path.loops, d)) : scope;
      const segs: Segment[] = [];
      for (let k = 0; k < nodes.length; k++) if (collectSegments(nodes[k], t, d, segs, !all) && !all) break;
      if (segs.length > 0 || path.absolute) return valuesIn(segs, t, d, all);
    }
    return [];
  }
  // Without `all`, the path names the element of the FIRST matching segment (as the language
  // reference says), even when that element is empty: no mixing of values from different segments.
  const inside: Segment[] = [];
  collectSegments(ctx, t, d, inside, !all);
  if (inside.length > 0) return valuesIn(inside, t, d, all);
  const scopes = valueScopes(ctx);
  for (let i = 0; i < scopes.length; i++) {
    const scope = scopes[i];
    const segs: Segment[] = [];
    for (let k = 0; k < scope.length; k++) if (collectSegments(scope[k], t, d, segs, !all) && !all) break;
    if (segs.length > 0) return valuesIn(segs, t, d, all);
  }
  return [];
}

/** The first segment in `node` (own segments, then its loops, depth first) that matches `step`. */
function firstMatch(node: LoopNode, step: PathStep, d: Delimiters): Segment | undefined {
  const segs = node.segments;
  for (let i = 0; i < segs.length; i++) if (matches(segs[i], step, d)) return segs[i];
  const kids = node.children;
  for (let i = 0; i < kids.length; i++) {
    const hit = firstMatch(kids[i], step, d);
    if (hit) return hit;
  }
  return undefined;
}

function firstIn(nodes: LoopNode[], step: PathStep, d: Delimiters): Segment | undefined {
  for (let i = 0; i < nodes.length; i++) {
    const hit = firstMatch(nodes[i], step, d);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * evalValues(path, ctx, d, false)[0]?.value without the arrays: the value of the first matching
 * segment, or undefined when there is none or its element is empty. This runs for nearly every field of
 * every transaction, so the node remembers the segments found from it (LoopInstance.found, by
 * segmentSlot): a 214 mapping reads AT7 five times and the heading's B10 from every iteration, and
 * walking the loops once per segment rather than once per field took about a tenth off the mapping.
 */
export function evalFirst(path: X12Path, ctx: LoopNode, d: Delimiters): string | undefined {
  const slot = path.segmentSlot;
  let seg: Segment | null | undefined;
  if (slot === undefined) seg = firstSegment(path, ctx, d) ?? null;
  else {
    // A node's cache holds one mapping's numbers: another mapping reading the same tree starts it afresh.
    let found = ctx.found;
    if (found === undefined || ctx.foundSlots !== path.slots) {
      // At its final size: written by index from empty, the array grew a backing store of 16 slots and more.
      found = ctx.found = new Array(path.slots!.count);
      ctx.foundSlots = path.slots;
    }
    seg = found[slot];
    if (seg === undefined) found[slot] = seg = firstSegment(path, ctx, d) ?? null;
  }
  if (seg === null) return undefined;
  const t = path.target!;
  const v = elementValue(seg, t.element, t.component, t.repetition, d);
  return v === '' ? undefined : v;
}

/** The segment a value path names from `ctx` (its first match, as evalFirst reads), whether or not the element has a value. */
export function firstSegment(path: X12Path, ctx: LoopNode, d: Delimiters): Segment | undefined {
  const t = path.target!;
  let seg: Segment | undefined;
  if (path.direct) {
    if (path.loops.length === 0) {
      const own: Segment[] = [];
      ownSegments(ctx, t, d, own, true);
      seg = own[0];
    } else seg = firstIn(directNodes(ctx, path.loops, d), t, d);
  } else if (path.absolute) {
    const r = root(ctx);
    seg = firstIn(path.loops.length ? selectLoops([r], path.loops, d) : [r], t, d);
  } else if (path.loops.length > 0) {
    seg = firstIn(selectLoops([ctx], path.loops, d), t, d);
    if (!seg) {
      const scopes = valueScopes(ctx);
      for (let i = 0; i < scopes.length && !seg; i++) seg = firstIn(selectLoopsFromScope(scopes[i], path.loops, d), t, d);
    }
  } else {
    seg = firstMatch(ctx, t, d);
    if (!seg) {
      const scopes = valueScopes(ctx);
      for (let i = 0; i < scopes.length && !seg; i++) seg = firstIn(scopes[i], t, d);
    }
  }
  return seg;
}
