// Outbound mappings: a validated canonical command (load.tender@1, freight.invoice@1, ...) -> an X12
// interchange, a CSV file or an XML document. Compiled once against the command's zod schema, the
// transaction-set schema of the partner's X12 version and the code tables; every problem is a positioned
// diagnostic. Rendering never touches the YAML again and is deterministic: the same command, clock and
// control numbers give the same characters.
//
// Value specs are the inbound language (spec.ts) evaluated over canonical JSON (JsonAdapter below), plus
// four outbound modifiers: `format`, `timezone`, `truncate`, `join`.

import { FreightInvoiceCommandV1, schemas } from '../canonical/index.js';
import { WaybillError } from '../errors/catalogue.js';
import { writeCsv, type CsvWriteOptions } from '../translators/csv/writer.js';
import { buildXml, type XmlWriteTree, type XmlWriteValue } from '../translators/xml/writer.js';
import {
  getSchema, T_AN, T_DT, T_NUM, T_R, T_TM, type CompiledElement, type CompiledLoop, type CompiledSchema, type CompiledSegment,
  type SchemaVersion,
} from '../translators/x12/schema.js';
import { allIssues, inspectX12Sync } from '../translators/x12/inspect.js';
import { ackClock } from '../translators/x12/acks/clock.js';
import { X12Writer, type ElementValue, type GsHeader, type IsaHeader, type WriterDelimiters } from '../translators/x12/writer.js';
import { canonicalTypes } from './canonical-target.js';
import { didYouMean, type Diagnostic } from './diagnostics.js';
import type { PartnerConfig } from './partner-config.js';
import {
  MappingFailure, SpecCompiler, type CompiledField, type EvalEnv, type Evaluator, type SourceAdapter, type SourceLoc, type Value,
} from './spec.js';
import type { CodeTables } from './tables.js';
import { isValidZone, toImplied, TransformError, x12Date, x12Time } from './transforms.js';
import type { YamlPath, YamlSource } from './yaml-source.js';

// ---------------------------------------------------------------------------------------------------
// Public API

export interface CompiledOutbound {
  file: string;
  command: string;
  format: 'x12' | 'csv' | 'xml';
  /** X12: the transaction set id rendered (e.g. '204'). */
  setId?: string;
  render(command: unknown /* a validated canonical command */, ctx: RenderContext): RenderedDocument;
}

export interface RenderContext {
  /** Control numbers come from an allocator passed in (the ledger owns them later; tests use a frozen one). */
  controls: { next(kind: 'interchange' | 'group' | 'transaction'): string };
  /**
   * The clock (ISA09/10, GS04/05, written as the wall clock in the partner's `timezone`); frozen in tests so
   * output compares byte for byte.
   */
  now: Date;
}

export interface RenderedDocument {
  format: 'x12' | 'csv' | 'xml';
  text: string;
  fileName?: string;
  controls?: { interchange?: string; group?: string; transaction?: string };
}

/** Codes a render can fail with beyond the value-spec ones of MappingFailure. */
export type OutboundFailureCode =
  | MappingFailure['code']
  /** A value holds one of the partner's X12 delimiters (the writer refuses it). */
  | 'MAP_DELIMITER_IN_DATA'
  /** A value does not fit its target: not a single value, wrong X12 type, bad code, bad character. */
  | 'MAP_VALUE_INVALID'
  /** A value is longer than its X12 element allows (use `truncate` where cutting is acceptable). */
  | 'MAP_VALUE_TOO_LONG'
  /** The rendered document fails X12 validation (a mandatory segment missing, ...). */
  | 'MAP_OUTPUT_INVALID';

/**
 * A render-time failure: `instanceof MappingFailure` holds, and `code` is one of OutboundFailureCode
 * (MappingFailure's declared union does not list the outbound-only codes yet). `mapping` points at the
 * mapping line; `source.what` is the JSON pointer of the command value involved (line/column are 0:
 * a command has no text position).
 */
export class OutboundFailure extends MappingFailure {
  constructor(code: OutboundFailureCode, message: string, source: SourceLoc | undefined, mapping: MapPos | undefined) {
    super(code as MappingFailure['code'], message, source, mapping);
    this.name = 'OutboundFailure';
  }
}

export function compileOutbound(input: {
  src: YamlSource;
  tables: CodeTables;
  format: 'x12' | 'csv' | 'xml';
  command: string;
  partner: PartnerConfig;
}): { mapping: CompiledOutbound | null; diagnostics: Diagnostic[] } {
  return new OutboundCompiler(input).compile();
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

type MapPos = { file: string; line: number; column: number };
type Cond = (ctx: JsonContext, env: EvalEnv) => boolean;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{ const: X }` and nothing else: a value that never depends on the command. */
function isConstSpec(raw: unknown): raw is { const: unknown } {
  return isPlainObject(raw) && 'const' in raw && Object.keys(raw).length === 1;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------------
// Canonical schemas seen as trees (zod 4 internals, read-only)

interface Zish {
  def?: {
    type?: string;
    innerType?: unknown;
    in?: unknown;
    element?: unknown;
    options?: unknown[];
    entries?: Record<string, unknown>;
    values?: unknown[];
    getter?: () => unknown;
  };
  shape?: Record<string, unknown>;
}

function unwrapZ(s: unknown): Zish {
  let cur = s as Zish;
  for (let i = 0; i < 16 && cur?.def; i++) {
    const t = cur.def.type;
    if (t === 'optional' || t === 'default' || t === 'prefault' || t === 'nullable' || t === 'catch' || t === 'readonly' || t === 'nonoptional') {
      cur = cur.def.innerType as Zish;
    } else if (t === 'pipe') cur = cur.def.in as Zish;
    else if (t === 'lazy' && cur.def.getter) cur = cur.def.getter() as Zish;
    else break;
  }
  return cur;
}

function shapeOfZ(s: Zish): Record<string, unknown> | null {
  if (s.def?.type === 'object' && s.shape) return s.shape;
  if (s.def?.type === 'union' && Array.isArray(s.def.options)) {
    const merged: Record<string, unknown> = {};
    for (const o of s.def.options) {
      const sh = shapeOfZ(unwrapZ(o));
      if (sh) Object.assign(merged, sh);
    }
    return Object.keys(merged).length ? merged : null;
  }
  return null;
}

type Kind = 'object' | 'array' | 'scalar' | 'any';

function kindOf(s: Zish | null): Kind {
  const t = s?.def?.type;
  if (!s || t === undefined) return 'any';
  if (t === 'object') return 'object';
  if (t === 'array') return 'array';
  if (t === 'union') {
    if (shapeOfZ(s)) return 'object';
    const kinds = (s.def!.options ?? []).map((o) => kindOf(unwrapZ(o)));
    return kinds.every((k) => k === 'scalar') ? 'scalar' : 'any';
  }
  if (t === 'any' || t === 'unknown' || t === 'record' || t === 'map' || t === 'intersection' || t === 'custom') return 'any';
  return 'scalar';
}

function enumOf(s: Zish | null): string[] | null {
  const t = s?.def?.type;
  if (!s || !t) return null;
  if (t === 'enum' && s.def!.entries) return Object.values(s.def!.entries).map(String);
  if (t === 'literal' && Array.isArray(s.def!.values)) return s.def!.values.map(String);
  if (t === 'boolean') return ['true', 'false'];
  if (t === 'union' && Array.isArray(s.def!.options)) {
    const parts = s.def!.options.map((o) => enumOf(unwrapZ(o)));
    return parts.every((p) => p !== null) ? (parts as string[][]).flat() : null;
  }
  return null;
}

function commandSchema(type: string): unknown {
  if (type === 'freight.invoice@1') return FreightInvoiceCommandV1;
  return Object.prototype.hasOwnProperty.call(schemas, type) ? (schemas as Record<string, unknown>)[type] : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Canonical JSON paths

interface Filter {
  field: string[];
  values: string[];
  negate: boolean;
}
type Bracket = { filter: Filter } | { index: number };
interface Step {
  key: string;
  brackets: Bracket[];
}
interface JsonPath {
  text: string;
  root: boolean;
  special: 'self' | 'index' | 'now' | null;
  steps: Step[];
}

class JsonPathError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * `a.b.c` relative to the current item, `/a.b` from the command root, `.` the current item itself,
 * `$index` its 1-based position in the enclosing `each`, `$now` the render clock. A step may carry
 * brackets: `[2]` (0-based index in a list) or `[field=v1|v2]` / `[field!=v]` (items whose field matches).
 */
export function parseJsonPath(text: string): JsonPath {
  const t = text.trim();
  if (t === '.') return { text: t, root: false, special: 'self', steps: [] };
  if (t === '$index') return { text: t, root: false, special: 'index', steps: [] };
  if (t === '$now') return { text: t, root: false, special: 'now', steps: [] };
  if (t.startsWith('$')) throw new JsonPathError(`unknown special value '${t}' (known: $index, $now)`);
  let rest = t;
  let root = false;
  if (rest.startsWith('/')) {
    root = true;
    rest = rest.slice(1);
  }
  if (rest === '') {
    if (root) return { text: t, root, special: null, steps: [] };
    throw new JsonPathError('empty path');
  }
  const steps: Step[] = [];
  let i = 0;
  while (i < rest.length) {
    const m = NAME.exec(rest.slice(i));
    if (!m) throw new JsonPathError(`expected a field name at '${rest.slice(i)}'`);
    const step: Step = { key: m[0], brackets: [] };
    i += m[0].length;
    while (rest[i] === '[') {
      const close = rest.indexOf(']', i);
      if (close < 0) throw new JsonPathError("'[' is never closed");
      step.brackets.push(parseBracket(rest.slice(i + 1, close).trim()));
      i = close + 1;
    }
    steps.push(step);
    if (i < rest.length) {
      if (rest[i] !== '.') throw new JsonPathError(`unexpected '${rest[i]}' after '${rest.slice(0, i)}'`);
      i++;
      if (i === rest.length) throw new JsonPathError('the path ends with a dot');
    }
  }
  return { text: t, root, special: null, steps };
}

function parseBracket(inner: string): Bracket {
  if (/^\d+$/.test(inner)) return { index: Number(inner) };
  const m = /^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*(!=|=)\s*(.+)$/.exec(inner);
  if (!m) throw new JsonPathError(`'[${inner}]' is neither an index ([0]) nor a filter ([field=value])`);
  return { filter: { field: m[1].split('.'), negate: m[2] === '!=', values: m[3].split('|').map((v) => v.trim()) } };
}

/** Evaluation context: the command, the current item (the command itself outside any `each`). */
export interface JsonContext {
  root: unknown;
  item: unknown;
  /** 1-based position of `item` in its `each` (1 at the root). */
  index: number;
  /** JSON pointer of `item` ('' at the root), for error messages. */
  pointer: string;
  now: Date;
}

interface Located {
  value: unknown;
  ptr: string;
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

function walk(start: Located[], steps: Step[]): Located[] {
  let nodes = start;
  for (const step of steps) {
    const next: Located[] = [];
    for (const n of nodes) {
      if (!isPlainObject(n.value) || !Object.prototype.hasOwnProperty.call(n.value, step.key)) continue;
      const v = n.value[step.key];
      const ptr = `${n.ptr}/${step.key}`;
      if (v === undefined || v === null) continue;
      let items: Located[] = Array.isArray(v) ? v.map((x, i) => ({ value: x as unknown, ptr: `${ptr}/${i}` })) : [{ value: v, ptr }];
      for (const b of step.brackets) {
        if ('index' in b) items = Array.isArray(v) && items[b.index] !== undefined ? [items[b.index]] : [];
        else items = items.filter((it) => matches(it.value, b.filter));
      }
      for (const it of items) next.push(it); // not push(...items): a long list would overflow the stack
    }
    nodes = next;
  }
  return nodes;
}

function matches(item: unknown, f: Filter): boolean {
  const vals = walk([{ value: item, ptr: '' }], f.field.map((key) => ({ key, brackets: [] })))
    .map((l) => scalarText(l.value))
    .filter((s): s is string => s !== undefined);
  const hit = vals.some((v) => f.values.includes(v));
  return f.negate ? !hit : hit;
}

function isoUtc(d: Date): string {
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}Z`;
}

