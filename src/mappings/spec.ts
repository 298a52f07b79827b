// Value specs: the declarative expressions of a mapping (`B10.01`, `{ first: [...] }`, `{ datetime: ... }`
// ...), compiled once into plain closures (and each object of fields into a generated builder: see
// planBuilder). Compiling collects every problem as a positioned diagnostic; evaluating never runs anything
// from the partner folder as code.

import { didYouMean, type Diagnostic } from './diagnostics.js';
import type { CodeTable, CodeTables } from './tables.js';
import { compileFormat, coordinate, decimalString, exactNumber, impliedDecimal, TransformError, x12Date, x12Time, zonedIso } from './transforms.js';
import type { YamlPath, YamlSource } from './yaml-source.js';

/** Where a value came from in the source file, for run-time errors. */
export interface SourceLoc {
  line: number;
  column: number;
  offset?: number;
  /** e.g. "AT7" or a CSV column / XML path. */
  what?: string;
}

/** What a mapping needs from a source format (X12 loop trees, CSV records, XML nodes). */
export interface SourceAdapter<C> {
  readonly format: 'x12' | 'csv' | 'xml';
  /** Parses a value path; returns an error message (and an optional did-you-mean) when it is wrong. */
  valuePath(text: string): { path: unknown } | { error: string; code: string; suggestion?: string };
  loopPath(text: string): { path: unknown } | { error: string; code: string; suggestion?: string };
  /** For a loop path read from the transaction itself: a warning when it takes loops at several depths (X12). */
  loopAtSeveralDepths?(path: unknown): string | null;
  values(path: unknown, ctx: C, all: boolean): { value: string; loc?: SourceLoc }[];
  /** values(path, ctx, false)[0]?.value, without building the list (the common case, on the hot path). */
  first(path: unknown, ctx: C): string | undefined;
  loops(path: unknown, ctx: C): C[];
  /** Where the context starts (its first segment, the record, the element): the fallback location of a failure. */
  loc(ctx: C): SourceLoc | undefined;
  /**
   * Where a value path's value is, or would be: for X12 the element the path addresses, in the segment it
   * names (also when the element is empty). Undefined when the source has nothing there (then `loc` is used).
   */
  locate?(path: unknown, ctx: C): SourceLoc | undefined;
  /**
   * The complete list of values a value path's element can hold (an X12 qualifier's closed code list, in
   * the mapping's version), or null when it is open or unknown: compile-time checks of compared values.
   */
  closedCodes?(path: unknown): readonly string[] | null;
  /** The decimals a value path's element implies (X12 Nn), 'explicit' for X12 R, null when unknown. */
  numericPlaces?(path: unknown): number | 'explicit' | null;
}

/** A run-time mapping failure: fails the transaction (or record) being mapped, never its siblings. */
export class MappingFailure extends Error {
  constructor(
    readonly code:
      | 'MAP_REQUIRED_MISSING' | 'MAP_UNMAPPED_CODE' | 'MAP_BAD_DATE' | 'MAP_BAD_TIME' | 'MAP_BAD_DECIMAL' | 'MAP_BAD_TIMEZONE'
      | 'MAP_CANONICAL_INVALID' | 'MAP_DELIMITER_IN_DATA' | 'MAP_VALUE_INVALID' | 'MAP_VALUE_TOO_LONG' | 'MAP_OUTPUT_INVALID',
    message: string,
    readonly source: SourceLoc | undefined,
    readonly mapping: { file: string; line: number; column: number } | undefined,
  ) {
    super(message);
    this.name = 'MappingFailure';
  }
}

/** A transform's error becomes a MappingFailure pointing at the source and the mapping; anything else is a bug. */
function failure(err: unknown, source: SourceLoc | undefined, mpos: { file: string; line: number; column: number }): unknown {
  return err instanceof TransformError ? new MappingFailure(err.code, err.message, source, mpos) : err;
}

export interface EvalEnv {
  /** The partner's default time zone for times without a zone code (or with LT). */
  timezone: string;
}

export type Value = string | boolean | number | null | Value[] | { [k: string]: Value } | undefined;
export type Evaluator<C> = (ctx: C, env: EvalEnv) => Value;

/**
 * A value a spec gives whatever the input says (a constant, a value or the default of a code table), and
 * where it is written: checked against the target field's schema when the mapping compiles.
 */
export interface FixedValue {
  value: Value;
  /** A constant or default of the mapping, or a code table's value (for `code`) or default. */
  from: 'constant' | 'default' | { table: string; code?: string };
  at: { file: string; line: number; column: number };
}

export interface CompiledField<C> {
  /** Canonical target path, e.g. ['location', 'city']. */
  target: string[];
  evaluate: Evaluator<C>;
  /** The values the field's spec can give without reading the input (see SpecCompiler.fixedValues). */
  fixed?: FixedValue[];
  /** Nested fields of an `each: ... fields:` (for canonical checks of array items). */
  itemFields?: CompiledField<C>[];
  /** The object plan of those items (reordered to the canonical schema once it is known). */
  itemPlan?: ObjectPlan<C>;
  /** The items of an `items: [...]` list, each its own fields and plan (checked and ordered like itemFields). */
  itemSets?: { fields: CompiledField<C>[]; plan: ObjectPlan<C> }[];
  yamlPath: YamlPath;
  /** What the spec gives (one value, a list, an object), when that is known without reading the input. */
  shape?: ValueShape;
}

export type ValueShape = 'value' | 'list' | 'object';

/**
 * The shape of what a value spec gives, from the spec alone: a path or a transform gives one value, `all`,
 * `list`, `each` and `items` a list, a constant its own shape, `first` the shape its candidates share.
 * Undefined when it cannot be told (a `first` of mixed shapes, a malformed spec: reported elsewhere).
 */
export function valueShape(raw: unknown): ValueShape | undefined {
  if (typeof raw === 'string') return 'value';
  if (!isPlainObject(raw)) return undefined;
  const sources = SOURCE_KEYS.filter((k) => k in raw);
  if (sources.length !== 1) return undefined;
  const v = raw[sources[0]];
  let shape: ValueShape | undefined;
  switch (sources[0]) {
    case 'all': case 'list': case 'each': case 'items': shape = 'list'; break;
    case 'const': shape = constShape(v); break;
    case 'first': {
      const shapes = Array.isArray(v) ? new Set(v.map(valueShape)) : new Set([undefined]);
      shape = shapes.size === 1 ? [...shapes][0] : undefined;
      break;
    }
    default: shape = 'value'; // path, concat and the transforms (each makes one value of its input)
  }
  // A default of another shape makes the field's shape depend on the input.
  return 'default' in raw && raw.default !== undefined && constShape(raw.default) !== shape ? undefined : shape;
}

