/**
 * Receiving instances over DIMSE, for the C-STORE sub-operations of a C-GET (association.ts) and
 * for our C-MOVE storage SCP (store-scp.ts), with memory bounded by the PDU, not the instance:
 * - each PDU header is read as it arrives, and one announcing more than we take closes the
 *   connection before dcmjs-dimse gathers it (watchPduLengths);
 * - each data set fragment goes to the instance's temporary file as it arrives (after a Part 10
 *   meta header made from the C-STORE command), and while more than PAUSE_AT_BYTES wait for the
 *   disk the connection is not read (TCP holds the sender back);
 * - an instance past its size limit is cut off at once (the caller aborts the association);
 * - a complete instance whose header gives its SeriesInstanceUID is handed to the InstanceStore,
 *   which moves the file into place; any other, and any cut off by the connection, is removed.
 */
import type { Socket } from 'node:net';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { dicomParser } from '../dicom/dicom-parser.js';
import { MAX_DICOM_FILE_BYTES } from '../dicom/file-size.js';
import { part10FromDataset, type Part10Ids } from '../dicom/part10.js';
import { LowdoseError } from '../errors.js';

/** The largest P-DATA-TF we receive unless told otherwise: dcmjs-dimse's own default (256 KiB), which it asks for in its A-ASSOCIATE-RQ. */
export const DEFAULT_MAX_PDU_BYTES = 256 * 1024;
/**
 * The largest instance we keep unless told otherwise: the largest DICOM file lowdose reads whole, as
 * the DICOMweb client's bound (src/dicomweb/client.ts). Not a memory bound (an instance streams to
 * its file): a larger file is read frame by frame only where its pixel data allows it, and an
 * instance that cannot be would come whole before its read refused it (docs/pacs.md).
 */
export const DEFAULT_MAX_INSTANCE_BYTES = MAX_DICOM_FILE_BYTES;
/** PDU type of P-DATA-TF (PS3.8 9.3.5): the only one that carries instance bytes. */
export const P_DATA_TF = 0x04;
/** Any other PDU (association request or answer, release, abort) is far smaller: 128 presentation contexts fit many times over. */
export const MAX_CONTROL_PDU_BYTES = 64 * 1024;
/** Bytes of an instance that may wait for the disk before the connection stops being read. */
const PAUSE_AT_BYTES = 1024 * 1024;
/** How much of a received file's data set is read, at first and at most, to find its SeriesInstanceUID. */
const HEADER_READS = [256 * 1024, 16 * 1024 * 1024];
const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';

/** A received instance: its Part 10 file (a temporary: the store moves it, or it is removed). */
export interface ReceivedInstance extends Part10Ids {
  readonly seriesInstanceUid: string;
  /** The Part 10 file: meta header, then the data set exactly as sent in `transferSyntaxUid`. */
  readonly file: string;
}

/** Where received instances go. */
export interface InstanceStore {
  /** A new temporary file name for an instance on its way in, on the file system it is kept on. */
  temporaryFile(): string;
  /** Keeps a complete instance (moves its file into place); a rejection answers the sender with a failure and the file is removed. */
  keep(instance: ReceivedInstance): Promise<void>;
}

/** The C-STORE command and presentation context of an instance, as dcmjs-dimse gives them. */
export interface StoreCommand {
  getAffectedSopClassUid(): string;
  getAffectedSopInstanceUid(): string;
}
export interface AcceptedContext {
  getAcceptedTransferSyntaxUid(): string | undefined;
}

/**
 * Watches the PDU headers of a connection as they arrive (6 bytes: type, reserved, 32-bit
 * length; PS3.8 9.3.1) and calls `tooLong` at the first one whose length is over its limit. It
 * runs before dcmjs-dimse's own reader (a listener put first), which then gets no more than the
 * chunk at hand.
 */
export function watchPduLengths(socket: Socket, limitOf: (type: number) => number, tooLong: (type: number, length: number) => void): void {
  const header = Buffer.alloc(6);
  let headerBytes = 0;
  let bodyLeft = 0;
  let stopped = false;
  socket.prependListener('data', (chunk: Buffer) => {
    let at = 0;
    while (!stopped && at < chunk.length) {
      if (bodyLeft > 0) {
        const skip = Math.min(bodyLeft, chunk.length - at);
        bodyLeft -= skip;
        at += skip;
        continue;
      }
      const take = Math.min(6 - headerBytes, chunk.length - at);
      chunk.copy(header, headerBytes, at, at + take);
      headerBytes += take;
      at += take;
      if (headerBytes < 6) return;
      headerBytes = 0;
      const type = header.readUInt8(0);
      const length = header.readUInt32BE(2);
      if (length > limitOf(type)) {
        stopped = true;
        tooLong(type, length);
        return;
      }
      bodyLeft = length;
    }
  });
}

type Arrival = { complete: true; bytes: number } | { complete: false; error: Error | null };

