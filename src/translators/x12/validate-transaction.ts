// Checks one transaction set (ST..SE) against its transaction-set schema: segment order, loops and their
// triggers, loop and segment repeat limits, missing mandatory segments, unknown segments, then every
// placed segment's elements (count, mandatory, type, length, date/time, code lists, repetitions,
// components, and X12 syntax notes). Every finding carries the catalogue code and the coordinates a
// 997 AK3/AK4 or 999 IK3/IK4 needs (segment id and position, loop id, element/component/repetition
// position, element reference number, bad value).
//
// ST02, SE01 and SE02 are envelope facts the reader checks; they are not checked again here. One bad
// segment never stops the rest: all findings are collected. The function never throws.
//
// A clean placement is remembered by its segment-id sequence (StructurePlan): the next transaction with
// the same ids is placed from it, and only its elements are checked afresh.
//
// For 997 and 999, a few semantic rules that no schema can express are checked too (ackConsistency):
// AK9 counts must agree with each other, with AK901 and with the AK5/IK5 codes.

import type { ErrorCode } from '../../errors/catalogue.js';
import { issue, type IssueDetails } from './issues.js';
import { elementLocation } from './element-location.js';
import { compileSegmentCheck } from './segment-check.js';
import { allDigits, badCharAt, isControlChar, numericDigits, validDate, validTime } from './value-checks.js';
import { loopInstance, type Location, type LoopInstance, type Segment, type TransactionSet, type X12Issue } from './model.js';
import {
  loopTrigger, schemaForTransaction, T_DT, T_ID, T_NUM, T_R, T_TM,
  type CompiledElement, type CompiledLoop, type CompiledSchema, type CompiledSegment, type SyntaxRule,
} from './schema.js';

export interface ValidateTransactionOptions {
  /**
   * Version to validate against instead of the transaction's own GS08/ISA12: a group version
   * ("004010VICS", "005010X231A1"), an ISA12 ("00401") or a schema version ("004010", "004030", "005010").
   */
  version?: string;
  /**
   * Severity of X12 syntax-note violations (paired, required, exclusion, conditional, list conditional).
   * Default 'warning': real files break them often (e.g. N705 tare weight without N716), and partner
   * guides decide. 'error' makes them count; 'ignore' skips them.
   */
  syntaxNotes?: 'error' | 'warning' | 'ignore';
  /**
   * What to do with a value outside an informative (not closed) code list. Default 'ignore'; 'warning'
   * reports X12_ELEMENT_INVALID_CODE as a warning. Values outside a closed list are always errors.
   */
  openCodeLists?: 'warning' | 'ignore';
  /** Also return the loop id of every segment (index-aligned with tx.segments). */
  loops?: boolean;
  /** Also return the loop tree (what mappings read): built while placing segments, so no second pass. */
  tree?: boolean;
  /**
   * With `tree`: place a transaction whose segment-id sequence was placed cleanly before from what that
   * placement decided (default true). False places every segment afresh (the tests compare both).
   */
  placementMemory?: boolean;
  /**
   * Whether a segment is first asked of its generated check (segment-check.ts), which answers whether it
   * is clean; only segments it doubts go through the element loop (default true). False sends every
   * segment through the loop (the tests compare both).
   */
  segmentChecks?: boolean;
}

export interface TransactionValidation {
  issues: X12Issue[];
  /** False when no schema applies (checked at the envelope level only), which is not an error. */
  schemaChecked: boolean;
  /** The schema version applied, when one was. */
  schemaVersion?: string;
  /**
   * With `options.loops`: the innermost loop id of each segment (null for heading/summary segments,
   * and for segments that could not be placed).
   */
  loops?: (string | null)[];
  /**
   * With `options.tree`: the transaction as nested loop instances. Segments that could not be placed sit
   * in the root and end the open loop instances. Without a schema the tree is flat (all segments in the root).
   */
  tree?: LoopInstance;
}

function rootInstance(): LoopInstance {
  return loopInstance('ST', 'ST', [], null);
}

/** The tree of a transaction no schema describes: every segment in the root. */
function flatTree(tx: TransactionSet): LoopInstance {
  const root = rootInstance();
  root.segments = Array.isArray(tx?.segments) ? tx.segments : [];
  return root;
}

