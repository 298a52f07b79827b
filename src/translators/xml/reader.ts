// XML reader: bytes or text in, a plain document tree out, every value a string.
//
// The tree has the shape fast-xml-parser users know, and the one xml/writer.ts takes:
//   <Invoice number="00123"><Line>1.00</Line><Line>2.50</Line><Note lang="en">late</Note></Invoice>
//   => { Invoice: { '@_number': '00123', Line: ['1.00', '2.50'], Note: { '@_lang': 'en', '#text': 'late' } } }
// - an element with neither attributes nor child elements is its text, a string ('' when empty);
// - otherwise an object: attributes as '@_' + name, child elements by name (an array when the name repeats),
//   and its text as '#text' when there is any; whitespace-only text between child elements is dropped;
// - text and attribute values are exactly as in the document (not trimmed, never converted to numbers), with
//   entity and character references decoded and CDATA taken literally; line ends are normalised to LF as the
//   XML spec requires;
// - names are kept as written, namespace prefix included ('ns:Line'); comments and processing instructions
//   are dropped;
// - every object has a null prototype, so names like `constructor`, `__proto__` or `toString` are plain keys;
// - every object also holds, under a symbol that is not enumerable (so neither its keys nor its JSON show it),
//   where its child elements start in the document: locateXml reads it to place a failure at line:column.
//
// Safety, in order: a size cap; a decode that refuses invalid bytes; a scan that refuses any DOCTYPE or other
// DTD declaration outside comments/CDATA (so no custom, recursive or external entities can exist), entity
// references other than the five XML ones, and characters XML 1.0 forbids; XMLValidator for well-formedness
// (its line/column are reported); then XMLParser with values kept as strings and entity limits set
// explicitly (defence in depth: without a DTD there is nothing to expand). Every failure is a WaybillError
// with an XML_* code and, where there is one, details.line / details.column (1-based).

import { readFileSync, statSync } from 'node:fs';
import type { X2jOptions } from 'fast-xml-parser';
import { WaybillError, type ErrorCode } from '../../errors/catalogue.js';
import { fastXmlParser } from './library.js';
import { firstInvalidUtf8 } from '../utf8.js';

export interface XmlNode {
  [key: string]: XmlChild | XmlChild[];
}
/** An element's value: its text (no attributes, no child elements) or an XmlNode. */
export type XmlChild = string | XmlNode;

export interface XmlReadOptions {
  /** Largest document accepted, in bytes (UTF-8 bytes for a string). Default 20 MiB. */
  maxBytes?: number;
  /** Deepest element nesting accepted. Default 100. */
  maxDepth?: number;
}

export type XmlErrorCode = Extract<ErrorCode, `XML_${string}`>;

/** Where an element starts in the document: its '<', as a 1-based line and column and a 0-based char offset. */
export interface XmlPosition {
  line: number;
  column: number;
  offset: number;
}

/**
 * On every XmlNode (and the document), hidden from its keys and its JSON: where each child element starts,
 * by name, as the parser's character offset, shaped like the node's values (a number for a single child, an
 * array of numbers for a repeated one; undefined where the parser gave none). Under LINES, the document's
 * line index, which turns an offset into line:column when a failure asks (locateXml): a position object for
 * each of hundreds of thousands of elements was built and kept for the few a failure ever reads.
 */
const CHILD_POSITIONS = Symbol('waybill.xml.childPositions');
const LINES = Symbol('waybill.xml.lines');
type Offsets = number | undefined | (number | undefined)[];
type ChildPositions = { [name: string]: Offsets } & { [LINES]: LineIndex };

/** Prefix of attribute keys in the tree. */
export const XML_ATTRIBUTE_PREFIX = '@_';
/** Key of an element's text in the tree. */
export const XML_TEXT_KEY = '#text';

/** The size cap of a document (XmlReadOptions.maxBytes), by default: 20 MiB. */
export const XML_MAX_BYTES = 20 * 1024 * 1024;
const DEFAULT_MAX_BYTES = XML_MAX_BYTES;
const DEFAULT_MAX_DEPTH = 100;

/**
 * Entity limits handed to fast-xml-parser. Tight on purpose: Waybill refuses DTDs, so none should be reached.
 * They apply to entities a document declares (`appliesTo: 'external'`: its DTD's, the tier a bypassed gate
 * would let in), not to the five XML defines and character references: with 'all', an invoice holding more
 * than 1,000 `&amp;` (`Smith &amp; Sons` on every line) was refused as XML_ENTITY_LIMIT.
 */