function constShape(v: unknown): ValueShape | undefined {
  if (Array.isArray(v)) return 'list';
  if (isPlainObject(v)) return 'object';
  return v === null || v === undefined ? undefined : 'value';
}

export const SOURCE_KEYS = ['path', 'const', 'first', 'concat', 'list', 'all', 'each', 'items', 'datetime', 'date', 'decimal', 'time', 'number', 'coordinate'] as const;
export const MODIFIER_KEYS = ['table', 'trim', 'case', 'default', 'required', 'when'] as const;
const EXTRA_KEYS: Record<string, string[]> = {
  date: ['format'],
  time: ['format'],
  datetime: ['format'],
  concat: ['separator'],
  decimal: ['implied'],
  coordinate: ['hemisphere'],
  each: ['fields', 'value'],
};
const CONDITION_KEYS = ['path', 'equals', 'in', 'exists', 'not', 'all', 'any'];

type Raw = unknown;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Does this YAML object look like a value spec (rather than a nested object of fields)? */
export function isSpecObject(v: unknown): boolean {
  return isPlainObject(v) && SOURCE_KEYS.some((k) => k in v);
}

export interface SpecCompilerOptions {
  /**
   * The closed list of values a value path (as the adapter parsed it) can hold, or null when any value may
   * appear there: an X12 ID element's code list. A condition comparing such a path with a value outside
   * the list never holds, and is refused at compile time.
   */
  closedCodes?: (path: unknown) => readonly string[] | null;
  /**
   * The decimal places a value path's element implies (X12 N2: 2, N0: 0), 'explicit' for an element that
   * carries its own point (X12 R), null when unknown (CSV, XML, a component): `decimal` with the wrong
   * `implied` over such an element gives a value off by a power of ten, refused at compile time.
   */
  numericPlaces?: (path: unknown) => number | 'explicit' | null;
  /**
   * Whether the mapping's fields are read from the transaction itself (no `foreach`): its top-level `each`
   * paths are then checked for loops at several depths (SourceAdapter.loopAtSeveralDepths).
   */
  fieldsAtTransaction?: boolean;
}

export class SpecCompiler<C> {
  readonly diagnostics: Diagnostic[] = [];

  /** How many `each` the spec being compiled is inside (0: read from the mapping's own context). */
  private eachDepth = 0;

  constructor(
    private readonly src: YamlSource,
    private readonly adapter: SourceAdapter<C>,
    private readonly tables: CodeTables,
    private readonly options: SpecCompilerOptions = {},
  ) {}

  private diag(code: string, message: string, path: YamlPath, extra: { key?: boolean; suggestion?: string; severity?: 'error' | 'warning' } = {}): void {
    this.diagnostics.push(this.src.diagnostic(code, message, path, extra));
  }

  private mappingPos(path: YamlPath) {
    const p = this.src.position(path);
    return { file: this.src.file, line: p.line, column: p.column };
  }

  /** Compiles a `fields:` map (dotted keys and/or nested objects) into a flat list of target fields. */
  compileFields(raw: Raw, yamlPath: YamlPath, prefix: string[] = []): CompiledField<C>[] {
    if (!isPlainObject(raw)) {
      this.diag('MAP_SPEC_INVALID', "'fields' must be a map of canonical field -> value spec", yamlPath);
      return [];
    }
    const out: CompiledField<C>[] = [];
    for (const [key, spec] of Object.entries(raw)) {
      const target = [...prefix, ...key.split('.')];
      const at = [...yamlPath, key];
      if (target.some((t) => t === '')) {
        this.diag('MAP_SPEC_INVALID', `'${key}' is not a field path`, at, { key: true });
        continue;
      }
      // A map without a value source is nested fields (`status: { milestone: ..., reason: ... }`),
      // unless it has a modifier (`{ pth: B10.01, trim: true }`): then it is a spec missing its source.
      if (isPlainObject(spec) && !isSpecObject(spec) && !MODIFIER_KEYS.some((k) => k in spec)) {
        out.push(...this.compileFields(spec, at, target));
        continue;
      }
      const field: CompiledField<C> = { target, evaluate: () => undefined, yamlPath: at };
      field.evaluate = this.compileSpec(spec, at, field);
      field.fixed = this.fixedValues(spec, at);
      // A constant's shape is judged with its value (MAP_VALUE_NEVER_VALID): one error for one mistake.
      field.shape = isPlainObject(spec) && 'const' in spec ? undefined : valueShape(spec);
      out.push(field);
    }
    return out;
  }

  /** The object plan of compiled fields; a path assigned twice (or a value with fields under it) is an error. */
  plan(fields: CompiledField<C>[]): ObjectPlan<C> {
    const { plan, conflicts } = planFields(fields);
    for (const c of conflicts) this.diag('MAP_FIELD_CONFLICT', c.message, c.field.yamlPath, { key: true });
    return plan;
  }

  /** Compiles one value spec. Problems become diagnostics; the returned evaluator then yields nothing. */
  compileSpec(raw: Raw, at: YamlPath, field?: CompiledField<C>): Evaluator<C> {
    // The source paths this spec reads (its own and those of the specs inside it), so that a failure can
    // point at the source segment rather than only at the context (locatorFor).
    const paths: unknown[] = [];
    this.collecting.push(paths);
    try {
      const ev = this.compileSpecUnlocated(raw, at, field);
      this.pathsOf.set(ev, paths);
      return ev;
    } finally {
      this.collecting.pop();
    }
  }

  /** Source paths compiled while compiling specs, innermost spec last. */
  private readonly collecting: unknown[][] = [];
  private readonly pathsOf = new WeakMap<Evaluator<C>, unknown[]>();

  /** The source paths a compiled field's spec reads, for pointing at the value of an event the canonical schema refuses. */
  sourcePathsOf(field: CompiledField<C>): unknown[] {
    return this.pathsIn(field.evaluate);
  }

