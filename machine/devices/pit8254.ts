// Intel 8254 programmable interval timer (ports 0x40-0x43) and the PC/AT system control port B
// (0x61), which carries counter 2's gate (bit 0) and output (bit 5).
//
// Facts from the Intel 82C54 datasheet (231244): 1.193182 MHz input on a PC; control word
// SC1 SC0 RW1 RW0 M2 M1 M0 BCD; RW = 00 is the counter latch command, SC = 11 the read-back
// command (bit 5 = /COUNT, bit 4 = /STATUS, bits 3-1 = counters 2-0); status byte = OUT, NULL COUNT,
// then the counter's control bits. A count written to the count register (CR) is loaded into the
// counting element (CE) on the next CLK pulse, so mode 0's OUT goes high N+1 pulses after the write.
// Count 0 is the maximum (2^16 binary, 10^4 BCD).
//   Mode 0  interrupt on terminal count: OUT low from the control word until CE reaches 0; writing
//           the first byte of a two-byte count stops counting.
//   Mode 1  hardware-retriggerable one-shot: gate rising edge starts it; OUT low for N pulses.
//   Mode 2  rate generator: OUT low for one pulse when CE = 1, period N; gate low stops it and
//           forces OUT high, gate rising edge reloads. A new count takes effect at the next reload.
//   Mode 3  square wave: OUT high for ceil(N/2), low for floor(N/2); CE counts down by two.
//   Mode 4  software strobe: OUT low for one pulse when CE reaches 0 (N+1 pulses after the write).
//   Mode 5  hardware strobe: as mode 4, started by a gate rising edge.
//
// Nothing is simulated per tick: every counter keeps the global tick at which its CE was loaded
// and the CE value, OUT level and next OUT transition are computed from the virtual clock, in
// integer ticks (tick k happens at ceil(k * 10^9 / 1193182) ns), so periodic modes never drift.
// Only counter 0 (OUT → IRQ0) arms a clock timer, at its next OUT transition. In modes 2, 4 and 5
// the one-tick low pulse is delivered as a low→high edge at the tick OUT rises again.
// Simplifications (documented): a count written in mode 3 while counting takes effect at the end of
// the current full period, not half-cycle; odd-count mode 3 shows CE = N-1, N-3, ... in both halves.
// Counters are idle (no count, OUT low) until programmed, as after power-on.

import type { IoBus, IrqLine, Snapshottable } from '../bus.js';
import type { Clock, Timer } from '../clock.js';
import { ByteDevice, asRecord, bool, num } from './portio.js';

/** PIT input clock (Hz): the PC's 14.31818 MHz crystal divided by 12. */
export const PIT_HZ = 1193182;
const NS_PER_S = 1e9;

/** Global PIT tick count at virtual time `ns`: floor(ns * PIT_HZ / 1e9), exact in doubles. */
export function pitTicks(ns: number): number {
  const s = Math.floor(ns / NS_PER_S);
  const r = ns - s * NS_PER_S;
  return s * PIT_HZ + Math.floor((r * PIT_HZ) / NS_PER_S);
}
/** Virtual time (ns, integer) at which tick `k` happens: the least ns with pitTicks(ns) >= k. */
export function pitTickNs(k: number): number {
  const s = Math.floor(k / PIT_HZ);
  const b = k - s * PIT_HZ;
  const x = b * NS_PER_S;                         // < 1.2e15: exact
  let q = Math.floor(x / PIT_HZ);
  while (q * PIT_HZ < x) q++;                     // ceil, corrected for rounding of the division
  while (q > 0 && (q - 1) * PIT_HZ >= x) q--;
  return s * NS_PER_S + q;
}

const enum Run { Idle = 0, Waiting = 1, Running = 2 }
/** System control port B (0x61) bits. */
const PB_GATE2 = 0x01, PB_SPKR = 0x02, PB_WRITABLE = 0x0f, PB_REFRESH = 0x10, PB_OUT2 = 0x20;
/** PC/AT DRAM refresh: port 0x61 bit 4 toggles every 18 PIT ticks (15.085 µs). */
const REFRESH_TICKS = 18;

function bcd4(v: number): number { return ((v / 1000) % 10) << 12 | ((v / 100 | 0) % 10) << 8 | ((v / 10 | 0) % 10) << 4 | v % 10; }
function unbcd4(v: number): number { return ((v >> 12) & 15) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 + (v & 15); }

