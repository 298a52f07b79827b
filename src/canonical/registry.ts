// The catalogue: every published schema, keyed by `<type>@<version>`. Published entries are never
// removed or changed incompatibly; a breaking change adds a new key (e.g. "shipment.status@2").
import type { z } from 'zod';
import { FREIGHT_INVOICE_V1, FreightInvoiceV1 } from './freight-invoice.js';
import { FUNCTIONAL_ACK_V1, FunctionalAckV1 } from './functional-ack.js';
import { LOAD_TENDER_V1, LoadTenderV1 } from './load-tender.js';
import { SHIPMENT_STATUS_V1, ShipmentStatusV1 } from './shipment-status.js';
import { TENDER_RESPONSE_V1, TenderResponseV1 } from './tender-response.js';

export const schemas = {
  [SHIPMENT_STATUS_V1]: ShipmentStatusV1,
  [FREIGHT_INVOICE_V1]: FreightInvoiceV1,
  [TENDER_RESPONSE_V1]: TenderResponseV1,
  [LOAD_TENDER_V1]: LoadTenderV1,
  [FUNCTIONAL_ACK_V1]: FunctionalAckV1,
} as const;

/** A registered `<type>@<version>` string, e.g. "shipment.status@1". */
export type TypeKey = keyof typeof schemas;

/** Any canonical event or command. Narrow on `type` (and on `kind` for freight.invoice@1). */
export type CanonicalMessage = { [K in TypeKey]: z.infer<(typeof schemas)[K]> }[TypeKey];

/** The message of one registered type. */
export type MessageOf<K extends TypeKey> = z.infer<(typeof schemas)[K]>;

export interface CatalogueEntry {
  type: TypeKey;
  name: string;
  version: number;
  kinds: readonly ('event' | 'command')[];
  summary: string;
}

export const catalogue: readonly CatalogueEntry[] = [
  {
    type: SHIPMENT_STATUS_V1,
    name: 'shipment.status',
    version: 1,
    kinds: ['event'],
    summary: 'Carrier shipment status (X12 214, CSV, XML): milestone, reason, location, equipment.',
  },
  {
    type: FREIGHT_INVOICE_V1,
    name: 'freight.invoice',
    version: 1,
    kinds: ['event', 'command'],
    summary: 'Freight invoice received (X12 210, CSV, XML) or sent on the ERP\'s behalf.',
  },
  {
    type: TENDER_RESPONSE_V1,
    name: 'tender.response',
    version: 1,
    kinds: ['event'],
    summary: 'Carrier response to a load tender (X12 990): accepted, declined with reason, ...',
  },
  {
    type: LOAD_TENDER_V1,
    name: 'load.tender',
    version: 1,
    kinds: ['command'],
    summary: 'Load tender to a carrier (rendered to X12 204, CSV, XML): original, change or cancel.',
  },
  {
    type: FUNCTIONAL_ACK_V1,
    name: 'functional.ack',
    version: 1,
    kinds: ['event'],
    summary: 'Partner acknowledgment (997/999/TA1) of our transactions: accepted or rejected, and why.',
  },
];

export function isTypeKey(value: unknown): value is TypeKey {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(schemas, value);
}

/** Splits "shipment.status@1" into name and version; undefined when the string is not of that form. */
export function splitType(type: string): { name: string; version: number } | undefined {
  const m = /^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)@([1-9][0-9]*)$/.exec(type);
  return m ? { name: m[1], version: Number(m[2]) } : undefined;
}
