// tsvisor command line (Node front end). The machine itself is browser-safe; everything that
// touches files, stdio and the process lives here.

import { readFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { parseFlags, helpText, parseCount, UsageError, type FlagSpec } from './args.js';
import { Machine, EXIT_STATUS, End } from '../machine/machine.js';
import { BootError, isMultiboot } from '../machine/boot/multiboot.js';
import { isLinuxImage } from '../machine/boot/linux.js';
import { DEBUG_FLAGS, DebugSession } from './debug-session.js';
import { targetXml } from '../debug/gdb-tdesc.js';
import { Hypervisor, HOST_MEM_BYTES, QUIRKS, type Quirk } from '../hypervisor/hypervisor.js';
import type { HypApp } from '../hypervisor/hypapp.js';
import { ExitStats } from '../hypervisor/hypapps/exit-stats.js';
import { PageProtect } from '../hypervisor/hypapps/page-protect.js';
import { loadIced } from '../debug/disasm.js';

/** Hypapps selectable with --hypapp. */
const HYPAPPS: Record<string, { help: string; make: (log: (l: string) => void) => HypApp }> = {
  'exit-stats': { help: 'count VM exits per reason, port, CR and hypercall; print them at the end', make: (log) => new ExitStats(log) },
  'page-protect': { help: 'EPT write protection of guest pages requested by VMCALL (hypercalls 74730101H-74730103H)', make: () => new PageProtect() },
};

const VERSION = '0.1.0';

const RUN_FLAGS: FlagSpec[] = [
  { name: 'kernel', arg: 'FILE', help: 'guest kernel: a Multiboot v1 image (ELF or a.out-kludge flat binary) or a Linux bzImage' },
  { name: 'initrd', arg: 'FILE', help: 'initial ramdisk for a Linux kernel (cpio archive, may be gzip-compressed)' },
  { name: 'append', arg: 'CMDLINE', help: 'kernel command line' },
  { name: 'mem', arg: 'MiB', help: 'guest RAM in MiB (default 128, at most 3072)' },
  { name: 'serial', arg: 'stdio|file:PATH', help: 'where COM1 goes (default stdio: guest output to stdout, stdin to the guest)' },
  { name: 'max-instructions', arg: 'N', help: 'stop after N guest instructions (k/M/G suffixes allowed); exit status 12' },
  { name: 'ud-on-unimplemented', help: 'raise #UD in the guest for unimplemented instructions instead of stopping with a report' },
  { name: 'quiet', help: 'do not print the end-of-run message on stderr (failures are still reported)' },
  { name: 'no-realtime', help: 'on a terminal, do not pace idle guest time to the wall clock (it is paced by default; never otherwise)' },
  { name: 'no-hypervisor', help: 'run the guest bare on the machine (default: under the tsvisor hypervisor)' },
  { name: 'hypapp', arg: 'NAME', repeat: true, help: `load a hypapp: ${Object.keys(HYPAPPS).join(', ')}` },
  { name: 'exit-stats', help: 'print VM-exit statistics at the end (the exit-stats hypapp)' },
  { name: 'kvm', help: 'advertise the KVM paravirtual interface (CPUID 40000000H) and answer KVM hypercalls (else VMCALL is #UD, as bare)' },
  { name: 'quirk', arg: 'NAME', repeat: true, help: `reproduce a historical hypervisor bug: ${Object.keys(QUIRKS).join(', ')}` },
  { name: 'hv-log', arg: 'stderr|file:PATH|none', help: 'where the hypervisor\'s own console goes (default stderr)' },
  ...DEBUG_FLAGS,
  { name: 'help', help: 'show this help' },
];

const STATUS_TEXT = `Exit status:
  (v << 1) | 1  the guest wrote v to the isa-debug-exit port 0xf4 (as QEMU)
  0             guest power-off or reset request
  2             bad command line          4   missing or corrupt kernel file
  6             triple fault (state dump on stderr)
  8             unsupported guest behaviour (report with CS:EIP and instruction bytes on stderr)
  10            CPU halted with interrupts disabled (nothing can wake it)
  12            --max-instructions reached
  14            the hypervisor stopped on an unhandled VM exit (dump on stderr)
  70            internal error in tsvisor (or a VMX failure of the hypervisor)`;

const TOP_HELP = `tsvisor ${VERSION}: an XMHF-style hypervisor framework with its own emulated x86 machine

Usage:
  tsvisor run --kernel FILE [options]   boot a guest (see: tsvisor run --help)
  tsvisor gdb-xml [i386|i8086]          print the GDB target description (i8086: for 16-bit code)
  tsvisor --version
`;

export async function main(argv: string[]): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') { process.stdout.write(TOP_HELP); return cmd === undefined ? EXIT_STATUS.usage : 0; }
    if (cmd === '--version') { process.stdout.write(`tsvisor ${VERSION}\n`); return 0; }
    if (cmd === 'run') return await runCommand(rest);
    if (cmd === 'gdb-xml') { process.stdout.write(targetXml(rest[0] === 'i8086' ? 'i8086' : 'i386')); return 0; }
    throw new UsageError(`unknown command '${cmd}' (try: tsvisor --help)`);
  } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`tsvisor: ${e.message}\n`); return EXIT_STATUS.usage; }
    if (e instanceof InputError || e instanceof BootError) { process.stderr.write(`tsvisor: ${e.message}\n`); return EXIT_STATUS.badInput; }
    throw e;
  }
}