/**
 * One instance's data set on its way to `file`, written after `head` (its Part 10 meta header).
 * dcmjs-dimse writes each fragment and ends it at the last one; `arrived` settles once the file is
 * closed: complete, or not (over `limit`, a write that failed, or `abandon` before the end), and
 * then the file is removed. write() always says "go on" (dcmjs-dimse, told to wait, would process
 * the PDUs after it first and reorder fragments); the connection is paused instead.
 */
class IncomingInstance extends Writable {
  readonly arrived: Promise<Arrival>;
  private settle!: (arrival: Arrival) => void;
  private handle: FileHandle | null = null;
  private received = 0;
  private over = false;
  private failed: Error | null = null;
  private paused = false;
  /** Set once the file is closed and complete: from then on nothing removes it here. */
  private completed = false;

  constructor(
    readonly file: string,
    private readonly head: Uint8Array,
    private readonly limit: number,
    private readonly socket: Socket,
    private readonly tooLarge: (received: number) => void,
    /** Read and dropped, no file made (the receiver was stopped): it arrives incomplete. */
    private readonly dropped = false,
  ) {
    super({ highWaterMark: PAUSE_AT_BYTES, autoDestroy: false });
    this.arrived = new Promise((resolve) => (this.settle = resolve));
    // Failures are said by `arrived`; a write after destroy() must not throw.
    this.on('error', () => {});
  }

  override _construct(callback: (error?: Error | null) => void): void {
    if (this.dropped) return callback();
    void (async () => {
      try {
        this.handle = await open(this.file, 'wx', 0o600);
        await writeAll(this.handle, this.head);
      } catch (error) {
        this.failed ??= error as Error;
      }
      callback();
    })();
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const below = super.write(chunk, encoding as BufferEncoding, callback as (error: Error | null | undefined) => void);
    if (!below && !this.paused && !this.destroyed) {
      this.paused = true;
      this.socket.pause();
      this.once('drain', () => this.unpause());
    }
    return true;
  }

  /** Reads the connection again: the bytes waiting were written ('drain', which an ended stream does not raise), or the file is closed. */
  private unpause(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.received += chunk.length;
    if (!this.over && this.received > this.limit) {
      this.over = true;
      this.tooLarge(this.received);
    }
    if (this.over || this.failed || !this.handle) return callback();
    writeAll(this.handle, chunk).then(
      () => callback(),
      (error: Error) => {
        this.failed ??= error;
        callback();
      },
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    const complete = !this.dropped && !this.over && !this.failed && this.handle !== null;
    this.completed = complete;
    void this.release(complete).then(() => {
      this.settle(complete ? { complete, bytes: this.received } : { complete, error: this.failed });
      this.unpause();
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.completed) return callback(error);
    void this.release(false).then(() => {
      this.settle({ complete: false, error: null });
      this.unpause();
      callback(error);
    });
  }

  /** Stops the instance before its end (the connection is gone): its file is removed. */
  abandon(): void {
    if (!this.writableFinished) this.destroy();
  }

  private async release(keep: boolean): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => undefined);
    if (!keep && !this.dropped) await rm(this.file, { force: true }).catch(() => undefined);
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
    if (bytesWritten === 0) throw new Error('the disk took no more bytes');
    at += bytesWritten;
  }
}

/** What became of a received instance: kept, or not, with the failure to report (null: the sender's fault, said by the C-STORE status only). */
export type Taken = { kept: true } | { kept: false; error: LowdoseError | null };

/**
 * The C-STORE sub-operations of one association: dcmjs-dimse's store hooks (open / complete) and
 * its cStoreRequest (take), in that order for each instance; `abandon` when the connection closes;
 * `stop` once the retrieve is cancelled; `settled` before the folder they go to is removed.
 */
export class InstanceReceiver {
  private current: IncomingInstance | null = null;
  private readonly complete: Array<{ instance: IncomingInstance; ids: Part10Ids }> = [];
  private readonly ids = new WeakMap<IncomingInstance, Part10Ids>();
  /** Every instance and take not settled yet (settled()). */
  private readonly unsettled = new Set<Promise<unknown>>();
  /** Set by stop(): told as each instance after it begins. */
  private stopped: (() => void) | null = null;

  constructor(
    private readonly store: InstanceStore,
    private readonly socket: Socket,
    private readonly maxInstanceBytes: number,
    /** Called once when an instance passes maxInstanceBytes, with the bytes come so far; the caller aborts the association. */
    private readonly tooLarge: (received: number) => void,
  ) {
    socket.once('close', () => this.abandon());
  }

  /** dcmjs-dimse's createStoreWritableStream: the stream each fragment of the data set is written to. */
  open(context: AcceptedContext, command: StoreCommand): Writable {
    this.current?.abandon();
    const ids: Part10Ids = {
      sopClassUid: command.getAffectedSopClassUid(),
      sopInstanceUid: command.getAffectedSopInstanceUid(),
      transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? '',
    };
    this.stopped?.();
    const dropped = this.stopped !== null;
    const instance = new IncomingInstance(this.store.temporaryFile(), dropped ? new Uint8Array(0) : part10FromDataset(new Uint8Array(0), ids), this.maxInstanceBytes, this.socket, this.tooLarge, dropped);
    this.track(instance.arrived);
    this.ids.set(instance, ids);
    this.current = instance;
    return instance;
  }

