// Event jobs whose data is already JSON text. The outbox stores each canonical event as the JSON text the
// pipeline wrote once (JSON.stringify in process-file.ts); a plain BullMQ Queue would need it parsed back
// into an object only to stringify it again in Job.asJSON(), which cost more client CPU than everything
// else BullMQ does per job (bench/gateway.mjs). Here the text goes to Redis as it is: BullMQ stores the
// `data` string of asJSON() verbatim, so consumers read exactly what a Queue would have written for the
// parsed object.
//
// This relies on two BullMQ extension points: Queue's `Job` getter (the class addBulk instantiates, meant
// to be overridden) and Job.asJSON() (what is sent to Redis). test/queue/relay.redis.test.ts checks that
// a consumer gets the event object back.

import { Job, Queue, type JobJson } from 'bullmq';

/** A Job whose data is JSON text, sent to Redis without being parsed and serialized again. */
export class RawJsonJob extends Job<string> {
  override asJSON(): JobJson {
    const text = this.data;
    // Everything else as BullMQ builds it; data (serialized as "{}" meanwhile) is replaced by the text.
    this.data = undefined as unknown as string;
    try {
      return { ...super.asJSON(), data: text };
    } finally {
      this.data = text;
    }
  }
}

/**
 * A Queue for adding jobs whose `data` is JSON text (only what was produced by JSON.stringify: it is not
 * checked again here). Other Queue methods behave as usual.
 */
export class RawJsonQueue extends Queue<string> {
  protected override get Job(): typeof Job {
    return RawJsonJob as unknown as typeof Job;
  }
}
