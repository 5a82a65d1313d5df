// Waiting for work with a deadline, for shutdown paths that must end in bounded time whatever
// a connection or a task is doing.

/**
 * The value of `work` if it succeeds by `deadline` (ms since the epoch), else `fallback` (the
 * work is left to itself).
 */
export async function valueBy<T>(work: Promise<T>, deadline: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.catch(() => fallback), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when `work` succeeded by `deadline`; false when it failed or the deadline came first. */
export function doneBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  return valueBy(
    work.then(() => true),
    deadline,
    false,
  );
}
