// Drive a Linux guest on the machine through its serial console: boot Debian's kernel with the
// busybox initramfs (cache/linux/, scripts/fetch-linux.mjs), wait for output, type commands on
// COM1 and collect what they print. Everything happens at instruction counts fixed by the guest's
// own behaviour (slices of SLICE instructions, input typed at slice boundaries), so two sessions
// with the same script see the same serial bytes, bare or hypervised.
// Also a worker-thread entry (test/linux-e2e*.test.ts run sessions in parallel).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Machine, End, type RunResult } from '../../machine/machine.js';
import { Hypervisor, HOST_MEM_BYTES } from '../../hypervisor/hypervisor.js';
import { INIT_READY_MARKER } from '../../machine/boot/initramfs.js';
import { CR4 } from '../../machine/cpu/arch.js';

export const ROOT = new URL('../../..', import.meta.url).pathname;
export const LINUX_DIR = join(ROOT, 'cache', 'linux');
/** Instructions per slice: input and checks happen between slices. */
export const SLICE = 2_000_000;
/** The busybox shell's prompt (PS1 '\w # ' in /root, see machine/boot/initramfs.ts). */
export const PROMPT = '/root # ';

export interface SessionOptions {
  hypervisor: boolean;
  cmdline: string;
  memMiB?: number;
}

export interface Mark { what: string; insns: number; wallMs: number; outLen: number }

export class LinuxSession {
  readonly m: Machine;
  readonly hv: Hypervisor | null;
  readonly hvLog: string[] = [];
  /** Serial output so far (bytes as latin1 characters). */
  out = '';
  private readonly chunks: number[] = [];
  readonly marks: Mark[] = [];
  /** Output length when the first byte of input was typed (-1: none yet). */
  firstInputAt = -1;
  result: RunResult | null = null;
  private readonly t0 = performance.now();

  constructor(kernel: Uint8Array, initrd: Uint8Array, readonly opts: SessionOptions) {
    const hv = opts.hypervisor;
    this.m = new Machine({
      memBytes: (opts.memMiB ?? 128) << 20, onSerial: (b) => { this.chunks.push(b); },
      hostMemBytes: hv ? HOST_MEM_BYTES : 0,
    });
    this.m.loadLinux(kernel, { cmdline: opts.cmdline, initrd });
    this.hv = hv ? new Hypervisor(this.m.vmx, this.m.mem, { log: (l) => this.hvLog.push(l) }) : null;
    this.hv?.launch();
  }

  static fromCache(opts: SessionOptions): LinuxSession {
    const k = new Uint8Array(readFileSync(join(LINUX_DIR, 'bzImage')));
    const i = new Uint8Array(readFileSync(join(LINUX_DIR, 'initramfs.cpio.gz')));
    return new LinuxSession(k, i, opts);
  }

  get insns(): number { return this.m.clock.insns; }

  mark(what: string): Mark {
    const k = { what, insns: this.insns, wallMs: performance.now() - this.t0, outLen: this.out.length };
    this.marks.push(k);
    return k;
  }

  private drain(): void {
    if (this.chunks.length === 0) return;
    this.out += String.fromCharCode(...this.chunks.splice(0, 4096));
    if (this.chunks.length > 0) this.drain();
  }

  /** Run one slice of at most `budget` instructions and collect the output; the result if the machine stopped. */
  step(budget = SLICE): RunResult | null {
    const r = this.m.runSlice(budget);
    this.drain();
    if (r) this.result = r;
    return r;
  }

  /**
   * Run slices until `done()` holds (checked between slices). Throws if the machine stops, sits
   * idle with nothing but input to wake it, or `maxInsns` more instructions pass first.
   */
  runUntil(done: () => boolean, maxInsns: number, what: string): void {
    const stopAt = this.insns + maxInsns;
    for (;;) {
      if (done()) return;
      if (this.result) throw new Error(`machine stopped (${this.result.end}: ${this.result.message.split('\n')[0]}) while waiting for ${what}\n--- serial tail:\n${this.out.slice(-2000)}`);
      if (this.insns >= stopAt) throw new Error(`no ${what} within ${maxInsns} instructions\n--- serial tail:\n${this.out.slice(-2000)}`);
      const r = this.step(Math.min(SLICE, stopAt - this.insns));
      if (!r && this.m.idle && !done()) throw new Error(`guest idle, waiting for input, while waiting for ${what}\n--- serial tail:\n${this.out.slice(-2000)}`);
    }
  }

  /** Run until `text` appears at or after output offset `from`; returns the offset just after it. */
  waitFor(text: string, from: number, maxInsns: number): number {
    let at = -1;
    this.runUntil(() => (at = this.out.indexOf(text, from)) >= 0, maxInsns, JSON.stringify(text));
    return at + text.length;
  }

  /** Type `s` on COM1 (the host queue is flow-controlled: nothing is lost). */
  type(s: string): void {
    if (this.firstInputAt < 0) this.firstInputAt = this.out.length;
    for (let k = 0; k < s.length; k++) this.m.uart.receive(s.charCodeAt(k) & 0xff);
  }

