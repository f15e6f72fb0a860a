/** How often and how long a failed registry request is retried. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 5). */
  retries: number;
  /** Delay before the first retry, doubled each time (default 200 ms). */
  minDelayMs: number;
  /** Upper bound of one delay, also for `Retry-After` (default 10 s). */
  maxDelayMs: number;
  /** No retry starts once this much time has passed since the first attempt (default 60 s). */
  maxElapsedMs: number;
}

/** The defaults: 5 retries, 200 ms doubling up to 10 s, within 60 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, minDelayMs: 200, maxDelayMs: 10_000, maxElapsedMs: 60_000 };

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Whether an HTTP status is worth retrying: 408, 429 and 5xx except 501 and 505. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** The `code` of an error or of one of its causes, if any. */
export function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether a network error is transient (a reset or timeout, not a refused connection or unknown host). */
export function isRetryableNetworkError(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && RETRYABLE_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /socket hang up|other side closed|premature close/i.test(message);
}

/**
 * The delay before retry number `attempt` (1-based): exponential with jitter, or what `Retry-After` asks (seconds or an
 * HTTP date), capped by the policy.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfter?: string): number {
  if (retryAfter !== undefined && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), policy.maxDelayMs);
  }
  const base = Math.min(policy.minDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

/** Waits `ms` milliseconds, or rejects with the signal's reason when it is aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Tracks the attempts of one retried operation against a {@link RetryPolicy}. */
export class RetryBudget {
  private readonly started = Date.now();
  /** Retries used so far. */
  attempts = 0;

  constructor(private readonly policy: RetryPolicy) {}

  /**
   * Waits before the next retry and returns true, or returns false when the budget is spent.
   * @param retryAfter the response's `Retry-After` header, if any.
   */
  async next(signal?: AbortSignal, retryAfter?: string): Promise<boolean> {
    if (this.attempts >= this.policy.retries) return false;
    const delay = retryDelay(this.policy, this.attempts + 1, retryAfter);
    if (Date.now() - this.started + delay > this.policy.maxElapsedMs) return false;
    this.attempts++;
    await sleep(delay, signal);
    return true;
  }
}