class Counter {
  /** Control bits as written (RW1 RW0 M2 M1 M0 BCD), for the read-back status. */
  ctrl = 0x30;
  mode = 0;
  rw = 3;
  bcd = false;
  cr = 0;
  writeHi = false;
  crLow = 0;
  readHi = false;
  /** Latched count bytes still to read (0-2) and the latched CE value. */
  latchBytes = 0;
  latchValue = 0;
  statusLatched = false;
  status = 0;
  gate = true;
  run = Run.Idle;
  /** Count in effect (ticks per cycle, 1..65536 or 1..10000). */
  n = 0x10000;
  /** Global tick at which CE was loaded with n (mode 2/3: start of the current run of periods). */
  start = 0;
  /** Gate low in modes 0/2/3/4: counting stopped with `frozenAt` ticks elapsed. */
  frozen = false;
  frozenAt = 0;
  /** CE value and OUT level while idle or before the first load. */
  idleCe = 0;
  idleOut = false;
  /** Mode 2/3: count written while counting, loaded at tick switchAt (-1: none; -2: at the next gate trigger). */
  nextN = 0;
  switchAt = -1;
  /** Tick at which CR was last transferred to CE (NULL COUNT = 1 before it). */
  loadAt = 0;

  modulus(): number { return this.bcd ? 10000 : 0x10000; }
  countOf(cr: number): number { const v = this.bcd ? unbcd4(cr) : cr; return v === 0 ? this.modulus() : v; }

  sync(t: number): void {
    if (this.switchAt >= 0 && t >= this.switchAt) { this.n = this.nextN; this.start = this.switchAt; this.switchAt = -1; }
  }

  elapsed(t: number): number { return this.frozen ? this.frozenAt : t - this.start; }

  /** CE at tick t (numeric, not BCD-encoded). */
  ce(t: number): number {
    if (this.run !== Run.Running) return this.idleCe;
    const e = this.elapsed(t);
    if (e < 0) return this.idleCe;
    const n = this.n, m = this.modulus();
    let v: number;
    switch (this.mode) {
      case 2: v = n - (e % n); break;
      case 3: {
        const p = e % n;
        if ((n & 1) === 0) { const half = n / 2; v = p < half ? n - 2 * p : n - 2 * (p - half); }
        else { const hi = (n + 1) / 2; v = p < hi ? n - 1 - 2 * p : n - 1 - 2 * (p - hi); }
        break;
      }
      default: v = n - e;
    }
    return ((v % m) + m) % m;
  }

  /** OUT at tick t. */
  out(t: number): boolean {
    if (this.run !== Run.Running) return this.idleOut;
    const e = this.elapsed(t);
    if (e < 0) return this.idleOut;
    const n = this.n;
    switch (this.mode) {
      case 0: case 1: return e >= n;
      case 2: return this.frozen || (n > 1 && e % n !== n - 1);   // gate low forces OUT high
      case 3: return this.frozen || e % n < ((n + 1) >>> 1);    // high for ceil(N/2) ticks
      default: return e !== n;                         // modes 4, 5
    }
  }

  /** Next tick > t at which OUT changes (rises, for the pulse modes 2/4/5); -1 if none. */
  nextEvent(t: number): number {
    if (this.run !== Run.Running || this.frozen) return -1;
    const e = t - this.start, n = this.n;
    switch (this.mode) {
      case 0: case 1: return e < n ? this.start + n : -1;
      case 4: case 5: return e < n + 1 ? this.start + n + 1 : -1;
      case 2: {
        if (n < 2) return -1;
        const next = this.start + (e < 0 ? 1 : Math.floor(e / n) + 1) * n;
        return this.switchAt >= 0 && this.switchAt < next ? this.switchAt : next;
      }
      default: {
        if (n < 2) return -1;
        const hi = Math.ceil(n / 2);
        const base = this.start + (e < 0 ? 0 : Math.floor(e / n) * n);
        let next = t < base + hi ? base + hi : base + n;
        if (this.switchAt >= 0 && this.switchAt < next) next = this.switchAt;
        return next;
      }
    }
  }

  /** True if the event at nextEvent() is a one-tick pulse delivered as low→high. */
  pulses(): boolean { return this.mode === 2 || this.mode === 4 || this.mode === 5; }

  control(v: number, t: number): void {
    this.idleCe = this.ce(t);
    this.ctrl = v & 0x3f;
    this.rw = (v >> 4) & 3;
    const m = (v >> 1) & 7;
    this.mode = m > 5 ? m - 4 : m;
    this.bcd = (v & 1) !== 0;
    this.writeHi = false; this.readHi = false;
    this.latchBytes = 0; this.statusLatched = false;
    this.run = Run.Idle; this.frozen = false; this.switchAt = -1;
    this.loadAt = Infinity;                         // NULL COUNT = 1 until a count is loaded
    this.idleOut = this.mode !== 0;
  }