  /** Boot to the /init marker and the shell's first prompt. */
  boot(maxInsns = 8e9): { marker: Mark; prompt: Mark } {
    const after = this.waitFor(INIT_READY_MARKER, 0, maxInsns);
    const marker = this.mark('init-ready');
    this.waitFor(PROMPT, after, 1e9);
    return { marker, prompt: this.mark('prompt') };
  }

  /**
   * Type a command line, wait until it has run and the shell prompts again; returns what it
   * printed (without the echoed command line, CR-LF → LF) and its exit status. A unique end marker
   * is echoed after the command (written split in two so the echoed input does not contain it).
   */
  command(cmd: string, maxInsns = 2e9): { output: string; status: number } {
    const from = this.out.length;
    this.type(`${cmd}; echo ${ECHO_TAIL}\n`);
    const end = this.waitFor('@@END-', from, maxInsns);
    this.waitFor(PROMPT, end, maxInsns);
    const text = this.out.slice(from);
    const m = /@@END-(\d+)@@/.exec(text);
    if (!m) throw new Error(`no exit status after ${JSON.stringify(cmd)}`);
    // The shell echoes the typed line (wrapped at 80 columns by its line editor): the output
    // starts after the line that ends with the echoed end-marker command.
    const echoed = text.indexOf(ECHO_TAIL);
    if (echoed < 0 || echoed > m.index) throw new Error(`the shell did not echo ${JSON.stringify(cmd)}`);
    const nl = text.indexOf('\n', echoed);
    const body = nl < 0 || nl > m.index ? '' : text.slice(nl + 1, m.index);
    return { output: body.replace(/\r\n/g, '\n').replace(/\r/g, ''), status: Number(m[1]) };
  }

  /** Type a command that ends the run (poweroff, reboot); returns how the machine stopped. */
  finish(cmd: string, maxInsns = 2e9): RunResult {
    this.type(`${cmd}\n`);
    const stopAt = this.insns + maxInsns;
    while (!this.result) {
      if (this.insns >= stopAt) throw new Error(`machine still running ${maxInsns} instructions after ${JSON.stringify(cmd)}\n${this.out.slice(-2000)}`);
      const r = this.step(Math.min(SLICE, stopAt - this.insns));
      if (!r && this.m.idle) throw new Error(`guest idle after ${JSON.stringify(cmd)}\n${this.out.slice(-2000)}`);
    }
    this.hv?.shutdown(this.result.end);
    return this.result;
  }
}

/** What command() appends to a command line: prints @@END-<status>@@, which the echo does not contain. */
const ECHO_TAIL = '"@@E""ND-$?@@"';

/** Kernel console lines ("[    1.234567] ...") that may interleave with a command's output. */
export const KMSG_LINE = /^\[\s*\d+\.\d{6}\] /;
export function withoutKmsg(output: string): string {
  return output.split('\n').filter((l) => !KMSG_LINE.test(l)).join('\n');
}

// ---------------------------------------------------------------- the e2e script (worker entry)
export interface E2eCommand { cmd: string; output: string; status: number }
export interface E2eResult {
  hypervisor: boolean;
  serial: string;
  marker: Mark;
  prompt: Mark;
  commands: E2eCommand[];
  end: { end: End; status: number; message: string };
  firstInputAt: number;
  /** CR4.PAE while the shell ran (the guest's paging mode). */
  cr4Pae: boolean;
  insns: number;
  wallMs: number;
  hvLog: string[];
}

/** The commands every e2e session types, in order (then `poweroff -f`). */
export const E2E_COMMANDS = [
  'cat /proc/cpuinfo',
  'uname -r',
  'i=0; s=0; while [ $i -lt 100 ]; do s=$((s+i)); i=$((i+1)); done; echo $s',
  'cat /proc/interrupts',
  'dmesg',
];

export function runE2e(opts: SessionOptions): E2eResult {
  const s = LinuxSession.fromCache(opts);
  const t0 = performance.now();
  const { marker, prompt } = s.boot();
  const commands = E2E_COMMANDS.map((cmd) => ({ cmd, ...s.command(cmd) }));
  const cr4Pae = (s.m.cpu.cr4 & CR4.PAE) !== 0;
  const r = s.finish('poweroff -f');
  return {
    hypervisor: opts.hypervisor, serial: s.out, marker, prompt, commands, end: { end: r.end, status: r.status, message: r.message },
    firstInputAt: s.firstInputAt, cr4Pae, insns: s.insns, wallMs: performance.now() - t0, hvLog: s.hvLog,
  };
}

if (!isMainThread && parentPort && (workerData as { linuxE2e?: SessionOptions } | null)?.linuxE2e) {
  try {
    parentPort.postMessage({ ok: runE2e((workerData as { linuxE2e: SessionOptions }).linuxE2e) });
  } catch (e) {
    parentPort.postMessage({ error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  }
}