export const XML_ENTITY_LIMITS = {
  enabled: true,
  maxEntitySize: 1024,
  maxExpansionDepth: 4,
  maxTotalExpansions: 1000,
  maxExpandedLength: 100_000,
  maxEntityCount: 32,
  appliesTo: 'external',
} as const;

const CRITICAL_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const ESCAPE_MARK = '#';
const CDATA_KEY = '#cdata';

/**
 * The XMLParser options this reader uses. Exported so tests can check the entity limits hold even when the
 * DOCTYPE gate is bypassed.
 */
export function xmlParserOptions(maxDepth = DEFAULT_MAX_DEPTH): X2jOptions {
  return {
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: XML_ATTRIBUTE_PREFIX,
    textNodeName: XML_TEXT_KEY,
    cdataPropName: CDATA_KEY,
    commentPropName: false,
    parseTagValue: false,
    parseAttributeValue: false,
    numberParseOptions: { hex: false, leadingZeros: false, eNotation: false },
    trimValues: false,
    removeNSPrefix: false,
    allowBooleanAttributes: false,
    alwaysCreateTextNode: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    // htmlEntities makes fast-xml-parser decode numeric character references (&#65; &#x42;), which XML
    // requires; the HTML named entities it would also decode never get this far (the scan refuses them).
    htmlEntities: true,
    processEntities: { ...XML_ENTITY_LIMITS },
    maxNestedTags: maxDepth,
    captureMetaData: true,
    // Callbacks get the parser's path matcher rather than a path string: none of ours reads it, and with
    // jPath: true the parser joined the path into a string for every text, attribute and element.
    jPath: false,
    // fast-xml-parser throws on these names; the validator guarantees no real name starts with '#', so a
    // '#' prefix is a safe, reversible escape (undone when the tree is built).
    transformTagName: (name: string) => (CRITICAL_NAMES.has(name) ? ESCAPE_MARK + name : name),
    onDangerousProperty: (name: string) => ESCAPE_MARK + name,
  };
}

function fail(code: XmlErrorCode, message: string, details: Record<string, unknown> = {}): never {
  throw new WaybillError(code, message, details);
}

function checkSize(size: number, maxBytes: number): void {
  if (size > maxBytes) {
    fail('XML_TOO_LARGE', `the document is ${size} bytes, over the maximum of ${maxBytes}`, { size, maxBytes, line: 1, column: 1 });
  }
}

/**
 * An XML file's bytes, its size checked against the cap before it is read: a document is parsed whole, so
 * one over the cap must not be loaded into memory first. Throws WaybillError(XML_TOO_LARGE).
 */
export function readXmlFile(path: string, options: XmlReadOptions = {}): Buffer {
  checkSize(statSync(path).size, options.maxBytes ?? DEFAULT_MAX_BYTES);
  return readFileSync(path);
}

