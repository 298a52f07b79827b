// Transaction-set schemas: loads the JSON data files in ./schemas/ (see schemas/README.md), compiles them
// once into lookup tables for the validator, and maps a group's version (GS08, or ISA12 without a GS) to
// the schema version to apply.
//
// Schema versions:
//   004010  GS08 004010 and its implementation suffixes (004010VICS, 004010UCS ...), ISA12 00400/00401
//   004030  GS08 004020-004060 (ISA12 00402-00406): a tolerant reading of the releases between 4010 and
//           5010. Structures are the 004010 ones (the 990 cut down to ST B1 N9 SE from 004020 is a subset
//           of them), except the 214, which was restructured in 004030 but whose real files still send the
//           004010 heading N1 loop: its 004030 structure accepts both layouts. Elements use the 005010
//           dictionary (newer elements, longer fields), keeping the larger 004010 maxima.
//   005010  GS08 005010-005050 (any suffix: 005010X231A1 ...), ISA12 00501-00505
// Anything older than 004010 or newer than 0050x0 has no schema (null): such sets are checked at the
// envelope level only. The 999 exists from 005010 only; a 999 in an older group is read with its 005010
// schema.

import { readFileSync } from 'node:fs';
import { internalized, type TransactionSet } from './model.js';
import type { SegmentCheck } from './segment-check.js';

export type SchemaVersion = '004010' | '004030' | '005010';

/** Element data types, as numbers for fast switching. */
export const T_AN = 0;
export const T_ID = 1;
export const T_NUM = 2; // N0..N9: signed integer with implied decimals
export const T_R = 3;
export const T_DT = 4;
export const T_TM = 5;

export interface CompiledElement {
  /** Label for messages, e.g. "N101" or "AK401-1". */
  label: string;
  /** Data element reference number (AK402/IK402); undefined for composites and unknown references. */
  ref: string | undefined;
  name: string;
  type: number;
  /** Source type name ("AN", "N2", ...). */
  typeName: string;
  min: number;
  max: number;
  /** Mandatory (M). */
  required: boolean;
  codes: ReadonlySet<string> | null;
  /** True when `codes` is the complete list (other values are errors). */
  closed: boolean;
  /** Maximum repetitions (1: not repeatable). */
  repeat: number;
  /** Components of a composite, or null for a simple element. */
  components: CompiledElement[] | null;
  /** Checked by the reader (ST01/ST02/SE01/SE02): skipped by the validator. */
  envelope: boolean;
  /**
   * The validator's memory (validate-transaction.ts, ID elements only): the last two simple values this
   * element found clean, and the delimiters and options they were found clean under (Validator.cleanKey).
   */
  clean: [string | undefined, string | undefined];
  cleanKey: number;
  cleanNext: number;
}

export interface SyntaxRule {
  kind: 'P' | 'R' | 'E' | 'C' | 'L';
  /** 1-based element positions. */
  positions: number[];
  text: string;
}

export interface CompiledSegment {
  id: string;
  name: string;
  /** Element definitions by position (index 0 = position 1), or null when the layout is not modelled. */
  elements: CompiledElement[] | null;
  syntax: SyntaxRule[];
  /**
   * Whether the validator may remember syntax-note verdicts by which elements are present (see
   * syntaxCleanMask): every rule position is a modelled element numbered 1-30 and none is an envelope one.
   */
  syntaxMaskable: boolean;
  /** The validator's memory: the positions present (bit p) in the last segment whose notes all held, or -1. */
  syntaxCleanMask: number;
  /** The generated clean-segment check (segment-check.ts), made on first use; null when the layout is not modelled. */
  check: SegmentCheck | null | undefined;
}

export interface CompiledNode {
  /** The segment id of a segment node, or the trigger segment id of a loop node. */
  segmentId: string;
  min: number;
  max: number;
  /** Set for a segment node. */
  segment: CompiledSegment | null;
  /** Set for a loop node. */
  loop: CompiledLoop | null;
}

export interface CompiledLoop {
  /** Loop id (AK303), null for the transaction set itself. */
  id: string | null;
  children: CompiledNode[];
  /** Segments that may open this loop although its trigger is absent (tolerance for real files). */
  lenientEntry: string[];
  /**
   * Segment id -> candidate children, ascending: child index * 2, plus 1 when the segment only opens the
   * child loop through its lenient entry.
   */
  index: Map<string, number[]>;
  /** Scratch occurrence counters (one per child) reused across validations; a loop never nests itself. */
  scratch: Int32Array;
}

