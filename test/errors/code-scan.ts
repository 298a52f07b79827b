// Finds the error/diagnostic codes that source files emit, by walking the TypeScript syntax tree (so
// comments, message texts and property names never count, whatever the call style).
//
// A string literal shaped like a code (UPPER_SNAKE with at least one underscore: MAP_UNKNOWN_FIELD) is a
// code reference when either
//   - its family (the part before the first underscore) is one of the catalogue's families (X12, MAP,
//     PARTNER, ...), wherever it appears (argument, `code:` value, ternary branch, array item, type union
//     member, returned value, ...), or
//   - whatever its family, it sits where a code goes: the value of a `code` property or variable (or of a
//     `code: 'A' | 'B'` type), or an argument of a diagnostic-like call (diag, diagnostic, report, issue,
//     fail, zodDiagnostics) or of an ...Error/...Failure/...Fault constructor. This catches a new family.
// It is NOT a code reference when it is only compared against (`x === 'CODE'`, `case 'CODE':`,
// `set.has('CODE')`, `list.includes('CODE')`): that is how third-party error codes (csv-parse's
// CSV_INVALID_CLOSING_QUOTE, better-sqlite3's SQLITE_BUSY, ssh2's ERR_BAD_PATH) are handled, and handling
// a code is not emitting it.
// A template string that builds a code (`MAP_${kind}`) where a code goes is reported as dynamic: the
// catalogue check cannot see it, so it fails the test rather than slipping through.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

export const CODE_SHAPE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

export interface CodeRef {
  code: string;
  file: string;
  line: number;
  /** 'error' | 'warning' when the same call or object literal states it; undefined otherwise. */
  severity?: 'error' | 'warning';
}

export interface DynamicCode {
  text: string;
  file: string;
  line: number;
}

export interface ScanResult {
  refs: CodeRef[];
  dynamic: DynamicCode[];
}

const COMPARISON = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken,
]);
/** Methods whose string argument is looked up, not emitted. */
const LOOKUP_METHODS = new Set(['has', 'includes', 'indexOf', 'startsWith', 'endsWith', 'get']);
/** Callees whose every argument may be a code. */
const DIAGNOSTIC_CALLEE = /^(diag|diagnostic|report|issue|fail|zodDiagnostics)$|(Error|Failure|Fault|Issue|Diagnostic)$/;

function familyOf(code: string): string {
  return code.slice(0, code.indexOf('_'));
}

/** The node whose parent says what the value is used for (skips parentheses, `as`, `!`, ternaries). */
function usageNode(node: ts.Node): ts.Node {
  let n = node;
  for (;;) {
    const p = n.parent;
    if (!p) return n;
    if (ts.isParenthesizedExpression(p) || ts.isAsExpression(p) || ts.isSatisfiesExpression(p) || ts.isNonNullExpression(p)) n = p;
    else if (ts.isConditionalExpression(p) && p.condition !== n) n = p;
    else if (ts.isBinaryExpression(p) && (p.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || p.operatorToken.kind === ts.SyntaxKind.BarBarToken)) n = p;
    else return n;
  }
}

function calleeName(call: ts.CallExpression | ts.NewExpression): string | undefined {
  const e = call.expression;
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

function propertyName(name: ts.PropertyName | ts.BindingName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name)) return name.text;
  return undefined;
}

function isCompared(node: ts.Node): boolean {
  const u = usageNode(node);
  const p = u.parent;
  if (!p) return false;
  if (ts.isBinaryExpression(p) && COMPARISON.has(p.operatorToken.kind)) return true;
  if (ts.isCaseClause(p) && p.expression === u) return true;
  if (ts.isCallExpression(p) && p.arguments.includes(u as ts.Expression) && ts.isPropertyAccessExpression(p.expression)
    && LOOKUP_METHODS.has(p.expression.name.text)) return true;
  return false;
}