  /** The source paths a compiled spec reads (its own and those of the specs inside it). */
  private pathsIn(...evs: Evaluator<C>[]): unknown[] {
    return evs.flatMap((ev) => this.pathsOf.get(ev) ?? []);
  }

  /** Where a failure points: the first of `paths` the source has, else the context. */
  private locatorFor(paths: unknown[]): (ctx: C) => SourceLoc | undefined {
    const adapter = this.adapter;
    return (ctx) => {
      if (adapter.locate) {
        for (const p of paths) {
          const at = adapter.locate(p, ctx);
          if (at) return at;
        }
      }
      return adapter.loc(ctx);
    };
  }

  private compileSpecUnlocated(raw: Raw, at: YamlPath, field?: CompiledField<C>): Evaluator<C> {
    if (typeof raw === 'string') return this.pathEvaluator(raw, at, false) as Evaluator<C>;
    if (!isPlainObject(raw)) {
      this.diag('MAP_SPEC_INVALID', `a value spec is a path string or a map with one of ${SOURCE_KEYS.join(', ')} (for a constant write { const: ${JSON.stringify(raw)} })`, at);
      return () => undefined;
    }
    if ('<<' in raw) {
      // YAML 1.1 merge keys are not part of YAML 1.2, which the files are read as: `<<` is a plain key.
      this.diag('MAP_SPEC_INVALID', "YAML merge keys ('<<') are not supported: write the value spec out in full (anchors and aliases of whole specs work)", [...at, '<<'], { key: true });
      return () => undefined;
    }
    const sources = SOURCE_KEYS.filter((k) => k in raw);
    if (sources.length !== 1) {
      const unknown = Object.keys(raw).filter((k) => !(SOURCE_KEYS as readonly string[]).includes(k) && !(MODIFIER_KEYS as readonly string[]).includes(k));
      const hint = unknown.length ? didYouMean(unknown[0], [...SOURCE_KEYS, ...MODIFIER_KEYS]) : undefined;
      if (sources.length === 0 && unknown.length > 0 && hint !== undefined && (SOURCE_KEYS as readonly string[]).includes(hint)) {
        // A misspelt source (`pth`): said at that key, once.
        this.diag('MAP_UNKNOWN_KEY', `'${unknown[0]}' is not a value source; use one of ${SOURCE_KEYS.join(', ')}`, [...at, unknown[0]], { key: true, suggestion: hint });
        return () => undefined;
      }
      this.diag('MAP_SPEC_INVALID', sources.length === 0
        ? `no value source here: use one of ${SOURCE_KEYS.join(', ')}`
        : `a value spec has exactly one source, found ${sources.join(' and ')}`, at, { suggestion: hint });
      return () => undefined;
    }
    const kind = sources[0];
    const allowed = new Set<string>([kind, ...MODIFIER_KEYS, ...(EXTRA_KEYS[kind] ?? [])]);
    for (const k of Object.keys(raw)) {
      if (!allowed.has(k)) {
        this.diag('MAP_UNKNOWN_KEY', `'${k}' is not allowed in a '${kind}' spec; allowed: ${[...allowed].join(', ')}`, [...at, k],
          { key: true, suggestion: didYouMean(k, allowed) });
      }
    }
    let base = this.compileSource(kind, raw, at, field);
    base = this.applyModifiers(base, raw, at, this.collecting[this.collecting.length - 1] ?? []);
    return base;
  }

  private pathEvaluator(text: string, at: YamlPath, all: boolean): Evaluator<C> {
    const parsed = this.adapter.valuePath(text);
    if ('error' in parsed) {
      this.diag(parsed.code, parsed.error, at, { suggestion: parsed.suggestion });
      return () => undefined;
    }
    const path = parsed.path;
    for (const c of this.collecting) c.push(path);
    const adapter = this.adapter;
    if (all) {
      return (ctx) => {
        const vs = adapter.values(path, ctx, true);
        return vs.length ? vs.map((v) => v.value) : undefined;
      };
    }
    return (ctx) => adapter.first(path, ctx);
  }

