// Shared plumbing for the 8-bit ISA devices: byte-wide register files on the port bus.

import type { IoBus, PortHandler } from '../bus.js';

/**
 * A device whose registers are bytes at consecutive ports. A 16- or 32-bit IN/OUT on an 8-bit ISA
 * device is split by the bus into byte cycles at port, port+1, ... (low byte first); bytes that
 * fall outside the device's own ports read as 0xff (floating bus) and are dropped on writes.
 */
export abstract class ByteDevice implements PortHandler {
  abstract readonly name: string;
  /** Read the byte register at `port` (one of the device's own ports). */
  protected abstract inb(port: number): number;
  /** Write the byte register at `port`. */
  protected abstract outb(port: number, value: number): void;
  /** Ports this device answers, as [base, count] ranges (set by `claim`). */
  private ranges: number[] = [];

  /** Register `count` ports from `base` on the bus for this device. */
  protected claim(io: IoBus, base: number, count: number): void {
    io.register(base, count, this);
    this.ranges.push(base, count);
  }

  private owns(port: number): boolean {
    const r = this.ranges;
    for (let k = 0; k < r.length; k += 2) if (port >= r[k] && port < r[k] + r[k + 1]) return true;
    return false;
  }

  in(port: number, size: number): number {
    if (size === 1) return this.inb(port) & 0xff;
    let v = 0;
    for (let k = 0; k < size; k++) {
      const p = (port + k) & 0xffff;
      v |= (this.owns(p) ? this.inb(p) & 0xff : 0xff) << (8 * k);
    }
    return size === 4 ? v : v & 0xffff;
  }

  out(port: number, size: number, value: number): void {
    if (size === 1) { this.outb(port, value & 0xff); return; }
    for (let k = 0; k < size; k++) {
      const p = (port + k) & 0xffff;
      if (this.owns(p)) this.outb(p, (value >>> (8 * k)) & 0xff);
    }
  }
}

/** Binary → packed BCD (0..99). */
export function toBcd(v: number): number { return ((v / 10) | 0) << 4 | (v % 10); }
/** Packed BCD → binary (each nibble taken as is, as the chips do). */
export function fromBcd(v: number): number { return (v >> 4) * 10 + (v & 15); }

/** Narrow an unknown snapshot to a record (restore() receives plain JSON data). */
export function asRecord(state: unknown, device: string): Record<string, unknown> {
  if (typeof state !== 'object' || state === null) throw new Error(`${device}: bad snapshot`);
  return state as Record<string, unknown>;
}
/** A numeric field of a snapshot. */
export function num(s: Record<string, unknown>, key: string): number {
  const v = s[key];
  if (typeof v !== 'number') throw new Error(`snapshot field '${key}' is not a number`);
  return v;
}
/** A boolean field of a snapshot. */
export function bool(s: Record<string, unknown>, key: string): boolean {
  const v = s[key];
  if (typeof v !== 'boolean') throw new Error(`snapshot field '${key}' is not a boolean`);
  return v;
}
/** A numeric array field of a snapshot. */
export function nums(s: Record<string, unknown>, key: string): number[] {
  const v = s[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new Error(`snapshot field '${key}' is not a number array`);
  return v as number[];
}
