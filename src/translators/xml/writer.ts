// XML writer: a plain object tree (the shape xml/reader.ts returns) -> an XML document, with fast-xml-parser's
// XMLBuilder. The tree is checked first and values are escaped here, so the output is always well-formed:
//   { Invoice: { '@_number': '00123', Line: ['1.00', '2.50'], Note: { '@_lang': 'en', '#text': 'late' } } }
//   => <Invoice number="00123"><Line>1.00</Line><Line>2.50</Line><Note lang="en">late</Note></Invoice>
// - exactly one root element; keys '@_name' are attributes, '#text' is text, any other key is a child element;
//   an array writes one element per item; `undefined` values are left out;
// - every value must be a string: numbers, booleans, null, dates are refused (XML_WRITE_INVALID_VALUE), as
//   are characters XML 1.0 cannot carry; names must be XML names (XML_WRITE_INVALID_NAME);
// - & < > " ' are escaped in text and attributes; CR (and TAB/LF in attributes) are written as character
//   references so a reader gets them back unchanged;
// - the output is deterministic: keys in insertion order, LF line ends, an XML declaration unless turned off.

import { WaybillError } from '../../errors/catalogue.js';
import { fastXmlParser } from './library.js';
import { XML_ATTRIBUTE_PREFIX, XML_TEXT_KEY, type XmlNode } from './reader.js';

export interface XmlWriteOptions {
  /** Indented, one element per line (default), or compact on one line. */
  pretty?: boolean;
  /** Indent for pretty output. Default two spaces. */
  indent?: string;
  /** Write `<?xml version="1.0" encoding="UTF-8"?>` first. Default true. */
  declaration?: boolean;
}

/** A tree to write: like XmlNode, but plain objects (any prototype) and `undefined` values are accepted. */
export type XmlWriteTree = { readonly [key: string]: XmlWriteValue };
export type XmlWriteValue = string | XmlWriteTree | readonly (string | XmlWriteTree)[] | undefined;

// XML 1.0 Name (approximated to Unicode letters/digits plus the ASCII punctuation XML allows).
const XML_NAME = /^[\p{L}_:][\p{L}\p{N}\p{M}._:\u00B7\u203F\u2040-]*$/u;
const FORBIDDEN_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function invalidValue(path: string, message: string): never {
  throw new WaybillError('XML_WRITE_INVALID_VALUE', `${path}: ${message}`, { path });
}

function checkName(name: string, path: string, what: 'element' | 'attribute'): void {
  if (!XML_NAME.test(name)) {
    throw new WaybillError('XML_WRITE_INVALID_NAME', `${path}: ${JSON.stringify(name)} is not a valid XML ${what} name`, { path, name });
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a Date';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function checkString(v: unknown, path: string): string {
  if (typeof v !== 'string') invalidValue(path, `${describe(v)} is not a string (convert it to the text you want written)`);
  const bad = FORBIDDEN_CHAR.exec(v);
  if (bad) {
    const cp = bad[0].codePointAt(0)!;
    invalidValue(path, `character U+${cp.toString(16).toUpperCase().padStart(4, '0')} cannot be written in XML 1.0`);
  }
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === null || proto === Object.prototype;
}

function escapeText(s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) => TEXT_ESCAPES[c]);
}

function escapeAttr(s: string): string {
  return s.replace(/[&<>"'\r\n\t]/g, (c) => ATTR_ESCAPES[c]);
}

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };
const ATTR_ESCAPES: Record<string, string> = { ...TEXT_ESCAPES, '\n': '&#10;', '\t': '&#9;' };

/** Checks the tree and returns an escaped copy with null-prototype objects for XMLBuilder. */
function prepare(value: unknown, path: string, depth: number): unknown {
  if (depth > 1000) invalidValue(path, 'the tree is nested too deeply (or is circular)');
  if (typeof value === 'string') return escapeText(checkString(value, path));
  if (!isPlainObject(value)) invalidValue(path, `${describe(value)} is not a string, an element object or an array of them`);
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) continue;
    if (key === XML_TEXT_KEY) {
      out[key] = escapeText(checkString(v, `${path}/#text`));
    } else if (key.startsWith(XML_ATTRIBUTE_PREFIX)) {
      const name = key.slice(XML_ATTRIBUTE_PREFIX.length);
      checkName(name, `${path}/@${name}`, 'attribute');
      out[key] = escapeAttr(checkString(v, `${path}/@${name}`));
    } else {
      checkName(key, `${path}/${key}`, 'element');
      if (Array.isArray(v)) {
        const items: unknown[] = [];
        v.forEach((item: unknown, i: number) => {
          if (Array.isArray(item)) invalidValue(`${path}/${key}[${i + 1}]`, 'an array inside an array has no XML meaning');
          if (item !== undefined) items.push(prepare(item, `${path}/${key}[${i + 1}]`, depth + 1));
        });
        out[key] = items;
      } else {
        out[key] = prepare(v, `${path}/${key}`, depth + 1);
      }
    }
  }
  return out;
}

/** Builds an XML document from a tree with one root element. Throws WaybillError(XML_WRITE_*). */
export function buildXml(tree: XmlWriteTree | XmlNode, options: XmlWriteOptions = {}): string {
  if (!isPlainObject(tree)) invalidValue('', `the document must be an object with one root element, got ${describe(tree)}`);
  const roots = Object.keys(tree).filter((k) => tree[k] !== undefined);
  if (roots.length !== 1 || roots[0] === XML_TEXT_KEY || roots[0].startsWith(XML_ATTRIBUTE_PREFIX)) {
    invalidValue('', `the document must have exactly one root element, got ${roots.length === 0 ? 'none' : roots.map((r) => JSON.stringify(r)).join(', ')}`);
  }
  const root = roots[0];
  const rootValue = tree[root];
  if (Array.isArray(rootValue)) invalidValue(`/${root}`, 'the root element cannot repeat');
  checkName(root, `/${root}`, 'element');
  const prepared = Object.create(null) as Record<string, unknown>;
  prepared[root] = prepare(rootValue, `/${root}`, 0);

  const pretty = options.pretty ?? true;
  const builder = new (fastXmlParser().XMLBuilder)({
    ignoreAttributes: false,
    attributeNamePrefix: XML_ATTRIBUTE_PREFIX,
    textNodeName: XML_TEXT_KEY,
    format: pretty,
    indentBy: options.indent ?? '  ',
    suppressEmptyNode: false,
    suppressBooleanAttributes: false,
    // values are escaped above; the builder must not escape them again
    processEntities: false,
  });
  const body = (builder.build(prepared) as string).replace(/\n+$/, '');
  const declaration = options.declaration ?? true;
  const head = declaration ? '<?xml version="1.0" encoding="UTF-8"?>' + (pretty ? '\n' : '') : '';
  return head + body + (pretty ? '\n' : '');
}