  /** A complete count was written to CR at tick t. */
  load(t: number): void {
    const n = this.countOf(this.cr);
    switch (this.mode) {
      case 1: case 5:
        if (this.run === Run.Idle) { this.run = Run.Waiting; this.loadAt = Infinity; }
        return;   // used at the next trigger
      case 2: case 3:
        if (this.run === Run.Running && !this.frozen && t >= this.start) {
          this.sync(t);
          const e = t - this.start;
          this.nextN = n;
          this.switchAt = this.start + (Math.floor(e / this.n) + 1) * this.n;
          this.loadAt = this.switchAt;
          return;
        }
        break;
      default: break;
    }
    this.n = n;
    this.start = t + 1;
    this.loadAt = t + 1;
    this.run = Run.Running;
    this.switchAt = -1;
    this.frozen = !this.gate && this.mode !== 1 && this.mode !== 5;
    this.frozenAt = 0;
    // Until the loading CLK pulse the datasheet leaves the CE's content undefined; it reads as the
    // new count. On a PC an ISA port read takes about 1 µs, longer than a CLK period (838 ns), so
    // software never sees anything else: Linux's quick_pit_calibrate writes 0xFFFF to counter 2
    // and expects the very next reads to give MSB 0xFF (here a port read costs 1 ns).
    this.idleCe = n;
  }

  setGate(g: boolean, t: number): void {
    if (g === this.gate) return;
    this.sync(t);
    this.gate = g;
    if (!g) {
      if (this.run === Run.Running && (this.mode === 0 || this.mode === 2 || this.mode === 3 || this.mode === 4) && !this.frozen) {
        this.frozenAt = Math.max(0, t - this.start);
        if (t < this.start) this.idleCe = this.n;
        this.frozen = true;
        if (this.switchAt >= 0) { this.switchAt = -2; this.loadAt = Infinity; }   // loaded at the next trigger
      }
      return;
    }
    // Rising edge.
    switch (this.mode) {
      case 1: case 5:
        if (this.run !== Run.Idle) { this.n = this.countOf(this.cr); this.idleCe = this.n; this.start = t + 1; this.loadAt = t + 1; this.run = Run.Running; }
        break;
      case 2: case 3:
        if (this.run === Run.Running) {
          if (this.switchAt !== -1) { this.n = this.nextN; this.switchAt = -1; }
          this.start = t + 1; this.loadAt = t + 1; this.frozen = false;
        }
        break;
      default:
        if (this.run === Run.Running && this.frozen) { this.start = t - this.frozenAt; this.frozen = false; }
    }
  }

  writeCount(v: number, t: number): void {
    switch (this.rw) {
      case 1: this.cr = v; this.load(t); break;
      case 2: this.cr = v << 8; this.load(t); break;
      default:
        if (!this.writeHi) {
          this.crLow = v; this.writeHi = true;
          if (this.mode === 0) {
            // Mode 0: writing the first byte stops counting and sets OUT low at once.
            this.idleCe = this.ce(t); this.run = Run.Idle; this.frozen = false; this.idleOut = false;
          }
        } else {
          this.cr = this.crLow | (v << 8); this.writeHi = false; this.load(t);
        }
    }
  }

  latchCount(t: number): void {
    if (this.latchBytes !== 0) return;              // a second latch before reading is ignored
    const v = this.ce(t);
    this.latchValue = this.bcd ? bcd4(v) : v;
    this.latchBytes = this.rw === 3 ? 2 : 1;
  }

  latchStatus(t: number): void {
    if (this.statusLatched) return;
    this.status = (this.out(t) ? 0x80 : 0) | (t < this.loadAt ? 0x40 : 0) | this.ctrl;
    this.statusLatched = true;
  }

  read(t: number): number {
    if (this.statusLatched) { this.statusLatched = false; return this.status; }
    let v: number;
    if (this.latchBytes > 0) { v = this.latchValue; this.latchBytes--; }
    else { const c = this.ce(t); v = this.bcd ? bcd4(c) : c; }
    switch (this.rw) {
      case 1: return v & 0xff;
      case 2: return (v >> 8) & 0xff;
      default: {
        const hi = this.readHi;
        this.readHi = !hi;
        return hi ? (v >> 8) & 0xff : v & 0xff;
      }
    }
  }

  save(): Record<string, number | boolean> {
    const s: Record<string, number | boolean> = {};
    for (const k of COUNTER_FIELDS) s[k] = (this as unknown as Record<string, number | boolean>)[k];
    if (s.loadAt === Infinity) s.loadAt = -1;
    return s;
  }
  restore(s: Record<string, unknown>): void {
    const me = this as unknown as Record<string, number | boolean>;
    for (const k of COUNTER_FIELDS) me[k] = typeof me[k] === 'boolean' ? bool(s, k) : num(s, k);
    if (this.loadAt === -1) this.loadAt = Infinity;
  }
}
const COUNTER_FIELDS = ['ctrl', 'mode', 'rw', 'bcd', 'cr', 'writeHi', 'crLow', 'readHi', 'latchBytes', 'latchValue',
  'statusLatched', 'status', 'gate', 'run', 'n', 'start', 'frozen', 'frozenAt', 'idleCe', 'idleOut', 'nextN', 'switchAt', 'loadAt'] as const;

