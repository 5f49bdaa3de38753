/**
 * Vitest globalSetup of the projects whose tests talk to S3 (node, browser): gives them a real
 * Ceph S3 gateway (radosgw) through `inject('cofferS3')`.
 *
 * - `COFFER_S3_ENDPOINT` set (as `.ci/run` and `eval "$(scripts/s3-gateway.sh env DIR)"` do): that
 *   gateway is used, with `COFFER_S3_ACCESS_KEY`, `COFFER_S3_SECRET_KEY`, `COFFER_S3_REGION`.
 * - Else, when the run includes a test file under `test/sync/`: `scripts/s3-gateway.sh start` on
 *   free ports of 127.0.0.1 (~12 s), stopped by PID at teardown. Ceph missing is a failure naming
 *   the packages, never a skip. Runs without a `test/sync/` file start nothing.
 *
 * One gateway serves every project of one Vitest process (node and browser share it).
 *
 * @module
 */
import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

/** What a test needs to reach the gateway. */
export interface S3GatewayInfo {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The S3 gateway of this run; absent when no test under `test/sync/` was selected. */
    cofferS3: S3GatewayInfo | null;
  }
}

const script = fileURLToPath(new URL('../../scripts/s3-gateway.sh', import.meta.url));
const INSTALL = 'apt-get install ceph-mon ceph-osd radosgw ceph-common';

interface Shared {
  started: Promise<{ info: S3GatewayInfo; dir: string }>;
  users: number;
  stopped: boolean;
}

// Every project's globalSetup runs in the one main Vitest process; module instances may differ.
const SHARED = Symbol.for('coffer.s3-gateway');
const registry = globalThis as unknown as Record<symbol, Shared | undefined>;

/** A port on 127.0.0.1 that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

function fromEnv(env: Record<string, string | undefined>): S3GatewayInfo {
  const { COFFER_S3_ENDPOINT, COFFER_S3_ACCESS_KEY, COFFER_S3_SECRET_KEY, COFFER_S3_REGION } = env;
  if (!COFFER_S3_ENDPOINT || !COFFER_S3_ACCESS_KEY || !COFFER_S3_SECRET_KEY) {
    throw new Error('COFFER_S3_ENDPOINT is set but COFFER_S3_ACCESS_KEY or COFFER_S3_SECRET_KEY is not');
  }
  return {
    endpoint: COFFER_S3_ENDPOINT,
    accessKeyId: COFFER_S3_ACCESS_KEY,
    secretAccessKey: COFFER_S3_SECRET_KEY,
    region: COFFER_S3_REGION || 'us-east-1',
  };
}

async function startGateway(): Promise<{ info: S3GatewayInfo; dir: string }> {
  const [port, monPort] = [await freePort(), await freePort()];
  const started = Date.now();
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      'bash',
      [script, 'start'],
      {
        env: {
          ...process.env,
          COFFER_S3_PORT: String(port),
          COFFER_S3_MON_PORT: String(monPort),
          // As .ci/run: room for the large-file sync test (memstore allocates only what is written).
          COFFER_S3_STORE_MIB: process.env.COFFER_S3_STORE_MIB ?? '4096',
        },
        timeout: 180_000,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const missing = /missing .*apt-get install/.test(stderr);
        reject(
          new Error(
            missing
              ? `The S3 tests need Ceph's S3 gateway, which is not installed: ${INSTALL}\n${stderr}`
              : `scripts/s3-gateway.sh start failed (${error.message}):\n${stderr}`,
            { cause: error },
          ),
        );
      },
    );
  });
  const env = parseEnv(out);
  const dir = env.COFFER_S3_GATEWAY_DIR;
  if (!dir) throw new Error(`scripts/s3-gateway.sh start printed no COFFER_S3_GATEWAY_DIR:\n${out}`);
  if (process.env.COFFER_S3_VERBOSE) console.log(`S3 gateway ready in ${Date.now() - started} ms`);
  return { info: fromEnv(env), dir };
}

function stopGateway(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('bash', [script, 'stop', dir], { timeout: 120_000 }, (error, _stdout, stderr) =>
      error
        ? reject(new Error(`scripts/s3-gateway.sh stop failed:\n${stderr}`, { cause: error }))
        : resolve(),
    );
  });
}

/**
 * Test files that talk to S3: under `test/sync/`, the app's, the elements' and the embed
 * example's sync tests.
 */
const NEEDS_S3 = /[\\/]test[\\/](sync[\\/]|e2e[\\/](sync|examples)\.|elements[\\/]sync-)/;

/** Does this run include a test file that talks to S3 (see {@link NEEDS_S3})? */
async function runNeedsS3(project: TestProject): Promise<boolean> {
  try {
    const vitest = project.vitest as typeof project.vitest & { filenamePattern?: string[] };
    const specs = await vitest.getRelevantTestSpecifications(vitest.filenamePattern);
    return specs.some((spec) => spec.project.name === project.name && NEEDS_S3.test(spec.moduleId));
  } catch {
    return true; // when in doubt, start it: a missing gateway must never skip a test silently
  }
}

/** Vitest globalSetup: provides `cofferS3`, starting a gateway when needed; returns the teardown. */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.COFFER_S3_ENDPOINT) {
    project.provide('cofferS3', fromEnv(process.env));
    return undefined;
  }
  let shared = registry[SHARED];
  if (!shared) {
    if (!(await runNeedsS3(project))) {
      project.provide('cofferS3', null);
      return undefined;
    }
    const started = startGateway();
    shared = registry[SHARED] = { started, users: 0, stopped: false };
    const current = shared;
    // A process that ends without teardown (an error, Ctrl-C) still stops the daemons.
    started
      .then(({ dir }) => {
        process.once('exit', () => {
          if (!current.stopped) execFileSync('bash', [script, 'stop', dir], { stdio: 'ignore' });
        });
      })
      .catch(() => {});
  }
  shared.users++;
  const { info } = await shared.started;
  project.provide('cofferS3', info);
  const mine = shared;
  return async () => {
    if (--mine.users > 0 || mine.stopped) return;
    mine.stopped = true;
    registry[SHARED] = undefined;
    const { dir } = await mine.started;
    await stopGateway(dir);
  };
}
