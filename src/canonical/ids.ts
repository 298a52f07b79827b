// Deterministic ids for events and commands.
//
// id = prefix + base32(sha256(parts joined by U+0000))[first 130 bits] -> 26 characters a-z, 2-7.
// - The separator U+0000 may not occur in a part (we throw), so joining is injective: ["a:b"] and
//   ["a", "b"] give different ids.
// - The result never contains ":" and is never all digits (it starts with a letter prefix), so it is
//   safe as a BullMQ job id.
// - This scheme is frozen: events already in the ERP were deduplicated by these ids. Changing it is a
//   breaking change for every type. (Adding a part for events that had no id of their own, as
//   eventIdFromSource does for an interchange that reuses control numbers, changes no id made before.)
import { hash } from 'node:crypto';

const SEPARATOR = '\u0000';
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const ID_CHARS = 26; // 26 * 5 = 130 bits of the digest
const BASE32_CODES = Array.from(BASE32, (ch) => ch.charCodeAt(0));

/** The char codes of the id being built: one array for every id (fromCharCode copies them out). */
let idCodes: number[] = [];

/** What every event id matches, by construction (the canonical schema checks ids with it). */
export const EVENT_ID_PATTERN = /^evt_[a-z2-7]{26}$/;
/** What every command id matches, by construction. */
export const COMMAND_ID_PATTERN = /^cmd_[a-z2-7]{26}$/;

/** The last id made, of each prefix: see madeIdFor. */
let lastEventId: string | undefined;
let lastCommandId: string | undefined;

/**
 * For one of the id patterns above, a function giving the last id of that kind made here (undefined for
 * any other pattern). The canonical check tests every event's id against its pattern, and a regular
 * expression run per event cost more than making the id's characters: an id made here matches by
 * construction (the prefix and 26 characters of BASE32), so the check may take it as matching without
 * running the pattern. Anything else still runs it.
 */
export function madeIdFor(pattern: string): (() => string | undefined) | undefined {
  if (pattern === EVENT_ID_PATTERN.source) return () => lastEventId;
  if (pattern === COMMAND_ID_PATTERN.source) return () => lastCommandId;
  return undefined;
}

function digest(prefix: string, parts: readonly string[]): string {
  if (!Array.isArray(parts) || parts.length === 0) throw new TypeError(`${prefix}id needs at least one part`);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (typeof part !== 'string') throw new TypeError(`${prefix}id part ${i} is not a string`);
    if (part.includes(SEPARATOR)) throw new TypeError(`${prefix}id part ${i} contains U+0000, which is reserved as the separator`);
  }
  // crypto.hash: one call instead of a Hash object per id (this runs once per event). The digest comes as
  // latin1 text ('binary' is Node's name for latin1), one char per byte; the characters come from its
  // bits 5 at a time, most significant first, read straight from that text (no Buffer, no slices: this
  // ran at a few percent of translation, and decoding the hex form took 200 ns per id against 80).
  const bytes = hash('sha256', parts.join(SEPARATOR), 'binary');
  // One flat string, prefix included (prefix + out would be a cons string, flattened later by every reader).
  if (idCodes.length !== prefix.length + ID_CHARS) idCodes = new Array<number>(prefix.length + ID_CHARS);
  const codes = idCodes;
  for (let i = 0; i < prefix.length; i++) codes[i] = prefix.charCodeAt(i);
  let acc = 0;
  let bits = 0;
  let h = 0;
  for (let i = 0; i < ID_CHARS; i++) {
    if (bits < 5) {
      // At most 4 bits are left over, so 16 hold them and the new byte.
      acc = ((acc << 8) | bytes.charCodeAt(h++)) & 0xffff;
      bits += 8;
    }
    bits -= 5;
    codes[prefix.length + i] = BASE32_CODES[(acc >>> bits) & 31];
  }
  return String.fromCharCode.apply(null, codes);
}

/** Deterministic event id from its parts: `evt_` + 26 base32 characters. */
export function eventId(parts: readonly string[]): string {
  return (lastEventId = digest('evt_', parts));
}

/** Deterministic command id from its parts: `cmd_` + 26 base32 characters. */
export function commandId(parts: readonly string[]): string {
  return (lastCommandId = digest('cmd_', parts));
}

/** The subset of an event source that identifies an event (structurally compatible with EventSource). */
export type EventIdSource =
  | {
      format: 'x12';
      interchangeControlNumber: string;
      groupControlNumber?: string;
      transactionControlNumber?: string;
      index: number;
    }
  | { format: 'csv'; fileId: string; line: number; index: number }
  | { format: 'xml'; fileId: string; path?: string; line?: number; index: number };

/**
 * The event id recipe, in one place:
 * - x12: partner + ISA13 + GS06 + ST02 + index within the transaction (a resent interchange gives the
 *   same ids, so it is deduplicated);
 * - x12, for an interchange that reuses the control numbers of an earlier interchange of the same partner
 *   (another of its ISA sender ids, or the same sender after the duplicate window: counters wrap and
 *   reset): the same parts plus `interchangeReuse`, which the gateway sets to `<file id>#<n>` (the file
 *   that brought the interchange, and its 0-based position among the file's interchanges). Without it the
 *   two interchanges' events had the same ids and the later ones were dropped as already present. Only
 *   such interchanges get the extra part, so every id made before stays what it was; the gateway records
 *   the part with the interchange (the ledger's interchanges), so a file translated again gets the same ids;
 * - csv: partner + file id + record line + index;
 * - xml: partner + file id + element path (or line) + index.
 */
export function eventIdFromSource(partner: string, source: EventIdSource, interchangeReuse?: string): string {
  switch (source.format) {
    case 'x12': {
      const parts = [
        'x12',
        partner,
        source.interchangeControlNumber,
        source.groupControlNumber ?? '',
        source.transactionControlNumber ?? '',
        String(source.index),
      ];
      // A seventh part: never equal to an id of six (the separator keeps the parts apart).
      if (interchangeReuse !== undefined) parts.push(interchangeReuse);
      return eventId(parts);
    }
    case 'csv':
      return eventId(['csv', partner, source.fileId, String(source.line), String(source.index)]);
    case 'xml':
      return eventId(['xml', partner, source.fileId, source.path ?? `line ${source.line ?? ''}`, String(source.index)]);
  }
}

/** The command id recipe: target partner + type@version + the ERP's request id. */
export function commandIdFor(partner: string, type: string, requestId: string): string {
  return commandId([partner, type, requestId]);
}
