/**
 * The lease heartbeat of a study's worker side (a store's Study, a server's RemoteStudy): `renew`
 * three times a lease, on a timer that does not keep the process alive. A renewal that failed for
 * good (it retried with backoff up to --storage_timeout already) is told once to the failure
 * listeners, since nobody awaits a timer, and the beat stops: the leases will lapse, so the holder
 * should give its trials up and end.
 */
export class LeaseHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((error: Error) => void)[] = [];
  private failed = false;

  constructor(
    private readonly renew: () => Promise<void>,
    private readonly isClosed: () => boolean,
  ) {}

  onFailure(listener: (error: Error) => void): void {
    this.listeners.push(listener);
  }

  /** Beats every third of `leaseSeconds` from now on, unless it beats already or its holder is closed. */
  start(leaseSeconds: number): void {
    if (this.timer || this.isClosed()) return;
    this.timer = setInterval(
      () =>
        void this.renew().catch((e: Error) => {
          if (this.isClosed() || this.failed) return;
          this.failed = true;
          this.stop();
          for (const l of this.listeners) l(e);
        }),
      (leaseSeconds * 1000) / 3,
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
