// End to end: Debian's linux-image-686-pae kernel with the busybox initramfs boots to a shell on
// COM1, bare and under the hypervisor, runs commands typed on the serial line and powers off.
// Three runs go in parallel (each boot is ~2.9e9 guest instructions): two worker threads drive
// machine-API sessions (test/harness/linux.ts: bare, hypervised) through the same script, and the
// CLI (`tsvisor run`, hypervised by default) boots the same guest with COM1 on pipes, to the
// prompt, where `reboot -f` is typed. Expected values come from the issue and the fetched packages (manifest.json), not from
// the machine's code: the brand string and CPU flags the CPU is specified to report, the package's
// release for `uname -r`, 0 + 1 + ... + 99 = 4950.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { RECOMMENDED_CMDLINE } from '../machine/boot/linux.js';
import { INIT_READY_MARKER } from '../machine/boot/initramfs.js';
import { LINUX_DIR, PROMPT, ROOT, withoutKmsg, type E2eResult } from './harness/linux.js';

const TIMEOUT = 40 * 60_000;

function fetchLinux(): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('node', [join(ROOT, 'scripts', 'fetch-linux.mjs'), '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`fetch-linux failed (status ${code}): ${err}`))));
  });
}

function session(hypervisor: boolean): Promise<E2eResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./harness/linux.js', import.meta.url), { workerData: { linuxE2e: { hypervisor, cmdline: RECOMMENDED_CMDLINE } } });
    w.once('message', (m: { ok?: E2eResult; error?: string }) => (m.ok ? resolve(m.ok) : reject(new Error(m.error))));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`session worker exited (${code}) without a result`)));
  });
}

interface CliRun { serial: string; status: number | null; stderr: string; typed: boolean }
/**
 * `tsvisor run` (hypervised, the default) with COM1 on stdin/stdout (pipes): once the shell
 * prompts, `reboot -f` is written to its stdin; the guest resets through the keyboard controller.
 */
function cliRun(): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn('node', [join(ROOT, 'bin', 'tsvisor.mjs'), 'run', '--kernel', join(LINUX_DIR, 'bzImage'),
      '--initrd', join(LINUX_DIR, 'initramfs.cpio.gz'), '--append', RECOMMENDED_CMDLINE, '--mem', '128',
      '--max-instructions', '8G', '--hv-log', 'none'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let serial = '', stderr = '', typed = false;
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.stdout.on('data', (d: Buffer) => {
      serial += d.toString('latin1');
      const at = serial.indexOf(INIT_READY_MARKER);
      if (!typed && at >= 0 && serial.indexOf(PROMPT, at) >= 0) { typed = true; p.stdin.write('reboot -f\n'); }
    });
    p.stdin.on('error', () => {});
    p.on('close', (code) => resolve({ serial, status: code, stderr, typed }));
  });
}

const runs = fetchLinux().then(() => Promise.all([session(false), session(true), cliRun()]));
// Keep an early failure from being reported as an unhandled rejection before the tests await it.
runs.catch(() => {});

const manifest = (): { kernel: { release: string } } => JSON.parse(readFileSync(join(LINUX_DIR, 'manifest.json'), 'utf8'));
const output = (r: E2eResult, cmd: string): { output: string; status: number } => {
  const c = r.commands.find((x) => x.cmd.startsWith(cmd));
  assert.ok(c, `command ${cmd} ran`);
  return c;
};

