import { describe, expect, it } from 'vitest';
import { borderConnectedFill } from '../../src/util/border-connected.js';

describe('borderConnectedFill', () => {
  // 0 = fill value, 1 = image; the centre 0 is enclosed by image and must not be taken.
  const grid = [
    [0, 0, 0, 0, 0],
    [0, 1, 1, 1, 0],
    [0, 1, 0, 1, 1],
    [0, 1, 1, 1, 0],
    [1, 0, 0, 0, 0],
  ].flat();

  it('takes fill connected to the border through 4-neighbours and leaves enclosed fill alone', () => {
    const { mask, count } = borderConnectedFill(5, 5, (i) => grid[i] === 0);
    expect(Array.from(mask)).toEqual([
      [1, 1, 1, 1, 1],
      [1, 0, 0, 0, 1],
      [1, 0, 0, 0, 0],
      [1, 0, 0, 0, 1],
      [0, 1, 1, 1, 1],
    ].flat());
    expect(count).toBe(14);
  });

  it('does not cross diagonals', () => {
    // The only fill pixel off the border touches border fill by a corner only.
    const diagonal = [
      [0, 1, 1],
      [1, 0, 1],
      [1, 1, 1],
    ].flat();
    const { mask } = borderConnectedFill(3, 3, (i) => diagonal[i] === 0);
    expect(Array.from(mask)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('reports nothing when no fill touches the border', () => {
    expect(borderConnectedFill(3, 3, (i) => i === 4).count).toBe(0);
  });
});
