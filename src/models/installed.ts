/**
 * The installed models: valid cards (with their ONNX file present) in a list of model folders,
 * by card name. This is what a name from outside (the server's API) may resolve to; anything
 * else, a file name ("evil.json", "x.onnx"), a path ("../x") or an unknown name, is not a model.
 * The CLI, run by the machine's own user, may also name a card or ONNX file by path
 * (resolveModelFiles); the server never passes a client's string there.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import type { ModelCard } from './card.js';
import { readModelCard } from './load.js';

export interface InstalledModel {
  /** The card's `name`. */
  readonly name: string;
  readonly cardPath: string;
  readonly card: ModelCard;
}

/**
 * Every valid card in `dirs` whose ONNX file exists, by card name; a name in an earlier folder
 * hides the same name in a later one. Invalid cards are left out (they could not run anyway).
 */
export async function installedModels(dirs: readonly string[]): Promise<InstalledModel[]> {
  const found = new Map<string, InstalledModel>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    } catch {
      continue;
    }
    for (const file of names) {
      const cardPath = path.join(dir, file);
      try {
        const card = await readModelCard(cardPath);
        if (found.has(card.name) || !existsSync(path.resolve(dir, card.onnx))) continue;
        found.set(card.name, { name: card.name, cardPath, card });
      } catch {
        // not a model card (or a broken one): not installed
      }
    }
  }
  return [...found.values()];
}

/**
 * The installed model named `name`. The error names the installed models, never a folder or
 * anything read from a file.
 */
export async function findInstalledModel(name: string, dirs: readonly string[]): Promise<InstalledModel> {
  const models = await installedModels(dirs);
  const model = models.find((m) => m.name === name);
  if (model) return model;
  const printable = name.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
  throw new LowdoseError(
    'E_USAGE',
    `no installed model is named "${printable}" (installed: ${models.map((m) => m.name).join(', ') || 'none'}); a model is named by its card name, not by a file or path`,
  );
}
