#!/usr/bin/env node
// A stand-in for docker, systemctl, git and npm on a fake host (an sshd on 127.0.0.N). It
// records every call in $SLIPWAY_HOST_STATE/calls.jsonl and starts a tiny HTTP app that
// reports what is "running", so health checks and tests see real effects over real HTTP.
// Faults are injected by files: $SLIPWAY_HOST_STATE/fail-<step> (exit 1 with its text on stderr,
// ${NAME} in it replaced by the env file's value),
// delay-<step> (take that many seconds), down-during-up (the app drops every request while `up` runs).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const state = process.env.SLIPWAY_HOST_STATE;
const address = process.env.SLIPWAY_HOST_ADDRESS;
const [tool, ...args] = process.argv.slice(2);
const words = args.filter((a) => !a.startsWith('-'));

function record(step) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.endsWith('_IMAGE')));
  fs.appendFileSync(path.join(state, 'calls.jsonl'), JSON.stringify({ tool, args, step, cwd: process.cwd(), env, at: Date.now() }) + '\n');
  const delay = path.join(state, `delay-${step}`);
  // With `down-during-up`, the app answers no request while `up` replaces it, as a real
  // container that is stopped and started again (the benchmark's load counts what that loses).
  const replacing = step === 'up' && fs.existsSync(path.join(state, 'down-during-up')) ? path.join(state, 'replacing') : undefined;
  if (replacing) fs.writeFileSync(replacing, '');
  if (fs.existsSync(delay)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(fs.readFileSync(delay, 'utf8')) * 1000);
  if (replacing) fs.rmSync(replacing, { force: true });
  const fail = path.join(state, `fail-${step}`);
  if (fs.existsSync(fail)) {
    // ${NAME} is the env file's value, as a service that echoes its bad config would print it.
    const values = readEnvFile(flagValue('--env-file') ?? '.env');
    process.stderr.write(fs.readFileSync(fail, 'utf8').replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name) => values[name] ?? ''));
    process.exit(1);
  }
}

function readEnvFile(file) {
  if (!file || !fs.existsSync(file)) return {};
  const values = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'?"?(.*?)'?"?\s*$/.exec(line);
    if (m) values[m[1]] = m[2];
  }
  return values;
}

function ensureApp(port, stateFile) {
  const pidFile = `${stateFile}.pid`;
  if (fs.existsSync(pidFile)) {
    try { process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 0); return; } catch { /* not running */ }
  }
  const child = spawn(process.execPath, [path.join(__dirname, 'fakeapp.cjs'), address, String(port), stateFile, state],
    { detached: true, stdio: 'ignore' });
  child.unref();
  fs.writeFileSync(pidFile, String(child.pid));
}