type PathCheck = { node: Zish | null; multi: boolean } | { error: string; code: string; suggestion?: string };

/**
 * The JSON side of an outbound mapping. Paths are checked against the command's zod schema in the
 * current scope (the command, or the item type of the enclosing `each`); unknown scopes are not checked.
 */
export class JsonAdapter implements SourceAdapter<JsonContext> {
  private scopes: { node: Zish | null; label: string }[] = [];

  constructor(
    /** The format being written (SourceAdapter has no 'json'; the spec compiler does not use it). */
    readonly format: 'x12' | 'csv' | 'xml',
    private readonly rootSchema: Zish | null,
    private readonly rootLabel: string,
  ) {}

  private get scope(): { node: Zish | null; label: string } {
    return this.scopes[this.scopes.length - 1] ?? { node: this.rootSchema, label: this.rootLabel };
  }

  /** Enters the item scope of a loop path (already accepted by loopPath). */
  pushLoop(path: unknown): void {
    const c = this.check(path as JsonPath);
    this.scopes.push({ node: 'error' in c ? null : c.node, label: `an item of '${(path as JsonPath).text}'` });
  }

  /** Enters an unknown scope (after a loop path that did not compile: nothing below is checked). */
  pushUnknown(): void {
    this.scopes.push({ node: null, label: 'an unknown item' });
  }

  popScope(): void {
    this.scopes.pop();
  }

  private parse(text: string): JsonPath | { error: string; code: string } {
    try {
      return parseJsonPath(text);
    } catch (err) {
      if (err instanceof JsonPathError) return { code: 'MAP_BAD_PATH', error: `bad path '${text}': ${err.message}` };
      throw err;
    }
  }

  private check(path: JsonPath): PathCheck {
    if (path.special === 'index' || path.special === 'now') return { node: { def: { type: 'string' } }, multi: false };
    const start = path.root ? { node: this.rootSchema, label: this.rootLabel } : this.scope;
    let cur: Zish | null = start.node;
    let multi = false;
    const done: string[] = [];
    for (const step of path.steps) {
      const k = kindOf(cur);
      if (k === 'any') return { node: null, multi: true };
      const here = done.length ? `'${done.join('.')}'` : start.label;
      if (k !== 'object') {
        return { code: 'MAP_UNKNOWN_FIELD', error: `${here} is a value; it has no field '${step.key}'` };
      }
      const shape = shapeOfZ(cur!)!;
      if (!Object.prototype.hasOwnProperty.call(shape, step.key)) {
        const known = Object.keys(shape);
        return {
          code: 'MAP_UNKNOWN_FIELD',
          error: `${here} has no field '${step.key}'; fields here: ${known.join(', ')}`,
          suggestion: didYouMean(step.key, known),
        };
      }
      done.push(step.key);
      cur = unwrapZ(shape[step.key]);
      if (kindOf(cur) === 'array') {
        if (!step.brackets.some((b) => 'index' in b)) multi = true;
        cur = unwrapZ(cur.def!.element);
        for (const b of step.brackets) {
          if ('filter' in b) {
            const bad = this.checkFilter(b.filter, cur, done.join('.'));
            if (bad) return bad;
          }
        }
      } else if (step.brackets.length) {
        if (step.brackets.some((b) => 'index' in b) && kindOf(cur) !== 'any') {
          return { code: 'MAP_BAD_PATH', error: `'${done.join('.')}' is not a list; an index applies to lists` };
        }
        for (const b of step.brackets) {
          if ('filter' in b) {
            const bad = this.checkFilter(b.filter, cur, done.join('.'));
            if (bad) return bad;
          }
        }
      }
    }
    return { node: cur, multi };
  }

  private checkFilter(f: Filter, item: Zish | null, where: string): PathCheck | null {
    let cur = item;
    for (const key of f.field) {
      const k = kindOf(cur);
      if (k === 'any') return null;
      if (k === 'array') cur = unwrapZ(cur!.def!.element);
      const shape = kindOf(cur) === 'object' ? shapeOfZ(cur!) : null;
      if (!shape || !Object.prototype.hasOwnProperty.call(shape, key)) {
        const known = shape ? Object.keys(shape) : [];
        return { code: 'MAP_UNKNOWN_FIELD', error: `items of '${where}' have no field '${f.field.join('.')}'${known.length ? `; fields: ${known.join(', ')}` : ''}`, suggestion: didYouMean(key, known) };
      }
      cur = unwrapZ(shape[key]);
    }
    const enums = enumOf(cur);
    if (enums) {
      for (const v of f.values) {
        if (!enums.includes(v)) {
          return { code: 'MAP_VALUE_NEVER_VALID', error: `'${v}' is never a value of ${where}.${f.field.join('.')} (values: ${enums.join(', ')})`, suggestion: didYouMean(v, enums) };
        }
      }
    }
    return null;
  }

  /** An error for a relative path inside an each block that would work from the root: say so. */
  private rootHint(p: JsonPath, c: { error: string; code: string; suggestion?: string }, loop: boolean) {
    if (p.root || p.special !== null || this.scopes.length === 0) return c;
    const fromRoot: JsonPath = { ...p, root: true, text: `/${p.text}` };
    const r = this.check(fromRoot);
    if ('error' in r || (loop && !r.multi)) return c;
    return { ...c, error: `${c.error}; inside an each block paths are relative to the item, '/${p.text}' starts at the command`, suggestion: `/${p.text}` };
  }

  valuePath(text: string): { path: unknown } | { error: string; code: string; suggestion?: string } {
    const p = this.parse(text);
    if ('error' in p) return p;
    if (p.special === 'index' || p.special === 'now') return { path: p };
    const c = this.check(p);
    if ('error' in c) return this.rootHint(p, c, false);
    const k = kindOf(c.node);
    if (p.special === null && p.steps.length === 0) {
      return { code: 'MAP_NOT_A_VALUE', error: `'${text}' is the whole command, not a value` };
    }
    if (k === 'object') {
      const fields = Object.keys(shapeOfZ(c.node!) ?? {});
      return { code: 'MAP_NOT_A_VALUE', error: `'${text}' is an object, not a value; map one of its fields (${fields.join(', ')})` };
    }
    if (k === 'array') {
      return { code: 'MAP_NOT_A_VALUE', error: `'${text}' is a list of lists, not a value` };
    }
    return { path: p };
  }

  loopPath(text: string): { path: unknown } | { error: string; code: string; suggestion?: string } {
    const p = this.parse(text);
    if ('error' in p) return p;
    if (p.special !== null || p.steps.length === 0) {
      return { code: 'MAP_NOT_A_LIST', error: `'${text}' is not a list; 'each' takes the path of a list such as stops or parties` };
    }
    const c = this.check(p);
    if ('error' in c) return this.rootHint(p, c, true);
    if (!c.multi) {
      return { code: 'MAP_NOT_A_LIST', error: `'${text}' is ${kindOf(c.node) === 'object' ? 'an object' : 'a single value'}, not a list; 'each' needs a list` };
    }
    return { path: p };
  }

  /** The closed list of values a value path can take (an enum), or null. */
  enumValues(text: string): string[] | null {
    const p = this.parse(text);
    if ('error' in p || p.special) return null;
    const c = this.check(p);
    return 'error' in c ? null : enumOf(c.node);
  }

  private start(path: JsonPath, ctx: JsonContext): Located[] {
    return [path.root ? { value: ctx.root, ptr: '' } : { value: ctx.item, ptr: ctx.pointer }];
  }

  first(path: unknown, ctx: JsonContext): string | undefined {
    return this.values(path, ctx, false)[0]?.value;
  }

  values(path: unknown, ctx: JsonContext, all: boolean): { value: string; loc?: SourceLoc }[] {
    const p = path as JsonPath;
    if (p.special === 'index') return [{ value: String(ctx.index) }];
    if (p.special === 'now') return [{ value: isoUtc(ctx.now) }];
    const nodes = p.special === 'self' ? this.start(p, ctx) : walk(this.start(p, ctx), p.steps);
    const out: { value: string; loc?: SourceLoc }[] = [];
    for (const n of nodes) {
      const s = scalarText(n.value);
      if (s === undefined) continue;
      out.push({ value: s, loc: { line: 0, column: 0, what: n.ptr || '/' } });
      if (!all) break;
    }
    return out;
  }

