// What the ledger keeps of a translated unit's events: each event's JSON and business-fact key, and the
// unit's references. Made on the thread that translated the unit: the gateway's XML worker thread
// (xml-worker.ts) sends these rather than the events, so that the JSON of an event with 100,000 charges is
// written there, not on the gateway's main thread.
import { hash } from 'node:crypto';
import type { CanonicalEvent, TranslatedUnit } from '../mappings/translate.js';

/**
 * A stable key for "the same business fact": same shipment, same status, same time; the same invoice; the
 * same verdict of a partner on the same group or interchange of ours (a 997 sent again under a new ISA13).
 */
export function factKey(partner: string, event: CanonicalEvent): string | undefined {
  const refs = (event.references ?? {}) as Record<string, unknown>;
  const shipment = refs.proNumber ?? refs.shipmentId ?? refs.bolNumber;
  let parts: unknown[] | null = null;
  if (event.type === 'shipment.status@1' && shipment) {
    const status = event.status as { milestone?: string; rawStatusCode?: string } | undefined;
    parts = [partner, event.type, shipment, status?.milestone, status?.rawStatusCode, event.occurredAt];
  } else if (event.type === 'freight.invoice@1' && refs.invoiceNumber) {
    parts = [partner, event.type, refs.invoiceNumber, event.purpose, JSON.stringify(event.amountDue)];
  } else if (event.type === 'tender.response@1' && shipment) {
    parts = [partner, event.type, shipment, event.decision, event.occurredAt];
  } else if (event.type === 'functional.ack@1') {
    // The verdict itself, whatever envelope carried it: not the event's id, its source (file, ISA13 of the
    // acknowledgment) or the times it was made and received. Another verdict on the same group is news.
    const { kind: _kind, id: _id, source: _source, occurredAt: _occurredAt, receivedAt: _receivedAt, ...verdict } = event;
    parts = [partner, event.type, JSON.stringify(verdict)];
  }
  return parts ? hash('sha256', parts.map(String).join('\u0000'), 'hex') : undefined;
}

/** The references of a unit's events, merged (a later event's value wins): the unit row's `references`. */
export function referencesOf(events: readonly CanonicalEvent[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of events) Object.assign(out, e.references as Record<string, unknown> | undefined);
  return out;
}

/** An event as the outbox stores it, less the file and unit it belongs to. */
export interface EventRow {
  id: string;
  type: string;
  partner: string;
  /** The canonical event as JSON text. */
  payload: string;
  factKey: string | undefined;
}

/** A translated unit with its events as rows: what BatchWriter.addPrepared takes. */
export type PreparedUnit = Omit<TranslatedUnit, 'events'> & { events: EventRow[]; references: Record<string, unknown> };

export function eventRow(e: CanonicalEvent): EventRow {
  const partner = String(e.partner);
  return { id: e.id, type: e.type, partner, payload: JSON.stringify(e), factKey: factKey(partner, e) };
}

export function prepareUnit(u: TranslatedUnit): PreparedUnit {
  return { ...u, events: u.events.map(eventRow), references: referencesOf(u.events) };
}
