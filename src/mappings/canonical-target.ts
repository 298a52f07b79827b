// What a mapping targets: a canonical schema, seen as a tree of fields, so the compiler can reject
// unknown fields (with did-you-mean), envelope fields the gateway owns, required fields never set, and
// values the mapping writes whatever the input (constants, code-table values) that the field never takes.

import type { z } from 'zod';
import { FreightInvoiceCommandV1, FreightInvoiceEventV1, schemas } from '../canonical/index.js';
import { didYouMean, shownPath, type Diagnostic } from './diagnostics.js';
import { MODIFIER_KEYS, SOURCE_KEYS, type CompiledField, type FixedValue, type ObjectPlan, type Value, type ValueShape } from './spec.js';
import type { YamlPath, YamlSource } from './yaml-source.js';

/** Envelope fields the gateway fills; a mapping may not assign them. */
export const GATEWAY_FIELDS = new Set(['kind', 'id', 'type', 'partner', 'receivedAt', 'source']);
const COMMAND_GATEWAY_FIELDS = new Set(['kind', 'id', 'type', 'partner', 'requestId', 'issuedAt', 'issuedBy']);

interface Def {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  options?: unknown[];
  valueType?: unknown;
}
type Schemaish = { def?: Def; shape?: Record<string, unknown> };

function unwrap(s: unknown): { schema: Schemaish; optional: boolean } {
  let cur = s as Schemaish;
  let optional = false;
  for (let i = 0; i < 12 && cur; i++) {
    const t = cur.def?.type;
    if (t === 'optional' || t === 'default' || t === 'prefault' || t === 'nullable' || t === 'catch') {
      if (t !== 'nullable') optional = true;
      cur = cur.def!.innerType as Schemaish;
    } else if (t === 'readonly') cur = cur.def!.innerType as Schemaish;
    else if (t === 'pipe') cur = cur.def!.in as Schemaish;
    else break;
  }
  return { schema: cur, optional };
}

/** The object shape reachable at this schema (through wrappers; a union of objects merges its shapes). */
function shapeOf(s: Schemaish): Record<string, unknown> | null {
  if (s.def?.type === 'object' && s.shape) return s.shape;
  if (s.def?.type === 'union' && Array.isArray(s.def.options)) {
    const merged: Record<string, unknown> = {};
    for (const o of s.def.options) {
      const sh = shapeOf(unwrap(o).schema);
      if (sh) Object.assign(merged, sh);
    }
    return Object.keys(merged).length ? merged : null;
  }
  return null;
}

/** Keys a value must have: for a union, only the keys every option requires. */
function requiredKeys(s: Schemaish): Set<string> | null {
  if (s.def?.type === 'object' && s.shape) {
    return new Set(Object.entries(s.shape).filter(([, v]) => !unwrap(v).optional).map(([k]) => k));
  }
  if (s.def?.type === 'union' && Array.isArray(s.def.options)) {
    let common: Set<string> | null = null;
    for (const o of s.def.options) {
      const r: Set<string> = requiredKeys(unwrap(o).schema) ?? new Set<string>();
      common = common === null ? r : new Set([...common].filter((k: string) => r.has(k)));
    }
    return common;
  }
  return null;
}

interface Node {
  schema: Schemaish;
  optional: boolean;
}

function child(node: Node, key: string): Node | null {
  const shape = shapeOf(node.schema);
  // Own keys only: `key in shape` would find 'constructor' or '__proto__' on Object.prototype.
  if (!shape || !Object.hasOwn(shape, key)) return null;
  return unwrap(shape[key]);
}

function arrayElement(node: Node): Node | null {
  return node.schema.def?.type === 'array' ? unwrap(node.schema.def.element) : null;
}

/** The object schemas a schema stands for: itself, or every object option of a union (nested unions too). */
function objectOptions(s: Schemaish): Schemaish[] {
  if (s.def?.type === 'object' && s.shape) return [s];
  if (s.def?.type === 'union' && Array.isArray(s.def.options)) return s.def.options.flatMap((o) => objectOptions(unwrap(o).schema));
  return [];
}

/**
 * Every schema a field path can have under `root`, as declared (wrappers kept, so null and optional are
 * judged as zod will): one per union option on the way. `child` merges a union's shapes, which would
 * judge `ackType: 997` by the TA1 option's literal alone.
 */
