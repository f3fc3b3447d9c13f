// ACPI fixed hardware: the PM1a event and control blocks and the power-management timer, at the I/O
// ports the FADT names (machine/boot/acpi.ts). Facts from the ACPI specification 6.x, 4.8
// ("ACPI Hardware Features") and 7.4.2 (sleeping states):
// - PM1 event block (PM1_EVT_LEN = 4): PM1_STS (16 bits, write 1 to clear) then PM1_EN (16 bits).
//   STS bits: TMR_STS 0, BM_STS 4, GBL_STS 5, PWRBTN_STS 8, SLPBTN_STS 9, RTC_STS 10, WAK_STS 15.
//   EN bits: TMR_EN 0, GBL_EN 5, PWRBTN_EN 8, SLPBTN_EN 9, RTC_EN 10.
//   The SCI is asserted (level) while any event has both its STS and EN bit set.
// - PM1 control block (PM1_CNT_LEN = 2): SCI_EN 0, BM_RLD 1, GBL_RLS 2 (write-only), SLP_TYP 12:10,
//   SLP_EN 13 (write-only: writing 1 enters the sleeping state SLP_TYP selects). The FADT has no
//   SMI_CMD, so the hardware is always in ACPI mode: SCI_EN reads 1.
// - PM timer (PM_TMR_LEN = 4): a 24-bit counter at 3.579545 MHz (TMR_VAL_EXT = 0), read-only;
//   TMR_STS is set each time bit 23 changes. The count is computed from the virtual clock.
// Sleep: SLP_EN with SLP_TYP = the \_S5 value in the DSDT (ACPI_S5_SLP_TYP) powers the machine off;
// no other sleeping state is advertised, so any other value is passed to `onSleep` as well.

import type { IoBus, IrqLine, PortHandler, Snapshottable } from '../bus.js';
import type { Clock, Timer } from '../clock.js';
import { asRecord, num } from './portio.js';

/** PM timer frequency (ACPI spec 4.8.3.3). */
export const PM_TIMER_HZ = 3579545;
/** Default port base (PM1a_EVT_BLK); PM1a_CNT_BLK = base + 4, PM_TMR_BLK = base + 8. */
export const ACPI_PM_BASE = 0x600;
export const PM1_STS = { TMR: 1 << 0, BM: 1 << 4, GBL: 1 << 5, PWRBTN: 1 << 8, SLPBTN: 1 << 9, RTC: 1 << 10, WAK: 1 << 15 } as const;
export const PM1_EN_WRITABLE = (1 << 0) | (1 << 5) | (1 << 8) | (1 << 9) | (1 << 10);
export const PM1_CNT = { SCI_EN: 1 << 0, BM_RLD: 1 << 1, GBL_RLS: 1 << 2, SLP_TYP_SHIFT: 10, SLP_EN: 1 << 13 } as const;
/** SLP_TYP value of S5 (soft off) in this machine's DSDT \_S5 package. */
export const ACPI_S5_SLP_TYP = 5;
const TWO24 = 1 << 24;

/** PM timer ticks at virtual time `ns` (not wrapped): floor(ns * 3579545 / 1e9), exact in doubles. */
export function pmTimerTicks(ns: number): number {
  const s = Math.floor(ns / 1e9);
  const r = ns - s * 1e9;
  return s * PM_TIMER_HZ + Math.floor((r * PM_TIMER_HZ) / 1e9);
}
/** The least ns at which pmTimerTicks reaches `k`. */
function pmTickNs(k: number): number {
  const s = Math.floor(k / PM_TIMER_HZ);
  const x = (k - s * PM_TIMER_HZ) * 1e9;
  let q = Math.floor(x / PM_TIMER_HZ);
  while (q * PM_TIMER_HZ < x) q++;
  while (q > 0 && (q - 1) * PM_TIMER_HZ >= x) q--;
  return s * 1e9 + q;
}

export class AcpiPm implements PortHandler, Snapshottable {
  readonly name = 'acpi-pm';
  private sts = 0;
  private en = 0;
  private cnt = PM1_CNT.SCI_EN;
  /** Bit-23 period index (ticks >> 23) when TMR_STS was last cleared. */
  private tmrEpoch = 0;
  private readonly timer: Timer;
  /** Called when the guest enters a sleeping state (SLP_EN); SLP_TYP is passed. */
  onSleep: ((slpTyp: number) => void) | null = null;