  loops(path: unknown, ctx: JsonContext): JsonContext[] {
    const nodes = walk(this.start(path as JsonPath, ctx), (path as JsonPath).steps);
    return nodes.map((n, i) => ({ root: ctx.root, item: n.value, index: i + 1, pointer: n.ptr, now: ctx.now }));
  }

  loc(ctx: JsonContext): SourceLoc | undefined {
    return { line: 0, column: 0, what: ctx.pointer || '/' };
  }
}

// ---------------------------------------------------------------------------------------------------
// Formatting for writing

const FORMATS = ['date8', 'date6', 'time4', 'time6', 'implied2', 'upper'];
const IMPLIED = /^implied([0-9])$/;

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const TIME_ONLY = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;
const FIXED_OFFSET = /^([+-])(\d{2}):?(\d{2})$/;
const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

function wallParts(utcMillis: number, zone: string): number[] {
  const fixed = FIXED_OFFSET.exec(zone) ?? (zone === 'UTC' || zone === 'Z' ? ['', '+', '00', '00'] : null);
  if (fixed) {
    const off = (fixed[1] === '-' ? -1 : 1) * (+fixed[2] * 60 + +fixed[3]);
    const d = new Date(utcMillis + off * 60_000);
    return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  }
  let fmt = zoneFormatters.get(zone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
      });
    } catch {
      throw new TransformError('MAP_BAD_TIMEZONE', `unknown time zone '${zone}'`);
    }
    zoneFormatters.set(zone, fmt);
  }
  const parts = fmt.formatToParts(new Date(utcMillis));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return [get('year'), get('month'), get('day'), get('hour') % 24, get('minute'), get('second')];
}

/**
 * An ISO date or timestamp -> CCYYMMDD and HHMMSS (HHMMSS empty for a bare date). Timestamps are
 * converted to `zone` first ('keep' keeps the wall clock as written).
 */
function wallClock(v: string, zone: string): { date: string; time: string } {
  const d = DATE_ONLY.exec(v);
  if (d) return { date: x12Date(`${d[1]}${d[2]}${d[3]}`).replace(/-/g, ''), time: '' };
  const t = TIME_ONLY.exec(v);
  if (t) {
    const clock = x12Time(`${t[1]}${t[2]}${t[3] ?? '00'}`);
    return { date: '', time: clock.replace(/:/g, '') };
  }
  const m = TIMESTAMP.exec(v);
  if (!m) throw new TransformError('MAP_BAD_DATE', `'${v}' is not an ISO 8601 date or timestamp`);
  const day = x12Date(`${m[1]}${m[2]}${m[3]}`).replace(/-/g, '');
  const clock = x12Time(`${m[4]}${m[5]}${m[6] ?? '00'}`).replace(/:/g, '');
  if (zone === 'keep' || m[7] === undefined) return { date: day, time: clock };
  const off = m[7].toUpperCase() === 'Z' ? 0 : (() => {
    const o = FIXED_OFFSET.exec(m[7])!;
    return (o[1] === '-' ? -1 : 1) * (+o[2] * 60 + +o[3]);
  })();
  const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0)) - off * 60_000;
  const [y, mo, dd, h, mi, s] = wallParts(utc, zone);
  // 9999-12-31T23:30-12:00 is already the year 10000 in Chicago: CCYYMMDD has four digits of year.
  if (y < 1 || y > 9999) throw new TransformError('MAP_BAD_DATE', `'${v}' falls in the year ${y} in ${zone}, which a date cannot write`);
  return { date: `${String(y).padStart(4, '0')}${pad2(mo)}${pad2(dd)}`, time: `${pad2(h)}${pad2(mi)}${pad2(s)}` };
}

