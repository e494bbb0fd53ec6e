/** Every workflow the worker runs (bundled for Temporal's sandbox from this file). */
export { afterHealthy } from './after-healthy.js';
export { updateBatch } from './batch.js';
export { deploy } from './deploy.js';
export { environment } from './environment.js';
export { notifier } from './notifier.js';
export { rotation } from './rotation.js';
export { rotationBatch } from './rotation-batch.js';
export { scheduledRotation } from './scheduled-rotation.js';
