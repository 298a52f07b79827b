// parseEvent: validate any canonical event or command, dispatching on its `type`, and report problems
// with readable paths such as `charges[1].amount.amount`.
import { z } from 'zod';
import { type CanonicalMessage, type MessageOf, type TypeKey, catalogue, isTypeKey, schemas, splitType } from './registry.js';

export interface CanonicalIssue {
  /** Where: `status.milestone`, `stops[2].party.address.postalCode`, or `(root)`. */
  path: string;
  message: string;
  /** zod's issue code (`invalid_type`, `invalid_value`, `invalid_format`, `custom`, ...). */
  code: string;
}

export type ParseResult<T = CanonicalMessage> =
  | { ok: true; type: TypeKey; value: T }
  | { ok: false; type?: string; issues: CanonicalIssue[] };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Renders a zod path as `a.b[2].c`; the empty path is `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

function readableMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) {
    return `is required (expected ${issue.expected})`;
  }
  return issue.message;
}

/** Maps zod issues to readable issues, flattening union branches. */
export function toCanonicalIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): CanonicalIssue[] {
  const out: CanonicalIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Plain unions: report the branch that got furthest (fewest issues).
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
      out.push(...toCanonicalIssues(best, path));
      continue;
    }
    out.push({ path: formatPath(path), message: readableMessage(issue), code: issue.code });
  }
  return out;
}

/** One line per issue: `path: message`. */
export function formatIssues(issues: readonly CanonicalIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}

function typeIssue(type: unknown): CanonicalIssue {
  const known = catalogue.map((c) => c.type).join(', ');
  if (type === undefined) return { path: 'type', code: 'invalid_type', message: `is required; one of ${known}` };
  if (typeof type !== 'string') return { path: 'type', code: 'invalid_type', message: `must be a string; one of ${known}` };
  const parts = splitType(type);
  if (parts) {
    const versions = catalogue.filter((c) => c.name === parts.name).map((c) => c.version);
    if (versions.length > 0) {
      return {
        path: 'type',
        code: 'invalid_value',
        message: `unknown version ${parts.version} of ${parts.name}; known: ${versions.map((v) => `${parts.name}@${v}`).join(', ')}`,
      };
    }
  }
  return { path: 'type', code: 'invalid_value', message: `unknown type "${type}"; one of ${known}` };
}

/**
 * Validates a canonical event or command (a JSON string or an already parsed value), choosing the
 * schema by its `type` ("shipment.status@1", ...). Never throws.
 */
export function parseEvent(json: unknown): ParseResult {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      return { ok: false, issues: [{ path: '(root)', code: 'invalid_json', message: `not valid JSON: ${(err as Error).message}` }] };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, issues: [{ path: '(root)', code: 'invalid_type', message: 'expected a JSON object' }] };
  }
  const type = (value as Record<string, unknown>).type;
  if (!isTypeKey(type)) {
    return { ok: false, ...(typeof type === 'string' ? { type } : {}), issues: [typeIssue(type)] };
  }
  return parseAs(type, value) as ParseResult;
}

/** Validates `value` against one registered type. */
export function parseAs<K extends TypeKey>(type: K, value: unknown): ParseResult<MessageOf<K>> {
  const schema = schemas[type] as unknown as z.ZodType<MessageOf<K>>;
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, type, value: result.data };
  return { ok: false, type, issues: toCanonicalIssues(result.error.issues) };
}
