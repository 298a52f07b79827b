// The interchanges of the files this process is translating right now.
//
// An interchange is recorded in the ledger with its file's next batch (BatchWriter.noteInterchange), not
// when it is read: a write of its own per interchange waited behind the commits in flight. So two files
// translated at the same moment (translation.concurrency > 1) could each look in the ledger before the
// other had recorded anything: a duplicate (same sender + ISA13) went unnoticed, and an interchange
// reusing its partner's control numbers got the frozen ids of the other one, whose events then took
// them first (LEDGER_EVENT_ID_TAKEN: the later file's events were lost). Each file's interchanges are
// claimed here as they are read, and a file's claims are let go once its outcome has committed, so an
// interchange is always visible, here or in the ledger, to a file that looks after it was claimed.
//
// This covers one process. Gateways on several hosts sharing one ledger (the PostgreSQL ledger to come)
// need the same claim made in the ledger itself, in one transaction with the look-up.
import type { InterchangeSeen } from '../ledger/ledger.js';

export class InFlightInterchanges {
  /** By ISA13 (trimmed): the claims of every file in flight. */
  private readonly byControl = new Map<string, InterchangeSeen[]>();
  /** By file: the ISA13s it claimed, to let them go. */
  private readonly byFile = new Map<string, Set<string>>();

  /**
   * Claims an interchange for its file and returns the claims of other files with the same ISA13,
   * claimed before this one. Synchronous, check and claim together: of two files, whichever claims
   * second sees the first.
   */
  claim(seen: InterchangeSeen): InterchangeSeen[] {
    const list = this.byControl.get(seen.control) ?? [];
    const others = list.filter((c) => c.fileId !== seen.fileId);
    list.push({ ...seen });
    this.byControl.set(seen.control, list);
    const controls = this.byFile.get(seen.fileId) ?? new Set<string>();
    controls.add(seen.control);
    this.byFile.set(seen.fileId, controls);
    return others;
  }

  /**
   * Fills in the decision taken for a claim (InterchangeSeen.interchangeReuse), as the ledger will
   * record it: a file looking later sees the decision, as it would in the ledger.
   */
  decide(seen: InterchangeSeen): void {
    const list = this.byControl.get(seen.control) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i];
      if (c.fileId === seen.fileId && c.senderQualifier === seen.senderQualifier && c.senderId === seen.senderId) {
        c.interchangeReuse = seen.interchangeReuse ?? null;
        return;
      }
    }
  }

  /** Lets go of a file's claims: call once its interchanges are in the ledger, or it failed. */
  release(fileId: string): void {
    const controls = this.byFile.get(fileId);
    if (!controls) return;
    this.byFile.delete(fileId);
    for (const control of controls) {
      const kept = (this.byControl.get(control) ?? []).filter((c) => c.fileId !== fileId);
      if (kept.length > 0) this.byControl.set(control, kept);
      else this.byControl.delete(control);
    }
  }

  /** How many files hold claims (for tests). */
  get files(): number {
    return this.byFile.size;
  }
}
