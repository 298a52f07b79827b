// Validates a YAML document's plain value with a zod schema and turns each zod issue into a positioned
// Diagnostic, with did-you-mean for unknown keys and enum values.
import type { z } from 'zod';
import { didYouMean, type Diagnostic } from './diagnostics.js';
import type { YamlPath, YamlSource } from './yaml-source.js';

/** Unwraps optional/nullable/default/pipe wrappers to reach the schema that has a shape. */
function unwrap(schema: unknown): unknown {
  let s = schema as { def?: { type?: string; innerType?: unknown; in?: unknown }; unwrap?: () => unknown };
  for (let i = 0; i < 10 && s; i++) {
    const t = s.def?.type;
    if (t === 'optional' || t === 'nullable' || t === 'default' || t === 'prefault' || t === 'readonly' || t === 'catch') s = s.def!.innerType as typeof s;
    else if (t === 'pipe') s = s.def!.in as typeof s;
    else if (t === 'lazy' && typeof (s as { def: { getter?: () => unknown } }).def.getter === 'function') s = (s as { def: { getter: () => unknown } }).def.getter() as typeof s;
    else break;
  }
  return s;
}

/** The keys a strict object accepts at `path` inside `schema`, for did-you-mean on unknown keys. */
export function knownKeysAt(schema: unknown, path: YamlPath): string[] {
  let s = unwrap(schema) as { def?: { type?: string; element?: unknown; valueType?: unknown; options?: unknown[] }; shape?: Record<string, unknown> };
  for (const part of path) {
    if (!s) return [];
    const t = s.def?.type;
    if (t === 'object' && s.shape) s = unwrap(s.shape[String(part)]) as typeof s;
    else if (t === 'array') s = unwrap(s.def!.element) as typeof s;
    else if (t === 'record') s = unwrap(s.def!.valueType) as typeof s;
    else return [];
  }
  return s?.def?.type === 'object' && s.shape ? Object.keys(s.shape) : [];
}

/** Validates the value at `base` (the whole document by default); positions point into the YAML. */
export function zodDiagnostics(src: YamlSource, schema: z.ZodType, code: string, base: YamlPath = []): Diagnostic[] {
  const result = schema.safeParse(base.length ? lookup(src.value, base) : src.value ?? {});
  if (result.success) return [];
  const out: Diagnostic[] = [];
  for (const iss of result.error.issues) {
    const path = [...base, ...(iss.path as (string | number)[])];
    const inner = iss.path as (string | number)[];
    if (iss.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, inner);
      for (const k of iss.keys) {
        out.push(src.diagnostic(code, `unknown key '${k}'${known.length ? `; allowed here: ${known.join(', ')}` : ''}`, [...path, k],
          { key: true, suggestion: didYouMean(k, known) }));
      }
    } else if (unquotedNumber(src, iss, path)) {
      // `qualifier: 02`, `version: 004010`, `functional: 997`: YAML reads them as the numbers 2, 4010 and 997,
      // where text is wanted; "'997' is not one of 997, 999, none" would say nothing of why.
      const text = src.plainNumberText(path)!;
      const wanted = iss.code === 'invalid_value' && 'values' in iss ? `one of ${(iss.values as unknown[]).map(String).join(', ')}` : 'text';
      out.push(src.diagnostic(code, `${pathText(path)}: ${text} is read as the number ${String(lookup(src.value, path))}, where ${wanted} is expected: quote it, "${text}"`, path));
    } else if (iss.code === 'invalid_value' && 'values' in iss) {
      const values = (iss.values as unknown[]).map(String);
      // An unquoted number is shown as written (`4010`, `0998`), and compared so for the did-you-mean.
      const got = src.plainNumberText(path) ?? lookup(src.value, path);
      out.push(src.diagnostic(code, `'${String(got)}' is not one of ${values.join(', ')} (at ${pathText(path)})`, path,
        { suggestion: typeof got === 'string' ? didYouMean(got, values) : undefined }));
    } else if ((iss.code === 'invalid_type' || iss.code === 'invalid_union') && lookup(src.value, path) === undefined) {
      out.push(src.diagnostic(code, `'${pathText(path)}' is required (${iss.message.replace(/^Invalid input: /, '')})`, path, { key: true }));
    } else {
      const message = (iss.code === 'invalid_union' && iss.message === 'Invalid input' && unionMessage(iss, lookup(src.value, path))) || iss.message.replace(/^Invalid input: /, '');
      out.push(src.diagnostic(code, `${pathText(path)}: ${message}`, path));
    }
  }
  return out;
}

/** An issue about a number written unquoted where the schema wants a string (its type, or a string enum that has it as written). */
function unquotedNumber(src: YamlSource, iss: z.core.$ZodIssue, path: YamlPath): boolean {
  const text = src.plainNumberText(path);
  if (text === null) return false;
  if (iss.code === 'invalid_type') return iss.expected === 'string';
  // A choice of strings: only when quoting gives one of them (`998` is a wrong value, quoted or not).
  return iss.code === 'invalid_value' && 'values' in iss && (iss.values as unknown[]).includes(text);
}

/**
 * A union of types that all refused the value for its type (`values.AB:` with nothing after it, `events: 42`):
 * the types it takes and what it got, where zod says only "Invalid input" (a union with a message of its own
 * keeps it). Null for any other union.
 */
function unionMessage(iss: z.core.$ZodIssue & { code: 'invalid_union' }, got: unknown): string | null {
  const branches = (iss as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
  const expected: string[] = [];
  for (const b of branches) {
    if (b.length !== 1 || b[0].code !== 'invalid_type' || b[0].path.length !== 0) return null;
    expected.push(String(b[0].expected));
  }
  if (expected.length === 0) return null;
  const received = got === null ? 'nothing (null)' : Array.isArray(got) ? 'a list' : typeof got;
  return `expected ${[...new Set(expected)].join(' or ')}, received ${received}`;
}

function lookup(value: unknown, path: YamlPath): unknown {
  let v = value;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

export function pathText(path: YamlPath): string {
  return path.length === 0 ? '(top level)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}
