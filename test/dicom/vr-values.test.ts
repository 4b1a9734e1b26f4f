/**
 * The per-VR value rule of derived files (src/dicom/vr-values.ts): which VR a copied element is
 * written with, judged from its bytes, before dcmjs sees it.
 */
import { describe, expect, it } from 'vitest';
import { chooseVr, implicitValueProblem, vrValueProblem } from '../../src/dicom/vr-values.js';

const text = (s: string) => new TextEncoder().encode(s);
function float64(...values: number[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  values.forEach((v, i) => new DataView(out.buffer).setFloat64(8 * i, v, true));
  return out;
}
function float32(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  values.forEach((v, i) => new DataView(out.buffer).setFloat32(4 * i, v, true));
  return out;
}

describe('vrValueProblem', () => {
  it('accepts binary values that are a whole number of values of the VR, empty included', () => {
    expect(vrValueProblem('US', new Uint8Array(4), true)).toBeNull();
    expect(vrValueProblem('FD', float64(1.5, -2), true)).toBeNull();
    expect(vrValueProblem('AT', new Uint8Array(8), true)).toBeNull();
    expect(vrValueProblem('OB', new Uint8Array(3), true)).toBeNull();
    expect(vrValueProblem('FD', new Uint8Array(0), true)).toBeNull();
  });

  it('refuses a binary value whose length is not a multiple of the VR size', () => {
    expect(vrValueProblem('US', new Uint8Array(3), true)).toMatch(/3 bytes are not a whole number of US values \(2 bytes each\)/);
    expect(vrValueProblem('FD', text('CW'), true)).toMatch(/2 bytes are not a whole number of FD values/);
    expect(vrValueProblem('UV', text('083709'), true)).toMatch(/6 bytes .* UV values \(8 bytes each\)/);
    expect(vrValueProblem('AT', new Uint8Array(6), true)).not.toBeNull();
  });

  it('refuses floating point values that are not finite, in either byte order', () => {
    expect(vrValueProblem('FD', float64(1, Number.NaN), true)).toMatch(/not a finite number \(NaN\)/);
    expect(vrValueProblem('FL', float32(Number.POSITIVE_INFINITY), true)).toMatch(/Infinity/);
    const bigEndianNan = new Uint8Array(8);
    new DataView(bigEndianNan.buffer).setFloat64(0, Number.NaN, false);
    expect(vrValueProblem('FD', bigEndianNan, false)).not.toBeNull();
    expect(vrValueProblem('OF', float32(0.5, Number.NaN), true)).not.toBeNull();
  });

  it('refuses control bytes in text, but not ESC, CR LF or trailing NUL padding', () => {
    expect(vrValueProblem('CS', new Uint8Array([0x41, 0x01, 0x42, 0x43]), true)).toMatch(/not CS text/);
    expect(vrValueProblem('LO', text('a\x1b$Bb\r\nc'), true)).toBeNull();
    expect(vrValueProblem('UI', text('1.2.3\0'), true)).toBeNull();
  });
});

describe('chooseVr', () => {
  it('keeps the VR of the file when the value fits it and agrees with the dictionary', () => {
    expect(chooseVr('FD', 'FD', float64(3.5), true)).toEqual({ vr: 'FD' });
    expect(chooseVr('LO', 'LO', text('anything'), true)).toEqual({ vr: 'LO' });
    // A text VR other than the dictionary's: the string checks judge the value later.
    expect(chooseVr('SH', 'LO', text('short'), true)).toEqual({ vr: 'SH' });
  });

  it('reads a number VR on a text attribute as the dictionary VR (fuzz case 6420: CS "CW" as FD)', () => {
    expect(chooseVr('FD', 'CS', text('CW'), true)).toEqual({ vr: 'CS', repaired: 'VR "FD" in the file read as CS' });
  });

  it('reads a text attribute as its dictionary VR even when the bytes would fit the number VR', () => {
    // "CC      " is 8 bytes, one FD value: the contradiction with the dictionary decides.
    expect(chooseVr('FD', 'CS', text('CC      '), true)).toEqual({ vr: 'CS', repaired: 'VR "FD" in the file read as CS' });
  });

  it('never writes OV, SV or UV, which dicom-parser reads with the wrong length size (fuzz cases 1668, 2618)', () => {
    expect(chooseVr('UV', 'PN', new Uint8Array(0), true)).toEqual({ vr: 'PN', repaired: 'VR "UV" in the file read as PN' });
    expect(chooseVr('UV', 'TM', text('083709'), true)).toEqual({ vr: 'TM', repaired: 'VR "UV" in the file read as TM' });
    expect(chooseVr('SV', 'SV', new Uint8Array(8), true)).toHaveProperty('problem');
    expect(chooseVr('OV', undefined, new Uint8Array(8), true)).toHaveProperty('problem');
  });

  it('reads a text VR on a number attribute as the number VR when the bytes fit it, else drops it', () => {
    expect(chooseVr('CS', 'FD', float64(12.5), true)).toEqual({ vr: 'FD', repaired: 'VR "CS" in the file read as FD' });
    const choice = chooseVr('XX', 'US', new Uint8Array(3), true);
    expect(choice).toHaveProperty('problem');
    expect((choice as { problem: string }).problem).toMatch(/as US: 3 bytes are not a whole number of US values/);
  });

  it('drops a non-finite float rather than writing it', () => {
    expect(chooseVr('FD', 'FD', float64(Number.NaN), true)).toEqual({ problem: 'VR "FD": as FD: a FD value that is not a finite number (NaN)' });
  });

  it('repairs a VR that is no VR only to a dictionary VR whose length field has the size that was read', () => {
    expect(chooseVr('D=', 'DS', text('0.5\\0.5'), true)).toEqual({ vr: 'DS', repaired: 'VR "D=" in the file read as DS' });
    // dicom-parser read "D=" with a 2-byte length; a UT has a 4-byte one, so what it read is not the value.
    expect(chooseVr('D=', 'UT', text('text'), true)).toHaveProperty('problem');
    expect(chooseVr('\0\0', undefined, text('x'), true)).toEqual({ problem: 'VR "??" cannot be written here' });
  });
});

describe('implicitValueProblem', () => {
  it('checks binary values of an implicit VR file against the dictionary VR only', () => {
    expect(implicitValueProblem('US', new Uint8Array(3), true)).not.toBeNull();
    expect(implicitValueProblem('US', new Uint8Array(2), true)).toBeNull();
    expect(implicitValueProblem('CS', new Uint8Array([1, 2, 3]), true)).toBeNull();
    expect(implicitValueProblem(undefined, new Uint8Array(3), true)).toBeNull();
  });
});

describe('chooseVr between two text VRs', () => {
  it('reads a value that is no value of the file VR but one of the dictionary VR with the dictionary VR (fuzz seed 23, case 2065)', () => {
    expect(chooseVr('DA', 'DS', text('1\\0\\0\\0\\1\\0 '), true)).toEqual({ vr: 'DS', repaired: 'VR "DA" in the file read as DS' });
    // A value that fits the file's VR keeps it (20240101 is a decimal number too).
    expect(chooseVr('DS', 'DA', text('20240101'), true)).toEqual({ vr: 'DS' });
    expect(chooseVr('LO', 'SH', text('anything'), true)).toEqual({ vr: 'LO' });
  });
});
