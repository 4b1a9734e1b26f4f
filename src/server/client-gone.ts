/**
 * A request's interest in its answer, as an AbortSignal: aborted when its client goes away (the
 * connection closed) before the response was sent, so long work for it (a whole series' metrics)
 * can stop instead of going on for nobody.
 */
import type { FastifyReply } from 'fastify';
import { LowdoseError } from '../errors.js';

export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  // The response's close comes after it is sent too; only one closed before its end means the client left.
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new LowdoseError('E_CANCELLED', 'the client went away'));
  });
  return controller.signal;
}