  private compileSource(kind: (typeof SOURCE_KEYS)[number], raw: Record<string, unknown>, at: YamlPath, field?: CompiledField<C>): Evaluator<C> {
    const v = raw[kind];
    const here = [...at, kind];
    switch (kind) {
      case 'path':
        if (typeof v !== 'string') return this.bad('path', 'a path string', here);
        return this.pathEvaluator(v, here, false);
      case 'const':
        return () => v as Value;
      case 'all':
        if (typeof v !== 'string') return this.bad('all', 'a path string', here);
        return this.pathEvaluator(v, here, true);
      case 'first': {
        if (!Array.isArray(v) || v.length === 0) return this.bad('first', 'a list of value specs', here);
        const parts = v.map((s, i) => this.compileSpec(s, [...here, i]));
        // With `trim`, a candidate that is blank once trimmed is passed over like an empty one.
        const trim = raw.trim === true;
        return (ctx, env) => {
          for (let i = 0; i < parts.length; i++) {
            const r = trim ? trimmed(parts[i](ctx, env)) : parts[i](ctx, env);
            if (r !== undefined && r !== '') return r;
          }
          return undefined;
        };
      }
      case 'concat': {
        if (!Array.isArray(v) || v.length === 0) return this.bad('concat', 'a list of value specs', here);
        const parts = v.map((s, i) => this.compileSpec(s, [...here, i]));
        const sep = typeof raw.separator === 'string' ? raw.separator : ' ';
        // With `trim`, each part is trimmed before joining, as `first:` trims its candidates: a part blank
        // once trimmed is left out (no dangling separator), and no spaces stay inside next to one.
        const trim = raw.trim === true;
        return (ctx, env) => {
          // Plain loops in these evaluators: they run for every unit, and map/filter/flatMap chains
          // allocated an array and a closure call per step.
          let out: string | undefined;
          for (let i = 0; i < parts.length; i++) {
            const x = trim ? trimmed(parts[i](ctx, env)) : parts[i](ctx, env);
            if (x === undefined || x === '') continue;
            out = out === undefined ? String(x) : out + sep + String(x);
          }
          return out;
        };
      }
      case 'list': {
        if (!Array.isArray(v) || v.length === 0) return this.bad('list', 'a list of value specs', here);
        const parts = v.map((s, i) => this.compileSpec(s, [...here, i]));
        return (ctx, env) => {
          const vals: Value[] = [];
          for (let i = 0; i < parts.length; i++) {
            const r = parts[i](ctx, env);
            if (r === undefined || r === '') continue;
            if (Array.isArray(r)) for (let k = 0; k < r.length; k++) vals.push(r[k]);
            else vals.push(r);
          }
          return vals.length ? vals : undefined;
        };
      }
      case 'each': {
        if (typeof v !== 'string') return this.bad('each', 'a loop path string', here);
        const loop = this.adapter.loopPath(v);
        if ('error' in loop) {
          this.diag(loop.code, loop.error, here, { suggestion: loop.suggestion });
          return () => undefined;
        }
        const adapter = this.adapter;
        if (this.options.fieldsAtTransaction && this.eachDepth === 0) {
          const note = adapter.loopAtSeveralDepths?.(loop.path);
          if (note) this.diag('MAP_LOOP_AT_SEVERAL_DEPTHS', note, here, { severity: 'warning' });
        }
        if ('fields' in raw && 'value' in raw) {
          this.diag('MAP_SPEC_INVALID', "'each' takes 'fields' (an object per iteration) or 'value' (a value per iteration), not both", [...at, 'value'], { key: true });
          return () => undefined;
        }
        if ('fields' in raw) {
          this.eachDepth++;
          const fields = this.compileFields(raw.fields, [...at, 'fields']);
          this.eachDepth--;
          const plan = this.plan(fields);
          if (field) {
            field.itemFields = fields;
            field.itemPlan = plan;
          }
          return (ctx, env) => {
            const contexts = adapter.loops(loop.path, ctx);
            if (contexts.length === 0) return undefined;
            const items: Value[] = [];
            // An iteration none of whose fields has a value is left out, as an empty `items:` entry is:
            // `ids: { each: N1, fields: { qualifier: N1.03, value: N1.04 } }` over an N1 with a name but no
            // id (N103/N104 are optional) made an empty id, which failed the whole transaction.
            for (let i = 0; i < contexts.length; i++) {
              const item = evaluatePlan(plan, contexts[i], env);
              if (item !== undefined) items.push(item);
            }
            return items.length ? items : undefined;
          };
        }
        if ('value' in raw) {
          this.eachDepth++;
          const value = this.compileSpec(raw.value, [...at, 'value']);
          this.eachDepth--;
          return (ctx, env) => {
            const contexts = adapter.loops(loop.path, ctx);
            const items: Value[] = [];
            for (let i = 0; i < contexts.length; i++) {
              const x = value(contexts[i], env);
              if (x !== undefined) items.push(x);
            }
            return items.length ? items : undefined;
          };
        }
        this.diag('MAP_SPEC_INVALID', "'each' needs 'fields' (an object per iteration) or 'value' (a value per iteration)", at);
        return () => undefined;
      }
      case 'items': {
        // A list of objects written out one by one, for sources without loops (a CSV record's shipper and
        // consignee columns -> parties[]): each item is a fields map; an item with no value is left out.
        if (!Array.isArray(v) || v.length === 0) return this.bad('items', 'a list of field maps (one per array item)', here);
        const sets = v.map((item, i) => {
          const fields = this.compileFields(item, [...here, i]);
          return { fields, plan: this.plan(fields) };
        });
        if (field) field.itemSets = sets;
        return (ctx, env) => {
          const out: Value[] = [];
          for (let i = 0; i < sets.length; i++) {
            const obj = evaluatePlan(sets[i].plan, ctx, env);
            if (obj !== undefined) out.push(obj);
          }
          return out.length ? out : undefined;
        };
      }
      case 'date': {
        const inner = this.compileSpec(v, here);
        return this.transformed(inner, this.mappingPos(here), this.layout('date', raw.format, [...at, 'format']));
      }
      case 'time': {
        const inner = this.compileSpec(v, here);
        return this.transformed(inner, this.mappingPos(here), this.layout('time', raw.format, [...at, 'format']));
      }
      case 'decimal': {
        const inner = this.compileSpec(v, here);
        const implied = raw.implied;
        if (implied !== undefined && (typeof implied !== 'number' || !Number.isInteger(implied) || implied < 0 || implied > 9)) {
          this.diag('MAP_SPEC_INVALID', "'implied' is the number of implied decimals (0-9)", [...at, 'implied']);
        }
        this.checkImpliedPlaces(v, implied, at);
        return this.transformed(inner, this.mappingPos(here),
          typeof implied === 'number' ? (d) => impliedDecimal(d, implied) : decimalString);
      }
      case 'number': {
        const inner = this.compileSpec(v, here);
        this.checkImpliedPlaces(v, undefined, at, 'number');
        return this.transformed(inner, this.mappingPos(here), exactNumber);
      }
      case 'coordinate': {
        const inner = this.compileSpec(v, here);
        const hemi = raw.hemisphere !== undefined ? this.compileSpec(raw.hemisphere, [...at, 'hemisphere']) : () => undefined;
        const mpos = this.mappingPos(here);
        const locate = this.locatorFor(this.pathsIn(inner));
        return (ctx, env) => {
          const d = inner(ctx, env);
          if (d === undefined) return undefined;
          const h = hemi(ctx, env);
          try {
            return coordinate(String(d), h === undefined ? undefined : String(h));
          } catch (err) {
            throw failure(err, locate(ctx), mpos);
          }
        };
      }
      case 'datetime': {
        if (!isPlainObject(v)) return this.bad('datetime', 'a map with date, time and zone', here);
        for (const k of Object.keys(v)) {
          if (!['date', 'time', 'zone'].includes(k)) {
            this.diag('MAP_UNKNOWN_KEY', `'${k}' is not part of a datetime (date, time, zone)`, [...here, k], { key: true, suggestion: didYouMean(k, ['date', 'time', 'zone']) });
          }
        }
        if (!('date' in v)) this.diag('MAP_SPEC_INVALID', "a datetime needs 'date'", here);
        // format: { date: MM/DD/YYYY, time: h:mm a } for layouts other than X12's (and ISO's).
        let formats: Record<string, unknown> = {};
        if (raw.format !== undefined) {
          if (!isPlainObject(raw.format)) this.diag('MAP_SPEC_INVALID', "a datetime's 'format' is a map with date and/or time layouts", [...at, 'format']);
          else {
            formats = raw.format;
            for (const k of Object.keys(formats)) {
              if (k !== 'date' && k !== 'time') {
                this.diag('MAP_UNKNOWN_KEY', `'${k}' is not a datetime format (date, time)`, [...at, 'format', k], { key: true, suggestion: didYouMean(k, ['date', 'time']) });
              }
            }
          }
        }
        const readDate = this.layout('date', formats.date, [...at, 'format', 'date']);
        const readTime = this.layout('time', formats.time, [...at, 'format', 'time']);
        const date = 'date' in v ? this.compileSpec(v.date, [...here, 'date']) : () => undefined;
        const time = 'time' in v ? this.compileSpec(v.time, [...here, 'time']) : () => undefined;
        const zone = 'zone' in v ? this.compileSpec(v.zone, [...here, 'zone']) : () => undefined;
        const zoneTable = this.tables.get('x12-time-code');
        const mpos = this.mappingPos(here);
        // A failure points at the part that failed (a bad time at the time's column or element), and at
        // that part's line of the mapping; the date's when the time or zone is not where it is read from.
        const locate = this.locatorFor(this.pathsIn(date, time, zone));
        const locateTime = this.locatorFor(this.pathsIn(time, date));
        const locateZone = this.locatorFor(this.pathsIn(zone, date));
        const timePos = 'time' in v ? this.mappingPos([...here, 'time']) : mpos;
        const zonePos = 'zone' in v ? this.mappingPos([...here, 'zone']) : mpos;
        return (ctx, env) => {
          const d = date(ctx, env);
          if (d === undefined) return undefined;
          const t = time(ctx, env);
          const z = zone(ctx, env);
          let part: 'date' | 'time' | 'zone' = 'date';
          try {
            const day = readDate(String(d));
            part = 'time';
            const clock = t === undefined ? '00:00:00' : readTime(String(t));
            part = 'zone';
            let tz = env.timezone;
            if (z !== undefined && z !== '') {
              const code = String(z);
              let mapped = zoneTable?.values.get(code);
              // An unlisted code as any table lookup has it: the table's default, else the code itself under
              // `unmapped: pass-through` (an IANA name or offset a partner writes, checked by zonedIso).
              if (mapped === undefined && zoneTable) mapped = zoneTable.default ?? (zoneTable.unmapped === 'pass-through' ? code : undefined);
              if (mapped === undefined) throw new TransformError('MAP_BAD_TIMEZONE', `time code '${code}' is not in table x12-time-code`);
              if (mapped !== 'local') tz = mapped;
            }
            return zonedIso(day, clock, tz);
          } catch (err) {
            if (part === 'time') throw failure(err, locateTime(ctx), timePos);
            if (part === 'zone') throw failure(err, locateZone(ctx), zonePos);
            throw failure(err, locate(ctx), mpos);
          }
        };
      }
    }
  }