function applyFormat(fmt: string, v: string, zone: string): string {
  const implied = IMPLIED.exec(fmt);
  if (implied) return toImplied(v, Number(implied[1]));
  switch (fmt) {
    case 'upper':
      return v.toUpperCase();
    case 'date8':
    case 'date6': {
      const { date } = wallClock(v, zone);
      if (!date) throw new TransformError('MAP_BAD_DATE', `'${v}' is a time without a date`);
      // YYMMDD is read back with a 1950-2049 window (x12Date): a year outside it would be read as another century.
      if (fmt === 'date6' && (date < '19500101' || date > '20491231')) {
        throw new TransformError('MAP_BAD_DATE', `'${v}' is outside 1950-2049, which format date6 (YYMMDD) cannot tell from another century: use date8`);
      }
      return fmt === 'date8' ? date : date.slice(2);
    }
    case 'time4':
    case 'time6': {
      const { time } = wallClock(v, zone);
      if (!time) throw new TransformError('MAP_BAD_TIME', `'${v}' is a date without a time of day`);
      return fmt === 'time4' ? time.slice(0, 4) : time;
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------
// The value-spec compiler, extended with the outbound modifiers and schema-aware checks

const OUT_MODIFIERS = ['format', 'timezone', 'truncate', 'join'] as const;

class OutboundSpecCompiler extends SpecCompiler<JsonContext> {
  constructor(
    private readonly source: YamlSource,
    private readonly json: JsonAdapter,
    private readonly codeTables: CodeTables,
  ) {
    super(source, json, codeTables);
  }

  private report(code: string, message: string, path: YamlPath, extra: { key?: boolean; suggestion?: string; severity?: 'error' | 'warning' } = {}): void {
    this.diagnostics.push(this.source.diagnostic(code, message, path, extra));
  }

  private pos(path: YamlPath): MapPos {
    const p = this.source.position(path);
    return { file: this.source.file, line: p.line, column: p.column };
  }

  override compileSpec(raw: unknown, at: YamlPath, field?: CompiledField<JsonContext>): Evaluator<JsonContext> {
    if (!isPlainObject(raw)) return super.compileSpec(raw, at, field);
    if ('each' in raw) {
      this.report('MAP_SPEC_INVALID', "a value spec cannot loop in an outbound mapping: use an 'each' block (segments, CSV rows, repeated XML elements) or 'all' with 'join'",
        [...at, 'each'], { key: true });
      return () => undefined;
    }
    this.checkTableCoverage(raw, at);
    const present = OUT_MODIFIERS.filter((k) => k in raw);
    if (present.length === 0) return super.compileSpec(raw, at, field);
    const rest: Record<string, unknown> = { ...raw };
    for (const k of present) delete rest[k];
    let ev = super.compileSpec(rest, at, field);

    // format (+ timezone): applied to every string of the value
    if ('format' in raw) {
      const fmt = raw.format;
      let zone: string | null = null;
      if ('timezone' in raw) {
        if (typeof raw.timezone !== 'string' || (raw.timezone !== 'keep' && !isValidZone(raw.timezone))) {
          this.report('MAP_BAD_TIMEZONE', `'timezone' is an IANA zone (America/Chicago), an offset (-06:00) or 'keep' (the timestamp's own offset)`, [...at, 'timezone']);
        } else zone = raw.timezone;
      }
      if (typeof fmt !== 'string' || !(FORMATS.includes(fmt) || IMPLIED.test(fmt))) {
        this.report('MAP_UNKNOWN_FORMAT', `unknown format ${JSON.stringify(fmt)}; formats: ${FORMATS.join(', ')}`, [...at, 'format'],
          { suggestion: typeof fmt === 'string' ? didYouMean(fmt, FORMATS) : undefined });
      } else {
        if (zone !== null && !fmt.startsWith('date') && !fmt.startsWith('time')) {
          this.report('MAP_SPEC_INVALID', `'timezone' only applies to date and time formats, not '${fmt}'`, [...at, 'timezone'], { key: true });
        }
        const prev = ev;
        const mpos = this.pos([...at, 'format']);
        const json = this.json;
        ev = (ctx, env) => {
          const v = prev(ctx, env);
          const one = (x: Value): Value => {
            const s = scalarText(x);
            if (s === undefined || s === '') return x;
            try {
              return applyFormat(fmt, s, zone ?? env.timezone);
            } catch (err) {
              if (err instanceof TransformError) throw new OutboundFailure(err.code, `format ${fmt}: ${err.message}`, json.loc(ctx), mpos);
              throw err;
            }
          };
          return Array.isArray(v) ? v.map(one) : one(v);
        };
      }
    } else if ('timezone' in raw) {
      this.report('MAP_SPEC_INVALID', "'timezone' goes with a date or time 'format'", [...at, 'timezone'], { key: true });
    }

    if ('join' in raw) {
      if (typeof raw.join !== 'string') this.report('MAP_SPEC_INVALID', "'join' is the separator (a string) to join a list of values with", [...at, 'join']);
      else {
        const sep = raw.join;
        const prev = ev;
        ev = (ctx, env) => {
          const v = prev(ctx, env);
          if (!Array.isArray(v)) return v;
          const parts = v.map(scalarText).filter((s): s is string => s !== undefined && s !== '');
          return parts.length ? parts.join(sep) : undefined;
        };
      }
    }

    if ('truncate' in raw) {
      const n = raw.truncate;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
        this.report('MAP_SPEC_INVALID', n === true
          ? "'truncate: true' cuts to the X12 element's maximum length, so it only applies to an alphanumeric (AN) X12 element; elsewhere give a length"
          : "'truncate' is a maximum length (a positive integer), or true for an AN X12 element", [...at, 'truncate']);
      } else {
        const prev = ev;
        ev = (ctx, env) => {
          const v = prev(ctx, env);
          const cut = (x: Value): Value => {
            if (typeof x !== 'string') return x;
            const cps = [...x];
            return cps.length > n ? cps.slice(0, n).join('').trimEnd() : x;
          };
          return Array.isArray(v) ? v.map(cut) : cut(v);
        };
      }
    }
    return ev;
  }

  /** A table over an enum field: warn about enum values the table cannot translate. */
  private checkTableCoverage(raw: Record<string, unknown>, at: YamlPath): void {
    if (typeof raw.table !== 'string' || typeof raw.path !== 'string') return;
    const table = this.codeTables.get(raw.table);
    if (!table || table.unmapped !== 'error' || table.default !== undefined) return;
    const enums = this.json.enumValues(raw.path);
    if (!enums) return;
    const missing = enums.filter((e) => !table.values.has(e));
    if (missing.length) {
      this.report('MAP_TABLE_INCOMPLETE', `table '${raw.table}' has no entry for ${missing.map((m) => `'${m}'`).join(', ')} (values of ${raw.path}); such commands will fail`,
        [...at, 'table'], { severity: 'warning' });
    }
  }

  override compileCondition(raw: unknown, at: YamlPath): (ctx: JsonContext, env: EvalEnv) => boolean {
    if (isPlainObject(raw) && typeof raw.path === 'string' && ('equals' in raw || 'in' in raw)) {
      const enums = this.json.enumValues(raw.path);
      if (enums) {
        const vals: [unknown, YamlPath][] = 'equals' in raw
          ? [[raw.equals, [...at, 'equals']]]
          : Array.isArray(raw.in) ? raw.in.map((v, i) => [v, [...at, 'in', i]] as [unknown, YamlPath]) : [];
        for (const [v, where] of vals) {
          if (!enums.includes(String(v))) {
            this.report('MAP_VALUE_NEVER_VALID', `'${String(v)}' is never a value of ${raw.path} (values: ${enums.join(', ')})`, where,
              { suggestion: didYouMean(String(v), enums) });
          }
        }
      }
    }
    return super.compileCondition(raw, at);
  }
}

// ---------------------------------------------------------------------------------------------------
// Plans

interface ElementPart {
  ev: Evaluator<JsonContext>;
  def: CompiledElement | null;
  dynamic: boolean;
  pos: MapPos;
  label: string;
}
interface ElementPlan {
  position: number;
  composite: boolean;
  parts: ElementPart[];
}
interface SegmentPlan {
  kind: 'segment';
  id: string;
  elements: ElementPlan[];
  required: boolean;
  when: Cond | null;
  /** False when every element is a constant (then the segment is always written). */
  dynamic: boolean;
  pos: MapPos;
}
interface BlockPlan {
  kind: 'block';
  loop: unknown;
  when: Cond | null;
  items: X12Item[];
}
type X12Item = SegmentPlan | BlockPlan;

type XmlPlan =
  | { kind: 'attr'; name: string; ev: Evaluator<JsonContext>; dynamic: boolean; pos: MapPos }
  | { kind: 'text'; ev: Evaluator<JsonContext>; dynamic: boolean; pos: MapPos }
  | { kind: 'leaf'; name: string; ev: Evaluator<JsonContext>; dynamic: boolean; pos: MapPos }
  | { kind: 'element'; name: string; children: XmlPlan[]; dynamic: boolean; when: Cond | null; required: boolean; pos: MapPos }
  | { kind: 'each'; name: string; loop: unknown; when: Cond | null; children: XmlPlan[] | null; value: Evaluator<JsonContext> | null; pos: MapPos }
  | { kind: 'list'; name: string; items: XmlPlan[] };

const TOP_COMMON = ['description', 'source', 'target', 'fileName'];
const TOP_KEYS: Record<'x12' | 'csv' | 'xml', string[]> = {
  x12: [...TOP_COMMON, 'segments'],
  csv: [...TOP_COMMON, 'columns', 'each', 'when', 'header', 'delimiter', 'lineEnding', 'quoteAll'],
  xml: [...TOP_COMMON, 'root', 'document', 'pretty', 'declaration'],
};
const ENVELOPE_SEGMENTS = new Set(['ISA', 'IEA', 'GS', 'GE', 'ST', 'SE', 'TA1']);
const XML_NAME = /^[\p{L}_:][\p{L}\p{N}\p{M}._:\u00B7\u203F\u2040-]*$/u;
const XML_FORBIDDEN = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

const ISA12: Record<string, string> = { '004010': '00401', '005010': '00501' };

// ---------------------------------------------------------------------------------------------------
// The compiler

class OutboundCompiler {
  private readonly diags: Diagnostic[] = [];
  private readonly src: YamlSource;
  private readonly adapter: JsonAdapter;
  private readonly spec: OutboundSpecCompiler;
  private readonly env: EvalEnv;
  private x12Schema: CompiledSchema | null = null;
  private x12Segments = new Map<string, CompiledSegment>();
  private usedSegments = new Set<string>();

  constructor(private readonly input: {
    src: YamlSource; tables: CodeTables; format: 'x12' | 'csv' | 'xml'; command: string; partner: PartnerConfig;
  }) {
    this.src = input.src;
    const schema = commandSchema(input.command);
    this.adapter = new JsonAdapter(input.format, schema ? unwrapZ(schema) : null, input.command);
    this.spec = new OutboundSpecCompiler(input.src, this.adapter, input.tables);
    this.env = { timezone: input.partner.timezone };
  }

  private diag(code: string, message: string, path: YamlPath, extra: { key?: boolean; suggestion?: string; severity?: 'error' | 'warning' } = {}): void {
    this.diags.push(this.src.diagnostic(code, message, path, extra));
  }

  private pos(path: YamlPath): MapPos {
    const p = this.src.position(path);
    return { file: this.src.file, line: p.line, column: p.column };
  }

  compile(): { mapping: CompiledOutbound | null; diagnostics: Diagnostic[] } {
    const { src, format, command } = this.input;
    const all: Diagnostic[] = [...src.diagnostics];
    const raw = src.value;
    if (!isPlainObject(raw)) {
      if (!all.some((d) => d.severity === 'error')) {
        all.push(src.diagnostic('MAP_SPEC_INVALID', 'an outbound mapping is a YAML map with source, target and what to write', []));
      }
      return { mapping: null, diagnostics: all };
    }
    const m = raw;

    const allowed = TOP_KEYS[format];
    for (const k of Object.keys(m)) {
      if (!allowed.includes(k)) {
        const other = (['x12', 'csv', 'xml'] as const).find((f) => f !== format && TOP_KEYS[f].includes(k));
        this.diag('MAP_UNKNOWN_KEY', `unknown key '${k}' at the top of an outbound ${format} mapping${other ? ` ('${k}' belongs to ${other} mappings)` : ''}; allowed: ${allowed.join(', ')}`,
          [k], { key: true, suggestion: didYouMean(k, allowed) });
      }
    }

    // source: the command
    const schema = commandSchema(command);
    if (!schema) {
      this.diag('MAP_UNKNOWN_COMMAND', `unknown canonical command '${command}'`, 'source' in m ? ['source'] : [], { suggestion: didYouMean(command, canonicalTypes) });
    }
    if (m.source === undefined) {
      this.diag('MAP_SPEC_INVALID', `'source' (the canonical command, here '${command}') is required`, []);
    } else if (m.source !== command) {
      this.diag('MAP_SOURCE_MISMATCH', `mapping source '${String(m.source)}' differs from the partner's command '${command}'`, ['source'],
        { suggestion: typeof m.source === 'string' ? didYouMean(m.source, canonicalTypes) : undefined });
    }

    // target: the format
    const target = m.target;
    let setId: string | undefined;
    if (typeof target !== 'string') {
      this.diag('MAP_SPEC_INVALID', `'target' is required: ${format === 'x12' ? "'x12/<set>' such as x12/204" : `'${format}'`}`, target === undefined ? [] : ['target']);
    } else {
      const x = /^x12\/([0-9A-Z]{3})$/.exec(target);
      const tformat = x ? 'x12' : target === 'csv' || target === 'xml' ? target : null;
      if (!tformat) {
        this.diag('MAP_UNKNOWN_TARGET', `unknown target '${target}': use x12/<set> (x12/204), csv or xml`, ['target'],
          { suggestion: didYouMean(target, ['x12/204', 'x12/210', 'csv', 'xml']) });
      } else if (tformat !== format) {
        this.diag('MAP_TARGET_MISMATCH', `mapping target '${target}' is not the ${format} format the partner's outbound entry declares`, ['target']);
      } else if (x) setId = x[1];
    }

    let render: ((cmd: unknown, ctx: RenderContext) => RenderedDocument) | null = null;
    if (format === 'x12') render = this.compileX12(m, setId);
    else if (format === 'csv') render = this.compileCsv(m);
    else render = this.compileXml(m);

    let fileName: Evaluator<JsonContext> | null = null;
    if (m.fileName !== undefined) fileName = this.spec.compileSpec(m.fileName, ['fileName']);

    all.push(...this.diags, ...this.spec.diagnostics);
    const sorted = [...all.slice(0, src.diagnostics.length), ...all.slice(src.diagnostics.length).sort((a, b) => a.line - b.line || a.column - b.column)];
    if (sorted.some((d) => d.severity === 'error') || !render || !schema) return { mapping: null, diagnostics: sorted };

    const doRender = render;
    const env = this.env;
    const fnPos = this.pos(['fileName']);
    const mapping: CompiledOutbound = {
      file: src.file,
      command,
      format,
      ...(setId !== undefined && { setId }),
      render(cmd, ctx) {
        checkCommand(cmd, command, src.file);
        const doc = doRender(cmd, ctx);
        if (fileName) {
          const root: JsonContext = { root: cmd, item: cmd, index: 1, pointer: '', now: ctx.now };
          const name = single(fileName(root, env), 'fileName', root, fnPos);
          if (name) doc.fileName = name;
        }
        return doc;
      },
    };
    return { mapping, diagnostics: sorted };
  }

  // ------------------------------------------------------------------------------------------- X12

  private compileX12(m: Record<string, unknown>, setId: string | undefined): ((cmd: unknown, ctx: RenderContext) => RenderedDocument) | null {
    const partner = this.input.partner;
    const x12 = partner.x12;
    const ours = partner.ours;
    if (!x12 || !ours) {
      this.diag('MAP_PARTNER_X12_MISSING', `partner '${partner.id}' has no ${!x12 ? "'x12'" : "'ours'"} section in partner.yaml: an X12 interchange needs both identities`,
        'target' in m ? ['target'] : []);
    }
    const version = (x12?.version ?? '004010') as SchemaVersion;
    if (setId) {
      this.x12Schema = getSchema(setId, version);
      if (!this.x12Schema) {
        this.diag('MAP_UNKNOWN_TARGET', `Waybill has no schema for transaction set ${setId} in ${version}, so it cannot write it`, ['target']);
      } else {
        const walkLoop = (loop: CompiledLoop) => {
          for (const c of loop.children) {
            if (c.segment) this.x12Segments.set(c.segmentId, c.segment);
            if (c.loop) walkLoop(c.loop);
          }
        };
        walkLoop(this.x12Schema.root);
      }
    }
    if (!('segments' in m)) {
      this.diag('MAP_SPEC_INVALID', "'segments' (the list of segments between ST and SE) is required", []);
      return null;
    }
    const items = this.compileSegmentList(m.segments, ['segments']);
    const schema = this.x12Schema;
    if (schema) {
      for (const c of schema.root.children) {
        if (c.min >= 1 && !ENVELOPE_SEGMENTS.has(c.segmentId) && !this.usedSegments.has(c.segmentId)) {
          this.diag('MAP_REQUIRED_SEGMENT_UNMAPPED', `${setId} requires ${c.loop ? `the ${c.segmentId} loop` : `segment ${c.segmentId}`}, which this mapping never writes`,
            ['segments'], { key: true, severity: 'warning' });
        }
      }
    }
    if (!schema || !x12 || !ours || !setId) return null;

    const delimiters: WriterDelimiters = {
      element: x12.delimiters.element,
      component: x12.delimiters.component,
      repetition: x12.delimiters.repetition,
      segment: x12.delimiters.segment,
      suffix: x12.delimiters.lineEnding,
    };
    try {
      new X12Writer(delimiters);
    } catch (err) {
      if (!(err instanceof WaybillError)) throw err;
      this.diag('MAP_PARTNER_X12_INVALID', `partner '${partner.id}' has delimiters the X12 writer refuses: ${err.message}`, ['target']);
      return null;
    }
    const env = this.env;
    const adapter = this.adapter;
    const functionalId = schema.functionalGroup;
    const ids = { x12, ours };

    return (cmd, rctx) => {
      const root: JsonContext = { root: cmd, item: cmd, index: 1, pointer: '', now: rctx.now };
      const emitted: Emitted[] = [];
      renderSegments(items, root, env, adapter, emitted);
      const body = emitted.map((e) => e.seg);

      // Refuse delimiter characters before any control number is used.
      const scratch = new X12Writer(delimiters);
      emitted.forEach((e, i) => {
        try {
          scratch.formatSegment(e.seg, { position: i + 2 });
        } catch (err) {
          throw delimiterFailure(err, e);
        }
      });

      const interchange = rctx.controls.next('interchange');
      const group = rctx.controls.next('group');
      let transaction = rctx.controls.next('transaction');
      if (/^\d{1,3}$/.test(transaction)) transaction = transaction.padStart(4, '0');
      // The envelope's dates and times are the partner's wall clock, as the body's times (env.timezone)
      // and the gateway's acknowledgments to the partner are: not UTC.
      const clock = ackClock(rctx.now, env.timezone);
      const isa: IsaHeader = {
        senderQualifier: ids.ours.isa.qualifier,
        senderId: ids.ours.isa.id,
        receiverQualifier: ids.x12.isa.qualifier,
        receiverId: ids.x12.isa.id,
        date: clock.date6,
        time: clock.time4,
        version: ISA12[version] ?? '00401',
        control: interchange,
        usage: ids.x12.usage,
      };
      const gs: GsHeader = {
        functionalId,
        senderId: ids.ours.gs ?? ids.ours.isa.id,
        receiverId: ids.x12.gs ?? ids.x12.isa.id,
        date: clock.date8,
        time: clock.time4,
        control: group,
        version,
      };
      const w = new X12Writer(delimiters);
      let text = w.beginInterchange(isa);
      text += w.beginGroup(gs);
      try {
        text += w.transaction({ setId, control: transaction, segments: body });
      } catch (err) {
        const pos = err instanceof WaybillError && typeof err.details.position === 'number' ? (err.details.position as number) - 2 : -1;
        if (pos >= 0 && emitted[pos]) throw delimiterFailure(err, emitted[pos]);
        throw err;
      }
      text += w.endGroup();
      text += w.endInterchange();
      // Never hand a partner a document our own validator rejects (a cancel without its S5 loop, a
      // code the set does not allow): read the output back and check it against the set's schema. A
      // syntax note (N1: N102 or N103 required) is an error here: files we read may break them, but what
      // we send must not (a carrier's translator rejects the segment).
      const problems = allIssues(inspectX12Sync(text, { syntaxNotes: 'error' })).filter((i) => i.severity === 'error');
      if (problems.length) {
        // Each finding once (a list past a loop's maximum repeats is one finding per extra item), and the
        // first one traced back to the segment that made it: its mapping line and the command item
        // (`/notes/10`), so the message says which value to change.
        const distinct = [...new Set(problems.map((i) => `${i.code} ${i.message}${i.segmentId ? ` [${i.segmentId}]` : ''}`))];
        const list = distinct.slice(0, 5).join('; ');
        const first = problems[0];
        const e = typeof first.segmentPosition === 'number' ? emitted[first.segmentPosition - 2] : undefined;
        const el = e && typeof first.elementPosition === 'number' ? e.plan.elements.find((p) => p.position === first.elementPosition) : undefined;
        throw new OutboundFailure('MAP_OUTPUT_INVALID', `the rendered ${setId} does not pass X12 validation: ${list}${distinct.length > 5 ? '; ...' : ''}`,
          e ? { line: 0, column: 0, what: e.ctx.pointer || '/' } : undefined, el?.parts[0]?.pos ?? e?.plan.pos ?? { file: this.src.file, line: 1, column: 1 });
      }
      return {
        format: 'x12',
        text,
        controls: { interchange: interchange.padStart(9, '0'), group, transaction },
      };
    };
  }

  private compileSegmentList(raw: unknown, at: YamlPath): X12Item[] {
    if (!Array.isArray(raw)) {
      this.diag('MAP_SPEC_INVALID', "'segments' is a list of { SEG: { position: value spec } } entries and { each: PATH, segments: [...] } blocks", at);
      return [];
    }
    const out: X12Item[] = [];
    raw.forEach((entry, i) => {
      const here = [...at, i];
      if (!isPlainObject(entry)) {
        this.diag('MAP_SPEC_INVALID', 'a segment entry is a map: { SEG: { 1: spec, ... } } or { each: PATH, segments: [...] }', here);
        return;
      }
      if ('each' in entry || 'segments' in entry) {
        const block = this.compileBlock(entry, here);
        if (block) out.push(block);
        return;
      }
      const segKeys = Object.keys(entry).filter((k) => k !== 'when' && k !== 'required');
      if (segKeys.length !== 1) {
        this.diag('MAP_SPEC_INVALID', segKeys.length === 0
          ? 'this entry names no segment'
          : `one segment per entry: found ${segKeys.join(', ')} (write each as its own '- SEG: {...}' item)`, here);
        return;
      }
      const plan = this.compileSegment(segKeys[0], entry[segKeys[0]], [...here, segKeys[0]], entry, here);
      if (plan) out.push(plan);
    });
    return out;
  }

  private compileBlock(entry: Record<string, unknown>, at: YamlPath): BlockPlan | null {
    for (const k of Object.keys(entry)) {
      if (!['each', 'when', 'segments'].includes(k)) {
        this.diag('MAP_UNKNOWN_KEY', `'${k}' is not allowed in an each block (each, when, segments)`, [...at, k],
          { key: true, suggestion: didYouMean(k, ['each', 'when', 'segments']) });
      }
    }
    let loop: unknown = null;
    let pushed = false;
    if ('each' in entry) {
      if (typeof entry.each !== 'string') {
        this.diag('MAP_SPEC_INVALID', "'each' is the path of a list in the command, e.g. stops", [...at, 'each']);
        this.adapter.pushUnknown();
      } else {
        const lp = this.adapter.loopPath(entry.each);
        if ('error' in lp) {
          this.diag(lp.code, lp.error, [...at, 'each'], { suggestion: lp.suggestion });
          this.adapter.pushUnknown();
        } else {
          loop = lp.path;
          this.adapter.pushLoop(lp.path);
        }
      }
      pushed = true;
    }
    const when = entry.when !== undefined ? this.spec.compileCondition(entry.when, [...at, 'when']) : null;
    let items: X12Item[] = [];
    if (!('segments' in entry)) this.diag('MAP_SPEC_INVALID', "an each block needs 'segments'", at);
    else items = this.compileSegmentList(entry.segments, [...at, 'segments']);
    if (pushed) this.adapter.popScope();
    return { kind: 'block', loop, when, items };
  }

  private compileSegment(id: string, body: unknown, at: YamlPath, entry: Record<string, unknown>, entryAt: YamlPath): SegmentPlan | null {
    const schema = this.x12Schema;
    let seg: CompiledSegment | null = null;
    let ok = true;
    if (!/^[A-Z][A-Z0-9]{1,2}$/.test(id)) {
      this.diag('MAP_UNKNOWN_SEGMENT', `'${id}' is not a segment id (2-3 upper-case letters or digits)`, at,
        { key: true, suggestion: schema ? didYouMean(id, [...schema.segmentIds].filter((s) => !ENVELOPE_SEGMENTS.has(s))) : undefined });
      ok = false;
    } else if (ENVELOPE_SEGMENTS.has(id)) {
      this.diag('MAP_ENVELOPE_SEGMENT', `${id} is written by the gateway (ISA/GS/ST ... SE/GE/IEA); a mapping lists only the segments between ST and SE`, at, { key: true });
      ok = false;
    } else if (schema) {
      const inSet = [...schema.segmentIds].filter((s) => !ENVELOPE_SEGMENTS.has(s));
      if (!schema.segmentIds.has(id)) {
        if (schema.knownSegmentIds.has(id)) {
          this.diag('MAP_SEGMENT_NOT_IN_SET', `segment ${id} is not part of transaction set ${schema.setId} (${schema.version})`, at,
            { key: true, suggestion: didYouMean(id, inSet) });
        } else {
          this.diag('MAP_UNKNOWN_SEGMENT', `unknown segment '${id}'; ${schema.setId} (${schema.version}) uses ${inSet.join(' ')}`, at,
            { key: true, suggestion: didYouMean(id, inSet) });
        }
        ok = false;
      } else seg = this.x12Segments.get(id) ?? null;
    }
    this.usedSegments.add(id);

    let whenRaw: [unknown, YamlPath] | null = entry.when !== undefined ? [entry.when, [...entryAt, 'when']] : null;
    let requiredRaw: [unknown, YamlPath] | null = entry.required !== undefined ? [entry.required, [...entryAt, 'required']] : null;
    if (!isPlainObject(body)) {
      this.diag('MAP_SPEC_INVALID', `${id} takes a map of element positions to value specs, e.g. { 1: path, 2: { const: X } }`, at);
      return null;
    }
    const elements: ElementPlan[] = [];
    const mapped = new Set<number>();
    const count = seg?.elements?.length ?? null;
    for (const [key, spec] of Object.entries(body)) {
      const here = [...at, key];
      if (key === 'when' || key === 'required') {
        if ((key === 'when' ? whenRaw : requiredRaw) !== null) {
          this.diag('MAP_SPEC_INVALID', `'${key}' is given twice for ${id}`, here, { key: true });
          continue;
        }
        if (key === 'when') whenRaw = [spec, here];
        else requiredRaw = [spec, here];
        continue;
      }
      if (!/^\d{1,2}$/.test(key)) {
        this.diag('MAP_UNKNOWN_KEY', `'${key}' is not an element position of ${id} (1, 2, ...) nor 'when' / 'required'`, here,
          { key: true, suggestion: didYouMean(key, ['when', 'required']) });
        continue;
      }
      const n = Number(key);
      if (n < 1 || (count !== null && n > count)) {
        // The partner's version decides the count (the same words as inbound paths, x12-adapter.ts).
        this.diag('MAP_ELEMENT_OUT_OF_RANGE', count !== null
          ? `${id} has ${count} elements in ${this.x12Schema?.version ?? 'this version'} (1 to ${count}); there is no element ${pad2(n)}`
          : `element positions start at 1`, here, { key: true });
        continue;
      }
      if (mapped.has(n)) {
        this.diag('MAP_SPEC_INVALID', `${id}${pad2(n)} is mapped twice`, here, { key: true });
        continue;
      }
      mapped.add(n);
      const def = seg?.elements?.[n - 1] ?? null;
      const label = `${id}${pad2(n)}`;
      if (Array.isArray(spec)) {
        if (def && !def.components) {
          this.diag('MAP_SPEC_INVALID', `${label} is not a composite element; give one value spec, not a list`, here);
          continue;
        }
        const comps = def?.components ?? null;
        const parts: ElementPart[] = [];
        spec.forEach((c, k) => {
          if (comps && k >= comps.length) {
            this.diag('MAP_ELEMENT_OUT_OF_RANGE', `${label} (composite ${def?.typeName ?? ''}) has ${comps.length} components in ${this.x12Schema?.version ?? 'this version'}; there is no component ${k + 1}`, [...here, k]);
            return;
          }
          parts.push(this.compileElementPart(c, [...here, k], comps?.[k] ?? null, `${label}-${k + 1}`));
        });
        elements.push({ position: n, composite: true, parts });
      } else {
        const d = def?.components ? def.components[0] ?? null : def;
        elements.push({ position: n, composite: false, parts: [this.compileElementPart(spec, here, d, label)] });
      }
    }
    if (seg?.elements && ok) {
      const missing = seg.elements.map((e, i) => (e.required && !mapped.has(i + 1) ? `${id}${pad2(i + 1)}` : null)).filter((x): x is string => x !== null);
      if (missing.length) {
        this.diag('MAP_REQUIRED_ELEMENT_UNMAPPED', `mandatory element${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} never mapped`, at,
          { key: true, severity: 'warning' });
      }
    }
    let required = false;
    if (requiredRaw) {
      if (typeof requiredRaw[0] !== 'boolean') this.diag('MAP_SPEC_INVALID', "'required' is true or false", requiredRaw[1]);
      else required = requiredRaw[0];
    }
    const when = whenRaw ? this.spec.compileCondition(whenRaw[0], whenRaw[1]) : null;
    elements.sort((a, b) => a.position - b.position);
    if (!ok) return null;
    return {
      kind: 'segment', id, elements, required, when,
      dynamic: elements.some((e) => e.parts.some((p) => p.dynamic)),
      pos: this.pos(at),
    };
  }

  private compileElementPart(raw: unknown, at: YamlPath, def: CompiledElement | null, label: string): ElementPart {
    let spec = raw;
    if (isPlainObject(raw) && raw.truncate === true && def && def.type === T_AN) spec = { ...raw, truncate: def.max };
    const ev = this.spec.compileSpec(spec, at);
    if (isConstSpec(raw) && def) {
      const v = scalarText(raw.const);
      if (v === undefined) {
        this.diag('MAP_SPEC_INVALID', `${label} takes a text, number or boolean constant`, [...at, 'const']);
      } else if (v !== '') {
        const problem = checkElementValue(v, def, label);
        if (problem) {
          const closed = problem.code === 'MAP_VALUE_INVALID' && def.codes && def.closed && !def.codes.has(v);
          this.diag(closed ? 'MAP_QUALIFIER_NEVER_VALID' : problem.code, problem.message, [...at, 'const'],
            { suggestion: closed ? didYouMean(v, [...def.codes!]) : undefined });
        }
      }
    }
    return { ev, def, dynamic: !isConstSpec(raw), pos: this.pos(at), label };
  }

  // ------------------------------------------------------------------------------------------- CSV

  private compileCsv(m: Record<string, unknown>): ((cmd: unknown, ctx: RenderContext) => RenderedDocument) | null {
    const options: CsvWriteOptions = {};
    if (m.delimiter !== undefined) {
      if (typeof m.delimiter !== 'string' || [...m.delimiter].length !== 1 || /[\r\n"]/.test(m.delimiter)) {
        this.diag('MAP_SPEC_INVALID', "'delimiter' is one character other than CR, LF and the quote", ['delimiter']);
      } else options.delimiter = m.delimiter;
    }
    if (m.lineEnding !== undefined) {
      if (m.lineEnding !== 'crlf' && m.lineEnding !== 'lf') {
        this.diag('MAP_SPEC_INVALID', "'lineEnding' is crlf or lf", ['lineEnding'], { suggestion: typeof m.lineEnding === 'string' ? didYouMean(m.lineEnding, ['crlf', 'lf']) : undefined });
      } else options.lineEnding = m.lineEnding;
    }
    if (m.quoteAll !== undefined) {
      if (typeof m.quoteAll !== 'boolean') this.diag('MAP_SPEC_INVALID', "'quoteAll' is true or false", ['quoteAll']);
      else options.quoteAll = m.quoteAll;
    }
    let header = true;
    if (m.header !== undefined) {
      if (typeof m.header !== 'boolean') this.diag('MAP_SPEC_INVALID', "'header' is true or false", ['header']);
      else header = m.header;
    }

    let loop: unknown = null;
    let pushed = false;
    if (m.each !== undefined) {
      pushed = true;
      if (typeof m.each !== 'string') {
        this.diag('MAP_SPEC_INVALID', "'each' is the path of a list in the command (one row per item), e.g. stops", ['each']);
        this.adapter.pushUnknown();
      } else {
        const lp = this.adapter.loopPath(m.each);
        if ('error' in lp) {
          this.diag(lp.code, lp.error, ['each'], { suggestion: lp.suggestion });
          this.adapter.pushUnknown();
        } else {
          loop = lp.path;
          this.adapter.pushLoop(lp.path);
        }
      }
    }
    const when = m.when !== undefined ? this.spec.compileCondition(m.when, ['when']) : null;
    const columns: { name: string; ev: Evaluator<JsonContext>; pos: MapPos }[] = [];
    if (!Array.isArray(m.columns) || m.columns.length === 0) {
      this.diag('MAP_SPEC_INVALID', "'columns' is a non-empty list of { name: <header>, value: <value spec> }", 'columns' in m ? ['columns'] : []);
    } else {
      const seen = new Set<string>();
      m.columns.forEach((c, i) => {
        const here = ['columns', i];
        if (!isPlainObject(c)) {
          this.diag('MAP_SPEC_INVALID', 'a column is { name: <header>, value: <value spec> }', here);
          return;
        }
        for (const k of Object.keys(c)) {
          if (k !== 'name' && k !== 'value') {
            this.diag('MAP_UNKNOWN_KEY', `'${k}' is not a column key (name, value); modifiers go inside the value spec`, [...here, k],
              { key: true, suggestion: didYouMean(k, ['name', 'value']) });
          }
        }
        const name = scalarText(c.name);
        if (name === undefined || name === '') this.diag('MAP_SPEC_INVALID', "a column needs a 'name' (its header)", here);
        else if (seen.has(name)) this.diag('MAP_DUPLICATE_COLUMN', `column '${name}' appears twice`, [...here, 'name'], { severity: 'warning' });
        if (name) seen.add(name);
        if (!('value' in c)) {
          this.diag('MAP_SPEC_INVALID', "a column needs a 'value' (a value spec)", here);
          return;
        }
        columns.push({ name: name ?? '', ev: this.spec.compileSpec(c.value, [...here, 'value']), pos: this.pos([...here, 'value']) });
      });
    }
    if (pushed) this.adapter.popScope();

    const env = this.env;
    const adapter = this.adapter;
    return (cmd, rctx) => {
      const root: JsonContext = { root: cmd, item: cmd, index: 1, pointer: '', now: rctx.now };
      const contexts = loop === null ? [root] : adapter.loops(loop, root);
      const rows: string[][] = [];
      for (const c of contexts) {
        if (when && !when(c, env)) continue;
        rows.push(columns.map((col) => single(col.ev(c, env), `column '${col.name}'`, c, col.pos) ?? ''));
      }
      let text: string;
      try {
        text = writeCsv(rows, { ...options, ...(header && { header: columns.map((c) => c.name) }) });
      } catch (err) {
        // A value the CSV text cannot carry (a NUL, half of a surrogate pair): said at its column's spec.
        if (!(err instanceof WaybillError) || typeof err.details.field !== 'number') throw err;
        const col = columns[err.details.field - 1];
        throw new OutboundFailure('MAP_VALUE_INVALID', `column '${col?.name ?? err.details.field}': ${err.message}`, undefined, col?.pos ?? { file: this.src.file, line: 1, column: 1 });
      }
      return { format: 'csv', text };
    };
  }

  // ------------------------------------------------------------------------------------------- XML

  private compileXml(m: Record<string, unknown>): ((cmd: unknown, ctx: RenderContext) => RenderedDocument) | null {
    let ok = true;
    const root = m.root;
    if (typeof root !== 'string' || !XML_NAME.test(root)) {
      this.diag('MAP_SPEC_INVALID', "'root' is the name of the document's root element", root === undefined ? [] : ['root']);
      ok = false;
    }
    let pretty = true;
    let declaration = true;
    if (m.pretty !== undefined) {
      if (typeof m.pretty !== 'boolean') this.diag('MAP_SPEC_INVALID', "'pretty' is true or false", ['pretty']);
      else pretty = m.pretty;
    }
    if (m.declaration !== undefined) {
      if (typeof m.declaration !== 'boolean') this.diag('MAP_SPEC_INVALID', "'declaration' is true or false", ['declaration']);
      else declaration = m.declaration;
    }
    if (!isPlainObject(m.document)) {
      this.diag('MAP_SPEC_INVALID', "'document' is a map of the root's content: element names, '@attribute's, '#text'", 'document' in m ? ['document'] : []);
      return null;
    }
    const children = this.compileXmlMap(m.document, ['document']);
    if (!ok) return null;
    const rootName = root as string;
    const env = this.env;
    const adapter = this.adapter;
    const docPos = this.pos(['document']);
    return (cmd, rctx) => {
      const rootCtx: JsonContext = { root: cmd, item: cmd, index: 1, pointer: '', now: rctx.now };
      const r = renderXmlChildren(children, rootCtx, env, adapter);
      const tree = Object.create(null) as Record<string, XmlWriteValue>;
      tree[rootName] = r.empty ? '' : r.obj;
      let text: string;
      try {
        text = buildXml(tree as XmlWriteTree, { pretty, declaration });
      } catch (err) {
        if (err instanceof WaybillError) throw new OutboundFailure('MAP_VALUE_INVALID', err.message, undefined, docPos);
        throw err;
      }
      return { format: 'xml', text };
    };
  }

  private compileXmlMap(raw: Record<string, unknown>, at: YamlPath): XmlPlan[] {
    const out: XmlPlan[] = [];
    for (const [key, v] of Object.entries(raw)) {
      const here = [...at, key];
      if (key.startsWith('@')) {
        const name = key.slice(1);
        if (!XML_NAME.test(name)) {
          this.diag('MAP_SPEC_INVALID', `'${name}' is not an XML attribute name`, here, { key: true });
          continue;
        }
        if (!(typeof v === 'string' || isPlainObject(v))) {
          this.diag('MAP_SPEC_INVALID', `attribute @${name} takes a value spec (a path, or { const: ... })`, here);
          continue;
        }
        out.push({ kind: 'attr', name, ev: this.spec.compileSpec(v, here), dynamic: !isConstSpec(v), pos: this.pos(here) });
      } else if (key === '#text') {
        out.push({ kind: 'text', ev: this.spec.compileSpec(v, here), dynamic: !isConstSpec(v), pos: this.pos(here) });
      } else {
        if (!XML_NAME.test(key)) {
          this.diag('MAP_SPEC_INVALID', `'${key}' is not an XML element name`, here, { key: true });
          continue;
        }
        const plan = this.compileXmlElement(key, v, here);
        if (plan) out.push(plan);
      }
    }
    return out;
  }

  private compileXmlElement(name: string, v: unknown, at: YamlPath): XmlPlan | null {
    if (typeof v === 'string' || (isPlainObject(v) && !('each' in v) && !('content' in v) && isSpecLike(v))) {
      return { kind: 'leaf', name, ev: this.spec.compileSpec(v, at), dynamic: !isConstSpec(v), pos: this.pos(at) };
    }
    if (Array.isArray(v)) {
      const items = v.map((item, i) => this.compileXmlElement(name, item, [...at, i])).filter((x): x is XmlPlan => x !== null);
      return { kind: 'list', name, items };
    }
    if (!isPlainObject(v)) {
      this.diag('MAP_SPEC_INVALID', `element ${name} takes a value spec (a path, or { const: ${JSON.stringify(v)} }), a map of its content, or an each block`, at);
      return null;
    }
    if ('each' in v) {
      const keys = ['each', 'when', 'content', 'value'];
      for (const k of Object.keys(v)) {
        if (!keys.includes(k)) {
          this.diag('MAP_UNKNOWN_KEY', `'${k}' is not allowed in an each block (each, when, content or value); element content goes under 'content'`, [...at, k],
            { key: true, suggestion: didYouMean(k, keys) });
        }
      }
      let loop: unknown = null;
      if (typeof v.each !== 'string') {
        this.diag('MAP_SPEC_INVALID', "'each' is the path of a list in the command, e.g. stops", [...at, 'each']);
        this.adapter.pushUnknown();
      } else {
        const lp = this.adapter.loopPath(v.each);
        if ('error' in lp) {
          this.diag(lp.code, lp.error, [...at, 'each'], { suggestion: lp.suggestion });
          this.adapter.pushUnknown();
        } else {
          loop = lp.path;
          this.adapter.pushLoop(lp.path);
        }
      }
      const when = v.when !== undefined ? this.spec.compileCondition(v.when, [...at, 'when']) : null;
      let children: XmlPlan[] | null = null;
      let value: Evaluator<JsonContext> | null = null;
      if ('content' in v && 'value' in v) {
        this.diag('MAP_SPEC_INVALID', "an each block has 'content' (a map) or 'value' (a value spec), not both", at);
      } else if ('content' in v) {
        if (!isPlainObject(v.content)) this.diag('MAP_SPEC_INVALID', "'content' is a map of element names, '@attribute's and '#text'", [...at, 'content']);
        else children = this.compileXmlMap(v.content, [...at, 'content']);
      } else if ('value' in v) {
        value = this.spec.compileSpec(v.value, [...at, 'value']);
      } else {
        this.diag('MAP_SPEC_INVALID', "an each block needs 'content' (one element per item) or 'value' (a text element per item)", at);
      }
      this.adapter.popScope();
      return { kind: 'each', name, loop, when, children, value, pos: this.pos(at) };
    }
    let when: Cond | null = null;
    let required = false;
    let content: Record<string, unknown> = v;
    let contentAt = at;
    if ('content' in v) {
      for (const k of Object.keys(v)) {
        if (!['content', 'when', 'required'].includes(k)) {
          this.diag('MAP_UNKNOWN_KEY', `'${k}' is not allowed next to 'content' (content, when, required)`, [...at, k],
            { key: true, suggestion: didYouMean(k, ['content', 'when', 'required']) });
        }
      }
      if (!isPlainObject(v.content)) {
        this.diag('MAP_SPEC_INVALID', "'content' is a map of element names, '@attribute's and '#text'", [...at, 'content']);
        return null;
      }
      content = v.content;
      contentAt = [...at, 'content'];
      if (v.when !== undefined) when = this.spec.compileCondition(v.when, [...at, 'when']);
      if (v.required !== undefined) {
        if (typeof v.required !== 'boolean') this.diag('MAP_SPEC_INVALID', "'required' is true or false", [...at, 'required']);
        else required = v.required;
      }
    }
    const children = this.compileXmlMap(content, contentAt);
    return { kind: 'element', name, children, dynamic: children.some(isDynamic), when, required, pos: this.pos(at) };
  }
}

/** A map that is a value spec (has a source key), as opposed to a map of XML content. */
function isSpecLike(v: Record<string, unknown>): boolean {
  return ['path', 'const', 'first', 'concat', 'all', 'datetime', 'date', 'decimal', 'time', 'number', 'coordinate'].some((k) => k in v);
}

function isDynamic(p: XmlPlan): boolean {
  switch (p.kind) {
    case 'each':
      return true;
    case 'list':
      return p.items.some(isDynamic);
    default:
      return p.dynamic;
  }
}

// ---------------------------------------------------------------------------------------------------
// Rendering

function checkCommand(cmd: unknown, command: string, file: string): void {
  if (!isPlainObject(cmd)) {
    throw new OutboundFailure('MAP_CANONICAL_INVALID', `the command to render is not an object`, undefined, { file, line: 1, column: 1 });
  }
  if (cmd.type !== undefined && cmd.type !== command) {
    throw new OutboundFailure('MAP_CANONICAL_INVALID', `this mapping renders ${command}, not ${String(cmd.type)}`, { line: 0, column: 0, what: '/type' }, { file, line: 1, column: 1 });
  }
}

/** One written value: a scalar as text, nothing as undefined; a list or an object is refused. */
function single(v: Value, what: string, ctx: JsonContext, pos: MapPos): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = scalarText(v);
  if (s !== undefined) return s;
  const desc = Array.isArray(v) ? `a list of ${v.length} values` : 'an object';
  throw new OutboundFailure('MAP_VALUE_INVALID', `${what}: the value is ${desc}, where one value is written (use first, an index such as [0], 'join', or an each block)`,
    { line: 0, column: 0, what: ctx.pointer || '/' }, pos);
}

const TYPE_HINT: Record<number, string> = {
  [T_DT]: 'a date (CCYYMMDD): use format: date8',
  [T_TM]: 'a time (HHMM[SS]): use format: time4',
};

/** Checks a value against its X12 element definition: type, length, closed code list. */
/**
 * The first character of `v` outside X12's basic and extended character sets (printable ASCII), with its
 * offset, or null. Control characters and halves of surrogate pairs are left to the writer's own check.
 */
function firstNonAscii(v: string): { character: string; offset: number } | null {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x80 || (c >= 0xd800 && c <= 0xdfff && !(c <= 0xdbff && i + 1 < v.length && (v.charCodeAt(i + 1) & 0xfc00) === 0xdc00))) continue;
    return { character: String.fromCodePoint(v.codePointAt(i)!), offset: i };
  }
  return null;
}

