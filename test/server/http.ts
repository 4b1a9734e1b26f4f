/** Small helpers for driving the app with `inject`: multipart bodies and server-sent event streams. */
import type { JobView } from '../../src/server/api-types.js';

export function multipart(files: Array<{ name: string; data: Uint8Array | string }>): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----lowdose-test-${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${file.name}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      typeof file.data === 'string' ? Buffer.from(file.data) : Buffer.from(file.data),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** The `event: job` payloads of an SSE stream, in order. */
export function jobEvents(stream: string): JobView[] {
  return stream
    .split('\n\n')
    .filter((block) => block.includes('event: job'))
    .map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as JobView);
}
