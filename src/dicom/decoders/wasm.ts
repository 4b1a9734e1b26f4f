/**
 * Lazy, once-only initialisation of the Emscripten codec modules (they ship CommonJS factories
 * that return a Promise of the module). A module whose WebAssembly trapped or aborted may be left
 * in a broken state, so after such an error the next call builds a fresh instance.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type EmscriptenFactory<M> = (options?: Record<string, unknown>) => Promise<M>;

export function loadFactory<M>(specifier: string): EmscriptenFactory<M> {
  const loaded = require(specifier) as EmscriptenFactory<M> | { default: EmscriptenFactory<M> };
  return typeof loaded === 'function' ? loaded : loaded.default;
}

/**
 * Module options: codec chatter (warnings printed by the C libraries) must not reach the CLI's
 * stderr. A new object every time: Emscripten turns the options object into the module itself,
 * and a second instance built on the same object fails ("Cannot register public name twice").
 */
function quietOptions(): Record<string, unknown> {
  return { print: () => {}, printErr: () => {} };
}

export interface LazyCodec<D> {
  /** Runs `use` with the (created on first use) decoder object. */
  run<T>(use: (decoder: D) => T): Promise<T>;
}

export function lazyCodec<M, D>(specifier: string, create: (module: M) => D): LazyCodec<D> {
  let instance: Promise<D> | null = null;
  return {
    async run<T>(use: (decoder: D) => T): Promise<T> {
      if (instance === null) {
        instance = loadFactory<M>(specifier)(quietOptions()).then(create);
        instance.catch(() => {
          instance = null;
        });
      }
      const decoder = await instance;
      try {
        return use(decoder);
      } catch (error) {
        if (isFatalWasmError(error)) instance = null;
        throw error;
      }
    },
  };
}

/** WebAssembly's types are not in this project's lib; reach the constructor through globalThis. */
export function isWasmRuntimeError(error: unknown): boolean {
  const wasm = (globalThis as { WebAssembly?: { RuntimeError?: new () => Error } }).WebAssembly;
  return wasm?.RuntimeError !== undefined && error instanceof wasm.RuntimeError;
}

function isFatalWasmError(error: unknown): boolean {
  if (isWasmRuntimeError(error)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /abort|out of memory|unreachable|memory access out of bounds/i.test(message);
}

/** Emscripten C++ exceptions reach JavaScript as numbers (pointers); give them a message. */
export function codecErrorMessage(error: unknown, describe?: (pointer: number) => string): string {
  if (typeof error === 'number') {
    try {
      return describe ? describe(error) : `codec exception ${error}`;
    } catch {
      return `codec exception ${error}`;
    }
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
