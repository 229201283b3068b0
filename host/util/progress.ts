// A tiny progress bar on stderr: redraws in place on a TTY, otherwise prints a line about every 10%.

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  s = Math.round(s);
  const m = Math.floor(s / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
    : `${m}:${String(s % 60).padStart(2, '0')}`;
}

export class Progress {
  private done_ = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly tty = !!process.stderr.isTTY;
  /** Text shown after the counters (e.g. the running loss); set it before tick(). */
  note = '';

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'img',
  ) {}

  tick(n = 1): void {
    this.done_ = Math.min(this.total, this.done_ + n);
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw >= 100 || this.done_ === this.total) {
        this.lastDraw = now;
        process.stderr.write(`\r${this.line(true)}\x1b[K`);
      }
    } else {
      const decile = Math.floor((10 * this.done_) / Math.max(1, this.total));
      if (decile > this.lastDecile && decile < 10) {
        this.lastDecile = decile;
        process.stderr.write(this.line(false) + '\n');
      }
    }
  }

  /** Finishes the bar and returns the elapsed seconds. */
  done(): number {
    const secs = (Date.now() - this.start) / 1000;
    process.stderr.write((this.tty ? `\r${this.line(true)}\x1b[K` : this.line(false)) + '\n');
    return secs;
  }

  private line(bar: boolean): string {
    const secs = Math.max(1e-3, (Date.now() - this.start) / 1000);
    const frac = this.total > 0 ? this.done_ / this.total : 1;
    const rate = this.done_ / secs;
    const eta = rate > 0 ? (this.total - this.done_) / rate : Infinity;
    const width = 24;
    const filled = Math.round(frac * width);
    const b = bar ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    const pct = `${(100 * frac).toFixed(0).padStart(3)}%`;
    return (
      `${this.label} ${b}${pct} ${this.done_}/${this.total} ${rate.toFixed(0)} ${this.unit}/s ` +
      `elapsed ${fmtTime(secs)} eta ${fmtTime(eta)}${this.note ? ' ' + this.note : ''}`
    );
  }
}
