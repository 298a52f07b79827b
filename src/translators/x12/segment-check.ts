// A segment's element checks as one generated function, answering only "is this segment clean?".
//
// The validator's element loop (validate-transaction.ts, elements()) reads each element's definition
// from its object, branches on its type, and keeps memories of values found clean, for every element of
// every segment: at about a tenth of a 214's whole translation, it was the largest single function of it.
// Most segments of a file are clean. For each segment definition this module writes the same checks
// with the definition's facts as constants (positions, types, lengths, mandatory elements, syntax
// notes), so that a clean segment costs one call and no loop. The answer is only ever used one way:
// true skips the element loop (which would have found nothing), false runs it, and the loop alone
// reports what is wrong. So this function may be stricter than the loop (it answers false for anything
// it does not model: composites, repetitions, extra elements, delimiters longer than one character), but
// never more lenient; test/x12/segment-check.test.ts holds it to that over every corpus file and
// thousands of mutated segments.
//
// Generated code and partner data: the text holds fixed code and numbers taken from the X12 schemas
// shipped with Waybill (positions, lengths, bit masks), never a value from a file or a partner folder.
// Code lists are passed in as Sets, as arguments.
import { T_DT, T_NUM, T_R, T_TM, type CompiledElement, type CompiledSegment } from './schema.js';
import { allDigits, isControlChar, numericDigits, validDate, validTime } from './value-checks.js';

/**
 * True when the elements (elements[0] is the segment id) hold nothing the element loop would report:
 * `rep` and `comp` are the repetition and component separators' char codes (-1 when absent; the caller
 * never asks when one is longer than one char), `openCodes` says whether open code lists are checked
 * (warnings), `syntax` whether syntax notes are.
 */
/** `plainSegment`: the reader found no control character or separator in the elements (Segment.plain). */
export type SegmentCheck = (els: readonly string[], rep: number, comp: number, openCodes: boolean, syntax: boolean, plainSegment: boolean) => boolean;

/** The generated check of a segment definition, or null when its elements are not modelled. */
export function compileSegmentCheck(def: CompiledSegment): SegmentCheck | null {
  const defs = def.elements;
  if (defs === null) return null;
  const sets: ReadonlySet<string>[] = [];
  const lines: string[] = [
    'const n = els.length - 1;',
    // Elements past the last defined one: the loop reports any that holds a value.
    `if (n > ${defs.length}) return false;`,
    'let v;',
    'let len;',
  ];
  const maskable = def.syntax.length > 0 && def.syntaxMaskable;
  if (maskable) lines.push('let present = 0;');
  for (let k = 0; k < defs.length; k++) {
    const ed = defs[k];
    const p = k + 1;
    if (ed.envelope) continue; // checked by the reader, skipped by the loop too
    lines.push(`v = n >= ${p} ? els[${p}] : '';`, `if (typeof v !== 'string') return false;`);
    lines.push(`if (v.length === 0) {${ed.required ? ' return false;' : ''} } else {`);
    if (maskable && p <= 30) lines.push(`  present |= ${(1 << p) >>> 0};`);
    lines.push(...simpleCheck(ed, sets).map((l) => `  ${l}`));
    lines.push('}');
  }
  if (def.syntax.length > 0) {
    // Unmodelled notes (a position past 30, on an envelope element): the loop decides.
    if (!maskable) lines.push('if (syntax) return false;');
    else {
      const conditions = def.syntax.map((rule) => {
        const mask = (ps: number[]) => ps.reduce((m, x) => (m | (1 << x)) >>> 0, 0);
        const all = mask(rule.positions);
        const first = mask(rule.positions.slice(0, 1));
        const rest = mask(rule.positions.slice(1));
        switch (rule.kind) {
          case 'P': return `((present & ${all}) === 0 || (present & ${all}) === ${all})`;
          case 'R': return `(present & ${all}) !== 0`;
          case 'E': return `(((present & ${all}) & ((present & ${all}) - 1)) === 0)`;
          case 'C': return `((present & ${first}) === 0 || (present & ${rest}) === ${rest})`;
          case 'L': return `((present & ${first}) === 0 || (present & ${rest}) !== 0)`;
        }
        return 'false';
      });
      lines.push(`if (syntax && !(${conditions.join(' && ')})) return false;`);
    }
  }
  lines.push('return true;');
  const body = `'use strict';\nreturn function check_${def.id.replace(/[^A-Za-z0-9]/g, '_')}(els, rep, comp, openCodes, syntax, plainSegment) {\n${lines.join('\n')}\n};`;
  const factory = new Function('sets', 'plain', 'numericDigits', 'allDigits', 'validDate', 'validTime', body) as (...args: unknown[]) => SegmentCheck;
  return factory(sets, plain, numericDigits, allDigits, validDate, validTime);
}

/** The checks of one simple value `v` (non-empty), as the loop's simple() makes them; composites defer to the loop. */
function simpleCheck(ed: CompiledElement, sets: ReadonlySet<string>[]): string[] {
  if (ed.components !== null) return ['return false;'];
  const out = ['if (!plainSegment && !plain(v, rep, comp)) return false;'];
  switch (ed.type) {
    case T_NUM: out.push('len = numericDigits(v, 0, v.length, false);', 'if (len < 0) return false;'); break;
    case T_R: out.push('len = numericDigits(v, 0, v.length, true);', 'if (len < 0) return false;'); break;
    case T_DT: case T_TM: out.push('if (!allDigits(v, 0, v.length)) return false;', 'len = v.length;'); break;
    default: out.push('len = v.length;');
  }
  out.push(`if (len < ${ed.min} || len > ${ed.max}) return false;`);
  if (ed.type === T_DT) out.push('if (!validDate(v, 0, v.length)) return false;');
  if (ed.type === T_TM) out.push('if (!validTime(v, 0, v.length)) return false;');
  if (ed.codes !== null) {
    const i = sets.push(ed.codes) - 1;
    out.push(ed.closed ? `if (!sets[${i}].has(v)) return false;` : `if (openCodes && !sets[${i}].has(v)) return false;`);
  }
  return out;
}

/** No control character, repetition or component separator (rep and comp: char codes, -1 when absent). */
function plain(v: string, rep: number, comp: number): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (isControlChar(c) || c === rep || c === comp) return false;
  }
  return true;
}