function checkElementValue(v: string, def: CompiledElement, label: string): { code: OutboundFailureCode; message: string } | null {
  // X12 004010/005010 data is the basic and extended character sets: ASCII. Written as UTF-8, 'É' reaches a
  // carrier's translator as two bytes ('Ã‰' to one reading Latin-1) and counts twice against the
  // element's maximum, so it is refused rather than sent as other data than was given.
  const foreign = firstNonAscii(v);
  if (foreign) {
    const cp = foreign.character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return {
      code: 'MAP_VALUE_INVALID',
      message: `${label}: ${JSON.stringify(v)} holds U+${cp}${/[\u0080-\u009f]/.test(foreign.character) ? '' : ` ${JSON.stringify(foreign.character)}`} at offset ${foreign.offset}, outside the X12 character set (ASCII)`,
    };
  }
  const numeric = def.type === T_NUM || def.type === T_R;
  if (def.type === T_NUM && !/^-?\d+$/.test(v)) {
    const implied = /^N[1-9]$/.test(def.typeName);
    return {
      code: 'MAP_VALUE_INVALID',
      message: `${label} is numeric (${def.typeName}${implied ? `, ${def.typeName.slice(1)} implied decimals` : ''}), not '${v}'${implied && /^-?\d*\.\d+$/.test(v) ? `: use format: implied${def.typeName.slice(1)}` : ''}`,
    };
  }
  if (def.type === T_R && !/^-?(\d+\.?\d*|\.\d+)$/.test(v)) {
    return { code: 'MAP_VALUE_INVALID', message: `${label} is a decimal number (R), not '${v}'` };
  }
  if (def.type === T_DT && !(/^\d+$/.test(v) && (v.length === 8 || (v.length === 6 && def.max === 6)))) {
    return { code: 'MAP_VALUE_INVALID', message: `${label} is ${TYPE_HINT[T_DT]}; got '${v}'` };
  }
  if (def.type === T_TM && !/^\d{4}(\d{2}(\d{1,2})?)?$/.test(v)) {
    return { code: 'MAP_VALUE_INVALID', message: `${label} is ${TYPE_HINT[T_TM]}; got '${v}'` };
  }
  if (def.codes && def.closed && !def.codes.has(v)) {
    return { code: 'MAP_VALUE_INVALID', message: `'${v}' is not a valid code for ${label} (${def.name})` };
  }
  const length = numeric ? v.replace(/[-.]/g, '').length : [...v].length;
  if (length > def.max) {
    return {
      code: 'MAP_VALUE_TOO_LONG',
      message: `${label} (${def.name}) holds at most ${def.max} ${numeric ? 'digits' : 'characters'}; '${v}' has ${length}${def.type === T_AN ? ' (truncate: true cuts it)' : ''}`,
    };
  }
  if (length < def.min) {
    return { code: 'MAP_VALUE_INVALID', message: `${label} (${def.name}) needs at least ${def.min} ${numeric ? 'digits' : 'characters'}; '${v}' has ${length}` };
  }
  return null;
}

