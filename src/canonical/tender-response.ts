// tender.response@1 — a carrier's answer to one of our load tenders (X12 990, or CSV/XML).
import { z } from 'zod';
import { CommandId, RawCode, Scac, Text, eventEnvelope, referencesRequiring } from './common.js';

export const TENDER_RESPONSE_V1 = 'tender.response@1';

/** X12 B104 (558): A accepted, D/E declined, B conditionally accepted, C counter proposal. */
export const TenderDecision = z
  .enum(['accepted', 'declined', 'conditionally_accepted', 'counter_proposed'])
  .meta({ id: 'TenderDecision', description: 'The carrier\'s decision on the tender (X12 B104).' });
export type TenderDecision = z.infer<typeof TenderDecision>;

export const DeclineReason = z
  .enum([
    'no_capacity',
    'no_equipment',
    'rate',
    'lane_not_served',
    'cannot_meet_schedule',
    'insufficient_lead_time',
    'hazmat_not_accepted',
    'weight_or_dimensions',
    'other',
  ])
  .meta({ id: 'DeclineReason', description: 'Canonical reason a tender was declined (X12 B106 in 5010; K1/V9 text in 4010).' });
export type DeclineReason = z.infer<typeof DeclineReason>;

export const TenderResponseV1 = z
  .object({
    ...eventEnvelope(TENDER_RESPONSE_V1),
    references: referencesRequiring('shipmentId').describe(
      'shipmentId is the tendered shipment id the carrier echoes (X12 B102, else L11); proNumber is the carrier\'s reference (L11 "CN").',
    ),
    carrierScac: Scac.describe('Responding carrier (X12 B101).'),
    decision: TenderDecision,
    rawActionCode: RawCode.optional().describe('The partner\'s reservation action code (X12 B104).'),
    declineReason: z
      .object({
        code: DeclineReason,
        rawCode: RawCode.optional().describe('The partner\'s reason code (X12 B106).'),
        description: Text.optional(),
      })
      .optional()
      .describe('Why the tender was declined (or accepted only with conditions); should be present when declined.'),
    partialLoadsAllowed: z.boolean().optional().describe('X12 B105.'),
    tenderCommandId: CommandId.optional().describe(
      'The load.tender command this answers, when the ledger could correlate it (by shipmentId and partner).',
    ),
    notes: z.array(Text).optional(),
  })
  .meta({ title: TENDER_RESPONSE_V1, description: 'A carrier\'s response to a load tender (X12 990, CSV, XML).' });
export type TenderResponseV1 = z.infer<typeof TenderResponseV1>;
