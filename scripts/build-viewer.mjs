#!/usr/bin/env node
/**
 * Bundles the viewer (viewer/src → viewer/dist) with esbuild: one content-hashed script and
 * stylesheet under assets/ (served with immutable caching) and index.html naming them.
 * Run by `npm run build` (and so by `npm ci`); `--watch` rebuilds on change, `--outdir <dir>`
 * writes elsewhere.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { makeDirectories } from '../dist/util/fs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const viewer = path.join(root, 'viewer');
const outdirFlag = process.argv.indexOf('--outdir');
// --outdir <dir>: build somewhere else (the end-to-end test builds a fresh copy for itself).
const dist = outdirFlag > 0 ? path.resolve(process.argv[outdirFlag + 1]) : path.join(viewer, 'dist');
const watch = process.argv.includes('--watch');

async function writeIndex(result) {
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.relative(dist, path.resolve(root, file)).split(path.sep).join('/'));
  const script = outputs.find((file) => /^assets\/main-.*\.js$/.test(file));
  const styles = outputs.find((file) => /^assets\/styles-.*\.css$/.test(file));
  if (!script || !styles) throw new Error(`esbuild did not write the expected bundles: ${outputs.join(', ')}`);
  const template = await readFile(path.join(viewer, 'index.html'), 'utf8');
  await writeFile(path.join(dist, 'index.html'), template.replace('%SCRIPT%', `/${script}`).replace('%STYLES%', `/${styles}`));
}

const options = {
  absWorkingDir: root,
  entryPoints: { main: path.join(viewer, 'src', 'main.ts'), styles: path.join(viewer, 'src', 'styles.css') },
  outdir: path.join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
  // The packages' non-minified builds carry webpack's dev runtime; the minified ones are the release.
  alias: {
    'cornerstone-core': 'cornerstone-core/dist/cornerstone.min.js',
    'cornerstone-tools': 'cornerstone-tools/dist/cornerstoneTools.min.js',
    'cornerstone-math': 'cornerstone-math/dist/cornerstoneMath.min.js',
  },
  plugins: [{ name: 'index-html', setup: (build) => build.onEnd((result) => (result.errors.length === 0 ? writeIndex(result) : undefined)) }],
};

await rm(dist, { recursive: true, force: true });
await makeDirectories(dist);
if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
  process.stderr.write('watching viewer/src …\n');
} else {
  const started = performance.now();
  const result = await esbuild.build(options);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  process.stderr.write(`viewer built into ${path.relative(root, dist) || dist} (${Math.round(bytes / 1024)} KiB, ${Math.round(performance.now() - started)} ms)\n`);
}
