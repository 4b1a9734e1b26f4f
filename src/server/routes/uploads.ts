/**
 * POST /api/uploads: DICOM files as multipart/form-data. Each file is stored under a name of the
 * server's choosing (never the client's), then checked like `lowdose info` checks a file, in the
 * server's files thread (never on its event loop: ../plugins/data.ts); files
 * that are not usable DICOM images are refused with their reason, and an upload with none left is
 * an error. Limits: per file, per upload (count) and in total, and the free disk an upload must
 * leave (ServerConfig.limits.diskReserveBytes). A malformed multipart body is the
 * client's error (400).
 *
 * The client's file names are told back to the client (they are its own), never to the log: a
 * file name can be a patient's name. The log gets counts and error codes.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LowdoseError } from '../../errors.js';
import { makeOutputFolder } from '../../util/fs.js';
import type { UploadResponse } from '../api-types.js';
import { formatBytes } from '../../util/bytes.js';
import { CodeSample, countsByCodeText } from '../../util/code-sample.js';
import { diskFullError } from '../disk-room.js';
import { withLogMessage } from '../http-errors.js';
import { errorResponses, uploadResponse } from '../schemas.js';

class UploadTooLarge extends Error {
  readonly statusCode = 413;
  readonly code = 'FST_REQ_FILE_TOO_LARGE';
}

/** How often an upload looks at the disk's free space again (other uploads and jobs write too). */
const DISK_CHECK_BYTES = 64 * 1024 * 1024;

/** The disk's free bytes and the outputs promised on it to jobs not yet ended (JobOutputRoom.promisedNow). */
type DiskRoom = () => Promise<{ free: number; promised: { bytes: number; jobs: number } }>;

/**
 * Refuses (507 E_IO) an upload that would leave less than `reserve` bytes free on the work
 * folder's disk beside the outputs promised to the jobs queued or running (an upload that took
 * their room would fail them when they start or write): checked before the first byte is stored,
 * and again every DISK_CHECK_BYTES.
 */
function diskGuard(reserve: number, diskRoom: DiskRoom): { check(written: number, incoming: number): Promise<void> } {
  // At `checkedAt` bytes written, the disk had `room` bytes free above the reserve and the promises.
  let checkedAt = -Infinity;
  let room = 0;
  return {
    /** Before `incoming` more bytes are stored, `written` stored already. */
    async check(written, incoming) {
      const after = written + incoming;
      if (after - checkedAt < DISK_CHECK_BYTES && after <= checkedAt + room) return;
      const { free, promised } = await diskRoom();
      room = free - promised.bytes - reserve;
      checkedAt = written;
      if (incoming > room) throw diskFullError(free, reserve, 'the upload', promised.jobs > 0 ? promised : undefined);
    },
  };
}