  /**
   * Keeps nothing more (the retrieve was cancelled): the instance arriving is removed, each later
   * one is read and dropped without a file (its C-STORE answered as not kept), and `started` is
   * called as each later one begins (a PACS that goes on after a C-CANCEL is aborted by the caller).
   */
  stop(started: () => void = () => {}): void {
    if (this.stopped) return;
    this.stopped = started;
    this.abandon();
  }

  /** Resolves once every instance begun has its file kept or removed and every take has answered: nothing more is written. */
  async settled(): Promise<void> {
    while (this.unsettled.size > 0) await Promise.allSettled([...this.unsettled]);
  }

  private track(promise: Promise<unknown>): void {
    this.unsettled.add(promise);
    void promise.finally(() => this.unsettled.delete(promise));
  }

  /** dcmjs-dimse's createDatasetFromStoreWritableStream: the last fragment came (the stream was ended). */
  finish(writable: Writable): void {
    const instance = writable as IncomingInstance;
    if (this.current === instance) this.current = null;
    this.complete.push({ instance, ids: this.ids.get(instance)! });
  }

  /**
   * The instance whose C-STORE request dcmjs-dimse raises now (call it before anything is
   * awaited: requests come in the order of finish): once its file is complete, its
   * SeriesInstanceUID read and the store has kept it.
   */
  take(): Promise<Taken> {
    const taking = this.takeNext();
    this.track(taking);
    return taking;
  }

  private async takeNext(): Promise<Taken> {
    const next = this.complete.shift();
    if (!next) return { kept: false, error: null };
    const { instance, ids } = next;
    const arrival = await instance.arrived;
    if (!arrival.complete) {
      return { kept: false, error: arrival.error ? new LowdoseError('E_IO', `${instance.file}: could not write the received instance: ${arrival.error.message}`, { path: instance.file, cause: arrival.error }) : null };
    }
    try {
      const seriesInstanceUid = await seriesUidOfFile(instance.file, arrival.bytes, ids.transferSyntaxUid !== IMPLICIT_VR_LITTLE_ENDIAN);
      if (seriesInstanceUid === null) {
        await rm(instance.file, { force: true });
        return { kept: false, error: null };
      }
      await this.store.keep({ ...ids, seriesInstanceUid, file: instance.file });
      return { kept: true };
    } catch (error) {
      await rm(instance.file, { force: true }).catch(() => undefined);
      return { kept: false, error: error instanceof LowdoseError ? error : new LowdoseError('E_IO', String(error), { cause: error }) };
    }
  }

  /** The connection closed: an instance still arriving is removed. */
  abandon(): void {
    this.current?.abandon();
    this.current = null;
  }
}

/**
 * The SeriesInstanceUID of the data set at the end of a Part 10 file of `datasetBytes` (so many
 * bytes at its end), read from its first HEADER_READS bytes (more only when the first read lacks it).
 */
async function seriesUidOfFile(file: string, datasetBytes: number, explicitVr: boolean): Promise<string | null> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = size - datasetBytes;
    for (const wanted of HEADER_READS) {
      const length = Math.min(wanted, datasetBytes);
      const bytes = new Uint8Array(length);
      const { bytesRead } = await handle.read(bytes, 0, length, start);
      const uid = seriesUidOf(bytes.subarray(0, bytesRead), explicitVr);
      if (uid !== null || length === datasetBytes) return uid;
    }
    return null;
  } finally {
    await handle.close();
  }
}

/**
 * The SeriesInstanceUID of a received data set (little endian, explicit or implicit VR), read up
 * to its pixel data without copying; null when the header cannot be read or has none.
 */
export function seriesUidOf(bytes: Uint8Array, explicitVr: boolean): string | null {
  const parser = dicomParser.littleEndianByteArrayParser;
  const dataSet = new dicomParser.DataSet(parser, bytes, {});
  try {
    const stream = new dicomParser.ByteStream(parser, bytes, 0);
    const options = { untilTag: 'x7fe00010' };
    if (explicitVr) dicomParser.parseDicomDataSetExplicit(dataSet, stream, bytes.length, options);
    else dicomParser.parseDicomDataSetImplicit(dataSet, stream, bytes.length, options);
  } catch {
    // What was read before the failure may still hold the UID.
  }
  // A UID cut off at the end of the bytes (a header read in part) is not read.
  const element = dataSet.elements.x0020000e;
  if (!element || element.dataOffset + element.length > bytes.length) return null;
  const uid = dataSet.string('x0020000e')?.replace(/[\0\s]+$/g, '');
  return uid ? uid : null;
}
