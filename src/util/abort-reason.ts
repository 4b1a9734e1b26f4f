/** Why an AbortSignal stopped something, for messages. */

/** The reason's message ("interrupted by SIGINT") when it is an Error of its own, else `fallback`. */
export function abortReason(signal: AbortSignal | undefined, fallback = 'stopped'): string {
  const reason: unknown = signal?.reason;
  return reason instanceof Error && reason.name !== 'AbortError' ? reason.message : fallback;
}
