import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPathWithin } from '../../src/util/fs.js';

describe('isPathWithin', () => {
  it('takes the folder itself and what lies below it, with or without a trailing separator', () => {
    expect(isPathWithin('/data/in', '/data/in')).toBe(true);
    expect(isPathWithin('/data/in/a/b.dcm', '/data/in')).toBe(true);
    expect(isPathWithin('/data/in/a/b.dcm', '/data/in/')).toBe(true);
    expect(isPathWithin('/', '/')).toBe(true);
    expect(isPathWithin('/data/in', '/')).toBe(true);
  });

  it('refuses a sibling that only shares a prefix, the parent, and a path that climbs out', () => {
    expect(isPathWithin('/data/in2/a.dcm', '/data/in')).toBe(false);
    expect(isPathWithin('/data', '/data/in')).toBe(false);
    expect(isPathWithin('/data/in/../out/a.dcm', '/data/in')).toBe(false);
  });

  it('takes a child whose name starts with two dots (not a climb)', () => {
    expect(isPathWithin('/data/in/..hidden/a.dcm', '/data/in')).toBe(true);
  });

  it('reads relative paths against the working folder', () => {
    expect(isPathWithin('in/a.dcm', path.join(process.cwd(), 'in'))).toBe(true);
    expect(isPathWithin(path.join(process.cwd(), 'in', 'a.dcm'), 'in')).toBe(true);
  });
});