  /**
   * `{ decimal: B3.07 }` over an X12 N2 element reads 62634 as 62634, not 626.34; `implied: 2` over an R
   * element reads 1820 as 18.20. The element's type says how many decimals it implies: a bare path whose
   * `implied` disagrees is MAP_SPEC_INVALID, with the spec to write.
   */
  private checkImpliedPlaces(source: unknown, implied: unknown, at: YamlPath, kind: 'decimal' | 'number' = 'decimal'): void {
    const placesOf = this.options.numericPlaces;
    if (!placesOf || typeof source !== 'string') return;
    // Parsed again (a path is parsed once per use anyway; its problems were reported by the first parse).
    const parsed = this.adapter.valuePath(source);
    const places = 'error' in parsed ? null : placesOf(parsed.path);
    if (places === null) return;
    const given = typeof implied === 'number' ? implied : undefined;
    if (places === 'explicit') {
      if (given === undefined) return;
      this.diag('MAP_SPEC_INVALID', `${source} is an R element, which carries its own decimal point: 'implied' would read 1820 as ${impliedExample(given)}; leave it out`,
        [...at, 'implied'], { key: true, suggestion: `{ decimal: ${source} }` });
      return;
    }
    if ((given ?? 0) === places) return;
    if (kind === 'number') {
      // `number` has no implied decimals: L104 65940 would be the number 65940.
      this.diag('MAP_SPEC_INVALID', `${source} is an N${places} element (${places} implied decimals: 62634 is ${impliedExample(places, '62634')}): 'number' would read it as a whole number; use decimal with implied: ${places}`,
        [...at, 'number'], { suggestion: `{ decimal: ${source}, implied: ${places} }` });
      return;
    }
    this.diag('MAP_SPEC_INVALID', given === undefined
      ? `${source} is an N${places} element (${places} implied decimals: 62634 is ${impliedExample(places, '62634')}): write implied: ${places}`
      : `${source} is an N${places} element (${places} implied decimals), not ${given}`,
    given === undefined ? [...at, 'decimal'] : [...at, 'implied'], { suggestion: `{ decimal: ${source}, implied: ${places} }` });
  }

  /**
   * The reader of a date or time: the X12 forms (and ISO's) when no format is given, else the partner's
   * layout (compileFormat), checked here once.
   */
  private layout(kind: 'date' | 'time', format: unknown, at: YamlPath): (v: string) => string {
    const standard = kind === 'date' ? x12Date : x12Time;
    if (format === undefined) return standard;
    if (typeof format !== 'string' || format === '') {
      this.diag('MAP_SPEC_INVALID', `'format' is a ${kind} layout such as ${kind === 'date' ? 'MM/DD/YYYY' : 'HH:mm or h:mm a'}`, at);
      return standard;
    }
    const compiled = compileFormat(kind, format);
    if ('error' in compiled) {
      this.diag('MAP_SPEC_INVALID', compiled.error, at);
      return standard;
    }
    return compiled.parse;
  }

