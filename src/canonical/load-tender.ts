// load.tender@1 — a command from the ERP: offer a load to a carrier (rendered to X12 204, CSV, XML).
// purpose "original" offers it, "change" replaces the whole tender (send the full tender again, not a
// delta), "cancel" withdraws it. The carrier answers with a tender.response@1 for the same shipmentId.
import { z } from 'zod';
import {
  Charge,
  Equipment,
  LadingLine,
  Money,
  Party,
  PaymentMethod,
  Quantity,
  Scac,
  Stop,
  Text,
  Timestamp,
  Weight,
  checkStopSequences,
  commandEnvelope,
  compareDecimals,
  isDecimal,
  referencesRequiring,
  sumDecimals,
} from './common.js';

export const LOAD_TENDER_V1 = 'load.tender@1';

export const TenderPurpose = z
  .enum(['original', 'change', 'cancel'])
  .meta({ id: 'TenderPurpose', description: 'Original tender, a full replacement, or a cancellation (X12 B2A01: 00, 04, 01).' });
export type TenderPurpose = z.infer<typeof TenderPurpose>;

const PICKUP_REASONS = new Set(['load', 'partial_load', 'hook_trailer']);
const DELIVERY_REASONS = new Set(['unload', 'partial_unload', 'drop_trailer']);

export const LoadTenderV1 = z
  .object({
    ...commandEnvelope(LOAD_TENDER_V1),
    references: referencesRequiring('shipmentId').describe(
      'shipmentId is the tender\'s shipment id (X12 B204); the carrier echoes it in its 990.',
    ),
    purpose: TenderPurpose,
    carrierScac: Scac.describe('The carrier the load is tendered to (X12 B202).'),
    paymentMethod: PaymentMethod.describe('X12 B206.'),
    respondBy: Timestamp.optional().describe('Answer wanted by (X12 G62 "64").'),
    parties: z.array(Party).describe('Shipper, consignee, bill-to, ... (X12 0100 N1 loops).'),
    equipment: z.array(Equipment).optional().describe('Required equipment (X12 N7).'),
    stops: z
      .array(Stop)
      .describe('Stops in order (X12 S5 loops); at least one pick-up and one delivery unless purpose is cancel.'),
    lineItems: z.array(LadingLine).optional(),
    totalWeight: Weight.optional().describe('X12 L301/L312.'),
    totalQuantity: Quantity.optional().describe('X12 L311.'),
    charges: z.array(Charge).optional().describe('Agreed rate, by charge.'),
    totalCharge: Money.optional().describe('Total agreed charge (X12 L305); equals the sum of charges when both are given.'),
    notes: z.array(Text).optional().describe('Instructions (X12 NTE).'),
  })
  .superRefine((t, ctx) => {
    checkStopSequences(t.stops, 'stops', ctx);
    if (t.purpose !== 'cancel') {
      if (!t.stops.some((s) => PICKUP_REASONS.has(s.reason))) {
        ctx.addIssue({ code: 'custom', path: ['stops'], message: 'a tender needs at least one pick-up stop (load, partial_load, hook_trailer)' });
      }
      if (!t.stops.some((s) => DELIVERY_REASONS.has(s.reason))) {
        ctx.addIssue({
          code: 'custom',
          path: ['stops'],
          message: 'a tender needs at least one delivery stop (unload, partial_unload, drop_trailer)',
        });
      }
    }
    const total = t.totalCharge;
    if (total !== undefined && t.charges !== undefined && t.charges.length > 0) {
      t.charges.forEach((c, i) => {
        if (c.amount.currency !== total.currency) {
          ctx.addIssue({
            code: 'custom',
            path: ['charges', i, 'amount', 'currency'],
            message: `charge currency ${c.amount.currency} differs from totalCharge currency ${total.currency}`,
          });
        }
      });
      const amounts = t.charges.map((c) => c.amount.amount);
      if (amounts.every(isDecimal) && isDecimal(total.amount)) {
        const sum = sumDecimals(amounts);
        if (compareDecimals(sum, total.amount) !== 0) {
          ctx.addIssue({ code: 'custom', path: ['totalCharge', 'amount'], message: `charges add up to ${sum}, not ${total.amount}` });
        }
      }
    }
  })
  .meta({ title: LOAD_TENDER_V1, description: 'A load tender the ERP asks Waybill to send to a carrier (X12 204, CSV, XML).' });
export type LoadTenderV1 = z.infer<typeof LoadTenderV1>;