interface Emitted {
  seg: ElementValue[];
  plan: SegmentPlan;
  ctx: JsonContext;
}

function renderSegments(items: X12Item[], ctx: JsonContext, env: EvalEnv, adapter: JsonAdapter, out: Emitted[]): void {
  for (const item of items) {
    if (item.kind === 'block') {
      const contexts = item.loop === null ? [ctx] : adapter.loops(item.loop, ctx);
      for (const c of contexts) {
        if (item.when && !item.when(c, env)) continue;
        renderSegments(item.items, c, env, adapter, out);
      }
      continue;
    }
    if (item.when && !item.when(ctx, env)) continue;
    const seg: ElementValue[] = [item.id];
    let hasData = false;
    for (const el of item.elements) {
      const parts = el.parts.map((p) => {
        let s = single(p.ev(ctx, env), p.label, ctx, p.pos) ?? '';
        // A value of spaces alone is no value (inbound reads `N4|MEMPHIS|TN|   |US` as no postal code), and
        // X12 suppresses an AN value's trailing spaces, down to its minimum length.
        if (p.def && s.endsWith(' ')) {
          if (s.trim() === '') s = '';
          else if (p.def.type === T_AN) {
            let end = s.length;
            while (end > p.def.min && s.charCodeAt(end - 1) === 0x20) end--;
            s = s.slice(0, end);
          }
        }
        if (s !== '') {
          if (p.dynamic) hasData = true;
          if (p.def) {
            const problem = checkElementValue(s, p.def, p.label);
            if (problem) throw new OutboundFailure(problem.code, problem.message, adapter.loc(ctx), p.pos);
          }
        }
        return s;
      });
      while (seg.length < el.position) seg.push('');
      seg[el.position] = el.composite ? parts : parts[0];
    }
    if (item.dynamic && !hasData) {
      if (item.required) {
        throw new OutboundFailure('MAP_REQUIRED_MISSING', `segment ${item.id} is required, but none of its values is present`, adapter.loc(ctx), item.pos);
      }
      continue;
    }
    out.push({ seg, plan: item, ctx });
  }
}