// The images the host has, as real docker keeps them: pulled references, and local tags on them.
function imageStore() {
  const file = path.join(state, 'images.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { pulled: [], tags: {} };
}
function saveImageStore(value) {
  fs.writeFileSync(path.join(state, 'images.json'), JSON.stringify(value));
}
function composeImages(envFile) {
  const values = { ...readEnvFile(envFile), ...process.env };
  return Object.entries(values).filter(([k, v]) => k.endsWith('_IMAGE') && v.includes('@sha256:')).map(([, v]) => v);
}

/**
 * A stand-in for alembic against one database per service (a file at the fleet's level, shared
 * by its hosts as a real database is): `upgrade head` goes to the image's head revision (`r` and
 * its tag's short SHA), `current` prints the revision as alembic does, `downgrade <rev>` goes to it.
 */
function alembic([command, target], envFile) {
  const dir = path.join(state, '..', '..', 'databases');
  fs.mkdirSync(dir, { recursive: true });
  const database = path.join(dir, path.basename(process.cwd()));
  const current = fs.existsSync(database) ? fs.readFileSync(database, 'utf8').trim() : '';
  process.stderr.write('INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n');
  if (command === 'upgrade') {
    const image = composeImages(envFile)[0] ?? '';
    const head = `r${/:sha-([0-9a-f]{7})@/.exec(image)?.[1] ?? '0'}`;
    if (head !== current) process.stderr.write(`INFO  [alembic.runtime.migration] Running upgrade ${current || '<base>'} -> ${head}\n`);
    fs.writeFileSync(database, head);
  } else if (command === 'current') {
    if (current) process.stdout.write(`${current} (head)\n`);
  } else if (command === 'downgrade') {
    process.stderr.write(`INFO  [alembic.runtime.migration] Running downgrade ${current} -> ${target}\n`);
    fs.writeFileSync(database, target);
  }
}

function flagValue(name) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

switch (tool) {
  case 'docker': {
    if (words[0] === 'compose') {
      const envFile = flagValue('--env-file');
      const sub = args.find((a) => ['pull', 'up', 'run'].includes(a));
      // `run --rm <service> alembic …`: what alembic does to the one database all hosts share.
      const oneOff = sub === 'run' ? args.slice(args.indexOf('run') + 1).filter((a) => a !== '--rm').slice(1) : [];
      const alembicStep = oneOff[0] === 'alembic' ? ({ current: 'revision', downgrade: 'downgrade' })[oneOff[1]] : undefined;
      record(sub === 'run' ? alembicStep || 'migrate' : sub || 'compose');
      if (oneOff[0] === 'alembic') alembic(oneOff.slice(1), envFile);
      // What docker compose prints, on stderr as it does.
      if (sub === 'pull') {
        const had = imageStore();
        had.pulled = [...new Set([...had.pulled, ...composeImages(envFile)])];
        saveImageStore(had);
        process.stderr.write(' backend Pulling\n backend Pulled\n');
      }
      if (sub === 'up') {
        const fromFile = readEnvFile(envFile);
        const images = {};
        for (const [k, v] of Object.entries({ ...fromFile, ...process.env })) if (k.endsWith('_IMAGE')) images[k] = v;
        const stateFile = path.join(state, 'app-8000.json');
        fs.writeFileSync(stateFile, JSON.stringify({ images, dir: process.cwd() }));
        ensureApp(8000, stateFile);
        process.stderr.write(` Container ${path.basename(process.cwd())}-app-1  Started\n`);
      }
    } else if (words[0] === 'image' && words[1] === 'prune') {
      // Removes every image no tag and no running app holds, as `image prune -f` does with
      // images pulled by digest.
      record('prune');
      const had = imageStore();
      const running = fs.readdirSync(state).filter((f) => /^app-\d+\.json$/.test(f))
        .flatMap((f) => Object.values(JSON.parse(fs.readFileSync(path.join(state, f), 'utf8')).images || {}));
      had.pulled = had.pulled.filter((ref) => running.includes(ref) || Object.values(had.tags).includes(ref));
      saveImageStore(had);
    } else if (words[0] === 'image' && words[1] === 'inspect') {
      const had = imageStore();
      if (!had.pulled.includes(words[2]) && !had.tags[words[2]]) process.exit(1);
    } else if (words[0] === 'image' && words[1] === 'ls') {
      for (const tag of Object.keys(imageStore().tags)) process.stdout.write(`${tag}\n`);
    } else if (words[0] === 'tag' || words[0] === 'rmi') {
      record('keep');
      const had = imageStore();
      if (words[0] === 'tag') had.tags[words[2]] = had.tags[words[1]] ?? words[1];
      else delete had.tags[words[1]];
      saveImageStore(had);
    }
    else if (words[0] === 'login') {
      // As docker does: ~/.docker/config.json, `auths.<registry>.auth` = base64("user:password").
      const password = args.includes('--password-stdin') ? fs.readFileSync(0, 'utf8').trim() : flagValue('--password');
      record('login');
      const dir = path.join(process.env.HOME, '.docker');
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, 'config.json');
      const config = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
      config.auths = { ...config.auths, [words[1]]: { auth: Buffer.from(`${flagValue('--username')}:${password}`).toString('base64') } };
      fs.writeFileSync(file, JSON.stringify(config, null, '\t'), { mode: 0o600 });
      process.stdout.write('Login Succeeded\n');
    }
    else record(`docker-${words[0]}`);
    break;
  }
  case 'systemctl': {
    record(words[0]);
    const unit = words[1] || '';
    const instance = (/@([^.]+)\./.exec(unit) || [])[1] || '0';
    const checkout = path.join(process.cwd(), '.checkout');
    const version = fs.existsSync(checkout) ? fs.readFileSync(checkout, 'utf8').trim() : 'none';
    const stateFile = path.join(state, `app-310${instance}.json`);
    fs.writeFileSync(stateFile, JSON.stringify({ unit, version }));
    ensureApp(Number(`310${instance}`), stateFile);
    break;
  }
  case 'git': {
    record(`git-${words[0]}`);
    if (words[0] === 'checkout') fs.writeFileSync(path.join(process.cwd(), '.checkout'), words[words.length - 1]);
    break;
  }
  default:
    record(`${tool}-${words[0] || ''}`);
}
