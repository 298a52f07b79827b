// Built-in translation of inbound acknowledgments: a partner's 997/999 (one per acknowledged functional
// group) or TA1 (one per acknowledged interchange) becomes one functional.ack@1 event, without any partner
// mapping (analysts never map acknowledgments). The reading is done by parseFunctionalAck / parseTa1; this
// module only shapes their results into the canonical event (src/canonical/functional-ack.ts).

import { eventIdFromSource, parseAs, type AckError, type AckStatus } from '../canonical/index.js';
import type { AckedGroupStatus, AckedTransaction, AckSegmentError, CodeMeaning, FunctionalAckResult, Ta1Result } from '../translators/x12/acks/parse.js';
import { parseFunctionalAck, parseTa1 } from '../translators/x12/acks/parse.js';
import type { Delimiters, InterchangeHeader, Segment, TransactionSet, X12Issue } from '../translators/x12/model.js';
import type { CompiledPartner } from './registry.js';
import { TransformError, x12Date, x12Time, zonedIso } from './transforms.js';
import type { CanonicalEvent, TranslatedUnit, TranslateOptions, TranslationError } from './translate.js';

export const FUNCTIONAL_ACK_TYPE = 'functional.ack@1';

/** Transaction sets translated by the built-in (unless the partner routes them to a mapping of its own). */
export function isFunctionalAckSet(setId: string): boolean {
  return setId === '997' || setId === '999';
}

type Body = Record<string, unknown>;

function canonicalStatus(state: string): AckStatus | null {
  switch (state) {
    case 'accepted': return 'accepted';
    case 'accepted-with-errors': return 'accepted_with_errors';
    case 'partially-accepted': return 'partially_accepted';
    case 'rejected': return 'rejected';
    default: return null;
  }
}

function described(code: CodeMeaning | { code: string; meaning: string | null }): { code: string; description?: string } {
  return { code: code.code, ...(code.meaning !== null && code.meaning !== '' && { description: code.meaning }) };
}

/** The raw CTX segments of a 999, in file order (for AckError.context, which keeps them verbatim). */
function rawContexts(tx: TransactionSet, d: Delimiters): string[] {
  return tx.segments.filter((s) => s.id === 'CTX').map((s) => s.elements.join(d.element));
}

function segmentErrors(se: AckSegmentError, ctx: () => string | undefined): AckError[] {
  const where = {
    segmentId: se.segmentId,
    ...(se.position !== null && se.position >= 1 && { segmentPosition: se.position }),
  };
  const segCtx = se.context.map(() => ctx()).filter((c): c is string => c !== undefined);
  const out: AckError[] = [{
    level: 'segment', ...described(se), ...where, ...(se.loopId && { loopId: se.loopId }), ...(segCtx.length && { context: segCtx }),
  }];
  for (const el of se.elementErrors) {
    const elCtx = el.context.map(() => ctx()).filter((c): c is string => c !== undefined);
    out.push({
      level: 'element', ...described(el), ...where,
      ...(el.position !== null && el.position >= 1 && { elementPosition: el.position }),
      ...(el.component !== undefined && el.component >= 1 && { componentPosition: el.component }),
      ...(el.repetition !== undefined && el.repetition >= 1 && { repetitionPosition: el.repetition }),
      ...(el.ref !== undefined && { elementReference: el.ref }),
      ...(el.badValue !== undefined && { badValue: el.badValue }),
      ...(elCtx.length && { context: elCtx }),
    });
  }
  return out;
}

function transactionBody(t: AckedTransaction, ctx: () => string | undefined): Body {
  const errors: AckError[] = [];
  for (const se of t.segmentErrors) errors.push(...segmentErrors(se, ctx));
  for (const c of t.codes) errors.push({ level: 'transaction', ...described(c) });
  return {
    transactionSetId: t.setId,
    controlNumber: t.control,
    ...(t.implementationRef && { implementationReference: t.implementationRef }),
    status: canonicalStatus(t.state),
    rawStatusCode: t.statusCode,
    errors,
  };
}

function groupCounts(g: AckedGroupStatus): Body | undefined {
  return g.included !== null && g.received !== null && g.accepted !== null
    ? { included: g.included, received: g.received, accepted: g.accepted }
    : undefined;
}

/** The event body (everything but the gateway's envelope) of a parsed 997/999. */
export function functionalAckBody(result: FunctionalAckResult, tx: TransactionSet, delimiters: Delimiters): Body {
  const contexts = rawContexts(tx, delimiters);
  let next = 0;
  const ctx = () => contexts[next++];
  const g = result.groupStatus;
  const counts = g ? groupCounts(g) : undefined;
  return {
    ackType: result.type,
    group: result.group && {
      functionalId: result.group.functionalId,
      controlNumber: result.group.control,
      ...(result.group.version && { version: result.group.version }),
    },
    status: g ? canonicalStatus(g.state) : null,
    rawStatusCode: g?.code,
    ...(counts && { counts }),
    errors: (g?.codes ?? []).map((c) => ({ level: 'group' as const, ...described(c) })),
    transactions: result.transactions.map((t) => transactionBody(t, ctx)),
  };
}

/** The event body of a parsed TA1. */
export function ta1Body(result: Ta1Result): Body {
  const errors: AckError[] = result.noteCode !== '' && result.noteCode !== '000'
    ? [{ level: 'interchange', ...described({ code: result.noteCode, meaning: result.noteMeaning }) }]
    : [];
  return {
    ackType: 'TA1',
    interchangeControlNumber: result.control,
    ...(result.date && { interchangeDate: result.date }),
    ...(result.time && { interchangeTime: result.time }),
    status: canonicalStatus(result.state),
    rawStatusCode: result.statusCode,
    errors,
  };
}

