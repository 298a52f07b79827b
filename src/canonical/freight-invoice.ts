// freight.invoice@1 — a freight invoice.
// Two kinds share one body:
// - kind "event":   an invoice a carrier sent us (X12 210, CSV, XML);
// - kind "command": an invoice the ERP asks Waybill to send to a partner (rendered to X12 210, CSV, XML).
// The command is held to a stricter standard than the event: its charges must add up to amountDue
// exactly. An inbound invoice is recorded as the partner sent it; whether it adds up is the ERP's call.
import { z } from 'zod';
import {
  CalendarDate,
  Charge,
  Equipment,
  LadingLine,
  Money,
  Party,
  PaymentMethod,
  Quantity,
  RawCode,
  Scac,
  Stop,
  Text,
  Weight,
  checkStopSequences,
  commandEnvelope,
  compareDecimals,
  eventEnvelope,
  isDecimal,
  referencesRequiring,
  sumDecimals,
} from './common.js';

export const FREIGHT_INVOICE_V1 = 'freight.invoice@1';

export const InvoicePurpose = z
  .enum(['original', 'correction', 'cancellation'])
  .meta({ id: 'InvoicePurpose', description: 'Original invoice, a corrected re-issue, or a cancellation (X12 B2A01 / B308).' });
export type InvoicePurpose = z.infer<typeof InvoicePurpose>;

const invoiceBody = {
  references: referencesRequiring('invoiceNumber'),
  purpose: InvoicePurpose,
  invoiceDate: CalendarDate.describe('Invoice date (X12 B306).'),
  dueDate: CalendarDate.optional(),
  carrierScac: Scac.describe('Invoicing carrier (X12 B311).'),
  paymentMethod: PaymentMethod,
  rawPaymentMethodCode: RawCode.optional().describe('The partner\'s method of payment code (X12 B304).'),
  shippedOn: CalendarDate.optional(),
  deliveredOn: CalendarDate.optional().describe('Delivery date (X12 B309 with B310 "035").'),
  parties: z.array(Party).describe('Shipper, consignee, bill-to, remit-to, ... (X12 N1 loops).'),
  stops: z.array(Stop).optional().describe('Stops, when the invoice lists them (X12 S5 loop).'),
  equipment: z.array(Equipment).optional(),
  lineItems: z.array(LadingLine).optional().describe('What was shipped (X12 LX with L5/L0).'),
  charges: z.array(Charge).min(1).describe('Every charge and allowance (X12 L1); discounts are negative.'),
  totalWeight: Weight.optional().describe('X12 L301/L312.'),
  totalQuantity: Quantity.optional().describe('X12 L311.'),
  amountDue: Money.describe('Net amount due (X12 B307, implied decimals converted exactly).'),
  notes: z.array(Text).optional(),
};

type InvoiceLike = {
  charges: { code: string; amount: { amount: string; currency: string } }[];
  amountDue: { amount: string; currency: string };
  stops?: z.infer<typeof Stop>[];
};

function checkInvoice(inv: InvoiceLike, ctx: z.RefinementCtx, requireSum: boolean): void {
  const currency = inv.amountDue.currency;
  inv.charges.forEach((c, i) => {
    if (c.amount.currency !== currency) {
      ctx.addIssue({
        code: 'custom',
        path: ['charges', i, 'amount', 'currency'],
        message: `charge currency ${c.amount.currency} differs from amountDue currency ${currency}`,
      });
    }
    if (c.code === 'discount' && isDecimal(c.amount.amount) && compareDecimals(c.amount.amount, '0') > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['charges', i, 'amount', 'amount'],
        message: 'a discount is a negative amount',
      });
    }
  });
  checkStopSequences(inv.stops, 'stops', ctx);
  const amounts = inv.charges.map((c) => c.amount.amount);
  if (requireSum && amounts.every(isDecimal) && isDecimal(inv.amountDue.amount)) {
    const total = sumDecimals(amounts);
    if (compareDecimals(total, inv.amountDue.amount) !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['amountDue', 'amount'],
        message: `charges add up to ${total}, not ${inv.amountDue.amount}`,
      });
    }
  }
}

export const FreightInvoiceEventV1 = z
  .object({
    ...eventEnvelope(FREIGHT_INVOICE_V1),
    ...invoiceBody,
  })
  .superRefine((inv, ctx) => checkInvoice(inv, ctx, false))
  .meta({ title: `${FREIGHT_INVOICE_V1} (event)`, description: 'A freight invoice received from a partner (X12 210, CSV, XML).' });
export type FreightInvoiceEventV1 = z.infer<typeof FreightInvoiceEventV1>;

export const FreightInvoiceCommandV1 = z
  .object({
    ...commandEnvelope(FREIGHT_INVOICE_V1),
    ...invoiceBody,
  })
  .superRefine((inv, ctx) => checkInvoice(inv, ctx, true))
  .meta({
    title: `${FREIGHT_INVOICE_V1} (command)`,
    description: 'A freight invoice the ERP asks Waybill to send to a partner; charges must add up to amountDue.',
  });
export type FreightInvoiceCommandV1 = z.infer<typeof FreightInvoiceCommandV1>;

export const FreightInvoiceV1 = z
  .discriminatedUnion('kind', [FreightInvoiceEventV1, FreightInvoiceCommandV1])
  .meta({
    title: FREIGHT_INVOICE_V1,
    description: 'A freight invoice: kind "event" when received from a partner, kind "command" when the ERP sends one.',
  });
export type FreightInvoiceV1 = z.infer<typeof FreightInvoiceV1>;
