/** Writes a series' preview PNG: low-dose | denoised | difference (or ensemble std). */
import { writeFileAtomic } from '../util/fs.js';
import { defaultWindow, encodePanels, windowToGray } from './preview.js';

export async function writePreview(
  file: string,
  grid: { readonly rows: number; readonly columns: number; readonly units: string },
  input: Float32Array,
  denoised: Float32Array,
  std: Float32Array | null,
): Promise<string> {
  const { rows, columns } = grid;
  const window = defaultWindow(grid.units, input);
  const panel = (data: Float32Array, w = window) => ({ gray: windowToGray(data, w), rows, columns });
  const third = std ?? difference(input, denoised);
  // The removed noise is centred on zero; std is non-negative: window each to its own spread.
  const spread = (window.hi - window.lo) / 4;
  const thirdWindow = std ? { lo: 0, hi: spread } : { lo: -spread, hi: spread };
  await writeFileAtomic(file, encodePanels([panel(input), panel(denoised), panel(third, thirdWindow)]));
  return file;
}

function difference(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}