export function validateTransaction(tx: TransactionSet, options: ValidateTransactionOptions = {}): TransactionValidation {
  let schema: CompiledSchema | null;
  try {
    schema = schemaForTransaction(tx, options.version);
  } catch (err) {
    const first = tx?.segments?.[0];
    return {
      issues: [issue('X12_TRANSACTION_NOT_SUPPORTED', `the transaction-set schema could not be loaded: ${errorMessage(err)}`,
        first?.loc ?? { offset: 0, line: 1, column: 1 }, { segmentId: 'ST', segmentPosition: 1 })],
      schemaChecked: false,
      ...(options.tree && { tree: flatTree(tx) }),
    };
  }
  if (!schema) return { issues: [], schemaChecked: false, ...(options.tree && { tree: flatTree(tx) }) };
  const v = new Validator(tx, schema, options);
  try {
    v.run();
  } catch (err) {
    // Not expected (run() guards each step); keep what was found and say the check stopped.
    const first = tx.segments?.[0];
    v.issues.push(issue('X12_SEGMENT_UNRECOGNIZED', `schema validation stopped: ${errorMessage(err)}`,
      first?.loc ?? { offset: 0, line: 1, column: 1 }, { segmentId: first?.id ?? 'ST', segmentPosition: 1 }));
  }
  const result: TransactionValidation = { issues: v.issues, schemaChecked: true, schemaVersion: schema.version };
  if (options.loops) result.loops = v.loops;
  if (v.tree) result.tree = v.tree[0];
  return result;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------------------

interface Ctx {
  loop: CompiledLoop;
  /** Index of the last matched child, -1 before the first. */
  cursor: number;
  counts: Int32Array;
  /** Entered through a lenient entry segment: its trigger is not required. */
  lenient: boolean;
}

/** Reused context objects (validation is synchronous and never re-entered). */
const ctxPool: Ctx[] = [];

/**
 * What placing the segments of a transaction decided, when placing them found nothing wrong: per segment,
 * its definition, its innermost loop, and how the loop tree grew (the level from which new loop instances
 * opened, the depth it went into, and the loops opened, all segments' in one list).
 */
interface StructurePlan {
  /** The segment-id sequence placed. */
  ids: string[];
  defs: CompiledSegment[];
  loopIds: (string | null)[];
  openFrom: number[];
  depths: number[];
  opened: CompiledLoop[];
  /** The shape of the tree the plan builds, worked out on its first replay (see treeShapeOf). */
  shape?: TreeShape;
}

/**
 * How many segments and child loops each loop instance of a replayed tree holds, and where each goes:
 * replay then makes every array at its final size. Grown by push from empty, each array took a backing
 * store of 16 slots (V8's first growth step), most of it never used: a fifth of what validating a 214 allocated.
 */
interface TreeShape {
  /** Per instance, in the order they open (0 is the root): its number of segments and of child loops. */
  segmentCounts: number[];
  childCounts: number[];
  /** Per segment: its index among its instance's segments. */
  segmentSlots: number[];
  /** Per opened instance (opened[k]): its index among its parent's children. */
  childSlots: number[];
}

function treeShapeOf(plan: StructurePlan): TreeShape {
  const { openFrom, depths } = plan;
  const segmentCounts = [0];
  const childCounts = [0];
  const segmentSlots: number[] = [];
  const childSlots: number[] = [];
  const open: number[] = [0]; // instance index at each level
  for (let i = 0; i < depths.length; i++) {
    const depth = depths[i];
    for (let level = openFrom[i]; level < depth; level++) {
      const parent = open[level - 1];
      const index = segmentCounts.length;
      segmentCounts.push(0);
      childCounts.push(0);
      childSlots.push(childCounts[parent]++);
      open[level] = index;
    }
    segmentSlots.push(segmentCounts[open[depth - 1]]++);
  }
  return { segmentCounts, childCounts, segmentSlots, childSlots };
}

/** An array of `n` slots to be filled by index (an empty one shares nothing, and costs no backing store). */
function sized<T>(n: number): T[] {
  return n === 0 ? [] : new Array<T>(n);
}

interface StructureNode {
  next: Map<string, StructureNode>;
  plan: StructurePlan | null;
}

/**
 * Placement memory, per schema: a trie of segment-id sequences whose leaves hold the plan their placement
 * gave. Where a segment goes, which loops open and which mandatory segments are missing depend on nothing
 * but the sequence of ids, and the transactions of a file mostly repeat a few sequences. A transaction whose
 * sequence placed cleanly before is placed again from the plan (its elements are still checked one by one);
 * any other goes through the placement itself. Bounded: everything is forgotten when the plans kept would
 * cover more than MAX_REMEMBERED_SEGMENTS segments (the trie has at most that many nodes too), so a file of
 * ever-different transactions costs one lookup more per segment and a few MB at most.
 */
interface StructureCache {
  root: StructureNode;
  /** Segments covered by the plans kept. */
  size: number;
  /**
   * The plan used last, checked before the trie: consecutive transactions mostly share their sequence, and
   * comparing ids (the reader's shared strings: pointer comparisons) costs less than a Map lookup per segment.
   */
  last: StructurePlan | null;
}

const structures = new WeakMap<CompiledSchema, StructureCache>();
const MAX_REMEMBERED_SEGMENTS = 50_000;

function structureCache(schema: CompiledSchema): StructureCache {
  let cache = structures.get(schema);
  if (!cache) {
    cache = { root: { next: new Map(), plan: null }, size: 0, last: null };
    structures.set(schema, cache);
  }
  return cache;
}

function samePlacement(plan: StructurePlan, segs: Segment[]): boolean {
  const ids = plan.ids;
  if (ids.length !== segs.length) return false;
  for (let i = 0; i < ids.length; i++) if (idOf(segs[i]) !== ids[i]) return false;
  return true;
}

/** The segment's id, or null for something that is not a well-formed segment (never memorised). */
function idOf(seg: Segment): string | null {
  return seg !== null && typeof seg === 'object' && typeof seg.id === 'string' ? seg.id : null;
}

function rememberedPlan(schema: CompiledSchema, segs: Segment[]): StructurePlan | null {
  const cache = structureCache(schema);
  if (cache.last !== null && samePlacement(cache.last, segs)) return cache.last;
  let node: StructureNode | undefined = cache.root;
  for (let i = 0; i < segs.length && node !== undefined; i++) {
    const id = idOf(segs[i]);
    node = id === null ? undefined : node.next.get(id);
  }
  const plan = node?.plan ?? null;
  if (plan !== null) cache.last = plan;
  return plan;
}

function rememberPlan(schema: CompiledSchema, segs: Segment[], plan: StructurePlan): void {
  const cache = structureCache(schema);
  if (cache.size + segs.length > MAX_REMEMBERED_SEGMENTS) {
    cache.root.next.clear();
    cache.size = 0;
    cache.last = null;
  }
  let node = cache.root;
  for (const seg of segs) {
    const id = idOf(seg);
    if (id === null) return;
    let next = node.next.get(id);
    if (!next) {
      next = { next: new Map(), plan: null };
      node.next.set(id, next);
    }
    node = next;
  }
  if (node.plan === null) cache.size += segs.length;
  node.plan = plan;
  cache.last = plan;
}

class Validator {
  readonly issues: X12Issue[] = [];
  readonly loops: (string | null)[] = [];
  private readonly stack: Ctx[] = [];
  private depth = 0;
  private readonly comp: string | null;
  private readonly rep: string | null;
  /** The delimiters as char codes for plainValue: -1 when absent, -2 when longer than one char (never plain). */
  private readonly compCode: number;
  private readonly repCode: number;
  private readonly syntaxSeverity: 'error' | 'warning' | null;
  private readonly openCodes: boolean;
  /**
   * What a simple value's verdict depends on besides the value and its element: the component and
   * repetition separators and the open-code-list option, as one number (CompiledElement.cleanKey).
   */
  private readonly cleanKey: number;
  private readonly wantLoops: boolean;
  /**
   * With options.tree: the current loop instance at each stack level (tree[0] is the root). Instances
   * from level `treeValid` up are stale (a loop was re-entered, or an unplaced segment ended them) and are
   * opened afresh when the next segment is placed.
   */
  readonly tree: LoopInstance[] | null;
  private treeValid = 1;
  /** The plan being recorded while placing (with options.tree only: replaying rebuilds the tree). */
  private recording: StructurePlan | null = null;
  /** Findings about placement (anything not found in a segment's elements): a plan is kept only without any. */
  private structureIssues = 0;
  private inElements = false;
  private readonly placementMemory: boolean;
  /** Segments are asked of their generated checks first (off for delimiters longer than one char). */
  private readonly segmentChecks: boolean;

  constructor(private readonly tx: TransactionSet, private readonly schema: CompiledSchema, options: ValidateTransactionOptions) {
    const d = tx.interchange?.delimiters;
    this.comp = d?.component ? d.component : null;
    this.rep = d?.repetition ? d.repetition : null;
    this.compCode = delimiterCode(this.comp);
    this.repCode = delimiterCode(this.rep);
    const sn = options.syntaxNotes ?? 'warning';
    this.syntaxSeverity = sn === 'ignore' ? null : sn;
    this.openCodes = options.openCodeLists === 'warning';
    this.cleanKey = ((this.compCode + 3) * 0x10003 + (this.repCode + 3)) * 2 + (this.openCodes ? 1 : 0);
    this.wantLoops = options.loops === true;
    this.tree = options.tree === true ? [rootInstance()] : null;
    this.placementMemory = options.placementMemory !== false;
    this.segmentChecks = options.segmentChecks !== false && this.repCode !== -2 && this.compCode !== -2;
  }

  run(): void {
    const segs: Segment[] = Array.isArray(this.tx.segments) ? this.tx.segments : [];
    if (this.tree && this.placementMemory) {
      const plan = rememberedPlan(this.schema, segs);
      if (plan && this.replay(segs, plan)) {
        this.afterPlacement(segs);
        return;
      }
      this.recording = { ids: [], defs: [], loopIds: [], openFrom: [], depths: [], opened: [] };
    }
    this.push(this.schema.root, false);
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      const mark = this.loops.length;
      try {
        this.segment(seg);
      } catch (err) {
        // A malformed segment object must not stop the others.
        this.inElements = false;
        this.add('X12_SEGMENT_UNRECOGNIZED', `segment could not be checked: ${errorMessage(err)}`, seg, null, {});
        if (this.wantLoops) {
          this.loops.length = mark;
          this.loops.push(null);
        }
        if (this.tree) this.unplacedInTree(seg);
      }
    }
    try {
      this.finish(segs);
    } catch (err) {
      const last = segs[segs.length - 1];
      if (last) this.add('X12_SEGMENT_UNRECOGNIZED', `transaction could not be checked to the end: ${errorMessage(err)}`, last, null, {});
    }
    const plan = this.recording;
    if (plan !== null && this.structureIssues === 0 && plan.defs.length === segs.length) rememberPlan(this.schema, segs, plan);
    this.recording = null;
    this.afterPlacement(segs);
  }

  /** The checks that follow placement whichever way it was done: today the 997/999 semantic rules. */
  private afterPlacement(segs: Segment[]): void {
    if (this.schema.setId !== '997' && this.schema.setId !== '999') return;
    try {
      this.ackConsistency(segs);
    } catch (err) {
      const last = segs[segs.length - 1];
      if (last) this.add('X12_SEGMENT_UNRECOGNIZED', `transaction could not be checked to the end: ${errorMessage(err)}`, last, null, {});
    }
  }

  /**
   * Places the segments as `plan` says (a clean placement of the same id sequence) and checks their
   * elements. False, with everything undone, when checking a segment threw: run() then starts over the
   * usual way, which knows how to place what follows such a segment.
   */
  private replay(segs: Segment[], plan: StructurePlan): boolean {
    const tree = this.tree!;
    const { defs, loopIds, openFrom, depths, opened } = plan;
    const { segmentCounts, childCounts, segmentSlots, childSlots } = plan.shape ??= treeShapeOf(plan);
    tree[0].segments = sized(segmentCounts[0]);
    tree[0].children = sized(childCounts[0]);
    let k = 0;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      const loopId = loopIds[i];
      try {
        this.elements(seg, defs[i], loopId);
      } catch {
        this.issues.length = 0;
        this.loops.length = 0;
        tree[0] = rootInstance();
        this.treeValid = 1;
        return false;
      }
      if (this.wantLoops) this.loops.push(loopId);
      const depth = depths[i];
      for (let level = openFrom[i]; level < depth; level++) {
        const loop = opened[k];
        const parent = tree[level - 1];
        const node = loopInstance(loop.id ?? 'ST', loop.children[0]?.segmentId ?? '', sized(segmentCounts[k + 1]), parent, sized(childCounts[k + 1]));
        parent.children[childSlots[k]] = node;
        tree[level] = node;
        k++;
      }
      tree[depth - 1].segments[segmentSlots[i]] = seg;
    }
    return true;
  }

  // ---- structure -----------------------------------------------------------------------------------

  private push(loop: CompiledLoop, lenient: boolean): Ctx {
    let ctx = ctxPool[this.depth];
    if (!ctx) ctx = ctxPool[this.depth] = { loop, cursor: -1, counts: loop.scratch, lenient };
    ctx.loop = loop;
    ctx.cursor = -1;
    ctx.counts = loop.scratch;
    ctx.counts.fill(0);
    ctx.lenient = lenient;
    // A (re-)entered loop gets a new instance in the tree (the root, at depth 0, is made up front).
    if (this.depth > 0 && this.treeValid > this.depth) this.treeValid = this.depth;
    this.stack[this.depth++] = ctx;
    return ctx;
  }

  private get innermost(): CompiledLoop {
    return this.stack[this.depth - 1].loop;
  }

  /** The first child at or after the cursor that `id` can occupy (candidate code), or -1. */
  private findForward(ctx: Ctx, id: string): number {
    const cands = ctx.loop.index.get(id);
    if (!cands) return -1;
    for (let k = 0; k < cands.length; k++) {
      const child = cands[k] >> 1;
      if (child < ctx.cursor) continue;
      // A loop's trigger seen again inside the loop starts the next iteration: that is decided one level up.
      if (child === 0 && ctx.loop.id !== null) continue;
      if (child === ctx.cursor && k + 1 < cands.length) {
        // At its maximum already and the same segment is allowed again later: move on (e.g. a tolerant
        // structure listing a loop in two places).
        const node = ctx.loop.children[child];
        if (ctx.counts[child] >= node.max) continue;
      }
      return cands[k];
    }
    return -1;
  }

  private segment(seg: Segment): void {
    const id = typeof seg.id === 'string' ? seg.id : '';
    let level = this.depth - 1;
    let cand = -1;
    for (; level >= 0; level--) {
      cand = this.findForward(this.stack[level], id);
      if (cand >= 0) break;
    }
    if (level < 0) {
      this.unplaced(seg, id);
      if (this.wantLoops) this.loops.push(null);
      if (this.tree) this.unplacedInTree(seg);
      return;
    }
    while (this.depth - 1 > level) this.close(this.stack[--this.depth], seg);
    const def = this.place(this.stack[level], cand, seg);
    const loopId = this.innermost.id;
    this.inElements = true;
    this.elements(seg, def, loopId);
    this.inElements = false;
    if (this.recording) {
      this.recording.ids.push(id);
      this.recording.defs.push(def);
      this.recording.loopIds.push(loopId);
    }
    // Last, so that a segment whose check threw is not in the tree twice (run() puts it in the root).
    if (this.wantLoops) this.loops.push(loopId);
    if (this.tree) this.placeInTree(seg);
  }

  /** Adds a placed segment to the current loop instance, opening the instances it needs. */
  private placeInTree(seg: Segment): void {
    const tree = this.tree!;
    const depth = this.depth;
    const rec = this.recording;
    if (rec) {
      rec.openFrom.push(this.treeValid);
      rec.depths.push(depth);
    }
    for (let level = this.treeValid; level < depth; level++) {
      const loop = this.stack[level].loop;
      rec?.opened.push(loop);
      const parent = tree[level - 1];
      const node = loopInstance(loop.id ?? 'ST', loop.children[0]?.segmentId ?? '', [], parent);
      parent.children.push(node);
      tree[level] = node;
    }
    this.treeValid = depth;
    tree[depth - 1].segments.push(seg);
  }

  /** A segment that could not be placed goes to the root and ends the open loop instances. */
  private unplacedInTree(seg: Segment): void {
    this.tree![0].segments.push(seg);
    this.treeValid = 1;
  }

  /** Puts the segment in child `cand` of `ctx`, opening loops as needed; returns its definition. */
  private place(ctx: Ctx, cand: number, seg: Segment): CompiledSegment {
    const child = cand >> 1;
    const node = ctx.loop.children[child];
    if (child > ctx.cursor) {
      this.missing(ctx, ctx.cursor + 1, child, seg);
      ctx.cursor = child;
    }
    const n = ++ctx.counts[child];
    if (node.segment) {
      if (n > node.max) {
        this.add('X12_SEGMENT_OVER_MAX', `${seg.id} occurs more than its maximum of ${node.max}${where(ctx.loop.id)}`, seg, ctx.loop.id, {});
      }
      return node.segment;
    }
    const loop = node.loop as CompiledLoop;
    if (n > node.max) {
      this.add('X12_LOOP_OVER_MAX', `loop ${loop.id} (${node.segmentId}) occurs more than its maximum of ${node.max}`, seg, loop.id, {});
    }
    if ((cand & 1) === 0) {
      const inner = this.push(loop, false);
      inner.cursor = 0;
      inner.counts[0] = 1;
      return loopTrigger(loop);
    }
    // Lenient entry: the loop is opened without its trigger, and the segment is placed inside it.
    const inner = this.push(loop, true);
    const c2 = this.findForward(inner, seg.id);
    if (c2 < 0) throw new Error(`schema error: ${seg.id} is a lenient entry of loop ${loop.id} but not in it`);
    return this.place(inner, c2, seg);
  }

  /** Reports mandatory children in [from, to) of `ctx` that did not occur. */
  private missing(ctx: Ctx, from: number, to: number, at: Segment, skipSe = false): void {
    const children = ctx.loop.children;
    for (let k = from; k < to; k++) {
      const node = children[k];
      if (ctx.counts[k] >= node.min) continue;
      if (k === 0 && ctx.lenient) continue;
      if (skipSe && node.segmentId === 'SE' && ctx.loop.id === null) continue;
      if (node.loop) {
        this.add('X12_SEGMENT_MANDATORY_MISSING',
          `mandatory loop ${node.loop.id} (${node.segmentId}) is missing${ctx.loop.id ? ` in loop ${ctx.loop.id}` : ''}`,
          at, node.loop.id, {}, node.segmentId);
      } else {
        this.add('X12_SEGMENT_MANDATORY_MISSING', `mandatory segment ${node.segmentId} is missing${where(ctx.loop.id)}`,
          at, ctx.loop.id, {}, node.segmentId);
      }
    }
  }

  private close(ctx: Ctx, at: Segment): void {
    this.missing(ctx, ctx.cursor + 1, ctx.loop.children.length, at);
  }

  private finish(segs: Segment[]): void {
    const last = segs[segs.length - 1];
    if (!last) return;
    while (this.depth > 1) this.close(this.stack[--this.depth], last);
    const root = this.stack[0];
    // A missing SE is the reader's finding (X12_SE_MISSING); everything else missing at the end is ours.
    this.missing(root, root.cursor + 1, root.loop.children.length, last, true);
    this.depth = 0;
  }

  private unplaced(seg: Segment, id: string): void {
    const loopId = this.innermost.id;
    if (!isSegmentId(id)) {
      this.add('X12_SEGMENT_UNRECOGNIZED', `'${id}' is not a segment id`, seg, loopId, {});
      return;
    }
    if (this.schema.segmentIds.has(id)) {
      let earlier = false;
      for (let l = this.depth - 1; l >= 0 && !earlier; l--) {
        const cands = this.stack[l].loop.index.get(id);
        if (cands && (cands[0] >> 1) < this.stack[l].cursor) earlier = true;
      }
      if (earlier) this.add('X12_SEGMENT_OUT_OF_ORDER', `${id} is not in its proper sequence${where(loopId)}`, seg, loopId, {});
      else this.add('X12_SEGMENT_UNEXPECTED', `${id} is not expected here${where(loopId)}`, seg, loopId, {});
      return;
    }
    if (this.schema.knownSegmentIds.has(id)) {
      this.add('X12_SEGMENT_NOT_IN_SET', `${id} is not defined in transaction set ${this.schema.setId}`, seg, loopId, {});
      return;
    }
    this.add('X12_SEGMENT_UNRECOGNIZED', `unrecognized segment id ${id}`, seg, loopId, {});
  }

  // ---- elements ------------------------------------------------------------------------------------

  private elements(seg: Segment, def: CompiledSegment, loopId: string | null): void {
    const els: string[] = Array.isArray(seg.elements) ? seg.elements : [seg.id];
    if (this.segmentChecks) {
      // A clean segment (most are) is answered by one generated function; the loop below only runs for
      // segments it doubts, and is what reports.
      let check = def.check;
      if (check === undefined) check = def.check = compileSegmentCheck(def);
      if (check !== null && check(els, this.repCode, this.compCode, this.openCodes, this.syntaxSeverity !== null, seg.plain === true)) return;
    }
    const n = els.length - 1;
    const defs = def.elements;
    if (!defs) {
      for (let p = 1; p <= n; p++) {
        const v = els[p];
        if (typeof v === 'string' && badCharAt(v, 0, v.length) >= 0) {
          this.add('X12_ELEMENT_INVALID_CHARACTER', `${seg.id}${pad(p)} holds a control character`, seg, loopId,
            { elementPosition: p, badValue: v });
        }
      }
      return;
    }
    if (n > defs.length) {
      for (let p = defs.length + 1; p <= n; p++) {
        if (els[p] !== '' && els[p] !== undefined) {
          this.add('X12_ELEMENT_TOO_MANY', `${seg.id} has ${n} data elements; at most ${defs.length} are defined`, seg, loopId,
            { elementPosition: p, badValue: String(els[p]) });
          break;
        }
      }
    }
    // The positions holding a value (bit p), for the syntax notes' memory (syntaxMaskable: positions 1-30).
    let present = 0;
    for (let k = 0; k < defs.length; k++) {
      const ed = defs[k];
      if (ed.envelope) continue;
      const p = k + 1;
      const raw = p <= n ? els[p] : '';
      const v = typeof raw === 'string' ? raw : '';
      if (v.length > 0 && p <= 30) present |= 1 << p;
      if (v.length === 0) {
        if (ed.required) {
          this.add('X12_ELEMENT_MANDATORY_MISSING', `${ed.label} (${describe(ed)}) is mandatory but missing`, seg, loopId,
            { elementPosition: p, elementRef: ed.ref });
        }
        continue;
      }
      // Most values are one simple occurrence with nothing unusual in it: one scan proves that, and the
      // value goes straight to its type, length and code checks. Many repeat from one segment to the next
      // (qualifiers and other codes): an ID element remembers the last two it found clean. Other types
      // rarely repeat (names, numbers, dates), and comparing a new value with a remembered one of the same
      // length cost more than checking it.
      if (ed.components === null) {
        const remember = ed.type === T_ID;
        if (remember && ed.cleanKey === this.cleanKey && (v === ed.clean[0] || v === ed.clean[1])) continue;
        if (this.plainValue(v)) {
          const before = this.issues.length;
          this.simple(seg, ed, v, 0, v.length, p, 0, ed.repeat > 1 ? 1 : 0, loopId, true);
          if (remember && this.issues.length === before) this.rememberClean(ed, v);
          continue;
        }
      }
      this.element(seg, ed, v, p, loopId);
    }
    if (this.syntaxSeverity && def.syntax.length > 0) {
      // The notes only ask which elements are present: the same pattern as a segment whose notes all held
      // holds them too.
      if (def.syntaxMaskable && def.syntaxCleanMask === present) return;
      const before = this.issues.length;
      this.syntax(seg, def, els, loopId);
      if (def.syntaxMaskable && this.issues.length === before) def.syntaxCleanMask = present;
    }
  }

  private element(seg: Segment, ed: CompiledElement, v: string, p: number, loopId: string | null): void {
    const rep = this.rep;
    if (rep !== null && v.indexOf(rep) >= 0) {
      if (ed.repeat <= 1) {
        this.add('X12_ELEMENT_TOO_MANY_REPETITIONS', `${ed.label} is not repeatable but holds repetitions`, seg, loopId,
          { elementPosition: p, repetition: 2, elementRef: ed.ref, badValue: v });
        return;
      }
      let start = 0;
      for (let r = 1; ; r++) {
        let end = v.indexOf(rep, start);
        if (end < 0) end = v.length;
        if (r > ed.repeat) {
          this.add('X12_ELEMENT_TOO_MANY_REPETITIONS', `${ed.label} repeats more than ${ed.repeat} times`, seg, loopId,
            { elementPosition: p, repetition: r, elementRef: ed.ref, badValue: v.slice(start, end) });
          return;
        }
        this.occurrence(seg, ed, v, start, end, p, r, loopId);
        if (end >= v.length) return;
        start = end + rep.length;
      }
    }
    this.occurrence(seg, ed, v, 0, v.length, p, ed.repeat > 1 ? 1 : 0, loopId);
  }

  /** One occurrence (repetition) of an element: a composite or a simple value in v[start, end). */
  private occurrence(seg: Segment, ed: CompiledElement, v: string, start: number, end: number, p: number, r: number, loopId: string | null): void {
    const comp = this.comp;
    const comps = ed.components;
    if (!comps) {
      if (start === end) {
        if (ed.required) this.add('X12_ELEMENT_MANDATORY_MISSING', `${ed.label} (${describe(ed)}) is mandatory but missing`, seg, loopId, elementDetails(p, 0, r, ed, undefined));
        return;
      }
      if (comp !== null) {
        const at = v.indexOf(comp, start);
        if (at >= 0 && at < end) {
          this.add('X12_ELEMENT_TOO_MANY_COMPONENTS', `${ed.label} is a simple element but holds components`, seg, loopId,
            elementDetails(p, 2, r, ed, v.slice(start, end)));
          return;
        }
      }
      this.simple(seg, ed, v, start, end, p, 0, r, loopId);
      return;
    }
    if (start === end) {
      if (ed.required) this.add('X12_ELEMENT_MANDATORY_MISSING', `${ed.label} (${ed.name}) is mandatory but missing`, seg, loopId, elementDetails(p, 0, r, ed, undefined));
      return;
    }
    let cs = start;
    let sent = 0;
    for (let c = 1; ; c++) {
      sent = c;
      let ce = comp === null ? end : v.indexOf(comp, cs);
      if (ce < 0 || ce > end) ce = end;
      if (c > comps.length) {
        this.add('X12_ELEMENT_TOO_MANY_COMPONENTS', `${ed.label} has more than ${comps.length} components`, seg, loopId,
          elementDetails(p, c, r, ed, v.slice(cs, ce)));
        return;
      }
      const cd = comps[c - 1];
      if (cs === ce) {
        if (cd.required) {
          this.add('X12_ELEMENT_MANDATORY_MISSING', `${cd.label} (${describe(cd)}) is mandatory but missing`, seg, loopId,
            elementDetails(p, c, r, cd, undefined));
        }
      } else {
        this.simple(seg, cd, v, cs, ce, p, c, r, loopId);
      }
      if (ce >= end) break;
      cs = ce + (comp as string).length;
    }
    // Mandatory components after the last one sent.
    for (let c = sent + 1; c <= comps.length; c++) {
      if (comps[c - 1].required) {
        this.add('X12_ELEMENT_MANDATORY_MISSING', `${comps[c - 1].label} (${describe(comps[c - 1])}) is mandatory but missing`, seg, loopId,
          elementDetails(p, c, r, comps[c - 1], undefined));
      }
    }
  }

  /** Remembers a simple value found clean (see elements()); a change of delimiters or options forgets. */
  private rememberClean(ed: CompiledElement, v: string): void {
    if (ed.cleanKey !== this.cleanKey) {
      ed.cleanKey = this.cleanKey;
      ed.clean[0] = ed.clean[1] = undefined;
    }
    ed.clean[ed.cleanNext] = v;
    ed.cleanNext ^= 1;
  }

  /** True when `v` holds no control character, no repetition separator and no component separator. */
  private plainValue(v: string): boolean {
    const rep = this.repCode;
    const comp = this.compCode;
    if (rep === -2 || comp === -2) return false;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (isControlChar(c) || c === rep || c === comp) return false;
    }
    return true;
  }

  /**
   * A simple value v[start, end), non-empty: characters (unless `clean`: plainValue checked them),
   * type, length, date/time, code list.
   */
  private simple(seg: Segment, ed: CompiledElement, v: string, start: number, end: number, p: number, c: number, r: number, loopId: string | null, clean = false): void {
    const bad = clean ? -1 : badCharAt(v, start, end);
    if (bad >= 0) {
      this.add('X12_ELEMENT_INVALID_CHARACTER', `${ed.label} holds a control character (code ${v.charCodeAt(bad)})`, seg, loopId,
        elementDetails(p, c, r, ed, v.slice(start, end)));
      return;
    }
    let len = end - start;
    switch (ed.type) {
      case T_NUM: {
        len = numericDigits(v, start, end, false);
        if (len < 0) {
          this.add('X12_ELEMENT_INVALID_CHARACTER', `${ed.label} must be a whole number (${ed.typeName}) but is '${v.slice(start, end)}'`, seg, loopId,
            elementDetails(p, c, r, ed, v.slice(start, end)));
          return;
        }
        break;
      }
      case T_R: {
        len = numericDigits(v, start, end, true);
        if (len < 0) {
          this.add('X12_ELEMENT_INVALID_CHARACTER', `${ed.label} must be a decimal number but is '${v.slice(start, end)}'`, seg, loopId,
            elementDetails(p, c, r, ed, v.slice(start, end)));
          return;
        }
        break;
      }
      case T_DT:
        if (!allDigits(v, start, end)) {
          this.add('X12_ELEMENT_INVALID_DATE', `${ed.label} must be a date (CCYYMMDD) but is '${v.slice(start, end)}'`, seg, loopId,
            elementDetails(p, c, r, ed, v.slice(start, end)));
          return;
        }
        break;
      case T_TM:
        if (!allDigits(v, start, end)) {
          this.add('X12_ELEMENT_INVALID_TIME', `${ed.label} must be a time (HHMM[SS[D..]]) but is '${v.slice(start, end)}'`, seg, loopId,
            elementDetails(p, c, r, ed, v.slice(start, end)));
          return;
        }
        break;
      default:
        break;
    }
    if (len < ed.min) {
      this.add('X12_ELEMENT_TOO_SHORT', `${ed.label} '${v.slice(start, end)}' is shorter than ${ed.min}`, seg, loopId,
        elementDetails(p, c, r, ed, v.slice(start, end)));
      return;
    }
    // Characters, not UTF-16 units: a character outside the BMP (an emoji) is one, as the writer counts it.
    if (len > ed.max && (ed.type === T_NUM || ed.type === T_R || codePointLength(v, start, end) > ed.max)) {
      this.add('X12_ELEMENT_TOO_LONG', `${ed.label} '${v.slice(start, end)}' is longer than ${ed.max}`, seg, loopId,
        elementDetails(p, c, r, ed, v.slice(start, end)));
      return;
    }
    if (ed.type === T_DT && !validDate(v, start, end)) {
      this.add('X12_ELEMENT_INVALID_DATE', `${ed.label} '${v.slice(start, end)}' is not a valid date`, seg, loopId,
        elementDetails(p, c, r, ed, v.slice(start, end)));
      return;
    }
    if (ed.type === T_TM && !validTime(v, start, end)) {
      this.add('X12_ELEMENT_INVALID_TIME', `${ed.label} '${v.slice(start, end)}' is not a valid time`, seg, loopId,
        elementDetails(p, c, r, ed, v.slice(start, end)));
      return;
    }
    const codes = ed.codes;
    if (codes !== null && (ed.closed || this.openCodes)) {
      const value = start === 0 && end === v.length ? v : v.slice(start, end);
      if (!codes.has(value)) {
        const d = elementDetails(p, c, r, ed, value);
        if (!ed.closed) d.severity = 'warning';
        this.add('X12_ELEMENT_INVALID_CODE', `${ed.label} '${value}' is not a ${ed.closed ? 'valid' : 'known'} code for ${describe(ed)}`, seg, loopId, d);
      }
    }
  }

  private syntax(seg: Segment, def: CompiledSegment, els: string[], loopId: string | null): void {
    const rules = def.syntax;
    for (let k = 0; k < rules.length; k++) {
      const rule = rules[k];
      const ps = rule.positions;
      switch (rule.kind) {
        case 'P': {
          let n = 0;
          for (let i = 0; i < ps.length; i++) if (present(els, ps[i])) n++;
          if (n > 0 && n < ps.length) {
            for (let i = 0; i < ps.length; i++) {
              if (!present(els, ps[i])) this.syntaxIssue(seg, def, els, loopId, rule, ps[i], `is paired with ${names(seg.id, ps, ps[i])}`);
            }
          }
          break;
        }
        case 'R': {
          let any = false;
          for (let i = 0; i < ps.length && !any; i++) any = present(els, ps[i]);
          if (!any) this.syntaxIssue(seg, def, els, loopId, rule, ps[0], `or one of ${names(seg.id, ps, ps[0])} is required`);
          break;
        }
        case 'E': {
          let seen = 0;
          for (let i = 0; i < ps.length; i++) {
            if (present(els, ps[i]) && ++seen === 2) {
              this.syntaxIssue(seg, def, els, loopId, rule, ps[i], `may not be present together with ${names(seg.id, ps, ps[i])}`);
              break;
            }
          }
          break;
        }
        case 'C': {
          if (present(els, ps[0])) {
            for (let i = 1; i < ps.length; i++) {
              if (!present(els, ps[i])) this.syntaxIssue(seg, def, els, loopId, rule, ps[i], `is required when ${seg.id}${pad(ps[0])} is present`);
            }
          }
          break;
        }
        case 'L': {
          if (present(els, ps[0])) {
            let any = false;
            for (let i = 1; i < ps.length && !any; i++) any = present(els, ps[i]);
            if (!any) this.syntaxIssue(seg, def, els, loopId, rule, ps[1], `or one of ${names(seg.id, ps.slice(2), -1)} is required when ${seg.id}${pad(ps[0])} is present`);
          }
          break;
        }
      }
    }
  }

  private syntaxIssue(seg: Segment, def: CompiledSegment, els: string[], loopId: string | null, rule: SyntaxRule, pos: number, why: string): void {
    const exclusion = rule.kind === 'E';
    const ed = (def.elements as CompiledElement[])[pos - 1];
    const d: IssueDetails = { elementPosition: pos, severity: this.syntaxSeverity ?? 'warning' };
    if (ed?.ref) d.elementRef = ed.ref;
    if (exclusion) d.badValue = els[pos];
    this.add(exclusion ? 'X12_ELEMENT_EXCLUSION_VIOLATED' : 'X12_ELEMENT_CONDITIONAL_MISSING',
      `${seg.id}${pad(pos)} ${why} (syntax note ${rule.text})`, seg, loopId, d);
  }

  // ---- 997 / 999 semantic rules ---------------------------------------------------------------------

  /**
   * ackConsistency: rules of the 997/999 that are about meaning, not syntax. Reported as
   * X12_ACK_MALFORMED (an inbound acknowledgment that cannot be interpreted consistently):
   *  - AK904 (accepted) must not exceed AK903 (received);
   *  - AK901 must agree with the counts: A/E = all received sets accepted, P = some but not all,
   *    R/M/W/X = none accepted;
   *  - the AK5/IK5 codes must fit the counts: no more accepted (A/E) AK5s than AK904, no more rejected
   *    ones than AK903 - AK904, and no more AK2 loops than AK903.
   */
  private ackConsistency(segs: Segment[]): void {
    let ak9: Segment | null = null;
    let ak2 = 0;
    let accepted = 0;
    let rejected = 0;
    const trailer = this.schema.setId === '999' ? 'IK5' : 'AK5';
    for (const s of segs) {
      if (s.id === 'AK9') ak9 = s;
      else if (s.id === 'AK2') ak2++;
      else if (s.id === trailer) {
        const code = s.elements[1] ?? '';
        if (code === 'A' || code === 'E') accepted++;
        else if (code === 'R' || code === 'M' || code === 'W' || code === 'X') rejected++;
      }
    }
    if (!ak9) return;
    const status = ak9.elements[1] ?? '';
    const received = toInt(ak9.elements[3]);
    const ok = toInt(ak9.elements[4]);
    if (received < 0 || ok < 0) return; // element errors already reported
    const flag = (pos: number, msg: string) => this.add('X12_ACK_MALFORMED', msg, ak9 as Segment, null,
      { elementPosition: pos, elementRef: pos === 1 ? '715' : pos === 3 ? '123' : '2', badValue: (ak9 as Segment).elements[pos] ?? '' });
    if (ok > received) {
      flag(4, `AK904 says ${ok} transaction sets were accepted but AK903 says only ${received} were received`);
      return;
    }
    if ((status === 'A' || status === 'E') && ok !== received) {
      flag(1, `AK901 '${status}' means every set was accepted, but AK904 (${ok}) differs from AK903 (${received})`);
    } else if (status === 'P' && !(ok > 0 && ok < received)) {
      flag(1, `AK901 'P' (partially accepted) needs 0 < AK904 < AK903, but AK903=${received} and AK904=${ok}`);
    } else if ((status === 'R' || status === 'M' || status === 'W' || status === 'X') && ok !== 0) {
      flag(1, `AK901 '${status}' rejects the group, but AK904 says ${ok} transaction set(s) were accepted`);
    }
    if (accepted > ok) {
      flag(4, `${accepted} ${trailer} segment(s) accept a transaction set but AK904 says ${ok} were accepted`);
    } else if (rejected > received - ok) {
      flag(4, `${rejected} ${trailer} segment(s) reject a transaction set but AK903-AK904 leaves ${received - ok} rejected`);
    } else if (ak2 > received) {
      flag(3, `${ak2} AK2 loops for ${received} received transaction set(s) (AK903)`);
    }
  }

  // ---- issues --------------------------------------------------------------------------------------

  private add(code: ErrorCode, message: string, seg: Segment, loopId: string | null, details: IssueDetails, segmentId?: string): void {
    if (!this.inElements) this.structureIssues++;
    const d: IssueDetails = details;
    const s: Partial<Segment> = seg ?? {};
    d.segmentId = segmentId ?? (typeof s.id === 'string' ? s.id : '');
    if (typeof s.position === 'number' && s.position > 0) d.segmentPosition = s.position;
    if (loopId) d.loopId = loopId;
    for (const k of Object.keys(d) as (keyof IssueDetails)[]) if (d[k] === undefined) delete d[k];
    this.issues.push(issue(code, message, this.locationOf(s, d), d));
  }

  /**
   * Where a finding points: a finding about an element at that element (its repetition, its component),
   * one about the segment as a whole at the segment. Worked out here, for findings only.
   */
  private locationOf(s: Partial<Segment>, d: IssueDetails): Location {
    if (s.loc === undefined) return { offset: 0, line: 1, column: 1 };
    const delimiters = this.tx.interchange?.delimiters;
    if (d.elementPosition === undefined || delimiters === undefined) return s.loc;
    return elementLocation(s as Segment, d as IssueDetails & { elementPosition: number }, delimiters);
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers: char-code loops, no regular expressions on the hot path.

/** Characters (code points) in v[start, end): UTF-16 units less the second half of each surrogate pair. */
function codePointLength(v: string, start: number, end: number): number {
  let n = end - start;
  for (let i = start + 1; i < end; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) {
      const h = v.charCodeAt(i - 1);
      if (h >= 0xd800 && h <= 0xdbff) n--;
    }
  }
  return n;
}

