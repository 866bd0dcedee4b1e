/**
 * An abort signal that fires after `ms`, on a timer that keeps the process alive: Node's
 * AbortSignal.timeout uses an unref'd timer, so a request whose socket is not referenced either
 * (a stalled fetch) let the process end with exit 0 and its work undone. Call `clear()` once the
 * request is answered.
 */
export function deadline(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms / 1000} s`, 'TimeoutError')), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
