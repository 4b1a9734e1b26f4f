/**
 * DICOM UIDs for what lowdose writes. We have no registered organisation root, so UIDs use the
 * root `2.25` (ISO/IEC 9834-8, PS3.5 B.2): `2.25.` followed by a 128-bit integer in decimal. A
 * random integer is unique without any registry; a hashed one lets a caller that wants the same
 * bytes for the same inputs (phantom fixtures) get the same UIDs again.
 */
import { createHash, randomBytes } from 'node:crypto';

export const UID_ROOT = '2.25';

/** A fresh UID from 128 random bits: never reused. */
export function newUid(): string {
  return uidFromBytes(asUuid(randomBytes(16), 4));
}

/**
 * A UID derived from `parts` by SHA-256: the same parts always give the same UID, different parts
 * practically never collide. Use a part that is unique to the object (a seed, a source UID, a role).
 */
export function hashedUid(...parts: readonly (string | number)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${String(part)}\u0000`);
  return uidFromBytes(asUuid(hash.digest().subarray(0, 16), 8));
}

/** Sets the RFC 9562 version and variant bits so the integer is a real UUID (v4 random, v8 custom). */
function asUuid(bytes: Uint8Array, version: 4 | 8): Uint8Array {
  const uuid = Uint8Array.from(bytes);
  uuid[6] = (uuid[6]! & 0x0f) | (version << 4);
  uuid[8] = (uuid[8]! & 0x3f) | 0x80;
  return uuid;
}

function uidFromBytes(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return `${UID_ROOT}.${value.toString(10)}`;
}

/** Identifies the software that wrote a file (File Meta ImplementationClassUID). */
export const IMPLEMENTATION_CLASS_UID = hashedUid('lowdose', 'ImplementationClassUID');
export const IMPLEMENTATION_VERSION_NAME = 'LOWDOSE_0';

/** True for a syntactically valid UID: dot-separated decimal components, no leading zeros, <= 64 chars. */
export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/.test(uid);
}

/** SOP classes lowdose writes. */
export const SOP_CLASS = {
  ctImage: '1.2.840.10008.5.1.4.1.1.2',
  enhancedCtImage: '1.2.840.10008.5.1.4.1.1.2.1',
  petImage: '1.2.840.10008.5.1.4.1.1.128',
  enhancedPetImage: '1.2.840.10008.5.1.4.1.1.130',
  mrImage: '1.2.840.10008.5.1.4.1.1.4',
  enhancedMrImage: '1.2.840.10008.5.1.4.1.1.4.1',
  secondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
} as const;

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
