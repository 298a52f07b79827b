// Canonical validation at translation speed. zod (`parseAs`) stays the reference: it owns the messages and
// has the last word. Translation validates every event it makes, and zod's per-event cost (about 9 us for a
// 214 status, more than mapping it) dominated the translator. So on the hot path a candidate is first checked
// by ajv, compiled once from the same zod schema (its JSON Schema export), plus the schema's own refinements
// (the superRefine checks zod holds, run directly, since JSON Schema cannot express them). A candidate that
// passes both is accepted as is; anything else goes through zod, which then decides and explains.
//
// The fast path must never accept what zod refuses; test/canonical/fast-validate.test.ts compares both
// verdicts over the fixtures and thousands of mutated events. Settings that keep ajv aligned with zod:
// string lengths in UTF-16 units (`unicode: false`, zod counts `.length`), patterns without the `u` flag
// (zod's regexes have none), numbers finite (`strictNumbers`). `oneOf` (zod unions) only makes ajv
// stricter (zod takes the first option that fits), which is the safe direction: zod then decides.
import { createRequire } from 'node:module';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type { CodeOptions, ValidateFunction } from 'ajv';
import { z } from 'zod';
import { madeIdFor } from './ids.js';
import { parseAs, type ParseResult } from './parse.js';
import { schemas, type MessageOf, type TypeKey } from './registry.js';

/** A refinement (zod custom check) and where in the value it applies: keys, `*` for every array item. */
interface Refinement {
  path: string[];
  run: (value: unknown) => boolean;
}

interface FastValidator {
  structure: ValidateFunction;
  refinements: Refinement[];
}

type Def = {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  shape?: Record<string, unknown>;
  options?: unknown[];
  discriminator?: string;
  checks?: { _zod: { def: { check?: string }; check: (payload: unknown) => void } }[];
  values?: unknown[];
};

function defOf(schema: unknown): Def {
  return ((schema as { _zod?: { def?: Def } } | null)?._zod?.def ?? {}) as Def;
}

/** Thrown while collecting refinements when one sits where the fast path cannot reach it (inside a union). */
class Unreachable extends Error {}

/** Runs one zod custom check on a value that already has the right structure; true when it adds no issue. */
function checkRunner(check: NonNullable<Def['checks']>[number]): (value: unknown) => boolean {
  // One payload per refinement, reused: a check runs synchronously and only pushes to `issues`; an object
  // and an array for each check of each event showed among the validation's allocations.
  const payload = { value: undefined as unknown, issues: [] as unknown[] };
  return (value) => {
    payload.value = value;
    try {
      check._zod.check(payload);
      return payload.issues.length === 0;
    } finally {
      payload.value = undefined; // keep no event alive
      // Only when a check failed: setting an array's length is a call into the runtime.
      if (payload.issues.length !== 0) payload.issues.length = 0;
    }
  };
}

/** Every refinement of a schema with its path; unions with refinements inside are not supported (Unreachable). */
function collectRefinements(schema: unknown, path: string[], out: Refinement[], seen: Set<unknown>): void {
  if (seen.has(schema)) return; // recursive schemas (none today) would loop
  const def = defOf(schema);
  for (const check of def.checks ?? []) {
    if (check._zod.def.check === 'custom') out.push({ path, run: checkRunner(check) });
  }
  switch (def.type) {
    case 'optional': case 'nullable': case 'readonly': case 'default': case 'prefault': case 'nonoptional':
      collectRefinements(def.innerType, path, out, seen);
      return;
    case 'pipe':
      collectRefinements(def.in, path, out, seen);
      return;
    case 'object':
      seen.add(schema);
      for (const [key, child] of Object.entries(def.shape ?? {})) collectRefinements(child, [...path, key], out, seen);
      seen.delete(schema);
      return;
    case 'array':
      collectRefinements(def.element, [...path, '*'], out, seen);
      return;
    case 'union': {
      // Which option a value matched is not known here: a refinement inside an option cannot be placed.
      const inner: Refinement[] = [];
      for (const o of def.options ?? []) collectRefinements(o, path, inner, seen);
      if (inner.length > 0) throw new Unreachable();
      return;
    }
    case 'string': case 'number': case 'int': case 'boolean': case 'enum': case 'literal': case 'null': case 'undefined':
      return;
    default:
      // A schema kind this walker does not know could hide refinements.
      throw new Unreachable();
  }
}