function delimiterFailure(err: unknown, e: Emitted): unknown {
  if (!(err instanceof WaybillError) || (err.code !== 'X12_WRITE_DELIMITER_IN_DATA' && err.code !== 'X12_WRITE_CHARACTER_INVALID')) return err;
  const d = err.details;
  const el = e.plan.elements.find((p) => p.position === d.elementPosition);
  const part = el ? el.parts[typeof d.componentPosition === 'number' && el.composite ? d.componentPosition - 1 : 0] ?? el.parts[0] : undefined;
  const label = part?.label ?? `${e.plan.id}${pad2(Number(d.elementPosition))}`;
  if (err.code === 'X12_WRITE_CHARACTER_INVALID') {
    const cp = String(d.character).charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return new OutboundFailure('MAP_VALUE_INVALID', `${label}: ${JSON.stringify(d.value)} holds U+${cp}, which X12 data cannot carry (a control character, or half of a surrogate pair)`,
      { line: 0, column: 0, what: e.ctx.pointer || '/' }, part?.pos ?? e.plan.pos);
  }
  return new OutboundFailure('MAP_DELIMITER_IN_DATA',
    `${label}: ${JSON.stringify(d.value)} contains the partner's ${String(d.delimiter)} delimiter ${JSON.stringify(d.character)}, which X12 cannot carry in data`,
    { line: 0, column: 0, what: e.ctx.pointer || '/' }, part?.pos ?? e.plan.pos);
}