/** Parses an XML document (bytes or already-decoded text) into a tree. Throws WaybillError(XML_*). */
export function parseXml(input: string | Buffer | Uint8Array, options: XmlReadOptions = {}): XmlNode {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  checkSize(typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength, maxBytes);
  let text = typeof input === 'string' ? stripBom(input) : decode(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
  text = withoutEndMark(text);

  scan(text);

  const { XMLParser, XMLValidator } = fastXmlParser();
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    const unclosed = unclosedElements(msg);
    if (unclosed) {
      // The validator's words for a truncated document ("Invalid '[ "Invoice", "Party"]' found."), at 1:1:
      // said as what it is, where the document ends.
      const end = lineCol(text, text.trimEnd().length);
      fail('XML_MALFORMED', `the document ends before ${unclosed.map((n) => `<${n}>`).join(', ')} ${unclosed.length > 1 ? 'are' : 'is'} closed (is it cut short?)`,
        { ...end, reason: valid.err.code });
    }
    fail('XML_MALFORMED', `${msg} (line ${line ?? 1}, column ${col ?? 1})`, { line: line ?? 1, column: col ?? 1, reason: valid.err.code });
  }

  let parsed: PoItem[];
  try {
    parsed = new XMLParser(xmlParserOptions(maxDepth)).parse(text) as PoItem[];
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (/nested tags/i.test(message)) fail('XML_TOO_DEEP', `elements are nested deeper than ${maxDepth}`, { maxDepth });
    if (/entit/i.test(message)) fail('XML_ENTITY_LIMIT', message);
    fail('XML_MALFORMED', `the document cannot be parsed: ${message}`);
  }

  const roots = parsed.filter((item) => elementKey(item) !== undefined);
  if (roots.length !== 1) {
    const second = roots[1];
    const meta = second ? (second as Record<symbol, { startIndex?: number } | undefined>)[XMLParser.getMetaDataSymbol() as unknown as symbol] : undefined;
    const at = meta?.startIndex !== undefined ? lineCol(text, meta.startIndex) : { line: 1, column: 1 };
    fail('XML_MALFORMED', roots.length === 0 ? 'the document has no root element' : `the document has ${roots.length} root elements; XML allows one`, at);
  }
  const rootItem = roots[0];
  const key = elementKey(rootItem)!;
  const doc = Object.create(null) as XmlNode;
  const builder = new TreeBuilder(new LineIndex(text), XMLParser.getMetaDataSymbol() as unknown as symbol);
  const name = unescapeName(key);
  doc[name] = builder.convert(rootItem[key] as PoItem[], rootItem[':@'] as Record<string, string> | undefined);
  const at = builder.offsetOf(rootItem);
  if (at !== undefined) {
    const rootAt = builder.positions();
    rootAt[name] = at;
    hideChildPositions(doc, rootAt);
  }
  return doc;
}

// ------------------------------------------------------------------------------------------------
// Decoding

/**
 * The text without a SUB (U+001A, Ctrl-Z) that ends it, with the whitespace around it: the end-of-file
 * mark DOS-era tools and some mailboxes append. XML forbids the character, so a document that was fine
 * failed as malformed for it. A SUB anywhere else is left for the parser to report.
 */
function withoutEndMark(text: string): string {
  let end = text.length;
  while (end > 0 && /[\s\u001a]/.test(text[end - 1])) end--;
  return text.indexOf('\u001a', end) < 0 ? text : text.slice(0, end);
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/**
 * The UTF-16 form of an XML document without a byte order mark, which it shows by its declaration: `<?`
 * with a NUL after (little-endian) or before (big-endian) each character. Null otherwise.
 */
export function bomlessUtf16Xml(buf: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  if (buf[0] === 0x3c && buf[1] === 0x00 && buf[2] === 0x3f && buf[3] === 0x00) return 'utf-16le';
  if (buf[0] === 0x00 && buf[1] === 0x3c && buf[2] === 0x00 && buf[3] === 0x3f) return 'utf-16be';
  return null;
}

function decode(buf: Buffer): string {
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return decodeStrict(buf.subarray(3), 'utf-8');
  if (buf[0] === 0xff && buf[1] === 0xfe) return decodeStrict(buf.subarray(2), 'utf-16le');
  if (buf[0] === 0xfe && buf[1] === 0xff) return decodeStrict(buf.subarray(2), 'utf-16be');
  const utf16 = bomlessUtf16Xml(buf);
  if (utf16 !== null) return decodeStrict(buf, utf16);
  const head = buf.subarray(0, 256).toString('latin1');
  const declared = /^<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']/.exec(head)?.[1]?.toLowerCase();
  if (declared === undefined || declared === 'utf-8' || declared === 'utf8' || declared === 'us-ascii' || declared === 'ascii') {
    return decodeStrict(buf, 'utf-8');
  }
  if (declared === 'iso-8859-1' || declared === 'latin1' || declared === 'iso_8859-1' || declared === 'l1') return buf.toString('latin1');
  if (declared === 'windows-1252' || declared === 'cp1252') return new TextDecoder('windows-1252').decode(buf);
  return fail('XML_ENCODING_UNSUPPORTED', `the declared encoding "${declared}" is not supported (UTF-8, UTF-16 with a BOM, ISO-8859-1 and windows-1252 are)`, { encoding: declared, line: 1, column: 1 });
}

function decodeStrict(buf: Buffer, encoding: 'utf-8' | 'utf-16le' | 'utf-16be'): string {
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    const offset = encoding === 'utf-8' ? firstInvalidUtf8(buf) : buf.length - (buf.length % 2);
    const prefix = new TextDecoder(encoding).decode(buf.subarray(0, offset));
    const at = lineCol(prefix, prefix.length);
    return fail('XML_INVALID_ENCODING', `bytes that are not valid ${encoding.toUpperCase()} at line ${at.line}, column ${at.column} (byte offset ${offset})`, { ...at, offset });
  }
}

