// The debug target over the machine (debug/machine-target.ts) and the GDB protocol engine
// (debug/gdb-stub.ts) in-process: breakpoints, watchpoints and single steps stop where the guest's
// source says, leave the guest's computation unchanged (same serial output, same instruction
// count, bare and under the hypervisor), cost nothing once removed, and never flush the guest's
// TLB; the RSP framing, checksums, escapes and replies per the GDB manual's Remote Protocol
// appendix; the trace and the --monitor / --trace command-line options.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Machine } from '../machine/machine.js';
import { Hypervisor, HOST_MEM_BYTES } from '../hypervisor/hypervisor.js';
import { MachineTarget } from '../debug/machine-target.js';
import { GdbStub } from '../debug/gdb-stub.js';
import { Tracer, parseTraceFilter } from '../debug/trace.js';
import { REGISTERS } from '../debug/target.js';
import { loadIced } from '../debug/disasm.js';
import { guestSymbols } from './harness/gdb.js';

const root = new URL('../..', import.meta.url).pathname;
const image = (n: string): Uint8Array => new Uint8Array(readFileSync(join(root, 'build', 'guests', `${n}.bin`)));

function machine(name: string, hyper: boolean): { m: Machine; t: MachineTarget; serial: () => string } {
  let out = '';
  const m = new Machine({ memBytes: 64 << 20, onSerial: (b) => { out += String.fromCharCode(b); }, hostMemBytes: hyper ? HOST_MEM_BYTES : 0 });
  m.loadKernel(image(name));
  if (hyper) new Hypervisor(m.vmx, m.mem, {}).launch();
  return { m, t: new MachineTarget(m), serial: () => out };
}

const syms = guestSymbols('dbg-target').syms;
const S = (n: string): number => syms.get(n)!;

for (const hyper of [false, true]) {
  const mode = hyper ? 'under the hypervisor' : 'bare';
  test(`${mode}: breakpoints, a watchpoint and single steps stop where the guest says, and change nothing it computes`, () => {
    const ref = machine('dbg-target', hyper);
    const rr = ref.m.runToEnd(50_000_000);
    const { m, t, serial } = machine('dbg-target', hyper);
    for (const a of [S('dbg_paged'), S('dbg_loop'), S('dbg_rm_work_lin'), S('dbg_back')]) assert.ok(t.insertPoint('sw', a, 1));
    assert.ok(t.insertPoint('write', S('dbg_counter_va'), 4));
    const stops: string[] = [];
    t.resume(false);
    let steps = 0;
    for (let guard = 0; guard < 100; guard++) {
      let ev = null;
      while (ev === null) ev = t.runFor(1_000_000);
      if (ev.kind === 'ended') { stops.push('end'); break; }
      const pc = t.reg('eip');
      stops.push(`${ev.kind}@${pc.toString(16)}`);
      if (pc === S('dbg_paged') && steps === 0) {
        // Ten single steps from here: each retires exactly one instruction (no events in this code).
        for (; steps < 10; steps++) {
          const n0 = m.clock.insns;
          t.resume(true);
          let e2 = null;
          while (e2 === null) e2 = t.runFor(1_000_000);
          assert.equal(e2.kind, 'step');
          assert.equal(m.clock.insns, n0 + 1, 'one instruction per step');
        }
      }
      t.resume(false);
    }
    const inc = S('dbg_loop') + 6; // inc dword [imm32] = FF 05 imm32
    const loop = Array.from({ length: 5 }, () => [`breakpoint@${S('dbg_loop').toString(16)}`, `watch@${inc.toString(16)}`]).flat();
    assert.deepEqual(stops, [`breakpoint@${S('dbg_paged').toString(16)}`, ...loop, `breakpoint@${S('dbg_rm_work_lin').toString(16)}`,
      `breakpoint@${S('dbg_back').toString(16)}`, 'end']);
    assert.equal(serial(), ref.serial(), 'serial output');
    assert.equal(m.clock.insns, ref.m.clock.insns, 'instruction count at the end');
    assert.equal(m.result!.status, rr.status);
  });
}

