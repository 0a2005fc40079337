// Running a command from the test scripts (test-runtimes.mjs, test-wrappers.mjs).
import { spawn } from 'node:child_process';

/**
 * Runs a command, echoing its output unless quiet, killed after `timeoutMs` if given;
 * resolves to its exit code (or what stopped it) and its output.
 */
export function run(command, args, { cwd, env = process.env, quiet = false, timeoutMs = 0 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (stream) => (chunk) => {
      output += chunk;
      if (!quiet) stream.write(chunk);
    };
    child.stdout.on('data', take(process.stdout));
    child.stderr.on('data', take(process.stderr));
    let timedOut = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeoutMs)
      : undefined;
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? `${signal}, after ${timeoutMs / 60_000} minutes` : (signal ?? code), output });
    });
  });
}
