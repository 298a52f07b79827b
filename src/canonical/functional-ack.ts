// functional.ack@1 — a partner's acknowledgment of something we sent: a 997 or 999 (per functional group,
// with one entry per acknowledged transaction set) or a TA1 (per interchange). It says which of our
// transactions were accepted or rejected and why. One event per AK1 group (997/999) or per TA1.
import { z } from 'zod';
import { CommandId, RawCode, Text, eventEnvelope } from './common.js';

export const FUNCTIONAL_ACK_V1 = 'functional.ack@1';

/** X12 717/715/TA104: A accepted, E accepted with errors, P partially accepted, M/R/W/X rejected. */
export const AckStatus = z
  .enum(['accepted', 'accepted_with_errors', 'partially_accepted', 'rejected'])
  .meta({ id: 'AckStatus', description: 'Canonical acknowledgment status (X12 AK501/IK501, AK901, TA104).' });
export type AckStatus = z.infer<typeof AckStatus>;

export const AckError = z
  .object({
    level: z.enum(['interchange', 'group', 'transaction', 'segment', 'element']),
    code: RawCode.describe('The error code as sent: TA105, AK905-909, AK502-506/IK502-506, AK304/IK304, AK403/IK403.'),
    description: Text.optional().describe('What the code means, in words.'),
    segmentId: z.string().regex(/^[A-Z0-9]{2,3}$/).optional().describe('AK301/IK301.'),
    segmentPosition: z.int().min(1).optional().describe('Position of the segment in the transaction set, ST = 1 (AK302/IK302).'),
    loopId: z.string().min(1).max(6).optional().describe('AK303/IK303.'),
    elementPosition: z.int().min(1).optional().describe('AK401-1/IK401-1.'),
    componentPosition: z.int().min(1).optional().describe('AK401-2/IK401-2.'),
    repetitionPosition: z.int().min(1).optional().describe('AK401-3/IK401-3.'),
    elementReference: z.string().min(1).max(4).optional().describe('Data element reference number (AK402/IK402).'),
    badValue: z.string().max(99).optional().describe('Copy of the bad data element (AK404/IK404).'),
    context: z.array(Text).optional().describe('999 CTX contexts, verbatim.'),
  })
  .meta({ id: 'AckError', description: 'One error reported in an acknowledgment, at its level, with its location.' });
export type AckError = z.infer<typeof AckError>;

export const AckTransaction = z
  .object({
    transactionSetId: z.string().regex(/^[0-9]{3}$/, { error: 'must be a transaction set id such as "204"' }).describe('AK201.'),
    controlNumber: z.string().min(1).max(9).describe('Our ST02 (AK202).'),
    implementationReference: z.string().min(1).max(35).optional().describe('AK203 (ST03).'),
    status: AckStatus.exclude(['partially_accepted']),
    rawStatusCode: RawCode.describe('AK501/IK501 as sent.'),
    errors: z.array(AckError),
    commandId: CommandId.optional().describe('The command that produced this transaction, when the ledger knows it.'),
  })
  .meta({ id: 'AckTransaction', description: 'The verdict on one of our transaction sets (997 AK2..AK5, 999 AK2..IK5).' });
export type AckTransaction = z.infer<typeof AckTransaction>;

const GroupAck = z.object({
  ...eventEnvelope(FUNCTIONAL_ACK_V1),
  ackType: z.literal(['997', '999']),
  group: z
    .object({
      functionalId: z.string().regex(/^[A-Z]{2}$/).describe('AK101, e.g. "SM" for 204s.'),
      controlNumber: z.string().regex(/^[0-9]{1,9}$/).describe('Our GS06 (AK102).'),
      version: z.string().min(1).max(12).optional().describe('AK103 (5010 on).'),
    })
    .describe('The functional group of ours that is acknowledged.'),
  interchangeControlNumber: z
    .string()
    .regex(/^[0-9]{1,9}$/)
    .optional()
    .describe('Our ISA13 that carried the group, when the ledger knows it.'),
  status: AckStatus.describe('Verdict on the whole group (AK901).'),
  rawStatusCode: RawCode.describe('AK901 as sent.'),
  counts: z
    .object({
      included: z.int().min(0).describe('AK902'),
      received: z.int().min(0).describe('AK903'),
      accepted: z.int().min(0).describe('AK904'),
    })
    .optional(),
  errors: z.array(AckError).describe('Group-level errors (AK905-AK909).'),
  transactions: z
    .array(AckTransaction)
    .describe('One entry per AK2; may be empty when the whole group is accepted (AK2 loops are optional then).'),
}).meta({ title: `${FUNCTIONAL_ACK_V1} (997/999)`, description: 'Acknowledgment of one of our functional groups.' });

const InterchangeAck = z.object({
  ...eventEnvelope(FUNCTIONAL_ACK_V1),
  ackType: z.literal('TA1'),
  interchangeControlNumber: z.string().regex(/^[0-9]{1,9}$/).describe('Our ISA13 (TA101).'),
  interchangeDate: z.string().regex(/^[0-9]{6}$/).optional().describe('TA102 as sent (YYMMDD).'),
  interchangeTime: z.string().regex(/^[0-9]{4}$/).optional().describe('TA103 as sent (HHMM).'),
  status: AckStatus.exclude(['partially_accepted']).describe('TA104.'),
  rawStatusCode: RawCode.describe('TA104 as sent.'),
  errors: z.array(AckError).describe('The TA105 note when it is not "000".'),
}).meta({ title: `${FUNCTIONAL_ACK_V1} (TA1)`, description: 'Acknowledgment of one of our interchanges.' });

export const FunctionalAckV1 = z
  .discriminatedUnion('ackType', [GroupAck, InterchangeAck])
  .superRefine((ack, ctx) => {
    if (ack.ackType === 'TA1') return;
    const rejected = ack.transactions.filter((t) => t.status === 'rejected').length;
    if (ack.status === 'accepted' && rejected > 0) {
      ctx.addIssue({ code: 'custom', path: ['status'], message: `group status is accepted but ${rejected} transaction(s) are rejected` });
    }
    if (ack.counts && ack.counts.accepted > ack.counts.received) {
      ctx.addIssue({ code: 'custom', path: ['counts', 'accepted'], message: 'more transactions accepted than received' });
    }
  })
  .meta({
    title: FUNCTIONAL_ACK_V1,
    description: 'A partner\'s acknowledgment of our interchange (TA1) or functional group (997/999), transaction by transaction.',
  });
export type FunctionalAckV1 = z.infer<typeof FunctionalAckV1>;