function schemasAt(root: unknown, path: readonly string[]): unknown[] {
  let found = [root];
  for (const key of path) {
    found = found.flatMap((s) => objectOptions(unwrap(s).schema)).flatMap((o) => (Object.hasOwn(o.shape!, key) ? [o.shape![key]] : []));
  }
  return found;
}

interface ZodIssueish {
  code: string;
  message: string;
  path: PropertyKey[];
  values?: unknown[];
}
type Parseable = { safeParse(v: unknown): { success: true } | { success: false; error: { issues: ZodIssueish[] } } };

/**
 * Why none of `schemas` takes `value` (the enum or literal values allowed, else zod's message, which says
 * what is expected), or null when one does. A single value written to a list field is one of its items (a
 * table under `all:`, a part of `list:`), so it is checked against the item schema.
 */
function refusal(value: Value, schemas: unknown[]): { expected: string; allowed: string[] } | null {
  const issues: ZodIssueish[] = [];
  for (const declared of schemas) {
    const { schema } = unwrap(declared);
    const judge = schema.def?.type === 'array' && !Array.isArray(value) ? schema.def.element : declared;
    const result = (judge as Parseable).safeParse(value);
    if (result.success) return null;
    issues.push(...result.error.issues);
  }
  if (issues.length === 0) return null; // no schema to judge by
  const allowed = [...new Set(issues.flatMap((i) => (i.code === 'invalid_value' && i.values ? i.values.map(String) : [])))];
  if (allowed.length) return { expected: `allowed: ${allowed.join(', ')}`, allowed };
  const first = issues[0];
  return { expected: `${first.path.length ? `${first.path.join('.')}: ` : ''}${first.message}`, allowed };
}

function shown(v: Value): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
}

/** What gives the value, as the subject of a sentence: "constant 'orignal'", "'deliverd', the value of table 't' for 'D1',". */
function subject(f: FixedValue): string {
  if (typeof f.from === 'string') return `${f.from} ${shown(f.value)}`;
  return f.from.code === undefined
    ? `${shown(f.value)}, the default of table '${f.from.table}',`
    : `${shown(f.value)}, the value of table '${f.from.table}' for '${f.from.code}',`;
}

export class CanonicalTarget {
  constructor(
    readonly type: string,
    private readonly schema: z.ZodType,
    private readonly gatewayFields: Set<string>,
  ) {}

  /**
   * Sorts a checked plan's keys into the schema's order at every level (array items included), so that
   * events read the same whichever partner's mapping made them.
   */
  orderPlan<C>(plan: ObjectPlan<C>): void {
    const sort = (p: ObjectPlan<C>, node: Node | null) => {
      const shape = node ? shapeOf(node.schema) : null;
      if (shape) {
        const rank = new Map(Object.keys(shape).map((k, i) => [k, i]));
        p.entries.sort((a, b) => (rank.get(a.key) ?? Infinity) - (rank.get(b.key) ?? Infinity));
        p.build = undefined; // a builder made before now would assign in the old order
      }
      for (const e of p.entries) {
        const c = node ? child(node, e.key) : null;
        if (e.plan) sort(e.plan, c);
        if (e.field?.itemPlan) sort(e.field.itemPlan, c ? arrayElement(c) : null);
        for (const set of e.field?.itemSets ?? []) sort(set.plan, c ? arrayElement(c) : null);
      }
    };
    sort(plan, unwrap(this.schema));
  }

  /** Compile-time checks of a mapping's fields against the schema. */
  checkFields<C>(fields: CompiledField<C>[], src: YamlSource): Diagnostic[] {
    const out: Diagnostic[] = [];
    const root: Node = unwrap(this.schema);
    this.check(fields, root, src, out, true);
    return out;
  }

  /**
   * Each value the field gives whatever the input (FixedValue) must be one the field takes, or every event
   * carrying it fails MAP_CANONICAL_INVALID at run time. Only the field's own schema judges (rules across
   * fields, such as superRefine's, are the run time's). A code table's values are reported in the table
   * file, naming the mapping line that uses the table.
   */
  private checkValues<C>(f: CompiledField<C>, base: Node, label: string, src: YamlSource, out: Diagnostic[]): void {
    if (!f.fixed?.length) return;
    const schemas = schemasAt(base.schema, f.target);
    for (const fixed of f.fixed) {
      const why = refusal(fixed.value, schemas);
      if (!why) continue;
      const use = src.position(f.yamlPath);
      const usedAt = fixed.at.file === src.file ? '' : ` (the table is used at ${shownPath(src.file)}:${use.line}:${use.column})`;
      const suggestion = typeof fixed.value === 'string' && why.allowed.length ? didYouMean(fixed.value, why.allowed) : undefined;
      out.push({
        code: 'MAP_VALUE_NEVER_VALID', severity: 'error',
        message: `${subject(fixed)} is never a valid ${label} of ${this.type}${usedAt}; ${why.expected}`,
        ...fixed.at, ...(suggestion !== undefined && { suggestion }),
      });
    }
  }