function elementDetails(p: number, c: number, r: number, ed: CompiledElement, badValue: string | undefined): IssueDetails {
  const d: IssueDetails = { elementPosition: p };
  if (c > 0) d.componentPosition = c;
  if (r > 0) d.repetition = r;
  if (ed.ref) d.elementRef = ed.ref;
  if (badValue !== undefined) d.badValue = badValue;
  return d;
}

function describe(ed: CompiledElement): string {
  return ed.ref ? `${ed.ref} ${ed.name}` : ed.name;
}

function where(loopId: string | null): string {
  return loopId ? ` in loop ${loopId}` : '';
}

function pad(p: number): string {
  return p < 10 ? `0${p}` : String(p);
}

function names(segId: string, ps: number[], except: number): string {
  return ps.filter((x) => x !== except).map((x) => segId + pad(x)).join(', ');
}

function present(els: string[], pos: number): boolean {
  const v = els[pos];
  return typeof v === 'string' && v.length > 0;
}

/** 2-3 upper-case letters or digits, starting with a letter. */
function isSegmentId(id: string): boolean {
  if (id.length < 2 || id.length > 3) return false;
  const c0 = id.charCodeAt(0);
  if (c0 < 65 || c0 > 90) return false;
  for (let i = 1; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57))) return false;
  }
  return true;
}

/** A delimiter as a char code for plainValue: -1 when absent, -2 when longer than one char (never plain). */
function delimiterCode(d: string | null): number {
  return d === null ? -1 : d.length === 1 ? d.charCodeAt(0) : -2;
}

/** A non-negative integer from digits, or -1. */
function toInt(v: string | undefined): number {
  if (!v || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}