class InputError extends Error {}

async function runCommand(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, RUN_FLAGS);
  if (flags.has('help')) {
    process.stdout.write(helpText('Usage: tsvisor run --kernel FILE [options]', RUN_FLAGS, STATUS_TEXT));
    return 0;
  }
  const kernelPath = flags.get('kernel')?.[0];
  if (!kernelPath) throw new UsageError('--kernel FILE is required (see: tsvisor run --help)');
  const memMiB = flags.has('mem') ? parseCount('mem', flags.get('mem')![0]) : 128;
  if (memMiB > 3072 || memMiB < 2) throw new UsageError(`--mem: ${memMiB} MiB is out of range (2..3072)`);
  const limit = flags.has('max-instructions') ? parseCount('max-instructions', flags.get('max-instructions')![0]) : Infinity;
  const serial = flags.get('serial')?.[0] ?? 'stdio';
  if (serial !== 'stdio' && !serial.startsWith('file:')) throw new UsageError(`--serial: expected 'stdio' or 'file:PATH', got '${serial}'`);

  let image: Uint8Array;
  try { image = new Uint8Array(readFileSync(kernelPath)); } catch (e) {
    throw new InputError(`cannot read kernel '${kernelPath}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }

  const initrdPath = flags.get('initrd')?.[0];
  let initrd: Uint8Array | null = null;
  if (initrdPath !== undefined) {
    try { initrd = new Uint8Array(readFileSync(initrdPath)); } catch (e) {
      throw new InputError(`cannot read initrd '${initrdPath}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  // Serial output: buffered, flushed after each slice and at exit.
  let outFd = 1;
  if (serial.startsWith('file:')) {
    try { outFd = openSync(serial.slice(5), 'w'); } catch (e) { throw new InputError(`cannot open serial file '${serial.slice(5)}': ${(e as NodeJS.ErrnoException).code}`); }
  }
  const buf: number[] = [];
  const flush = (): void => { if (buf.length) { writeSync(outFd, Uint8Array.from(buf)); buf.length = 0; } };

  // The hypervisor (default) and its options.
  const hypervised = !flags.has('no-hypervisor');
  const quirks = (flags.get('quirk') ?? []).map((q) => {
    if (!(q in QUIRKS)) throw new UsageError(`--quirk: unknown quirk '${q}' (known: ${Object.keys(QUIRKS).join(', ')})`);
    return q as Quirk;
  });
  const appNames = [...(flags.get('hypapp') ?? []), ...(flags.has('exit-stats') ? ['exit-stats'] : [])];
  for (const a of appNames) if (!(a in HYPAPPS)) throw new UsageError(`--hypapp: unknown hypapp '${a}' (known: ${Object.keys(HYPAPPS).join(', ')})`);
  if (!hypervised && (appNames.length || quirks.length || flags.has('kvm'))) throw new UsageError('--hypapp, --exit-stats, --kvm and --quirk need the hypervisor (drop --no-hypervisor)');
  const hvLogSpec = flags.get('hv-log')?.[0] ?? 'stderr';
  let hvLog: (l: string) => void;
  if (hvLogSpec === 'stderr') hvLog = (l) => process.stderr.write(`${l}\n`);
  else if (hvLogSpec === 'none') hvLog = () => {};
  else if (hvLogSpec.startsWith('file:')) {
    let fd: number;
    try { fd = openSync(hvLogSpec.slice(5), 'w'); } catch (e) { throw new InputError(`cannot open hypervisor log '${hvLogSpec.slice(5)}': ${(e as NodeJS.ErrnoException).code}`); }
    hvLog = (l) => { writeSync(fd, `${l}\n`); };
  } else throw new UsageError(`--hv-log: expected 'stderr', 'file:PATH' or 'none', got '${hvLogSpec}'`);

  const m = new Machine({
    memBytes: memMiB * 1048576, onSerial: (b) => { buf.push(b); if (buf.length >= 4096) flush(); },
    stopOnUnimplemented: !flags.has('ud-on-unimplemented'), hostMemBytes: hypervised ? HOST_MEM_BYTES : 0,
  });
  try {
    const cmdline = flags.get('append')?.[0] ?? '';
    if (isLinuxImage(image)) m.loadLinux(image, { cmdline, initrd });
    else if (!isMultiboot(image)) throw new BootError('unknown kernel format: neither a Multiboot v1 image (no header in the first 8 KiB) nor a Linux bzImage (no "HdrS" setup header at 0x202)');
    else if (initrd) throw new BootError('--initrd is only supported with a Linux bzImage kernel');
    else m.loadKernel(image, { cmdline });
  } catch (e) {
    if (e instanceof BootError || e instanceof RangeError) throw new InputError(`${kernelPath}: ${e.message}`);
    throw e;
  }
  // The disassembler for dumps (iced-x86; our own decoder is the fallback if it cannot load).
  await loadIced();
  let hv: Hypervisor | null = null;
  if (hypervised) {
    hv = new Hypervisor(m.vmx, m.mem, { log: hvLog, kvm: flags.has('kvm'), quirks, hypapps: appNames.map((a) => HYPAPPS[a].make(hvLog)) });
    hv.launch();
  }

  // Interactive input: stdin → COM1 (Ctrl-A x quits, as in QEMU).
  let quit = false;
  const stdin = process.stdin;
  const interactive = serial === 'stdio' && stdin.isTTY === true;
  let ctrlA = false;
  const onData = (d: Buffer): void => {
    for (const b of d) {
      if (ctrlA) { ctrlA = false; if (b === 0x78 /* x */) { quit = true; continue; } if (b !== 0x01) m.uart.receive(0x01); }
      else if (b === 0x01) { ctrlA = true; continue; }
      m.uart.receive(b);
    }
  };
  if (serial === 'stdio') {
    if (interactive) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.on('error', () => {});
  }
  const cleanup = (): void => {
    flush();
    if (serial === 'stdio') { stdin.off('data', onData); if (interactive) stdin.setRawMode(false); stdin.pause(); }
    if (outFd !== 1) closeSync(outFd);
  };

  const dbg = await DebugSession.create(m, flags, limit);
  const done = (r: { end: End; status: number; message: string }): number => {
    const s = report(r, flags.has('quiet'));
    hv?.shutdown(r.end);
    dbg.atEnd(r);
    return s;
  };
  try {
    if (dbg.gdb) {
      let shown = false;
      const e = await dbg.runGdb({ flush, quit: () => quit, log: (l) => process.stderr.write(`tsvisor: ${l}\n`),
        onFailure: (r) => { shown = true; report(r, false); } });
      if ('quit' in e) { process.stderr.write(`\ntsvisor: ${e.quit}\n`); dbg.atEnd(null); return 0; }
      if (shown) { hv?.shutdown(e.result.end); dbg.atEnd(e.result); return e.result.status; }
      return done(e.result);
    }
    // On a terminal, idle guest time follows the wall clock (a shell waiting for input does not
    // spin the host or race its clock ahead); elsewhere runs are as fast as possible and deterministic.
    const pace = interactive && !flags.has('no-realtime');
    const wall0 = Number(process.hrtime.bigint());
    let virt0 = m.clock.nowNs();
    for (;;) {
      let untilNs = Infinity;
      if (pace) {
        const wall = Number(process.hrtime.bigint()) - wall0;
        const virt = m.clock.nowNs() - virt0;
        if (virt < wall - 1e8) virt0 = m.clock.nowNs() - (wall - 1e8); // never more than 100 ms behind
        untilNs = virt0 + wall + 2e6;
        if (m.clock.nowNs() >= untilNs) {
          if (quit) { process.stderr.write('\ntsvisor: quit (Ctrl-A x)\n'); dbg.atEnd(null); return 0; }
          await new Promise((res) => setTimeout(res, 2));
          continue;
        }
      }
      const r = m.runSlice(20_000_000, limit, untilNs);
      flush();
      if (r) return done(r);
      if (quit) { process.stderr.write('\ntsvisor: quit (Ctrl-A x)\n'); dbg.atEnd(null); return 0; }
      if (m.idle) {
        if (serial !== 'stdio' || stdin.readableEnded) return done(m.runToEnd(limit));
        await new Promise((res) => setTimeout(res, 5));
      } else {
        await new Promise((res) => setImmediate(res));
      }
    }
  } finally {
    cleanup();
    dbg.close();
  }
}

function report(r: { end: End; status: number; message: string }, quiet: boolean): number {
  const failure = r.end === End.TripleFault || r.end === End.Unsupported || r.end === End.HaltedForever || r.end === End.InstructionLimit || r.end === End.HypervisorHalt;
  if (failure || !quiet) process.stderr.write(`tsvisor: ${r.end}: ${r.message}\n`);
  return r.status;
}