  private check<C>(fields: CompiledField<C>[], base: Node, src: YamlSource, out: Diagnostic[], top: boolean, prefix = ''): void {
    const assigned = new Set<string>();
    /** Keys that name no field, by the path of the object they sit in: a missing required field may be one misspelt. */
    const unknown: { parent: string; key: string; at: YamlPath; diagnostic: Diagnostic }[] = [];
    for (const f of fields) {
      if (top && this.gatewayFields.has(f.target[0])) {
        out.push(src.diagnostic('MAP_ENVELOPE_FIELD', `'${f.target[0]}' is filled by the gateway; a mapping cannot set it`, f.yamlPath, { key: true }));
        continue;
      }
      let node: Node | null = base;
      for (let i = 0; i < f.target.length && node; i++) {
        const next = child(node, f.target[i]);
        if (!next) {
          // An unknown object key (`stat:` over four fields) is one mistake: reported once, at that key.
          const parent = f.target.slice(0, i).join('.');
          if (unknown.some((u) => u.parent === parent && u.key === f.target[i])) {
            node = null;
            break;
          }
          const shape = shapeOf(node.schema);
          const known = shape ? Object.keys(shape).filter((k) => !(top && i === 0 && this.gatewayFields.has(k))) : [];
          const at = f.target.slice(0, i + 1).join('.');
          // Under a value, an unknown key is most likely a misspelt value-spec key ({ pth: ... }).
          const diagnostic = src.diagnostic('MAP_UNKNOWN_FIELD', shape
            ? `${this.type} has no field '${at}'${known.length ? `; fields here: ${known.join(', ')}` : ''}`
            : `'${f.target.slice(0, i).join('.')}' is a value, it has no field '${f.target[i]}' (a value spec needs one of ${SOURCE_KEYS.join(', ')})`,
          keyPathOf(f, i), { key: true, suggestion: didYouMean(f.target[i], shape ? known : [...SOURCE_KEYS, ...MODIFIER_KEYS]) });
          out.push(diagnostic);
          if (shape) unknown.push({ parent, key: f.target[i], at: keyPathOf(f, i), diagnostic });
          node = null;
          break;
        }
        node = next;
      }
      if (!node) continue;
      for (let i = 1; i <= f.target.length; i++) assigned.add(f.target.slice(0, i).join('.'));
      const label = prefix + f.target.join('.');
      this.checkValues(f, base, label, src, out);
      const mismatch = shapeMismatch(f.shape, node, label, Boolean(f.itemFields || f.itemSets));
      if (mismatch) out.push(src.diagnostic('MAP_SPEC_INVALID', mismatch, f.yamlPath));
      if (f.itemFields || f.itemSets) {
        const el = arrayElement(node);
        if (!el) {
          out.push(src.diagnostic('MAP_SPEC_INVALID', `'${f.target.join('.')}' is not a list, so '${f.itemSets ? 'items' : 'each'}' cannot fill it`, f.yamlPath, { key: true }));
        } else {
          if (f.itemFields) this.check(f.itemFields, el, src, out, false, `${label}[].`);
          for (const set of f.itemSets ?? []) this.check(set.fields, el, src, out, false, `${label}[].`);
        }
      }
    }
    // Required fields never assigned: at this level, and inside every object that is partly assigned.
    const missing: { path: string; parent: string; key: string }[] = [];
    const walk = (node: Node, prefix: string[]) => {
      const shape = shapeOf(node.schema);
      if (!shape) return;
      const required = requiredKeys(node.schema) ?? new Set<string>();
      for (const [k, v] of Object.entries(shape)) {
        if (top && prefix.length === 0 && this.gatewayFields.has(k)) continue;
        const path = [...prefix, k].join('.');
        const c = unwrap(v);
        if (assigned.has(path)) {
          // Assigned field by field: its own required fields must be there too. Assigned wholesale: done.
          if ([...assigned].some((a) => a.startsWith(`${path}.`))) walk(c, [...prefix, k]);
        } else if (!c.optional && required.has(k)) {
          missing.push({ path, parent: prefix.join('.'), key: k });
        }
      }
    };
    walk(base, []);
    const where = fields[0]?.yamlPath.slice(0, top ? 1 : -1) ?? [];
    for (const m of missing) {
      // A key beside it that is this field misspelt (`occuredAt`): one error for the one mistake, at that
      // key, with the fix (in place of its MAP_UNKNOWN_FIELD).
      const near = unknown.find((u) => u.parent === m.parent && didYouMean(u.key, [m.key]) === m.key);
      if (near) {
        const at = out.indexOf(near.diagnostic);
        if (at >= 0) out.splice(at, 1);
        out.push(src.diagnostic('MAP_REQUIRED_FIELD_UNASSIGNED',
          `required field '${prefix}${m.path}' of ${this.type} is never assigned; '${near.key}' here is not one of its fields`,
          near.at, { key: true, suggestion: m.key }));
        continue;
      }
      out.push(src.diagnostic('MAP_REQUIRED_FIELD_UNASSIGNED', `required field '${prefix}${m.path}' of ${this.type} is never assigned`,
        top ? ['fields'] : where, { key: true }));
    }
  }
}

