// Port I/O bus and the narrow interfaces devices implement.
// Devices never see the CPU: they see ports, an IRQ line and the clock.

/** A device's port range handler. `size` is 1, 2 or 4 bytes. */
export interface PortHandler {
  readonly name: string;
  in(port: number, size: number): number;
  out(port: number, size: number, value: number): void;
}

/** An interrupt request line into an interrupt controller (edge or level, the controller decides). */
export interface IrqLine {
  /** Set the line level: true = asserted. Edge-triggered controllers latch a low→high transition. */
  set(level: boolean): void;
}

/** Devices that can save and restore their state (plain JSON-compatible data). */
export interface Snapshottable {
  save(): unknown;
  restore(state: unknown): void;
}

const PORTS = 0x10000;

export class IoBus {
  private readonly handlers: (PortHandler | undefined)[] = new Array(PORTS).fill(undefined);
  /** Called for an access to a port nobody claims; default: reads float high, writes dropped. */
  onUnclaimed: ((port: number, size: number, write: boolean, value: number) => number) | null = null;

  register(base: number, count: number, h: PortHandler): void {
    for (let p = base; p < base + count; p++) {
      const old = this.handlers[p];
      if (old) throw new Error(`I/O port 0x${p.toString(16)} claimed by both ${old.name} and ${h.name}`);
      this.handlers[p] = h;
    }
  }

  handlerAt(port: number): PortHandler | undefined { return this.handlers[port & 0xffff]; }

  in(port: number, size: number): number {
    port &= 0xffff;
    const h = this.handlers[port];
    if (h) return h.in(port, size);
    if (this.onUnclaimed) return this.onUnclaimed(port, size, false, 0);
    return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  }

  out(port: number, size: number, value: number): void {
    port &= 0xffff;
    const h = this.handlers[port];
    if (h) { h.out(port, size, value); return; }
    if (this.onUnclaimed) this.onUnclaimed(port, size, true, value);
  }
}
