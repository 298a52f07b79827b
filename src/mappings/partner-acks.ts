// What a partner's acknowledgments are built with, apart from the clock and the control numbers: one
// answer for the gateway (pipeline/process-file.ts) and for `waybill test` (partner-tests.ts), so that
// the acknowledgment a partner test expects is the one the gateway sends.
import type { BuildAcksOptions } from '../translators/x12/acks/build.js';
import type { CompiledPartner } from './registry.js';

export function partnerAckOptions(partner: CompiledPartner): Pick<BuildAcksOptions, 'policy' | 'timezone' | 'sender' | 'suffix'> {
  const { acknowledgments: policy, ours, timezone, x12 } = partner.config;
  return {
    policy: { ta1: policy.ta1, functional: policy.functional, version: policy.version },
    // The zone the partner's own acknowledgments are read in (functional-ack.ts): times mean the same both ways.
    timezone,
    ...(ours && { sender: { qualifier: ours.isa.qualifier, id: ours.isa.id, applicationId: ours.gs ?? ours.isa.id } }),
    suffix: x12?.delimiters.lineEnding ?? '\n',
  };
}
