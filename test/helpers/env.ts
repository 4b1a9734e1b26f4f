/** Environment variables a test file sets for its runs, put back as they were when it ends. */

/** Remembers `keys` as they are now; the returned function restores them (unset where they were unset). */
export function keepEnv(...keys: readonly string[]): () => void {
  const saved = keys.map((key) => [key, process.env[key]] as const);
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