interface XmlRendered {
  obj: Record<string, XmlWriteValue>;
  hasData: boolean;
  empty: boolean;
}

function xmlText(v: Value, what: string, ctx: JsonContext, pos: MapPos): string | undefined {
  const s = single(v, what, ctx, pos);
  if (s !== undefined) checkXmlChars(s, what, ctx, pos);
  return s === '' ? undefined : s;
}

function checkXmlChars(s: string, what: string, ctx: JsonContext, pos: MapPos): void {
  const bad = XML_FORBIDDEN.exec(s);
  if (bad) {
    const cp = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new OutboundFailure('MAP_VALUE_INVALID', `${what}: character U+${cp} cannot be written in XML 1.0`, { line: 0, column: 0, what: ctx.pointer || '/' }, pos);
  }
}

function addChild(obj: Record<string, XmlWriteValue>, name: string, v: string | XmlWriteTree): void {
  const cur = obj[name];
  if (cur === undefined) obj[name] = v;
  else if (Array.isArray(cur)) (cur as (string | XmlWriteTree)[]).push(v);
  else obj[name] = [cur as string | XmlWriteTree, v];
}

function renderXmlChildren(children: XmlPlan[], ctx: JsonContext, env: EvalEnv, adapter: JsonAdapter): XmlRendered {
  const obj = Object.create(null) as Record<string, XmlWriteValue>;
  let hasData = false;
  for (const c of children) {
    if (renderXmlPlan(c, obj, ctx, env, adapter)) hasData = true;
  }
  return { obj, hasData, empty: Object.keys(obj).length === 0 };
}

/** Renders one plan into `obj`; true when it wrote something that came from the command. */
function renderXmlPlan(c: XmlPlan, obj: Record<string, XmlWriteValue>, ctx: JsonContext, env: EvalEnv, adapter: JsonAdapter): boolean {
  switch (c.kind) {
    case 'attr': {
      const s = xmlText(c.ev(ctx, env), `@${c.name}`, ctx, c.pos);
      if (s === undefined) return false;
      obj[`@_${c.name}`] = s;
      return c.dynamic;
    }
    case 'text': {
      const s = xmlText(c.ev(ctx, env), '#text', ctx, c.pos);
      if (s === undefined) return false;
      obj['#text'] = s;
      return c.dynamic;
    }
    case 'leaf': {
      const v = c.ev(ctx, env);
      const values = Array.isArray(v) ? v : [v];
      let wrote = false;
      for (const x of values) {
        const s = xmlText(x, c.name, ctx, c.pos);
        if (s === undefined) continue;
        addChild(obj, c.name, s);
        wrote = true;
      }
      return wrote && c.dynamic;
    }
    case 'element': {
      if (c.when && !c.when(ctx, env)) return false;
      const r = renderXmlChildren(c.children, ctx, env, adapter);
      if (c.dynamic && !r.hasData) {
        if (c.required) throw new OutboundFailure('MAP_REQUIRED_MISSING', `element ${c.name} is required, but none of its values is present`, adapter.loc(ctx), c.pos);
        return false;
      }
      addChild(obj, c.name, r.empty ? '' : r.obj);
      return r.hasData;
    }
    case 'each': {
      let wrote = false;
      for (const item of adapter.loops(c.loop, ctx)) {
        if (c.when && !c.when(item, env)) continue;
        if (c.value) {
          const s = xmlText(c.value(item, env), c.name, item, c.pos);
          if (s === undefined) continue;
          addChild(obj, c.name, s);
          wrote = true;
        } else if (c.children) {
          const r = renderXmlChildren(c.children, item, env, adapter);
          if (c.children.some(isDynamic) && !r.hasData) continue;
          addChild(obj, c.name, r.empty ? '' : r.obj);
          wrote = true;
        }
      }
      return wrote;
    }
    case 'list': {
      let wrote = false;
      for (const p of c.items) if (renderXmlPlan(p, obj, ctx, env, adapter)) wrote = true;
      return wrote;
    }
  }
}