function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

// ------------------------------------------------------------------------------------------------
// Pre-parse scan: characters, DTD declarations, entity references

// Anything outside XML 1.0's Char production (with the u flag a lone surrogate is matched too).
const FORBIDDEN_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const MARKUP_OR_REF = /[<&]/g;
const REFERENCE = /&(?:#([0-9]+)|#x([0-9A-Fa-f]+)|([A-Za-z_:][A-Za-z0-9._:\u00B7\u00C0-\uFFFF-]*));/y;
const DTD_DECLARATION = /<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/iy;
const PREDEFINED = new Set(['lt', 'gt', 'amp', 'apos', 'quot']);

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** The element names fast-xml-parser's validator lists as never closed, or null for another message. */
function unclosedElements(msg: string): string[] | null {
  const m = /^Invalid '(\[.*\])' found\.?$/s.exec(msg);
  if (!m) return null;
  try {
    const names = JSON.parse(m[1]) as unknown;
    return Array.isArray(names) && names.length > 0 && names.every((n) => typeof n === 'string') ? (names as string[]) : null;
  } catch {
    return null;
  }
}

function scan(text: string): void {
  const bad = FORBIDDEN_CHAR.exec(text);
  if (bad) {
    const cp = bad[0].codePointAt(0)!;
    fail('XML_MALFORMED', `character U+${cp.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML 1.0`, lineCol(text, bad.index));
  }
  MARKUP_OR_REF.lastIndex = 0;
  for (let m = MARKUP_OR_REF.exec(text); m !== null; m = MARKUP_OR_REF.exec(text)) {
    const i = m.index;
    if (text[i] === '<') {
      let skipTo = -1;
      if (text.startsWith('<!--', i)) skipTo = endOf(text, '-->', i + 4);
      else if (text.startsWith('<![CDATA[', i)) skipTo = endOf(text, ']]>', i + 9);
      else if (text.startsWith('<?', i)) skipTo = endOf(text, '?>', i + 2);
      else if (text.startsWith('<!', i)) {
        DTD_DECLARATION.lastIndex = i;
        const decl = DTD_DECLARATION.exec(text);
        if (decl) {
          fail('XML_DOCTYPE_FORBIDDEN', `a <!${decl[1]} declaration: Waybill does not accept DTDs (no custom or external entities)`, lineCol(text, i));
        }
      }
      if (skipTo !== -1) MARKUP_OR_REF.lastIndex = skipTo;
      continue;
    }
    REFERENCE.lastIndex = i;
    const ref = REFERENCE.exec(text);
    if (!ref) fail('XML_MALFORMED', `an '&' that does not start an entity or character reference (write &amp;)`, lineCol(text, i));
    if (ref[3] !== undefined) {
      if (!PREDEFINED.has(ref[3])) {
        fail('XML_MALFORMED', `undefined entity &${ref[3]}; (XML defines only &lt; &gt; &amp; &apos; &quot; and character references)`, lineCol(text, i));
      }
    } else {
      const digits = ref[1] ?? ref[2]!;
      const cp = digits.length > 8 ? -1 : parseInt(digits, ref[1] !== undefined ? 10 : 16);
      if (!isXmlChar(cp)) fail('XML_MALFORMED', `character reference ${ref[0]} names a character XML 1.0 does not allow`, lineCol(text, i));
    }
    MARKUP_OR_REF.lastIndex = i + ref[0].length;
  }
}

/** Index just past `terminator` (searching from `from`), or the text length when it is missing. */
function endOf(text: string, terminator: string, from: number): number {
  const j = text.indexOf(terminator, from);
  return j === -1 ? text.length : j + terminator.length;
}

// ------------------------------------------------------------------------------------------------
// preserveOrder output -> tree

type PoItem = Record<string, unknown>;

/** The element name (or '#text' / '#cdata') an item holds; undefined for anything else. */
function elementKey(item: PoItem): string | undefined {
  // for-in rather than Object.keys: no array per item. An item's own keys come first, and it always has
  // its name (or '#text', '#cdata') as one, so nothing inherited is ever returned.
  for (const k in item) if (k !== ':@') return k;
  return undefined;
}

function unescapeName(name: string): string {
  return name.startsWith(ESCAPE_MARK) ? name.slice(ESCAPE_MARK.length) : name;
}

/** Whether s holds nothing but XML whitespace (space, tab, LF, CR); true for ''. */
function isWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

/**
 * The line starts of a document, found once, so that a character offset becomes a line and column by binary
 * search (only when a failure or a loop asks where an element is).
 */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  position(offset: number): XmlPosition {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1, offset };
  }
}

