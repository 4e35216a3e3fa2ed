// Polls a condition on real servers until it holds or a deadline passes (no fixed sleeps).
// Returns how long it took, for tests that report it.
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, ms = 5_000, pollMs = 20): Promise<number> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return Date.now() - started;
}
