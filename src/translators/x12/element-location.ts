// Where an element-level finding points: the element (or its repetition or component) in the source file,
// rather than its segment's first character, so that `file:line:col` lands on the value an analyst must
// look at.
//
// Worked out only when a finding is made. The tokenizer keeps no element offsets: reading runs at tens of
// MB/s and a cost per element there is too much for the few segments that ever need one. The location is
// measured again from the segment's own location, in the segment's text.
//
// Columns and offsets count bytes, as the segment's own column does (the tokenizer reads the file as
// latin1: one char per byte). Most segments are their values joined by single-byte separators, so their
// text is rebuilt from the values. A segment whose values are not its bytes (UTF-8 decoded into fewer
// chars, or kept as latin1 when not valid UTF-8; line breaks inside a hard-wrapped segment dropped) has
// its raw text kept by the tokenizer (keepSourceText): few segments, and only those pay for it.

import type { Delimiters, Location, Segment } from './model.js';

/** An element of a segment, and optionally one repetition of it and one component of that (all 1-based). */
export interface ElementCoordinates {
  elementPosition: number;
  repetition?: number;
  componentPosition?: number;
}

/** The raw text (latin1: a char per byte, from the segment's first byte to the end of its data) of segments whose values differ from their bytes. */
const sourceTexts = new WeakMap<Segment, string>();

/** Keeps the raw text of a segment whose values are not its bytes (see the top of this file). */
export function keepSourceText(seg: Segment, raw: string): void {
  sourceTexts.set(seg, raw);
}

/**
 * The location of an element (its first byte; for a repetition or a component, that one's). An element
 * that is empty is where its value would start, just after its separator; one past the segment's last
 * element, or a repetition or component past its element's last, is where the segment, element or
 * repetition ends (at the terminator, for an element past the end).
 */
export function elementLocation(seg: Segment, at: ElementCoordinates, delimiters: Delimiters): Location {
  const text = sourceTexts.get(seg) ?? rebuiltText(seg, delimiters.element);
  return locationIn(seg.loc, text, targetIndex(text, at, delimiters));
}

/**
 * The segment's bytes, as a latin1 string, from its values: for segments the tokenizer cut as they are
 * (ASCII values, no line break inside). A segment made elsewhere (tests, acknowledgment parsing of built
 * segments) with non-ASCII values is taken to be UTF-8, as the reader decodes files by default.
 */
function rebuiltText(seg: Segment, separator: string): string {
  const elements: unknown[] = Array.isArray(seg.elements) ? seg.elements : [seg.id];
  const values = elements.map((v) => (typeof v !== 'string' ? '' : isAsciiText(v) ? v : Buffer.from(v, 'utf8').toString('latin1')));
  return values.join(separator);
}

function isAsciiText(v: string): boolean {
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The index in `text` where the coordinates point (text.length: at the terminator). */
function targetIndex(text: string, at: ElementCoordinates, d: Delimiters): number {
  const start = partIndex(text, at, d);
  return isLineBreak(d.segment) ? start : pastLineBreaks(text, start);
}

function partIndex(text: string, at: ElementCoordinates, d: Delimiters): number {
  let { start, end } = nthPart(text, 0, text.length, d.element, at.elementPosition + 1);
  // Without a repetition separator an element has one repetition only: a later one is past its end.
  if ((at.repetition ?? 1) > 1) ({ start, end } = d.repetition ? nthPart(text, start, end, d.repetition, at.repetition!) : { start: end, end });
  if ((at.componentPosition ?? 1) > 1) ({ start } = nthPart(text, start, end, d.component, at.componentPosition!));
  return start;
}

function isLineBreak(s: string): boolean {
  return s === '\n' || s === '\r' || s === '\r\n';
}

/**
 * Past the line breaks at text[index] (a hard-wrapped segment broken right after a separator): where the
 * value's first byte is. Only where segments do not end at a line break: there, line breaks in a segment
 * are layout the tokenizer drops, not data.
 */
function pastLineBreaks(text: string, index: number): number {
  let i = index;
  while (i < text.length && (text.charCodeAt(i) === 0x0a || text.charCodeAt(i) === 0x0d)) i++;
  return i;
}

/**
 * The n-th (1-based) of the parts text[from, to) splits into on `separator`: its start and end. Past the
 * last part, an empty one at `to`.
 */
function nthPart(text: string, from: number, to: number, separator: string, n: number): { start: number; end: number } {
  let start = from;
  for (let k = 1; k < n; k++) {
    const next = text.indexOf(separator, start);
    if (next < 0 || next >= to) return { start: to, end: to };
    start = next + separator.length;
  }
  const next = text.indexOf(separator, start);
  return { start, end: next < 0 || next >= to ? to : next };
}

/**
 * The location of text[index] for a segment text starting at `segment`: on the segment's line unless a
 * line feed (a hard-wrapped segment) comes before it, as the tokenizer counts lines.
 */
function locationIn(segment: Location, text: string, index: number): Location {
  const offset = segment.offset + index;
  const lastFeed = index > 0 ? text.lastIndexOf('\n', index - 1) : -1;
  if (lastFeed < 0) return { offset, line: segment.line, column: segment.column + index };
  let feeds = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) feeds++;
  return { offset, line: segment.line + feeds, column: index - lastFeed };
}