function hideChildPositions(node: XmlNode, positions: ChildPositions): void {
  Object.defineProperty(node, CHILD_POSITIONS, { value: positions, enumerable: false });
}

function childPositions(node: XmlNode): ChildPositions | undefined {
  return (node as unknown as Record<symbol, ChildPositions | undefined>)[CHILD_POSITIONS];
}

/** Where the k-th child called `name` starts (k 0-based), from a node's hidden positions; undefined when unknown. */
function childPosition(positions: ChildPositions | undefined, name: string, k: number): XmlPosition | undefined {
  if (positions === undefined || !Object.prototype.hasOwnProperty.call(positions, name)) return undefined;
  const offsets = positions[name];
  const offset = Array.isArray(offsets) ? offsets[k] : k === 0 ? offsets : undefined;
  return offset === undefined ? undefined : positions[LINES].position(offset);
}

/** Turns fast-xml-parser's preserveOrder output into the tree (see the top of this file). */
class TreeBuilder {
  constructor(private readonly lines: LineIndex, private readonly metaKey: symbol) {}

  /** An empty hidden positions record for one node. */
  positions(): ChildPositions {
    const at = Object.create(null) as ChildPositions;
    at[LINES] = this.lines;
    return at;
  }

  /** Where the element of a preserveOrder item starts (a character offset); undefined when the parser gave none. */
  offsetOf(item: PoItem): number | undefined {
    return (item as Record<symbol, { startIndex?: number } | undefined>)[this.metaKey]?.startIndex;
  }

  convert(children: PoItem[], attrs: Record<string, string> | undefined): XmlChild {
    let node: XmlNode | undefined;
    let childAt: ChildPositions | undefined;
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const name = unescapeName(k.slice(XML_ATTRIBUTE_PREFIX.length));
        (node ??= Object.create(null) as XmlNode)[XML_ATTRIBUTE_PREFIX + name] = String(attrs[k]);
      }
    }
    // The element's text: every piece in document order (`all`), and without the whitespace-only pieces
    // outside CDATA (`kept`), which is its text when it has child elements.
    let all = '';
    let kept = '';
    let hasElement = false;
    for (let i = 0; i < children.length; i++) {
      const item = children[i];
      const key = elementKey(item);
      if (key === undefined) continue;
      if (key === XML_TEXT_KEY) {
        const value = String(item[key]);
        all += value;
        if (!isWhitespace(value)) kept += value;
      } else if (key === CDATA_KEY) {
        const parts = item[key] as PoItem[];
        let value = '';
        for (let p = 0; p < parts.length; p++) value += String(parts[p][XML_TEXT_KEY] ?? '');
        all += value;
        kept += value;
      } else {
        hasElement = true;
        node ??= Object.create(null) as XmlNode;
        childAt ??= this.positions();
        const name = unescapeName(key);
        const value = this.convert(item[key] as PoItem[], item[':@'] as Record<string, string> | undefined);
        const offset = this.offsetOf(item);
        if (!Object.prototype.hasOwnProperty.call(node, name)) {
          node[name] = value;
          childAt[name] = offset;
        } else {
          const existing = node[name];
          const existingAt = childAt[name];
          if (Array.isArray(existing)) {
            existing.push(value);
            (existingAt as (number | undefined)[]).push(offset);
          } else {
            node[name] = [existing, value];
            childAt[name] = [existingAt as number | undefined, offset];
          }
        }
      }
    }
    const text = hasElement ? kept : all;
    if (node === undefined) return text;
    if (text !== '') node[XML_TEXT_KEY] = text;
    hideChildPositions(node, childAt ?? this.positions());
    return node;
  }
}

// ------------------------------------------------------------------------------------------------
// selectXml