function applyRefinement(r: Refinement, value: unknown, i: number): boolean {
  if (i === r.path.length) return r.run(value);
  const key = r.path[i];
  if (key === '*') {
    if (!Array.isArray(value)) return true;
    for (let k = 0; k < value.length; k++) if (!applyRefinement(r, value[k], i + 1)) return false;
    return true;
  }
  if (typeof value !== 'object' || value === null) return true;
  const next = (value as Record<string, unknown>)[key];
  return next === undefined || applyRefinement(r, next, i + 1);
}

type JsonSchemaNode = { [key: string]: unknown };

/**
 * The schema with every `$ref` to its own `$defs` replaced by the definition itself (a definition that
 * refers back to itself, directly or not, stays a `$ref`). ajv compiles a referenced definition that holds
 * refs of its own into a separate function, and each call of one allocated an options object and built
 * an instance path string (validating a 214 status made 8 such calls); inlined, the same checks run in one
 * function without either (0.62 us per event instead of 0.86, six events validated over and over; a
 * 100,000-transaction translation 1.95 s instead of 2.02, cold, interleaved). The meaning is unchanged:
 * a `$ref` with sibling keywords becomes an `allOf` of the definition and those keywords, as 2020-12
 * evaluates it.
 */
export function inlineDefinitions(schema: JsonSchemaNode): JsonSchemaNode {
  const defs = (schema.$defs ?? {}) as Record<string, unknown>;
  let kept = false; // a recursive definition stayed a $ref: $defs must stay too
  const walk = (node: unknown, inside: readonly string[]): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n, inside));
    if (node === null || typeof node !== 'object') return node;
    const obj = node as JsonSchemaNode;
    const ref = obj.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/$defs/')) {
      const name = ref.slice('#/$defs/'.length);
      if (!Object.hasOwn(defs, name) || inside.includes(name)) {
        kept = true;
        return obj;
      }
      const target = walk(defs[name], [...inside, name]);
      const rest = Object.entries(obj).filter(([k]) => k !== '$ref');
      if (rest.length === 0) return target;
      return { allOf: [target], ...Object.fromEntries(rest.map(([k, v]) => [k, walk(v, inside)])) };
    }
    const out: JsonSchemaNode = {};
    for (const [k, v] of Object.entries(obj)) if (k !== '$defs') out[k] = walk(v, inside);
    return out;
  };
  const inlined = walk(schema, []) as JsonSchemaNode;
  if (kept && schema.$defs !== undefined) inlined.$defs = schema.$defs;
  return inlined;
}

/**
 * The schema with ajv's `discriminator` keyword on every `oneOf` whose options each require a property
 * held to a constant, the same property with a different constant in each (what zod writes for a
 * discriminatedUnion, such as an event's `source` by `format`). Without it ajv tried every option in turn
 * and built the errors of each option that failed (an event from X12 failed the CSV and XML options, 10
 * error objects and their arrays for every event); with it only the option the constant names is checked.
 * The verdict is the same: the constants differ, so no value satisfies two options, and `oneOf` accepts
 * exactly what satisfies the option its constant selects.
 */
export function markDiscriminators(schema: JsonSchemaNode): JsonSchemaNode {
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as JsonSchemaNode;
    for (const v of Object.values(obj)) walk(v);
    const tag = Array.isArray(obj.oneOf) && obj.discriminator === undefined ? discriminatorOf(obj.oneOf as unknown[]) : undefined;
    if (tag === undefined || (obj.type !== undefined && obj.type !== 'object')) return;
    obj.discriminator = { propertyName: tag };
    // ajv applies `discriminator` (and with it the `oneOf`) to objects only; every option is an object, so
    // `oneOf` refused anything else, and so must the node.
    obj.type = 'object';
  };
  walk(schema);
  return schema;
}

/** The property every option requires with a constant of its own (distinct strings), if there is one. */
function discriminatorOf(options: unknown[]): string | undefined {
  const first = options[0] as JsonSchemaNode | undefined;
  const props = first?.properties as Record<string, JsonSchemaNode> | undefined;
  if (!props) return undefined;
  for (const key of Object.keys(props)) {
    const seen = new Set<string>();
    const ok = options.every((o) => {
      const opt = o as JsonSchemaNode;
      const p = (opt.properties as Record<string, JsonSchemaNode> | undefined)?.[key];
      const c = p?.const;
      if (typeof c !== 'string' || seen.has(c) || opt.type !== 'object' || !Array.isArray(opt.required) || !opt.required.includes(key)) return false;
      // ajv's discriminator wants the option's own properties and required list, nothing it would have to look through.
      if (opt.$ref !== undefined || opt.allOf !== undefined || opt.anyOf !== undefined || opt.oneOf !== undefined) return false;
      seen.add(c);
      return true;
    });
    if (ok) return key;
  }
  return undefined;
}

