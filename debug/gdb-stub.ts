// GDB remote serial protocol (GDB manual, appendix "Remote Protocol"): packet framing, checksums,
// acknowledgments and the commands GDB uses for a bare-metal i386 target, against a DebugTarget.
// Browser-safe: bytes come in through receive() and go out through the host's send(); the TCP
// listener lives in cli/gdb-server.ts (a browser could use a WebSocket the same way).
//
// One thread (the CPU). Data is passed as "binary strings" (one char per byte, latin1).
// Execution is asynchronous: after `c`/`s` the stub replies nothing until the host's run loop
// sees the target stop and calls reportStop() (or GDB sends Ctrl-C, byte 0x03).

import type { DebugTarget, PointKind, StopEvent } from './target.js';
import { targetXml } from './gdb-tdesc.js';
import { stopText } from './monitor.js';

export interface GdbStubHost {
  /** Send raw bytes (a binary string) to GDB. */
  send(data: string): void;
  /** GDB asked to kill the target (`k`, `vKill`). */
  onKill?(): void;
  /** GDB detached (`D`): the target was resumed without breakpoints. */
  onDetach?(): void;
}

/** GDB's signal numbers (gdb/signals.def, also used on the wire). */
const SIG = { INT: 2, ILL: 4, TRAP: 5, ABRT: 6, SEGV: 11, XCPU: 24 } as const;

const POINT_KINDS: PointKind[] = ['sw', 'hw', 'write', 'read', 'access'];
const MAX_PACKET = 0x4000;

function hexOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}
function bytesOf(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let k = 0; k < out.length; k++) out[k] = parseInt(hex.substr(2 * k, 2), 16);
  return out;
}
function textHex(s: string): string { return hexOf(new TextEncoder().encode(s)); }
function checksum(s: string): string {
  let c = 0;
  for (let k = 0; k < s.length; k++) c = (c + s.charCodeAt(k)) & 0xff;
  return c.toString(16).padStart(2, '0');
}
/** Escape `$ # } *` in binary reply data (RSP "Binary Data"). */
function escapeBinary(s: string): string { return s.replace(/[$#}*]/g, (ch) => '}' + String.fromCharCode(ch.charCodeAt(0) ^ 0x20)); }
function unescapeBinary(s: string): string { return s.replace(/}([\s\S])/g, (_, ch: string) => String.fromCharCode(ch.charCodeAt(0) ^ 0x20)); }

export class GdbStub {
  private inbuf = '';
  private noAck = false;
  private lastPacket = '';
  /** GDB waits for a stop reply (after c, s, vCont). */
  private waiting = false;
  private gdbFeatures = new Set<string>();
  private readonly xml = targetXml();
  /** Packets handled (for tests and stats). */
  packets = 0;

  constructor(readonly target: DebugTarget, private readonly host: GdbStubHost) {}

  /** GDB is waiting for the target to stop. */
  get awaitingStop(): boolean { return this.waiting; }

  /** Bytes from GDB (a binary string). */
  receive(data: string): void {
    this.inbuf += data;
    for (;;) {
      const buf = this.inbuf;
      if (buf.length === 0) return;
      const ch = buf[0];
      if (ch === '+') { this.inbuf = buf.slice(1); continue; }
      if (ch === '-') { this.inbuf = buf.slice(1); if (this.lastPacket) this.host.send(this.lastPacket); continue; }
      if (ch === '\x03') { this.inbuf = buf.slice(1); this.interrupt(); continue; }
      if (ch !== '$') { this.inbuf = buf.slice(1); continue; } // noise between packets
      const hash = buf.indexOf('#');
      if (hash < 0 || buf.length < hash + 3) return; // incomplete
      const body = buf.slice(1, hash), sum = buf.slice(hash + 1, hash + 3);
      this.inbuf = buf.slice(hash + 3);
      if (!this.noAck) {
        if (checksum(body) !== sum.toLowerCase()) { this.host.send('-'); continue; }
        this.host.send('+');
      }
      this.packets++;
      const reply = this.handle(body);
      if (reply !== null) this.sendPacket(reply);
    }
  }

  private sendPacket(data: string): void {
    const p = `$${data}#${checksum(data)}`;
    this.lastPacket = p;
    this.host.send(p);
  }

  /** Console output for GDB ('O' packets: only while the target runs, i.e. before a stop reply). */
  private console(text: string): void {
    for (let k = 0; k < text.length; k += 400) this.sendPacket('O' + textHex(text.slice(k, k + 400)));
  }

  private interrupt(): void {
    if (!this.waiting) return;
    this.reportStop(this.target.interrupt());
  }

  /** The target stopped: send the stop reply GDB is waiting for. */
  reportStop(ev: StopEvent): void {
    if (!this.waiting) return;
    this.waiting = false;
    if (ev.kind === 'ended' && !this.exited(ev)) {
      const first = ev.result.message.split('\n')[0];
      this.console(`tsvisor: the machine stopped: ${ev.result.end}: ${first}\n(monitor why: full report; the machine cannot continue)\n`);
    }
    this.sendPacket(this.stopReply(ev));
  }

  /** Ends that are a normal exit of the guest (reported as process exit 'W'). */
  private exited(ev: StopEvent): boolean {
    return ev.kind === 'ended' && (ev.result.end === 'debug-exit' || ev.result.end === 'power-off' || ev.result.end === 'reset');
  }

  private stopReply(ev: StopEvent): string {
    if (ev.kind === 'ended' && this.exited(ev)) return `W${(ev.result.status & 0xff).toString(16).padStart(2, '0')}`;
    let sig: number = SIG.TRAP, extra = '';
    switch (ev.kind) {
      case 'interrupt': sig = SIG.INT; break;
      case 'breakpoint':
        if (ev.hw && this.gdbFeatures.has('hwbreak')) extra = 'hwbreak:;';
        else if (!ev.hw && this.gdbFeatures.has('swbreak')) extra = 'swbreak:;';
        break;
      case 'watch': extra = `${ev.type === 'write' ? 'watch' : ev.type === 'read' ? 'rwatch' : 'awatch'}:${(ev.addr >>> 0).toString(16)};`; break;
      case 'ended': {
        const e = ev.result.end;
        sig = e === 'triple-fault' ? SIG.SEGV : e === 'unsupported' ? SIG.ILL : e === 'hypervisor-halt' ? SIG.ABRT : e === 'instruction-limit' ? SIG.XCPU : SIG.TRAP;
        break;
      }
      default: break;
    }
    // Expedite ESP, EBP and EIP (register numbers 4, 5, 8), so GDB need not ask for them.
    const regs = [4, 5, 8].map((n) => `${n.toString(16).padStart(2, '0')}:${hexOf(this.target.readRegister(n))};`).join('');
    return `T${sig.toString(16).padStart(2, '0')}${regs}thread:1;${extra}`;
  }

  private handle(p: string): string | null {
    const t = this.target;
    const c = p[0];
    switch (c) {
      case '?': return this.stopReply(t.lastStop);
      case 'g': return t.registers.map((_, k) => hexOf(t.readRegister(k))).join('');
      case 'G': {
        let pos = 1;
        for (let k = 0; k < t.registers.length && pos < p.length; k++) {
          const n = t.registers[k].bits / 4;
          t.writeRegister(k, bytesOf(p.substr(pos, n)));
          pos += n;
        }
        return 'OK';
      }
      case 'p': {
        const n = parseInt(p.slice(1), 16);
        return n < t.registers.length ? hexOf(t.readRegister(n)) : 'E45';
      }
      case 'P': {
        const [n, v] = p.slice(1).split('=');
        const k = parseInt(n, 16);
        return k < t.registers.length && t.writeRegister(k, bytesOf(v)) ? 'OK' : 'E45';
      }
      case 'm': {
        const [a, l] = p.slice(1).split(',').map((x) => parseInt(x, 16));
        const data = t.readMemory(a >>> 0, Math.min(l, MAX_PACKET / 2 - 16), 'linear');
        return data.length > 0 || l === 0 ? hexOf(data) : 'E14';
      }
      case 'M': case 'X': {
        const colon = p.indexOf(':');
        const [a, l] = p.slice(1, colon).split(',').map((x) => parseInt(x, 16));
        const raw = p.slice(colon + 1);
        const data = c === 'M' ? bytesOf(raw) : Uint8Array.from(unescapeBinary(raw), (ch) => ch.charCodeAt(0));
        if (data.length !== l) return 'E01';
        return t.writeMemory(a >>> 0, data, 'linear') === l ? 'OK' : 'E14';
      }
      case 'c': case 's': case 'C': case 'S': {
        // c [addr] / s [addr] / C sig[;addr] / S sig[;addr]: the signal is dropped (nothing to deliver it to).
        const arg = c === 'c' || c === 's' ? p.slice(1) : (p.split(';')[1] ?? '');
        if (arg) { const pc = new Uint8Array(4); new DataView(pc.buffer).setUint32(0, parseInt(arg, 16) >>> 0, true); t.writeRegister(8, pc); }
        return this.resume(c === 's' || c === 'S');
      }
      case 'Z': case 'z': {
        const [type, addr, kind] = p.slice(1).split(',').map((x) => parseInt(x, 16));
        const k = POINT_KINDS[type];
        if (k === undefined) return '';
        const len = type <= 1 ? 1 : kind;
        return (c === 'Z' ? t.insertPoint(k, addr >>> 0, len) : t.removePoint(k, addr >>> 0, len)) || c === 'z' ? 'OK' : 'E01';
      }
      case 'H': case 'T': return 'OK';
      case 'D': {
        t.clearPoints();
        this.sendPacket('OK');
        this.host.onDetach?.();
        return null;
      }
      case 'k': this.host.onKill?.(); return null;
      case 'v': return this.handleV(p);
      case 'q': case 'Q': return this.handleQ(p);
      default: return '';
    }
  }

  private resume(step: boolean): string | null {
    const t = this.target;
    t.resume(step);
    this.waiting = true;
    if (t.ended !== null) { this.reportStop({ kind: 'ended', result: t.ended }); return null; }
    return null; // the reply comes with the stop
  }

  private handleV(p: string): string | null {
    if (p === 'vCont?') return 'vCont;c;C;s;S;t';
    if (p.startsWith('vCont;')) {
      // One thread: the first action decides (GDB lists the thread's own action first).
      const action = p.slice(6).split(';')[0].split(':')[0];
      if (action === 't') { if (this.target.running) this.target.interrupt(); return 'OK'; }
      return this.resume(action[0] === 's' || action[0] === 'S');
    }
    if (p.startsWith('vKill')) { this.host.onKill?.(); return 'OK'; }
    return ''; // vMustReplyEmpty, vFile, vRun...: not supported
  }

  private handleQ(p: string): string | null {
    if (p.startsWith('qSupported')) {
      for (const f of (p.split(':')[1] ?? '').split(';')) if (f.endsWith('+')) this.gdbFeatures.add(f.slice(0, -1));
      return `PacketSize=${MAX_PACKET.toString(16)};qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+`;
    }
    if (p === 'QStartNoAckMode') { this.sendPacket('OK'); this.noAck = true; return null; }
    if (p.startsWith('qXfer:features:read:')) {
      const m = /^qXfer:features:read:([^:]*):([0-9a-f]+),([0-9a-f]+)$/i.exec(p);
      if (m === null || m[1] !== 'target.xml') return 'E00';
      const off = parseInt(m[2], 16), len = parseInt(m[3], 16);
      const chunk = this.xml.slice(off, off + len);
      return (off + len >= this.xml.length ? 'l' : 'm') + escapeBinary(chunk);
    }
    if (p.startsWith('qRcmd,')) {
      const cmd = new TextDecoder().decode(bytesOf(p.slice(6)));
      const out = this.target.monitor(cmd);
      const text = out.endsWith('\n') ? out : out + '\n';
      // Output as 'O' packets, then OK (long output does not fit one reply).
      this.console(text);
      return 'OK';
    }
    if (p === 'qC') return 'QC1';
    if (p === 'qfThreadInfo') return 'm1';
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qAttached')) return '1';
    if (p.startsWith('qThreadExtraInfo')) return textHex(`CPU 0, ${this.target.running ? 'running' : stopText(this.target.lastStop)}`);
    if (p.startsWith('qSymbol')) return 'OK';
    return ''; // qTStatus, qOffsets, qTfV, ...: not supported
  }
}