/** One value, a list or an object: what a canonical field holds, when its schema says so plainly. */
function fieldShape(node: Node): ValueShape | undefined {
  const t = node.schema.def?.type;
  if (t === 'array') return 'list';
  if (shapeOf(node.schema)) return 'object';
  if (t === 'string' || t === 'number' || t === 'boolean' || t === 'enum' || t === 'literal' || t === 'bigint') return 'value';
  return undefined;
}

const SHAPE_WORDS: Record<ValueShape, string> = { value: 'one value', list: 'a list', object: 'an object' };

/**
 * Why a spec cannot fill its field (a path's one value for a list of stops, `all`'s list for a SCAC), or
 * null. Without this, lint passed such a mapping and every unit failed MAP_CANONICAL_INVALID at run time.
 * `each`/`items` into a field that is no list have their own message.
 */
function shapeMismatch(given: ValueShape | undefined, node: Node, label: string, itemised: boolean): string | null {
  const wanted = fieldShape(node);
  if (given === undefined || wanted === undefined || given === wanted || (itemised && wanted !== 'list')) return null;
  const fix = wanted === 'list'
    ? "use 'each' (an item per loop iteration), 'items' (items written out), or 'all'/'list' (a list of values)"
    : wanted === 'object'
      ? `assign its fields instead (${label}.<field>: ..., or ${label}: { <field>: ... })`
      : "use 'path' (the first value) or 'concat' (the values joined)";
  return `'${label}' holds ${SHAPE_WORDS[wanted]}, but this spec gives ${SHAPE_WORDS[given]}: ${fix}`;
}

/**
 * The YAML path of the key that holds segment `i` of a field's target. A field's YAML keys are its target
 * split differently (`status: { reason: ... }` and `status.reason: ...` name the same field), so they are
 * matched from the end: the last key holds the last segments.
 */
function keyPathOf(f: { target: string[]; yamlPath: YamlPath }, i: number): YamlPath {
  let segments = f.target.length;
  for (let j = f.yamlPath.length - 1; j >= 0 && segments > 0; j--) {
    const key = f.yamlPath[j];
    if (typeof key !== 'string') break;
    segments -= key.split('.').length;
    if (segments <= i) return f.yamlPath.slice(0, j + 1);
  }
  return f.yamlPath;
}

/** The target a mapping compiles against: inbound mappings make events, outbound mappings read commands. */
export function canonicalTarget(type: string, direction: 'inbound' | 'outbound'): CanonicalTarget | undefined {
  if (type === 'freight.invoice@1') {
    return direction === 'inbound'
      ? new CanonicalTarget(type, FreightInvoiceEventV1, GATEWAY_FIELDS)
      : new CanonicalTarget(type, FreightInvoiceCommandV1, COMMAND_GATEWAY_FIELDS);
  }
  const schema = (schemas as Record<string, z.ZodType>)[type];
  if (!schema) return undefined;
  return new CanonicalTarget(type, schema, direction === 'inbound' ? GATEWAY_FIELDS : COMMAND_GATEWAY_FIELDS);
}

export const canonicalTypes = Object.keys(schemas);