/**
 * Selects values from a tree by path. Syntax (no XPath; segments separated by '/'):
 *   Name        child elements called Name (namespace prefix included, e.g. `ns:Line`); repeated elements
 *               give one result each, in document order
 *   Name[n]     only the n-th (1-based) Name child of each parent
 *   *           every child element, grouped by name in order of first appearance
 *   @name       the attribute `name` (last segment only); elements without it give nothing
 *   #text       the element's text (last segment only): a text-only element's string, else its '#text',
 *               else ''
 * The path starts at `context`: from a document, the first segment is the root element
 * (`Invoice/Lines/Line`); from a node, its children (`Amount/#text`). A leading '/' is ignored.
 * Results are strings or XmlNodes, never numbers; no match gives []. A bad path throws XML_PATH_INVALID.
 */
export function selectXml(context: XmlChild | XmlChild[], path: string): XmlChild[] {
  return walk(context, path, null);
}

/**
 * selectXml, with where each match is in the document: an element's start tag; for an attribute or a
 * text, the start tag of the element holding it. `contextAt` is where `context` itself starts (from a
 * document, nothing is needed). A position is undefined where the tree does not know it (a tree not made
 * by parseXml, or an attribute or text of the context when `contextAt` is not given).
 */
export function locateXml(context: XmlChild, path: string, contextAt?: XmlPosition): { value: XmlChild; at: XmlPosition | undefined }[] {
  const at: (XmlPosition | undefined)[] = [contextAt];
  const found = walk(context, path, at);
  return found.map((value, i) => ({ value, at: at[i] }));
}

/**
 * The walk behind selectXml and locateXml. With `at` (holding the context's position on entry), it also
 * tracks each match's position and leaves them in `at`, parallel to the result.
 */
function walk(context: XmlChild | XmlChild[], path: string, at: (XmlPosition | undefined)[] | null): XmlChild[] {
  const segments = parsePath(path);
  let current: XmlChild[] = Array.isArray(context) ? context : [context];
  let currentAt = at ? at.slice(0, current.length) : null;
  for (const seg of segments) {
    const next: XmlChild[] = [];
    const nextAt: (XmlPosition | undefined)[] | null = currentAt ? [] : null;
    for (let i = 0; i < current.length; i++) {
      const item = current[i];
      if (seg.kind === 'text') {
        next.push(textOf(item));
        nextAt?.push(currentAt![i]);
        continue;
      }
      if (typeof item === 'string') continue; // a text-only element has no attributes or children
      if (seg.kind === 'attr') {
        const key = XML_ATTRIBUTE_PREFIX + seg.name;
        if (hasOwn(item, key) && typeof item[key] === 'string') {
          next.push(item[key] as string);
          nextAt?.push(currentAt![i]);
        }
        continue;
      }
      const positions = nextAt ? childPositions(item) : undefined;
      if (seg.kind === 'element') {
        if (hasOwn(item, seg.name)) pushChildren(item[seg.name], seg.name, seg.position, positions, next, nextAt);
      } else {
        for (const name in item) if (isElementKey(name)) pushChildren(item[name], name, undefined, positions, next, nextAt);
      }
    }
    current = next;
    currentAt = nextAt;
  }
  if (at && currentAt) {
    at.length = 0;
    for (let k = 0; k < currentAt.length; k++) at.push(currentAt[k]);
  }
  return current;
}

/**
 * Adds a node's children called `name` (its value `v`: one child, or an array of repeated ones) to `next`,
 * only the position-th (1-based) when a position is given; with `nextAt`, where each starts too.
 */
function pushChildren(
  v: XmlChild | XmlChild[], name: string, position: number | undefined, positions: ChildPositions | undefined,
  next: XmlChild[], nextAt: (XmlPosition | undefined)[] | null,
): void {
  if (!Array.isArray(v)) {
    if (position === undefined || position === 1) {
      next.push(v);
      nextAt?.push(childPosition(positions, name, 0));
    }
  } else if (position !== undefined) {
    const picked = v[position - 1];
    if (picked !== undefined) {
      next.push(picked);
      nextAt?.push(childPosition(positions, name, position - 1));
    }
  } else {
    // A loop, not push(...v): spread arguments go on the stack, and 130,000 repeated elements overflowed it.
    for (let k = 0; k < v.length; k++) next.push(v[k]);
    if (nextAt) for (let k = 0; k < v.length; k++) nextAt.push(childPosition(positions, name, k));
  }
}

/**
 * The first non-empty text among the matches of `path` from `context` (see selectXml), in selectXml's
 * order: a text-only element's string, an element's '#text', an attribute's value. Undefined when no
 * match has any. selectXml then a search of its result gives the same answer, but this stops at the first
 * and builds no lists: mappings read one value per path, for every item of a loop.
 */
