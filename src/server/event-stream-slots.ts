/**
 * Slots for the job event streams (GET /api/jobs/:id/events, ./routes/jobs.ts): each open stream
 * holds a connection and a heartbeat timer until its job ends or its client closes it. At most
 * `limits.eventStreams` are open at once, all clients together, and at most
 * `limits.eventStreamsPerClient` from one client address, so one client opening many streams
 * cannot take every slot from the others.
 */
import { LowdoseError } from '../errors.js';
import { withHttpStatus } from './http-errors.js';

export interface EventStreamLimits {
  readonly eventStreams: number;
  readonly eventStreamsPerClient: number;
}

const READ_INSTEAD = 'close one, or read the job with GET /api/jobs/:id';

export class EventStreamSlots {
  private open = 0;
  private readonly byClient = new Map<string, number>();

  /** `limits` is read at each request (the limits a test or an embedding program sets). */
  constructor(private readonly limits: () => EventStreamLimits) {}

  /**
   * A slot for a stream of `client` (its address), or 429 E_USAGE when that client or the server
   * holds the most streams it may. Returns the slot's release (once; later calls do nothing).
   */
  take(client: string): () => void {
    const { eventStreams, eventStreamsPerClient } = this.limits();
    const held = this.byClient.get(client) ?? 0;
    if (held >= eventStreamsPerClient) {
      throw withHttpStatus(new LowdoseError('E_USAGE', `${held} job event streams are open from this client's address, the most this server keeps per client; ${READ_INSTEAD}`), 429);
    }
    if (this.open >= eventStreams) {
      throw withHttpStatus(new LowdoseError('E_USAGE', `${this.open} job event streams are open, the most this server keeps; ${READ_INSTEAD}`), 429);
    }
    this.open++;
    this.byClient.set(client, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left > 0) this.byClient.set(client, left);
      else this.byClient.delete(client);
    };
  }
}