// ---- whole units, as translateX12 yields them --------------------------------------------------

function fromIssue(i: X12Issue): TranslationError {
  return { code: i.code, severity: i.severity, message: i.message, line: i.loc.line, column: i.loc.column, offset: i.loc.offset };
}

/** When the acknowledgment was made: GS04/GS05 (997/999) or ISA09/ISA10 (TA1), in the partner's zone. */
function occurredAt(date: string, time: string, timezone: string): string | TranslationError {
  try {
    return zonedIso(x12Date(date.trim()), x12Time(time.trim()), timezone);
  } catch (err) {
    if (err instanceof TransformError) return { code: err.code, severity: 'error', message: `acknowledgment date/time: ${err.message}`, line: 1, column: 1 };
    throw err;
  }
}

function finish(unit: TranslatedUnit, candidate: Body): void {
  const parsed = parseAs('functional.ack@1', { kind: 'event', type: FUNCTIONAL_ACK_TYPE, references: {}, ...candidate });
  if (!parsed.ok) {
    unit.status = 'failed';
    unit.errors.push({
      code: 'MAP_CANONICAL_INVALID', severity: 'error', line: unit.line, column: 1,
      message: `the acknowledgment does not satisfy ${FUNCTIONAL_ACK_TYPE}: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    });
    return;
  }
  unit.events.push(parsed.value as unknown as CanonicalEvent);
}

/**
 * Translates a validated 997/999 transaction of a known partner into `unit` (one event, or the reasons
 * there is none: an acknowledgment that cannot be interpreted is `rejected`).
 */
export function translateFunctionalAck(tx: TransactionSet, partner: CompiledPartner, unit: TranslatedUnit, opts: TranslateOptions): TranslatedUnit {
  const delimiters = tx.interchange!.delimiters;
  const result = parseFunctionalAck(tx, delimiters);
  unit.errors.push(...result.problems.map(fromIssue));
  if (!result.valid) {
    unit.status = 'rejected';
    return unit;
  }
  const when = occurredAt(tx.group!.date, tx.group!.time, partner.config.timezone);
  if (typeof when !== 'string') {
    unit.status = 'rejected';
    unit.errors.push({ ...when, line: tx.group!.gs.loc.line, column: tx.group!.gs.loc.column });
    return unit;
  }
  const source = {
    format: 'x12' as const, fileId: opts.fileId, ...(opts.fileName && { fileName: opts.fileName }), index: 0,
    interchangeControlNumber: tx.interchange!.control.trim(), groupControlNumber: tx.group!.control.trim(), transactionControlNumber: tx.control,
    transactionSetId: tx.setId, version: tx.group!.version, line: unit.line,
  };
  finish(unit, {
    id: eventIdFromSource(partner.id, source, opts.interchangeReuse), partner: partner.id, occurredAt: when, receivedAt: opts.receivedAt, source,
    ...functionalAckBody(result, tx, delimiters),
  });
  return unit;
}

/**
 * A TA1 segment as a unit of its own. `index` is the TA1's position among the TA1s of its interchange
 * (0-based), so two TA1s in one interchange get different event ids.
 */
export function translateTa1(
  seg: Segment, interchange: InterchangeHeader | null, partner: CompiledPartner | undefined, identifyError: TranslationError | undefined,
  opts: TranslateOptions, index: number,
): TranslatedUnit {
  const isa13 = interchange?.control.trim() ?? '';
  const ta101 = (seg.elements[1] ?? '').trim();
  const unit: TranslatedUnit = {
    format: 'x12', partner: partner?.id, label: `TA1 ${ta101 || '?'} (interchange ${isa13 || '?'})`, line: seg.loc.line,
    status: 'translated', events: [], errors: [], x12: { interchange: isa13, group: '', setId: 'TA1', control: ta101 },
  };
  if (!interchange) {
    unit.status = 'rejected';
    unit.errors.push({ code: 'X12_ACK_MALFORMED', severity: 'error', message: 'a TA1 outside any interchange', line: seg.loc.line, column: seg.loc.column });
    return unit;
  }
  if (!partner) {
    unit.status = 'unidentified';
    if (identifyError) unit.errors.push(identifyError);
    return unit;
  }
  const result = parseTa1(seg, interchange.delimiters);
  unit.errors.push(...result.problems.map(fromIssue));
  if (!result.valid) {
    unit.status = 'rejected';
    return unit;
  }
  const when = occurredAt(interchange.date, interchange.time, partner.config.timezone);
  if (typeof when !== 'string') {
    unit.status = 'rejected';
    unit.errors.push({ ...when, line: interchange.isa.loc.line, column: interchange.isa.loc.column });
    return unit;
  }
  const source = {
    format: 'x12' as const, fileId: opts.fileId, ...(opts.fileName && { fileName: opts.fileName }), index,
    interchangeControlNumber: isa13, transactionSetId: 'TA1', line: unit.line,
  };
  finish(unit, {
    id: eventIdFromSource(partner.id, source, opts.interchangeReuse), partner: partner.id, occurredAt: when, receivedAt: opts.receivedAt, source,
    ...ta1Body(result),
  });
  return unit;
}
