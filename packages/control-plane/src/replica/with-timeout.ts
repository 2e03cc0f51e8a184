/**
 * Bounded waiting for the replica's stop path, which must finish even when what it waits for
 * (requests draining, processes exiting) never does.
 */

/** Resolves once `promise` has, or after `ms` milliseconds, whichever comes first. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