export interface CompiledSchema {
  setId: string;
  version: SchemaVersion;
  dictionaryVersion: string;
  name: string;
  functionalGroup: string;
  root: CompiledLoop;
  /** Every segment id used anywhere in this set's structure. */
  segmentIds: ReadonlySet<string>;
  /** Every segment id the dictionary knows of (including ids of other sets). */
  knownSegmentIds: ReadonlySet<string>;
}

// ---------------------------------------------------------------------------------------------------
// Raw JSON shapes

interface RawElementDef { name: string; type: string; min: number; max: number; codes?: string[]; closed?: boolean }
interface RawElementDict { version: string; base?: string; elements: Record<string, RawElementDef> }
interface RawElementUse {
  pos?: string;
  ref?: string | null;
  composite?: string;
  name?: string;
  type?: string;
  min?: number;
  max?: number;
  req: 'M' | 'O' | 'C';
  repeat?: number;
  envelope?: boolean;
  components?: RawElementUse[];
}
interface RawSegmentDef { name: string; elements: RawElementUse[] | 'any'; syntax?: string[] }
interface RawSegmentDict {
  version: string;
  base?: string;
  composites?: Record<string, string>;
  segments: Record<string, RawSegmentDef>;
  otherSegmentIds?: string[];
}
interface RawNode { segment?: string; loop?: string; min?: number; max?: number; lenientEntry?: string[]; content?: RawNode[] }
interface RawStructure { set: string; version: string; name: string; functionalGroup: string; structure: RawNode[] }
type RawSetEntry = string | { structure: string; dictionary?: string };
interface RawIndex { versions: Record<string, { dictionary: string; sets: Record<string, RawSetEntry> }> }

const SCHEMA_DIR = new URL('./schemas/', import.meta.url);

function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, SCHEMA_DIR), 'utf8')) as T;
}

// ---------------------------------------------------------------------------------------------------
// Version mapping

/**
 * The schema version for a group version (GS08, e.g. "004010VICS", "005010X231A1") or, when the group
 * version is missing or unreadable, the interchange version (ISA12, e.g. "00401"). Also accepts a schema
 * version itself. Null when Waybill has no schema for that version.
 */
export function resolveSchemaVersion(groupVersion?: string | null, interchangeVersion?: string | null): SchemaVersion | null {
  const g = fromGroupVersion(groupVersion);
  if (g !== undefined) return g;
  return fromInterchangeVersion(interchangeVersion);
}

/** undefined: not a readable version string (fall back to ISA12); null: readable but unsupported. */
function fromGroupVersion(v: string | null | undefined): SchemaVersion | null | undefined {
  if (!v) return undefined;
  const s = v.trim();
  let digits = 0;
  while (digits < s.length && digits < 6 && s.charCodeAt(digits) >= 48 && s.charCodeAt(digits) <= 57) digits++;
  let code: string;
  if (digits === 6) code = s.slice(0, 6);
  else if (digits === 4 && (s.length === 4 || !isDigit(s.charCodeAt(4)))) code = `00${s.slice(0, 4)}`; // "4010"
  else return undefined;
  if (code === '004010') return '004010';
  if (/^0040[2-6]0$/.test(code)) return '004030';
  if (/^0050[1-5]0$/.test(code)) return '005010';
  return null;
}

