/**
 * POST /api/uploads: DICOM files as multipart/form-data. Each file is stored under a name of the
 * server's choosing (never the client's), then checked like `lowdose info` checks a file; files
 * that are not usable DICOM images are refused with their reason, and an upload with none left is
 * an error. Limits: per file, per upload (count) and in total.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsync } from 'fastify';
import { readInstanceHeader } from '../../dicom/index.js';
import { LowdoseError, toLowdoseError } from '../../errors.js';
import type { UploadResponse } from '../api-types.js';
import { errorResponses, uploadResponse } from '../schemas.js';

class UploadTooLarge extends Error {
  readonly statusCode = 413;
  readonly code = 'FST_REQ_FILE_TOO_LARGE';
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Math.round(value * 10) / 10} ${units[unit]}`;
}

/** The client's file name, for messages only: last path component, printable, short. */
function clientName(filename: string | undefined, n: number): string {
  const base = (filename ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 120);
  return clean || `file ${n}`;
}

const uploads: FastifyPluginAsync = async (app) => {
  const { limits, uploadDir } = app.config;
  await app.register(multipart, {
    limits: { fileSize: limits.fileBytes, files: limits.files, fields: 16, parts: limits.files + 16 },
  });

  app.post('/api/uploads', { schema: { response: { 200: uploadResponse, ...errorResponses } } }, async (request): Promise<UploadResponse> => {
    if (!request.isMultipart()) {
      throw new LowdoseError('E_USAGE', 'send DICOM files as multipart/form-data (one or more file fields)');
    }
    const uploadId = randomBytes(9).toString('base64url');
    const dir = path.join(uploadDir, uploadId);
    await mkdir(dir, { recursive: true });
    const rejected: Array<{ name: string; code: string; message: string }> = [];
    let count = 0;
    let kept = 0;
    let total = 0;
    try {
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        count++;
        const name = clientName(part.filename, count);
        const target = path.join(dir, `${String(count).padStart(5, '0')}.dcm`);
        const meter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            total += chunk.length;
            if (total > limits.totalBytes) callback(new UploadTooLarge(`the upload is larger than the ${formatBytes(limits.totalBytes)} limit`));
            else callback(null, chunk);
          },
        });
        await pipeline(part.file, meter, createWriteStream(target));
        if (part.file.truncated) {
          throw new UploadTooLarge(`"${name}" is larger than the ${formatBytes(limits.fileBytes)} limit per file`);
        }
        try {
          await readInstanceHeader(target);
          kept++;
        } catch (error) {
          const e = toLowdoseError(error, 'E_NOT_DICOM');
          rejected.push({ name, code: e.code, message: e.message.split(target).join(`"${name}"`) });
          await rm(target, { force: true });
        }
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      const code = (error as { code?: string }).code;
      if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') {
        throw new UploadTooLarge(`an upload may hold at most ${limits.files} files`);
      }
      if (code === 'FST_REQ_FILE_TOO_LARGE' && !(error instanceof UploadTooLarge)) {
        throw new UploadTooLarge(`a file is larger than the ${formatBytes(limits.fileBytes)} limit per file`);
      }
      throw error;
    }
    if (kept === 0) {
      await rm(dir, { recursive: true, force: true });
      if (count === 0) throw new LowdoseError('E_USAGE', 'the upload holds no files');
      const reasons = rejected.map((r) => r.message).join('; ');
      const code = rejected.every((r) => r.code === rejected[0]!.code) ? rejected[0]!.code : 'E_NOT_DICOM';
      throw new LowdoseError(
        code as LowdoseError['code'],
        `none of the ${count} uploaded file(s) is a DICOM image lowdose can read: ${reasons}`,
      );
    }
    await app.data.index.refresh();
    return { uploadId, files: kept, series: app.data.index.seriesUnder(dir), rejected };
  });
};

export default uploads;