/** True where a code goes, whatever the family. */
function isCodePosition(node: ts.Node): boolean {
  const u = usageNode(node);
  const p = u.parent;
  if (!p) return false;
  if (ts.isPropertyAssignment(p) && p.initializer === u) return propertyName(p.name) === 'code';
  if (ts.isVariableDeclaration(p) && p.initializer === u) return ts.isIdentifier(p.name) && /code$/i.test(p.name.text);
  if (ts.isBinaryExpression(p) && p.operatorToken.kind === ts.SyntaxKind.EqualsToken && p.right === u) {
    const l = p.left;
    return (ts.isIdentifier(l) && /code$/i.test(l.text)) || (ts.isPropertyAccessExpression(l) && /code$/i.test(l.name.text));
  }
  if ((ts.isCallExpression(p) || ts.isNewExpression(p)) && p.arguments?.includes(u as ts.Expression)) {
    const name = calleeName(p);
    return name !== undefined && DIAGNOSTIC_CALLEE.test(name);
  }
  // `code: 'A' | 'B'` in a parameter, property or type.
  if (ts.isLiteralTypeNode(p)) {
    let t: ts.Node = p;
    while (t.parent && (ts.isUnionTypeNode(t.parent) || ts.isParenthesizedTypeNode(t.parent))) t = t.parent;
    const owner = t.parent;
    if (owner && (ts.isParameter(owner) || ts.isPropertySignature(owner) || ts.isPropertyDeclaration(owner))) {
      const n = propertyName(owner.name);
      return n !== undefined && /code$/i.test(n);
    }
  }
  return false;
}

function literalSeverity(obj: ts.Node | undefined): 'error' | 'warning' | undefined {
  if (!obj || !ts.isObjectLiteralExpression(obj)) return undefined;
  for (const prop of obj.properties) {
    if (ts.isPropertyAssignment(prop) && propertyName(prop.name) === 'severity' && ts.isStringLiteralLike(prop.initializer)) {
      const v = prop.initializer.text;
      if (v === 'error' || v === 'warning') return v;
    }
  }
  return undefined;
}

/** The severity stated next to the code: a sibling `severity:` or an options object later in the same call. */
function statedSeverity(node: ts.Node): 'error' | 'warning' | undefined {
  const u = usageNode(node);
  const p = u.parent;
  if (!p) return undefined;
  if (ts.isPropertyAssignment(p) && propertyName(p.name) === 'code') return literalSeverity(p.parent);
  if ((ts.isCallExpression(p) || ts.isNewExpression(p)) && p.arguments && p.arguments[0] === u) {
    for (const a of p.arguments.slice(1)) {
      const s = literalSeverity(a);
      if (s) return s;
    }
  }
  return undefined;
}

/** Scans one source text. `families`: the code families that count wherever they appear. */
export function scanSource(text: string, file: string, families: ReadonlySet<string>): ScanResult {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const refs: CodeRef[] = [];
  const dynamic: DynamicCode[] = [];
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      const code = node.text;
      if (CODE_SHAPE.test(code) && !isCompared(node) && (families.has(familyOf(code)) || isCodePosition(node))) {
        const severity = statedSeverity(node);
        refs.push({ code, file, line: lineOf(node), ...(severity && { severity }) });
      }
    } else if (ts.isTemplateExpression(node)) {
      const head = node.head.text;
      if (/^[A-Z][A-Z0-9]*_/.test(head) && (families.has(familyOf(head)) || isCodePosition(node)) && !isCompared(node)) {
        dynamic.push({ text: node.getText(sf), file, line: lineOf(node) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { refs, dynamic };
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Scans every .ts file under `root` except the files in `skip` (paths relative to `base`, with '/'). */
export function scanTree(base: string, root: string, families: ReadonlySet<string>, skip: readonly string[] = []): ScanResult {
  const refs: CodeRef[] = [];
  const dynamic: DynamicCode[] = [];
  for (const abs of tsFiles(join(base, root))) {
    const rel = relative(base, abs).split(sep).join('/');
    if (skip.includes(rel)) continue;
    const r = scanSource(readFileSync(abs, 'utf8'), rel, families);
    refs.push(...r.refs);
    dynamic.push(...r.dynamic);
  }
  return { refs, dynamic };
}