export class Pit8254 extends ByteDevice implements Snapshottable {
  readonly name = 'pit8254';
  private readonly counters = [new Counter(), new Counter(), new Counter()];
  private readonly timer: Timer;
  /** Port 0x61 bits 0-3 as written. */
  private portB = 0;
  /** Level last driven on IRQ0. */
  private irqLevel = false;
  /** Tick of the armed channel 0 event (-1: none). */
  private eventTick = -1;

  constructor(private readonly clock: Clock, private readonly irq0: IrqLine) {
    super();
    this.timer = clock.addTimer('pit0', (ns) => this.onTimer(ns));
    this.counters[2].gate = false;
  }

  attach(io: IoBus): void {
    this.claim(io, 0x40, 4);
    this.claim(io, 0x61, 1);
  }

  private now(): number { return pitTicks(this.clock.nowNs()); }

  protected inb(port: number): number {
    const t = this.now();
    if (port === 0x61) {
      const c2 = this.counters[2];
      c2.sync(t);
      return (this.portB & PB_WRITABLE) | ((Math.floor(t / REFRESH_TICKS) & 1) !== 0 ? PB_REFRESH : 0) | (c2.out(t) ? PB_OUT2 : 0);
    }
    if (port === 0x43) return 0xff;                 // the control register cannot be read
    const c = this.counters[port - 0x40];
    c.sync(t);
    return c.read(t);
  }

  protected outb(port: number, v: number): void {
    const t = this.now();
    if (port === 0x61) {
      this.portB = v & PB_WRITABLE;
      this.counters[2].setGate((v & PB_GATE2) !== 0, t);
      return;
    }
    if (port === 0x43) {
      const sc = v >> 6;
      if (sc === 3) {
        // Read-back: bit 5 = /COUNT, bit 4 = /STATUS, bits 3-1 select counters 2-0.
        for (let k = 0; k < 3; k++) {
          if ((v & (2 << k)) === 0) continue;
          const c = this.counters[k];
          c.sync(t);
          if ((v & 0x10) === 0) c.latchStatus(t);
          if ((v & 0x20) === 0) c.latchCount(t);
        }
        return;
      }
      const c = this.counters[sc];
      c.sync(t);
      if ((v & 0x30) === 0) c.latchCount(t);
      else c.control(v, t);
      if (sc === 0) this.reschedule(t);
      return;
    }
    const k = port - 0x40;
    const c = this.counters[k];
    c.sync(t);
    c.writeCount(v, t);
    if (k === 0) this.reschedule(t);
  }

  /** Drive IRQ0 from counter 0's OUT now and arm the timer for its next transition. */
  private reschedule(t: number): void {
    const c = this.counters[0];
    this.setIrq(c.out(t));
    const ev = c.nextEvent(t);
    this.eventTick = ev;
    this.clock.arm(this.timer, ev < 0 ? Infinity : pitTickNs(ev));
  }

  private setIrq(level: boolean): void {
    if (level !== this.irqLevel) { this.irqLevel = level; this.irq0.set(level); }
  }

  private onTimer(ns: number): void {
    const t = pitTicks(ns);
    const c = this.counters[0];
    c.sync(t);
    if (this.eventTick >= 0 && c.pulses()) this.setIrq(false);
    this.reschedule(t);
  }

  /** Port 0x61 as a guest would read it (for tests and debugging). */
  portBValue(): number { return this.inb(0x61); }

  save(): unknown {
    return { portB: this.portB, irqLevel: this.irqLevel, counters: this.counters.map((c) => c.save()) };
  }
  restore(state: unknown): void {
    const s = asRecord(state, this.name);
    this.portB = num(s, 'portB');
    this.irqLevel = bool(s, 'irqLevel');
    const cs = s.counters;
    if (!Array.isArray(cs) || cs.length !== 3) throw new Error(`${this.name}: bad snapshot`);
    for (let k = 0; k < 3; k++) this.counters[k].restore(asRecord(cs[k], this.name));
    const t = this.now();
    const c = this.counters[0];
    c.sync(t);
    const ev = c.nextEvent(t);
    this.eventTick = ev;
    this.timer.deadline = ev < 0 ? Infinity : pitTickNs(ev);
  }
}
