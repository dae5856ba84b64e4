// The emulated Pico: rp2040js runs a firmware image (firmware.bin, flash from
// 0x10000000) with the RP2040's bootrom, and bridges its USB CDC serial port (the
// MicroPython REPL) to a TCP port on 127.0.0.1, so mpremote reaches it as
// socket://127.0.0.1:PORT.
//
//   node runner.mjs --firmware firmware.bin --bootrom bootrom-b1.bin [--port N]
//
// Prints "PORT n" on stdout once it listens. Handles what rp2040js leaves to its host
// (../shared/rp2040/README.md): the USB read storm, idle time running ahead of the host,
// pacing that stays fair to the board's own timeouts, and flash program/erase (served
// here, so the port formats and uses its littlefs). Exits when stdin closes.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { ConsoleLogger, LogLevel, Simulator, USBCDC } from 'rp2040js';

const FLASH_START = 0x10000000;
const CYCLE_NS = 8; // 125 MHz
const IDLE_CATCH_UP_NS = 2e6; // idle time may catch up with the host by at most 2 ms
const SLICE_MS = 25; // host time per run of the loop before the event loop gets a turn

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const simulator = new Simulator(); // for its chip and clock: the loop below is ours
const { clock, rp2040: mcu } = simulator;
const core = mcu.core;
mcu.logger = new ConsoleLogger(LogLevel.Error); // not every unimplemented register read

// The bootrom as 32-bit words; the flash routines replaced by BKPT #n, served in onBreak.
const rom = readFileSync(option('bootrom'));
mcu.loadBootrom(new Uint32Array(rom.buffer, rom.byteOffset, rom.length >> 2));
const romHalf = (addr) => (mcu.bootrom[addr >> 2] >>> ((addr & 2) * 8)) & 0xffff;
function patchHalf(addr, value) {
  const word = addr >> 2;
  const shift = (addr & 2) * 8;
  mcu.bootrom[word] = (mcu.bootrom[word] & ~(0xffff << shift)) | (value << shift);
}
const served = {}; // BKPT number -> what it does
const ROUTINES = { IF: 'none', EX: 'none', FC: 'none', CX: 'none', RE: 'erase', RP: 'program' };
for (let entry = romHalf(0x14); romHalf(entry) !== 0; entry += 4) {
  const code = String.fromCharCode(romHalf(entry) & 0xff, romHalf(entry) >> 8);
  if (code in ROUTINES) {
    const n = Object.keys(served).length + 0x40;
    served[n] = ROUTINES[code];
    patchHalf(romHalf(entry + 2) & ~1, 0xbe00 | n);
  }
}
mcu.onBreak = (n) => {
  const what = served[n];
  if (what === undefined) {
    process.stderr.write(`runner: breakpoint ${n} at 0x${core.PC.toString(16)}\n`);
    return;
  }
  const [r0, r1, r2] = core.registers;
  if (what === 'erase') {
    mcu.flash.fill(0xff, r0, Math.min(r0 + r1, mcu.flash.length));
  } else if (what === 'program') {
    for (let i = 0; i < r2 && r0 + i < mcu.flash.length; i++) {
      mcu.flash[r0 + i] &= mcu.readUint8(r1 + i);
    }
  }
  core.PC = core.LR & ~1; // return from the routine
};

mcu.flash.set(readFileSync(option('firmware')), 0);
core.PC = FLASH_START;

// USB CDC. rp2040js answers a read of the OUT endpoint at once, empty when the host sent
// nothing, and tinyusb re-arms at once: an interrupt storm. A read is held until there is
// host data.
const cdc = new USBCDC(mcu.usbCtrl);
const fromHost = []; // Buffers not yet in the CDC's FIFO
let heldRead = null;
const serveRead = mcu.usbCtrl.onEndpointRead;
function fillFifo() {
  while (fromHost.length && !cdc.txFIFO.full) {
    const chunk = fromHost[0];
    let i = 0;
    while (i < chunk.length && !cdc.txFIFO.full) cdc.sendSerialByte(chunk[i++]);
    if (i === chunk.length) fromHost.shift();
    else fromHost[0] = chunk.subarray(i);
  }
}
mcu.usbCtrl.onEndpointRead = (endpoint, size) => {
  fillFifo();
  if (endpoint === cdc.outEndpoint && cdc.txFIFO.empty) {
    heldRead = size;
    return;
  }
  serveRead(endpoint, size);
};
function hostSent(data) {
  fromHost.push(data);
  if (heldRead !== null) {
    const size = heldRead;
    heldRead = null;
    mcu.usbCtrl.onEndpointRead(cdc.outEndpoint, size);
  }
}

let client = null;
cdc.onSerialData = (bytes) => {
  if (client) client.write(Buffer.from(bytes));
};
const server = net.createServer((socket) => {
  if (client) client.destroy(); // one host at a time: the newest wins
  client = socket;
  socket.setNoDelay(true);
  socket.on('data', hostSent);
  socket.on('close', () => {
    if (client === socket) client = null;
  });
  socket.on('error', () => {});
});
server.listen(Number(option('port', '0')), '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});

// Pacing. Busy emulation runs slower than real time, so emulated time falls behind the
// host's. While the core sleeps (WFI), emulated time may catch up with host time, but by at
// most IDLE_CATCH_UP_NS at once (the rest of the shortfall is dropped): a board waiting
// 1 s for the host (mpremote's mount protocol) then waits about 1 s of host time, never
// zero. With no alarm pending, idle time follows host time.
const hostNs = () => Number(process.hrtime.bigint());
let offset = hostNs() - clock.nanos; // host time - emulated time, as far as idle time may follow
let running = true;

function run() {
  const sliceEnd = performance.now() + SLICE_MS;
  while (running && performance.now() < sliceEnd) {
    for (let i = 0; i < 10000; i++) {
      if (core.waiting) {
        let behind = hostNs() - offset - clock.nanos;
        if (behind > IDLE_CATCH_UP_NS) {
          offset += behind - IDLE_CATCH_UP_NS;
          behind = IDLE_CATCH_UP_NS;
        }
        const next = clock.nanosToNextAlarm;
        if (next > 0 && next <= behind) {
          clock.tick(next); // an alarm due by host time: it fires, the core may wake
          continue;
        }
        if (behind > 0) clock.tick(behind);
        setTimeout(run, 1); // sleep on host time; host data wakes the core too
        return;
      } else {
        clock.tick(core.executeInstruction() * CYCLE_NS);
      }
    }
  }
  if (running) setImmediate(run);
}
run();

function stop() {
  running = false;
  process.stderr.write(`runner: ${core.cycles} cycles, ${(clock.nanos / 1e9).toFixed(3)} s emulated\n`);
  server.close();
  if (client) client.destroy();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