  /**
   * The values a spec gives whatever the input (its constants, the values and default of its code table),
   * as they come out of it: trim and case applied, a constant looked up in the table. Values read from the
   * input are not known here, nor what a transform (date, decimal, concat, ...) makes of a constant, so
   * those give nothing to check. Follows the evaluation order of applyModifiers: trim, case, table, default.
   */
  private fixedValues(raw: Raw, at: YamlPath): FixedValue[] {
    if (!isPlainObject(raw)) return [];
    const sources = SOURCE_KEYS.filter((k) => k in raw);
    if (sources.length !== 1) return [];
    const kind = sources[0];
    let out: FixedValue[];
    switch (kind) {
      case 'const':
        out = [{ value: raw.const as Value, from: 'constant', at: this.mappingPos([...at, 'const']) }];
        break;
      case 'first':
      case 'list': {
        const parts = raw[kind];
        // Both skip empty values; a list spreads a list value into its own items.
        out = !Array.isArray(parts) ? [] : parts.flatMap((p, i) => this.fixedValues(p, [...at, kind, i]))
          .flatMap((f) => (kind === 'list' && Array.isArray(f.value) ? f.value.map((value) => ({ ...f, value })) : [f]))
          .filter((f) => f.value !== '');
        break;
      }
      case 'each':
        out = 'value' in raw ? this.fixedValues(raw.value, [...at, 'value']) : [];
        break;
      default:
        out = [];
    }
    if (raw.trim === true) out = out.map((f) => ({ ...f, value: mapStrings(f.value, (s) => s.trim()) }));
    if (raw.case === 'upper' || raw.case === 'lower') {
      const up = raw.case === 'upper';
      out = out.map((f) => ({ ...f, value: mapStrings(f.value, (s) => (up ? s.toUpperCase() : s.toLowerCase())) }));
    }
    if (raw.table !== undefined) {
      const table = this.tables.get(String(raw.table));
      // An unknown table is reported already; what it would give is unknown.
      out = table ? tableOutputs(table, out, this.mappingPos([...at, 'table'])) : [];
    }
    if (raw.default !== undefined) {
      out = out.filter((f) => f.value !== ''); // the default replaces an empty value
      out.push({ value: raw.default as Value, from: 'default', at: this.mappingPos([...at, 'default']) });
    }
    return out;
  }

  private bad(kind: string, expected: string, at: YamlPath): Evaluator<C> {
    this.diag('MAP_SPEC_INVALID', `'${kind}' takes ${expected}`, at);
    return () => undefined;
  }

  /**
   * `inner`'s value through a transform (dates, times, decimals), absent when `inner` is; a transform's
   * error fails the unit with the source and mapping positions. `fn` is built once, at compile time.
   */
  private transformed(inner: Evaluator<C>, mpos: { file: string; line: number; column: number }, fn: (s: string) => Value): Evaluator<C> {
    const locate = this.locatorFor(this.pathsIn(inner));
    return (ctx, env) => {
      const v = inner(ctx, env);
      if (v === undefined) return undefined;
      try {
        return fn(String(v));
      } catch (err) {
        throw failure(err, locate(ctx), mpos);
      }
    };
  }

