/**
 * multipart/related bodies (RFC 2387) as WADO-RS returns and STOW-RS expects them. One part is
 * one DICOM instance; WADO-RS is asked for one instance per request, so a body stays small.
 */
import { randomUUID } from 'node:crypto';
import { LowdoseError } from '../errors.js';

export interface MultipartPart {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** The boundary parameter of a Content-Type header, quoted or not. */
export function boundaryOf(contentType: string): string {
  const match = /(?:^|;)\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw new LowdoseError('E_MALFORMED', `multipart response without a boundary (Content-Type: ${contentType})`);
  return boundary;
}

export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new LowdoseError('E_MALFORMED', 'multipart body without its boundary');
  for (;;) {
    let start = at + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing delimiter "--"
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    // A part without headers starts with the blank line at once.
    const headerEnd = body[start] === 0x0d && body[start + 1] === 0x0a ? start - 2 : body.indexOf('\r\n\r\n', start);
    if (headerEnd < 0) throw new LowdoseError('E_TRUNCATED', 'multipart body ends inside a part\'s headers (connection closed early?)');
    const headers: Record<string, string> = {};
    for (const line of body.subarray(start, Math.max(start, headerEnd)).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyStart = headerEnd + 4;
    // A Content-Length, when given, is exact: the body may itself contain the boundary bytes.
    const declared = headers['content-length'] === undefined ? NaN : Number(headers['content-length']);
    let next: number;
    let bodyEnd: number;
    if (Number.isFinite(declared)) {
      bodyEnd = bodyStart + declared;
      next = body.indexOf(delimiter, bodyEnd);
    } else {
      next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), bodyStart);
      bodyEnd = next;
      if (next >= 0) next += 2;
    }
    if (next < 0 || bodyEnd > body.length) throw new LowdoseError('E_TRUNCATED', 'multipart body ends inside a part (connection closed early?)');
    parts.push({ headers, body: body.subarray(bodyStart, bodyEnd) });
    at = next;
  }
  return parts;
}

/** A STOW-RS request body: every instance as an application/dicom part. */
export function buildMultipart(instances: readonly Buffer[], type = 'application/dicom'): { body: Buffer; contentType: string } {
  const boundary = `lowdose-${randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const instance of instances) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\nContent-Length: ${instance.length}\r\n\r\n`), instance, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}
