import pino from 'pino';

/** One JSON line per event on stderr; `LOG_LEVEL` sets the level. */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: 'slipway' },
  redact: { paths: ['*.token', '*.privateKey', '*.password', '*.authorization'], censor: '[REDACTED]' },
}, pino.destination(2));
