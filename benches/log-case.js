// One log benchmark case in this process: lines per second, flush included.
//   node benches/log-case.js <slotmetrics|pino> <0|3|disabled>   (fields per line, or
//   3-field debug lines below the info threshold: what a disabled level costs)
'use strict';

const LINES = 200_000;
const ROUNDS = 5;

function slotmetrics() {
  const { log } = require('slotmetrics');
  log.configure({ destination: '/dev/null' });
  return {
    plain: () => log.info('Order processed'),
    fields: (i) => log.info('Order processed', { order_id: i, total: 99.99, customer: 'ann' }),
    disabled: (i) => log.debug('Order processed', { order_id: i, total: 99.99, customer: 'ann' }),
    flush: () => log.flush(),
  };
}

function pino() {
  const pinoLogger = require('pino');
  // A buffered destination (its fastest setting here: sync writes of 4 KiB or more);
  // no pid/hostname, so
  // both libraries write lines of the same content.
  const destination = pinoLogger.destination({ dest: '/dev/null', minLength: 4096, sync: true });
  const logger = pinoLogger({ base: null }, destination);
  return {
    plain: () => logger.info('Order processed'),
    fields: (i) => logger.info({ order_id: i, total: 99.99, customer: 'ann' }, 'Order processed'),
    disabled: (i) => logger.debug({ order_id: i, total: 99.99, customer: 'ann' }, 'Order processed'),
    flush: () => new Promise((resolve) => destination.flush(resolve)),
  };
}

async function main() {
  const [library, fieldsArg] = process.argv.slice(2);
  const logger = { slotmetrics, pino }[library]();
  const write = { 0: logger.plain, 3: logger.fields, disabled: logger.disabled }[fieldsArg];
  const round = async () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < LINES; i++) write(i);
    await logger.flush();
    return (LINES * 1e9) / Number(process.hrtime.bigint() - start);
  };
  await round(); // warm-up
  const rates = [];
  for (let r = 0; r < ROUNDS; r++) rates.push(await round());
  rates.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ linesPerSecond: rates[Math.floor(ROUNDS / 2)] })}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