  constructor(private readonly clock: Clock, private readonly sci: IrqLine, readonly base = ACPI_PM_BASE) {
    this.timer = clock.addTimer('acpi-pm-timer', () => this.update());
  }

  attach(io: IoBus): void {
    io.register(this.base, 6, this);
    io.register(this.base + 8, 4, this);
  }

  private ticks(): number { return pmTimerTicks(this.clock.nowNs()); }

  /** PM1_STS with TMR_STS folded in. */
  private status(): number {
    return this.sts | (Math.floor(this.ticks() / 0x800000) !== this.tmrEpoch ? PM1_STS.TMR : 0);
  }

  /** Recompute the SCI level; while TMR_EN is set, wake at the next bit-23 change. */
  private update(): void {
    const st = this.status();
    this.sci.set((st & this.en) !== 0);
    if ((this.en & PM1_STS.TMR) !== 0 && (st & PM1_STS.TMR) === 0) this.clock.arm(this.timer, pmTickNs((this.tmrEpoch + 1) * 0x800000));
    else this.clock.arm(this.timer, Infinity);
  }

  /** Press the power button (fixed feature): PWRBTN_STS, an SCI if enabled. */
  pressPowerButton(): void { this.sts |= PM1_STS.PWRBTN; this.update(); }

  private readByte(port: number, tmr: number): number {
    const off = port - this.base;
    switch (off) {
      case 0: return this.status() & 0xff;
      case 1: return this.status() >>> 8;
      case 2: return this.en & 0xff;
      case 3: return this.en >>> 8;
      case 4: return this.cnt & 0xff;
      case 5: return (this.cnt >>> 8) & 0xff;
      case 8: case 9: case 10: case 11: return (tmr >>> (8 * (off - 8))) & 0xff;
      default: return 0xff;
    }
  }

  in(port: number, size: number): number {
    const tmr = this.ticks() % TWO24;                      // one sample for a whole access
    let v = 0;
    for (let k = 0; k < size; k++) v |= this.readByte(port + k, tmr) << (8 * k);
    return size === 4 ? v | 0 : v;
  }

  out(port: number, size: number, value: number): void {
    const off = port - this.base;
    // Assemble the 16-bit halves the access touches, then apply them as registers.
    for (let k = 0; k < size; k++) {
      const o = off + k, b = (value >>> (8 * k)) & 0xff;
      switch (o) {
        case 0: this.clearStatus(b); break;
        case 1: this.clearStatus(b << 8); break;
        case 2: this.en = (this.en & 0xff00) | (b & PM1_EN_WRITABLE); break;
        case 3: this.en = (this.en & 0x00ff) | ((b << 8) & PM1_EN_WRITABLE); break;
        case 4: this.cnt = (this.cnt & 0xff00) | (b & PM1_CNT.BM_RLD) | PM1_CNT.SCI_EN; break;
        case 5: this.writeCntHigh(b); break;
        default: break;                                    // PM timer: read-only
      }
    }
    this.update();
  }

  private clearStatus(bits: number): void {
    this.sts &= ~bits;
    if ((bits & PM1_STS.TMR) !== 0) this.tmrEpoch = Math.floor(this.ticks() / 0x800000);
  }

  private writeCntHigh(b: number): void {
    const v = b << 8;
    this.cnt = (this.cnt & 0xff) | (v & (7 << PM1_CNT.SLP_TYP_SHIFT));
    if ((v & PM1_CNT.SLP_EN) !== 0 && this.onSleep) this.onSleep((v >>> PM1_CNT.SLP_TYP_SHIFT) & 7);
  }

  save(): unknown { return { sts: this.sts, en: this.en, cnt: this.cnt, tmrEpoch: this.tmrEpoch }; }
  restore(state: unknown): void {
    const s = asRecord(state, this.name);
    this.sts = num(s, 'sts'); this.en = num(s, 'en'); this.cnt = num(s, 'cnt'); this.tmrEpoch = num(s, 'tmrEpoch');
    this.update();
  }
}
