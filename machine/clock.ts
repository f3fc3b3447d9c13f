// Virtual time. By default time is derived from the retired-instruction count, so runs are
// deterministic: the same inputs give the same interrupts at the same instructions.

export type TimerCallback = (nowNs: number) => void;

export interface Timer {
  /** Absolute deadline in virtual nanoseconds, or Infinity when disarmed. */
  deadline: number;
  readonly cb: TimerCallback;
  readonly name: string;
}

/** Virtual clock: nanoseconds = instructions × nsPerInsn (+ time skipped while halted). */
export class Clock {
  /** Retired guest instructions (maintained by the CPU). */
  insns = 0;
  /** Virtual nanoseconds skipped while the CPU was halted waiting for a timer. */
  skippedNs = 0;
  readonly timers: Timer[] = [];

  constructor(public readonly nsPerInsn = 1) {}

  nowNs(): number { return this.insns * this.nsPerInsn + this.skippedNs; }

  addTimer(name: string, cb: TimerCallback): Timer {
    const t: Timer = { deadline: Infinity, cb, name };
    this.timers.push(t);
    return t;
  }

  /**
   * Called when a device arms a timer (see `arm`): the machine uses it to end the current CPU run
   * early, because that run was sized to the earliest deadline known when it started.
   */
  onArm: (() => void) | null = null;

  /** Set `t`'s deadline (absolute virtual ns, Infinity = disarm) and tell the run loop. */
  arm(t: Timer, deadline: number): void {
    t.deadline = deadline;
    if (deadline !== Infinity && this.onArm !== null) this.onArm();
  }

  /** Earliest armed deadline (Infinity if none). */
  nextDeadline(): number {
    let d = Infinity;
    for (const t of this.timers) if (t.deadline < d) d = t.deadline;
    return d;
  }

  /** Fire every timer whose deadline has passed. Callbacks re-arm by setting `deadline`. */
  runDue(): void {
    const now = this.nowNs();
    for (let again = true; again;) {
      again = false;
      for (const t of this.timers) {
        if (t.deadline <= now) { t.deadline = Infinity; t.cb(now); again = again || t.deadline <= now; }
      }
    }
  }

  /** Jump virtual time forward to `ns` (used when the CPU halts with interrupts enabled). */
  skipTo(ns: number): void {
    const now = this.nowNs();
    if (ns > now) this.skippedNs += ns - now;
  }
}