function fromInterchangeVersion(v: string | null | undefined): SchemaVersion | null {
  const s = (v ?? '').trim();
  if (s === '00400' || s === '00401') return '004010';
  if (/^0040[2-6]$/.test(s)) return '004030';
  if (/^0050[1-5]$/.test(s)) return '005010';
  return null;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

// ---------------------------------------------------------------------------------------------------
// Loading and compiling (all cached)

let indexCache: RawIndex | null = null;
const elementDicts = new Map<string, Record<string, RawElementDef>>();
const segmentDicts = new Map<string, { segments: Map<string, CompiledSegment>; known: Set<string> }>();
const schemaCache = new Map<string, CompiledSchema | null>();

function index(): RawIndex {
  if (!indexCache) indexCache = readJson<RawIndex>('index.json');
  return indexCache;
}

function elementDict(version: string): Record<string, RawElementDef> {
  let d = elementDicts.get(version);
  if (!d) {
    const raw = readJson<RawElementDict>(`elements.${version}.json`);
    d = { ...(raw.base ? elementDict(raw.base) : {}), ...raw.elements };
    elementDicts.set(version, d);
  }
  return d;
}

function rawSegmentDict(version: string): { segments: Record<string, RawSegmentDef>; composites: Record<string, string>; other: string[] } {
  const raw = readJson<RawSegmentDict>(`segments.${version}.json`);
  const base = raw.base ? rawSegmentDict(raw.base) : { segments: {}, composites: {}, other: [] as string[] };
  return {
    segments: { ...base.segments, ...raw.segments },
    composites: { ...base.composites, ...(raw.composites ?? {}) },
    other: [...base.other, ...(raw.otherSegmentIds ?? [])],
  };
}

function segmentDict(version: string): { segments: Map<string, CompiledSegment>; known: Set<string> } {
  let d = segmentDicts.get(version);
  if (!d) {
    const raw = rawSegmentDict(version);
    const elements = elementDict(version);
    const segments = new Map<string, CompiledSegment>();
    for (const [id, def] of Object.entries(raw.segments)) segments.set(id, compileSegment(id, def, elements, raw.composites));
    d = { segments, known: new Set([...segments.keys(), ...raw.other]) };
    segmentDicts.set(version, d);
  }
  return d;
}

function typeCode(t: string): number {
  switch (t) {
    case 'AN': return T_AN;
    case 'ID': return T_ID;
    case 'R': return T_R;
    case 'DT': return T_DT;
    case 'TM': return T_TM;
    default:
      if (/^N\d?$/.test(t)) return T_NUM;
      throw new Error(`unknown element type ${t}`);
  }
}

function compileElement(
  use: RawElementUse, label: string, dict: Record<string, RawElementDef>, composites: Record<string, string>,
): CompiledElement {
  if (use.composite) {
    const comps = (use.components ?? []).map((c, k) => compileElement(c, c.pos ?? `${label}-${k + 1}`, dict, composites));
    return {
      label, ref: undefined, name: use.name ?? composites[use.composite] ?? use.composite, type: T_AN, typeName: use.composite,
      min: 0, max: 0, required: use.req === 'M', codes: null, closed: false, repeat: use.repeat ?? 1, components: comps,
      envelope: use.envelope === true, clean: [undefined, undefined], cleanKey: 0, cleanNext: 0,
    };
  }
  const def = use.ref ? dict[use.ref] : undefined;
  if (use.ref && !def) throw new Error(`element ${use.ref} (${label}) is not in the dictionary`);
  const typeName = use.type ?? def?.type;
  if (!typeName) throw new Error(`element ${label} has no type`);
  return {
    label,
    ref: use.ref ?? undefined,
    name: use.name ?? def?.name ?? label,
    type: typeCode(typeName),
    typeName,
    min: use.min ?? def?.min ?? 1,
    max: use.max ?? def?.max ?? 9999,
    required: use.req === 'M',
    codes: def?.codes ? new Set(def.codes) : null,
    closed: def?.closed === true,
    repeat: use.repeat ?? 1,
    components: null,
    envelope: use.envelope === true,
    clean: [undefined, undefined],
    cleanKey: 0,
    cleanNext: 0,
  };
}

function compileSegment(id: string, def: RawSegmentDef, dict: Record<string, RawElementDef>, composites: Record<string, string>): CompiledSegment {
  const elements = def.elements === 'any'
    ? null
    : def.elements.map((u, k) => compileElement(u, u.pos ?? `${id}${String(k + 1).padStart(2, '0')}`, dict, composites));
  const syntax: SyntaxRule[] = (def.syntax ?? []).map((text) => {
    const kind = text[0] as SyntaxRule['kind'];
    if (!'PRECL'.includes(kind) || (text.length - 1) % 2 !== 0 || text.length < 5) throw new Error(`bad syntax note ${text} in ${id}`);
    const positions: number[] = [];
    for (let i = 1; i < text.length; i += 2) positions.push(Number(text.slice(i, i + 2)));
    return { kind, positions, text };
  });
  const syntaxMaskable = elements !== null && syntax.length > 0 && !elements.some((e) => e.envelope)
    && syntax.every((r) => r.positions.every((p) => p >= 1 && p <= Math.min(30, elements.length)));
  return { id, name: def.name, elements, syntax, syntaxMaskable, syntaxCleanMask: -1, check: undefined };
}

function compileLoop(
  id: string | null, content: RawNode[], lenientEntry: string[], segments: Map<string, CompiledSegment>, all: Set<string>,
): CompiledLoop {
  const children: CompiledNode[] = [];
  const index = new Map<string, number[]>();
  const add = (segId: string, code: number) => {
    let list = index.get(segId);
    if (!list) index.set(segId, (list = []));
    if (!list.some((c) => c >> 1 === code >> 1)) list.push(code);
  };
  content.forEach((n, k) => {
    if (n.segment) {
      const seg = segments.get(n.segment);
      if (!seg) throw new Error(`segment ${n.segment} is not in the dictionary`);
      all.add(n.segment);
      children.push({ segmentId: internalized(n.segment), min: n.min ?? 0, max: n.max ?? 1, segment: seg, loop: null });
      add(n.segment, k * 2);
    } else if (n.loop && n.content && n.content.length > 0 && n.content[0].segment) {
      const loop = compileLoop(n.loop, n.content, n.lenientEntry ?? [], segments, all);
      const trigger = internalized(n.content[0].segment);
      children.push({ segmentId: trigger, min: n.min ?? 0, max: n.max ?? 1, segment: null, loop });
      add(trigger, k * 2);
      for (const e of loop.lenientEntry) add(e, k * 2 + 1);
    } else {
      throw new Error(`bad structure node ${JSON.stringify(n)}`);
    }
  });
  return { id, children, lenientEntry, index, scratch: new Int32Array(children.length) };
}

/** The trigger segment definition of a loop (its first child). */
export function loopTrigger(loop: CompiledLoop): CompiledSegment {
  return loop.children[0].segment as CompiledSegment;
}

/** The compiled schema of a transaction set in a schema version, or null when there is none. Cached. */
export function getSchema(setId: string, version: SchemaVersion): CompiledSchema | null {
  const key = `${version}:${setId}`;
  const cached = schemaCache.get(key);
  if (cached !== undefined) return cached;
  const v = index().versions[version];
  const entry = v?.sets[setId];
  let schema: CompiledSchema | null = null;
  if (v && entry) {
    const file = typeof entry === 'string' ? entry : entry.structure;
    const dictionaryVersion = (typeof entry === 'string' ? undefined : entry.dictionary) ?? v.dictionary;
    const raw = readJson<RawStructure>(file);
    const dict = segmentDict(dictionaryVersion);
    const all = new Set<string>();
    const root = compileLoop(null, raw.structure, [], dict.segments, all);
    schema = {
      setId, version, dictionaryVersion, name: raw.name, functionalGroup: raw.functionalGroup, root,
      segmentIds: all, knownSegmentIds: dict.known,
    };
  }
  schemaCache.set(key, schema);
  return schema;
}

/** The schema to apply to a transaction: by `version` when given, else by its GS08 (or ISA12). */
export function schemaForTransaction(tx: TransactionSet, version?: string): CompiledSchema | null {
  if (version === undefined) {
    // The sets of one group ask the same question over and over: resolving the versions and building the
    // cache key took 1-2% of translating a 214.
    const last = lastFromEnvelope;
    if (last !== null && last.group === tx.group && last.interchange === tx.interchange && last.setId === tx.setId) return last.schema;
  }
  const v = version !== undefined
    ? resolveSchemaVersion(version, version)
    : resolveSchemaVersion(tx.group?.version, tx.interchange?.version);
  const schema = v ? getSchema(tx.setId, v) : null;
  if (version === undefined) lastFromEnvelope = { group: tx.group, interchange: tx.interchange, setId: tx.setId, schema };
  return schema;
}

/**
 * schemaForTransaction's last answer from a transaction's own envelope, by the identity of its group and
 * interchange headers (the reader makes one of each per GS and ISA, and never changes them) and its set id.
 */
let lastFromEnvelope: {
  group: TransactionSet['group']; interchange: TransactionSet['interchange']; setId: string; schema: CompiledSchema | null;
} | null = null;

/** Every (set, schema version) pair Waybill has a schema for. */
export function supportedSchemas(): { setId: string; version: SchemaVersion }[] {
  const out: { setId: string; version: SchemaVersion }[] = [];
  for (const [version, v] of Object.entries(index().versions)) {
    for (const setId of Object.keys(v.sets)) out.push({ setId, version: version as SchemaVersion });
  }
  return out;
}