  private applyModifiers(base: Evaluator<C>, raw: Record<string, unknown>, at: YamlPath, paths: unknown[]): Evaluator<C> {
    let ev = base;
    const locate = this.locatorFor(paths);
    if (raw.trim !== undefined) {
      if (typeof raw.trim !== 'boolean') this.diag('MAP_SPEC_INVALID', "'trim' is true or false", [...at, 'trim']);
      else if (raw.trim) {
        // A value that is blank once trimmed is absent, as an empty one is: `default` and `required`
        // apply, a table is not asked for ''.
        const prev = ev;
        ev = (ctx, env) => trimmed(prev(ctx, env));
      }
    }
    if (raw.case !== undefined) {
      if (raw.case !== 'upper' && raw.case !== 'lower') {
        this.diag('MAP_SPEC_INVALID', "'case' is upper or lower", [...at, 'case'], { suggestion: typeof raw.case === 'string' ? didYouMean(raw.case, ['upper', 'lower']) : undefined });
      } else {
        const prev = ev;
        const up = raw.case === 'upper';
        ev = (ctx, env) => mapStrings(prev(ctx, env), (s) => (up ? s.toUpperCase() : s.toLowerCase()));
      }
    }
    if (raw.table !== undefined) {
      const name = String(raw.table);
      const table = this.tables.get(name);
      if (!table) {
        // A table file with errors of its own is reported there; "no code table" would send the analyst looking for a missing file.
        if (!this.tables.failedToLoad(name)) this.diag('MAP_UNKNOWN_TABLE', `no code table '${name}'`, [...at, 'table'], { suggestion: didYouMean(name, this.tables.names()) });
      } else {
        const prev = ev;
        const mpos = this.mappingPos([...at, 'table']);
        const lookup = (s: string, ctx: C): Value => {
          const hit = table.values.get(s);
          if (hit !== undefined) return hit;
          if (table.default !== undefined) return table.default;
          if (table.unmapped === 'pass-through') return s;
          throw new MappingFailure('MAP_UNMAPPED_CODE', `code '${s}' is not in table '${name}' (unmapped: error)`, locate(ctx), mpos);
        };
        ev = (ctx, env) => {
          const v = prev(ctx, env);
          if (typeof v === 'string') return lookup(v, ctx);
          return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? lookup(x, ctx) : x)) : v;
        };
      }
    }
    if (raw.default !== undefined) {
      const prev = ev;
      const dflt = raw.default as Value;
      ev = (ctx, env) => {
        const r = prev(ctx, env);
        return r === undefined || r === '' ? dflt : r;
      };
    }
    if (raw.required !== undefined) {
      if (typeof raw.required !== 'boolean') this.diag('MAP_SPEC_INVALID', "'required' is true or false", [...at, 'required']);
      else if (raw.required) {
        const prev = ev;
        const mpos = this.mappingPos(at);
        const what = describe(raw);
        ev = (ctx, env) => {
          const r = prev(ctx, env);
          if (r === undefined || r === '') {
            throw new MappingFailure('MAP_REQUIRED_MISSING', `required value ${what} is missing`, locate(ctx), mpos);
          }
          return r;
        };
      }
    }
    // `when` last: a value whose condition does not hold is simply absent, required or not.
    if (raw.when !== undefined) {
      const cond = this.compileCondition(raw.when, [...at, 'when']);
      const prev = ev;
      ev = (ctx, env) => (cond(ctx, env) ? prev(ctx, env) : undefined);
    }
    return ev;
  }

  compileCondition(raw: Raw, at: YamlPath): (ctx: C, env: EvalEnv) => boolean {
    if (!isPlainObject(raw)) {
      this.diag('MAP_SPEC_INVALID', 'a condition is a map: { path, equals } | { path, in } | { exists } | { not } | { all } | { any }', at);
      return () => false;
    }
    for (const k of Object.keys(raw)) {
      if (!CONDITION_KEYS.includes(k)) {
        this.diag('MAP_UNKNOWN_KEY', `'${k}' is not a condition key; conditions are { path, equals } | { path, in } | { exists } | { not } | { all } | { any }`, [...at, k],
          { key: true, suggestion: didYouMean(k, CONDITION_KEYS) });
      }
    }
    if ('not' in raw) {
      const inner = this.compileCondition(raw.not, [...at, 'not']);
      return (c, e) => !inner(c, e);
    }
    if ('all' in raw || 'any' in raw) {
      const key = 'all' in raw ? 'all' : 'any';
      const list = raw[key];
      if (!Array.isArray(list)) {
        this.diag('MAP_SPEC_INVALID', `'${key}' takes a list of conditions`, [...at, key]);
        return () => false;
      }
      const parts = list.map((c, i) => this.compileCondition(c, [...at, key, i]));
      return key === 'all' ? (c, e) => parts.every((p) => p(c, e)) : (c, e) => parts.some((p) => p(c, e));
    }
    if ('exists' in raw) {
      const ev = this.compileSpec(raw.exists, [...at, 'exists']);
      return (c, e) => {
        const v = ev(c, e);
        return v !== undefined && v !== '';
      };
    }
    if ('path' in raw) {
      const ev = this.compileSpec(raw.path, [...at, 'path']);
      // One value to compare with, or a list of them: `equals: [AG, X2]` compared with 'AG,X2', and an `in`
      // beside an `equals` was never read.
      if ('equals' in raw && 'in' in raw) {
        this.diag('MAP_SPEC_INVALID', "a 'path' condition has 'equals' (one value) or 'in' (a list), not both", [...at, 'in'], { key: true });
        return () => false;
      }
      const one = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
      if ('equals' in raw && !one(raw.equals)) {
        this.diag('MAP_SPEC_INVALID', Array.isArray(raw.equals)
          ? `'equals' takes one value; to match any of several, write in: [${raw.equals.map((v) => (one(v) ? String(v) : '...')).join(', ')}]`
          : `'equals' takes one value (a code or text), not ${raw.equals === null ? 'nothing' : 'a map'}; to test that a value is there, use { exists: PATH }`, [...at, 'equals']);
        return () => false;
      }
      if (Array.isArray(raw.in)) {
        const bad = raw.in.findIndex((v) => !one(v));
        if (bad >= 0) {
          this.diag('MAP_SPEC_INVALID', "'in' takes a list of values (codes or text), one of which the value must be", [...at, 'in', bad]);
          return () => false;
        }
      }
      this.checkComparedValues(raw, ev, at);
      this.checkNumbersWrittenAsCodes(raw, at);
      if ('equals' in raw) {
        const want = String(raw.equals);
        return (c, e) => ev(c, e) === want;
      }
      if ('in' in raw && Array.isArray(raw.in)) {
        const set = new Set(raw.in.map(String));
        return (c, e) => {
          const v = ev(c, e);
          return typeof v === 'string' && set.has(v);
        };
      }
      this.diag('MAP_SPEC_INVALID', "a 'path' condition needs 'equals' or 'in' (a list)", at);
      return () => false;
    }
    this.diag('MAP_SPEC_INVALID', 'empty condition', at);
    return () => false;
  }

  /**
   * `equals: 035` is the number 35 to YAML, so the comparison would look for '35' and never hold for the
   * code 035: refused at compile time, with the quoted value to write.
   */
  private checkNumbersWrittenAsCodes(raw: Record<string, unknown>, at: YamlPath): void {
    const places: YamlPath[] = 'equals' in raw ? [[...at, 'equals']] : Array.isArray(raw.in) ? raw.in.map((_, i) => [...at, 'in', i]) : [];
    for (const place of places) {
      const written = this.src.numberWrittenAs(place);
      if (written === null) continue;
      this.diag('MAP_SPEC_INVALID', `${written} is read as the number ${Number(written)}, so the condition would compare with '${Number(written)}', never '${written}': quote it`,
        place, { suggestion: `'${written}'` });
    }
  }

  /**
   * `{ path: P, equals: V }` or `{ path: P, in: [...] }` where P reads an element with a closed code list
   * (options.closedCodes): a value outside the list never matches, so the condition never holds (a typo
   * such as `AT7.01 equals QQQ` silently drops every event). Only a bare path is checked: with a table or
   * a transform on it, P's value is no longer the code read.
   */
  private checkComparedValues(raw: Record<string, unknown>, ev: Evaluator<C>, at: YamlPath): void {
    const closedCodes = this.options.closedCodes;
    if (!closedCodes || typeof raw.path !== 'string') return;
    const [path] = this.pathsIn(ev);
    const codes = path === undefined ? null : closedCodes(path);
    if (!codes) return;
    const compared: [unknown, YamlPath][] = 'equals' in raw
      ? [[raw.equals, [...at, 'equals']]]
      : Array.isArray(raw.in) ? raw.in.map((v, i): [unknown, YamlPath] => [v, [...at, 'in', i]]) : [];
    for (const [v, where] of compared) {
      const value = String(v);
      if (codes.includes(value)) continue;
      const list = codes.length <= 12 ? ` (codes: ${codes.join(', ')})` : '';
      this.diag('MAP_QUALIFIER_NEVER_VALID', `'${value}' is never a value of ${raw.path}${list}, so this comparison never matches`, where,
        { suggestion: didYouMean(value, codes) });
    }
  }
}

/**
 * What a code table gives for values read from the input (every value it lists, and its default) and for
 * `inputs`, the fixed values fed to it: a listed code becomes its value (listed already), an unlisted one
 * the default, or itself under `unmapped: pass-through` (under `unmapped: error` it fails the unit, so it
 * gives nothing). Numbers and booleans are not looked up, so they pass as they are.
 */
