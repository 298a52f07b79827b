// A canonical command as a person hands it in (a `waybill render` file, an outbound test case's command),
// already parsed from its JSON text: every problem with its path, whatever the value holds (an array, no
// `type`, a type Waybill does not know, an event), and the keys its type does not know also when the
// schema refuses the command for other reasons: a misspelt required key (`carierScac`) is otherwise only
// "carrierScac: is required", with no word of the key that was meant.
import { catalogue, isTypeKey, parseEvent, unknownKeys, type TypeKey } from '../canonical/index.js';
import { didYouMean } from './diagnostics.js';

export type CommandProblem =
  /** Not a JSON object at all (path `(root)`), or a value the type's schema refuses. */
  | { kind: 'root' | 'schema'; path: string; message: string }
  /** A key the type does not know, with the closest known key when there is one. */
  | { kind: 'unknown-key'; path: string; message: string; key: string; hint?: string }
  /** A valid event, or some other kind, where a command is wanted (path `kind`). */
  | { kind: 'not-a-command'; path: string; message: string };

export type CommandCheck =
  | { ok: true; type: TypeKey; value: unknown }
  | { ok: false; type?: TypeKey; problems: CommandProblem[] };

/** 'an array', 'null', 'a string', ...: what a JSON value is, in a sentence. */
export function jsonKind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * Checks `value` (parsed JSON) as a canonical command. `taker` ends the sentence for an event given as a
 * command: `waybill render takes a command`.
 */
export function checkCommand(value: unknown, taker: string): CommandCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problems: [{ kind: 'root', path: '(root)', message: `expected a JSON object (a command), found ${jsonKind(value)}` }] };
  }
  // parseEvent checks the type and the type's schema, and never throws (an unknown type is an issue at `type`).
  const checked = parseEvent(value);
  const type = checked.ok ? checked.type : isTypeKey(checked.type) ? checked.type : undefined;
  // zod drops keys it does not know; a command with a misspelt key would render without that value.
  const unknown: CommandProblem[] = type === undefined ? [] : unknownKeys(type, value).map((u) => {
    const hint = didYouMean(u.key, u.known);
    return {
      kind: 'unknown-key' as const, path: u.at, key: u.key, ...(hint !== undefined && { hint }),
      message: `is not a key of ${type}${hint ? ` (did you mean '${hint}'?)` : `; known here: ${u.known.join(', ')}`}`,
    };
  });
  if (!checked.ok) {
    return { ok: false, ...(type !== undefined && { type }), problems: [...checked.issues.map((i) => ({ kind: 'schema' as const, path: i.path, message: i.message })), ...unknown] };
  }
  // An event is not something to send: say so, rather than "no outbound mapping" for its type.
  const kind = (checked.value as { kind?: unknown }).kind;
  if (kind !== 'command') {
    const commands = catalogue.filter((c) => c.kinds.includes('command')).map((c) => c.type).join(', ');
    return {
      ok: false, type: checked.type, problems: [{
        kind: 'not-a-command', path: 'kind',
        message: `this is ${checked.type} ${kind === undefined ? 'without a kind' : `'${String(kind)}'`}, not a command; ${taker} a command (kind "command"): ${commands}`,
      }],
    };
  }
  if (unknown.length > 0) return { ok: false, type: checked.type, problems: unknown };
  return { ok: true, type: checked.type, value: checked.value };
}