export function firstXmlText(context: XmlChild, path: string): string | undefined {
  return firstTextFrom(context, parsePath(path), 0);
}

function firstTextFrom(item: XmlChild, segments: PathSegment[], i: number): string | undefined {
  if (i === segments.length) return nonEmpty(textOf(item));
  const seg = segments[i];
  if (seg.kind === 'text') return nonEmpty(textOf(item));
  if (typeof item === 'string') return undefined; // a text-only element has no attributes or children
  if (seg.kind === 'attr') {
    const key = XML_ATTRIBUTE_PREFIX + seg.name;
    const v = hasOwn(item, key) ? item[key] : undefined;
    return typeof v === 'string' ? nonEmpty(v) : undefined;
  }
  if (seg.kind === 'element') return hasOwn(item, seg.name) ? firstTextIn(item[seg.name], seg.position, segments, i + 1) : undefined;
  for (const name in item) {
    if (!isElementKey(name)) continue;
    const t = firstTextIn(item[name], undefined, segments, i + 1);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** firstTextFrom over a node's children of one name (`v`: one child or the array of repeated ones). */
function firstTextIn(v: XmlChild | XmlChild[], position: number | undefined, segments: PathSegment[], i: number): string | undefined {
  if (!Array.isArray(v)) return position === undefined || position === 1 ? firstTextFrom(v, segments, i) : undefined;
  if (position !== undefined) {
    const picked = v[position - 1];
    return picked === undefined ? undefined : firstTextFrom(picked, segments, i);
  }
  for (let k = 0; k < v.length; k++) {
    const t = firstTextFrom(v[k], segments, i);
    if (t !== undefined) return t;
  }
  return undefined;
}

function nonEmpty(s: string): string | undefined {
  return s === '' ? undefined : s;
}

/** The text of the first match of `path` (see selectXml), or undefined when nothing matches. */
export function selectXmlText(context: XmlChild | XmlChild[], path: string): string | undefined {
  const first = selectXml(context, path)[0];
  return first === undefined ? undefined : textOf(first);
}

type PathSegment =
  | { kind: 'element'; name: string; position?: number }
  | { kind: 'any' }
  | { kind: 'attr'; name: string }
  | { kind: 'text' };

const NAME = /^[^\s/@#[\]*]+$/;
const pathCache = new Map<string, PathSegment[]>();

function parsePath(path: string): PathSegment[] {
  const cached = pathCache.get(path);
  if (cached) return cached;
  const bad = (why: string): never => fail('XML_PATH_INVALID', `invalid XML path ${JSON.stringify(path)}: ${why}`, { path });
  if (typeof path !== 'string') bad('not a string');
  const body = path.startsWith('/') ? path.slice(1) : path;
  if (body === '') bad('empty path');
  const parts = body.split('/');
  const segments: PathSegment[] = parts.map((p, i): PathSegment => {
    const last = i === parts.length - 1;
    if (p === '') return bad('empty segment');
    if (p === '#text') return last ? { kind: 'text' } : bad('#text must be the last segment');
    if (p.startsWith('@')) {
      const name = p.slice(1);
      if (!NAME.test(name)) bad(`bad attribute name ${JSON.stringify(name)}`);
      return last ? { kind: 'attr', name } : bad('an @attribute must be the last segment');
    }
    if (p === '*') return { kind: 'any' };
    const m = /^([^[\]]+)(?:\[([1-9][0-9]*)\])?$/.exec(p);
    if (!m || !NAME.test(m[1])) return bad(`bad segment ${JSON.stringify(p)}`);
    return m[2] === undefined ? { kind: 'element', name: m[1] } : { kind: 'element', name: m[1], position: Number(m[2]) };
  });
  if (pathCache.size > 1000) pathCache.clear();
  pathCache.set(path, segments);
  return segments;
}

function hasOwn(node: XmlNode, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(node, key);
}

function isElementKey(key: string): boolean {
  return key !== XML_TEXT_KEY && !key.startsWith(XML_ATTRIBUTE_PREFIX);
}

function textOf(item: XmlChild): string {
  if (typeof item === 'string') return item;
  const t = hasOwn(item, XML_TEXT_KEY) ? item[XML_TEXT_KEY] : undefined;
  return typeof t === 'string' ? t : '';
}
