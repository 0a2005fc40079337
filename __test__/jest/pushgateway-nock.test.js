// nock intercepts pushes; a push that fails rejects its promise and nothing else.
const nock = require('nock');
const client = require('../../dist/promClient/index.js');

afterEach(() => {
  nock.cleanAll();
  client.register.clear();
});

it('sends the registry to the gateway nock stands in for', async () => {
  new client.Gauge({ name: 'batch_last_success', help: 'Last success' }).set(7);
  const gateway = nock('http://gateway:9091')
    .put('/metrics/job/nightly', (body) => body.includes('batch_last_success 7'))
    .reply(200, 'ok');
  const { body } = await new client.Pushgateway('http://gateway:9091').push({ jobName: 'nightly' });
  expect(body).toBe('ok');
  expect(gateway.isDone()).toBe(true);
});

it('rejects a failed push, as an error status or a failed connection, without an uncaught exception', async () => {
  const uncaught = jest.fn();
  process.on('uncaughtException', uncaught);
  nock('http://gateway:9091').post('/metrics/job/nightly').reply(500, 'down');
  const pushgateway = new client.Pushgateway('http://gateway:9091');
  await expect(pushgateway.pushAdd({ jobName: 'nightly' })).rejects.toThrow('push failed with status 500, down');
  nock('http://gateway:9091').post('/metrics/job/nightly').replyWithError('connection refused');
  await expect(pushgateway.pushAdd({ jobName: 'nightly' })).rejects.toThrow('connection refused');
  process.off('uncaughtException', uncaught);
  expect(uncaught).not.toHaveBeenCalled();
});