function checkSession(r: E2eResult): void {
  const what = r.hypervisor ? 'hypervised' : 'bare';
  assert.ok(r.serial.includes(INIT_READY_MARKER), `${what}: /init printed its marker`);
  assert.ok(r.prompt.insns >= r.marker.insns);

  // /proc/cpuinfo: the CPU model tsvisor specifies, with PAE and without VMX (hidden by the hypervisor).
  const cpu = output(r, 'cat /proc/cpuinfo');
  assert.equal(cpu.status, 0);
  const field = (name: string): string => {
    const m = new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(cpu.output);
    assert.ok(m, `${what}: /proc/cpuinfo has '${name}'\n${cpu.output}`);
    return m[1].trim();
  };
  assert.equal(field('model name'), 'tsvisor virtual CPU');
  assert.equal(field('vendor_id'), 'GenuineIntel');
  assert.equal(field('cpu family'), '6');
  assert.equal(field('fpu'), 'yes');
  const flags = field('flags').split(/\s+/);
  for (const f of ['fpu', 'pae', 'nx', 'apic', 'tsc', 'cx8', 'cmov', 'fxsr', 'mce', 'mca', 'mtrr', 'pat']) assert.ok(flags.includes(f), `${what}: flag ${f} in ${flags.join(' ')}`);
  for (const f of ['vmx', 'svm', 'hypervisor', 'sse', 'mmx', 'lm']) assert.ok(!flags.includes(f), `${what}: no flag ${f}`);

  // uname -r: the release of the package scripts/fetch-linux.mjs installed.
  const un = output(r, 'uname -r');
  assert.equal(un.status, 0);
  assert.equal(withoutKmsg(un.output).trim(), manifest().kernel.release);
  assert.match(manifest().kernel.release, /-686-pae$/);

  // A shell loop: 0 + 1 + ... + 99.
  const sum = output(r, 'i=0;');
  assert.equal(withoutKmsg(sum.output).trim(), '4950');

  // /proc/interrupts: the timer and COM1 arrive through the I/O APIC (ISA IRQ0 on pin 2, IRQ4 on
  // pin 4, edge), the local APIC timer ticks, no APIC errors or mis-routed interrupts.
  const irq = output(r, 'cat /proc/interrupts');
  assert.equal(irq.status, 0);
  const irqLine = (re: RegExp): string[] => {
    const l = irq.output.split('\n').find((x) => re.test(x));
    assert.ok(l, `${what}: /proc/interrupts has ${re}\n${irq.output}`);
    return l.trim().split(/\s+/);
  };
  assert.ok(Number(irqLine(/IO-APIC\s+2-edge\s+timer/)[1]) > 0, 'timer interrupts through I/O APIC pin 2');
  assert.ok(Number(irqLine(/IO-APIC\s+4-edge\s+ttyS0/)[1]) > 0, 'COM1 interrupts through I/O APIC pin 4');
  assert.ok(Number(irqLine(/^\s*LOC:/)[1]) > 0, 'local APIC timer interrupts');
  assert.equal(irqLine(/^\s*ERR:/)[1], '0', 'no APIC errors');
  assert.equal(irqLine(/^\s*MIS:/)[1], '0', 'no mis-routed interrupts');

  // dmesg: PAE paging (NX needs PAE on i386), nothing broken, none of the messages a real PC would not print.
  const dm = output(r, 'dmesg');
  assert.equal(dm.status, 0);
  const log = dm.output;
  assert.match(log, /Linux version 6\.1\.\S+-686-pae/);
  assert.match(log, /NX \(Execute Disable\) protection: active/);
  assert.ok(r.cr4Pae, 'CR4.PAE is set while the shell runs');
  assert.match(log, /tsc: Fast TSC calibration using PIT/);
  assert.match(log, /x86\/PAT: Configuration \[0-7\]: WB {2}WC {2}UC- UC {2}WB {2}WP {2}UC- WT/);
  assert.match(log, /Enabling APIC mode/);
  assert.match(log, /ACPI: Interpreter enabled/);
  for (const bad of [/Oops/, /WARNING:/, /Call Trace/, /BUG/, /Kernel panic/, /Fast TSC calibration failed/,
    /Unable to init MCE/, /MTRRs disabled/, /MTRRs all blank/, /^\[[^\]]*\] Disabled$/m, /IRQ.*nobody cared/, /spurious/i, /timed out/i]) {
    assert.doesNotMatch(log, bad, `${what}: dmesg has ${bad}`);
  }

  // poweroff -f: ACPI S5 through the PM1 control register ends the run with status 0.
  assert.deepEqual([r.end.end, r.end.status], ['power-off', 0], r.end.message);
  assert.match(r.serial, /reboot: Power down/);
}

test('Linux 686-pae boots bare to a busybox shell on COM1, runs commands, powers off', { timeout: TIMEOUT }, async () => {
  const [bare] = await runs;
  checkSession(bare);
});

test('Linux 686-pae boots under the hypervisor to the shell, runs commands, powers off', { timeout: TIMEOUT }, async () => {
  const [, hv] = await runs;
  checkSession(hv);
});

test('the hypervisor is transparent: bare and hypervised serial output are byte-identical', { timeout: TIMEOUT }, async () => {
  const [bare, hv] = await runs;
  if (bare.serial !== hv.serial) {
    let k = 0;
    while (bare.serial[k] === hv.serial[k]) k++;
    assert.fail(`serial output differs at byte ${k}:\nbare: ${JSON.stringify(bare.serial.slice(k - 200, k + 200))}\nhv:   ${JSON.stringify(hv.serial.slice(k - 200, k + 200))}`);
  }
  assert.equal(hv.insns, bare.insns, 'same number of guest instructions');
});

test('determinism: the CLI run prints the same bytes as the API sessions up to the first input', { timeout: TIMEOUT }, async () => {
  const [bare, hv, cli] = await runs;
  assert.ok(cli.typed, `the CLI run reached the prompt (status ${cli.status}): ${cli.stderr}\n${cli.serial.slice(-2000)}`);
  assert.equal(bare.firstInputAt, hv.firstInputAt);
  const upTo = bare.firstInputAt;
  assert.ok(upTo > 0 && bare.serial.slice(0, upTo).includes(PROMPT));
  assert.ok(cli.serial.length >= upTo, `the CLI printed ${cli.serial.length} bytes, the sessions ${upTo} before their first input`);
  const a = bare.serial.slice(0, upTo), b = cli.serial.slice(0, upTo);
  if (a !== b) {
    let k = 0;
    while (a[k] === b[k]) k++;
    assert.fail(`CLI output differs at byte ${k}:\napi: ${JSON.stringify(a.slice(k - 200, k + 200))}\ncli: ${JSON.stringify(b.slice(k - 200, k + 200))}`);
  }
});

test('the CLI: `reboot -f` typed on stdin resets the guest through the keyboard controller, status 0', { timeout: TIMEOUT }, async () => {
  const [, , cli] = await runs;
  assert.ok(cli.typed);
  assert.match(cli.serial.slice(cli.serial.lastIndexOf(PROMPT)), /reboot -f\r?\n[^]*reboot: Restarting system/);
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stderr, /tsvisor: reset: guest requested a reset/);
});
