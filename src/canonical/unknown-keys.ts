// Keys a canonical schema does not know. zod's objects drop unknown keys when they parse, which is right
// for what the gateway reads back, and wrong for what a person or an ERP hands in: a command with
// `equipmnt` for `equipment` parsed cleanly and was rendered without its equipment. Commands given to
// `waybill render` (and, later, to the ERP API) are checked with this first.
import { formatPath } from './parse.js';
import { schemas, type TypeKey } from './registry.js';

export interface UnknownKey {
  /** The key's own path, as parse.ts writes paths (`stops[1].apointment`). */
  at: string;
  /** The key, and the path of the object it sits in (`stops[1]`, or `(root)`). */
  key: string;
  path: string;
  /** The keys known at that place (for a did-you-mean). */
  known: string[];
}

type Def = { type?: string; innerType?: unknown; in?: unknown; out?: unknown; element?: unknown; shape?: Record<string, unknown>; options?: unknown[] };

function defOf(schema: unknown): Def {
  return ((schema as { _zod?: { def?: Def } } | null)?._zod?.def ?? {}) as Def;
}

/**
 * The object schemas a value at this place may be checked against (the options of a union, through
 * optional, nullable, default and pipe wrappers); none when it is not an object.
 */
function objectShapes(schema: unknown, depth = 0): Record<string, unknown>[] {
  if (depth > 20) return [];
  const def = defOf(schema);
  switch (def.type) {
    case 'object': return def.shape ? [def.shape] : [];
    case 'optional': case 'nullable': case 'readonly': case 'default': case 'prefault': case 'nonoptional': case 'catch':
      return objectShapes(def.innerType, depth + 1);
    case 'pipe': return objectShapes(def.in, depth + 1);
    case 'union': return (def.options ?? []).flatMap((o) => objectShapes(o, depth + 1));
    default: return [];
  }
}

/** The element schemas of an array at this place (through the same wrappers). */
function arrayElements(schema: unknown, depth = 0): unknown[] {
  if (depth > 20) return [];
  const def = defOf(schema);
  switch (def.type) {
    case 'array': return [def.element];
    case 'optional': case 'nullable': case 'readonly': case 'default': case 'prefault': case 'nonoptional': case 'catch':
      return arrayElements(def.innerType, depth + 1);
    case 'pipe': return arrayElements(def.in, depth + 1);
    case 'union': return (def.options ?? []).flatMap((o) => arrayElements(o, depth + 1));
    default: return [];
  }
}

/**
 * Every key of `value` that no object schema at its place knows, for a value of `type` (a value already
 * accepted by the schema: its structure fits, only extra keys are sought). In a union the key must be
 * unknown to every option.
 */
export function unknownKeys(type: TypeKey, value: unknown): UnknownKey[] {
  const out: UnknownKey[] = [];
  const walk = (v: unknown, candidates: unknown[], path: PropertyKey[]) => {
    if (Array.isArray(v)) {
      const elements = candidates.flatMap((c) => arrayElements(c));
      if (elements.length > 0) v.forEach((item, i) => walk(item, elements, [...path, i]));
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const shapes = candidates.flatMap((c) => objectShapes(c));
    if (shapes.length === 0) return;
    const known = [...new Set(shapes.flatMap((s) => Object.keys(s)))];
    for (const [key, child] of Object.entries(v as Record<string, unknown>)) {
      const inner = shapes.filter((s) => Object.hasOwn(s, key)).map((s) => s[key]);
      if (inner.length === 0) {
        out.push({ at: formatPath([...path, key]), key, path: formatPath(path), known });
        continue;
      }
      walk(child, inner, [...path, key]);
    }
  };
  walk(value, [schemas[type]], []);
  return out;
}
