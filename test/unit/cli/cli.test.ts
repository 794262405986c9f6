/** The keyscope command as a user runs it: a separate process, its exit code and output. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function keyscope(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('keyscope CLI', () => {
  it("prints each command's usage with --help", async () => {
    for (const command of ['audit', 'timeline', 'broker-exporter']) {
      const { code, stdout } = await keyscope([command, '--help']);
      expect(code).toBe(0);
      expect(stdout).toContain(`Usage: keyscope ${command}`);
    }
    const top = await keyscope(['--help']);
    expect(top.stdout).toMatch(/audit[\s\S]*timeline[\s\S]*broker-exporter/);
  });

  it('rejects bad arguments with exit code 2 and a pointer to --help', async () => {
    const unknown = await keyscope(['audit', '--otlp-port', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--otlp-port must be a port number.*keyscope audit --help/);
    expect((await keyscope(['nope'])).code).toBe(2);
    expect((await keyscope(['timeline'])).stderr).toMatch(/exactly one key/);
  });

  it('timeline reports an unreachable Jaeger as an error, exit code 1', async () => {
    const { code, stderr } = await keyscope(['timeline', 'user-1', '--jaeger-url', 'http://127.0.0.1:1']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/unreachable at http:\/\/127\.0\.0\.1:1.*--jaeger-url/);
  });
});