function tableOutputs(table: CodeTable, inputs: FixedValue[], reference: FixedValue['at']): FixedValue[] {
  const out: FixedValue[] = [...table.values].map(([code, value]) => ({
    value, from: { table: table.name, code }, at: table.positions.values.get(code) ?? reference,
  }));
  if (table.default !== undefined) {
    out.push({ value: table.default, from: { table: table.name }, at: table.positions.default ?? reference });
  }
  for (const f of inputs) {
    if (Array.isArray(f.value)) continue; // looked up item by item: not worth following
    if (typeof f.value !== 'string') out.push(f);
    else if (!table.values.has(f.value) && table.default === undefined && table.unmapped === 'pass-through') out.push(f);
  }
  return out;
}

/** `digits` read with `places` implied decimals, for messages. */
function impliedExample(places: number, digits = '1820'): string {
  try {
    return impliedDecimal(digits, places);
  } catch {
    return digits;
  }
}

function describe(raw: Record<string, unknown>): string {
  for (const k of SOURCE_KEYS) if (k in raw) return typeof raw[k] === 'string' ? `'${raw[k] as string}'` : `(${k})`;
  return '';
}

/** A value trimmed; blank strings become absent (dropped from a list; a list left empty is absent). */
function trimmed(v: Value): Value {
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? undefined : t;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    for (const x of v) {
      const t = typeof x === 'string' ? x.trim() : x;
      if (t !== '') out.push(t);
    }
    return out.length === 0 ? undefined : out;
  }
  return v;
}

function mapStrings(v: Value, fn: (s: string) => Value): Value {
  if (typeof v === 'string') return fn(v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? fn(x) : x));
  return v;
}

/**
 * The objects a list of fields builds, as a tree compiled once: `status.milestone` and `status.reason`
 * share one `status` entry. Evaluating a plan creates ordinary objects, always assigning keys in the
 * same order, so V8 gives every event of a mapping the same hidden classes; dictionary-mode objects
 * (Object.create(null)) made every later property read slow. Keys are safe to assign: each one was
 * checked against the canonical schema (own properties only), so none can be `__proto__`.
 */
export interface ObjectPlan<C> {
  entries: PlanEntry<C>[];
  /** The plan's builder (planBuilder), made on first use: after orderPlan has put the entries in order. */
  build?: (ctx: C, env: EvalEnv) => Record<string, Value> | undefined;
}

export interface PlanEntry<C> {
  key: string;
  /** A leaf: the value of one field. */
  evaluate?: Evaluator<C>;
  /** An object made of several fields. */
  plan?: ObjectPlan<C>;
  /** The field of a leaf (for its item plan and its position). */
  field?: CompiledField<C>;
}

/** Groups fields by target path. A conflict is a path assigned twice or a value that also has fields under it. */
export function planFields<C>(fields: CompiledField<C>[]): { plan: ObjectPlan<C>; conflicts: { field: CompiledField<C>; message: string }[] } {
  const plan: ObjectPlan<C> = { entries: [] };
  const conflicts: { field: CompiledField<C>; message: string }[] = [];
  for (const f of fields) {
    let level = plan;
    for (let i = 0; i < f.target.length; i++) {
      const key = f.target[i];
      const path = f.target.slice(0, i + 1).join('.');
      let entry = level.entries.find((e) => e.key === key);
      if (i === f.target.length - 1) {
        if (entry) {
          conflicts.push({ field: f, message: entry.plan ? `'${path}' is given a value here and fields elsewhere; use one or the other` : `'${path}' is assigned twice` });
        } else level.entries.push({ key, evaluate: f.evaluate, field: f });
        break;
      }
      if (entry?.evaluate) {
        conflicts.push({ field: f, message: `'${path}' is given a value elsewhere, so '${f.target.join('.')}' cannot be assigned under it` });
        break;
      }
      if (!entry) {
        entry = { key, plan: { entries: [] } };
        level.entries.push(entry);
      }
      level = entry.plan!;
    }
  }
  return { plan, conflicts };
}

/** Evaluates a plan into a fresh object; undefined when no field had a value (no empty objects). */
export function evaluatePlan<C>(plan: ObjectPlan<C>, ctx: C, env: EvalEnv): Record<string, Value> | undefined {
  return (plan.build ??= planBuilder(plan))(ctx, env);
}

/**
 * The function that builds a plan's object: one statement per entry, each with its own call and its
 * own store of a named key, in the plan's order.
 *
 * Why generated: interpreted (`obj[entry.key] = entry.evaluate(ctx, env)` in a loop over the entries),
 * every store and every call of every plan went through one site, which V8 could only handle in its slowest,
 * megamorphic form: the stores alone were about a tenth of a 214's mapping. A site per entry stays
 * monomorphic, and each call site always calls the same evaluator.
 *
 * Why this stays true to "nothing in a partner folder is run as code": the text generated is fixed
 * code, entry indexes, and the keys as JSON string literals (JSON.stringify escapes every quote and
 * backslash, so a key can only ever be a string's content). The keys were checked against the canonical
 * schema before any plan runs (none can be `__proto__`). Values stay data, computed by the compiled
 * evaluators, which the generated function receives as arguments. ajv already compiles this way.
 */
export function planBuilder<C>(plan: ObjectPlan<C>): (ctx: C, env: EvalEnv) => Record<string, Value> | undefined {
  const entries = plan.entries;
  // Checked against the canonical schema already; an object key of this name would set the prototype.
  if (entries.some((e) => e.key === '__proto__')) throw new Error("a plan cannot assign '__proto__'");
  const evaluators = entries.map((e): Evaluator<C> => {
    if (e.evaluate !== undefined) return e.evaluate;
    const inner = e.plan!;
    return (ctx, env) => evaluatePlan(inner, ctx, env);
  });
  const lines = ['let o;', 'let v;'];
  for (let i = 0; i < entries.length; i++) {
    lines.push(`v = e${i}(ctx, env);`, `if (v !== undefined) (o ??= {})[${JSON.stringify(entries[i].key)}] = v;`);
  }
  lines.push('return o;');
  const bind = evaluators.map((_, i) => `const e${i} = evaluators[${i}];`).join('\n');
  const factory = new Function('evaluators', `'use strict';\n${bind}\nreturn function build(ctx, env) {\n${lines.join('\n')}\n};`) as
    (evaluators: Evaluator<C>[]) => (ctx: C, env: EvalEnv) => Record<string, Value> | undefined;
  return factory(evaluators);
}
