// `npm start`: build the app, then serve the production build on 127.0.0.1 and print its URL.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!process.argv.includes('--no-build')) {
  const build = spawnSync('npm', ['run', 'build', '-w', '@coffer/demo'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const port = Number(process.env.PORT ?? 4173);
const { url } = await serve(fileURLToPath(new URL('../apps/demo/dist', import.meta.url)), port);
console.log(`\n  Coffer is running at ${url}\n  (Ctrl+C to stop)\n`);
