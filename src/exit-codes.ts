/**
 * Exit codes of docs/contract.md. The library's `run*` functions return one with their
 * result (whether the run was complete, partial, or had nothing to work on); the CLI exits with it.
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