/**
 * ajv's regular expressions, each remembering the last string it accepted. Many patterned values repeat
 * from one event to the next (the partner, the set id, the carrier's SCAC): a 214 event's check took
 * 0.93-0.97 us instead of 1.01-1.05 (20,000 distinct events, validated over and over). One string per
 * pattern: a pattern that serves two fields in turn (occurredAt and receivedAt share the date-time one)
 * misses every time, but keeping two or four strings cost more than it saved (1.04-1.16 us). A test is a
 * pure function of its string, so answering a repeat from memory changes no verdict.
 */
const rememberingRegExp: NonNullable<CodeOptions['regExp']> = Object.assign((pattern: string, flags: string) => {
  const re = new RegExp(pattern, flags);
  let accepted: string | undefined;
  // An id pattern also takes the id made last as matching (ids.ts madeIdFor): events are checked just
  // after their id is made, and every id made there matches by construction.
  const made = flags === '' ? madeIdFor(pattern) : undefined;
  if (made !== undefined) {
    return {
      test(s: string): boolean {
        return s === made() || re.test(s);
      },
      toString: () => re.toString(),
    };
  }
  return {
    test(s: string): boolean {
      if (s === accepted) return true;
      const ok = re.test(s);
      if (ok) accepted = s;
      return ok;
    },
    // ajv keeps one compiled pattern per toString(): without this, every pattern would be the first one.
    toString: () => re.toString(),
  };
}, { code: 'new RegExp' }); // `code` matters only to ajv's standalone code generation, which is not used

let ajv: Ajv2020 | undefined;

/**
 * ajv itself, loaded on the first compile: importing it takes 40-70 ms, which every command paid, lint and
 * a test run of a few samples included, though only a fast path being compiled needs it (ZOD_ONLY_EVENTS).
 */
