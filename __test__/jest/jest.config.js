// Tests written as a migrating team's own tests are: jest, with its module mocks and
// fake timers, and nock, against the prom-client entries.
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.test.js'],
  testEnvironment: 'node',
  testTimeout: 60000,
};