test('no cost once removed: the CPU hooks are detached; watchpoints re-flag TLB entries without flushing the guest TLB', () => {
  const { m, t } = machine('dbg-target', false);
  const c = m.cpu;
  assert.equal(c.dbg, null);
  t.insertPoint('sw', S('dbg_loop_done'), 1);
  t.resume(false);
  let ev = null;
  while (ev === null) ev = t.runFor(1_000_000);
  assert.equal(ev.kind, 'breakpoint');
  t.removePoint('sw', S('dbg_loop_done'), 1);
  // Paging is on: the TLB holds the code, stack and counter pages.
  const filled = (): number[] => { const out: number[] = []; for (let p = 0; p < c.tlb.length; p++) if (c.tlb[p] !== 0) out.push(p); return out; };
  const before = filled();
  assert.ok(before.length > 0);
  const codeEntry = c.tlb[S('dbg_paged') >>> 12];
  t.insertPoint('read', S('dbg_paged'), 4); // a watch on the code page itself
  assert.deepEqual(filled(), before, 'no entry dropped');
  assert.equal(c.tlb[S('dbg_paged') >>> 12], codeEntry | 256, 'the watched page gets T_WATCH_R (256), nothing else changes');
  assert.equal(c.watch, t);
  t.clearPoints();
  assert.equal(c.tlb[S('dbg_paged') >>> 12], codeEntry);
  assert.equal(c.dbg, null, 'CPU hooks detached');
  assert.equal(c.watch, null);
});

