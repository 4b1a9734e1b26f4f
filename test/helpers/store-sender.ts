/**
 * A C-STORE sender for the storage SCP tests and the memory script: one CT-like instance of a given
 * size of pixel data, sent with dcmjs-dimse's client as a PACS (or a hostile caller) would.
 */
import { dimse } from '../../src/dimse/association.js';

/** A CT-like data set of `pixelBytes` (a multiple of 1024) of 16-bit pixel data, 512 columns, SeriesInstanceUID 1.2.3.4. */
export function ctDataset(pixelBytes: number, sopInstanceUid: string) {
  return new dimse.Dataset(
    {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      SOPInstanceUID: sopInstanceUid,
      StudyInstanceUID: '1.2.3',
      SeriesInstanceUID: '1.2.3.4',
      Modality: 'CT',
      Rows: pixelBytes / 1024,
      Columns: 512,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 1,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      PixelData: [new Uint8Array(pixelBytes).fill(7).buffer],
      _vrMap: { PixelData: 'OW' },
    },
    dimse.constants.TransferSyntax.ExplicitVRLittleEndian,
  );
}

/**
 * C-STOREs one instance with `pixelBytes` (a multiple of 1024) of 16-bit pixel data, 512 columns,
 * SeriesInstanceUID 1.2.3.4, from
 * `callingAet` to `calledAet` at 127.0.0.1:`port`; resolves with the C-STORE status, or null when
 * no answer came (the association ended first), and the network error, if any.
 */
export function storeInstance(port: number, pixelBytes: number, options: { sopInstanceUid: string; callingAet: string; calledAet: string; timeoutMs?: number }): Promise<{ status: number | null; error: string | null }> {
  const request = new dimse.requests.CStoreRequest(ctDataset(pixelBytes, options.sopInstanceUid));
  let status: number | null = null;
  request.on('response', (response: { getStatus(): number }) => (status = response.getStatus()));
  const timeout = options.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    const client = new dimse.Client();
    client.addRequest(request);
    client.on('closed', () => resolve({ status, error: null }));
    client.on('networkError', (error: Error) => resolve({ status, error: error.message }));
    client.send('127.0.0.1', port, options.callingAet, options.calledAet, { connectTimeout: timeout, associationTimeout: timeout, pduTimeout: timeout, associationLingerTimeout: 0 });
  });
}

/**
 * An association that C-STOREs one small instance and then stays open, as a PACS's does between
 * the sub-operations of a C-MOVE: `stored` resolves with the C-STORE status (null: the association
 * ended first), `close` ends the connection and resolves once it is closed.
 */
export function holdAssociation(port: number, options: { sopInstanceUid: string; callingAet: string; calledAet: string }): { stored: Promise<number | null>; close(): Promise<void> } {
  const request = new dimse.requests.CStoreRequest(ctDataset(1024, options.sopInstanceUid));
  const client = new dimse.Client();
  const closed = new Promise<void>((resolve) => client.on('closed', () => resolve()));
  const stored = new Promise<number | null>((resolve) => {
    request.on('response', (response: { getStatus(): number }) => resolve(response.getStatus()));
    void closed.then(() => resolve(null));
  });
  client.on('networkError', () => {});
  client.addRequest(request);
  // Held far longer than any test runs; close() ends it.
  client.send('127.0.0.1', port, options.callingAet, options.calledAet, { connectTimeout: 10_000, associationTimeout: 10_000, pduTimeout: 600_000, associationLingerTimeout: 600_000 });
  return {
    stored,
    close: async () => {
      (client as unknown as { network?: { socket?: { destroy(): void } } }).network?.socket?.destroy();
      await closed;
    },
  };
}