/** "E_NOT_DICOM x2, E_TRUNCATED x1": what was refused, without the names. */
function codeCounts(rejected: ReadonlyArray<{ code: string }>): string {
  const counts = new Map<string, number>();
  for (const r of rejected) counts.set(r.code, (counts.get(r.code) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${code} x${n}`).join(', ');
}

/**
 * An error of the multipart parser (busboy): the body is not well-formed multipart. It is a plain
 * Error, unlike the file system's (which carry `syscall`) and fastify's (`statusCode`).
 */
function isMalformedMultipart(error: unknown): error is Error {
  if (!(error instanceof Error) || error instanceof LowdoseError || error instanceof UploadTooLarge) return false;
  const e = error as Error & { syscall?: unknown; statusCode?: unknown; code?: unknown };
  return e.syscall === undefined && e.statusCode === undefined && e.code === undefined && /multipart|boundary|part header|unexpected end/i.test(e.message);
}

/** The client's file name, for messages only: last path component, printable, short. */
function clientName(filename: string | undefined, n: number): string {
  const base = (filename ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 120);
  return clean || `file ${n}`;
}

/** Refused files whose reasons an upload with none kept names in its error (the rest are counted by code). */
const REASONS_NAMED = 3;

/** Non-file form fields an upload may carry (the route reads none of them). */
export const MAX_FIELDS = 16;

const uploads: FastifyPluginAsyncTypebox = async (app) => {
  const { limits, uploadDir } = app.config;
  await app.register(multipart, {
    limits: { fileSize: limits.fileBytes, files: limits.files, fields: MAX_FIELDS, parts: limits.files + MAX_FIELDS },
  });

  app.post('/api/uploads', { schema: { response: { 200: uploadResponse, ...errorResponses } } }, async (request): Promise<UploadResponse> => {
    if (!request.isMultipart()) {
      throw new LowdoseError('E_USAGE', 'send DICOM files as multipart/form-data (one or more file fields)');
    }
    const disk = diskGuard(limits.diskReserveBytes, () => app.jobOutputRoom.promisedNow());
    await disk.check(0, 0);
    const uploadId = randomBytes(9).toString('base64url');
    const dir = path.join(uploadDir, uploadId);
    await makeOutputFolder(dir);
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
            const stored = total;
            total += chunk.length;
            if (total > limits.totalBytes) callback(new UploadTooLarge(`the upload is larger than the ${formatBytes(limits.totalBytes)} limit`));
            else disk.check(stored, chunk.length).then(() => callback(null, chunk), callback);
          },
        });
        await pipeline(part.file, meter, createWriteStream(target));
        if (part.file.truncated) {
          const limit = `the ${formatBytes(limits.fileBytes)} limit per file`;
          throw withLogMessage(new UploadTooLarge(`"${name}" is larger than ${limit}`), `file ${count} of the upload is larger than ${limit}`);
        }
        // Read in the files thread, never on the event loop (a hostile header takes that thread's
        // time, not the other requests' answers).
        const problem = await app.data.checkFile(target);
        if (problem === null) {
          kept++;
        } else {
          if (problem.code === 'E_CANCELLED') throw problem;
          rejected.push({ name, code: problem.code, message: problem.message.split(target).join(`"${name}"`) });
          await rm(target, { force: true });
        }
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      const code = (error as { code?: string }).code;
      if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') {
        throw new UploadTooLarge(`an upload may hold at most ${limits.files} files`);
      }
      if (code === 'FST_FIELDS_LIMIT') {
        throw new UploadTooLarge(`an upload may hold at most ${MAX_FIELDS} form fields besides its files`);
      }
      if (code === 'FST_REQ_FILE_TOO_LARGE' && !(error instanceof UploadTooLarge)) {
        throw new UploadTooLarge(`a file is larger than the ${formatBytes(limits.fileBytes)} limit per file`);
      }
      if (isMalformedMultipart(error)) {
        throw new LowdoseError('E_USAGE', `the upload is not well-formed multipart/form-data (${error.message.replace(/^Multipart: /, '').toLowerCase()})`);
      }
      throw error;
    }
    if (kept === 0) {
      await rm(dir, { recursive: true, force: true });
      if (count === 0) throw new LowdoseError('E_USAGE', 'the upload holds no files');
      // The first few reasons and the count of the rest by code: 4000 refused files make a message of a line, not of pages.
      const more = rejected.length - REASONS_NAMED;
      const byCode = countsByCodeText(CodeSample.of(rejected).byCode());
      const reasons = rejected.slice(0, REASONS_NAMED).map((r) => r.message).join('; ') + (more > 0 ? `; and ${more} more (${byCode} in all)` : '');
      const code = rejected.every((r) => r.code === rejected[0]!.code) ? rejected[0]!.code : 'E_NOT_DICOM';
      throw withLogMessage(
        new LowdoseError(code as LowdoseError['code'], `none of the ${count} uploaded file(s) is a DICOM image lowdose can read: ${reasons}`),
        `none of the ${count} uploaded file(s) kept: ${codeCounts(rejected)}`,
      );
    }
    if (rejected.length > 0) request.log.info({ uploadId, kept, refused: rejected.length }, `upload refused ${rejected.length} of ${count} file(s): ${codeCounts(rejected)}`);
    const before = app.data.index.sliceCounts();
    const keys = [...new Set(await app.data.index.add([dir]))];
    const series = app.data.index.summariesOf(keys);
    // Series the index already held whole (the same files uploaded again): named, so the viewer
    // can say so and open them rather than report nothing new.
    const after = app.data.index.sliceCounts();
    const alreadyLoaded = app.data.index.summariesOf(keys.filter((key) => before.has(key) && before.get(key) === after.get(key))).map((s) => s.id);
    return { uploadId, files: kept, series, alreadyLoaded, rejected };
  });
};

export default uploads;
