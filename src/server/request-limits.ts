/**
 * The refusal of a request over the server's pixel limit (ServerConfig.limits.imagePixels): 413
 * `E_USAGE` naming the request's size and the limit, thrown before any slice is read.
 */
import { LowdoseError } from '../errors.js';
import { withHttpStatus } from './http-errors.js';

function megapixels(n: number): string {
  return `${Math.round((n / 2 ** 20) * 10) / 10} M`;
}

/** Throws when `pixels` exceed `limit`; `what` says what holds them ("the figure would be 9000 x 9000 px,"), `advice` what to ask for instead. */
export function checkPixels(pixels: number, limit: number, what: string, advice: string): void {
  if (pixels <= limit) return;
  throw withHttpStatus(
    new LowdoseError('E_USAGE', `${what} ${megapixels(pixels)} pixels, more than the server's limit of ${megapixels(limit)} pixels per request; ${advice}`),
    413,
  );
}