// ------------------------------------------------------------------ the RSP engine
function rsp(body: string): string {
  let s = 0;
  for (const ch of body) s = (s + ch.charCodeAt(0)) & 0xff;
  return `$${body}#${s.toString(16).padStart(2, '0')}`;
}
/** Packet bodies in a stream of '+' acks and '$...#xx' packets. */
function bodies(stream: string): string[] {
  return [...stream.matchAll(/\$([^#]*)#[0-9a-f]{2}/g)].map((m) => m[1]);
}

test('RSP: acks and checksums, qSupported, registers, memory with escapes, breakpoints, stop replies, Ctrl-C, monitor, target.xml', async () => {
  await loadIced();
  const { t } = machine('hello', false);
  let out = '';
  let detached = false;
  const stub = new GdbStub(t, { send: (d) => { out += d; }, onDetach: () => { detached = true; } });
  const ask = (body: string): string[] => { out = ''; stub.receive(rsp(body)); return bodies(out); };

  stub.receive('$qSupported:multiprocess+;swbreak+;hwbreak+#00');
  assert.equal(out, '-', 'bad checksum: NAK');
  out = '';
  stub.receive(rsp('qSupported:multiprocess+;swbreak+;hwbreak+'));
  assert.equal(out[0], '+');
  assert.deepEqual(bodies(out), ['PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+']);
  assert.equal(ask('?')[0].slice(0, 3), 'T05', 'stopped before the first instruction: SIGTRAP');

  // g: every register of the description, little-endian: 16×4 + 8×10 (st0-7) + 8×4 + 42×4 bytes.
  const g = ask('g')[0];
  assert.equal(REGISTERS.length, 74);
  assert.equal(g.length, 2 * (16 * 4 + 8 * 10 + 8 * 4 + 42 * 4));
  assert.equal(g.slice(0, 8), '02b0ad2b', 'EAX = 2BADB002H (Multiboot)');
  assert.equal(ask('p8')[0], '20001000', 'EIP = the entry, 00100020H');
  assert.equal(ask('P0=78563412')[0], 'OK');
  assert.equal(t.reg('eax'), 0x12345678);
  assert.equal(ask('P0=02b0ad2b')[0], 'OK');

  assert.equal(ask('m100000,4')[0], '02b0ad1b', 'the Multiboot magic 1BADB002H at 1 MiB');
  assert.equal(ask('m80000000,4')[0], 'E14', 'paging off: 80000000H is not RAM');
  // X: binary data; '}' escapes the next byte XOR 20H (0x7d 0x5d is 0x7d).
  assert.equal(ask('X300000,4:ab}]c')[0], 'OK');
  assert.equal(ask('m300000,4')[0], '61627d63');
  assert.equal(ask('M300000,2:ffee')[0], 'OK');
  assert.equal(ask('m300000,4')[0], 'ffee7d63');

  // A software breakpoint at puts (100096H): continue, the target runs, then stops there.
  assert.equal(ask('Z0,100096,1')[0], 'OK');
  assert.deepEqual(ask('vCont;c'), [], 'no reply until the target stops');
  assert.equal(stub.awaitingStop, true);
  let ev = null;
  while (ev === null) ev = t.runFor(100_000);
  out = '';
  stub.reportStop(ev);
  const stop = bodies(out)[0];
  assert.match(stop, /^T05/);
  assert.ok(stop.includes('08:96001000;'), `expedited EIP: ${stop}`);
  assert.ok(stop.endsWith('thread:1;swbreak:;'), stop);
  assert.equal(ask('z0,100096,1')[0], 'OK');
  // Single step: one instruction.
  const eip0 = t.reg('eip');
  ask('s');
  ev = null;
  while (ev === null) ev = t.runFor(100_000);
  out = ''; stub.reportStop(ev);
  assert.match(bodies(out)[0], /^T05/);
  assert.equal(t.reg('eip'), eip0 + 1, 'puts starts with PUSH ESI (1 byte)');
  // Ctrl-C while running: SIGINT.
  ask('c');
  out = '';
  stub.receive('\x03');
  assert.match(bodies(out)[0], /^T02/);
  assert.equal(t.running, false);

  // monitor help: O packets with hex text, then OK.
  const mon = ask(`qRcmd,${Buffer.from('help').toString('hex')}`);
  assert.equal(mon.at(-1), 'OK');
  const text = mon.slice(0, -1).map((p) => Buffer.from(p.slice(1), 'hex').toString()).join('');
  assert.match(text, /walk VA \[CR3\]/);
  // $pc and $REGISTER in monitor arguments (gdb passes them as text).
  assert.ok(t.monitor('walk $pc').startsWith(`walk 0x${t.reg('eip').toString(16).padStart(8, '0')}: paging is off`), t.monitor('walk $pc'));
  assert.match(t.monitor('phys $esp 4'), new RegExp(`^${t.reg('esp').toString(16).padStart(9, '0')} `));
  assert.match(t.monitor('walk $nosuch'), /error: unknown register \$nosuch/);
  // target.xml in chunks.
  const x1 = ask('qXfer:features:read:target.xml:0,40')[0];
  assert.equal(x1[0], 'm');
  assert.equal(x1.length, 1 + 0x40);
  let xml = '', off = 0;
  for (;;) {
    const r = ask(`qXfer:features:read:target.xml:${off.toString(16)},200`)[0];
    xml += r.slice(1); off += r.length - 1;
    if (r[0] === 'l') break;
  }
  assert.match(xml, /<architecture>i386<\/architecture>/);
  assert.match(xml, /<feature name="org.gnu.gdb.i386.core">/);
  assert.match(xml, /<reg name="eip" bitsize="32" type="code_ptr" regnum="8"\/>/);
  assert.match(xml, /<reg name="st0" bitsize="80" type="i387_ext" regnum="16" group="float"\/>/);
  assert.match(xml, /<reg name="cs_base" bitsize="32" type="uint32" regnum="\d+" group="system"\/>/);
  // No-ack mode, then detach: the target runs on without breakpoints.
  assert.equal(ask('QStartNoAckMode')[0], 'OK');
  out = ''; stub.receive(rsp('qC'));
  assert.equal(out, rsp('QC1'), 'no "+" in no-ack mode');
  ask('Z0,100096,1');
  assert.equal(ask('D')[0], 'OK');
  assert.ok(detached);
  assert.equal(t.pointCounts.breakpoints, 0);
});

test('trace: instructions in a range disassembled, VM exits with decoded qualifications, filtered by reason', async () => {
  await loadIced();
  const { m, t } = machine('hello', true);
  const lines: string[] = [];
  const hs = guestSymbols('hello').syms;
  const start = hs.get('_start')!;
  const tr = new Tracer(m.vmx, (lin, len) => t.readMemory(lin, len, 'linear'), (l) => lines.push(l), parseTraceFilter(`0x${start.toString(16)}-0x${(start + 8).toString(16)}`, 'CPUID'));
  t.tracer = tr;
  t.install();
  m.runToEnd(10_000_000);
  tr.finish();
  // _start: mov esp, 0x90000 (BC imm32, 5 bytes); mov [mbinfo], ebx (89 1D imm32, 6 bytes: starts inside the range).
  assert.match(lines[0], /^ +\d+ {2}0008:00100020 {2}00100020 {2}bc00000900 +mov esp, 0x90000$/);
  assert.match(lines[1], /^ +\d+ {2}0008:00100025 {2}00100025 {2}891d[0-9a-f]{8} +mov \[0x[0-9a-f]+\], ebx$/);
  assert.equal(lines.filter((l) => / {2}0008:0010/.test(l)).length, 2, 'only the two instructions in the range');
  const exits = lines.filter((l) => l.startsWith('VM exit'));
  assert.ok(exits.length >= 1 && exits.every((l) => /CPUID/.test(l)), lines.join('\n'));
  const m1 = /^VM exit 1 +\d+ +CPUID +0x00000000 +0x([0-9a-f]{8})$/.exec(exits[0]);
  assert.ok(m1, exits[0]);
  const rip = parseInt(m1[1], 16) - 0x100000;
  assert.deepEqual([...image('hello').subarray(rip, rip + 2)], [0x0f, 0xa2], 'the guest RIP of the exit is a CPUID (0F A2)');
});

test('--trace FILE, --trace-exits, --monitor on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-trace-'));
  const file = join(dir, 'trace.txt');
  const r = spawnSync(process.execPath, [join(root, 'bin', 'tsvisor.mjs'), 'run', '--kernel', join(root, 'build', 'guests', 'hello.bin'),
    '--trace', file, '--trace-insns', 'none', '--trace-exits', 'CPUID,IO_INSTRUCTION', '--monitor', 'exits 2', '--monitor', 'stats', '--quiet'], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  const text = readFileSync(file, 'utf8');
  assert.ok(/CPUID/.test(text), text);
  assert.ok(!/^ +\d+ {2}0008:/m.test(text), 'no instructions');
  assert.match(r.stderr, /tsvisor: monitor exits 2 \(debug-exit\):\nlast 1 of 1 VM exits/); // hello's one CPUID
  assert.match(r.stderr, /tsvisor: monitor stats \(debug-exit\):\ninstructions retired: \d+/);
  const usage = (args: string[]): void => {
    const b = spawnSync(process.execPath, [join(root, 'bin', 'tsvisor.mjs'), 'run', '--kernel', join(root, 'build', 'guests', 'hello.bin'), ...args], { encoding: 'utf8' });
    assert.equal(b.status, 2, `${args.join(' ')}: ${b.stderr}`);
  };
  usage(['--trace-exits', 'CPUID']);                      // needs --trace
  usage(['--trace', file, '--trace-exits', 'NO_SUCH']);   // unknown reason
  usage(['--trace', file, '--trace-insns', '5-3']);       // empty range
  usage(['--gdb-wait']);                                  // needs --gdb
  usage(['--gdb', '70000']);
});
