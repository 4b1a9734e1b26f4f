/**
 * Paths as a result file records them. A result that is committed (models/eval/qa-*.json, made by
 * `lowdose qa --json > file` from the repository root) must not hold the path of the checkout that
 * made it: a path inside the working directory is recorded relative to it, with `/` separators
 * (`fixtures`, `qa/thresholds.json`, `.cache/qa-ct`); one outside it (a temporary folder, an
 * installed package's fixtures) stays absolute, since no relative form would mean more.
 */
import path from 'node:path';

export function recordedPath(file: string, cwd: string = process.cwd()): string {
  const absolute = path.resolve(cwd, file);
  const relative = path.relative(path.resolve(cwd), absolute);
  if (relative === '') return '.';
  if (relative.startsWith('..') || path.isAbsolute(relative)) return absolute;
  return relative.split(path.sep).join('/');
}

/**
 * A model as recorded: a name (`lowdose-ct`) as given, a path (it has a separator or ends in .json
 * / .onnx, as resolveModelFiles tells them apart) through recordedPath, so it still resolves to the
 * same file from the same working directory.
 */
export function recordedModel(model: string, cwd: string = process.cwd()): string {
  const isPath = model.includes('/') || model.includes(path.sep) || /\.(json|onnx)$/i.test(model);
  return isPath ? recordedPath(model, cwd) : model;
}
