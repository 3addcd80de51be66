/** Runs a listener; its exception is reported (as an uncaught error) without stopping the others. */
export function callSafely(listener: () => void): void {
  try {
    listener();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