function loadAjv(): typeof Ajv2020 {
  return (createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')).Ajv2020;
}
/** Per type and discriminator value; null when the schema cannot have a fast path (zod always). */
const validators = new Map<string, FastValidator | null>();

/**
 * For a discriminated union, the option the value's discriminator selects (null when none does);
 * otherwise the schema itself. `valueOf` reads a top-level key of the value.
 */
function optionFor(schema: unknown, valueOf: (key: string) => unknown): { schema: unknown; key: string } | null {
  const def = defOf(schema);
  if (def.type !== 'union' || !def.discriminator) return { schema, key: '' };
  const wanted = valueOf(def.discriminator);
  for (const o of def.options ?? []) {
    const lit = defOf(defOf(o).shape?.[def.discriminator]);
    if (lit.type === 'literal' && lit.values?.includes(wanted)) return { schema: o, key: `${def.discriminator}=${String(wanted)}` };
  }
  return null;
}

/** Types whose schema is not a discriminated union: one validator each, found without building a key. */
const plainValidators = new Map<TypeKey, FastValidator | null>();

function fastValidatorFor(type: TypeKey, value: Record<string, unknown>): FastValidator | null {
  const plain = plainValidators.get(type);
  if (plain !== undefined) return plain;
  const option = optionFor(schemas[type], (k) => value[k]);
  const key = `${type}\u0000${option?.key ?? '?'}`;
  let v = validators.get(key);
  if (v !== undefined) return v;
  v = null;
  if (option) {
    try {
      const refinements: Refinement[] = [];
      // A union's own refinements apply whichever option was chosen.
      if (option.schema !== schemas[type]) {
        for (const check of defOf(schemas[type]).checks ?? []) {
          if (check._zod.def.check === 'custom') refinements.push({ path: [], run: checkRunner(check) });
        }
      }
      collectRefinements(option.schema, [], refinements, new Set());
      ajv ??= new (loadAjv())({ logger: false, strict: false, allErrors: false, validateFormats: false, unicode: false, unicodeRegExp: false, strictNumbers: true, discriminator: true, code: { regExp: rememberingRegExp } });
      const json = z.toJSONSchema(option.schema as z.ZodType, { target: 'draft-2020-12', io: 'input' });
      v = { structure: ajv.compile(markDiscriminators(inlineDefinitions(json as JsonSchemaNode))), refinements };
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err;
    }
  }
  validators.set(key, v);
  if (option?.key === '') plainValidators.set(type, v);
  return v;
}

/**
 * Events of a type that validateCanonical leaves to zod alone before it compiles that type's fast path,
 * unless prepareFastValidation compiled it ahead. Compiling takes 100-200 ms, and zod takes about 9 us an
 * event: a command that validates a few sample files (waybill test, waybill translate on a small file)
 * would spend most of its time compiling a fast path it hardly uses, while a large file pays 1,000 events
 * of zod (about 9 ms) before it switches.
 */
export const ZOD_ONLY_EVENTS = 1_000;
/** Types validateCanonical runs through the fast path (prepared, or past ZOD_ONLY_EVENTS). */
const fastTypes = new Set<string>();
/** Events of each type not (yet) in fastTypes that zod validated alone. */
const zodOnlyEvents = new Map<string, number>();
/** The type of the last event that went the fast way: consecutive events are mostly of one type. */
let lastFastType: string | undefined;

function useFastPath(type: TypeKey): boolean {
  if (type === lastFastType) return true;
  if (!fastTypes.has(type)) {
    const n = (zodOnlyEvents.get(type) ?? 0) + 1;
    zodOnlyEvents.set(type, n);
    if (n <= ZOD_ONLY_EVENTS) return false;
    fastTypes.add(type);
  }
  lastFastType = type;
  return true;
}

/**
 * Compiles the fast path of `type` now (each option of a discriminated union) rather than after its first
 * ZOD_ONLY_EVENTS events: a gateway's first large file would otherwise wait for it halfway. Partner loading
 * calls this for every type a mapping produces, unless it is told not to (commands that translate only
 * samples). Unknown types are ignored.
 */
export function prepareFastValidation(type: string): void {
  if (!Object.hasOwn(schemas, type)) return;
  fastTypes.add(type);
  const key = type as TypeKey;
  const def = defOf(schemas[key]);
  if (def.type !== 'union' || !def.discriminator) {
    fastValidatorFor(key, {});
    schemaKeyOrder(key, () => undefined);
    return;
  }
  for (const o of def.options ?? []) {
    for (const lit of defOf(defOf(o).shape?.[def.discriminator]).values ?? []) {
      fastValidatorFor(key, { [def.discriminator]: lit });
      schemaKeyOrder(key, (k) => (k === def.discriminator ? lit : undefined));
    }
  }
}

/** True when the fast path accepts `value` as `type` (false means: ask zod, not necessarily invalid). */
export function fastAccepts(type: TypeKey, value: Record<string, unknown>): boolean {
  const v = fastValidatorFor(type, value);
  if (!v || !v.structure(value)) return false;
  const refinements = v.refinements;
  for (let i = 0; i < refinements.length; i++) if (!applyRefinement(refinements[i], value, 0)) return false;
  return true;
}

/**
 * Validates a candidate event or command as `type`, like parseAs, but returns the candidate itself
 * (not a copy) when the fast path accepts it (see ZOD_ONLY_EVENTS for when it is used). Callers build
 * candidates without unknown keys (zod would strip them) and in the schema's key order (zod's copy would
 * reorder them), so both paths give equal JSON.
 */
export function validateCanonical<K extends TypeKey>(type: K, value: Record<string, unknown>): ParseResult<MessageOf<K>> {
  if (useFastPath(type) && fastAccepts(type, value)) return { ok: true, type, value: value as MessageOf<K> };
  return parseAs(type, value);
}

const keyOrders = new Map<string, readonly string[] | null>();

/**
 * The top-level keys of `type` in the schema's order (for a discriminated union, of the option the
 * value selects; `valueOf` reads the value's top-level keys). Null when the schema is not an object.
 */
const plainKeyOrders = new Map<TypeKey, readonly string[] | null>();

export function schemaKeyOrder(type: TypeKey, valueOf: (key: string) => unknown): readonly string[] | null {
  const plain = plainKeyOrders.get(type);
  if (plain !== undefined) return plain;
  const option = optionFor(schemas[type], valueOf);
  const key = `${type}\u0000${option?.key ?? '?'}`;
  let keys = keyOrders.get(key);
  if (keys === undefined) {
    const def = defOf(option?.schema);
    keys = def.type === 'object' && def.shape ? Object.keys(def.shape) : null;
    keyOrders.set(key, keys);
    if (option?.key === '') plainKeyOrders.set(type, keys);
  }
  return keys;
}
